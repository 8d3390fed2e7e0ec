"""Difference Files: compare a file of your ingest area with a catalogued reference."""

from __future__ import annotations

from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_cache_control

from crds_server.catalog import diffs
from crds_server.catalog.models import File
from crds_server.submissions import ingest

from .files import valid_name


def upload_difference(request: HttpRequest) -> HttpResponse:
    """`?upload=<ingest file>&file=<catalogued reference>`: the library's difference of the two."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    uploads = {path.name: path for path in ingest.ingest_paths(request.user)}
    chosen, name = request.GET.get("upload", "").strip(), request.GET.get("file", "").strip()
    state = {"uploads": sorted(uploads), "upload": chosen[:200], "file": name[:200], "result": None,
             "error": ""}
    if chosen or name:
        state["error"] = _difference(uploads.get(chosen), name, state)
    response = render(request, "web/diff_upload.html", state, status=400 if state["error"] else 200)
    patch_cache_control(response, private=True, no_store=True)
    return response


def _difference(upload, name: str, state: dict) -> str:
    """Fill state["result"], or say what is wrong with the choice."""
    if upload is None:
        return "Choose one of the files in your ingest area (upload it first on the Upload page)."
    catalogued = File.objects.public().filter(name=name).first() if valid_name(name) else None
    if catalogued is None:
        return f"No file named '{name[:200]}' is in the catalog."
    try:
        state["result"] = diffs.upload_difference(upload, catalogued)
    except diffs.NotComparable as exc:
        return str(exc)
    return ""


def legacy_difference(request: HttpRequest, old: str = "", new: str = "") -> HttpResponse:
    """STScI's `/difference/` (the form) and `/difference/<old>/<new>/`: moved for good."""
    if not old:
        query = request.GET.urlencode()
        return HttpResponsePermanentRedirect(reverse("web-diff-upload") + (f"?{query}" if query else ""))
    if not (valid_name(old) and valid_name(new)):
        raise Http404("Not a pair of file names.")
    return redirect("web-diff", old=old, new=new, permanent=True)
