"""Helpers shared by the submission actions: work directories, result URLs, uploads, notices."""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction

from crds_server.catalog import versioning
from crds_server.catalog.models import File

from . import ingest
from .models import Submission

log = logging.getLogger(__name__)


def work_dir(submission_id: Any) -> Path:
    """The submission's own directory: `incoming` (its uploads) and `staging` (its new files)."""
    return settings.SERVER_FILES / "uploads" / str(submission_id)


def result_url(submission: Submission) -> str:
    return f"{settings.PUBLIC_URL}/display_result/{submission.id}"


def restore_uploads(submission: Submission) -> None:
    """Give failed, cancelled or certified uploads back to the user's ingest area, so nothing is lost."""
    folder = work_dir(submission.id) / "incoming"
    if folder.is_dir():
        target = ingest.ingest_dir(submission.user)
        target.mkdir(parents=True, exist_ok=True)
        for path in folder.iterdir():
            if not (target / path.name).exists():
                os.replace(path, target / path.name)
    shutil.rmtree(work_dir(submission.id), ignore_errors=True)


def release_reservations(submission: Submission, result: dict[str, Any]) -> None:
    """Delete the `uploaded` rows that reserved the submission's new names."""
    names = list(result.get("metadata", {}))
    with transaction.atomic():
        if File.objects.filter(name__in=names, state="uploaded").delete()[0]:
            versioning.bump()


def notify(kind: str, submission: Submission) -> None:
    """Mail the notice `kind` about `submission`; mail trouble never stops a submission."""
    try:
        from crds_server.notify.actions import send_notice

        send_notice(kind, user_email=submission.user.email, username=submission.user.username,
                    subject_detail=submission.new_context() or submission.description[:60],
                    context={"submission": submission, "url": result_url(submission),
                             "description": submission.description, "error": submission.error,
                             "files": submission.result.get("renamed", {}),
                             "new_context": submission.new_context()})
    except Exception:
        log.exception("notice %s for submission %s not sent", kind, submission.pk)
