"""Two submitters logging in with `none` and submitting one instrument's files at once:
exactly one gets the lock and the submission (issue 8, item 4).

A module of its own: a transactional test cannot share a module with the
demo catalog's module-wide transaction (it would hold SQLite's tables).
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from django.conf import settings

from crds_server.locks.models import InstrumentLock
from crds_server.submissions.models import Submission
from tests.racing import race
from tests.submitting import persona, put_in_ingest, start


@pytest.fixture(autouse=True)
def _clean_areas():
    yield
    shutil.rmtree(Path(settings.SERVER_FILES) / "ingest", ignore_errors=True)
    for path in (Path(settings.SERVER_FILES) / "uploads").glob("*-*-*-*-*"):
        shutil.rmtree(path, ignore_errors=True)


@pytest.mark.django_db(transaction=True)
def test_two_none_logins_submitting_one_instrument_at_once_give_it_to_exactly_one(demo_cache):
    from crds_server.catalog.importer import import_cache

    import_cache(demo_cache.path, context=demo_cache.context, user="demo")
    users = [persona(f"racer{i}") for i in range(2)]
    for user in users:
        put_in_ingest(demo_cache, user, "my_dark.fits")
    outcomes = race(users, _start_waiting)
    assert outcomes.count("won") == 1, outcomes
    assert InstrumentLock.objects.filter(instrument="acs").count() == 1
    winner = InstrumentLock.objects.get(instrument="acs").user
    assert Submission.objects.get().user == winner


def _start_waiting(user) -> None:
    """Start, waiting out SQLite's "table is locked" as a busy timeout would (see test_locks.py)."""
    from django.db import OperationalError

    for _ in range(500):
        try:
            start(user, instrument="none")
            return
        except OperationalError as exc:
            if "locked" not in str(exc):
                raise
            if Submission.objects.filter(user=user).exists():
                return  # made; a later step (a progress line) met the lock
            time.sleep(0.01)
    raise AssertionError("the database stayed locked")
