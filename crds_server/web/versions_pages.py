"""P15: the server environment's package versions, as STScI's site lists them."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from crds_server.lib import versions


@require_safe
def package_versions(request: HttpRequest) -> HttpResponse:
    """Python, the server and the packages it runs on, with their versions."""
    return render(request, "web/versions.html", {"packages": versions.installed()})
