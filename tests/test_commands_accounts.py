"""The account and lock commands: createuser, token, break-lock, clear-locks."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import RequestFactory
from django.utils import timezone

from crds_server.accounts.actions import create_user
from crds_server.catalog.models import AuditEntry
from crds_server.locks import actions as locks
from crds_server.locks.models import InstrumentLock

pytestmark = pytest.mark.django_db


def last_line(capsys) -> str:
    return capsys.readouterr().out.strip().splitlines()[-1]


def test_createuser_makes_a_submitter_and_prints_a_working_token(capsys):
    call_command("createuser", "homer", "--email", "homer@example.org", "--role", "submitter")
    token = last_line(capsys)
    homer = User.objects.get(username="homer")
    assert homer.email == "homer@example.org"
    assert list(homer.groups.values_list("name", flat=True)) == ["submitter"]
    assert authenticate(RequestFactory().post("/login/"), username="homer", password=token) == homer


def test_createuser_with_a_password_and_no_token(capsys):
    call_command("createuser", "marge", "--email", "m@example.org", "--role", "operator",
                 "--password", "hair", "--no-token")
    out = capsys.readouterr().out
    assert "saved with role operator" in out and "token" not in out
    marge = User.objects.get(username="marge")
    assert marge.is_staff
    assert authenticate(RequestFactory().post("/login/"), username="marge", password="hair") == marge


def test_createuser_refuses_an_unknown_role():
    with pytest.raises(CommandError):
        call_command("createuser", "homer", "--email", "h@example.org", "--role", "admin")


def test_token_create_prints_a_token_and_revoke_disables_it(capsys):
    homer = create_user("homer", "homer@example.org", "submitter")
    call_command("token", "create", "homer", "--label", "laptop")
    token = last_line(capsys)
    assert authenticate(RequestFactory().post("/login/"), username="homer", password=token) == homer
    call_command("token", "revoke", "homer", "--label", "laptop")
    assert "Revoked 1 token(s)" in capsys.readouterr().out
    assert authenticate(RequestFactory().post("/login/"), username="homer", password=token) is None


def test_token_refuses_an_unknown_user_and_a_label_with_no_token():
    create_user("homer", "homer@example.org", "submitter")
    with pytest.raises(CommandError, match="No user 'bart'"):
        call_command("token", "create", "bart")
    with pytest.raises(CommandError, match="no active token labelled 'nope'"):
        call_command("token", "revoke", "homer", "--label", "nope")


def test_break_lock_removes_the_lock_and_records_the_reason(capsys):
    homer = create_user("homer", "homer@example.org", "submitter")
    create_user("marge", "marge@example.org", "operator")
    locks.acquire(homer, "acs")
    call_command("break_lock", "ACS", "--reason", "homer went home", "--user", "marge")
    assert "Lock on 'acs' broken" in capsys.readouterr().out
    assert not InstrumentLock.objects.exists()
    entry = AuditEntry.objects.get(action="break lock")
    assert (entry.user, entry.filename, entry.why) == ("marge", "acs", "homer went home")
    call_command("break_lock", "acs", "--reason", "again")
    assert "was not locked" in capsys.readouterr().out


def test_break_lock_refuses_a_user_who_is_not_an_operator():
    create_user("bart", "bart@example.org", "submitter")
    with pytest.raises(CommandError, match="not an operator"):
        call_command("break_lock", "acs", "--reason", "prank", "--user", "bart")


def test_clear_locks_removes_expired_locks_only(capsys):
    homer = create_user("homer", "homer@example.org", "submitter")
    bart = create_user("bart", "bart@example.org", "submitter")
    locks.acquire(homer, "acs")
    locks.acquire(bart, "cos")
    InstrumentLock.objects.filter(user=homer).update(expires=timezone.now() - datetime.timedelta(minutes=1))
    call_command("clear_locks")
    assert "Removed 1 expired lock(s)." in capsys.readouterr().out
    assert list(InstrumentLock.objects.values_list("instrument", flat=True)) == ["cos"]
