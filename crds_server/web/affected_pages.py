"""Affected-datasets pages: every run with its progress, and one run's affected ids."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from crds_server.reprocessing import actions, summary
from crds_server.reprocessing.models import AffectedChunk, AffectedRun

from .filters import listing


def affected_list(request: HttpRequest) -> HttpResponse:
    """Every affected-datasets run, newest first: status, chunks done/total, counts per type;
    searched and paged (G3)."""
    shown = listing(request.GET, AffectedRun.objects.all(), ("old_context", "new_context", "status"), 50)
    runs = list(shown.page) if shown.page is not None else []
    for run in runs:
        run.progress = actions.progress(run)
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "web/affected.html", {
        "runs": runs, "page": shown.page, "listing": shown, "query": query.urlencode()},
        status=400 if shown.error else 200)


def affected_detail(request: HttpRequest, old: str, new: str) -> HttpResponse:
    """One run: its report and affected exposures; `?format=txt` gives the product ids as text."""
    run = AffectedRun.objects.filter(old_context=old, new_context=new).first()
    if run is None:
        raise Http404(f"No affected-datasets run for {old} -> {new}.")
    if request.GET.get("format") == "txt":
        body = "".join(p + "\n" for p in actions.affected_products(run)) if run.is_finished() else ""
        response = HttpResponse(body, content_type="text/plain; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="affected_{old}_{new}.txt"'
        return response
    exposures = {}
    for affected in AffectedChunk.objects.filter(run=run).values_list("affected", flat=True):
        exposures.update(affected)
    return render(request, "web/affected_run.html", {
        "run": run, "progress": actions.progress(run),
        "exposures": sorted(exposures.items())[:5000], "total": len(exposures),
        "by_type": summary.datasets_by_type(run)})
