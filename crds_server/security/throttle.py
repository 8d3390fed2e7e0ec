"""Login throttling with django-axes: who the client is, and what a locked-out login sees.

django-axes counts failed logins in the database (shared by every worker and
process) per (user name, client address): five failures lock that pair out
for LOGIN_THROTTLE_SECONDS, and every attempt during the lockout starts it
again, so a persistent guesser never gets back in while the real user, from
another address, is not locked out at all.  It covers every login that goes
through Django's `authenticate()`: /login/ (passwords and API tokens) and
/admin/login/.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def client_address(request: HttpRequest) -> str:
    """The address throttling is keyed on: the proxy's header if configured, else the peer."""
    header = settings.CLIENT_IP_HEADER
    if header:
        key = "HTTP_" + header.upper().replace("-", "_")
        value = request.META.get(key, "").split(",")[0].strip()
        if value:
            return value[:64]
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def lockout_message() -> str:
    minutes = max(1, settings.LOGIN_THROTTLE_SECONDS // 60)
    return (f"Too many failed logins for this user from your address; try again in {minutes} "
            "minutes (each further attempt starts the wait again).")


def lockout_response(request: HttpRequest, response=None, credentials=None, *args, **kwargs) -> HttpResponse:
    """The answer to a locked-out login: 403 with the error div `crds submit` reads (§5.6)."""
    if request.path.startswith("/admin/"):
        return HttpResponse(lockout_message(), status=403, content_type="text/plain")
    return render(request, "web/login.html", {"error": lockout_message(), "instruments": [],
                                              "next": "/", "username": "", "instrument": "",
                                              "lock_hours": settings.LOCK_HOURS}, status=403)
