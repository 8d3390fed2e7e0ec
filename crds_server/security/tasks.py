"""Periodic security work, found by the Huey consumer (run_huey autodiscovers `tasks` modules)."""

from __future__ import annotations

from huey import crontab

from crds_server.jobs.engine import db_periodic_task, leased

from . import throttle


@db_periodic_task(crontab(minute="*/10"))
@leased("prune-login-attempts")
def prune_login_attempts() -> int:
    """Every 10 minutes: forget failed-login records past their lockout, bound the rest."""
    return throttle.prune_login_attempts()
