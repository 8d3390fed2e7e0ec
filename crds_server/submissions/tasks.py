"""Submission jobs on the job engine: processing, and the periodic sweepers."""

from __future__ import annotations

from huey import crontab

from crds_server.jobs.engine import db_periodic_task, db_task, leased

from . import actions, recovery


@db_task()
def process_submission(submission_id: str) -> str:
    """Certify and prepare one queued submission (the consumer runs it, never a web request)."""
    return actions.process(submission_id)


@db_periodic_task(crontab(minute="*"))
@leased("recover-stuck-submissions")
def recover_stuck_submissions() -> list[str]:
    """Requeue submissions whose worker died mid-way; fail them after repeated interruptions."""
    return recovery.recover_stuck()


@db_periodic_task(crontab(minute="*/10"))
@leased("expire-stale-submissions")
def expire_stale_submissions() -> list[str]:
    """Cancel submissions nobody confirmed or cancelled in time."""
    return recovery.expire_stale()
