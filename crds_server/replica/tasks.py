"""The follow step of a configured replica, every 5 minutes."""

from __future__ import annotations

import logging

from django.conf import settings
from huey import crontab

from crds_server.jobs.engine import db_periodic_task

from . import actions
from .errors import ReplicaError

log = logging.getLogger(__name__)


@db_periodic_task(crontab(minute="*/5"))  # catch_up itself takes the "replicate" lease
def follow_source() -> str | None:
    """When CRDS_SERVER_REPLICA_OF is set: one catch-up with the source (a failure changes nothing)."""
    if not settings.REPLICA_OF:
        return None
    try:
        return actions.catch_up(settings.REPLICA_OF, workers=settings.REPLICA_WORKERS,
                                keep_contexts=settings.REPLICA_CONTEXTS,
                                calvers=settings.REPLICA_CALVERS).line()
    except ReplicaError as exc:
        log.error("replica catch-up with %s failed: %s", settings.REPLICA_OF, exc)
        return None
