"""Deliveries to the archive: links, catalogs, numbering and the archive naming protocol."""

from __future__ import annotations

import datetime
import errno
import logging
import os

import pytest

from crds_server.catalog import versioning
from crds_server.catalog.models import AuditEntry, File
from crds_server.deliveries import actions
from crds_server.deliveries.errors import (
    DeliveryAreaMissing,
    DeliveryInProgress,
    UndeliverableFiles,
    UnknownDelivery,
)
from crds_server.deliveries.models import Delivery

NAMES = ["delivery_a_drk.fits", "delivery_b_bia.fits"]


@pytest.fixture
def area(settings, tmp_path):
    """A fresh server_files tree for this test (the file store is shared by the session)."""
    settings.SERVER_FILES = tmp_path / "server_files"
    (settings.SERVER_FILES / "deliveries").mkdir(parents=True)
    return settings.SERVER_FILES


@pytest.fixture
def confirmed(catalog):
    """Files confirmed by a submission, not yet delivered (`uploaded`)."""
    for name in NAMES:
        catalog.add_file(name, f"bytes of {name}".encode(), state="uploaded")
    return NAMES


def _states(names=NAMES) -> set[str]:
    return set(File.objects.filter(name__in=names).values_list("state", flat=True))


def _watch_each_step(steps: int, fail: bool = False) -> list[tuple[str, str, str]]:
    changes = []
    for _ in range(steps):
        actions.simulate_archive(fail=fail)
        changes += actions.watch()
    return changes


def test_deliver_hard_links_each_file_to_its_store_copy(area, confirmed):
    actions.deliver(confirmed, "tester")
    for row in File.objects.filter(name__in=confirmed):
        linked = area / "deliveries" / row.name
        assert os.path.samefile(linked, row.store_path())
        assert linked.stat().st_nlink >= 2


def test_the_catalog_lists_the_files_and_is_linked_to_its_permanent_twin(area, confirmed, settings):
    delivery = actions.deliver(confirmed, "tester", "sub-1")
    assert delivery.catalog == f"{settings.OBSERVATORY}_0001.cat"
    permanent = area / "catalogs" / delivery.catalog
    assert permanent.read_text() == "delivery_a_drk.fits\ndelivery_b_bia.fits\n"
    assert os.path.samefile(permanent, area / "deliveries" / delivery.catalog)
    assert (delivery.files, delivery.user, delivery.submission) == (confirmed, "tester", "sub-1")
    assert not [p for p in area.rglob(".tmp-*")]


def test_deliveries_take_the_next_free_number(area, catalog, settings):
    for name in ("n1.fits", "n2.fits", "n3.fits"):
        catalog.add_file(name, state="uploaded")
    first = actions.deliver(["n1.fits"], "tester")
    (area / "catalogs" / f"{settings.OBSERVATORY}_0002.cat").write_text("restored.fits\n")
    second = actions.deliver(["n2.fits"], "tester")
    third = actions.deliver(["n3.fits"], "tester")
    assert [first.number, second.number, third.number] == [1, 3, 4]


def test_the_catalog_appears_only_after_every_file_it_lists(area, confirmed, monkeypatch):
    link = actions._link
    seen_when_catalog_appeared = []

    def spy(source, target):
        if target.name.endswith(".cat"):
            seen_when_catalog_appeared.extend(p.name for p in target.parent.iterdir())
        return link(source, target)

    monkeypatch.setattr(actions, "_link", spy)
    actions.deliver(confirmed, "tester")
    assert set(confirmed) <= set(seen_when_catalog_appeared)


def test_deliver_moves_the_files_to_delivered_bumps_the_version_and_audits(area, confirmed):
    before = versioning.current()
    delivery = actions.deliver(confirmed, "tester")
    assert _states() == {"delivered"}
    assert versioning.current() > before
    assert File.objects.get(name=confirmed[0]).catalog_link.endswith(delivery.catalog)
    entry = AuditEntry.objects.get(action="deliver")
    assert (entry.user, entry.filename) == ("tester", delivery.catalog)


def test_a_file_is_delivered_once_only(area, confirmed):
    actions.deliver(confirmed, "tester")
    with pytest.raises(UndeliverableFiles, match="state delivered"):
        actions.deliver(confirmed, "tester")
    assert Delivery.objects.count() == 1


def test_files_the_confirm_step_marked_delivered_are_delivered_once(area, catalog):
    catalog.add_file("confirmed.fits", state="delivered")
    actions.deliver(["confirmed.fits"], "tester")
    assert _states(["confirmed.fits"]) == {"delivered"}
    assert File.objects.get(name="confirmed.fits").catalog_link
    with pytest.raises(UndeliverableFiles):
        actions.deliver(["confirmed.fits"], "tester")


def test_deliver_refuses_unknown_or_missing_files_and_leaves_nothing_behind(area, confirmed):
    File.objects.filter(name=confirmed[1]).first().store_path().unlink()
    with pytest.raises(UndeliverableFiles) as error:
        actions.deliver([*confirmed, "nobody.fits"], "tester")
    assert "nobody.fits" in str(error.value) and "not in the file store" in str(error.value)
    assert Delivery.objects.count() == 0 and _states() == {"uploaded"}
    assert os.listdir(area / "deliveries") == [] and not (area / "catalogs").exists()


def test_a_failure_midway_removes_the_links_and_the_catalog(area, confirmed, monkeypatch):
    link = actions._link

    def failing(source, target):
        if target.name == confirmed[1]:
            raise OSError(errno.EIO, "disk trouble")
        return link(source, target)

    monkeypatch.setattr(actions, "_link", failing)
    with pytest.raises(OSError, match="disk trouble"):
        actions.deliver(confirmed, "tester")
    assert os.listdir(area / "deliveries") == [] and os.listdir(area / "catalogs") == []
    assert Delivery.objects.count() == 0 and _states() == {"uploaded"}


def test_deliver_copies_when_linking_is_impossible_and_logs_it(area, confirmed, monkeypatch, caplog):
    def cross_device(source, target):
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(actions.os, "link", cross_device)
    with caplog.at_level(logging.WARNING, logger="crds_server.deliveries.actions"):
        delivery = actions.deliver(confirmed, "tester")
    copy = area / "deliveries" / confirmed[0]
    assert copy.read_bytes() == f"bytes of {confirmed[0]}".encode()
    assert not os.path.samefile(copy, File.objects.get(name=confirmed[0]).store_path())
    assert (area / "deliveries" / delivery.catalog).exists()
    assert "copying" in caplog.text


def test_the_archive_protocol_moves_delivery_and_files_through_to_archived(area, confirmed):
    delivery = actions.deliver(confirmed, "tester")
    seen = []
    for _ in range(3):
        actions.simulate_archive()
        assert len(actions.watch()) == 1
        delivery.refresh_from_db()
        seen.append((delivery.state, _states()))
    assert seen == [("submitted", {"submitted"}), ("archiving", {"archiving"}),
                    ("archived", {"archived"})]
    assert os.listdir(area / "deliveries") == []
    assert (area / "catalogs" / delivery.catalog).exists()


def test_watch_follows_a_jump_straight_to_archived(area, confirmed):
    actions.deliver(confirmed, "tester")
    for _ in range(3):
        actions.simulate_archive()
    assert actions.watch() == [("hst_0001.cat", "delivered", "archived")]
    assert _states() == {"archived"}


def test_a_failed_archive_moves_the_delivery_and_files_to_archiving_failed(area, confirmed):
    actions.deliver(confirmed, "tester")
    changes = _watch_each_step(3, fail=True)
    assert changes[-1] == ("hst_0001.cat", "archiving", "archiving-failed")
    assert _states() == {"archiving-failed"}
    assert (area / "deliveries" / "hst_0001.cat_failed").exists()
    assert _watch_each_step(2, fail=True) == []  # final: it stays failed


def test_watch_is_idempotent_and_never_moves_a_state_backwards(area, confirmed):
    actions.deliver(confirmed, "tester")
    _watch_each_step(2)
    assert actions.watch() == []
    deliveries = area / "deliveries"
    os.rename(deliveries / "hst_0001.cat_archiving", deliveries / "hst_0001.cat")
    audits = AuditEntry.objects.count()
    assert actions.watch() == []
    assert Delivery.objects.get().state == "archiving" and _states() == {"archiving"}
    assert AuditEntry.objects.count() == audits


def test_watch_leaves_files_that_moved_on_in_the_catalog_alone(area, confirmed):
    actions.deliver(confirmed, "tester")
    File.objects.filter(name=confirmed[0]).update(state="bad")
    _watch_each_step(3)
    assert File.objects.get(name=confirmed[0]).state == "bad"
    assert File.objects.get(name=confirmed[1]).state == "archived"


def test_watch_refuses_to_read_a_missing_deliveries_directory_as_archived(area, confirmed):
    actions.deliver(confirmed, "tester")
    os.rename(area / "deliveries", area / "unmounted")
    with pytest.raises(DeliveryAreaMissing):
        actions.watch()
    assert Delivery.objects.get().state == "delivered"


def test_watch_audits_each_move_and_tells_the_deliverer_when_archived(area, confirmed,
                                                                      django_user_model, mailoutbox):
    django_user_model.objects.create_user("tester", email="tester@example.org")
    actions.deliver(confirmed, "tester")
    _watch_each_step(3)
    assert AuditEntry.objects.filter(action="delivery state", filename="hst_0001.cat").count() == 3
    assert len(mailoutbox) == 1
    assert mailoutbox[0].subject.endswith("Delivery archived: hst_0001.cat")
    assert mailoutbox[0].to == ["tester@example.org"]


def test_redeliver_recreates_the_links_and_reopens_a_failed_delivery(area, confirmed):
    actions.deliver(confirmed, "tester")
    _watch_each_step(3, fail=True)
    for name in confirmed:
        (area / "deliveries" / name).unlink()
    delivery = actions.redeliver(1, "operator")
    assert delivery.state == "delivered" and _states() == {"delivered"}
    assert sorted(os.listdir(area / "deliveries")) == sorted([*confirmed, "hst_0001.cat"])
    assert os.path.samefile(area / "deliveries" / confirmed[0],
                            File.objects.get(name=confirmed[0]).store_path())
    assert _watch_each_step(3)[-1] == ("hst_0001.cat", "archiving", "archived")


def test_redeliver_refuses_while_the_archive_is_working_and_unknown_numbers(area, confirmed):
    actions.deliver(confirmed, "tester")
    actions.simulate_archive()
    with pytest.raises(DeliveryInProgress, match="hst_0001.cat_submit"):
        actions.redeliver(1)
    with pytest.raises(UnknownDelivery):
        actions.redeliver(99)


def test_pending_lists_the_deliveries_not_yet_archived(area, catalog):
    for name in ("p1.fits", "p2.fits"):
        catalog.add_file(name, state="uploaded")
    actions.deliver(["p1.fits"], "tester")
    _watch_each_step(3)
    actions.deliver(["p2.fits"], "tester")
    assert [d.catalog for d in actions.pending()] == ["hst_0002.cat"]


def test_the_watch_task_runs_every_minute_under_a_lock(area, confirmed):
    from crds_server.deliveries.tasks import watch_deliveries
    from crds_server.jobs.engine import HUEY, LeaseHeld, held

    start = datetime.datetime(2026, 1, 1, 0, 0)
    minutes = [start + datetime.timedelta(minutes=m) for m in range(120)]
    assert all(watch_deliveries.s().validate_datetime(t) for t in minutes)
    assert "watch_deliveries" in {t.name for t in HUEY.read_periodic(start)}
    actions.deliver(confirmed, "tester")
    actions.simulate_archive()
    assert watch_deliveries.call_local() == [("hst_0001.cat", "delivered", "submitted")]
    with held("watch-deliveries"), pytest.raises(LeaseHeld):
        watch_deliveries.call_local()
