"""Submissions from start to confirm, cancel, expiry and recovery, run in-process.

The job consumer is stood in for by calling `actions.process` directly: in a
`db` test the `on_commit` hook that would enqueue the job never fires.
"""

from __future__ import annotations

import datetime
import shutil
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from crds_server.catalog import contexts
from crds_server.catalog.models import AuditEntry, File
from crds_server.deliveries.actions import catalogs_dir
from crds_server.deliveries.models import Delivery
from crds_server.locks.errors import LockError
from crds_server.locks.models import InstrumentLock
from crds_server.submissions import actions, confirming, ingest, recovery
from crds_server.submissions.errors import SubmissionError
from crds_server.submissions.models import Submission
from tests.submitting import (
    COS_KEYWORDS,
    COS_RMAP,
    done_messages,
    persona,
    put_in_ingest,
    remember_store,
    run,
    start,
    store_files,
    uncatalogued,
)


@pytest.fixture(autouse=True)
def _store_snapshot():
    """Only files this test adds to the store count as orphans."""
    remember_store()


@pytest.fixture(autouse=True)
def _clean_areas():
    """Leave the file store, ingest and upload areas as this test found them."""
    before = store_files()
    yield
    root = Path(settings.FILE_CACHE)
    for path in store_files() - before:
        (root / path).unlink()
    shutil.rmtree(Path(settings.SERVER_FILES) / "ingest", ignore_errors=True)
    for path in (Path(settings.SERVER_FILES) / "uploads").glob("*-*-*-*-*"):
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def homer(demo_catalog):
    """A submitter holding the ACS lock."""
    return persona("homer", instrument="acs")


@pytest.fixture
def lisa(demo_catalog):
    """A submitter holding the COS lock."""
    return persona("lisa", instrument="cos")


@pytest.fixture
def marge(demo_catalog):
    """An operator, locked to nothing."""
    return persona("marge", "operator")


@pytest.fixture
def ready(homer, demo_catalog) -> Submission:
    """Homer's new ACS dark, processed to ready."""
    put_in_ingest(demo_catalog, homer, "my_dark.fits")
    submission = run(homer)
    assert submission.status == Submission.READY, submission.error
    return submission


class Killed(BaseException):
    """The worker process dying: no `except Exception` sees it."""


def _reserved(submission: Submission) -> list[str]:
    return sorted(submission.result["metadata"])


def _work_files(submission: Submission) -> list[Path]:
    folder = actions.work_dir(submission.id)
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def _nothing_kept(submission: Submission, store_before: set[str]) -> None:
    """A failed or cancelled submission left no store file, no reserved row, no staged file."""
    assert store_files() == store_before
    assert not File.objects.filter(state="uploaded").exists()
    assert not actions.work_dir(submission.id).exists()
    assert contexts.pointer("edit") == submission.derive_from


# ---------------------------------------------------------------- start


def test_start_moves_the_ingest_files_in_and_enqueues_one_job(homer, demo_catalog,
                                                               django_capture_on_commit_callbacks):
    put_in_ingest(demo_catalog, homer, "my_dark.fits")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        submission = start(homer)
    assert submission.status == Submission.QUEUED and submission.uploaded == ["my_dark.fits"]
    assert submission.derive_from == demo_catalog.context
    assert ingest.ingest_paths(homer) == []
    assert [p.name for p in _work_files(submission)] == ["my_dark.fits"]
    assert len(callbacks) == 1


@pytest.mark.parametrize("form, message", [
    ({"description": ""}, "description of the delivery is required"),
    ({"description": "rm -rf; <script>"}, "may only hold letters"),
    ({"pmap_mode": "pmap_text", "pmap_text": "hst_9999.pmap"}, "Cannot derive from 'hst_9999.pmap'"),
    ({"change_level": "HUGE"}, "Unknown change level"),
])
def test_start_refuses_a_bad_form_and_creates_nothing(homer, demo_catalog, form, message):
    upload = put_in_ingest(demo_catalog, homer, "my_dark.fits")
    with pytest.raises(SubmissionError, match=message):
        start(homer, **form)
    assert not Submission.objects.exists() and upload.exists()


def test_start_refuses_an_empty_ingest_area(homer):
    with pytest.raises(SubmissionError, match="ingest area holds no files"):
        start(homer)
    assert not Submission.objects.exists()


def test_start_refuses_files_of_an_instrument_someone_else_holds(homer, lisa, demo_catalog):
    put_in_ingest(demo_catalog, lisa, "my_dark.fits")  # an ACS dark; homer holds acs
    with pytest.raises(LockError, match="locked by 'homer'"):
        start(lisa, instrument="cos")
    assert not Submission.objects.exists()


def test_an_operator_without_a_lock_gets_the_files_locks_at_submit(marge, demo_catalog):
    put_in_ingest(demo_catalog, marge, "my_dark.fits")
    submission = start(marge, instrument="none")
    assert submission.status == Submission.QUEUED and submission.instruments == ["acs"]
    assert InstrumentLock.objects.get(instrument="acs").user == marge


# ---------------------------------------------------------------- process


def test_processing_makes_it_ready_with_reserved_names_clients_cannot_see(ready, demo_catalog):
    official = ready.result["renamed"]["my_dark.fits"]
    assert official.endswith("_drk.fits") and ready.new_context() == "hst_0002.pmap"
    reserved = _reserved(ready)
    assert official in reserved and "hst_0002.pmap" in reserved
    rows = File.objects.filter(name__in=reserved)
    assert {r.state for r in rows} == {"uploaded"} and rows.count() == len(reserved)
    assert not File.objects.distributable().filter(name__in=reserved).exists()
    assert not uncatalogued(store_files())
    staged = {p.name for p in _work_files(ready) if p.parent.name == "staging"}
    assert staged == set(reserved)


def test_the_channel_ends_with_one_done_whose_result_is_the_results_page(ready):
    assert done_messages(ready) == [{"status": 0, "result": actions.result_url(ready)}]
    assert actions.result_url(ready).endswith(f"/display_result/{ready.id}")


def test_processing_a_submission_twice_does_nothing_the_second_time(ready):
    assert actions.process(str(ready.id)) == "not queued"
    assert len(done_messages(ready)) == 1


# ---------------------------------------------------------------- confirm


def test_confirm_installs_delivers_moves_edit_audits_and_releases_the_lock(ready, homer):
    confirmed = actions.confirm(homer, ready.id)
    assert confirmed.status == Submission.CONFIRMED
    names = _reserved(ready)
    for name in names:
        assert File.objects.get(name=name).store_path().is_file()
    assert {r.state for r in File.objects.filter(name__in=names)} == {"delivered"}
    assert File.objects.distributable().filter(name__in=names).count() == len(names)
    assert contexts.pointer("edit") == "hst_0002.pmap"
    assert AuditEntry.objects.filter(action="submit file", filename="hst_0002.pmap").exists()
    delivery = Delivery.objects.get(submission=str(ready.id))
    assert sorted(delivery.files) == names and (catalogs_dir() / delivery.catalog).is_file()
    assert not InstrumentLock.objects.filter(user=homer).exists()
    assert not actions.work_dir(ready.id).exists()
    assert not uncatalogued(store_files())


def test_a_second_confirm_is_refused(ready, homer):
    actions.confirm(homer, ready.id)
    with pytest.raises(SubmissionError, match="confirmed, not ready"):
        actions.confirm(homer, ready.id)


def test_a_cancel_racing_a_confirm_is_refused_and_leaves_no_orphan_files(ready, homer, monkeypatch):
    install = actions._install

    def install_then_cancel(submission, names):
        install(submission, names)
        with pytest.raises(SubmissionError, match="cannot be cancelled"):
            actions.cancel(homer, submission.id)  # the other click lands mid-way

    monkeypatch.setattr(confirming, "_install", install_then_cancel)
    assert actions.confirm(homer, ready.id).status == Submission.CONFIRMED
    assert not uncatalogued(store_files()) and not File.objects.filter(state="uploaded").exists()


def test_a_confirm_interrupted_mid_install_can_be_confirmed_again(ready, homer, monkeypatch):
    install = actions._install

    def install_half(submission, names):
        install(submission, names[:1])
        raise Killed()

    monkeypatch.setattr(confirming, "_install", install_half)
    with pytest.raises(Killed):
        actions.confirm(homer, ready.id)
    ready.refresh_from_db()
    assert ready.status == Submission.READY
    monkeypatch.setattr(confirming, "_install", install)
    assert actions.confirm(homer, ready.id).status == Submission.CONFIRMED
    assert not uncatalogued(store_files())


def test_someone_else_cannot_confirm_or_cancel_but_an_operator_can(ready, lisa, marge):
    with pytest.raises(SubmissionError, match="Only the submitter or an operator"):
        actions.confirm(lisa, ready.id)
    with pytest.raises(SubmissionError, match="Only the submitter or an operator"):
        actions.cancel(lisa, ready.id)
    assert actions.confirm(marge, ready.id).status == Submission.CONFIRMED


# ---------------------------------------------------------------- cancel


def test_cancel_drops_reservations_and_staging_returns_uploads_and_releases_the_lock(ready, homer):
    before = store_files()
    cancelled = actions.cancel(homer, ready.id)
    assert cancelled.status == Submission.CANCELLED
    _nothing_kept(cancelled, before)
    assert [p.name for p in ingest.ingest_paths(homer)] == ["my_dark.fits"]
    assert not InstrumentLock.objects.filter(user=homer).exists()
    assert done_messages(cancelled) == [{"status": 0, "result": actions.result_url(ready)}]
    with pytest.raises(SubmissionError, match="cannot be cancelled"):
        actions.cancel(homer, ready.id)


def test_a_queued_submission_can_be_cancelled_and_is_then_never_processed(homer, demo_catalog):
    put_in_ingest(demo_catalog, homer, "my_dark.fits")
    submission = start(homer)
    actions.cancel(homer, submission.id)
    assert actions.process(str(submission.id)) == "not queued"
    assert not actions.work_dir(submission.id).exists() and ingest.ingest_paths(homer)


# ---------------------------------------------------------------- failures


def _failed(submission: Submission, before: set[str], text: str) -> None:
    """It failed with one `done` status 1 naming why, and nothing of it was kept."""
    assert submission.status == Submission.FAILED and text in submission.error
    messages = done_messages(submission)
    assert len(messages) == 1 and messages[0]["status"] == 1 and text in messages[0]["result"]
    _nothing_kept(submission, before)
    assert len(ingest.ingest_paths(submission.user)) == len(submission.uploaded)


def test_a_file_failing_certification_fails_with_one_done(homer, demo_catalog):
    before = store_files()
    put_in_ingest(demo_catalog, homer, "broken.fits", DETECTOR="BROKEN")
    _failed(run(homer), before, "Certify found")


def test_a_duplicate_of_a_catalogued_file_fails_with_one_done(homer, demo_catalog):
    from tests.test_processing import demo_reference

    before = store_files()
    folder = ingest.ingest_dir(homer, create=True)
    shutil.copy(demo_reference(demo_catalog), folder / "copy_dark.fits")
    _failed(run(homer), before, "already in CRDS")


def test_an_exception_inside_processing_fails_with_one_done(homer, demo_catalog, monkeypatch):
    from crds_server.submissions import processing

    def crash(**kwargs):
        (Path(kwargs["staging"]) / "half_written.rmap").write_text("header = {")
        raise RuntimeError("the disk caught fire")

    monkeypatch.setattr(processing, "prepare_submission", crash)
    before = store_files()
    put_in_ingest(demo_catalog, homer, "my_dark.fits")
    _failed(run(homer), before, "RuntimeError: the disk caught fire")


@pytest.mark.parametrize("name, content, text", [
    ("truncated.fits", b"SIMPLE  =                    T" + b" " * 50, "Certify found"),
    ("notes.txt", b"not a reference", "not a reference file"),
])
def test_a_truncated_or_foreign_file_is_refused_with_a_clear_message(homer, demo_catalog, name, content,
                                                                    text):
    before = store_files()
    folder = ingest.ingest_dir(homer, create=True)
    (folder / name).write_bytes(content)
    _failed(run(homer), before, text)


def test_an_upload_name_escaping_the_ingest_area_is_refused(homer):
    with pytest.raises(ingest.IngestError, match="Bad file name"):
        ingest.receive_chunk(homer, "../../file_cache/mappings/hst/evil.rmap", [b"x"], None)


def test_an_upload_larger_than_the_limit_is_refused(homer, settings):
    settings.UPLOAD_MAX_BYTES = 10
    with pytest.raises(ingest.UploadTooLarge, match="exceeds the upload limit"):
        ingest.receive_chunk(homer, "big.fits", [b"x" * 11], None)
    assert ingest.ingest_paths(homer) == []


# ---------------------------------------------------------------- two submitters


def test_submitters_of_two_instruments_in_turn_both_get_their_changes_in(homer, lisa, demo_catalog):
    put_in_ingest(demo_catalog, homer, "my_dark.fits")
    put_in_ingest(demo_catalog, lisa, "my_flat.fits", rmap_name=COS_RMAP, **COS_KEYWORDS)
    first = run(homer)
    actions.confirm(homer, first.id)
    second = run(lisa, instrument="cos")
    assert second.derive_from == first.new_context()
    actions.confirm(lisa, second.id)
    final = contexts.pointer("edit")
    assert final == second.new_context() and final == "hst_0003.pmap"
    text = (Path(settings.FILE_CACHE) / "mappings" / "hst" / final).read_text()
    assert "hst_acs_0002.imap" in text and "hst_cos_0002.imap" in text


def test_two_submissions_derived_from_one_edit_cannot_silently_drop_the_first(homer, lisa, demo_catalog):
    """The collision rule: the second confirm is refused; cancel and resubmit, or an operator
    forces it (the dropped ACS changes are not the COS submitter's to drop)."""
    put_in_ingest(demo_catalog, homer, "my_dark.fits")
    put_in_ingest(demo_catalog, lisa, "my_flat.fits", rmap_name=COS_RMAP, **COS_KEYWORDS)
    first, second = run(homer), run(lisa, instrument="cos")
    assert first.derive_from == second.derive_from == demo_catalog.context
    assert first.new_context() != second.new_context()
    actions.confirm(homer, first.id)
    with pytest.raises(SubmissionError, match="would drop the changes made in 'hst_0002.pmap'"):
        actions.confirm(lisa, second.id)
    second.refresh_from_db()
    assert second.status == Submission.READY and contexts.pointer("edit") == first.new_context()
    with pytest.raises(SubmissionError, match="drop the changes the edit context made to acs"):
        actions.confirm(lisa, second.id, force=True)
    operator = persona("marge", role="operator")
    assert actions.confirm(operator, second.id, force=True).status == Submission.CONFIRMED
    assert contexts.pointer("edit") == second.new_context()
    assert "(forced)" in AuditEntry.objects.filter(filename=second.new_context()).get().details


# ---------------------------------------------------------------- expiry and recovery


def test_ready_submissions_expire_after_the_configured_time(ready, homer, settings):
    settings.SUBMISSION_EXPIRY_HOURS = 0.5
    before = store_files()
    assert recovery.expire_stale(timezone.now() + datetime.timedelta(minutes=10)) == []
    assert recovery.expire_stale(timezone.now() + datetime.timedelta(minutes=40)) == [str(ready.id)]
    ready.refresh_from_db()
    assert ready.status == Submission.EXPIRED
    _nothing_kept(ready, before)
    assert ingest.ingest_paths(homer)
    assert AuditEntry.objects.get(action="expire submission").details.startswith(f"submission {ready.id}")


def test_expiry_counts_from_ready_not_from_a_long_wait_in_the_queue(homer, demo_catalog, settings):
    settings.SUBMISSION_EXPIRY_HOURS = 0.5
    put_in_ingest(demo_catalog, homer, "my_dark.fits")
    queued = start(homer)
    Submission.objects.filter(pk=queued.pk).update(updated=timezone.now() - datetime.timedelta(hours=2))
    actions.process(str(queued.id))
    assert recovery.expire_stale(timezone.now() + datetime.timedelta(minutes=10)) == []
    queued.refresh_from_db()
    assert queued.status == Submission.READY


def _interrupted(homer, demo_catalog, monkeypatch) -> Submission:
    """A submission whose worker died after staging its files and reserving their names."""
    put_in_ingest(demo_catalog, homer, "my_dark.fits")
    submission = start(homer)
    with monkeypatch.context() as patch:
        patch.setattr(actions, "_ready", lambda *args: (_ for _ in ()).throw(Killed()))
        with pytest.raises(Killed):
            actions.process(str(submission.id))
    Submission.objects.filter(pk=submission.pk).update(
        heartbeat=timezone.now() - 2 * recovery.STUCK_AFTER)
    return Submission.objects.get(pk=submission.pk)


@pytest.fixture
def enqueued(monkeypatch) -> list[str]:
    """Jobs enqueued by the sweepers, recorded instead of sent to the job storage."""
    from crds_server.submissions import tasks

    jobs: list[str] = []
    monkeypatch.setattr(tasks, "process_submission", jobs.append)
    return jobs


def test_a_submission_whose_worker_died_is_requeued_from_a_clean_state(homer, demo_catalog, enqueued,
                                                                       monkeypatch):
    before = store_files()
    stuck = _interrupted(homer, demo_catalog, monkeypatch)
    assert File.objects.filter(state="uploaded").exists()  # reserved before the crash
    assert recovery.recover_stuck() == [str(stuck.id)]
    stuck.refresh_from_db()
    assert stuck.status == Submission.QUEUED and enqueued == [str(stuck.id)]
    assert not File.objects.filter(state="uploaded").exists()
    assert not (actions.work_dir(stuck.id) / "staging").exists()
    assert store_files() == before
    assert actions.process(str(stuck.id)) == Submission.READY
    stuck.refresh_from_db()
    assert stuck.new_context() == "hst_0002.pmap" and stuck.attempts == 2
    assert [m["status"] for m in done_messages(stuck)] == [0]


def test_a_submission_interrupted_max_attempts_times_fails_with_one_done(homer, demo_catalog, enqueued,
                                                                        monkeypatch):
    before = store_files()
    stuck = _interrupted(homer, demo_catalog, monkeypatch)
    Submission.objects.filter(pk=stuck.pk).update(attempts=recovery.MAX_ATTEMPTS)
    recovery.recover_stuck()
    stuck.refresh_from_db()
    assert enqueued == []
    _failed(stuck, before, "interrupted")


def test_a_live_worker_is_not_recovered_and_a_lost_queued_job_is_enqueued_again(homer, demo_catalog,
                                                                              enqueued):
    put_in_ingest(demo_catalog, homer, "my_dark.fits")
    queued = start(homer)
    assert recovery.recover_stuck() == []
    later = timezone.now() + 2 * recovery.STUCK_AFTER
    assert recovery.recover_stuck(later) == [str(queued.id)] and enqueued == [str(queued.id)]


def test_the_recover_submissions_command_requeues_what_a_dead_worker_left(homer, demo_catalog, enqueued,
                                                                          monkeypatch, capsys):
    from django.core.management import call_command

    stuck = _interrupted(homer, demo_catalog, monkeypatch)
    Submission.objects.filter(pk=stuck.pk).update(heartbeat=timezone.now())
    call_command("recover_submissions")
    assert capsys.readouterr().out.strip() == "Recovered 0 submission(s)."
    call_command("recover_submissions", "--older-than", "0")
    assert capsys.readouterr().out.split() == [str(stuck.id), "Recovered", "1", "submission(s)."]
    assert Submission.objects.get(pk=stuck.pk).status == Submission.QUEUED and enqueued == [str(stuck.id)]
