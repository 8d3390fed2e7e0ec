"""The operator commands: mark-bad (and --ok) and list-locks."""

from __future__ import annotations

import datetime

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from crds_server.accounts.actions import create_user
from crds_server.catalog.models import AuditEntry, File
from crds_server.locks import actions as locks
from crds_server.locks.models import InstrumentLock
from tests.web_helpers import derive_context


@pytest.fixture
def second(demo_catalog, catalog):
    return derive_context(catalog, demo_catalog.context, "acs", "darkfile")


def bad_names() -> set[str]:
    return set(File.objects.bad().values_list("name", flat=True))


def test_mark_bad_blacklists_a_mapping_and_its_parents_and_ok_clears_them(capsys, second):
    call_command("mark_bad", second["rmap"], "--reason", "wrong rules", "--user", "marge")
    out = capsys.readouterr().out
    assert f"{second['rmap']}: rejected" in out and f"{second['pmap']}: blacklisted" in out
    assert bad_names() == {second["rmap"], second["imap"], second["pmap"]}
    assert AuditEntry.objects.filter(action="mark bad", user="marge").count() == 3
    call_command("mark_bad", second["rmap"], "--ok", "--reason", "fixed")
    assert f"{second['pmap']}: no longer blacklisted" in capsys.readouterr().out
    assert bad_names() == set()


def test_mark_bad_refuses_a_file_of_the_latest_context_without_force(capsys, second):
    with pytest.raises(CommandError, match="latest context"):
        call_command("mark_bad", second["dropped"], "--reason", "wrong")
    call_command("mark_bad", second["dropped"], "--reason", "wrong", "--force")
    assert bad_names() == {second["dropped"]}


def test_mark_bad_with_kind_rejected_does_not_spread(capsys, second):
    call_command("mark_bad", second["rmap"], "--reason", "typo", "--kind", "rejected")
    assert bad_names() == {second["rmap"]}


def test_mark_bad_refuses_unknown_files_and_non_operators(second):
    with pytest.raises(CommandError, match="nosuch.fits"):
        call_command("mark_bad", "nosuch.fits", "--reason", "r")
    create_user("homer", "homer@example.org", "submitter")
    with pytest.raises(CommandError, match="not an operator"):
        call_command("mark_bad", second["rmap"], "--reason", "r", "--user", "homer")
    assert bad_names() == set()


def test_mark_bad_says_when_nothing_changed(capsys, second):
    call_command("mark_bad", second["rmap"], "--ok", "--reason", "already fine")
    assert "Nothing changed." in capsys.readouterr().out


@pytest.mark.django_db
def test_list_locks_shows_each_lock_and_its_time_remaining(capsys):
    call_command("list_locks")
    assert "No instrument is locked." in capsys.readouterr().out
    homer = create_user("homer", "homer@example.org", "submitter")
    bart = create_user("bart", "bart@example.org", "submitter")
    locks.acquire(homer, "acs")
    locks.acquire(bart, "cos")
    InstrumentLock.objects.filter(user=bart).update(expires=timezone.now() - datetime.timedelta(minutes=1))
    call_command("list_locks")
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["INSTRUMENT", "USER", "EXPIRES", "(UTC)", "REMAINING"]
    assert lines[1].split()[:2] == ["acs", "homer"] and lines[1].split()[-1].startswith(("3:", "4:"))
    assert lines[2].split()[:2] == ["cos", "bart"] and lines[2].endswith("expired")
