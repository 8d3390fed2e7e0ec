"""Periodic submission work: expire submissions nobody confirmed, recover those whose worker died.

Both run from the job consumer's schedule (`tasks.py`); the recovery also from
`crds-server recover-submissions`.  Every move is a conditional update, as in
`actions`, so they can race a confirm or a live worker safely.
"""

from __future__ import annotations

import datetime
import shutil

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from crds_server.jobs import jpoll

from . import actions
from .errors import SubmissionError
from .models import Submission

STUCK_AFTER = datetime.timedelta(minutes=5)
MAX_ATTEMPTS = 2


def expire_stale(now: datetime.datetime | None = None) -> list[str]:
    """Cancel submissions left ready (or failed) longer than SUBMISSION_EXPIRY_HOURS."""
    cutoff = (now or timezone.now()) - datetime.timedelta(hours=settings.SUBMISSION_EXPIRY_HOURS)
    stale = Submission.objects.filter(status__in=[Submission.READY, Submission.FAILED],
                                      updated__lt=cutoff).select_related("user")
    expired = []
    for submission in stale:
        try:
            actions.cancel(submission.user, submission.pk, status=Submission.EXPIRED)
            expired.append(str(submission.pk))
        except SubmissionError:
            continue
    return expired


def recover_stuck(now: datetime.datetime | None = None,
                  older_than: datetime.timedelta = STUCK_AFTER) -> list[str]:
    """Requeue submissions whose worker died (no heartbeat for `older_than`) from a clean state,
    or fail them after MAX_ATTEMPTS; enqueue again queued ones whose job was lost."""
    cutoff = (now or timezone.now()) - older_than
    recovered: list[str] = []
    for submission in Submission.objects.filter(status=Submission.PROCESSING, heartbeat__lt=cutoff):
        if submission.attempts >= MAX_ATTEMPTS:
            actions._fail(submission, "Processing was interrupted twice (worker stopped); giving up.")
        elif _requeue(submission):
            from .tasks import process_submission

            jpoll.log(submission.channel_key, "Processing was interrupted; starting again.", "warning")
            process_submission(str(submission.pk))
        recovered.append(str(submission.pk))
    lost = Submission.objects.filter(status=Submission.QUEUED, created__lt=cutoff).exclude(pk__in=recovered)
    for submission in lost:
        from .tasks import process_submission

        process_submission(str(submission.pk))  # its job was lost; the claim stops doubles
        recovered.append(str(submission.pk))
    return recovered


def _requeue(submission: Submission) -> bool:
    """Back to queued with no staged file and no reserved name, as if never processed."""
    with transaction.atomic():
        if actions._mine(submission).update(status=Submission.QUEUED, result={}) != 1:
            return False
        actions._release_reservations(submission, submission.result)
    shutil.rmtree(actions.work_dir(submission.id) / "staging", ignore_errors=True)
    return True
