"""Users, roles and API tokens.

Roles are Django groups: `submitter` may upload and submit; `operator` may
also set contexts, mark files bad and break locks.  A `crds submit` token
(MAST_API_TOKEN) is an API token of the user, sent as the login password.
"""

from __future__ import annotations

import hashlib
import secrets

from django.contrib.auth.models import Group, User
from django.db import transaction
from django.utils import timezone

from .errors import AccountError
from .models import ApiToken

ROLES = ("submitter", "operator")


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_user(name: str, email: str, role: str, password: str | None = None) -> User:
    """Create (or update) user `name` with one role; operators are staff for the admin."""
    if role not in ROLES:
        raise AccountError(f"Unknown role '{role}'; use one of {', '.join(ROLES)}.")
    with transaction.atomic():
        user, _ = User.objects.get_or_create(username=name)
        user.email = email
        user.is_staff = role == "operator"
        if password:
            user.set_password(password)
        elif not user.has_usable_password():
            user.set_unusable_password()
        user.save()
        user.groups.set([Group.objects.get_or_create(name=role)[0]])
    return user


def has_role(user: User, role: str) -> bool:
    """Operators can do everything submitters can."""
    if not user.is_authenticated:
        return False
    names = set(user.groups.values_list("name", flat=True))
    return "operator" in names or role in names or user.is_superuser


def create_token(user: User, name: str = "") -> str:
    """A new API token for `user`; only its hash is stored, so show it once."""
    token = secrets.token_urlsafe(32)
    ApiToken.objects.create(user=user, name=name, digest=digest(token))
    return token


def revoke_token(user: User, prefix_or_name: str) -> int:
    """Revoke the user's tokens with this name; returns how many."""
    return ApiToken.objects.filter(user=user, name=prefix_or_name, revoked=None).update(
        revoked=timezone.now())


def user_for_token(username: str, token: str) -> User | None:
    """The active user owning `token`, if it is `username`'s.

    The user carries the token's id as `api_token_id`, so a session opened
    with it can be ended when the token is revoked (security/sessions.py).
    """
    row = ApiToken.objects.select_related("user").filter(digest=digest(token), revoked=None).first()
    if row is None or row.user.username != username or not row.user.is_active:
        return None
    ApiToken.objects.filter(pk=row.pk).update(last_used=timezone.now())
    row.user.api_token_id = row.pk
    return row.user


def token_is_active(token_id: int) -> bool:
    """Whether API token `token_id` exists and is not revoked."""
    return ApiToken.objects.filter(pk=token_id, revoked=None).exists()
