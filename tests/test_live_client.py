"""The real `crds` client, unmodified, against live servers over HTTP.

Servers: HST and JWST servers holding the project's own demo data (always),
and an HST server holding the full ../shared/corpus cache (when present).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.live import CORPUS, LiveServer, clean_env, errors_in, manage

pytestmark = pytest.mark.live

BESTREFS_SCRIPT = """
import json, sys, crds
from crds.core import heavy_client
headers = json.load(open(sys.argv[1]))
context = sys.argv[2]
results = {}
for ident, header in headers.items():
    results[ident] = crds.getrecommendations(header, context=context, observatory=sys.argv[3], fast=True)
json.dump(results, open(sys.argv[4], "w"), sort_keys=True)
"""


def _demo_server(tmp_path_factory, observatory: str):
    home = tmp_path_factory.mktemp(f"{observatory}-demo-home")
    manage(home, observatory, "demo", "--observatory", observatory)
    server = LiveServer(home, observatory).start()
    return server


@pytest.fixture(scope="module")
def hst_demo(tmp_path_factory):
    server = _demo_server(tmp_path_factory, "hst")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def jwst_demo(tmp_path_factory):
    server = _demo_server(tmp_path_factory, "jwst")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def corpus_server(tmp_path_factory):
    if not (CORPUS / "make_cache.py").exists():
        pytest.skip("../shared/corpus is absent: the full HST corpus tests need it")
    cache = tmp_path_factory.mktemp("corpus-cache")
    subprocess.run([sys.executable, str(CORPUS / "make_cache.py"), str(cache)], check=True,
                   capture_output=True, timeout=600, env=clean_env())
    home = tmp_path_factory.mktemp("corpus-home")
    manage(home, "hst", "init", "--observatory", "hst")
    manage(home, "hst", "import-cache", str(cache), "--verbosity", "0")
    manage(home, "hst", "import-datasets", str(CORPUS / "hst/datasets/synthetic_1000.jsonl"))
    server = LiveServer(home, "hst").start(workers=2)
    yield server
    server.stop()


def _latest(server: LiveServer) -> str:
    return server.rpc("get_server_info")["result"]["latest_context"]


def _sync_and_verify(server: LiveServer, cache) -> None:
    context = _latest(server)
    first = server.crds(cache, "sync", "--contexts", context, "--fetch-references")
    assert errors_in(first.stderr)[:5] == []
    assert first.returncode == 0, first.stderr[-3000:]
    second = server.crds(cache, "sync", "--contexts", context, "--fetch-references",
                         "--check-files", "--check-sha1sum", "--stats")
    assert errors_in(second.stderr)[:5] == []
    assert second.returncode == 0, second.stderr[-3000:]
    assert "0 errors" in second.stderr
    synced = {p.name for p in (cache / "references" / server.observatory).rglob("*") if p.is_file()}
    expected = set(server.rpc("get_reference_names", context)["result"])
    assert expected and expected <= synced


def test_the_client_syncs_the_hst_demo_context_and_verifies_every_file(hst_demo, tmp_path):
    _sync_and_verify(hst_demo, tmp_path / "cache")


def test_the_client_syncs_the_jwst_demo_context_and_verifies_every_file(jwst_demo, tmp_path):
    _sync_and_verify(jwst_demo, tmp_path / "cache")


@pytest.mark.corpus
def test_the_client_syncs_the_whole_hst_corpus_and_verifies_every_file(corpus_server, tmp_path):
    _sync_and_verify(corpus_server, tmp_path / "cache")


def _headers(server: LiveServer, count: int) -> dict[str, dict]:
    obs = server.observatory
    info = server.rpc("get_server_info")["result"]
    context = info["latest_context"]
    headers: dict[str, dict] = {}
    for instrument in server.rpc("get_required_parkeys", context)["result"]:
        ids = server.rpc("get_dataset_ids", context, instrument, None)["result"][:count]
        if ids:
            found = server.rpc("get_dataset_headers_by_id", context, ids, None)["result"]
            headers.update(found)
    assert headers, f"no {obs} dataset headers on the server"
    return headers


def _bestrefs(server: LiveServer, cache, mode: str, headers: dict, tmp_path) -> dict:
    source, out = tmp_path / "headers.json", tmp_path / f"bestrefs-{mode}.json"
    source.write_text(json.dumps(headers))
    done = subprocess.run(
        [sys.executable, "-c", BESTREFS_SCRIPT, str(source), _latest(server), server.observatory,
         str(out)],
        env=server.client_env(cache, CRDS_MODE=mode), capture_output=True, text=True, timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(out.read_text())


@pytest.mark.parametrize("server_name", ["hst_demo", "jwst_demo"])
def test_remote_best_references_equal_local_ones(server_name, request, tmp_path):
    server = request.getfixturevalue(server_name)
    cache = tmp_path / "cache"
    headers = _headers(server, 10)
    local = _bestrefs(server, cache, "local", headers, tmp_path)
    remote = _bestrefs(server, cache, "remote", headers, tmp_path)
    assert remote == local
    found = [v for refs in local.values() for v in refs.values() if "NOT FOUND" not in v]
    assert found, "the demo headers should select some references"


@pytest.mark.corpus
def test_the_server_answers_corpus_best_references_exactly_as_the_library(corpus_server, tmp_path):
    headers = {}
    for line in (CORPUS / "hst/datasets/synthetic_1000.jsonl").read_text().splitlines()[:300]:
        entry = json.loads(line)
        headers[entry["id"]] = entry["header"]
    cache = tmp_path / "cache"
    local = _bestrefs(corpus_server, cache, "local", headers, tmp_path)
    remote = corpus_server.rpc("get_best_references_by_header_map", _latest(corpus_server), headers, None)
    assert remote["error"] is None
    assert {ident: pair[1] for ident, pair in remote["result"].items()} == local


def test_crds_list_status_reports_the_server_and_its_context(hst_demo, tmp_path):
    done = hst_demo.crds(tmp_path / "cache", "list", "--status")
    assert done.returncode == 0, done.stderr
    assert f"Effective Context = '{_latest(hst_demo)}'" in done.stdout
    assert hst_demo.url in done.stdout


def test_crds_list_resolves_tag_and_date_based_contexts(hst_demo, tmp_path):
    latest = _latest(hst_demo)
    imap = hst_demo.rpc("get_context_by_date", "hst-acs-latest", "hst")["result"]
    rmap = hst_demo.rpc("get_context_by_date", "hst-acs-biasfile-latest", "hst")["result"]
    done = hst_demo.crds(tmp_path / "cache", "list", "--resolve-contexts", "--contexts",
                         "hst-2099-01-01T00:00:00", "hst-edit", "hst-acs-latest",
                         "hst-acs-biasfile-latest")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [latest, latest, imap, rmap]
    assert imap.endswith(".imap") and rmap.endswith(".rmap")


def test_a_pipeline_pushes_its_context_and_crds_list_reads_it_back(hst_demo, tmp_path):
    cache = tmp_path / "cache"
    latest = _latest(hst_demo)
    key = manage(hst_demo.home, "hst", "pipeline-key", "create", "hst-ops-pipeline").strip()
    done = hst_demo.crds(cache, "sync", "--contexts", latest, "--push-context", key)
    assert done.returncode == 0, done.stderr
    assert errors_in(done.stderr) == []
    listed = hst_demo.crds(cache, "list", "--remote-context", "hst-ops-pipeline")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.strip() == latest


def test_a_push_with_an_unknown_key_is_refused_and_the_client_says_so(hst_demo, tmp_path):
    cache = tmp_path / "cache"
    done = hst_demo.crds(cache, "sync", "--contexts", _latest(hst_demo), "--push-context", "hst-junk")
    # The client hides the server's message behind its own.
    assert any("Failed pushing cached latest context" in line for line in errors_in(done.stderr))
    listed = hst_demo.crds(cache, "list", "--remote-context", "hst-junk")
    assert listed.stdout.strip() == "None"
    assert any("Failed resolving remote context" in line for line in errors_in(listed.stderr))


def test_crds_list_prints_dataset_headers_from_the_archive_parameters(hst_demo, tmp_path):
    context = _latest(hst_demo)
    ident = hst_demo.rpc("get_dataset_ids", context, "acs", None)["result"][0]
    assert hst_demo.crds(tmp_path / "cache", "sync", "--contexts", context).returncode == 0
    done = hst_demo.crds(tmp_path / "cache", "list", "--dataset-headers", ident, "--contexts", context)
    assert done.returncode == 0, done.stderr
    assert ident in done.stdout and "INSTRUME" in done.stdout


def test_the_client_fetches_the_catalog_as_an_sqlite_database(hst_demo, tmp_path):
    cache = tmp_path / "cache"
    done = hst_demo.crds(cache, "sync", "--fetch-sqlite-db")
    assert done.returncode == 0, done.stderr
    import sqlite3

    db = sqlite3.connect(cache / "config" / "hst" / "crds_db.sqlite3")
    count = db.execute("select count(*) from crds_hst_catalog").fetchone()[0]
    from crds.client.proxy import crds_decode

    catalog = crds_decode(hst_demo.rpc("get_file_info_map", "hst", None, ["size"])["result"])
    assert count == len(catalog) > 0


def test_the_library_reads_system_versions_from_a_jwst_server(jwst_demo, tmp_path):
    code = ("import json; from crds.client import api; "
            "print(json.dumps(dict(api.get_system_versions('1.0.0'))))")
    done = jwst_demo.python(tmp_path / "cache", code)
    assert done.returncode == 0, done.stderr[-2000:]
    versions = json.loads(done.stdout.strip().splitlines()[-1])
    assert versions["meta"]["reftype"] == "CALVER"


@pytest.mark.corpus
def test_the_client_in_remote_mode_gets_the_librarys_answers_for_rules_with_hooks(corpus_server, tmp_path):
    # ACS and WFC3 BIASFILE (precondition hooks) and WFPC2 FLATFILE (fallback hook): the server keys
    # their shared answers on the hooks' headers; the unmodified client asks it one header at a time.
    headers = {}
    for line in (CORPUS / "hst/datasets/synthetic_1000.jsonl").read_text().splitlines():
        entry = json.loads(line)
        if entry["header"].get("INSTRUME") in ("ACS", "WFC3", "WFPC2") and len(headers) < 120:
            headers[entry["id"]] = entry["header"]
    acs = {"INSTRUME": "ACS", "DETECTOR": "WFC", "CCDAMP": "A", "CCDGAIN": "2.0", "APERTURE": "WFC1",
           "NUMCOLS": "4144.0", "NUMROWS": "2068.0", "LTV1": "24.0", "LTV2": "0.0", "BIASCORR": "PERFORM"}
    moments = ["2012-06-01 00:00:00", "2009-05-14 00:00:00", "2009-05-13 23:59:59", "2003-01-01 00:00:00"]
    for n, moment in enumerate(moments * 4):  # both orders, answered by either worker
        day, time = moment.split()
        headers[f"ACS-SM4-{n}"] = dict(acs, **{"DATE-OBS": day, "TIME-OBS": time})
    cache = tmp_path / "cache"
    local = _bestrefs(corpus_server, cache, "local", headers, tmp_path)
    remote = _bestrefs(corpus_server, cache, "remote", headers, tmp_path)
    assert remote == local
    assert any("biasfile" in refs for refs in local.values())
