"""Authenticate with an API token given as the password (how `crds submit` logs in)."""

from __future__ import annotations

from django.contrib.auth.backends import BaseBackend
from django.contrib.auth.models import User

from .actions import user_for_token


class TokenBackend(BaseBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if not username or not password:
            return None
        return user_for_token(username, password)

    def get_user(self, user_id):
        return User.objects.filter(pk=user_id, is_active=True).first()
