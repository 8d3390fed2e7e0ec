"""Pipeline keys: create, revoke, list, and find the pipeline a pushed key belongs to.

`crds sync --push-context KEY` sends only the key, so the key must be a
secret that names its pipeline: the server makes it (192 random bits, hex,
so it never starts with the `-` of a command-line option), shows it once
and keeps its sha256 digest.  A push looks the digest up (one indexed
query); unknown and revoked keys are refused.
"""

from __future__ import annotations

import hashlib
import re
import secrets

from django.db import transaction
from django.utils import timezone

from .errors import PipelineKeyError, UnknownPipelineKey  # noqa: F401  (raised here; importable from here)
from .models import PipelineKey

PIPELINE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_pipeline_key(operator: str, pipeline: str, replace: bool = False) -> str:
    """A new key for `pipeline` (returned once; only its digest is stored).

    A pipeline has one active key: an existing one is refused unless
    `replace`, which revokes it in the same transaction.
    """
    if not isinstance(pipeline, str) or not PIPELINE_RE.fullmatch(pipeline):
        raise PipelineKeyError(f"Invalid pipeline name {pipeline!r}: use 1-128 of [A-Za-z0-9._-].")
    key = secrets.token_hex(24)
    with transaction.atomic():
        active = list(PipelineKey.objects.select_for_update().filter(pipeline=pipeline, revoked=None))
        if active and not replace:
            raise PipelineKeyError(f"Pipeline '{pipeline}' already has an active key: revoke it first, "
                                   "or replace it.")
        _revoke(operator, pipeline)
        PipelineKey.objects.create(pipeline=pipeline, digest=digest(key), created_by=operator)
    return key


def revoke_pipeline_key(operator: str, pipeline: str) -> int:
    """Revoke the active keys of `pipeline`; returns how many (at least one, or PipelineKeyError)."""
    count = _revoke(operator, pipeline)
    if not count:
        raise PipelineKeyError(f"Pipeline '{pipeline}' has no active key.")
    return count


def _revoke(operator: str, pipeline: str) -> int:
    return PipelineKey.objects.filter(pipeline=pipeline, revoked=None).update(
        revoked=timezone.now(), revoked_by=operator)


def list_pipeline_keys() -> list[PipelineKey]:
    """Every pipeline key, active and revoked, by pipeline then age."""
    return list(PipelineKey.objects.all())


def pipeline_for_key(key: object) -> str:
    """The pipeline whose active key `key` is; records its use.  Refuses anything else."""
    refused = UnknownPipelineKey("Unknown or revoked pipeline key: a pipeline pushes with the key "
                                 "the CRDS operators made for it (crds-server pipeline-key create).")
    if not isinstance(key, str) or not 1 <= len(key) <= 128:
        raise refused
    found = PipelineKey.objects.filter(digest=digest(key), revoked=None).values_list("pk", "pipeline").first()
    # The conditional update also loses to a revocation made since the lookup.
    if found is None or not PipelineKey.objects.filter(pk=found[0], revoked=None).update(
            last_used=timezone.now()):
        raise refused
    return found[1]
