"""`crds-server replicate` against a fake source: corrupted, resumed, wrong and slow answers; the guard."""

from __future__ import annotations

import hashlib
import json
import socket
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.management import CommandError, call_command

from crds_server.catalog import actions as catalog_actions
from crds_server.catalog import contexts
from crds_server.catalog.errors import BadContextError
from crds_server.catalog.models import BuildContext, File
from crds_server.catalog.serverinfo import crds_encode
from crds_server.replica.models import ReplicaState
from crds_server.replica.tasks import follow_source
from crds_server.submissions.errors import SubmissionError
from tests.submitting import persona, start

PMAP, REF = "hst_0001.pmap", "hst_acs_darkfile_0001_dark.fits"
FILES = {PMAP: b"header = {'name': 'hst_0001.pmap'}\n", REF: b"SIMPLE  = T reference bytes" * 40}


class FakeSource:
    """A tiny source answering the four RPC methods; its downloads can be made to lie."""

    def __init__(self) -> None:
        self.served = dict(FILES)  # what GET answers: replace a value to corrupt a download
        self.gets: Counter[str] = Counter()
        self.bad_json = False
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                method = self.path.split("/")[2]
                self.rfile.read(int(self.headers["Content-Length"]))
                body = b"{not json" if fake.bad_json else json.dumps(
                    {"result": fake.answer(method), "error": None, "id": 1}).encode()
                self._send(body)

            def do_GET(self) -> None:
                name = self.path.rsplit("/", 1)[-1]
                fake.gets[name] += 1
                self._send(fake.served[name])

            def _send(self, body: bytes) -> None:
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_port}"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def answer(self, method: str):
        meta = {n: {"size": str(len(b)), "sha1sum": hashlib.sha1(b).hexdigest()} for n, b in FILES.items()}
        if method == "get_server_info":
            return {"observatory": "hst", "latest_context": PMAP, "edit_context": PMAP,
                    "versions_context": PMAP, "build_context": "", "download_metadata": crds_encode(meta),
                    "mapping_url": {"unchecked": {"hst": f"{self.url}/files/mappings/hst/"}},
                    "reference_url": {"unchecked": {"hst": f"{self.url}/files/references/hst/"}}}
        if method == "get_context_history":
            return [["2025-01-02 03:04:05", PMAP, "first context"]]
        if method == "get_file_info_map":  # only some fields, as another server may send
            return {n: {"name": n, "type": "mapping" if n == PMAP else "reference", "state": "archived",
                        "size": m["size"], "sha1sum": m["sha1sum"], "rejected": "false",
                        "blacklisted": "true" if n == REF else "false",
                        "delivery_date": "2025-01-01 00:00:00.123456", "description": "from the fake"}
                    for n, m in meta.items()}
        if method == "get_build_context":
            return PMAP
        raise AssertionError(method)

    def stop(self) -> None:
        self.http.shutdown()
        self.http.server_close()


@pytest.fixture
def fake(db, settings, tmp_path):
    settings.FILE_CACHE = tmp_path / "file_cache"
    source = FakeSource()
    yield source
    source.stop()


def _store(settings) -> set[str]:
    return {p.name for p in settings.FILE_CACHE.rglob("*") if p.is_file()}


def test_a_corrupted_download_is_refused_retried_and_catalogues_nothing_until_a_run_resumes(fake, settings):
    fake.served[REF] = b"X" * len(FILES[REF])  # the right size, the wrong bytes
    with pytest.raises(CommandError, match=r"could not be fetched in 3 attempts.*corrupted download "
                                           r"refused.*This replica was not changed"):
        call_command("replicate", fake.url, "--verbosity", "0")
    assert fake.gets[REF] == 3
    assert REF not in _store(settings) and not any(n.startswith(".part") for n in _store(settings))
    assert not File.objects.exists() and not ReplicaState.objects.exists()
    assert contexts.pointer("latest") == ""
    fake.served[REF] = FILES[REF]  # repaired: the next run fetches only what is still missing
    call_command("replicate", fake.url, "--verbosity", "0")
    assert fake.gets == Counter({PMAP: 1, REF: 4})
    assert contexts.pointer("latest") == PMAP and File.objects.count() == 2


def test_files_already_in_place_are_not_fetched_again_and_rows_keep_their_flags_and_dates(fake, settings,
                                                                                          capsys):
    folder = settings.FILE_CACHE / "references" / "hst"
    folder.mkdir(parents=True)
    (folder / REF).write_bytes(FILES[REF])  # left by an interrupted catch-up
    call_command("replicate", fake.url, "--verbosity", "0")
    assert "2 catalog records new or changed, 1 files downloaded" in capsys.readouterr().out
    assert fake.gets == Counter({PMAP: 1})
    ref = File.objects.get(name=REF)
    assert (ref.blacklisted, ref.description, contexts.format_date(ref.delivery_date)) == \
        (True, "from the fake", "2025-01-01 00:00:00")
    assert contexts.history() == [["2025-01-02 03:04:05", PMAP, "first context"]]
    assert ReplicaState.objects.get().caught_up is not None
    call_command("replicate", fake.url, "--verbosity", "0")
    assert "Nothing new" in capsys.readouterr().out and fake.gets == Counter({PMAP: 1})


def test_a_source_answering_bad_json_changes_nothing(fake):
    fake.bad_json = True
    with pytest.raises(CommandError, match="did not answer get_server_info.*This replica was not changed"):
        call_command("replicate", fake.url, "--verbosity", "0")
    assert not File.objects.exists()


def test_a_source_timing_out_on_every_request_fails_the_run_with_its_reason(db):
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        with pytest.raises(CommandError, match="did not answer get_server_info: .*timed out"):
            call_command("replicate", url, "--timeout", "0.5", "--verbosity", "0")
    assert not File.objects.exists()


def test_follow_keeps_catching_up_with_a_bounded_interval(fake, monkeypatch, capsys):
    from crds_server.ops.management.commands import replicate

    slept: list[float] = []
    monkeypatch.setattr(replicate.time, "sleep", slept.append)
    call_command("replicate", fake.url, "--follow", "--interval", "1", "--max-runs", "2", "--verbosity", "0")
    out = capsys.readouterr().out
    assert "Caught up with" in out and "Nothing new" in out and slept == [replicate.MIN_INTERVAL]


def test_the_periodic_job_follows_the_configured_source_only(fake, settings):
    settings.REPLICA_OF = ""
    assert follow_source.call_local() is None
    settings.REPLICA_OF = fake.url
    assert follow_source.call_local().startswith(f"Caught up with {fake.url}")


def test_a_replica_refuses_submissions_context_changes_and_bad_marks_naming_its_source(db, settings):
    settings.REPLICA_OF = "https://hst-crds.example.org"
    named = "read-only replica of https://hst-crds.example.org"
    with pytest.raises(SubmissionError, match=named):
        start(persona("sub"))
    with pytest.raises(BadContextError, match=named):
        catalog_actions.set_context("operator", PMAP, "latest", "Back")
    with pytest.raises(BadContextError, match=named):
        catalog_actions.mark_bad("operator", [REF], "Wrong")
    with pytest.raises(BadContextError, match=named):
        catalog_actions.mark_ok("operator", [REF], "Right")


def test_a_second_catch_up_while_one_runs_is_refused(fake):
    from crds_server.jobs.engine import held
    from crds_server.replica import actions

    with held(actions.LOCK), pytest.raises(CommandError, match="Another catch-up with .* is running"):
        call_command("replicate", fake.url, "--verbosity", "0")
    assert not File.objects.exists() and fake.gets == Counter()


def test_a_replica_source_that_is_not_a_url_fails_the_system_checks(settings):
    from crds_server.replica.checks import check_replica_settings

    settings.REPLICA_OF = "hst-crds.stsci.edu"
    assert [m.id for m in check_replica_settings()] == ["crds_server.replica.E001"]
    settings.REPLICA_OF, settings.REPLICA_WORKERS = "https://hst-crds.stsci.edu", 0
    assert [m.id for m in check_replica_settings()] == ["crds_server.replica.E002"]
    settings.REPLICA_WORKERS = 4
    assert check_replica_settings() == []


def test_build_contexts_are_copied_for_the_calibration_versions_named(fake):
    call_command("replicate", fake.url, "--calver", "1.2.0", "--calver", "1.3.0", "--verbosity", "0")
    assert dict(BuildContext.objects.values_list("calver", "context")) == {"1.2.0": PMAP, "1.3.0": PMAP}
    assert contexts.build_context("1.2.5") == PMAP


def test_pages_say_a_configured_replica_has_never_caught_up_yet(db, settings, client):
    settings.REPLICA_OF = "https://hst-crds.example.org"
    page = client.get("/").content.decode()
    assert 'Read-only replica of <a href="https://hst-crds.example.org">https://hst-crds.example.org</a>, ' \
           'last caught up never.' in page
