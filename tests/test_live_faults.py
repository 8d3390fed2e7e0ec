"""Faults against a live server: a job consumer killed mid-submission, a client that hangs up.

The server's own SQLite database is read directly (read-only) to watch the
submission, the catalog and the job log while the server runs.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.live import BIN, LiveServer, manage, server_env
from tests.test_processing import new_reference

pytestmark = pytest.mark.live

USER = "bart"
TOKEN_CODE = (
    "from crds_server.accounts import actions as a; "
    f"u = a.create_user('{USER}', '{USER}@example.org', 'submitter'); print(a.create_token(u, 'cli'))"
)
FILES = 8  # enough references that processing lasts long enough to be caught


@dataclass(frozen=True)
class StoreAsCache:
    """The server's file store seen as a CRDS cache, for `new_reference`."""

    path: Path


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    home = tmp_path_factory.mktemp("faults-home")
    manage(home, "hst", "demo", "--observatory", "hst", "--datasets", "5")
    token = subprocess.run([str(BIN / "crds-server"), "shell", "-c", TOKEN_CODE],
                           env=server_env(home, "hst"), capture_output=True, text=True, check=True)
    live = LiveServer(home, "hst").start(workers=2, jobs=True)
    live.token = token.stdout.strip().splitlines()[-1]
    yield live
    live.stop()


def query(server: LiveServer, sql: str, *args) -> list[tuple]:
    """Rows of a read-only query on the live server's database."""
    with sqlite3.connect(f"file:{server.home / 'db.sqlite3'}?mode=ro", uri=True, timeout=30) as db:
        return db.execute(sql, args).fetchall()


def submission(server: LiveServer, submission_id: str) -> dict:
    row = query(server, "SELECT status, heartbeat, attempts, channel_key, result FROM submissions_submission "
                        "WHERE replace(id, '-', '') = ?", submission_id.replace("-", ""))[0]
    return dict(zip(("status", "heartbeat", "attempts", "channel_key", "result"), row, strict=True))


def done_messages(server: LiveServer, channel_key: str) -> list[dict]:
    rows = query(server, "SELECT m.data FROM jobs_message m JOIN jobs_channel c ON m.channel_id = c.id "
                         "WHERE c.key = ? AND m.type = 'done'", channel_key)
    return [json.loads(data) for (data,) in rows]


def assert_store_and_catalog_agree(server: LiveServer) -> None:
    """Every store file is catalogued, no temporary file is left, and every catalogued
    mapping or reference that clients may see is in the store."""
    store = server.home / "file_cache"
    on_disk = {p.name: p for kind in ("mappings", "references") for p in (store / kind).rglob("*")
               if p.is_file()}
    assert not [name for name in on_disk if name.startswith(".tmp-")]
    catalogued = dict(query(server, "SELECT name, state FROM catalog_file"))
    assert sorted(set(on_disk) - set(catalogued)) == []
    visible = {name for name, state in catalogued.items() if state != "uploaded"}
    assert sorted(visible - set(on_disk)) == []


def reserved_names(server: LiveServer) -> set[str]:
    return {name for (name,) in query(server, "SELECT name FROM catalog_file WHERE state = 'uploaded'")}


class Browser:
    """The requests a `crds submit` makes, through one `requests` session (contract §5.2)."""

    def __init__(self, server: LiveServer) -> None:
        self.server, self.session = server, requests.Session()
        self.session.headers["referer"] = server.url

    def token(self, path: str) -> str:
        page = self.session.get(self.server.url + path, timeout=60)
        assert page.status_code == 200, page.text[:2000]
        return page.cookies["csrftoken"]

    def login(self) -> None:
        self.session.cookies.set("ASB-AUTH", self.server.token)
        self.session.post(self.server.url + "/login/", timeout=60, data={
            "username": USER, "password": self.server.token, "instrument": "acs", "next": "/",
            "csrfmiddlewaretoken": self.token("/login/")}).raise_for_status()
        self.session.get(self.server.url + "/jpoll/open_channel", timeout=60).raise_for_status()

    def upload(self, path: Path) -> None:
        with path.open("rb") as stream:
            self.session.post(self.server.url + "/upload/chunked/", timeout=60,
                              data={"csrfmiddlewaretoken": self.token("/upload/chunked/")},
                              files={"files": (path.name, stream)}).raise_for_status()

    def post_submission(self, timeout) -> bool:
        """POST the batch form; with a short read timeout the client hangs up right after sending
        (then True)."""
        data = {"pmap_mode": "pmap_edit", "pmap_name": "", "instrument": "acs",
                "change_level": "SEVERE", "creator": "Bart", "description": "fault test delivery",
                "auto_rename": "True", "compare_old_reference": "False",
                "csrfmiddlewaretoken": self.token("/batch_submit_references/")}
        try:
            self.session.post(self.server.url + "/batch_submit_references/", data=data, timeout=timeout)
        except requests.exceptions.ReadTimeout:
            return True
        return False


def new_darks(server: LiveServer, folder: Path, count: int, year: int) -> list[Path]:
    """`count` valid new ACS darks with distinct USEAFTER dates."""
    cache = StoreAsCache(server.home / "file_cache")
    return [new_reference(cache, folder, f"fault_{year}_{n}.fits", f"Jan {n + 1:02d} {year} 00:00:00")
            for n in range(count)]


def submit(server: LiveServer, files: list[Path], timeout=60) -> tuple[str, bool]:
    """Log in, upload, post; the id of the submission the post made, and whether we hung up."""
    browser = Browser(server)
    browser.login()
    for path in files:
        browser.upload(path)
    known = set(query(server, "SELECT id FROM submissions_submission"))
    hung_up = browser.post_submission(timeout)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        new = set(query(server, "SELECT id FROM submissions_submission")) - known
        if new:
            return str(new.pop()[0]), hung_up
        time.sleep(0.05)
    raise AssertionError("no submission was created")


def wait_for(server: LiveServer, submission_id: str, statuses: tuple[str, ...], seconds: float = 300) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        row = submission(server, submission_id)
        if row["status"] in statuses:
            return row
        time.sleep(0.05)
    raise AssertionError(f"submission stayed {row['status']}, never {statuses}")


def wait_for_files(folder: Path, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if folder.is_dir() and any(folder.iterdir()):
            return
        time.sleep(0.01)
    raise AssertionError(f"nothing was written to {folder}")


def consumer_pid(server: LiveServer) -> int:
    """The `run_huey` child of this server's `crds-server run` process."""
    found = subprocess.run(["pgrep", "-P", str(server.process.pid), "-f", "run_huey"],
                           capture_output=True, text=True)
    pids = found.stdout.split()
    assert len(pids) == 1, found
    return int(pids[0])


def kill_consumer(server: LiveServer) -> None:
    """kill -9 the consumer; `crds-server run` then stops its web server too."""
    os.kill(consumer_pid(server), signal.SIGKILL)
    server.process.wait(timeout=120)


def test_a_consumer_killed_mid_submission_leaves_the_store_consistent_and_is_recovered(server, tmp_path):
    files = new_darks(server, tmp_path, FILES, 2011)
    submission_id, _ = submit(server, files)
    staging = server.home / "server_files" / "uploads" / _dashed(submission_id) / "staging"
    wait_for_files(staging)  # the worker has begun writing renamed files
    kill_consumer(server)
    row = submission(server, submission_id)
    assert row["status"] == "processing", row
    assert_store_and_catalog_agree(server)
    assert done_messages(server, row["channel_key"]) == []

    out = manage(server.home, "hst", "recover-submissions", "--older-than", "0")
    assert out.split() == [_dashed(submission_id), "Recovered", "1", "submission(s)."]
    row = submission(server, submission_id)
    assert row["status"] == "queued" and reserved_names(server) == set()
    assert not staging.exists()

    server.start(workers=2, jobs=True)
    row = wait_for(server, submission_id, ("ready", "failed"))
    messages = done_messages(server, row["channel_key"])
    assert len(messages) == 1, messages
    assert row["status"] == "ready" and messages[0]["status"] == 0, (row, messages)
    assert row["attempts"] == 2
    result = json.loads(row["result"])
    assert reserved_names(server) == set(result["metadata"])
    assert len(result["renamed"]) == FILES and result["new_context"]
    assert_store_and_catalog_agree(server)
    _cancel(server, submission_id)
    assert reserved_names(server) == set()
    assert_store_and_catalog_agree(server)


def _dashed(submission_id: str) -> str:
    import uuid

    return str(uuid.UUID(submission_id))


def _cancel(server: LiveServer, submission_id: str) -> None:
    browser = Browser(server)
    browser.login()
    token = browser.token(f"/display_result/{_dashed(submission_id)}")
    page = browser.session.post(server.url + "/submit_confirm_pipeline/", timeout=60, data={
        "results_id": _dashed(submission_id), "button": "cancel", "csrfmiddlewaretoken": token})
    assert page.status_code == 200 and "error_message" not in page.text


def test_a_client_hanging_up_right_after_posting_does_not_lose_the_submission(server, tmp_path):
    if server.process.poll() is not None:
        server.start(workers=2, jobs=True)
    files = new_darks(server, tmp_path, 1, 2012)
    submission_id, hung_up = submit(server, files, timeout=(10, 0.001))
    assert hung_up
    row = wait_for(server, submission_id, ("ready", "failed"))
    assert row["status"] == "ready", row
    assert [m["status"] for m in done_messages(server, row["channel_key"])] == [0]
    _cancel(server, submission_id)
