"""Sessions opened with an API token end when the token is revoked."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse


def end_revoked_token_sessions(get_response: Callable[[HttpRequest], HttpResponse]):
    """Placeholder."""

    def middleware(request: HttpRequest) -> HttpResponse:
        return get_response(request)

    return middleware
