"""Difference Files: compare a file of your ingest area with a catalogued reference."""

from __future__ import annotations

from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_cache_control

from crds_server.catalog import diffs
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
        try:
            state["result"] = diffs.upload_difference(uploads.get(chosen), name)
        except diffs.NotComparable as exc:
            state["error"] = str(exc)
    response = render(request, "web/diff_upload.html", state, status=400 if state["error"] else 200)
    patch_cache_control(response, private=True, no_store=True)
    return response


def legacy_difference(request: HttpRequest, old: str = "", new: str = "") -> HttpResponse:
    """STScI's `/difference/` (the form) and `/difference/<old>/<new>/`: moved for good."""
    if not old:
        query = request.GET.urlencode()
        return HttpResponsePermanentRedirect(reverse("web-diff-upload") + (f"?{query}" if query else ""))
    if not (valid_name(old) and valid_name(new)):
        raise Http404("Not a pair of file names.")
    return redirect("web-diff", old=old, new=new, permanent=True)
