"""The JSON-RPC 1.0 endpoint at /json/ in the dialect of the `crds` client.

Every answer is HTTP 200 with ``error`` always present (contract §1.3).
The body is parsed as JSON whatever the Content-Type says.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt

from crds_server.catalog.errors import CatalogError
from crds_server.jobs.errors import ChannelNotFound

from . import (
    methods,  # noqa: F401  (registers the methods)
    registry,
)

log = logging.getLogger(__name__)


@csrf_exempt
def endpoint(request: HttpRequest) -> HttpResponse:
    """POST: run one call.  GET /json/: a page listing every method."""
    if request.method == "GET":
        return render(request, "rpc/browse.html", {"methods": registry.describe()})
    if request.method != "POST":
        return _reply(None, error=_error("InvalidRequest", "JSON-RPC calls must be POSTed."))
    length = int(request.META.get("CONTENT_LENGTH") or 0)
    if length > settings.RPC_MAX_BODY:
        return _reply(None, error=_error(
            "RequestTooLarge", f"Request body of {length} bytes exceeds {settings.RPC_MAX_BODY}."))
    try:
        call = json.loads(request.body)
    except (ValueError, RequestDataTooBig) as exc:
        return _reply(None, error=_error("InvalidRequest", f"Request body is not valid JSON: {exc}"))
    if not isinstance(call, dict) or not isinstance(call.get("method"), str):
        return _reply(None, error=_error("InvalidRequest", "Expected a JSON object with a 'method'."))
    ident = call.get("id")
    params = call.get("params", [])
    if isinstance(params, dict) or not isinstance(params, list):
        return _reply(ident, error=_error("InvalidParameters", "'params' must be a JSON array."))
    return _run(ident, call["method"], params)


def _run(ident: Any, name: str, params: list[Any]) -> HttpResponse:
    # Encoding the result is inside the try: a result JSON cannot carry
    # (an object, NaN) is a bug to report in the envelope, not a 500.
    try:
        return _reply(ident, result=registry.call(name, params))
    except registry.RpcError as exc:
        return _reply(ident, error=_error(exc.name, str(exc)))
    except (CatalogError, ChannelNotFound) as exc:  # expected: named, not logged as bugs
        return _reply(ident, error=_error(type(exc).__name__, str(exc)))
    except Exception as exc:  # a bug or library failure: report it, never a 500 page
        log.exception("JSON-RPC method %s failed", name)
        return _reply(ident, error=_error("OtherError", f"{type(exc).__name__}: {exc}"))


def _error(name: str, message: str) -> dict[str, Any]:
    return {"name": name, "code": 500, "data": None, "message": f"{name}: {message}"}


def _reply(ident: Any, result: Any = None, error: dict | None = None) -> HttpResponse:
    body = {"jsonrpc": "1.0", "id": ident, "result": result, "error": error}
    if isinstance(result, registry.RawJson):
        text = f'{{"jsonrpc": "1.0", "id": {json.dumps(ident)}, "result": {result.text}, "error": null}}'
    else:
        text = json.dumps(body, allow_nan=False)  # the client's pprint/literal_eval has no NaN
    return HttpResponse(text, content_type="application/json")
