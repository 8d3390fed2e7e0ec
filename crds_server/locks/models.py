"""Instrument locks: one submitter per instrument; a submitter may hold several."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class InstrumentLock(models.Model):
    """`user` holds the lock on `instrument` until `expires` (renewed by every action).

    One row per instrument (the unique constraint is what makes two racing
    logins or submissions unable to both win).  A user holds one lock after
    logging in with an instrument, or the locks of a submission's instruments
    taken at submit time after logging in with `none`.
    """

    instrument = models.CharField(max_length=32, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="locks")
    created = models.DateTimeField(auto_now_add=True)
    expires = models.DateTimeField(db_index=True)

    def expired(self) -> bool:
        return self.expires <= timezone.now()

    def time_remaining(self) -> str:
        seconds = max(0, int((self.expires - timezone.now()).total_seconds()))
        return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
