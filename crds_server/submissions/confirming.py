"""Confirm and cancel a ready submission (feature map S7): the end of the one state machine.

Every kind (batch, references, mappings, delete, add) ends here: confirm
renames the staged files into the store, delivers them, moves the edit
context when the submission made a new one, audits and releases the locks;
cancel drops staged files and reserved names, gives the uploads back,
audits and releases the locks.
"""

from __future__ import annotations

import logging
import os
import shutil
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from crds_server.accounts.actions import has_role
from crds_server.catalog import versioning
from crds_server.catalog.models import AuditEntry, ContextPointer, File
from crds_server.locks import actions as locks
from crds_server.locks.errors import LockError

from . import common
from .collisions import collisions, dropped_instruments
from .errors import SubmissionError
from .models import Submission

log = logging.getLogger(__name__)


def _owned(user: User, submission_id: Any) -> Submission:
    try:
        submission = Submission.objects.select_related("user").filter(pk=submission_id).first()
    except (ValidationError, ValueError):  # not a UUID: a mistyped or forged id
        submission = None
    if submission is None:
        raise SubmissionError(f"No submission '{submission_id}'.")
    if submission.user_id != user.pk and not has_role(user, "operator"):
        raise SubmissionError("Only the submitter or an operator can confirm or cancel this submission.")
    return submission


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
            status=Submission.CONFIRMED, updated=timezone.now())  # `updated`: when it was confirmed
        if moved != 1:
            raise SubmissionError("This submission was confirmed or cancelled meanwhile.")
        warnings = collisions(submission, user)
        if warnings and not force:
            raise SubmissionError(" ".join(warnings))
        dropped = dropped_instruments(submission) if warnings else set()
        if dropped and not has_role(user, "operator"):
            raise SubmissionError(
                f"Forcing would drop the changes the edit context made to {', '.join(sorted(dropped))}, "
                "whose lock this submission does not hold: cancel and resubmit from the edit context, "
                "or ask an operator to force it.")
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
    staging = common.work_dir(submission.id) / "staging"
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
    shutil.rmtree(common.work_dir(submission.id), ignore_errors=True)
    common.notify("confirmed", submission)


def cancel(user: User, submission_id: Any, status: str = Submission.CANCELLED) -> Submission:
    """Drop a submission that is not confirmed: its staged files and reserved names go.

    The cancel (or expiry) is audited, so Recent Activity lists it next to confirmations.
    """
    submission = _owned(user, submission_id)
    with transaction.atomic():
        moved = Submission.objects.filter(
            pk=submission.pk, status__in=[Submission.READY, Submission.FAILED, Submission.QUEUED]
        ).update(status=status)
        if moved != 1:
            raise SubmissionError(f"Submission is {submission.status}: it cannot be cancelled.")
        action = "expire submission" if status == Submission.EXPIRED else "cancel submission"
        named = submission.new_context() or next(iter(submission.uploaded or []), "") or \
            next(iter((submission.extra or {}).get("references") or []), "")
        AuditEntry.objects.create(user=user.username, action=action, filename=str(named)[:128],
                                  why=submission.description,
                                  details=f"submission {submission.id} ({submission.kind})")
    common.release_reservations(submission, submission.result)
    common.restore_uploads(submission)
    locks.release(submission.user)
    submission.refresh_from_db()
    common.notify("cancelled", submission)
    return submission
