"""Sessions opened with an API token end when the token is revoked.

A login with a token (how `crds submit` logs in) records the token's id in
the session; every later request of that session checks the token is still
active, and logs the session out if it is not.  Sessions opened with a
password end on a password change (Django's session auth hash).
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse

from crds_server.accounts.actions import token_is_active

TOKEN_SESSION_KEY = "crds_api_token_id"


def remember_token(request: HttpRequest, user) -> None:
    """After login(): tie the session to the token the user logged in with, if any."""
    token_id = getattr(user, "api_token_id", None)
    if token_id is not None:
        request.session[TOKEN_SESSION_KEY] = token_id


def end_revoked_token_sessions(get_response: Callable[[HttpRequest], HttpResponse]):
    """Log out a session whose API token was revoked, before the view runs."""

    def middleware(request: HttpRequest) -> HttpResponse:
        # Only a request carrying a session cookie can be a token's session; reading the
        # session of any other would add `Vary: Cookie` to every answer (downloads too).
        session = getattr(request, "session", None)
        has_cookie = settings.SESSION_COOKIE_NAME in request.COOKIES
        token_id = session.get(TOKEN_SESSION_KEY) if session is not None and has_cookie else None
        if token_id is not None and not token_is_active(token_id):
            logout(request)  # flushes the session; request.user becomes anonymous
        return get_response(request)

    return middleware
