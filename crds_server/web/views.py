"""Pages of the web site (step 1: home and health)."""

from __future__ import annotations

import shutil

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from crds_server.catalog import context_tables, contexts
from crds_server.catalog.models import AuditEntry, ContextHistory, File
from crds_server.submissions import fitsverify


def home(request: HttpRequest) -> HttpResponse:
    """The home page: observatory, contexts, latest references, recent history and activity."""
    history = ContextHistory.objects.order_by("-start_date", "-id").values(
        "start_date", "context", "description")[:4]  # the rows of the full page (P4)
    latest = contexts.pointer("latest")
    latest_table, problem = [], ""
    if latest:
        try:
            latest_table = context_tables.summary(latest)
        except Exception as exc:  # an unloadable latest context still leaves a home page
            problem = str(exc)[:500]
    return render(request, "web/home.html", {
        "latest": latest, "latest_table": latest_table, "latest_problem": problem,
        "edit": contexts.pointer("edit"),
        "build": contexts.newest_build(),
        "history": history,
        "counts": {"mappings": File.objects.public().mappings().count(),
                   "references": File.objects.public().references().count()},
        "activity": AuditEntry.objects.all()[:10],
        "public_url": settings.PUBLIC_URL,
    })


def health(request: HttpRequest) -> JsonResponse:
    """Liveness and readiness: database, file store, free disk; whether fitsverify is installed."""
    checks: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"error: {exc}"
    store = settings.FILE_CACHE
    checks["file_store"] = "ok" if store.is_dir() else "missing"
    free = shutil.disk_usage(store if store.exists() else settings.HOME.parent).free
    checks["disk_free_bytes"] = str(free)
    # Not a liveness failure (the server serves without it), but certification is weaker:
    # FITS submissions are refused until it is installed.
    checks["fitsverify"] = fitsverify.status()
    healthy = checks["database"] == "ok" and checks["file_store"] == "ok"
    return JsonResponse({"status": "ok" if healthy else "error", "checks": checks},
                        status=200 if healthy else 503)
