"""Affected-datasets jobs: one job per chunk, and the monitor every 5 minutes."""

from __future__ import annotations

from huey import crontab

from crds_server.jobs.engine import db_periodic_task, db_task, lock_task

from . import actions


@db_task()
def compute_chunk(chunk_id: int) -> bool:
    """Compare one chunk of datasets under both contexts (skipped if another consumer has it)."""
    return actions.run_chunk(chunk_id)


def enqueue(chunk_ids: list[int]) -> int:
    """One job per chunk; a duplicate job is harmless because claims are conditional."""
    for chunk_id in chunk_ids:
        compute_chunk(chunk_id)
    return len(chunk_ids)


@db_periodic_task(crontab(minute="*/5"))
@lock_task("monitor-reprocessing")
def monitor_reprocessing() -> int:
    """Start affected-datasets runs for new latest contexts; requeue chunks of dead consumers."""
    return enqueue(actions.monitor())
