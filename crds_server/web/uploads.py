"""The ingest area on the web: chunked uploads, listing, deletion, the upload page, jpoll channels.

`crds submit` reads the ``csrftoken`` cookie of *every* upload response,
errors included (contract §5.3), so every JSON answer here sets it.

Uploading needs a submitter login but no instrument lock: `crds submit` may
log in with instrument `none`, and locks are taken and checked at submit and
confirm time.  Sizes and logins are checked before the body is read
(security/middleware.py), so these views see only admitted uploads.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import render

from crds_server.accounts.actions import has_role
from crds_server.jobs import jpoll
from crds_server.locks import actions as locks
from crds_server.submissions import ingest

PIECE_BYTES = 2_000_000  # what `crds submit` sends per piece; the page uses the same


class Refused(Exception):
    """A request the ingest views answer with `status` and a message."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def chunked(request: HttpRequest) -> JsonResponse:
    """GET: a CSRF cookie.  POST: one upload piece (multipart `files`, optional Content-Range)."""
    if request.method != "POST":
        return _json(request, {"files": []})
    uploads = request.FILES.getlist("files")
    try:
        _uploader(request)
        if not uploads:
            raise Refused("No file in the 'files' field.", 400)
        content_range = ingest.parse_content_range(request.headers.get("Content-Range"))
        entries = [ingest.receive_chunk(request.user, f.name, f, content_range) for f in uploads]
    except (Refused, ingest.IngestError) as exc:
        name = uploads[0].name if uploads else ""
        return _json(request, {"files": [{"name": name, "error": str(exc)}]}, _status(exc))
    if _wants_page(request):
        return HttpResponseRedirect("/upload/")
    return _json(request, {"files": entries})


def listing(request: HttpRequest) -> JsonResponse:
    """GET: the complete files of the user's ingest area, `{"files": [...]}`."""
    try:
        _uploader(request)
    except Refused as exc:
        return _json(request, {"files": [], "error": str(exc)}, exc.status)
    return _json(request, {"files": ingest.list_files(request.user)})


def delete(request: HttpRequest, name: str) -> HttpResponse:
    """GET (as `crds submit` does), POST or DELETE: remove `name` from the user's ingest area."""
    try:
        _uploader(request)
        ingest.delete_file(request.user, name)
    except (Refused, ingest.IngestError) as exc:
        return _json(request, {"files": [{"name": name, "error": str(exc)}]}, _status(exc))
    if _wants_page(request):
        return HttpResponseRedirect("/upload/")
    return _json(request, {"files": [{name: True}]})


def open_channel(request: HttpRequest) -> JsonResponse:
    """A new jpoll channel tied to this session; answers its key as a bare JSON string."""
    try:
        _uploader(request)
    except Refused as exc:
        return _json(request, {"error": str(exc)}, exc.status)
    if not request.session.session_key:
        request.session.save()
    return _json(request, jpoll.open_channel(request.session.session_key, request.user.username))


def page(request: HttpRequest) -> HttpResponse:
    """Upload Files: the user's ingest area with upload progress and delete buttons."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    files = ingest.list_files(request.user)
    return render(request, "web/upload.html", {"files": files, "piece_bytes": PIECE_BYTES})


def _uploader(request: HttpRequest) -> None:
    """Refuse anyone but a logged-in submitter; renew whatever locks the user holds (none needed)."""
    user = request.user
    if not user.is_authenticated:
        raise Refused("Log in first (/login/).", 401)
    if not has_role(user, "submitter"):
        raise Refused(f"User '{user.username}' may not upload files.", 403)
    locks.renew(user)


def _status(exc: Exception) -> int:
    if isinstance(exc, Refused):
        return exc.status
    if isinstance(exc, ingest.UploadTooLarge):
        return 413
    return 404 if isinstance(exc, ingest.NotInIngest) else 400


def _wants_page(request: HttpRequest) -> bool:
    """A plain HTML form (the upload page without JavaScript) asked: go back to the page."""
    return request.POST.get("next") == "/upload/"


def _json(request: HttpRequest, body: Any, status: int = 200) -> JsonResponse:
    get_token(request)  # marks the csrftoken cookie for setting on this response
    return JsonResponse(body, status=status, safe=False)
