"""Submissions: one delivery of files by a submitter, from upload to confirm or cancel."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class Submission(models.Model):
    """One submission.  `status` moves queued -> processing -> ready -> confirmed, or to
    failed, cancelled or expired; every move is a conditional update of one row."""

    QUEUED, PROCESSING, READY = "queued", "processing", "ready"
    FAILED, CONFIRMED, CANCELLED, EXPIRED = "failed", "confirmed", "cancelled", "expired"
    FINAL = (FAILED, CONFIRMED, CANCELLED, EXPIRED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="submissions")
    kind = models.CharField(max_length=32, default="batch")
    status = models.CharField(max_length=16, default=QUEUED, db_index=True)
    instrument = models.CharField(max_length=32, blank=True, default="")
    # The instruments whose locks the submission took at submit time and needs at confirm.
    instruments = models.JSONField(default=list, blank=True)
    derive_from = models.CharField(max_length=128)
    # The .pmap uploads are certified against (`crds certify --comparison-context`); empty: derive_from.
    comparison_context = models.CharField(max_length=128, blank=True, default="")
    description = models.TextField()
    creator = models.CharField(max_length=128, blank=True, default="")
    change_level = models.CharField(max_length=16, default="SEVERE")
    auto_rename = models.BooleanField(default=True)
    compare_old_reference = models.BooleanField(default=False)
    generate_contexts = models.BooleanField(default=True)
    extra = models.JSONField(default=dict, blank=True)
    channel_key = models.CharField(max_length=128, blank=True, default="")
    uploaded = models.JSONField(default=list, blank=True)
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True, default="")
    attempts = models.IntegerField(default=0)
    heartbeat = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True, db_index=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created"]

    def is_final(self) -> bool:
        return self.status in self.FINAL

    def new_context(self) -> str:
        return self.result.get("new_context", "")
