"""Deliveries to the archive: numbered catalogs of confirmed files and their states."""

from __future__ import annotations

from django.db import models


class Delivery(models.Model):
    """One `.cat` catalog handed to the archive, and the state the archive has reached."""

    DELIVERED, SUBMITTED, ARCHIVING = "delivered", "submitted", "archiving"
    ARCHIVED, FAILED = "archived", "archiving-failed"

    number = models.PositiveIntegerField(unique=True)
    catalog = models.CharField(max_length=128, unique=True)
    files = models.JSONField(default=list)
    user = models.CharField(max_length=150)
    submission = models.CharField(max_length=64, blank=True, default="")
    state = models.CharField(max_length=24, default=DELIVERED, db_index=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-number"]
