"""Instrument locks: one holder per instrument, expiry, renewal, release, break, status."""

from __future__ import annotations

import datetime
import time

import pytest
from django.db import OperationalError
from django.utils import timezone

from crds_server.accounts.actions import create_user
from crds_server.catalog.models import AuditEntry
from crds_server.locks import actions
from crds_server.locks.errors import LockError
from crds_server.locks.models import InstrumentLock
from tests.racing import race


@pytest.fixture
def homer(db):
    return create_user("homer", "homer@example.org", "submitter")


@pytest.fixture
def bart(db):
    return create_user("bart", "bart@example.org", "submitter")


@pytest.fixture
def marge(db):
    return create_user("marge", "marge@example.org", "operator")


def _expire(user) -> None:
    InstrumentLock.objects.filter(user=user).update(expires=timezone.now() - datetime.timedelta(seconds=1))


def test_acquire_gives_a_lock_lasting_lock_hours(homer, settings):
    settings.LOCK_HOURS = 2
    lock = actions.acquire(homer, "ACS")
    assert lock.instrument == "acs" and lock.user == homer
    left = lock.expires - timezone.now()
    assert datetime.timedelta(hours=1, minutes=59) < left <= datetime.timedelta(hours=2)


def test_an_instrument_has_one_holder_and_the_second_login_is_refused(homer, bart):
    actions.acquire(homer, "acs")
    with pytest.raises(LockError, match="locked by 'homer'"):
        actions.acquire(bart, "acs")
    assert InstrumentLock.objects.get(instrument="acs").user == homer


def test_a_user_holds_one_lock_and_taking_another_drops_the_first(homer):
    actions.acquire(homer, "acs")
    actions.acquire(homer, "wfc3")
    assert list(InstrumentLock.objects.values_list("instrument", flat=True)) == ["wfc3"]


def test_taking_none_drops_the_users_lock_and_gives_none(marge):
    actions.acquire(marge, "acs")
    assert actions.acquire(marge, "none") is None
    assert not InstrumentLock.objects.exists()


def test_logging_in_again_keeps_the_users_own_lock(homer):
    first = actions.acquire(homer, "acs")
    second = actions.acquire(homer, "acs")
    assert first.pk == second.pk and second.expires >= first.expires


def test_an_expired_lock_may_be_taken_by_someone_else(homer, bart):
    actions.acquire(homer, "acs")
    _expire(homer)
    assert actions.acquire(bart, "acs").user == bart


def test_renew_pushes_the_expiry_forward_but_not_for_an_expired_lock(homer):
    actions.acquire(homer, "acs")
    InstrumentLock.objects.filter(user=homer).update(expires=timezone.now() + datetime.timedelta(minutes=1))
    [renewed] = actions.renew(homer)
    assert renewed.expires > timezone.now() + datetime.timedelta(hours=3)
    _expire(homer)
    assert actions.renew(homer) == []


def test_require_renews_the_locks_and_names_the_missing_instruments(homer, bart):
    actions.acquire(homer, "acs")
    assert [lock.instrument for lock in actions.require(homer, ["ACS"])] == ["acs"]
    actions.acquire(bart, "cos")
    with pytest.raises(LockError, match=r"no longer hold the lock on cos .*locked by 'bart'"):
        actions.require(homer, ["acs", "cos"])
    _expire(homer)
    with pytest.raises(LockError, match="no longer hold the lock on acs"):
        actions.require(homer, ["acs"])
    assert actions.require(homer, []) == []


def test_release_drops_the_lock(homer):
    actions.acquire(homer, "acs")
    assert actions.release(homer) == 1
    assert actions.release(homer) == 0


def test_an_operator_breaks_a_lock_and_the_audit_log_says_why(homer, marge):
    actions.acquire(homer, "acs")
    assert actions.break_lock(marge, "ACS", "homer went home")
    assert not InstrumentLock.objects.exists()
    entry = AuditEntry.objects.get(action="break lock")
    assert (entry.user, entry.filename.lower(), entry.why) == ("marge", "acs", "homer went home")
    assert not actions.break_lock(marge, "acs", "again")


def test_clear_expired_removes_only_expired_locks(homer, bart):
    actions.acquire(homer, "acs")
    actions.acquire(bart, "cos")
    _expire(homer)
    assert actions.clear_expired() == 1
    assert list(InstrumentLock.objects.values_list("instrument", flat=True)) == ["cos"]


def test_status_has_the_shape_crds_submit_reads(homer):
    assert actions.status("homer")["name"] == ""
    actions.acquire(homer, "acs")
    status = actions.status("homer")
    assert set(status) == {"name", "names", "type", "user", "is_expired", "created_on", "time_remaining",
                           "status"}
    assert (status["name"], status["type"], status["user"], status["is_expired"]) == (
        "acs", "instrument", "homer", False)
    assert status["time_remaining"].startswith("3:59:") or status["time_remaining"] == "4:00:00"


def test_the_periodic_task_clears_expired_locks(homer):
    from crds_server.locks.tasks import clear_expired_locks

    actions.acquire(homer, "acs")
    _expire(homer)
    clear_expired_locks.call_local()
    assert not InstrumentLock.objects.exists()


def _acquire_waiting(user) -> None:
    """Acquire, waiting out SQLite's "table is locked" like a busy timeout would.

    The test database is SQLite's shared in-memory one, whose SQLITE_LOCKED
    ignores the busy timeout that the file database of a real server waits on.
    """
    for _ in range(500):
        try:
            actions.acquire(user, "acs")
            return
        except OperationalError as exc:
            if "locked" not in str(exc):
                raise
            time.sleep(0.01)
    raise AssertionError("the database stayed locked")


@pytest.mark.django_db(transaction=True)
def test_two_logins_racing_for_one_instrument_give_it_to_exactly_one():
    users = [create_user(f"racer{i}", f"racer{i}@example.org", "submitter") for i in range(2)]
    outcomes = race(users, _acquire_waiting)
    assert sorted(outcomes) == ["lost", "won"]
    assert InstrumentLock.objects.filter(instrument="acs").count() == 1
