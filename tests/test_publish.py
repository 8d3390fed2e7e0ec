"""Publishing a CRDS cache elsewhere on disk: complete, atomic, resumable after a failure."""

from __future__ import annotations

import ast
import errno
import io

import pytest
from django.core.management import CommandError, call_command

from crds_server.catalog.models import AuditEntry, File
from crds_server.ops import publish
from tests.builders import CatalogBuilder
from tests.test_affected import forget_derived
from tests.web_helpers import derive_context


def _published_names(target, kind):
    return {p.name for p in (target / kind / "hst").iterdir() if not p.name.startswith(".")}


def test_it_publishes_every_distributable_file_and_the_config(demo_catalog, tmp_path):
    report = publish.publish(tmp_path)
    rows = File.objects.distributable()
    assert _published_names(tmp_path, "mappings") == set(rows.mappings().values_list("name", flat=True))
    assert _published_names(tmp_path, "references") == set(rows.references().values_list("name", flat=True))
    config = ast.literal_eval((tmp_path / "config/hst/server_config").read_text())
    assert config["latest_context"] == demo_catalog.context
    assert (tmp_path / "config/hst/bad_files.txt").exists()
    assert report.linked == report.mappings + report.references  # same file system: hard links
    assert publish.publish(tmp_path).references == 0  # nothing new the second time


def test_copies_are_used_when_links_are_not(demo_catalog, tmp_path):
    report = publish.publish(tmp_path, hard_links=False)
    assert report.copied > 0 and report.linked == 0


def test_a_full_disk_leaves_the_previous_consistent_state(demo_catalog, settings, tmp_path, monkeypatch):
    publish.publish(tmp_path)
    before = (tmp_path / "config/hst/server_config").read_text()
    names = derive_context(CatalogBuilder(settings), demo_catalog.context, "acs", "darkfile")
    from crds_server.catalog.actions import set_context
    set_context("operator", names["pmap"], "latest", "new dark rules")

    def full(source, temp):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(publish, "_copy", full)
    with pytest.raises(OSError):
        publish.publish(tmp_path, hard_links=False)
    assert (tmp_path / "config/hst/server_config").read_text() == before
    assert not [p for p in (tmp_path / "mappings/hst").iterdir() if p.name.startswith(".publish")]
    monkeypatch.undo()
    publish.publish(tmp_path, hard_links=False)
    config = ast.literal_eval((tmp_path / "config/hst/server_config").read_text())
    assert config["latest_context"] == names["pmap"]
    assert (tmp_path / "mappings/hst" / names["pmap"]).exists()
    forget_derived(settings, names)


def test_the_publish_command_reports_and_refuses_without_a_target(demo_catalog, tmp_path, settings):
    out = io.StringIO()
    call_command("publish", "--to", str(tmp_path), stdout=out)
    assert "Published to" in out.getvalue()
    settings.PUBLISH_DIR = ""
    with pytest.raises(CommandError):
        call_command("publish")


def test_the_periodic_publish_runs_only_when_configured_and_reports_failures(
        demo_catalog, tmp_path, settings, monkeypatch, mailoutbox):
    from crds_server.jobs.engine import LeaseHeld, held
    from crds_server.ops import tasks

    settings.PUBLISH_DIR = ""
    assert tasks.publish_cache.call_local() is None
    settings.PUBLISH_DIR = str(tmp_path)
    assert "Published to" in tasks.publish_cache.call_local()
    settings.NOTIFY_LIST = ["ops@example.org"]
    monkeypatch.setattr(publish, "publish", lambda target: (_ for _ in ()).throw(OSError("disk gone")))
    assert tasks.publish_cache.call_local() is None
    assert AuditEntry.objects.filter(action="job failed", why="publish").exists()
    assert "failed" in mailoutbox[-1].subject
    with held("publish-cache"), pytest.raises(LeaseHeld):
        tasks.publish_cache.call_local()
