"""Maintenance mode at the web entry point: every URL answers 503 with Retry-After.

Why 503 for JSON-RPC too, although the contract (§1.3) says RPC errors are
HTTP 200 with an ``error`` object: the `crds` client retries a call only
when the HTTP request itself fails (``apply_with_retries`` around
``urlopen``, ``CRDS_CLIENT_RETRY_COUNT`` times, ``CRDS_CLIENT_RETRY_DELAY_SECONDS``
apart).  An HTTP 200 error envelope is final for it: a pipeline calling
during a ten-minute restore would fail at once.  A 503 is retried, and a
proxy or monitor reads it as "temporarily unavailable", which is the truth.
The 503 body of `/json/` is still a JSON-RPC envelope with an ``error``
object, so a client that reads the body sees the reason.  `/health`
answers 503 with status "maintenance".
"""

from __future__ import annotations

import json
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from crds_server.lib import maintenance

RETRY_AFTER = "120"


def refuse_during_maintenance(get_response: Callable[[HttpRequest], HttpResponse]):
    """Answer 503 + Retry-After to every request while the maintenance flag is up."""

    def middleware(request: HttpRequest) -> HttpResponse:
        why = maintenance.reason()
        if why is None:
            return get_response(request)
        return unavailable(request.path_info, why)

    return middleware


def unavailable(path: str, why: str) -> HttpResponse:
    """The 503 answer for `path`: JSON for health and RPC, plain text otherwise."""
    message = f"The CRDS server is down for maintenance ({why}). Please retry in a few minutes."
    if path.rstrip("/") == "/health":
        body, kind = json.dumps({"status": "maintenance", "reason": why}), "application/json"
    elif path.startswith("/json"):
        error = {"name": "ServerMaintenance", "message": message}
        body = json.dumps({"jsonrpc": "1.0", "id": None, "result": None, "error": error})
        kind = "application/json"
    else:
        body, kind = message + "\n", "text/plain; charset=utf-8"
    response = HttpResponse(body, status=503, content_type=kind)
    response["Retry-After"] = RETRY_AFTER
    response["Cache-Control"] = "no-store"
    return response
