"""The JSON-RPC 1.0 endpoint at /json/ in the dialect of the `crds` client.

Every answer to a POST is HTTP 200 with a JSON envelope whose ``error`` is
always present (contract §1.3), whatever the body holds: the body is read
up to its size limit, parsed as JSON whatever the Content-Type says, with
non-finite numbers (NaN, Infinity, 1e400) and deep nesting refused, and an
``id`` that cannot be echoed is answered as null.  The limits come from
`crds_server.security.limits` and are named in every refusal.
"""

from __future__ import annotations

import json
import logging
import math
import re
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.http.request import RawPostDataException
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt

from crds_server.catalog.errors import CatalogError
from crds_server.jobs.errors import ChannelNotFound
from crds_server.security import limits
from crds_server.security.errors import LimitExceeded, SecurityError

from . import (
    methods,  # noqa: F401  (registers the methods)
    registry,
)
from .registry import InvalidRequest, RequestTooLarge

log = logging.getLogger(__name__)
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abcdefABCDEF]")
_SURROGATE = re.compile("[\ud800-\udfff]")
MAX_MESSAGE = 10_000  # error messages quote parameters; keep the reply small whatever was sent


@csrf_exempt
def endpoint(request: HttpRequest) -> HttpResponse:
    """POST: run one call.  GET /json/: a page listing every method."""
    if request.method == "GET":
        return render(request, "rpc/browse.html", {"methods": registry.describe()})
    if request.method != "POST":
        return _reply(None, error=_error("InvalidRequest", "JSON-RPC calls must be POSTed."))
    try:
        call = _parse(_read_body(request))
        ident = _echoable(call.get("id"))
        name, params = _method(call), call.get("params", [])
    except registry.RpcError as exc:
        return _reply(None, error=_error(exc.name, str(exc)))
    except LimitExceeded as exc:
        return _reply(None, error=_error("LimitExceeded", str(exc)))
    if not isinstance(params, list):
        return _reply(ident, error=_error("InvalidParameters", "'params' must be a JSON array."))
    return _run(ident, name, params)


def _read_body(request: HttpRequest) -> bytes:
    """The body, refused past max_rpc_body_bytes whether or not Content-Length says so."""
    most = limits.limit("max_rpc_body_bytes")
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:  # Django then reads nothing
        declared = 0
    if declared > most:
        raise RequestTooLarge(f"Request body of {declared} bytes exceeds {most} (max_rpc_body_bytes).")
    try:
        # Read at most one byte past the limit: a missing or lying length cannot make us read more.
        body = request.body if hasattr(request, "_body") else request.read(most + 1)
    except (RawPostDataException, OSError) as exc:
        raise InvalidRequest(f"The request body could not be read: {exc}") from exc
    if len(body) > most:
        raise RequestTooLarge(f"Request body exceeds {most} bytes (max_rpc_body_bytes).")
    # Parsed JSON costs ~100 bytes of memory per array or object: count them before parsing,
    # so a body of millions of empty lists cannot take gigabytes (a C-speed scan of the bytes).
    containers = body.count(b"[") + body.count(b"{")
    most_containers = limits.limit("max_rpc_containers")
    if containers > most_containers:
        raise RequestTooLarge(f"Request body holds {containers} arrays and objects; at most "
                              f"{most_containers} (max_rpc_containers).")
    return body


def _parse(body: bytes) -> dict[str, Any]:
    """The call object; refuses invalid JSON, non-finite numbers and nesting past max_rpc_depth."""
    depth = limits.limit("max_rpc_depth")
    too_deep = f"JSON-RPC requests nest at most {depth} deep (max_rpc_depth)."
    try:
        text = body.decode("utf-8")  # strictly: no raw surrogates, no other encodings
        call = json.loads(text, parse_constant=_no_constant, parse_float=_finite_float)
    except RecursionError:
        raise LimitExceeded(too_deep) from None
    except ValueError as exc:  # UnicodeDecodeError included
        raise InvalidRequest(f"Request body is not valid JSON: {str(exc)[:200]}") from None
    if limits.json_depth_exceeds(call, depth):
        raise LimitExceeded(too_deep)
    # An escaped lone surrogate ("\ud800") makes a string no database or UTF-8 encoder takes.
    if _SURROGATE_ESCAPE.search(text) and _has_lone_surrogate(call):
        raise InvalidRequest("Request body holds a lone UTF-16 surrogate escape, which is not text.")
    if not isinstance(call, dict):
        raise InvalidRequest("Expected a JSON object with a 'method'.")
    return call


def _has_lone_surrogate(value: Any) -> bool:
    stack = [value]  # depth is already bounded; iterative all the same
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _no_constant(text: str) -> float:
    raise ValueError(f"{text} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:40]} is out of range")
    return value


def _echoable(ident: Any) -> Any:
    """The id to echo: a scalar of at most max_id_chars once encoded, else null."""
    if ident is None or isinstance(ident, (str, int, float)):
        if len(json.dumps(ident)) <= limits.limit("max_id_chars"):
            return ident
    return None


def _method(call: dict[str, Any]) -> str:
    name = call.get("method")
    if not isinstance(name, str):
        raise InvalidRequest("Expected a JSON object with a 'method'.")
    most = limits.limit("max_method_name_chars")
    if len(name) > most:
        raise LimitExceeded(
            f"JSON-RPC method names have at most {most} characters (max_method_name_chars); "
            f"got {len(name)}.")
    return name


def _run(ident: Any, name: str, params: list[Any]) -> HttpResponse:
    # Encoding the result is inside the try: a result JSON cannot carry
    # (an object, NaN) is a bug to report in the envelope, not a 500.
    try:
        return _reply(ident, result=registry.call(name, params))
    except registry.RpcError as exc:
        return _reply(ident, error=_error(exc.name, str(exc)))
    except LimitExceeded as exc:  # "get_... takes at most 1000 headers per call (...); got 60000."
        return _reply(ident, error=_error("LimitExceeded", f"{name} takes {exc}"))
    except (CatalogError, ChannelNotFound, SecurityError) as exc:  # expected: named, not logged as bugs
        return _reply(ident, error=_error(type(exc).__name__, str(exc)))
    except Exception as exc:  # a bug or library failure: report it, never a 500 page
        log.exception("JSON-RPC method %s failed", name)
        return _reply(ident, error=_error("OtherError", f"{type(exc).__name__}: {exc}"))


def _error(name: str, message: str) -> dict[str, Any]:
    if len(message) > MAX_MESSAGE:
        message = message[:MAX_MESSAGE] + " ... (truncated)"
    return {"name": name, "code": 500, "data": None, "message": f"{name}: {message}"}


def _reply(ident: Any, result: Any = None, error: dict | None = None) -> HttpResponse:
    body = {"jsonrpc": "1.0", "id": ident, "result": result, "error": error}
    if isinstance(result, registry.RawJson):
        text = f'{{"jsonrpc": "1.0", "id": {json.dumps(ident)}, "result": {result.text}, "error": null}}'
    else:
        text = json.dumps(body, allow_nan=False)  # the client's pprint/literal_eval has no NaN
    return HttpResponse(text, content_type="application/json")
