"""Login with an instrument lock, logout, and the lock status `crds submit` reads.

The login answers failures with a status of 401 or 403 *and* an
``error_message`` div, the only two signs `crds submit` notices
(contract §5.6); a page without an error has no such element at all.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import authenticate, login, logout
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import ensure_csrf_cookie

from crds_server.accounts import actions as accounts
from crds_server.catalog import contexts, loader
from crds_server.locks import actions as locks
from crds_server.locks.errors import LockError
from crds_server.security.sessions import remember_token
from crds_server.security.throttle import lockout_message


class LoginRefused(Exception):
    """A login that cannot go on; `status` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 403) -> None:
        super().__init__(message)
        self.status = status


@ensure_csrf_cookie
def login_view(request: HttpRequest) -> HttpResponse:
    """GET: the login form.  POST: authenticate, take the instrument lock, log in, redirect."""
    if request.method != "POST":
        return _page(request)
    form = request.POST
    username = form.get("username", "").strip()
    instrument = form.get("instrument", locks.NONE).strip().lower() or locks.NONE
    try:
        user = _authenticate(request, username, form.get("password", ""))
        _check_instrument(user, instrument)
        locks.acquire(user, instrument)
    except (LoginRefused, LockError) as exc:
        return _page(request, str(exc), getattr(exc, "status", 403))
    login(request, user)
    remember_token(request, user)
    return HttpResponseRedirect(_safe_next(request, form.get("next", "/")))


def logout_view(request: HttpRequest) -> HttpResponse:
    """Drop the user's instrument lock, end the session, go home (GET or POST)."""
    if request.user.is_authenticated:
        locks.release(request.user)
    logout(request)
    return HttpResponseRedirect("/")


def lock_status(request: HttpRequest, username: str) -> JsonResponse:
    """The lock `username` holds, as `crds submit` reads it (no login needed)."""
    return JsonResponse(locks.status(username))


# Requests that are no page action of the user: the countdown's own polling, static files,
# probes, and what clients and scripts call (RPC, downloads, job polling), whose answers
# must not vary by session (they are read without one) nor pay a session lookup.
QUIET_PATHS = ("/lock_status/", "/static/", "/health", "/json", "/unchecked_get/", "/get/",
               "/jpoll/")


def renew_locks_on_activity(get_response: Callable[[HttpRequest], HttpResponse]):
    """Every request of a logged-in user renews their instrument locks: the header's countdown
    resets on every site action (features.md A2), not only on uploads and submissions."""

    def middleware(request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(QUIET_PATHS):  # first: reading the user reads the session
            user = getattr(request, "user", None)
            if user is not None and user.is_authenticated:
                locks.touch(user)
        return get_response(request)

    return middleware


def instruments() -> list[str]:
    """The instruments of the latest context (empty when the server has none yet)."""
    latest = contexts.pointer("latest")
    return sorted(loader.get_mapping(latest).selections) if latest else []


def _page(request: HttpRequest, error: str = "", status: int = 200) -> HttpResponse:
    return render(request, "web/login.html", {
        "error": error, "instruments": instruments(), "next": request.POST.get("next")
        or request.GET.get("next", "/"), "username": request.POST.get("username", ""),
        "instrument": request.POST.get("instrument", ""), "lock_hours": settings.LOCK_HOURS,
    }, status=status)


def _authenticate(request: HttpRequest, username: str, password: str) -> User:
    """The user with this password or API token and a role.

    django-axes (the first authentication backend) counts failures per user
    and client address in the database and refuses a locked-out pair before
    any password is checked; its middleware then answers with the lockout page.
    """
    user = authenticate(request, username=username[:150], password=password) if username else None
    if getattr(request, "axes_locked_out", False):
        raise LoginRefused(lockout_message())
    if user is None:
        raise LoginRefused("Unknown user name or wrong password or token.", status=401)
    if not accounts.has_role(user, "submitter"):
        raise LoginRefused(f"User '{username}' has no submitter or operator role on this server.")
    return user


def _check_instrument(user: User, instrument: str) -> None:
    """`none` (what `crds submit` sends for files of several instruments) takes no lock now:
    the submission takes the locks of its files' instruments when it is submitted."""
    if instrument == locks.NONE:
        return
    known = instruments()
    if known and instrument not in known:
        raise LoginRefused(f"Unknown instrument '{instrument}'; choose one of {', '.join(known)}.")


def _safe_next(request: HttpRequest, target: str) -> str:
    allowed = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure())
    return target if allowed and target else "/"
