"""Instrument locks: one submitter per instrument, one instrument per submitter."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class InstrumentLock(models.Model):
    """`user` holds the lock on `instrument` until `expires` (renewed by every action)."""

    instrument = models.CharField(max_length=32, unique=True)
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="lock")
    created = models.DateTimeField(auto_now_add=True)
    expires = models.DateTimeField(db_index=True)

    def expired(self) -> bool:
        return self.expires <= timezone.now()

    def time_remaining(self) -> str:
        seconds = max(0, int((self.expires - timezone.now()).total_seconds()))
        return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
