"""Periodic lock work, found by the Huey consumer (run_huey autodiscovers `tasks` modules)."""

from __future__ import annotations

from huey import crontab

from crds_server.jobs.engine import db_periodic_task, leased

from . import actions


@db_periodic_task(crontab(minute="*/5"))
@leased("clear-expired-locks")
def clear_expired_locks() -> int:
    """Every 5 minutes: remove expired instrument locks so others may take them."""
    return actions.clear_expired()
