"""Request middleware: refuse oversized or unauthenticated bodies before anything reads them,
and NUL characters in URLs and form fields (PostgreSQL takes them in no string).

`guard_request_body` runs after authentication and before CSRF (whose check
reads request.POST) and decides from the request line and headers alone:

| request                                   | limit on the body                           |
| ----------------------------------------- | ------------------------------------------- |
| /json/ (JSON-RPC, anyone)                 | RPC_MAX_BODY, refused in a JSON-RPC envelope |
| /upload/... by anyone but a submitter     | none allowed: 401 log in first, 403         |
| anonymous, any other path (login, ...)    | ANONYMOUS_BODY_MAX_BYTES, and no file parts  |
| multipart by a submitter                  | UPLOAD_MAX_BYTES per file + 1 MiB of form    |
| any other body of a logged-in user        | DATA_UPLOAD_MAX_MEMORY_SIZE                  |
| a body without Content-Length (chunked)   | refused: 411 Length Required                 |

A multipart POST that passes is parsed here, through BoundedUploadHandler,
which stops it the moment a file or the request passes its limit; the rest of
the chain then sees a complete body or none.  A refusal reads nothing more,
and its connection is closed after the answer (`close_after_refusals`, the
WSGI wrapper in wsgi.py), so an unread body is neither drained nor taken for
the next request.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpRequest, HttpResponse, JsonResponse, UnreadablePostError
from django.http.multipartparser import MultiPartParserError
from django.middleware.csrf import CsrfViewMiddleware, get_token

from .uploadhandlers import BoundedUploadHandler, Refusal, request_limit, uploader_refusal

# Logins, the admin's login and pasted best-reference headers fit easily.
ANONYMOUS_BODY_MAX_BYTES = 256 * 1024
_RPC = re.compile(r"^/json(/|$)")
UPLOADS = "/upload/"
CLOSE_HEADER = "X-CRDS-Close-Connection"


def guard_request_body(get_response: Callable[[HttpRequest], HttpResponse]):
    """Refuse a request body by its headers before it is read; parse admitted uploads under limits."""

    def middleware(request: HttpRequest) -> HttpResponse:
        rpc = bool(_RPC.match(request.path_info))
        nul = _nul_in_url(request, path=not rpc)  # the /json/<method>/<id> tail is only for logs
        if nul:
            return _rpc_answer(nul) if rpc else _answer(request, nul)
        if not _has_body(request.META):
            return get_response(request)
        if rpc:
            refusal = _rpc_refusal(request.META)
            return _closing(_rpc_answer(refusal)) if refusal else get_response(request)
        refusal = _refusal(request) or _parse_upload(request) or _nul_in_form(request)
        return _closing(_answer(request, refusal)) if refusal else get_response(request)

    return middleware


def _closing(response: HttpResponse) -> HttpResponse:
    """Mark a refusal whose body may be unread: the connection is closed after it (see
    `close_after_refusals`), never drained or reused."""
    response[CLOSE_HEADER] = "1"
    return response


def close_after_refusals(application):
    """WSGI wrapper: a response marked by `_closing` closes its connection.

    The mark is a private header, removed here: a WSGI application may not send
    `Connection` itself (wsgiref refuses hop-by-hop headers, gunicorn drops them).
    Under gunicorn, `start_response` belongs to its response object, whose
    `force_close` makes gunicorn answer `Connection: close` and close instead of
    draining a body nobody will read; elsewhere the server's own rules apply.
    """

    def wrapped(environ, start_response):
        def start(status, headers, exc_info=None):
            kept = [(k, v) for k, v in headers if k != CLOSE_HEADER]
            if len(kept) != len(headers):
                force_close = getattr(getattr(start_response, "__self__", None), "force_close", None)
                if callable(force_close):
                    force_close()
            return start_response(status, kept, exc_info)

        return application(environ, start)

    return wrapped


def _nul_in_url(request: HttpRequest, path: bool = True) -> Refusal | None:
    """NUL is in no CRDS name or parameter, and PostgreSQL refuses it in any string: a 400 here,
    not a database error deep in a view."""
    query = request.META.get("QUERY_STRING", "")
    if (path and "\x00" in request.path_info) or "%00" in query or "\x00" in query:
        return Refusal(400, "NUL characters are not allowed in URLs.")
    return None


def _nul_in_form(request: HttpRequest) -> Refusal | None:
    """The same for the fields of an admitted form (bounded: read after the size checks)."""
    if request.method != "POST" or not request.content_type.startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        return None
    try:
        fields = request.POST
    except Exception:  # unreadable forms are the view's (or Django's) 400
        return None
    if any("\x00" in key or any("\x00" in v for v in fields.getlist(key)) for key in fields):
        return Refusal(400, "NUL characters are not allowed in form fields.")
    return None


def anonymous_body_limit() -> int:
    return int(getattr(settings, "ANONYMOUS_BODY_MAX_BYTES", ANONYMOUS_BODY_MAX_BYTES))


def _has_body(meta: dict) -> bool:
    return meta.get("CONTENT_LENGTH", "") not in ("", "0") or "HTTP_TRANSFER_ENCODING" in meta


def _declared_length(meta: dict) -> int | Refusal:
    """The Content-Length, or the refusal of a missing or malformed one."""
    text = meta.get("CONTENT_LENGTH", "")
    if not text:
        return Refusal(411, "A request body needs a Content-Length (chunked bodies are not accepted).")
    if not text.isdigit() or len(text) > 19:
        return Refusal(400, f"Bad Content-Length {text[:40]!r}.")
    return int(text)


def _too_large(length: int, limit: int, what: str) -> Refusal | None:
    if length <= limit:
        return None
    return Refusal(413, f"Request body of {length} bytes exceeds the limit of {limit} bytes for {what}.")


def _rpc_refusal(meta: dict) -> Refusal | None:
    length = _declared_length(meta)
    if isinstance(length, Refusal):
        return length
    return _too_large(length, int(settings.RPC_MAX_BODY), "a JSON-RPC call")


def _refusal(request: HttpRequest) -> Refusal | None:
    """The refusal `request`'s headers and user call for, or None."""
    length = _declared_length(request.META)
    if isinstance(length, Refusal):
        return length
    multipart = request.content_type.startswith("multipart/")
    not_uploader = uploader_refusal(request)
    if not_uploader and request.path_info.startswith(UPLOADS):
        return not_uploader
    if not request.user.is_authenticated:
        return _too_large(length, anonymous_body_limit(), "a request without a login")
    if multipart and not not_uploader:
        return _too_large(length, request_limit(), "an upload")
    return _too_large(length, int(settings.DATA_UPLOAD_MAX_MEMORY_SIZE), "a form")


def _parse_upload(request: HttpRequest) -> Refusal | None:
    """Read an admitted multipart POST through the bounded handler; why it stopped, if it did."""
    if request.method != "POST" or request.content_type != "multipart/form-data":
        return None  # Django parses nothing else into files
    try:
        request.POST  # noqa: B018  (parses the body: from here on it is cached)
    except RequestDataTooBig as exc:
        return Refusal(413, str(exc))
    except (MultiPartParserError, TooManyFieldsSent, TooManyFilesSent, UnreadablePostError) as exc:
        return Refusal(400, f"Unreadable form: {exc}")
    stopped = [h.refusal for h in request.upload_handlers
               if isinstance(h, BoundedUploadHandler) and h.refusal]
    return stopped[0] if stopped else None


def _answer(request: HttpRequest, refusal: Refusal) -> HttpResponse:
    """Upload URLs answer as `crds submit` reads them (JSON, a csrftoken cookie); others in text."""
    if not request.path_info.startswith(UPLOADS):
        return HttpResponse(refusal.message + "\n", status=refusal.status,
                            content_type="text/plain; charset=utf-8")
    name = next((getattr(h, "file_name", "") or "" for h in _handlers(request)), "")

    def answer(request: HttpRequest) -> HttpResponse:
        get_token(request)  # the client reads a fresh csrftoken from every upload answer
        return JsonResponse({"files": [{"name": name, "error": refusal.message}]},
                            status=refusal.status)

    # CSRF's own middleware loads and sets the cookie around the answer (no view is called).
    return CsrfViewMiddleware(answer)(request)


def _handlers(request: HttpRequest) -> list:
    """The upload handlers if a parse started (never instantiated here just to ask)."""
    return list(getattr(request, "_upload_handlers", []) or [])


def _rpc_answer(refusal: Refusal) -> HttpResponse:
    """The JSON-RPC error envelope of the endpoint (/json/ always answers HTTP 200, contract §1.3)."""
    name = {411: "LengthRequired", 413: "RequestTooLarge"}.get(refusal.status, "InvalidRequest")
    error = {"name": name, "code": 500, "data": None, "message": f"{name}: {refusal.message}"}
    body = {"jsonrpc": "1.0", "id": None, "result": None, "error": error}
    return HttpResponse(json.dumps(body), content_type="application/json")
