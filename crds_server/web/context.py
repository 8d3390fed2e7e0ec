"""Template context shared by every page."""

from django.conf import settings
from django.http import HttpRequest


def site(request: HttpRequest) -> dict:
    return {
        "observatory": settings.OBSERVATORY,
        "usecase": settings.USECASE,
        "is_ops": settings.USECASE == "ops",
    }
