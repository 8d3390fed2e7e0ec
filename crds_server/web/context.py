"""Template context shared by every page."""

from django.conf import settings
from django.http import HttpRequest

from crds_server.accounts.actions import has_role
from crds_server.replica.actions import banner as replica_banner


def site(request: HttpRequest) -> dict:
    return {
        "observatory": settings.OBSERVATORY,
        "usecase": settings.USECASE,
        "is_ops": settings.USECASE == "ops",
        # Shows the operator pages in the navigation; the pages check the role themselves.
        "is_operator": has_role(request.user, "operator") if hasattr(request, "user") else False,
        # A replica says on every page what it follows and when it last caught up.
        "replica": replica_banner(),
    }
