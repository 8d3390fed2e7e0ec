"""Request middleware: refuse oversized or unauthenticated bodies before anything reads them."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse


def guard_request_body(get_response: Callable[[HttpRequest], HttpResponse]):
    """Placeholder: filled in by the request-body guard."""

    def middleware(request: HttpRequest) -> HttpResponse:
        return get_response(request)

    return middleware
