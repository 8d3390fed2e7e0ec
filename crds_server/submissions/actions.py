"""Submission actions: start, process (in a job); confirm and cancel are in `confirming`,
collision warnings in `collisions`, expiry and recovery in `recovery`.

Life of a submission (contract §5, features §2), the same for every kind
(batch, references, mappings, delete, add; certify stops at ready):

    start    (web request)   ingest files move into uploads/<id>/incoming (certify: linked, the
                             ingest area keeps them; delete/add: none, the files are named);
                             locks of the files' instruments taken; row queued; job queued
    process  (job consumer)  certify, rename, new rules into uploads/<id>/staging; names reserved
                             as `uploaded` catalog rows; ready; jpoll `done`
    confirm  (web request)   staged files renamed into the file store; rows delivered; edit moves;
                             audit; archive delivery; lock released
    cancel / expire          staged files and reserved rows removed; audit; lock released

Every status move is a conditional update of one row, so a double click or two
workers cannot do a step twice.  Every path of `process` ends with a jpoll
`done` message.
"""

from __future__ import annotations

import datetime
import logging
import os
import shutil
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from crds_server.catalog import versioning
from crds_server.catalog.errors import CatalogError
from crds_server.catalog.models import File
from crds_server.jobs import jpoll
from crds_server.jobs.errors import JobAborted
from crds_server.lib import maintenance
from crds_server.locks import actions as locks
from crds_server.replica.guard import refuse_if_replica

from . import ingest, intake, scope
from .collisions import collisions
from .common import notify as _notify
from .common import release_reservations as _release_reservations
from .common import restore_uploads as _restore_uploads
from .common import result_url, work_dir
from .confirming import _install, cancel, confirm
from .errors import ReplicaRefusal, SubmissionError
from .models import Submission

__all__ = ["start", "process", "confirm", "cancel", "collisions", "work_dir", "result_url",
           "instruments_of", "_install", "_release_reservations"]

log = logging.getLogger(__name__)
KINDS = ("batch", "references", "mappings", "certify", "delete", "add")
NAMED_KINDS = ("delete", "add")  # no upload: the submitter names references already in CRDS


# ---------------------------------------------------------------- start


def start(user: User, kind: str, form: dict[str, Any], session_key: str,
          answers: dict[str, str] | None = None) -> Submission:
    """Take the files of the user's ingest area (or, to delete or add references, the files
    named in the form) into a new queued submission.

    Except for a certification (which changes nothing), the submitter must hold
    the lock of every instrument the files belong to: the missing locks are
    taken now, all or none (LockError naming the holder when one is taken),
    after every field is checked and together with the new row, so a refused
    submission holds no lock.  `answers` are the checked ReDCaT answers (kept
    in `extra`); any other field posted is ignored.
    """
    maintenance.refuse_if_on(SubmissionError)
    refuse_if_replica(ReplicaRefusal)
    if kind not in KINDS:
        raise SubmissionError(f"Unknown submission kind '{kind}'.")
    fields = dict(
        instrument=str(form.get("instrument") or "none").lower()[:32],
        derive_from=intake.derive_from(form),
        description=intake.description(form, required=kind != "certify"),
        creator=str(form.get("creator") or "")[:128],
        change_level=intake.change_level(form), auto_rename=intake.flag(form, "auto_rename", True),
        compare_old_reference=intake.flag(form, "compare_old_reference", False),
        generate_contexts=intake.generate_contexts(kind, form))
    if kind not in NAMED_KINDS:
        fields["comparison_context"] = intake.comparison_context(form, fields["derive_from"])
    extra: dict[str, Any] = {k: str(v) for k, v in (answers or {}).items()}
    if kind in NAMED_KINDS:
        files: list[Path] = []
        named, instruments = intake.named_references(kind, form, fields["derive_from"])
        extra["references"] = named
    else:
        files = ingest.ingest_paths(user)
        if not files:
            raise SubmissionError("Your ingest area holds no files: upload the files to submit first.")
        instruments = [] if kind == "certify" else instruments_of(files, fields["derive_from"])
    with transaction.atomic():
        locks.take_for_submission(user, instruments)
        submission = Submission.objects.create(
            user=user, kind=kind, instruments=instruments, extra=extra, uploaded=[p.name for p in files],
            channel_key=jpoll.session_channel(session_key), **fields)
    _take_files(submission, files, keep=kind == "certify")
    count = len(files) or len(extra.get("references", []))
    jpoll.log(submission.channel_key, f"Submission {submission.id} of {count} files queued.")
    _notify("started", submission)
    from .tasks import process_submission  # the job engine entry point

    transaction.on_commit(lambda: process_submission(str(submission.id)))
    return submission


def instruments_of(files: list[Path], derive_from: str = "") -> list[str]:
    """The instruments the files belong to, as the crds library tells them (header or name);
    a hand-edited .pmap belongs to every instrument it changes against `derive_from`.

    A file the library cannot place is left out here: certification then
    fails it, and `_check_instruments` refuses any result touching an
    instrument that is not locked.
    """
    from crds.core import utils

    found = set()
    for path in files:
        if path.suffix == ".pmap" and derive_from:
            try:
                found |= scope.pmap_instruments(path, derive_from)
            except Exception:  # unreadable: certify reports it
                pass
            continue
        try:
            instrument, _ = utils.get_file_properties(settings.OBSERVATORY, str(path))
        except Exception:  # unreadable or foreign: certify reports it
            continue
        if instrument:
            found.add(str(instrument).lower())
    return sorted(found)


def _take_files(submission: Submission, files: list[Path], keep: bool = False) -> None:
    """Move the ingest files into the submission's own directory (same file system: renames).

    With `keep` (a certification, which changes nothing) the ingest area keeps
    them: the submission gets hard links (copies across file systems).
    """
    incoming = work_dir(submission.id) / "incoming"
    incoming.mkdir(parents=True, exist_ok=True)
    for path in files:
        if not keep:
            os.replace(path, incoming / path.name)
            continue
        try:
            os.link(path, incoming / path.name)
        except OSError:
            shutil.copyfile(path, incoming / path.name)


# ---------------------------------------------------------------- process


def process(submission_id: str) -> str:
    """Run one queued submission to ready or failed; returns the final status."""
    claimed = Submission.objects.filter(pk=submission_id, status=Submission.QUEUED).update(
        status=Submission.PROCESSING, heartbeat=timezone.now(), attempts=F("attempts") + 1)
    if claimed != 1:
        return "not queued"
    submission = Submission.objects.get(pk=submission_id)  # `attempts` now names this attempt
    try:
        if submission.kind == "certify":
            result = _certify_only(submission)
        else:
            result = _prepare(submission)
    except (SubmissionError, JobAborted, CatalogError) as exc:
        return _fail(submission, str(exc))
    except Exception as exc:  # a bug or a library failure still ends the channel
        log.exception("submission %s crashed", submission_id)
        return _fail(submission, f"Internal error while processing: {type(exc).__name__}: {exc}")
    return _ready(submission, result)


def _logger(submission: Submission):
    def write(kind: str, text: str) -> None:
        Submission.objects.filter(pk=submission.pk).update(heartbeat=timezone.now())
        jpoll.log(submission.channel_key, text, kind)

    return write


def _incoming(submission: Submission) -> list[Path]:
    folder = work_dir(submission.id) / "incoming"
    return sorted(folder / name for name in submission.uploaded if (folder / name).exists())


def _certify_only(submission: Submission) -> dict[str, Any]:
    from .processing import certify_files

    report = certify_files(_incoming(submission), _comparison_context(submission),
                           compare_old_reference=submission.compare_old_reference,
                           log=_logger(submission))
    return {"certify": _as_json(report), "certify_only": True, "ok": report.ok}


def _prepare(submission: Submission) -> dict[str, Any]:
    from .processing import prepare_submission

    staging = work_dir(submission.id) / "staging"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    if submission.kind in NAMED_KINDS:
        prepared = _prepare_named(submission, staging)
    else:
        prepared = prepare_submission(
            files=_incoming(submission), derive_from=submission.derive_from, staging=staging,
            kind="references" if submission.kind == "batch" else submission.kind,
            auto_rename=submission.auto_rename, description=submission.description,
            change_level=submission.change_level, creator=submission.creator,
            user=submission.user.username, name_taken=_name_taken, sha1_known=_sha1_known,
            log=_logger(submission), compare_old_reference=submission.compare_old_reference,
            generate_contexts=submission.generate_contexts,
            comparison_context=_comparison_context(submission),
        )
    result = prepared.to_json()
    if submission.kind in NAMED_KINDS:
        result["references"] = list(submission.extra.get("references", []))
    _check_instruments(submission, result, staging)
    scope.refuse_new_bad_files(result, staging)
    _reserve(submission, result)
    return result


def _comparison_context(submission: Submission) -> str:
    """The context a submission's uploads are certified against (older rows: derive_from)."""
    return submission.comparison_context or submission.derive_from


def _prepare_named(submission: Submission, staging: Path) -> Any:
    from .edits import prepare_edit

    return prepare_edit(
        kind=submission.kind, names=list(submission.extra.get("references", [])),
        derive_from=submission.derive_from, staging=staging, description=submission.description,
        change_level=submission.change_level, creator=submission.creator,
        user=submission.user.username, name_taken=_name_taken, log=_logger(submission))


def _check_instruments(submission: Submission, result: dict[str, Any], staging: Path) -> None:
    """Refuse a result that touches an instrument whose lock the submission did not take."""
    touched = scope.touched_instruments(result, staging, submission.derive_from)
    stray = sorted(touched - set(submission.instruments))
    if stray:
        raise SubmissionError(f"This submission would change {', '.join(stray)}, whose lock it does not "
                              "hold; submit those files in a submission of their own.")


def _as_json(report: Any) -> Any:
    return report.to_json() if hasattr(report, "to_json") else report


def _name_taken(name: str) -> bool:
    return File.objects.filter(name=name).exists()


def _sha1_known(sha1: str) -> str | None:
    return File.objects.filter(sha1sum=sha1).values_list("name", flat=True).first()


def _mine(submission: Submission) -> QuerySet[Submission]:
    """This attempt's row, while it is still processing: no other worker took it over since."""
    return Submission.objects.filter(pk=submission.pk, status=Submission.PROCESSING,
                                     attempts=submission.attempts)


def _reserve(submission: Submission, result: dict[str, Any]) -> None:
    """Catalog the new names as `uploaded` rows: invisible to clients, but no one else can take them.

    The result (which names them) is saved in the same transaction, so a worker
    dying before `ready` leaves reservations that `recover_stuck` can find.
    """
    rows = [
        File(name=name, observatory=settings.OBSERVATORY, state="uploaded",
             deliverer_user=submission.user.username, deliverer_email=submission.user.email,
             **_catalog_fields(meta))
        for name, meta in result.get("metadata", {}).items()
    ]
    try:
        with transaction.atomic():
            File.objects.bulk_create(rows)
            if _mine(submission).update(result=result, heartbeat=timezone.now()) != 1:
                raise SubmissionError("Processing of this submission was taken over by another worker.")
            versioning.bump()
    except IntegrityError as exc:
        raise SubmissionError(
            "Another submission took one of the new names at the same moment; resubmit.") from exc


_CATALOG_FIELDS = {"type", "instrument", "filekind", "useafter_date", "pedigree", "description",
                   "sha1sum", "size", "derived_from", "uploaded_as", "change_level", "creator_name",
                   "comment", "reference_file_type", "aperture", "history"}


def _catalog_fields(meta: dict[str, Any]) -> dict[str, Any]:
    fields = {k: v for k, v in meta.items() if k in _CATALOG_FIELDS and v is not None}
    if isinstance(fields.get("useafter_date"), str):
        fields["useafter_date"] = _parse_iso(fields["useafter_date"])
    fields["change_level"] = str(fields.get("change_level", "severe")).lower()
    return fields


def _parse_iso(text: str) -> datetime.datetime | None:
    try:
        stamp = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=datetime.UTC)


def _ready(submission: Submission, result: dict[str, Any]) -> str:
    failed = result.get("certify_only") and not result.get("ok")
    status = Submission.FAILED if failed else Submission.READY
    now = timezone.now()  # `updated` too: expiry counts from ready (QuerySet.update skips auto_now)
    if _mine(submission).update(status=status, result=result, heartbeat=now, updated=now) != 1:
        return "superseded"  # recover_stuck released this attempt's reservations
    if result.get("certify_only"):  # a certification changes nothing: its links go
        shutil.rmtree(work_dir(submission.id), ignore_errors=True)
    jpoll.done(submission.channel_key, jpoll.DONE_FAILED if failed else jpoll.DONE_OK,
               result_url(submission))
    _notify("failed" if failed else "ready", submission)
    return status


def _fail(submission: Submission, message: str) -> str:
    """End a submission as failed: nothing of it stays but its record and its message."""
    with transaction.atomic():
        reserved = _mine(submission).values_list("result", flat=True).first()
        if _mine(submission).update(status=Submission.FAILED, error=message[:20000]) != 1:
            return "superseded"  # another worker or the recovery owns it now
        _release_reservations(submission, reserved or {})
    shutil.rmtree(work_dir(submission.id) / "staging", ignore_errors=True)
    _restore_uploads(submission)
    try:
        jpoll.log(submission.channel_key, message, "error")
    except JobAborted:
        pass
    jpoll.done(submission.channel_key, jpoll.DONE_FAILED, f"{message} {result_url(submission)}")
    _notify("failed", submission)
    return Submission.FAILED
