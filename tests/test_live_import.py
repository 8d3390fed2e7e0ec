"""Adopting a CRDS cache synced by the real client: `import-cache` takes its server's state whole.

The source is a live server of ours with a dated history of three contexts, a
build context, a rejected reference and a blacklisted rmap (spread to its imap
and every pmap).  The real `crds sync` writes two caches of it, one flat with
the catalog database (`--fetch-sqlite-db`) and one per instrument without it;
each is imported into a fresh server, which must answer as the source did.
"""

from __future__ import annotations

import base64
import gzip
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.live import BIN, LiveServer, manage, server_env

pytestmark = pytest.mark.live

# Run inside the source server: a new context (a new ACS dark rmap, imap and pmap) from the latest.
DERIVE = """
import django
django.setup()
from django.conf import settings
from tests.builders import CatalogBuilder
from tests.web_helpers import derive_context
print(derive_context(CatalogBuilder(settings), "hst_0003.pmap", "acs", "darkfile", "0009")["pmap"])
"""

BLACKLISTED = "hst_wfpc2_biasfile_0001.rmap"
POINTERS = ("latest_context", "operational_context", "edit_context", "versions_context",
            "build_context", "bad_files_list", "mappings", "context_history", "observatory")
# What a cache without the catalog database carries of each record (the rest is the source's
# own bookkeeping: who delivered it, from which upload, with which comment).
CARRIED = ("name", "type", "observatory", "instrument", "filekind", "state", "rejected", "blacklisted",
           "size", "sha1sum", "activation_date", "useafter_date", "pedigree", "reference_file_type")


def _result(server: LiveServer, method: str, *params):
    reply = server.rpc(method, *params)
    if reply["error"] is not None:
        return {"error": reply["error"]["message"] if isinstance(reply["error"], dict) else reply["error"]}
    result = reply["result"]
    if isinstance(result, dict) and "crds_payload" in result:
        return json.loads(gzip.decompress(base64.b64decode(result["crds_payload"])))
    return result


def _answers(server: LiveServer) -> dict:
    """Everything the comparison reads from one server."""
    info = _result(server, "get_server_info")
    history = _result(server, "get_context_history", "hst")
    dates = ["2000-01-01 00:00:00"] + [date for date, _, _ in history] + \
        [f"{date[:10]} 23:59:59" for date, _, _ in history]
    return {
        "info": {key: info[key] for key in POINTERS},
        "download_metadata": json.loads(gzip.decompress(base64.b64decode(
            info["download_metadata"]["crds_payload"]))),
        "history": history,
        "files": _result(server, "get_file_info_map", "hst", None, None),
        "by_date": {spec: _result(server, "get_context_by_date", spec, "hst")
                    for date in dates for spec in (f"hst-{date.replace(' ', 'T')}", f"hst-acs-{date[:10]}")},
        "closures": {pmap: _result(server, "get_mapping_names", pmap) for _, pmap, _ in history},
    }


def _sync(source: LiveServer, cache: Path, *args: str) -> None:
    done = source.crds(cache, "sync", *args)
    assert done.returncode == 0 and "0 errors" in done.stderr, done.stderr[-2000:]


def _adopt(cache: Path, home: Path) -> str:
    """A fresh server at `home` importing `cache`; the command's output."""
    home.mkdir(exist_ok=True)
    manage(home, "hst", "init", "--observatory", "hst", "--usecase", "test")
    return manage(home, "hst", "import-cache", str(cache), "--verbosity", "0")


def _served(home: Path) -> dict:
    server = LiveServer(home, "hst").start()
    try:
        return _answers(server)
    finally:
        server.stop()


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    home = tmp_path_factory.mktemp("import-source")
    manage(home, "hst", "demo", "--story", "--observatory", "hst", "--datasets", "10")
    manage(home, "hst", "set-context", "hst_0002.pmap", "--kind", "build", "--calver", "1.2.0",
           "--reason", "Build of 1.2.0")
    manage(home, "hst", "mark-bad", BLACKLISTED, "--reason", "Wrong bias", "--force")
    server = LiveServer(home, "hst").start()
    caches = tmp_path_factory.mktemp("import-caches")
    flat, nested = caches / "flat", caches / "nested"
    (flat / "config" / "hst").mkdir(parents=True)
    (flat / "config" / "hst" / "ref_cache_subdir_mode").write_text("flat")
    _sync(server, flat, "--all", "--fetch-references")
    _sync(server, flat, "--fetch-sqlite-db")
    _sync(server, nested, "--all", "--fetch-references")
    yield server, flat, nested
    server.stop()


def test_a_flat_sync_with_its_catalog_database_answers_every_read_as_the_source(source, tmp_path):
    server, flat, _ = source
    assert not any(p.is_dir() for p in (flat / "references" / "hst").iterdir())
    out = _adopt(flat, tmp_path / "adopted")
    assert "(0 already present; flat layout)" in out and "3 history eras added" in out
    assert "build contexts {'0': 'hst_0002.pmap'}" in out and "Note:" not in out
    theirs, ours = _answers(server), _served(tmp_path / "adopted")
    assert len(theirs["files"]) > 400 and len(theirs["history"]) == 3
    assert {"hst_0001.pmap", BLACKLISTED, "hst_wfpc2_0001.imap"} <= set(theirs["info"]["bad_files_list"])
    assert any("error" in str(answer) for answer in theirs["by_date"].values())  # before the history
    assert ours == theirs  # every field of every record, pointers, history, date specs, closures


def test_a_per_instrument_sync_without_the_database_keeps_state_flags_and_dates(source, tmp_path):
    server, _, nested = source
    assert (nested / "references" / "hst" / "acs").is_dir()
    out = _adopt(nested, tmp_path / "adopted")
    assert "instrument layout" in out and "3 history eras added" in out
    # The blacklist's root rmap carries both flags, the mappings it spread to only `blacklisted`,
    # the story's bad reference `rejected`: inferred from the bad files list as marking them did.
    assert "6 files flagged bad" in out
    theirs, ours = _answers(server), _served(tmp_path / "adopted")
    ours_files, theirs_files = ours.pop("files"), theirs.pop("files")
    assert ours == theirs
    assert set(ours_files) == set(theirs_files)
    carried = {n: {f: r[f] for f in CARRIED} for n, r in theirs_files.items()}
    assert {n: {f: r[f] for f in CARRIED} for n, r in ours_files.items()} == carried
    assert theirs_files[BLACKLISTED]["rejected"] == ours_files[BLACKLISTED]["rejected"] == "true"
    assert ours_files["hst_0003.pmap"]["state"] == "latest"


def test_a_newer_sync_adds_only_what_is_new_and_an_older_one_is_refused(source, tmp_path):
    server, _, nested = source
    cache = tmp_path / "cache"
    shutil.copytree(nested, cache, symlinks=True)
    older = tmp_path / "older"
    shutil.copytree(nested, older, symlinks=True)
    home = tmp_path / "adopted"
    _adopt(cache, home)
    before = _served(home)
    # On the source: the bias rules are cleared, a new context is derived and made latest.
    env = server_env(server.home, "hst", DJANGO_SETTINGS_MODULE="crds_server.settings",
                     PYTHONPATH=str(BIN.parents[1]))
    done = subprocess.run([str(BIN / "python"), "-c", DERIVE],
                          env=env, capture_output=True, text=True, timeout=300, cwd=str(BIN.parents[1]))
    assert done.returncode == 0, done.stderr
    new = done.stdout.split()[-1]
    manage(server.home, "hst", "mark-bad", BLACKLISTED, "--ok", "--reason", "Bias rules fine")
    manage(server.home, "hst", "set-context", new, "--kind", "latest", "--reason", "Newer darks", "--force")
    _sync(server, cache, "--all", "--fetch-references")
    out = manage(home, "hst", "import-cache", str(cache), "--verbosity", "0")
    assert re.search(r"Imported 3 mappings and 0 references \(\d+ already present", out)
    assert "1 history eras added" in out
    assert f"latest -> {new}" in out and "0 files flagged bad" in out
    # A flag the source cleared stays here until an operator clears it: imports only add.
    assert "files are bad here but not in the cache's bad list" in out and BLACKLISTED in out
    theirs, ours = _answers(server), _served(home)
    assert ours["history"] == theirs["history"] and ours["info"]["latest_context"] == new
    assert ours["download_metadata"] == theirs["download_metadata"]
    kept = {n: r for n, r in ours["files"].items() if n in before["files"]}
    moved = {n for n in kept if kept[n] != before["files"][n]}
    assert moved == {"hst_0003.pmap"} and kept["hst_0003.pmap"]["state"] == "archived"  # no longer latest
    with pytest.raises(RuntimeError, match="before the cache imported on .* would move the contexts back"):
        manage(home, "hst", "import-cache", str(older), "--verbosity", "0")
    assert _served(home) == ours
