"""The replica's own state: which server it follows and when it last caught up."""

from __future__ import annotations

from django.db import models


class ReplicaState(models.Model):
    """The one row of a server that replicates another: its source and how far it got.

    `caught_up` and `latest_context` move only in the transaction that makes a
    catch-up visible; `last_attempt` and `last_error` record every run,
    including those that failed and changed nothing else.
    """

    source = models.CharField(max_length=512)
    latest_context = models.CharField(max_length=128, blank=True, default="")
    caught_up = models.DateTimeField(null=True, blank=True)
    last_attempt = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")

    def __str__(self) -> str:
        return f"replica of {self.source}"
