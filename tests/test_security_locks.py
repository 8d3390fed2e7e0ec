"""Locks that mean something: a submission touches only instruments its submitter holds,
taken at submit time (all or none) and still held at confirm (issue 8, item 4)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from django.conf import settings

from crds_server.catalog.models import File
from crds_server.locks import actions as locks
from crds_server.locks.errors import LockError
from crds_server.locks.models import InstrumentLock
from crds_server.submissions import actions, ingest
from crds_server.submissions.errors import SubmissionError
from crds_server.submissions.models import Submission
from tests.submitting import COS_KEYWORDS, COS_RMAP, persona, put_in_ingest, remember_store, run, start


@pytest.fixture(autouse=True)
def _clean_areas():
    remember_store()
    yield
    shutil.rmtree(Path(settings.SERVER_FILES) / "ingest", ignore_errors=True)
    for path in (Path(settings.SERVER_FILES) / "uploads").glob("*-*-*-*-*"):
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def stis_holder(demo_catalog):
    return persona("sally", instrument="stis")


@pytest.fixture
def acs_holder(demo_catalog):
    return persona("arnie", instrument="acs")


def test_a_stis_holder_cannot_submit_acs_files_while_someone_else_holds_acs(stis_holder, acs_holder,
                                                                              demo_catalog):
    put_in_ingest(demo_catalog, stis_holder, "my_dark.fits")
    for claimed in ("stis", "none", "acs"):  # whatever the form says
        with pytest.raises(LockError, match="'acs' is locked by 'arnie'"):
            start(stis_holder, instrument=claimed)
    assert not Submission.objects.exists()
    assert [p.name for p in ingest.ingest_paths(stis_holder)] == ["my_dark.fits"]
    assert InstrumentLock.objects.get(instrument="acs").user == acs_holder


def test_a_none_login_takes_the_locks_of_every_instrument_of_its_files(demo_catalog):
    nelly = persona("nelly")
    put_in_ingest(demo_catalog, nelly, "my_dark.fits")
    put_in_ingest(demo_catalog, nelly, "my_flat.fits", rmap_name=COS_RMAP, **COS_KEYWORDS)
    submission = start(nelly, instrument="none")
    assert submission.instruments == ["acs", "cos"]
    assert locks.held_instruments(nelly) == ["acs", "cos"]


def test_a_none_login_takes_all_the_locks_or_none_of_them(demo_catalog):
    nelly, carl = persona("nelly"), persona("carl", instrument="cos")
    put_in_ingest(demo_catalog, nelly, "my_dark.fits")
    put_in_ingest(demo_catalog, nelly, "my_flat.fits", rmap_name=COS_RMAP, **COS_KEYWORDS)
    with pytest.raises(LockError, match="'cos' is locked by 'carl'"):
        start(nelly, instrument="none")
    assert locks.held_instruments(nelly) == []  # acs was not kept
    assert not Submission.objects.exists()
    assert InstrumentLock.objects.get(instrument="cos").user == carl


def test_confirm_is_refused_after_the_lock_was_broken_and_taken_by_another(acs_holder, demo_catalog):
    put_in_ingest(demo_catalog, acs_holder, "my_dark.fits")
    ready = run(acs_holder)
    assert ready.status == Submission.READY
    marge = persona("marge", "operator")
    assert locks.break_lock(marge, "acs", "arnie went home")
    bart = persona("bart", instrument="acs")
    with pytest.raises(SubmissionError, match="no longer hold the lock on acs.*locked by 'bart'"):
        actions.confirm(acs_holder, ready.id)
    with pytest.raises(SubmissionError, match="no longer hold the lock on acs"):
        actions.confirm(marge, ready.id)  # an operator confirming for arnie is held to the same rule
    ready.refresh_from_db()
    assert ready.status == Submission.READY
    new_names = list(ready.result["metadata"])
    assert set(File.objects.filter(name__in=new_names).values_list("state", flat=True)) == {"uploaded"}
    assert InstrumentLock.objects.get(instrument="acs").user == bart


def test_confirm_is_refused_after_the_lock_expired(acs_holder, demo_catalog):
    put_in_ingest(demo_catalog, acs_holder, "my_dark.fits")
    ready = run(acs_holder)
    locks.release(acs_holder)
    with pytest.raises(SubmissionError, match="no longer hold the lock on acs"):
        actions.confirm(acs_holder, ready.id)


def test_processing_fails_a_result_that_touches_an_instrument_not_locked(acs_holder, demo_catalog):
    put_in_ingest(demo_catalog, acs_holder, "my_dark.fits")
    submission = start(acs_holder)
    Submission.objects.filter(pk=submission.pk).update(instruments=["cos"])
    actions.process(str(submission.id))
    submission.refresh_from_db()
    assert submission.status == Submission.FAILED
    assert "would change acs, whose lock it does not hold" in submission.error
    assert not File.objects.filter(state="uploaded").exists()


def test_certifying_needs_no_lock(demo_catalog):
    carl, nelly = persona("carl", instrument="acs"), persona("nelly")
    put_in_ingest(demo_catalog, nelly, "my_dark.fits")
    submission = start(nelly, instrument="none", kind="certify")
    assert submission.instruments == [] and locks.held_instruments(nelly) == []
    assert InstrumentLock.objects.get(instrument="acs").user == carl
