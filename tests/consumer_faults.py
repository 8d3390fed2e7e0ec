"""Two real job consumers on Redis, one killed with kill -9 mid-run (tests and bench share it).

Consumer A runs with its watch step and its dataset comparisons slowed down,
so that when it is killed it really holds the `watch-deliveries` lease and a
claimed affected-datasets chunk; consumer B is a plain `run_huey`. Both share
one Redis queue (a name of its own) and the server home's SQLite database.
"""

from __future__ import annotations

import datetime
import os
import signal
import sqlite3
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from tests.live import BIN, manage, server_env

REDIS_URL = "redis://127.0.0.1:6379/14"
ROOT = BIN.parents[1]

# A real consumer (run_huey) whose watch step hangs and whose comparisons take SLOW s a dataset.
SLOW_CONSUMER = """
import os, sys, time
import django
django.setup()
from crds_server.deliveries import tasks as deliveries
from crds_server.reprocessing.compare import Comparison
slow = float(os.environ["CRDS_TEST_SLOW"])
compare = Comparison.changed_types
def slow_compare(self, ident, header):
    time.sleep(slow)
    return compare(self, ident, header)
Comparison.changed_types = slow_compare
deliveries.watch = lambda: time.sleep(600) or []
from django.core.management import call_command
call_command("run_huey")
"""

DERIVE = """
import django
django.setup()
from django.conf import settings
from tests.builders import CatalogBuilder
from tests.web_helpers import derive_context
print(derive_context(CatalogBuilder(settings), "hst_0001.pmap", "acs", "darkfile")["pmap"])
"""


def forget_queue(name: str) -> None:
    """Remove the Redis keys of job queue `name`, and nothing else."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"*{name}*"):
        client.delete(key)


@dataclass
class Faults:
    """A demo home with a pending context transition, and its consumers."""

    home: Path
    settings: dict[str, str]
    queue: str = field(default_factory=lambda: f"test-faults-{uuid.uuid4().hex[:12]}")
    consumers: list[subprocess.Popen] = field(default_factory=list)

    def env(self, **extra: str) -> dict[str, str]:
        return server_env(self.home, "hst", HUEY_REDIS_URL=REDIS_URL, CRDS_SERVER_JOB_QUEUE=self.queue,
                          PYTHONPATH=str(ROOT), DJANGO_SETTINGS_MODULE="crds_server.settings",
                          **self.settings, **extra)

    def prepare(self) -> None:
        """The demo catalog (ACS in 2 chunks) with a new latest context; no run yet."""
        manage(self.home, "hst", "demo", "--observatory", "hst", "--datasets", "200")
        done = subprocess.run([str(BIN / "python"), "-c", DERIVE], env=self.env(), capture_output=True,
                              text=True, timeout=300, cwd=str(ROOT))
        assert done.returncode == 0, done.stderr
        manage(self.home, "hst", "set-context", done.stdout.split()[-1], "--kind", "latest",
               "--reason", "Dropped one dark")

    def start(self, name: str, slow: float = 0.0) -> subprocess.Popen:
        log = open(self.home / "logs" / f"consumer-{name}.log", "ab")
        if slow:
            command = [str(BIN / "python"), "-c", SLOW_CONSUMER]
        else:
            command = [str(BIN / "crds-server"), "run_huey"]
        process = subprocess.Popen(command, env=self.env(CRDS_TEST_SLOW=str(slow)), stdout=log,
                                   stderr=subprocess.STDOUT, cwd=str(ROOT))
        log.close()
        self.consumers.append(process)
        return process

    def log(self, name: str) -> str:
        return (self.home / "logs" / f"consumer-{name}.log").read_text(errors="replace")

    def enqueue_run(self) -> str:
        return manage(self.home, "hst", "affected", **self.settings, HUEY_REDIS_URL=REDIS_URL,
                      CRDS_SERVER_JOB_QUEUE=self.queue)

    def rows(self, sql: str, *args) -> list[tuple]:
        with sqlite3.connect(f"file:{self.home / 'db.sqlite3'}?mode=ro", uri=True, timeout=30) as db:
            return db.execute(sql, args).fetchall()

    def lease(self, name: str) -> tuple[str, datetime.datetime | None] | None:
        found = self.rows("SELECT holder, expires FROM jobs_lease WHERE name = ?", name)
        if not found:
            return None
        holder, expires = found[0]
        when = datetime.datetime.fromisoformat(expires).replace(tzinfo=datetime.UTC) if expires else None
        return holder, when

    def chunks(self) -> list[tuple[int, str, str, int]]:
        return self.rows("SELECT id, status, claim, attempts FROM reprocessing_affectedchunk ORDER BY id")

    def run_status(self) -> str:
        found = self.rows("SELECT status FROM reprocessing_affectedrun")
        return found[0][0] if found else ""

    def stop(self) -> None:
        for process in self.consumers:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        for process in self.consumers:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=30)
        forget_queue(self.queue)


def wait_for(what: str, check, limit: float = 240.0, every: float = 0.25):
    """Poll `check` until it answers something true (bounded by `limit` seconds)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(every)
    raise AssertionError(f"gave up waiting for {what}")


@dataclass
class Outcome:
    """What happened after consumer A was killed (times in seconds after the kill)."""

    killed_chunk: int
    chunk_taken_over: float
    lease_free: float
    run_finished: float
    periodic_after_kill: float
    chunks: list[tuple[int, str, str, int]]
    run_status: str
    lease_holder_after: str


def kill_one_mid_run(faults: Faults, slow: float) -> Outcome:
    """Start A (slow), give it a chunk and the watch lease, start B, kill -9 A; follow B's recovery."""
    first = faults.start("a", slow=slow)
    wait_for("A to hold the watch-deliveries lease",
             lambda: (faults.lease("watch-deliveries") or ("",))[0].split(":")[1:2] == [str(first.pid)])
    faults.enqueue_run()
    running = wait_for("A to claim a chunk", lambda: [c for c in faults.chunks() if c[1] == "running"])
    assert len(running) == 1, running  # A's other worker is in the watch step
    killed_chunk, _, claim, _ = running[0]
    faults.start("b")
    # A's two workers are busy: the other chunk is B's, so once it is done B is working.
    wait_for("B to finish the other chunks",
             lambda: all(c[1] == "done" for c in faults.chunks() if c[0] != killed_chunk))
    assert [c[2] for c in faults.chunks() if c[0] == killed_chunk] == [claim], "A's chunk ended too soon"
    lines_before = len(faults.log("b").splitlines())
    os.kill(first.pid, signal.SIGKILL)
    killed = time.monotonic()
    killed_at = datetime.datetime.now(datetime.UTC)
    first.wait(timeout=30)
    holder, expires = faults.lease("watch-deliveries")
    assert holder.split(":")[1:2] == [str(first.pid)], "A no longer held the lease when killed"
    lease_free = (expires - killed_at).total_seconds()  # anyone may take it from then on

    def taken_over():
        return [c for c in faults.chunks() if c[0] == killed_chunk and c[2] not in ("", claim)]

    wait_for("the killed chunk to be taken over", taken_over)
    taken = time.monotonic() - killed
    wait_for("the run to finish", lambda: faults.run_status() in ("done", "failed"))
    finished = time.monotonic() - killed

    def watched_after_kill():
        after = faults.log("b").splitlines()[lines_before:]
        return any("watch_deliveries" in line and "executed in" in line for line in after)

    wait_for("B's scheduler to run watch_deliveries", watched_after_kill, limit=200)
    periodic = time.monotonic() - killed
    return Outcome(killed_chunk, taken, lease_free, finished, periodic, faults.chunks(),
                   faults.run_status(), (faults.lease("watch-deliveries") or ("",))[0])
