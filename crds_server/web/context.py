"""Template context shared by every page."""

from django.conf import settings
from django.http import HttpRequest

from crds_server.accounts.actions import has_role


def site(request: HttpRequest) -> dict:
    return {
        "observatory": settings.OBSERVATORY,
        "usecase": settings.USECASE,
        "is_ops": settings.USECASE == "ops",
        # Shows the operator pages in the navigation; the pages check the role themselves.
        "is_operator": has_role(request.user, "operator") if hasattr(request, "user") else False,
    }
