"""Leases that expire and a schedule shared by every consumer's scheduler, on SQLite."""

from __future__ import annotations

import datetime
import os
import signal
import subprocess

import huey
import pytest
from huey import crontab

from crds_server.jobs import leases, schedule
from crds_server.jobs.models import Lease, Tick
from tests.live import BIN, manage, server_env

NOW = datetime.datetime(2026, 3, 4, 12, 0, tzinfo=datetime.UTC)


def later(seconds: float) -> datetime.datetime:
    return NOW + datetime.timedelta(seconds=seconds)


@pytest.mark.django_db
def test_a_free_lease_is_taken_and_refused_to_others_while_held():
    assert leases.take("publish", "a", 60, now=NOW)
    assert not leases.take("publish", "b", 60, now=later(30))
    assert Lease.objects.get(name="publish").holder == "a"


@pytest.mark.django_db
def test_a_renewed_lease_outlives_its_first_expiry():
    assert leases.take("publish", "a", 60, now=NOW)
    assert leases.renew("publish", "a", 60, now=later(50))
    assert not leases.take("publish", "b", 60, now=later(90))
    assert not leases.renew("publish", "b", 60, now=later(90))  # only the holder renews


@pytest.mark.django_db
def test_an_expired_lease_is_taken_over_and_its_old_holder_cannot_renew_it():
    assert leases.take("publish", "a", 60, now=NOW)
    assert leases.take("publish", "b", 60, now=later(61))
    assert not leases.renew("publish", "a", 60, now=later(62))
    assert not leases.release("publish", "a")
    assert Lease.objects.get(name="publish").holder == "b"


@pytest.mark.django_db
def test_a_released_lease_is_free_at_once():
    assert leases.take("publish", "a", 60, now=NOW)
    assert leases.release("publish", "a")
    assert leases.take("publish", "b", 60, now=later(1))


@pytest.mark.django_db
def test_a_leased_task_is_refused_while_another_holds_its_lease_and_runs_after():
    ran = []
    job = leases.leased("watch")(lambda: ran.append(1) or "done")
    assert leases.take("watch", "elsewhere", 60)
    with pytest.raises(leases.LeaseHeld):
        job()
    assert ran == []
    leases.release("watch", "elsewhere")
    assert job() == "done" and ran == [1]
    assert Lease.objects.get(name="watch").holder == ""  # released when the task ended


@pytest.mark.django_db
def test_a_tick_is_claimed_once_and_the_next_tick_again():
    assert leases.claim_tick("job", NOW)
    assert not leases.claim_tick("job", NOW)
    assert leases.claim_tick("job", later(60))
    assert not leases.claim_tick("job", NOW)  # a late scheduler never runs an old tick


class MemoryHuey(schedule._SharedSchedule, huey.MemoryHuey):
    pass


def _scheduler(queue: huey.Huey) -> schedule.SharedScheduler:
    return schedule.SharedScheduler(queue, stop_flag=None, interval=1, periodic=True)


@pytest.mark.django_db
def test_two_schedulers_enqueue_each_periodic_task_once_a_tick_and_one_alone_still_does():
    queue = MemoryHuey("test-shared-schedule")

    @queue.periodic_task(crontab(minute="*"))
    def every_minute():
        return 1

    @queue.periodic_task(crontab(minute="*/10"))
    def every_ten():
        return 10

    first, second = _scheduler(queue), _scheduler(queue)
    tick = datetime.datetime(2026, 3, 4, 12, 0, 5)  # naive UTC, as Huey's scheduler passes it
    first.enqueue_periodic_tasks(tick)
    second.enqueue_periodic_tasks(tick + datetime.timedelta(seconds=40))
    assert sorted(task.name for task in queue.pending()) == ["every_minute", "every_ten"]
    queue.flush()
    second.enqueue_periodic_tasks(tick + datetime.timedelta(minutes=1))  # the first one died
    assert [task.name for task in queue.pending()] == ["every_minute"]
    assert Tick.objects.count() == 2


# A real process holding a lease, on a server home's SQLite database.

HOLD_CODE = """
import os, sys
from crds_server.jobs.engine import held
with held("publish-cache", seconds=1.5) as holder:
    print(holder, flush=True)
    sys.stdin.read()
"""

PROBE_CODE = """
from crds_server.jobs import leases
from crds_server.jobs.models import Lease
row = Lease.objects.get(name="publish-cache")
print(row.holder, row.expires.timestamp(), leases.take("publish-cache", "probe", 1.5))
"""


def _probe(env: dict[str, str]) -> tuple[str, float, bool]:
    done = subprocess.run([str(BIN / "crds-server"), "shell", "-c", PROBE_CODE], env=env,
                          capture_output=True, text=True, timeout=60, check=True)
    holder, expires, took = done.stdout.split()[-3:]
    return holder, float(expires), took == "True"


def test_a_held_lease_is_renewed_while_its_holder_lives_and_expires_after_kill_9(tmp_path):
    manage(tmp_path, "hst", "init", "--observatory", "hst")
    env = server_env(tmp_path, "hst")
    holder = subprocess.Popen([str(BIN / "crds-server"), "shell", "-c", HOLD_CODE], env=env,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        lines = (line.strip() for line in iter(holder.stdout.readline, ""))
        token = next(line for line in lines if line.count(":") == 2)  # the shell prints a banner
        assert token.split(":")[1] == str(holder.pid)
        first = _probe(env)
        assert first[0] == token and not first[2]
        # Each probe starts a Django process (well over a second): the lease, 1.5 s long,
        # is still refused after several lengths because its holder keeps renewing it.
        seen = [first]
        while seen[-1][1] <= first[1] + 3:
            seen.append(_probe(env))
            assert seen[-1][0] == token and not seen[-1][2], seen
            assert len(seen) < 60, "the lease was never renewed"
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=30)
        for _ in range(60):  # bounded: the lease expires 1.5 s after the last renewal
            after = _probe(env)
            if after[2]:
                break
        assert after[2], "the lease of a killed holder never expired"
    finally:
        if holder.poll() is None:
            holder.kill()
        holder.wait(timeout=30)


def test_the_lease_length_comes_from_the_settings(settings):
    settings.JOB_LEASE_SECONDS = 7
    assert leases.lease_seconds() == 7  # read at call time, so tests and operators may change it
