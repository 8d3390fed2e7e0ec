"""Backup, restore and the consistency check, in process on a server store of their own."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from crds_server.catalog import actions as catalog_actions
from crds_server.catalog import contexts, versioning
from crds_server.catalog.importer import import_cache
from crds_server.catalog.models import File
from crds_server.lib import maintenance
from crds_server.ops import check
from crds_server.ops.backup import BackupError, create_backup
from crds_server.ops.restore import restore
from tests.servers import restore_crds_path, saved_crds_path, store_listing, use_home


@pytest.fixture
def server(db, settings, tmp_path, demo_cache):
    """A server with the demo catalog imported, in its own data directory."""
    saved = saved_crds_path()
    home = use_home(settings, tmp_path / "home")
    import_cache(demo_cache.path, context=demo_cache.context, user="demo")
    yield home
    restore_crds_path(saved)


def snapshot() -> dict:
    """The catalog, accounts and deliveries as `dumpdata` writes them, the history and the store."""
    out = io.StringIO()
    call_command("dumpdata", "catalog", "auth.user", "deliveries", "--natural-foreign",
                 "--exclude", "catalog.catalogversion", stdout=out)
    from django.conf import settings

    return {"dump": json.loads(out.getvalue()), "history": contexts.history(),
            "store": store_listing(settings.HOME)}


def change_everything(catalog, context: str) -> None:
    """What happens on a server after a backup: new files, a new context, a bad file, a user."""
    catalog.add_file("added_after_backup.fits", b"new reference")
    catalog.add_derived_mapping(context, "hst_0099.pmap")
    catalog_actions.set_context("operator", "hst_0099.pmap", "latest", "after the backup")
    reference = File.objects.references().exclude(name="added_after_backup.fits").first()
    catalog_actions.mark_bad("operator", [reference.name], "bad after the backup", force=True)
    User.objects.create_user("newcomer")
    from django.conf import settings

    (settings.SERVER_FILES / "catalogs" / "hst_0099.cat").write_text("added_after_backup.fits\n")


def test_a_restore_gives_back_the_catalog_the_history_and_the_store(server, catalog, demo_cache):
    before = snapshot()
    backup = create_backup(server / "backups" / "one")
    manifest = json.loads((backup.path / "manifest.json").read_text())
    change_everything(catalog, demo_cache.context)
    version_after_changes = versioning.current()
    (server / "file_cache" / "pickles" / "hst" / "hst_0099.pmap.pkl").write_bytes(b"stale")

    report = restore(backup.path)

    assert report.check.ok, report.check.lines()
    assert snapshot() == before
    assert versioning.current() > max(version_after_changes, manifest["catalog_version"])
    assert report.left_maintenance and not maintenance.is_on()
    assert list((server / "file_cache" / "pickles" / "hst").iterdir()) == []
    quarantined = {p.relative_to(report.quarantine).as_posix() for p in report.quarantine.rglob("*.*")}
    assert {"references/added_after_backup.fits", "mappings/hst_0099.pmap",
            "catalogs/hst_0099.cat"} <= quarantined


def test_a_backup_holds_a_manifest_of_every_file_and_no_reference(server):
    backup = create_backup(server / "backups" / "one")
    manifest = json.loads((backup.path / "manifest.json").read_text())
    assert manifest["observatory"] == "hst" and manifest["usecase"] == "dev"
    assert {"database.json.gz", "config/settings.json", "config/requirements.txt"} <= set(manifest["files"])
    assert not any(name.startswith("references/") for name in manifest["files"])
    assert manifest["counts"]["references"] == File.objects.references().count() > 0
    assert len(manifest["catalog"]) == File.objects.count()
    assert not list((server / "backups").glob(".partial-*"))


def test_a_backup_refuses_an_existing_directory_and_a_dry_run_writes_nothing(server):
    (server / "backups" / "taken").mkdir()
    with pytest.raises(BackupError, match="already exists"):
        create_backup(server / "backups" / "taken")
    report = create_backup(server / "backups" / "dry", dry_run=True)
    assert report.counts["mappings"] > 0 and not (server / "backups" / "dry").exists()


def _changed_state(catalog) -> dict:
    catalog.add_file("added_after_backup.fits", b"new reference")
    return snapshot()


def test_a_truncated_backup_is_refused_before_anything_changes(server, catalog):
    backup = create_backup(server / "backups" / "one").path
    mapping = sorted((backup / "mappings").iterdir())[0]
    mapping.write_bytes(mapping.read_bytes()[:10])
    state = _changed_state(catalog)
    with pytest.raises(BackupError, match=f"mappings/{mapping.name} has 10 bytes"):
        restore(backup)
    assert snapshot() == state and not maintenance.is_on()


def test_a_backup_with_a_missing_file_or_no_manifest_is_refused(server, catalog):
    backup = create_backup(server / "backups" / "one").path
    (backup / "database.json.gz").unlink()
    with pytest.raises(BackupError, match="database.json.gz is missing"):
        restore(backup)
    (backup / "manifest.json").unlink()
    with pytest.raises(BackupError, match="not a whole backup"):
        restore(backup)


def test_a_backup_of_another_observatory_or_usecase_is_refused(server, catalog):
    backup = create_backup(server / "backups" / "one").path
    manifest_path = backup / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    state = _changed_state(catalog)
    manifest_path.write_text(json.dumps(dict(manifest, observatory="jwst")))
    with pytest.raises(BackupError, match="backup of a jwst server"):
        restore(backup)
    manifest_path.write_text(json.dumps(dict(manifest, usecase="ops")))
    with pytest.raises(BackupError, match="backup of a ops server; this server is dev"):
        restore(backup)
    assert snapshot() == state and not maintenance.is_on()


def test_a_dry_run_restore_lists_the_orphans_and_changes_nothing(server, catalog):
    backup = create_backup(server / "backups" / "one").path
    state = _changed_state(catalog)
    version = versioning.current()
    out = io.StringIO()
    call_command("restore", str(backup), "--dry-run", stdout=out)
    assert "would be quarantined (not catalogued in the backup)" in out.getvalue()
    assert "added_after_backup.fits" in out.getvalue()
    assert snapshot() == state and versioning.current() == version and not maintenance.is_on()


def test_the_backup_and_restore_commands_round_trip(server, catalog):
    out = io.StringIO()
    call_command("backup", "--output", str(server / "backups" / "cmd"), stdout=out)
    assert "Wrote backup" in out.getvalue()
    before = snapshot()
    catalog.add_file("added_after_backup.fits", b"new reference")
    out = io.StringIO()
    call_command("restore", str(server / "backups" / "cmd"), stdout=out)
    assert "Maintenance mode is off." in out.getvalue()
    assert snapshot() == before
    with pytest.raises(CommandError, match="not a whole backup"):
        call_command("restore", str(server / "backups"))


def test_a_restore_that_leaves_a_missing_reference_stays_in_maintenance(server):
    backup = create_backup(server / "backups" / "one").path
    reference = File.objects.references().distributable().first()
    reference.store_path().unlink()
    with pytest.raises(CommandError, match="stays in maintenance mode"):
        call_command("restore", str(backup), stdout=io.StringIO(), stderr=io.StringIO())
    assert maintenance.is_on()


def _replace(path: Path, content: bytes) -> None:
    """Write through a new inode: store files are hard links to the session's demo cache."""
    temp = path.with_name(".tmp-test")
    temp.write_bytes(content)
    os.replace(temp, path)


def test_check_finds_orphans_missing_short_and_corrupt_files(server):
    refs = list(File.objects.references().distributable().order_by("name")[:3])
    refs[0].store_path().unlink()
    _replace(refs[1].store_path(), b"short")
    _replace(refs[2].store_path(), b"x" * refs[2].size)
    orphan = server / "file_cache" / "references" / "hst" / "orphan_0001.fits"
    orphan.write_bytes(b"nobody's")
    report = check.check_store(sha1_sample=100000)
    assert report.missing == [refs[0].name]
    assert report.wrong_size[0].startswith(refs[1].name)
    assert report.wrong_sha1 == [refs[2].name]
    assert report.orphans == [orphan] and not report.ok


def test_check_repair_quarantines_orphans_and_reports_the_rest(server):
    orphan = server / "file_cache" / "mappings" / "hst" / "hst_orphan_0001.rmap"
    orphan.write_text("header = {}\n")
    out = io.StringIO()
    with pytest.raises(CommandError, match="disagree"):
        call_command("check", "--repair", "--dry-run", stdout=out)
    assert orphan.exists() and "1 orphans would be quarantined" in out.getvalue()
    call_command("check", "--repair", stdout=io.StringIO())
    assert not orphan.exists()
    assert list((server / "backups").glob("orphans-*/mappings/hst_orphan_0001.rmap"))
    File.objects.references().distributable().first().store_path().unlink()
    out = io.StringIO()
    with pytest.raises(CommandError, match="need an operator"):
        call_command("check", "--repair", stdout=out)
    assert "missing: " in out.getvalue()


def test_check_finds_a_missing_mapping_of_the_latest_context(server, demo_cache):
    imap = next((server / "file_cache" / "mappings" / "hst").glob("hst_acs_*.imap"))
    imap.unlink()
    report = check.check_store(sha1_sample=0)
    assert f"latest context {demo_cache.context} needs {imap.name} (not in the store)" in \
        report.context_problems
    out = io.StringIO()
    with pytest.raises(CommandError, match="disagree"):
        call_command("check", stdout=out)
    assert "context: latest context" in out.getvalue()


def test_the_backup_endpoint_refuses_without_a_token_and_streams_a_whole_backup(server, client, settings):
    from crds_server.ops.backup import extract_archive, verify

    settings.MIRROR_TOKEN = ""
    assert client.get("/backup/latest").status_code == 403
    settings.MIRROR_TOKEN = "secret"
    assert client.get("/backup/latest", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    response = client.get("/backup/latest", HTTP_AUTHORIZATION="Bearer secret")
    assert response.status_code == 200
    archive = server / "fetched.tar.gz"
    archive.write_bytes(b"".join(response.streaming_content))
    manifest = verify(extract_archive(archive, server / "unpacked"))
    assert manifest["counts"]["references"] == File.objects.references().count()
    assert not list((server / "backups").glob(".serve-*"))


def test_the_backup_command_dry_run_writes_nothing(server):
    out = io.StringIO()
    call_command("backup", "--output", str(server / "backups" / "dry"), "--dry-run", stdout=out)
    assert "Would write backup" in out.getvalue() and not (server / "backups" / "dry").exists()
