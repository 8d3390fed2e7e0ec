"""Submission actions: start, process (in a job), confirm, cancel (expiry and recovery: `recovery`).

Life of a submission (contract §5, features §2):

    start    (web request)   ingest files move into uploads/<id>/incoming; row queued; job queued
    process  (job consumer)  certify, rename, new rules into uploads/<id>/staging; names reserved
                             as `uploaded` catalog rows; ready; jpoll `done`
    confirm  (web request)   staged files renamed into the file store; rows delivered; edit moves;
                             audit; archive delivery; lock released
    cancel / expire          staged files and reserved rows removed; lock released

Every status move is a conditional update of one row, so a double click or two
workers cannot do a step twice.  Every path of `process` ends with a jpoll
`done` message.
"""

from __future__ import annotations

import datetime
import logging
import os
import re
import shutil
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from crds_server.catalog import contexts, versioning
from crds_server.catalog.errors import CatalogError
from crds_server.catalog.models import AuditEntry, ContextPointer, File
from crds_server.jobs import jpoll
from crds_server.jobs.errors import JobAborted
from crds_server.lib import maintenance
from crds_server.locks import actions as locks
from crds_server.locks.errors import LockError

from . import ingest
from .errors import SubmissionError
from .models import Submission

log = logging.getLogger(__name__)
DESCRIPTION_RE = re.compile(r"^[A-Za-z0-9._/,=\-+\s]+$")
KINDS = ("batch", "references", "mappings", "certify")


def work_dir(submission_id: Any) -> Path:
    return settings.SERVER_FILES / "uploads" / str(submission_id)


def result_url(submission: Submission) -> str:
    return f"{settings.PUBLIC_URL}/display_result/{submission.id}"


# ---------------------------------------------------------------- start


def start(user: User, kind: str, form: dict[str, Any], session_key: str) -> Submission:
    """Take the files of the user's ingest area into a new queued submission.

    Except for a certification (which changes nothing), the submitter must hold
    the lock of every instrument the files belong to: the missing locks are
    taken now, all or none (LockError naming the holder when one is taken).
    """
    maintenance.refuse_if_on(SubmissionError)
    if kind not in KINDS:
        raise SubmissionError(f"Unknown submission kind '{kind}'.")
    instrument = str(form.get("instrument") or "none").lower()[:32]
    derive_from = _derive_from(form)
    description = _description(form, required=kind != "certify")
    files = ingest.ingest_paths(user)
    if not files:
        raise SubmissionError("Your ingest area holds no files: upload the files to submit first.")
    instruments = [] if kind == "certify" else instruments_of(files)
    locks.take_for_submission(user, instruments)
    submission = Submission.objects.create(
        user=user, kind=kind, instrument=instrument, instruments=instruments, derive_from=derive_from,
        description=description, creator=str(form.get("creator") or "")[:128],
        change_level=_change_level(form), auto_rename=_flag(form, "auto_rename", True),
        compare_old_reference=_flag(form, "compare_old_reference", False),
        channel_key=jpoll.session_channel(session_key), uploaded=[p.name for p in files],
        extra={k: str(v) for k, v in form.items() if k not in _FORM_FIELDS},
    )
    _take_files(submission, files)
    jpoll.log(submission.channel_key, f"Submission {submission.id} of {len(files)} files queued.")
    _notify("started", submission)
    from .tasks import process_submission  # the job engine entry point

    transaction.on_commit(lambda: process_submission(str(submission.id)))
    return submission


def instruments_of(files: list[Path]) -> list[str]:
    """The instruments the files belong to, as the crds library tells them (header or name).

    A file the library cannot place is left out here: certification then
    fails it, and `_check_instruments` refuses any result touching an
    instrument that is not locked.
    """
    from crds.core import utils

    found = set()
    for path in files:
        try:
            instrument, _ = utils.get_file_properties(settings.OBSERVATORY, str(path))
        except Exception:  # unreadable or foreign: certify reports it
            continue
        if instrument:
            found.add(str(instrument).lower())
    return sorted(found)


_FORM_FIELDS = {"pmap_mode", "pmap_name", "pmap_text", "instrument", "change_level", "creator",
                "description", "auto_rename", "compare_old_reference", "csrfmiddlewaretoken"}


def _derive_from(form: dict[str, Any]) -> str:
    mode = str(form.get("pmap_mode") or "pmap_edit")
    spec = {"pmap_edit": "edit", "pmap_latest": "latest"}.get(mode)
    text = spec if spec else str(form.get("pmap_text") or form.get("pmap_name") or "")
    try:
        context = contexts.resolve(text)
    except CatalogError as exc:
        raise SubmissionError(f"Cannot derive from '{text}': {exc}") from exc
    if not context.endswith(".pmap"):
        raise SubmissionError(f"Derive-from context '{context}' is not a .pmap.")
    return context


def _description(form: dict[str, Any], required: bool) -> str:
    text = str(form.get("description") or "").strip()
    if required and not text:
        raise SubmissionError("A description of the delivery is required.")
    if text and not DESCRIPTION_RE.match(text):
        raise SubmissionError("The description may only hold letters, digits, spaces and . _ / , = - +")
    return text


def _change_level(form: dict[str, Any]) -> str:
    level = str(form.get("change_level") or "SEVERE").upper()
    if level not in ("SEVERE", "MODERATE", "TRIVIAL"):
        raise SubmissionError(f"Unknown change level '{level}'.")
    return level


def _flag(form: dict[str, Any], name: str, default: bool) -> bool:
    value = form.get(name)
    if value is None:
        return default
    return str(value).lower() in ("true", "1", "on", "yes")


def _take_files(submission: Submission, files: list[Path]) -> None:
    """Move the ingest files into the submission's own directory (same file system: renames)."""
    incoming = work_dir(submission.id) / "incoming"
    incoming.mkdir(parents=True, exist_ok=True)
    for path in files:
        os.replace(path, incoming / path.name)


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

    report = certify_files(_incoming(submission), submission.derive_from,
                           compare_old_reference=submission.compare_old_reference,
                           log=_logger(submission))
    return {"certify": _as_json(report), "certify_only": True, "ok": report.ok}


def _prepare(submission: Submission) -> dict[str, Any]:
    from .processing import prepare_submission

    staging = work_dir(submission.id) / "staging"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    prepared = prepare_submission(
        files=_incoming(submission), derive_from=submission.derive_from, staging=staging,
        kind="references" if submission.kind == "batch" else submission.kind,
        auto_rename=submission.auto_rename, description=submission.description,
        change_level=submission.change_level, creator=submission.creator,
        user=submission.user.username, name_taken=_name_taken, sha1_known=_sha1_known,
        log=_logger(submission), compare_old_reference=submission.compare_old_reference,
        generate_contexts=submission.generate_contexts,
    )
    result = prepared.to_json()
    _check_instruments(submission, result)
    _reserve(submission, result)
    return result


def _check_instruments(submission: Submission, result: dict[str, Any]) -> None:
    """Refuse a result that touches an instrument whose lock the submission did not take."""
    touched = {str(meta.get("instrument") or "").lower() for meta in result.get("metadata", {}).values()}
    stray = sorted(touched - {""} - set(submission.instruments))
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
    if _mine(submission).update(status=status, result=result, heartbeat=timezone.now()) != 1:
        return "superseded"  # recover_stuck released this attempt's reservations
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


def _restore_uploads(submission: Submission) -> None:
    """Give failed or cancelled uploads back to the user's ingest area, so nothing is lost."""
    folder = work_dir(submission.id) / "incoming"
    if folder.is_dir():
        target = ingest.ingest_dir(submission.user)
        target.mkdir(parents=True, exist_ok=True)
        for path in folder.iterdir():
            if not (target / path.name).exists():
                os.replace(path, target / path.name)
    shutil.rmtree(work_dir(submission.id), ignore_errors=True)


def _release_reservations(submission: Submission, result: dict[str, Any]) -> None:
    names = list(result.get("metadata", {}))
    with transaction.atomic():
        if File.objects.filter(name__in=names, state="uploaded").delete()[0]:
            versioning.bump()


# ---------------------------------------------------------------- confirm / cancel


def _owned(user: User, submission_id: Any) -> Submission:
    try:
        submission = Submission.objects.select_related("user").filter(pk=submission_id).first()
    except (ValidationError, ValueError):  # not a UUID: a mistyped or forged id
        submission = None
    if submission is None:
        raise SubmissionError(f"No submission '{submission_id}'.")
    from crds_server.accounts.actions import has_role

    if submission.user_id != user.pk and not has_role(user, "operator"):
        raise SubmissionError("Only the submitter or an operator can confirm or cancel this submission.")
    return submission


def collisions(submission: Submission) -> list[str]:
    """Warnings when someone else's context became the edit context since this was derived."""
    edit = contexts.pointer("edit")
    if not edit or edit == submission.derive_from or edit == submission.new_context():
        return []
    return [f"The edit context is now '{edit}', not '{submission.derive_from}' this submission was "
            f"derived from: confirming would drop the changes made in '{edit}'. Cancel and "
            f"resubmit to include them, or force the confirmation."]


def confirm(user: User, submission_id: Any, force: bool = False) -> Submission:
    """Make a ready submission official: files in the store, rows delivered, edit moved."""
    submission = _owned(user, submission_id)
    if submission.status != Submission.READY or submission.result.get("certify_only"):
        raise SubmissionError(f"Submission is {submission.status}, not ready to confirm.")
    names = list(submission.result.get("metadata", {}))
    # Claim first, then check and install inside the claim: a cancel, a second click or
    # another submitter's confirm waits for this transaction and then finds it decided.
    with transaction.atomic():
        moved = Submission.objects.filter(pk=submission.pk, status=Submission.READY).update(
            status=Submission.CONFIRMED)
        if moved != 1:
            raise SubmissionError("This submission was confirmed or cancelled meanwhile.")
        warnings = collisions(submission)
        if warnings and not force:
            raise SubmissionError(warnings[0])
        try:
            locks.require(submission.user, submission.instruments)
        except LockError as exc:
            raise SubmissionError(f"Cannot confirm: {exc}") from exc
        _install(submission, names)
        File.objects.filter(name__in=names, state="uploaded").update(
            state="delivered", delivery_date=timezone.now())
        new_context = submission.new_context()
        if new_context:
            ContextPointer.objects.update_or_create(kind="edit", defaults={"context": new_context})
        AuditEntry.objects.create(
            user=user.username, action="submit file", filename=new_context or names[0],
            why=submission.description, details=str(sorted(names)) + (" (forced)" if warnings else ""))
        versioning.bump()
    submission.refresh_from_db()
    _after_confirm(user, submission, names)
    return submission


def _install(submission: Submission, names: list[str]) -> None:
    """Rename the staged files into the file store (each atomic; not served until confirmed).

    A staged file replaces any stray file of its name; a file already moved by an
    interrupted confirm (staged copy gone, store copy there) counts as installed.
    """
    staging = work_dir(submission.id) / "staging"
    obs = settings.OBSERVATORY
    for name in names:
        source = staging / name
        kind = "mappings" if name.endswith((".pmap", ".imap", ".rmap")) else "references"
        target = settings.FILE_CACHE / kind / obs / name
        if source.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(source, target)
        elif not target.exists():
            raise SubmissionError(f"Staged file '{name}' is missing: cancel and resubmit.")


def _after_confirm(user: User, submission: Submission, names: list[str]) -> None:
    from crds_server.deliveries import actions as deliveries

    try:
        deliveries.deliver(names, user.username, str(submission.id))
    except Exception:  # the catalog is consistent; an operator can redeliver
        log.exception("delivery of submission %s failed; use crds-server redeliver", submission.id)
    locks.release(submission.user)
    shutil.rmtree(work_dir(submission.id), ignore_errors=True)
    _notify("confirmed", submission)


def cancel(user: User, submission_id: Any, status: str = Submission.CANCELLED) -> Submission:
    """Drop a submission that is not confirmed: its staged files and reserved names go."""
    submission = _owned(user, submission_id)
    moved = Submission.objects.filter(
        pk=submission.pk, status__in=[Submission.READY, Submission.FAILED, Submission.QUEUED]
    ).update(status=status)
    if moved != 1:
        raise SubmissionError(f"Submission is {submission.status}: it cannot be cancelled.")
    _release_reservations(submission, submission.result)
    _restore_uploads(submission)
    locks.release(submission.user)
    submission.refresh_from_db()
    _notify("cancelled", submission)
    return submission


def _notify(kind: str, submission: Submission) -> None:
    try:
        from crds_server.notify.actions import send_notice

        send_notice(kind, user_email=submission.user.email, username=submission.user.username,
                    subject_detail=submission.new_context() or submission.description[:60],
                    context={"submission": submission, "url": result_url(submission),
                             "description": submission.description, "error": submission.error,
                             "files": submission.result.get("renamed", {}),
                             "new_context": submission.new_context()})
    except Exception:  # mail trouble never stops a submission
        log.exception("notice %s for submission %s not sent", kind, submission.pk)
