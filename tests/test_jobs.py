"""The job engine: the periodic schedule, a real consumer and the task locks, on SQLite and on Redis."""

from __future__ import annotations

import re
import subprocess
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.live import BIN, manage, port_open, server_env

DOCS = Path(__file__).resolve().parents[1] / "docs" / "operations.md"
REDIS_URL = "redis://127.0.0.1:6379/14"  # each test module uses job queues of its own names

# Minutes of the hour each job runs at; None means every hour, else the one hour it runs.
SCHEDULE: dict[str, tuple[int, int | None]] = {
    "crds_server.locks.tasks.clear_expired_locks": (5, None),
    "crds_server.submissions.tasks.recover_stuck_submissions": (1, None),
    "crds_server.submissions.tasks.expire_stale_submissions": (10, None),
    "crds_server.deliveries.tasks.watch_deliveries": (1, None),
    "crds_server.reprocessing.tasks.monitor_reprocessing": (5, None),
    "crds_server.reprocessing.tasks.requeue_stale_chunks": (1, None),
    "crds_server.ops.tasks.publish_cache": (10, None),
    "crds_server.security.tasks.prune_login_attempts": (10, None),
    "crds_server.replica.tasks.follow_source": (5, None),
    "crds_server.ops.tasks.nightly_checks": (60, 3),
}


def _due(every: int, hour: int | None, when: datetime) -> bool:
    return when.minute % every == 0 and (hour is None or when.hour == hour)


def _periodic_names(when: datetime) -> set[str]:
    from django.utils.module_loading import autodiscover_modules

    from crds_server.jobs.engine import HUEY

    autodiscover_modules("tasks")  # what `run_huey` does before it starts
    return {f"{type(task).__module__}.{task.name}" for task in HUEY.read_periodic(when)}


def test_every_periodic_job_runs_exactly_on_its_schedule_through_a_whole_day():
    start = datetime(2025, 3, 4, 0, 0)
    for minute in range(24 * 60):
        when = start + timedelta(minutes=minute)
        expected = {name for name, (every, hour) in SCHEDULE.items() if _due(every, hour, when)}
        assert _periodic_names(when) == expected, when


def test_the_nightly_checks_run_once_a_day_at_three():
    day = [datetime(2025, 3, 4, 0, 0) + timedelta(minutes=m) for m in range(24 * 60)]
    runs = [when for when in day if "crds_server.ops.tasks.nightly_checks" in _periodic_names(when)]
    assert runs == [datetime(2025, 3, 4, 3, 0)]


def _documented_schedule() -> dict[str, tuple[int, int | None]]:
    text = DOCS.read_text().split("## Scheduled jobs", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `(\w+)` \| ([^|]+) \|[^|]+\| `(\w+)/tasks\.py` \|", text, re.M)
    schedule = {}
    for job, when, app in rows:
        when = when.strip()
        if when == "every minute":
            timing: tuple[int, int | None] = (1, None)
        elif match := re.fullmatch(r"every (\d+) minutes", when):
            timing = (int(match[1]), None)
        else:
            timing = (60, int(re.fullmatch(r"(\d\d):00", when)[1]))
        schedule[f"crds_server.{app}.tasks.{job}"] = timing
    return schedule


def test_the_operations_guide_documents_the_schedule_the_code_runs():
    assert _documented_schedule() == SCHEDULE


# A real consumer (`crds-server run_huey`) on each job storage.


def _redis_reachable() -> bool:
    return port_open(6379)


def forget_queue(name: str) -> None:
    """Remove the Redis keys of job queue `name` (and nothing else: other runs share Redis)."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"*{name}*"):
        client.delete(key)


@dataclass
class Storage:
    """An initialised server home whose job storage is `kind` (sqlite or redis)."""

    kind: str
    home: Path
    extra: dict[str, str] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        return server_env(self.home, "hst", **self.extra)

    def shell(self, code: str) -> list[str]:
        """Run Python in `crds-server shell` for this home; its output lines."""
        done = subprocess.run([str(BIN / "crds-server"), "shell", "-c", code], env=self.env(),
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout.splitlines()


@pytest.fixture(scope="module", params=["sqlite", "redis"])
def storage(request, tmp_path_factory):
    extra = {}
    if request.param == "redis":
        if not _redis_reachable():
            pytest.skip("Redis is not running on 127.0.0.1:6379")
        queue = f"test-jobs-{uuid.uuid4().hex[:12]}"  # a queue of its own: runs never collide
        extra.update(HUEY_REDIS_URL=REDIS_URL, CRDS_SERVER_JOB_QUEUE=queue)
        request.addfinalizer(lambda: forget_queue(queue))
    home = tmp_path_factory.mktemp(f"jobs-{request.param}")
    manage(home, "hst", "init", "--observatory", "hst", **extra)
    return Storage(request.param, home, extra)


@pytest.fixture(scope="module")
def consumer(storage):
    log = open(storage.home / "logs" / "huey.log", "ab")
    process = subprocess.Popen([str(BIN / "crds-server"), "run_huey"],
                               env=storage.env(), stdout=log, stderr=subprocess.STDOUT)
    yield process
    process.terminate()
    process.wait(timeout=30)
    log.close()


STORAGE_CODE = "from crds_server.jobs.engine import HUEY; print(type(HUEY).__name__)"

ROUND_TRIP_CODE = """
import time
from datetime import timedelta
from django.utils import timezone
from crds_server.accounts.actions import create_user
from crds_server.locks.models import InstrumentLock
from crds_server.locks.tasks import clear_expired_locks
from crds_server.reprocessing.tasks import compute_chunk

print("chunk claimed:", compute_chunk(987654).get(blocking=True, timeout=30))
bart = create_user("bart", "bart@example.org", "submitter")
InstrumentLock.objects.create(instrument="acs", user=bart, expires=timezone.now() - timedelta(minutes=1))
clear_expired_locks()
deadline = time.monotonic() + 30
while InstrumentLock.objects.exists() and time.monotonic() < deadline:
    time.sleep(0.2)
print("locks left:", InstrumentLock.objects.count())
"""


def test_the_storage_is_the_one_configured(storage):
    expected = {"sqlite": "SqliteHuey", "redis": "RedisHuey"}[storage.kind]
    assert storage.shell(STORAGE_CODE)[-1] == expected


HOLD_CODE = """
import sys
from crds_server.jobs.engine import held
with held("watch-deliveries"):
    print("held", flush=True)
    sys.stdin.read()
"""

PROBE_CODE = """
from crds_server.jobs.engine import LeaseHeld
from crds_server.deliveries.tasks import watch_deliveries
try:
    print("ran:", watch_deliveries.call_local())
except LeaseHeld:
    print("skipped: locked")
"""


def test_a_periodic_job_is_skipped_while_another_process_runs_it(storage):
    holder = subprocess.Popen([str(BIN / "crds-server"), "shell", "-c", HOLD_CODE], env=storage.env(),
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        lines = (line.strip() for line in iter(holder.stdout.readline, ""))
        assert "held" in lines, "the lock holder never took the lock"
        assert storage.shell(PROBE_CODE)[-1] == "skipped: locked"
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    assert holder.returncode == 0
    assert storage.shell(PROBE_CODE)[-1] == "ran: []"


def test_a_consumer_runs_jobs_enqueued_by_another_process(storage, consumer):
    lines = storage.shell(ROUND_TRIP_CODE)
    assert consumer.poll() is None, (storage.home / "logs" / "huey.log").read_text()
    # A missing chunk is not claimable: the job's own answer came back through the storage.
    assert "chunk claimed: False" in lines
    assert "locks left: 0" in lines
