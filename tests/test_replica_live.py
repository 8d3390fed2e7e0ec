"""`crds-server replicate` of a live server of ours, through the client's public API only (no token)."""

from __future__ import annotations

import base64
import gzip
import json
import subprocess
import urllib.request
from pathlib import Path

import pytest

from tests.live import BIN, LiveServer, manage, server_env
from tests.test_live_submit import TOKEN_CODE, _a_new_bias, _submit

pytestmark = pytest.mark.live

DERIVE = """
import django
django.setup()
from django.conf import settings
from tests.builders import CatalogBuilder
from tests.web_helpers import derive_context
print(derive_context(CatalogBuilder(settings), "hst_0001.pmap", "acs", "darkfile")["pmap"])
"""
BAD = "hst_wfpc2_biasfile_0001.rmap"  # blacklisted on the source, spreading to its imap and pmap


def _decoded(result):
    if isinstance(result, dict) and "crds_payload" in result:
        return json.loads(gzip.decompress(base64.b64decode(result["crds_payload"])))
    return result


def _result(server: LiveServer, method: str, *params):
    reply = server.rpc(method, *params)
    assert reply["error"] is None, reply
    return _decoded(reply["result"])


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=60) as response:
        return response.read()


def _info(server: LiveServer) -> dict:
    info = _result(server, "get_server_info")
    keys = ("latest_context", "operational_context", "edit_context", "versions_context",
            "build_context", "bad_files_list", "mappings", "context_history", "observatory")
    return {key: info[key] for key in keys} | {"download_metadata": _decoded(info["download_metadata"])}


def _same_reads(source: LiveServer, replica: LiveServer) -> None:
    """Every read the client makes answers on the replica as on the source."""
    assert _info(replica) == _info(source)
    assert _result(replica, "get_context_history", "hst") == _result(source, "get_context_history", "hst")
    assert _result(replica, "get_file_info_map", "hst", None, None) == \
        _result(source, "get_file_info_map", "hst", None, None)
    latest = _result(source, "get_default_context", "hst", "latest")
    assert _result(replica, "get_mapping_names", latest) == _result(source, "get_mapping_names", latest)
    ids = _result(source, "get_dataset_ids", latest, "acs", None)[:3]
    headers = _result(source, "get_dataset_headers_by_id", latest, ids, None)
    for header in headers.values():
        assert _result(replica, "get_best_references", latest, header, None) == \
            _result(source, "get_best_references", latest, header, None)


def _same_downloads(source: LiveServer, replica: LiveServer) -> int:
    metadata = _info(source)["download_metadata"]
    for name in metadata:
        kind = "mappings" if name.endswith("map") else "references"
        path = f"/unchecked_get/{kind}/hst/{name}"
        assert _get(replica.url + path) == _get(source.url + path), name
    return len(metadata)


def _own_datasets(source: LiveServer, replica_home: Path) -> None:
    """The replica's own archive parameters (here: the source's ACS ones, read through RPC)."""
    ids = _result(source, "get_dataset_ids", "hst_0001.pmap", "acs", None)
    headers = _result(source, "get_dataset_headers_by_id", "hst_0001.pmap", ids, None)
    lines = replica_home / "datasets.jsonl"
    lines.write_text("".join(json.dumps({"id": i, "instrument": "ACS", "header": h}) + "\n"
                             for i, h in headers.items()))
    manage(replica_home, "hst", "import-datasets", str(lines))


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    source_home = tmp_path_factory.mktemp("replica-source")
    replica_home = tmp_path_factory.mktemp("replica-target")
    manage(source_home, "hst", "demo", "--observatory", "hst", "--datasets", "20")
    manage(source_home, "hst", "set-context", "hst_0001.pmap", "--kind", "build", "--calver", "1.2.0",
           "--reason", "Build of 1.2.0")
    manage(source_home, "hst", "mark-bad", BAD, "--reason", "Wrong bias", "--force")
    manage(replica_home, "hst", "init", "--observatory", "hst", "--usecase", "test")
    source = LiveServer(source_home, "hst").start()
    _own_datasets(source, replica_home)
    replica = LiveServer(replica_home, "hst").start()
    yield source, replica
    replica.stop()
    source.stop()


def test_a_first_catch_up_makes_every_read_and_download_answer_as_the_source(servers):
    source, replica = servers
    assert _result(replica, "get_server_info")["latest_context"] == ""  # empty until the catch-up commits
    out = manage(replica.home, "hst", "replicate", source.url, "--workers", "4")
    assert f"Caught up with {source.url}" in out and "latest context hst_0001.pmap" in out
    _same_reads(source, replica)
    assert BAD in _info(replica)["bad_files_list"] and "hst_0001.pmap" in _info(replica)["bad_files_list"]
    assert _same_downloads(source, replica) > 400
    assert "consistent" in manage(replica.home, "hst", "check")
    home = _get(replica.url + "/").decode()
    assert f"Read-only replica of <a href=\"{source.url}\">{source.url}</a>, last caught up 20" in home


def test_a_follow_run_with_nothing_new_downloads_nothing(servers):
    source, replica = servers
    out = manage(replica.home, "hst", "replicate", source.url)
    assert f"Nothing new on {source.url} (latest context hst_0001.pmap): 0 files downloaded" in out


def test_a_new_latest_context_comes_over_in_one_follow_run_and_starts_the_affected_run(servers):
    source, replica = servers
    env = server_env(source.home, "hst", DJANGO_SETTINGS_MODULE="crds_server.settings",
                     PYTHONPATH=str(BIN.parents[1]))
    done = subprocess.run([str(BIN / "python"), "-c", DERIVE], env=env, capture_output=True,
                          text=True, timeout=300, cwd=str(BIN.parents[1]))
    assert done.returncode == 0, done.stderr
    new = done.stdout.split()[-1]
    # A context naming a bad file never becomes latest: the WFPC2 bias rules are cleared first,
    # and the replica must follow the cleared flags too.
    manage(source.home, "hst", "mark-bad", BAD, "--ok", "--reason", "Bias rules fine after all")
    manage(source.home, "hst", "set-context", new, "--kind", "latest", "--reason", "Dropped one dark",
           "--force")
    out = manage(replica.home, "hst", "replicate", source.url)
    assert BAD not in _info(replica)["bad_files_list"]
    assert "3 files downloaded" in out and f"latest -> {new}" in out
    assert f"Affected-datasets run hst_0001.pmap -> {new} started" in out
    _same_reads(source, replica)
    _same_downloads(source, replica)
    # Planned on the replica's own datasets, its chunks queued for the replica's job consumer.
    assert f"hst_0001.pmap -> {new}: running, chunks 0/1 done" in manage(replica.home, "hst", "affected")


def test_a_replica_of_the_last_context_only_holds_its_rules_and_references(servers, tmp_path):
    source, _ = servers
    new = _result(source, "get_default_context", "hst", "latest")
    for kind in ("edit", "versions"):
        manage(source.home, "hst", "set-context", new, "--kind", kind, "--reason", "Move on")
    manage(source.home, "hst", "set-context", new, "--kind", "build", "--calver", "1.3.0",
           "--reason", "Build of 1.3.0")
    home = tmp_path / "last-context"
    home.mkdir()
    manage(home, "hst", "init", "--observatory", "hst", "--usecase", "test")
    manage(home, "hst", "replicate", source.url, "--contexts", "1", "--workers", "2")
    small = LiveServer(home, "hst").start()
    try:
        named = set(_result(source, "get_mapping_names", new))
        named |= set(_result(source, "get_reference_names", new))
        catalog = _result(source, "get_file_info_map", "hst", None, None)
        partners = {n[:-1] + "d" for n in named if n[-4:-2] == ".r" and n[-1] == "h"} & set(catalog)
        kept = _result(small, "get_file_info_map", "hst", None, None)
        assert set(kept) == named | partners and "hst_0001.pmap" not in kept
        assert all(kept[name] == catalog[name] for name in kept)
        assert _info(small)["build_context"] == new == _info(small)["latest_context"]
        for name in kept:
            kind = "mappings" if name.endswith("map") else "references"
            path = f"/unchecked_get/{kind}/hst/{name}"
            assert _get(small.url + path) == _get(source.url + path), name
    finally:
        small.stop()


def test_a_replica_refuses_context_changes_and_bad_marks_naming_its_source(servers):
    source, replica = servers
    for command in (["set-context", "hst_0001.pmap", "--kind", "edit", "--reason", "Back"],
                    ["mark-bad", "hst_acs_0001.imap", "--reason", "No"]):
        with pytest.raises(RuntimeError, match=f"read-only replica of {source.url}"):
            manage(replica.home, "hst", *command)


def test_a_replica_refuses_a_crds_submit_naming_its_source(servers, tmp_path):
    source, replica = servers
    token = subprocess.run([str(BIN / "crds-server"), "shell", "-c", TOKEN_CODE],
                           env=server_env(replica.home, "hst"), capture_output=True, text=True, check=True)
    replica.token = token.stdout.strip().splitlines()[-1]
    before = _info(replica)
    done = _submit(replica, tmp_path, _a_new_bias(replica, tmp_path, "new_bias.fits"))
    assert done.returncode != 0
    assert f"read-only replica of {source.url}" in done.stdout + done.stderr
    assert _info(replica) == before


def test_with_the_source_stopped_the_replica_keeps_answering_and_the_run_fails_clearly(servers):
    source, replica = servers
    before = (_info(replica), _result(replica, "get_file_info_map", "hst", None, None))
    source.stop()
    with pytest.raises(RuntimeError, match=f"{source.url} did not answer get_server_info.*"
                                           f"This replica was not changed"):
        manage(replica.home, "hst", "replicate", source.url, "--timeout", "5")
    assert (_info(replica), _result(replica, "get_file_info_map", "hst", None, None)) == before
    home = _get(replica.url + "/").decode()
    assert "the last attempt" in home and "failed" in home
