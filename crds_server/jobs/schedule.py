"""Huey storages whose consumers share one schedule: any consumer may run the scheduler.

Each consumer's scheduler checks the periodic tasks once a minute, as Huey's
does, but enqueues a task only after claiming that task's tick in the
database (leases.claim_tick): with several schedulers each task is enqueued
once per tick, and with one of them dead the others still enqueue them all.
Settings name these classes as HUEY["huey_class"].
"""

from __future__ import annotations

import datetime
import threading

import huey
from huey.consumer import Consumer, Scheduler


class SharedScheduler(Scheduler):
    def enqueue_periodic_tasks(self, now: datetime.datetime | None) -> None:
        from django.db import DatabaseError, connections

        from .leases import claim_tick

        now = now or self.huey._get_timestamp()  # naive UTC, as Huey's crontab expects
        minute = now.replace(second=0, microsecond=0)
        tick = minute.replace(tzinfo=datetime.UTC) if self.huey.utc else minute.astimezone(datetime.UTC)
        try:
            for task in self.huey.read_periodic(minute):
                name = f"{type(task).__module__}.{task.name}"
                try:
                    mine = claim_tick(name, tick)
                except DatabaseError:
                    self._logger.exception("could not claim the %s tick of %s", minute, name)
                    continue
                if mine:
                    self._logger.info("Enqueueing periodic task %s.", task)
                    self.huey.enqueue(task)
        except Exception:
            self._logger.exception("error enqueueing the periodic tasks of %s", minute)
        finally:
            if threading.current_thread() is not threading.main_thread():
                connections.close_all()  # the scheduler thread's own connections, not a caller's


class SharedScheduleConsumer(Consumer):
    scheduler_class = SharedScheduler


class _SharedSchedule:
    def create_consumer(self, **options):
        return SharedScheduleConsumer(self, **options)


class SqliteHuey(_SharedSchedule, huey.SqliteHuey):
    """Huey's SQLite storage (one machine), with the shared schedule."""


class RedisHuey(_SharedSchedule, huey.RedisHuey):
    """Huey's Redis storage (consumers on many machines), with the shared schedule."""
