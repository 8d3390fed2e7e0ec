"""Affected-datasets jobs: one job per chunk, the monitor every 5 minutes, the requeue every minute."""

from __future__ import annotations

from huey import crontab

from crds_server.jobs.engine import db_periodic_task, db_task, leased

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
@leased("monitor-reprocessing")
def monitor_reprocessing() -> int:
    """Start affected-datasets runs for new latest contexts; requeue chunks of dead consumers."""
    return enqueue(actions.monitor())


@db_periodic_task(crontab(minute="*"))
@leased("requeue-stale-chunks")
def requeue_stale_chunks() -> int:
    """Every minute: give chunks whose consumer died (stale heartbeat) a job, for an idle consumer."""
    return enqueue(actions.requeue_stale())
