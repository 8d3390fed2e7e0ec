"""The admin console's edges: one login for the whole site, and the admin's own static files.

Operators log in on the site's login page (throttled, token-aware, taking or
not an instrument lock) and log out through the site's logout, which drops
their lock; the admin's own forms would skip both.  The admin's CSS and
JavaScript are served from the installed Django package, so the console
works without `collectstatic` or a proxy location.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

import django.contrib.admin
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_safe
from django.views.static import serve

ADMIN_STATIC = Path(django.contrib.admin.__file__).parent / "static" / "admin"


def login(request: HttpRequest) -> HttpResponseRedirect:
    """The site's login page, coming back to the admin page asked for."""
    target = request.GET.get("next", "")
    if not target.startswith("/admin/") or not url_has_allowed_host_and_scheme(target, None):
        target = "/admin/"
    return HttpResponseRedirect(reverse("web-login") + "?" + urlencode({"next": target}))


def logout(request: HttpRequest) -> HttpResponseRedirect:
    """The site's logout, which drops the instrument lock too."""
    return HttpResponseRedirect(reverse("web-logout"))


@require_safe
def static(request: HttpRequest, path: str) -> HttpResponse:
    """One file of the admin's static files (Django refuses paths outside the folder: 404)."""
    response = serve(request, path, document_root=ADMIN_STATIC)
    patch_cache_control(response, public=True, max_age=86400)
    return response
