"""The delivery commands, run as an operator would: watch, simulate the archive, redeliver."""

from __future__ import annotations

import os

import pytest
from django.core.management import CommandError, call_command

from crds_server.deliveries.actions import deliver
from crds_server.deliveries.models import Delivery


@pytest.fixture
def delivered(settings, tmp_path, catalog):
    """One delivery, hst_0001.cat, of two files, in a fresh server_files tree."""
    settings.SERVER_FILES = tmp_path / "server_files"
    (settings.SERVER_FILES / "deliveries").mkdir(parents=True)
    names = ["cmd_a_drk.fits", "cmd_b_bia.fits"]
    for name in names:
        catalog.add_file(name, state="uploaded")
    deliver(names, "tester")
    return settings.SERVER_FILES / "deliveries"


def test_watch_deliveries_prints_each_move_and_then_nothing(delivered, capsys):
    call_command("simulate_archive")
    call_command("watch_deliveries")
    assert "hst_0001.cat: delivered -> submitted" in capsys.readouterr().out
    call_command("watch_deliveries")
    assert "No delivery changed." in capsys.readouterr().out


def test_watch_deliveries_fails_cleanly_without_the_deliveries_directory(delivered):
    os.rename(delivered, delivered.with_name("elsewhere"))
    with pytest.raises(CommandError, match="does not exist"):
        call_command("watch_deliveries")


def test_simulate_archive_walks_the_protocol_to_removal(delivered, capsys):
    call_command("simulate_archive", "--steps", "3")
    out = capsys.readouterr().out
    assert "hst_0001.cat -> hst_0001.cat_submit" in out
    assert "hst_0001.cat_submit -> hst_0001.cat_archiving" in out
    assert "hst_0001.cat_archiving -> (archived: removed with its files)" in out
    assert os.listdir(delivered) == []
    call_command("watch_deliveries")
    assert Delivery.objects.get().state == "archived"


def test_simulate_archive_can_fail_the_archiving(delivered):
    call_command("simulate_archive", "--steps", "3", "--fail")
    assert "hst_0001.cat_failed" in os.listdir(delivered)
    call_command("watch_deliveries")
    assert Delivery.objects.get().state == "archiving-failed"


def test_redeliver_puts_a_failed_delivery_back_for_the_archive(delivered, capsys):
    call_command("simulate_archive", "--steps", "3", "--fail")
    call_command("watch_deliveries")
    call_command("redeliver", "1")
    assert "Redelivered hst_0001.cat (2 files)" in capsys.readouterr().out
    assert sorted(os.listdir(delivered)) == ["cmd_a_drk.fits", "cmd_b_bia.fits", "hst_0001.cat"]
    assert Delivery.objects.get().state == "delivered"


def test_redeliver_refuses_an_unknown_number(delivered):
    with pytest.raises(CommandError, match="Unknown delivery number 7"):
        call_command("redeliver", "7")
