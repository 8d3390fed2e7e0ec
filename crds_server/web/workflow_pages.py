"""Server Workflow (G1, P16): how a delivery moves through this server, for logged-in users."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_cache_control


def server_workflow(request: HttpRequest) -> HttpResponse:
    """The operator processes in order: submit, confirm, deliver, archive, set context, affected
    datasets, the periodic jobs. Logged-in users only, as on STScI's site."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    response = render(request, "web/workflow.html", {
        "lock_hours": settings.LOCK_HOURS, "expiry_hours": settings.SUBMISSION_EXPIRY_HOURS})
    patch_cache_control(response, private=True, max_age=300)
    return response
