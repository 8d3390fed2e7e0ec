"""A lived-in demo server: months of history made with the server's own actions.

After the demo cache is imported, `live_in` plays a short operational story
with the real verbs, so every page and RPC has something true to show:

1. a submitter delivers a new reference (a modified copy of a demo one with a
   later USEAFTER) through `submissions.actions` start -> process -> confirm;
   an operator makes the new context latest (`catalog.actions.set_context`);
2. the same reference turns out wrong and a corrected file replaces it (same
   selection, so the library's rules refactoring swaps it), made latest too;
3. the first file is marked bad (`catalog.actions.mark_bad`): it is in an
   older context, not in latest;
4. the archive takes both deliveries (`deliveries.actions.simulate_archive`
   until the catalogs are gone, then `watch`), so they end `archived`;
5. the affected-datasets runs of both transitions are computed
   (`reprocessing.actions`), whose reports list the datasets whose best
   references changed.

Only the dates are staged: each context history entry is moved back to a
fixed day of the story (the actions stamp "now"), so the history reads like
weeks of operation.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from astropy.io import fits
from crds.core import rmap
from django.conf import settings
from django.contrib.auth.models import User
from django.utils import timezone

from crds_server.catalog import actions as catalog_actions
from crds_server.catalog import contexts
from crds_server.catalog.models import ContextHistory, File
from crds_server.deliveries import actions as deliveries
from crds_server.jobs import jpoll
from crds_server.reprocessing import actions as reprocessing
from crds_server.submissions import actions as submissions
from crds_server.submissions import ingest
from crds_server.submissions.models import Submission

#: The reference each observatory's story replaces: (instrument, type, new USEAFTER), in
#: the header's own format.  Profile-0 demo datasets are observed a year after the first
#: demo USEAFTER, so a USEAFTER between the two moves their best reference.
STORY = {
    "hst": ("acs", "darkfile", "USEAFTER", "Jan 01 1997 00:00:00"),
    "jwst": ("miri", "flat", "USEAFTER", "2022-01-01T00:00:00"),
}
#: Days before today of the history entries: import, first delivery, its correction.
HISTORY_DAYS = (90, 45, 14)


class DemoStoryError(Exception):
    """A step of the demo story did not end as it must (a bug, reported to the operator)."""


@dataclass
class Story:
    """What `live_in` did: contexts in history order, submissions, the bad file, runs."""

    contexts: list[str] = field(default_factory=list)
    submissions: list[str] = field(default_factory=list)
    delivered: list[str] = field(default_factory=list)
    bad_file: str = ""
    affected: dict[str, int] = field(default_factory=dict)


def live_in(submitter: User, operator: User, log: Callable[[str], None] = lambda line: None) -> Story:
    """Play the demo story on a freshly imported demo catalog; see the module docstring."""
    observatory = settings.OBSERVATORY
    if observatory not in STORY:
        return Story()
    story = Story(contexts=[contexts.pointer("latest")])
    first = _deliver(submitter, operator, "demo_new.fits", "A new demo reference", story)
    log(f"Delivered {first} in {story.contexts[-1]}")
    second = _deliver(submitter, operator, "demo_fixed.fits", "Corrected demo reference", story)
    log(f"Replaced it by {second} in {story.contexts[-1]}")
    catalog_actions.mark_bad(operator.username, [first], f"Demo, {first} was delivered with wrong data.")
    story.bad_file = first
    _date_history()
    story.affected = _affected(story.contexts)
    log(f"Affected datasets: {story.affected}")
    return story


def _deliver(submitter: User, operator: User, upload: str, description: str, story: Story) -> str:
    """Submit, process and confirm one modified demo reference; make its context latest."""
    new_reference(ingest.ingest_dir(submitter, create=True) / upload, story.contexts[-1], description)
    session = f"demo-{upload}"
    jpoll.open_channel(session, submitter.username)
    form = {"pmap_mode": "pmap_edit", "instrument": STORY[settings.OBSERVATORY][0],
            "change_level": "SEVERE", "creator": "Demo Team", "description": description,
            "auto_rename": "True", "compare_old_reference": "False"}
    submission = submissions.start(submitter, "batch", form, session)
    submissions.process(str(submission.id))  # as the job would (a no-op if jobs run immediately)
    submission.refresh_from_db()
    if submission.status != Submission.READY:
        raise DemoStoryError(f"Demo submission is {submission.status}: {submission.error}")
    confirmed = submissions.confirm(submitter, submission.id)
    new_context = confirmed.new_context()
    _archive()  # only a context whose files the archive holds may become latest
    catalog_actions.set_context(operator.username, new_context, "latest", description)
    story.contexts.append(new_context)
    story.submissions.append(str(submission.id))
    names = sorted(n for n in confirmed.result.get("metadata", {}) if not _is_mapping(n))
    story.delivered.extend(names)
    return names[0]


def _is_mapping(name: str) -> bool:
    return name.endswith((".pmap", ".imap", ".rmap"))


def reference_to_replace(context: str) -> Path:
    """The store path of the first demo reference of the story's type in `context`."""
    instrument, filekind, _, _ = STORY[settings.OBSERVATORY]
    loaded = rmap.get_cached_mapping(context).get_imap(instrument).get_rmap(filekind)
    name = sorted(loaded.reference_names())[0]
    return settings.FILE_CACHE / "references" / settings.OBSERVATORY / name


def new_reference(path: Path, context: str, description: str, useafter: str | None = None) -> None:
    """A copy of a demo reference with another USEAFTER (the story's by default): it certifies
    like the original."""
    _, _, useafter_key, story_useafter = STORY[settings.OBSERVATORY]
    useafter = useafter or story_useafter
    with fits.open(reference_to_replace(context)) as hdus:
        hdus[0].header[useafter_key] = useafter
        hdus[0].header["DESCRIP"] = description
        hdus.writeto(path, overwrite=True)


#: USEAFTER of the file `ship_files` leaves for visitors to submit: later than the story's.
SHIPPED_USEAFTER = {"hst": "Jan 01 1998 00:00:00", "jwst": "2023-01-01T00:00:00"}


def ship_files(folder: Path, context: str) -> list[Path]:
    """Leave a ready-to-submit reference (a certifiable modified demo one) in `folder`."""
    if settings.OBSERVATORY not in STORY:
        return []
    instrument, filekind, _, _ = STORY[settings.OBSERVATORY]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"demo_{instrument}_{filekind}_to_submit.fits"
    new_reference(path, context, "A demo reference to submit", SHIPPED_USEAFTER[settings.OBSERVATORY])
    return [path]


def _archive() -> None:
    """Play the archive until every delivery catalog is taken, then follow it."""
    for _ in range(3):  # .cat -> .cat_submit -> .cat_archiving -> gone
        deliveries.simulate_archive()
    deliveries.watch()


def _date_history() -> None:
    """Move the story's history entries back to fixed days before today (oldest first)."""
    today = timezone.now().replace(hour=9, minute=0, second=0, microsecond=0)
    rows = list(ContextHistory.objects.order_by("start_date", "id"))[-len(HISTORY_DAYS):]
    for row, days in zip(rows, HISTORY_DAYS[-len(rows):], strict=True):
        moved = today - datetime.timedelta(days=days)
        ContextHistory.objects.filter(pk=row.pk).update(start_date=moved)
        # Files first made active by this era were dated with its start: they move with it.
        File.objects.filter(activation_date=row.start_date).update(activation_date=moved)


def _affected(names: list[str]) -> dict[str, int]:
    """Compute the affected-datasets run of every transition: {"old -> new": exposures affected}."""
    found = {}
    for old, new in zip(names, names[1:], strict=False):
        run = reprocessing.work(reprocessing.start_run(old, new))
        found[f"{old} -> {new}"] = run.affected_exposures
    return found
