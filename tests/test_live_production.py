"""A production deployment made by following docs/operations.md on this machine.

PostgreSQL (or MariaDB) for the database, Redis for the cache (db 12) and the
job storage (db 11), one web service (`crds-server run --no-jobs`) and two job
consumers (`crds-server run_huey`), exactly as the systemd units in deploy/
start them; the unmodified `crds` client talks to it over HTTP.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.live import (
    BIN,
    LiveServer,
    errors_in,
    fresh_postgres_database,
    manage,
    postgres_reachable,
    server_env,
)

pytestmark = pytest.mark.live

CACHE_URL = "redis://127.0.0.1:6379/12"
HUEY_REDIS_URL = "redis://127.0.0.1:6379/11"
MARIADB = ("127.0.0.1", 3306)

BUILD_CACHE = """
import json
from pathlib import Path
from crds_server.demo import build_demo_cache, demo_datasets
out = Path({out!r})
pmap = build_demo_cache(out, "hst")
with open(out / "datasets.jsonl", "w") as lines:
    for entry in demo_datasets(out, "hst", 40):
        lines.write(json.dumps(entry) + "\\n")
print(pmap)
"""

SUBMISSION_STATUS = """
from crds_server.submissions.models import Submission
print(Submission.objects.order_by("-created").values_list("status", flat=True).first())
"""


def _redis(url: str):
    import redis

    return redis.Redis.from_url(url, socket_timeout=2)


def redis_reachable() -> bool:
    try:
        return bool(_redis(HUEY_REDIS_URL).ping())
    except Exception:
        return False


def mariadb_reachable() -> bool:
    try:
        with socket.create_connection(MARIADB, timeout=1):
            return True
    except OSError:
        return False


def fresh_mariadb_database() -> tuple[str, Callable[[], None]]:
    """A new empty MariaDB database: (DATABASE_URL, drop function)."""
    import pymysql

    name = f"crds_live_{uuid.uuid4().hex[:12]}"

    def execute(sql: str) -> None:
        conn = pymysql.connect(host=MARIADB[0], port=MARIADB[1], user="root", autocommit=True)
        try:
            conn.cursor().execute(sql)
        finally:
            conn.close()

    execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    return f"mysql://root@{MARIADB[0]}:{MARIADB[1]}/{name}", lambda: execute(
        f"DROP DATABASE IF EXISTS `{name}`")


def _flush_redis() -> None:
    for url in (CACHE_URL, HUEY_REDIS_URL):
        _redis(url).flushdb()


@dataclass
class Deployment:
    """One web service and two job consumers sharing a database, a cache and a job queue."""

    database: str
    home: Path
    web: LiveServer
    env: dict[str, str]
    consumers: list[subprocess.Popen] = field(default_factory=list)
    token: str = ""
    pmap: str = ""  # the imported context
    new_context: str = ""  # the context the submission made

    def manage(self, *args: str) -> str:
        return manage(self.home, "hst", *args, **self.env)

    def shell(self, code: str) -> str:
        return self.manage("shell", "-c", code).strip()

    def consumer_log(self, number: int) -> str:
        return (self.home / "logs" / f"jobs-{number}.log").read_text(errors="replace")

    def start_consumer(self, number: int, *options: str) -> None:
        log = open(self.home / "logs" / f"jobs-{number}.log", "ab")
        self.consumers.append(subprocess.Popen(
            [str(BIN / "crds-server"), "run_huey", *options],
            env=server_env(self.home, "hst", **self.env), stdout=log, stderr=subprocess.STDOUT))

    def executed(self, task: str) -> list[int]:
        """The consumers (0, 1) whose log shows `task` executed."""
        return [n for n in range(len(self.consumers)) if f"Executing {task}" in self.consumer_log(n)]

    def stop(self) -> None:
        self.web.stop()
        for consumer in self.consumers:
            if consumer.poll() is None:
                consumer.send_signal(signal.SIGINT)  # what systemd sends (KillSignal=SIGINT)
        for consumer in self.consumers:
            try:
                consumer.wait(timeout=30)
            except subprocess.TimeoutExpired:
                consumer.kill()


def _database(kind: str) -> tuple[str, Callable[[], None]]:
    if kind == "postgresql":
        if not postgres_reachable():
            pytest.skip("PostgreSQL is not running on 127.0.0.1:5432")
        return fresh_postgres_database()
    if not mariadb_reachable():
        pytest.skip("MariaDB is not running on 127.0.0.1:3306")
    return fresh_mariadb_database()


@pytest.fixture(scope="module", params=["postgresql", "mariadb"])
def deployment(request, tmp_path_factory):
    """The server of docs/operations.md, "Production deployment", brought up step by step."""
    if not redis_reachable():
        pytest.skip(f"Redis is not running on 127.0.0.1:6379 ({HUEY_REDIS_URL}, {CACHE_URL})")
    url, drop = _database(request.param)
    _flush_redis()
    home = tmp_path_factory.mktemp(f"production-{request.param}")
    web = LiveServer(home, "hst")
    # deploy/crds-server.env.example, filled in for this machine.
    env = {"DATABASE_URL": url, "CACHE_URL": CACHE_URL, "HUEY_REDIS_URL": HUEY_REDIS_URL,
           "CRDS_SERVER_PUBLIC_URL": web.url, "CRDS_SERVER_ALLOWED_HOSTS": "127.0.0.1",
           "CRDS_SERVER_SECRET_KEY": uuid.uuid4().hex * 2,
           # Small chunks, so one affected-datasets run is many jobs for both consumers.
           "CRDS_SERVER_AFFECTED_CHUNK": "2"}
    live = Deployment(request.param, home, web, env)
    try:
        _first_time(live, tmp_path_factory.mktemp("demo-cache"))
        yield live
    finally:
        live.stop()
        drop()
        _flush_redis()


def _first_time(live: Deployment, cache: Path) -> None:
    """init, import-cache and import-datasets, a submitter, then the services."""
    live.manage("init", "--observatory", "hst", "--usecase", "test")
    pmap = live.manage("shell", "-c", BUILD_CACHE.format(out=str(cache)))
    live.pmap = pmap.split()[-1]
    live.manage("import-cache", str(cache), "--context", live.pmap)
    live.manage("import-datasets", str(cache / "datasets.jsonl"))
    created = live.manage("createuser", "homer", "--email", "homer@example.org",
                          "--role", "submitter")
    live.token = created.split()[-1]
    # crds-server-web.service, and crds-server-jobs.service on two machines: the
    # second with the override of "Growing to several machines" (no schedule).
    web_env = {k: v for k, v in live.env.items() if k != "CRDS_SERVER_PUBLIC_URL"}
    live.web.start(workers=2, jobs=False, **web_env)
    live.start_consumer(0, "--flush-locks")
    live.start_consumer(1, "--no-periodic")


def _submit(live: Deployment, folder: Path, *files: str, background: bool = False):
    command = [str(BIN / "crds"), "submit", "--files", *files, "--monitor-processing",
               "--wait-for-completion", "--wipe-existing-files", "--autoconfirm",
               "--description", "A dark for the production test", "--creator", "Homer"]
    env = live.web.client_env(folder / "cache", CRDS_USERNAME="homer", MAST_API_TOKEN=live.token)
    if background:
        return subprocess.Popen(command, env=env, cwd=folder, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
    return subprocess.run(command, env=env, cwd=folder, capture_output=True, text=True, timeout=300)


def _wait_for(condition: Callable[[], object], seconds: float, what: str) -> object:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out after {seconds} s waiting for {what}")


def _a_new_dark(deployment: Deployment, folder: Path, name: str, year_after: int = 1) -> str:
    """A copy of a catalogued ACS dark, USEAFTER `year_after` years after the Jan 1 following
    its own: with 0 its profile's datasets (observed a year after it) select the new one."""
    import shutil

    from astropy.io import fits

    source = sorted((deployment.home / "file_cache" / "references" / "hst").glob("*_drk.fits"))[0]
    target = folder / name
    shutil.copy(source, target)
    with fits.open(target, mode="update") as hdus:
        year = int(hdus[0].header["USEAFTER"].split()[2]) + 1 + year_after
        hdus[0].header["USEAFTER"] = f"Jan 01 {year} 00:00:00"
        hdus[0].header["DESCRIP"] = "A new dark delivered by the production test"
    return str(target)


def test_crds_sync_fetches_and_checks_every_file(deployment, tmp_path):
    done = deployment.web.crds(tmp_path / "cache", "sync", "--contexts", deployment.pmap,
                               "--fetch-references", "--check-files")
    assert done.returncode == 0, done.stderr[-3000:]
    assert not errors_in(done.stderr), done.stderr[-3000:]
    fetched = {p.name for p in (tmp_path / "cache" / "references" / "hst").rglob("*") if p.is_file()}
    assert fetched >= {p.name for p in (deployment.home / "file_cache" / "references" / "hst").iterdir()}


def test_server_info_is_shared_through_the_redis_cache(deployment):
    info = deployment.web.rpc("get_server_info")["result"]
    assert info["edit_context"] == deployment.pmap
    keys = [k.decode() for k in _redis(CACHE_URL).keys("*")]
    assert keys, "nothing was cached in Redis db 12"


def test_crds_submit_is_processed_by_a_consumer_through_the_redis_queue(deployment, tmp_path):
    before = deployment.web.rpc("get_server_info")["result"]["edit_context"]
    done = _submit(deployment, tmp_path, _a_new_dark(deployment, tmp_path, "prod_drk.fits", 0))
    output = done.stdout + done.stderr
    assert "COMPLETED" in output and done.returncode == 0, output[-4000:]
    after = deployment.web.rpc("get_server_info")["result"]["edit_context"]
    assert after != before
    # The web ran no consumer: the job went through Redis to exactly one of the two.
    assert len(deployment.executed("crds_server.submissions.tasks.process_submission")) == 1
    jobs = _redis(HUEY_REDIS_URL)
    assert any(k.startswith(b"huey.") for k in jobs.keys("*")), jobs.keys("*")
    deployment.new_context = after


def test_affected_datasets_are_computed_by_both_consumers(deployment, tmp_path):
    if deployment.database != "postgresql":
        pytest.skip("affected datasets run once, on PostgreSQL")
    old, new = deployment.pmap, deployment.new_context
    # The archive takes the delivery first: only archived files may become latest.
    deployment.manage("simulate-archive", "--steps", "3")
    deployment.manage("watch-deliveries")
    deployment.manage("set-context", new, "--kind", "latest", "--reason", "Production test")
    out = deployment.manage("affected")
    assert f"{old} -> {new}" in out
    result = _wait_for(lambda: deployment.web.rpc("get_affected_datasets", "hst", old, new)
                       .get("result"), 90, "get_affected_datasets to answer")
    assert result["affected_ids"]
    assert deployment.executed("crds_server.reprocessing.tasks.compute_chunk") == [0, 1]
    done = deployment.web.crds(tmp_path / "c", "query_affected", "-x", "0", "-y", "1")
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == result["affected_ids"]


def test_only_the_scheduling_consumer_enqueues_periodic_jobs(deployment):
    if deployment.database != "postgresql":
        pytest.skip("checked once, on PostgreSQL")
    assert "Periodic tasks are disabled" in deployment.consumer_log(1)
    assert "Enqueueing periodic task" not in deployment.consumer_log(1)
    assert "Periodic tasks are enabled" in deployment.consumer_log(0)


def test_the_other_consumer_finishes_a_submission_whose_consumer_was_stopped(deployment, tmp_path):
    if deployment.database != "postgresql":
        pytest.skip("consumer failover runs once, on PostgreSQL")
    task = "crds_server.submissions.tasks.process_submission"
    seen = [deployment.consumer_log(n).count(f"Executing {task}") for n in (0, 1)]
    dark = _a_new_dark(deployment, tmp_path, "stopped_drk.fits", 20)
    client = _submit(deployment, tmp_path, dark, background=True)
    taken = _wait_for(lambda: [n for n in (0, 1) if deployment.consumer_log(n)
                               .count(f"Executing {task}") > seen[n]], 120, "a consumer to take it")
    stopped = deployment.consumers[taken[0]]
    stopped.send_signal(signal.SIGTERM)  # immediate: huey abandons the task in flight
    stopped.wait(timeout=30)
    status = deployment.shell(SUBMISSION_STATUS).splitlines()[-1]
    # docs/commands.md: once the consumer is known dead, recover at once.
    recovered = deployment.manage("recover-submissions", "--older-than", "0")
    output, _ = client.communicate(timeout=240)
    assert "COMPLETED" in output and client.returncode == 0, output[-4000:]
    assert "Received SIGTERM" in deployment.consumer_log(taken[0])
    if status != "processing":
        pytest.skip(f"the consumer finished before the signal (submission {status})")
    survivor = 1 - taken[0]
    assert "Recovered 1 submission(s)." in recovered
    assert deployment.consumer_log(survivor).count(f"Executing {task}") > seen[survivor]
    assert "Processing was interrupted; starting again." in output
