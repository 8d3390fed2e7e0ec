"""Helpers of the submission tests: personas with locks, new references in an ingest area, runs."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import User

from crds_server.accounts.actions import create_user
from crds_server.catalog.models import File
from crds_server.jobs import jpoll
from crds_server.jobs.models import Message
from crds_server.locks import actions as locks
from crds_server.submissions import actions, ingest
from crds_server.submissions.models import Submission
from tests.test_processing import new_reference

COS_RMAP = "hst_cos_flatfile_0001.rmap"
# Keywords a COS flat must carry that the demo references do not.
COS_KEYWORDS = {"LIFE_ADJ": 1, "VCALCOS": "3.4"}
FORM = {"pmap_mode": "pmap_edit", "pmap_name": "", "change_level": "SEVERE", "creator": "Tess Ter",
        "description": "A new dark for the tests", "auto_rename": "True", "compare_old_reference": "False"}


def persona(name: str, role: str = "submitter", instrument: str | None = None, **extra) -> User:
    """A user of `role`, holding the lock on `instrument` when one is given."""
    user = create_user(name, f"{name}@example.org", role, **extra)
    if instrument:
        locks.acquire(user, instrument)
    return user


def put_in_ingest(demo_cache, user: User, name: str, useafter: str = "Jan 01 2005 00:00:00",
                  rmap_name: str = "hst_acs_darkfile_0001.rmap", **keywords: str) -> Path:
    """A valid new reference (see tests/test_processing.py) in the user's ingest area."""
    folder = ingest.ingest_dir(user, create=True)
    return new_reference(demo_cache, folder, name, useafter, rmap_name, **keywords)


def start(user: User, instrument: str = "acs", kind: str = "batch", **form: str) -> Submission:
    """Start a submission of the user's ingest area on a fresh jpoll channel."""
    session = f"{user.username}-session"
    jpoll.open_channel(session, user.username)
    return actions.start(user, kind, dict(FORM, instrument=instrument, **form), session)


def run(user: User, instrument: str = "acs", kind: str = "batch", **form: str) -> Submission:
    """Start and process one submission, as the job consumer would; the fresh row."""
    submission = start(user, instrument, kind, **form)
    actions.process(str(submission.id))
    submission.refresh_from_db()
    return submission


def done_messages(submission: Submission) -> list[dict]:
    """The `done` messages of the submission's channel."""
    return [m.data for m in Message.objects.filter(channel__key=submission.channel_key, type="done")]


def store_files() -> set[str]:
    """Every file of the file store's mappings and references, relative to the store."""
    root = Path(settings.FILE_CACHE)
    return {str(p.relative_to(root)) for kind in ("mappings", "references")
            for p in (root / kind).rglob("*") if p.is_file()}


_before_test: set[str] = set()


def remember_store() -> None:
    """Note the store's files at the start of a test: other tests of the session leave
    theirs behind (the database rolls back, the file system does not)."""
    _before_test.clear()
    _before_test.update(store_files())


def uncatalogued(files: set[str]) -> set[str]:
    """Those of `files` (store paths) that the catalog does not know, and that this test made."""
    names = {Path(f).name: f for f in files if f not in _before_test}
    known = set(File.objects.filter(name__in=list(names)).values_list("name", flat=True))
    return {path for name, path in names.items() if name not in known}
