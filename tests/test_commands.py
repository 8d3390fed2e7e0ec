"""Every project command, run as an operator would."""

from __future__ import annotations

import json
import signal
import subprocess
import time
import urllib.request

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from crds_server.catalog import contexts
from crds_server.catalog.models import ContextHistory, File
from crds_server.datasets.models import Dataset
from tests.live import BIN, LiveServer, manage, server_env


def test_init_creates_the_data_tree_and_is_idempotent(db, capsys):
    call_command("init", "--observatory", "hst", "--usecase", "dev")
    call_command("init", "--observatory", "hst", "--usecase", "dev")
    home = settings.HOME
    for sub in ("file_cache/mappings/hst", "file_cache/references/hst", "file_cache/pickles/hst",
                "server_files/deliveries", "server_files/ingest", "backups", "logs", "run"):
        assert (home / sub).is_dir(), sub
    assert json.loads((home / "server.json").read_text()) == {"observatory": "hst", "usecase": "dev"}
    assert "Initialised hst/dev" in capsys.readouterr().out


def test_init_records_the_public_url_keeps_it_on_later_inits_and_refuses_a_bad_one(db):
    call_command("init", "--observatory", "hst", "--public-url", "https://hst-crds.example.org/")
    call_command("init", "--observatory", "hst")
    identity = json.loads((settings.HOME / "server.json").read_text())
    assert identity == {"observatory": "hst", "usecase": "dev", "public_url": "https://hst-crds.example.org"}
    with pytest.raises(CommandError, match="not an http"):
        call_command("init", "--observatory", "hst", "--public-url", "ftp://example.org")
    assert json.loads((settings.HOME / "server.json").read_text()) == identity


def test_init_refuses_a_home_that_serves_another_usecase(db):
    call_command("init", "--observatory", "hst", "--usecase", "dev")
    with pytest.raises(CommandError, match="already serves hst/dev"):
        call_command("init", "--observatory", "hst", "--usecase", "ops")


def test_import_cache_reports_what_it_added(db, demo_cache, capsys):
    call_command("import_cache", str(demo_cache.path), "--verbosity", "0")
    out = capsys.readouterr().out
    assert f"latest context: {demo_cache.context}" in out and "latest -> " in out
    assert "Note: The cache has no config/hst/server_config" in out  # a bare cache is imported as files
    assert File.objects.mappings().count() > 100


def test_import_cache_fails_cleanly_on_a_missing_directory(db, tmp_path):
    with pytest.raises(CommandError, match="is not a directory"):
        call_command("import_cache", str(tmp_path / "nope"))


def test_import_datasets_loads_json_lines_and_replaces_on_reimport(db, demo_cache, capsys):
    call_command("import_datasets", str(demo_cache.datasets_file))
    call_command("import_datasets", str(demo_cache.datasets_file))
    assert Dataset.objects.count() == len(demo_cache.datasets)
    assert f"Loaded {len(demo_cache.datasets)} datasets" in capsys.readouterr().out


def test_import_datasets_names_the_bad_line(db, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "A:B", "instrument": "ACS", "header": {"INSTRUME": "ACS"}}\nnot json\n')
    with pytest.raises(CommandError, match="bad.jsonl:2"):
        call_command("import_datasets", str(bad))
    assert Dataset.objects.count() == 0


def test_set_context_moves_latest_and_appends_history(demo_catalog, catalog, capsys):
    catalog.add_derived_mapping(demo_catalog.context, "hst_0002.pmap")
    call_command("set_context", "hst_0002.pmap", "--kind", "latest", "--reason", "New darks")
    assert contexts.pointer("latest") == "hst_0002.pmap"
    assert ContextHistory.objects.order_by("-start_date", "-id").first().description == "New darks"
    assert "latest context changed" in capsys.readouterr().out


def test_set_context_refuses_an_unknown_context(demo_catalog):
    with pytest.raises(CommandError, match="Unknown context"):
        call_command("set_context", "hst_9999.pmap", "--kind", "latest", "--reason", "x")


def test_set_context_build_needs_a_calibration_version(demo_catalog):
    with pytest.raises(CommandError, match="calver"):
        call_command("set_context", demo_catalog.context, "--kind", "build", "--reason", "x")
    call_command("set_context", demo_catalog.context, "--kind", "build", "--reason", "x",
                 "--calver", "1.2.3")
    assert contexts.build_context("1.2.9") == demo_catalog.context


@pytest.mark.live
def test_demo_then_run_serves_until_sigterm_stops_both_processes(tmp_path):
    out = manage(tmp_path, "hst", "demo", "--observatory", "hst", "--datasets", "5")
    assert "Demo hst server ready" in out
    assert "user 'demo-submitter'" in out and "user 'demo-operator'" in out
    server = LiveServer(tmp_path, "hst")
    (tmp_path / "logs").mkdir(exist_ok=True)
    process = subprocess.Popen(
        [str(BIN / "crds-server"), "run", "--bind", f"127.0.0.1:{server.port}", "--workers", "1"],
        env=server_env(tmp_path, "hst", CRDS_SERVER_PUBLIC_URL=server.url),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    server.process = process
    server._wait()
    info = server.rpc("get_server_info")["result"]
    assert info["latest_context"] == "hst_0001.pmap"
    assert info["mapping_url"]["unchecked"]["hst"].startswith(server.url)
    children = subprocess.run(["pgrep", "-P", str(process.pid)], capture_output=True, text=True)
    assert len(children.stdout.split()) == 2  # gunicorn and the job consumer
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0
    time.sleep(0.5)
    for pid in children.stdout.split():
        assert subprocess.run(["kill", "-0", pid], capture_output=True).returncode != 0
    with pytest.raises(OSError):
        urllib.request.urlopen(server.url + "/health", timeout=2)
