"""Delivery Status (S15): confirmed submissions and how far the archive has got with them.

Every logged-in submitter sees it, read-only; operators act on deliveries
(redeliver a failed one) from the operator page `/deliveries/`.
"""

from __future__ import annotations

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_http_methods

from crds_server.accounts.actions import has_role
from crds_server.deliveries import actions as deliveries

RECENT = 50


@require_http_methods(["GET", "HEAD"])
def delivery_status(request: HttpRequest) -> HttpResponse:
    """Deliveries not archived yet and the most recent ones, for submitters and operators."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not has_role(request.user, "submitter"):
        return render(request, "web/message.html", {
            "title": "Delivery Status", "message": "Only submitters and operators can see deliveries."},
            status=403)
    response = render(request, "web/operator_deliveries.html", {
        "pending": deliveries.pending(), "recent": deliveries.recent(RECENT),
        "read_only": True, "operator": has_role(request.user, "operator")})
    patch_cache_control(response, private=True, no_store=True)
    return response
