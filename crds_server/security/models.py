"""Pipeline keys: the secrets with which pipelines report their context (`crds sync --push-context`)."""

from __future__ import annotations

from django.db import models


class PipelineKey(models.Model):
    """One secret of one pipeline: only its sha256 digest is kept; revoked keys stay for the record.

    The key is the secret and the pipeline name is public (`crds list --remote-context NAME`);
    an operator creates and revokes keys with `crds-server pipeline-key`.
    """

    pipeline = models.CharField(max_length=128, db_index=True)
    digest = models.CharField(max_length=64, unique=True)
    created = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(max_length=128)
    revoked = models.DateTimeField(null=True, blank=True)
    revoked_by = models.CharField(max_length=128, blank=True, default="")
    last_used = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pipeline", "created", "id"]

    def __str__(self) -> str:
        return f"{self.pipeline} ({'revoked' if self.revoked else 'active'})"

    def is_active(self) -> bool:
        return self.revoked is None
