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

import datetime
import ipaddress

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone


class BoundedDatabaseHandler(AxesDatabaseHandler):
    """django-axes' database handler, except that a failure during a lockout only restarts the
    lockout: it no longer appends the request's data to the record, so a guesser who keeps
    trying cannot grow one database row without bound."""

    def user_login_failed(self, sender, credentials: dict, request=None, **kwargs):
        if request is None or not self.is_locked(request, credentials):
            return super().user_login_failed(sender, credentials, request, **kwargs)
        from axes.models import AccessAttempt

        AccessAttempt.objects.filter(
            username=get_client_username(request, credentials),
            ip_address=request.axes_ip_address).update(attempt_time=timezone.now())
        request.axes_locked_out = True
        request.axes_credentials = credentials
        return None


def client_address(request: HttpRequest) -> str | None:
    """The address throttling is keyed on: the proxy's header if configured, else the peer.

    Only a valid IP address is returned (django-axes stores it in an address column,
    which PostgreSQL checks); None when there is none (an in-process login).
    """
    header = settings.CLIENT_IP_HEADER
    candidates = [request.META.get("REMOTE_ADDR", "")]
    if header:
        key = "HTTP_" + header.upper().replace("-", "_")
        candidates.insert(0, request.META.get(key, "").split(",")[0].strip())
    for value in candidates:
        try:
            return str(ipaddress.ip_address(value[:64]))
        except ValueError:
            continue
    return None


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


# What one failed-login record keeps of the requests that made it: django-axes
# appends up to 1 KB of each one's GET and POST data to the record.
ATTEMPT_DATA_KEPT = 16 * 1024


def prune_login_attempts(now: datetime.datetime | None = None) -> int:
    """Delete failed-login records whose lockout has passed; cut the data kept in the others.

    django-axes deletes old records only when another failure comes, and a
    guesser who keeps trying during a lockout makes one record grow; this
    bounds both.  Returns how many records were deleted.
    """
    from axes.models import AccessAttempt
    from django.db.models.functions import Left, Length

    cutoff = (now or timezone.now()) - datetime.timedelta(seconds=settings.LOGIN_THROTTLE_SECONDS)
    deleted = AccessAttempt.objects.filter(attempt_time__lt=cutoff).delete()[0]
    for field in ("get_data", "post_data"):
        AccessAttempt.objects.annotate(kept=Length(field)).filter(kept__gt=ATTEMPT_DATA_KEPT).update(
            **{field: Left(field, ATTEMPT_DATA_KEPT)})
    return deleted
