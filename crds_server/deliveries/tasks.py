"""Periodic work of deliveries: follow the archive's progress every minute."""

from __future__ import annotations

from huey import crontab

from crds_server.jobs.engine import db_periodic_task, leased

from .actions import watch


@db_periodic_task(crontab(minute="*"))
@leased("watch-deliveries")
def watch_deliveries() -> list[tuple[str, str, str]]:
    """Move deliveries on to the states the archive shows; never two runs at once."""
    return watch()
