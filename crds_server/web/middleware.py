"""Request middleware of the web entry point."""

from __future__ import annotations

import re
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

_SLASHES = re.compile(r"^/{2,}")


def collapse_slashes(get_response: Callable[[HttpRequest], HttpResponse]):
    """Treat a doubled leading slash as one (`crds submit` sends `//login/`)."""

    def middleware(request: HttpRequest) -> HttpResponse:
        if request.path_info.startswith("//"):
            request.path_info = _SLASHES.sub("/", request.path_info)
            request.path = _SLASHES.sub("/", request.path)
        return get_response(request)

    return middleware
