"""The nightly report: configuration, disk usage, store consistency, pending work, mailed."""

from __future__ import annotations

import io

from django.core.management import call_command

from crds_server.catalog.models import File
from crds_server.ops import nightly


def test_a_consistent_server_reports_ok_with_every_section(demo_catalog):
    ok, text = nightly.nightly(sha1_sample=20)
    # Other test modules leave files in the shared store (orphans here), so `ok` is not asserted.
    assert "missing:" not in text and "wrong size" not in text and "wrong sha1" not in text
    for title in ("Configuration", "Disk usage", "Cache consistency", "Pending work"):
        assert title in text
    assert demo_catalog.context in text and "consistent" in text


def test_a_missing_file_and_an_orphan_are_reported(demo_catalog):
    victim = File.objects.references().first()
    path = victim.store_path()
    moved = path.with_name(".moved-" + path.name)
    path.rename(moved)
    orphan = path.parent / "stray_file.fits"
    orphan.write_bytes(b"x")
    try:
        ok, text = nightly.nightly()
        assert not ok
        assert f"missing: {victim.name}" in text and "stray_file.fits" in text
    finally:
        orphan.unlink()
        moved.rename(path)


def test_the_nightly_command_mails_the_report(demo_catalog, settings, mailoutbox):
    settings.NOTIFY_LIST = ["ops@example.org"]
    out = io.StringIO()
    call_command("nightly", "--sample", "5", stdout=out)
    assert "Cache consistency" in out.getvalue()
    assert mailoutbox[-1].to == ["ops@example.org"] and "nightly checks" in mailoutbox[-1].subject


def test_the_nightly_task_runs_at_three(demo_catalog, settings, mailoutbox):
    from crds_server.ops import tasks

    settings.NOTIFY_LIST = ["ops@example.org"]
    assert tasks.nightly_checks.call_local() in (True, False)  # None would mean it failed
    assert "Operations report" in mailoutbox[-1].subject
