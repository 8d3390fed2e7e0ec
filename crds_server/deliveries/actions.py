"""Deliveries to the archive: confirmed files and a numbered catalog, and the archive's progress.

`deliver` hard-links the files into ``server_files/deliveries`` with a
catalog ``<obs>_<NNNN>.cat`` listing them (its permanent twin stays in
``server_files/catalogs``).  The archive tells its progress by renaming the
catalog (docs/operations.md, "Delivery to the archive"):

    <name>.cat            delivered, waiting for the archive
    <name>.cat_submit     submitted: the archive picked it up
    <name>.cat_archiving  archiving
    <name>.cat_failed     archiving failed
    (gone)                archived: the archive removed the catalog and the links

`watch` reads those names back into `Delivery.state` and `File.state`.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import uuid
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Max

from crds_server.catalog import versioning
from crds_server.catalog.models import AuditEntry, File

from .errors import (
    DeliveryAreaMissing,
    DeliveryError,
    DeliveryInProgress,
    UndeliverableFiles,
    UnknownDelivery,
)
from .models import Delivery

log = logging.getLogger(__name__)

DELIVERED, SUBMITTED, ARCHIVING = Delivery.DELIVERED, Delivery.SUBMITTED, Delivery.ARCHIVING
ARCHIVED, FAILED = Delivery.ARCHIVED, Delivery.FAILED
# The catalog's suffix in the deliveries directory -> the state it stands for.
SUFFIXES = {".cat": DELIVERED, ".cat_submit": SUBMITTED, ".cat_archiving": ARCHIVING, ".cat_failed": FAILED}
# States only move to a higher rank; archived and failed are final (redeliver reopens).
RANK = {DELIVERED: 0, SUBMITTED: 1, ARCHIVING: 2, ARCHIVED: 3, FAILED: 3}
FINAL = (ARCHIVED, FAILED)
IN_FLIGHT = (DELIVERED, SUBMITTED, ARCHIVING)
# Confirmed files not yet handed to the archive: confirm marks them delivered (distributable
# at once), and `catalog_link` stays empty until their catalog is written.
DELIVERABLE_STATES = ("uploaded", "delivered")
# Errors for which a hard link is impossible but a copy would work.
_NO_LINK = {errno.EXDEV, errno.EPERM, errno.EMLINK, errno.EOPNOTSUPP, errno.ENOTSUP}
ARCHIVE_USER = "archive"


def deliveries_dir() -> Path:
    """The directory shared with the archive (cross-mounted on its machines)."""
    return Path(settings.SERVER_FILES) / "deliveries"


def catalogs_dir() -> Path:
    """The server's permanent store of every delivery catalog."""
    return Path(settings.SERVER_FILES) / "catalogs"


def deliver(names: list[str], user: str, submission_id: str = "") -> Delivery:
    """Hand confirmed files to the archive: link them and a new numbered catalog into deliveries.

    The files move to `delivered`; the catalog appears in the deliveries
    directory last, once every file it lists is there, so the archive never
    sees a catalog whose files are missing.  A file is delivered once only.
    """
    rows = _deliverable(names)
    for folder in (deliveries_dir(), catalogs_dir()):
        folder.mkdir(parents=True, exist_ok=True)
    made: list[Path] = []
    try:
        with transaction.atomic():
            delivery = _reserve(list(names), user, submission_id)
            permanent = _write_catalog(delivery.catalog, delivery.files)
            made.append(permanent)
            moved = File.objects.filter(
                name__in=names, state__in=DELIVERABLE_STATES, catalog_link=""
            ).update(state=DELIVERED, catalog_link=str(permanent))
            if moved != len(names):
                raise UndeliverableFiles("Some files were delivered or changed meanwhile.")
            for row in rows:
                if _link(row.store_path(), deliveries_dir() / row.name):
                    made.append(deliveries_dir() / row.name)
            AuditEntry.objects.create(
                user=user, action="deliver", filename=delivery.catalog,
                why=f"submission {submission_id}" if submission_id else "",
                details=" ".join(delivery.files))
            versioning.bump()
            if _link(permanent, deliveries_dir() / delivery.catalog):
                made.append(deliveries_dir() / delivery.catalog)
    except BaseException:
        for path in reversed(made):
            path.unlink(missing_ok=True)
        raise
    return delivery


def _deliverable(names: list[str]) -> list[File]:
    """The rows of `names`, checked: known, in the store, confirmed and never delivered."""
    if not names or len(set(names)) != len(names):
        raise UndeliverableFiles("A delivery needs a list of distinct file names.")
    rows = list(File.objects.filter(name__in=names))
    problems = sorted(set(names) - {row.name for row in rows})
    problems += [f"{r.name} (not in the file store)" for r in rows if not r.store_path().exists()]
    problems += [f"{r.name} (state {r.state})" for r in rows
                 if r.state not in DELIVERABLE_STATES or r.catalog_link]
    if problems:
        raise UndeliverableFiles(f"Cannot deliver: {', '.join(problems)}.")
    return rows


def _catalog_name(number: int) -> str:
    return f"{settings.OBSERVATORY}_{number:04d}.cat"


def _reserve(names: list[str], user: str, submission_id: str) -> Delivery:
    """A new Delivery row with the next free number; the unique column settles races."""
    tried = 0
    for _ in range(20):
        number = max(tried + 1, (Delivery.objects.aggregate(m=Max("number"))["m"] or 0) + 1)
        while (catalogs_dir() / _catalog_name(number)).exists():  # e.g. a restored database
            number += 1
        try:
            with transaction.atomic():
                return Delivery.objects.create(
                    number=number, catalog=_catalog_name(number), files=names, user=user,
                    submission=submission_id)
        except IntegrityError:
            tried = number
    raise DeliveryError("Could not reserve a delivery number; try again.")


def _write_catalog(catalog: str, names: list[str]) -> Path:
    """Write the permanent catalog (one file name a line) through a temporary name."""
    path = catalogs_dir() / catalog
    temp = path.with_name(f".tmp-{catalog}-{os.getpid()}")
    with open(temp, "w") as stream:
        stream.write("".join(f"{name}\n" for name in names))
        stream.flush()
        os.fsync(stream.fileno())
    os.replace(temp, path)
    return path


def _link(source: Path, target: Path) -> bool:
    """Hard-link `source` at `target` through a temporary name; False if already linked.

    References reach several GB, so they are never copied unless linking is
    impossible (another file system); that fallback is logged.
    """
    if target.exists() and os.path.samefile(source, target):
        return False
    temp = target.with_name(f".tmp-{target.name}")
    temp.unlink(missing_ok=True)
    try:
        os.link(source, temp)
    except OSError as exc:
        if exc.errno not in _NO_LINK:
            raise
        log.warning("Cannot hard-link %s into %s (%s): copying it.", source, target.parent, exc.strerror)
        shutil.copyfile(source, temp)
    os.replace(temp, target)
    return True


def watch() -> list[tuple[str, str, str]]:
    """Follow the archive: move each unfinished delivery to the state its catalog's name shows.

    Returns (catalog, old state, new state) for every delivery that moved.
    States never move backwards; running it twice changes nothing more.
    """
    open_deliveries = list(Delivery.objects.exclude(state__in=FINAL).order_by("number"))
    # Listed after the rows were read: a delivery's catalog is linked before its row commits.
    present = set(os.listdir(_area()))
    changes = []
    for delivery in open_deliveries:
        new = _observed_state(delivery.catalog, present)
        if RANK[new] > RANK[delivery.state] and _advance(delivery, new):
            changes.append((delivery.catalog, delivery.state, new))
            _announce(delivery, new)
    return changes


def _area() -> Path:
    """The deliveries directory; refuse to read "no catalog" from a missing cross-mount."""
    folder = deliveries_dir()
    if not folder.is_dir():
        raise DeliveryAreaMissing(f"The deliveries directory {folder} does not exist.")
    return folder


def _observed_state(catalog: str, present: set[str]) -> str:
    stem = catalog.removesuffix(".cat")
    found = [state for suffix, state in SUFFIXES.items() if stem + suffix in present]
    return max(found, key=RANK.__getitem__) if found else ARCHIVED


def _advance(delivery: Delivery, new: str) -> bool:
    """Move one delivery and its files on to `new`; False if another watcher moved it first."""
    with transaction.atomic():
        if Delivery.objects.filter(pk=delivery.pk, state=delivery.state).update(state=new) != 1:
            return False
        earlier = [state for state in IN_FLIGHT if RANK[state] < RANK[new]]
        moved = File.objects.filter(name__in=delivery.files, state__in=earlier).update(state=new)
        AuditEntry.objects.create(
            user=ARCHIVE_USER, action="delivery state", filename=delivery.catalog,
            why="archive progress", details=f"{delivery.state} -> {new}; {moved} file(s) moved")
        if moved:
            versioning.bump()
    return True


def _announce(delivery: Delivery, state: str) -> None:
    """Tell the deliverer and the notify list that a delivery was archived or failed."""
    if state not in FINAL:
        return
    from crds_server.notify.actions import send_notice
    from crds_server.submissions.models import Submission

    owner = get_user_model().objects.filter(username=delivery.user).first()
    # The submission (when known) carries the ReDCaT other_email addresses to tell too.
    submission = Submission.objects.filter(pk=delivery.submission).first() if _uuid(
        delivery.submission) else None
    send_notice("archived" if state == ARCHIVED else "archiving-failed",
                user_email=getattr(owner, "email", ""), username=delivery.user,
                subject_detail=delivery.catalog,
                context={"catalog": delivery.catalog, "files": delivery.files,
                         "submission": submission,
                         "description": f"Delivery {delivery.catalog}: {state}."})


def _uuid(text: str) -> bool:
    try:
        uuid.UUID(str(text))
    except ValueError:
        return False
    return True


def redeliver(number: int, user: str = "operator") -> Delivery:
    """Recreate delivery `number`'s links from its permanent catalog and reopen it as delivered.

    Refused while the archive holds the catalog (submitted or archiving);
    a failed delivery's `.cat_failed` is replaced by a fresh `.cat`.
    """
    delivery = Delivery.objects.filter(number=number).first()
    if delivery is None:
        raise UnknownDelivery(f"Unknown delivery number {number}.")
    folder, stem = _area(), delivery.catalog.removesuffix(".cat")
    busy = [stem + s for s in (".cat_submit", ".cat_archiving") if (folder / (stem + s)).exists()]
    if busy:
        raise DeliveryInProgress(f"The archive is working on {busy[0]}; wait for it to finish.")
    permanent = catalogs_dir() / delivery.catalog
    if not permanent.exists():
        raise DeliveryError(f"The permanent catalog {permanent} is missing.")
    names = permanent.read_text().split()
    rows = {row.name: row for row in File.objects.filter(name__in=names)}
    missing = [n for n in names if n not in rows or not rows[n].store_path().exists()]
    if missing:
        raise UndeliverableFiles(f"Cannot redeliver: {', '.join(missing)} missing from the store.")
    (folder / (stem + ".cat_failed")).unlink(missing_ok=True)
    for name in names:
        _link(rows[name].store_path(), folder / name)
    _link(permanent, folder / delivery.catalog)  # last, as in deliver
    _reopen(delivery, names, user)
    return Delivery.objects.get(pk=delivery.pk)


def _reopen(delivery: Delivery, names: list[str], user: str) -> None:
    with transaction.atomic():
        if Delivery.objects.filter(pk=delivery.pk, state=delivery.state).update(state=DELIVERED) != 1:
            raise DeliveryError(f"Delivery {delivery.catalog} changed meanwhile; try again.")
        moved = File.objects.filter(
            name__in=names, state__in=(SUBMITTED, ARCHIVING, ARCHIVED, FAILED)).update(state=DELIVERED)
        AuditEntry.objects.create(
            user=user, action="redeliver", filename=delivery.catalog, why="redelivery",
            details=f"{delivery.state} -> {DELIVERED}; {moved} file(s) moved")
        if moved:
            versioning.bump()


def recent(count: int = 50) -> list[Delivery]:
    """The `count` newest deliveries, newest first."""
    return list(Delivery.objects.order_by("-number")[:count])


def pending() -> list[Delivery]:
    """Deliveries the archive has not archived yet (failed ones included), oldest first."""
    return list(Delivery.objects.exclude(state=ARCHIVED).order_by("number"))


def simulate_archive(fail: bool = False) -> list[tuple[str, str]]:
    """Play the archive for one step: advance every catalog in deliveries by one protocol name.

    `.cat` -> `.cat_submit` -> `.cat_archiving` -> removed with its file links
    (or `.cat_failed` when `fail`).  Returns (old name, new name or "") pairs.
    For tests and demos only: the real archive does this on its own machines.
    """
    folder = _area()
    steps = {".cat": ".cat_submit", ".cat_submit": ".cat_archiving",
             ".cat_archiving": ".cat_failed" if fail else ""}
    moves = []
    for name in sorted(os.listdir(folder)):  # one listing, so nothing moves twice
        stem, dot, suffix = name.rpartition(".")
        if name.startswith(".") or not dot or f".{suffix}" not in steps:
            continue
        target = stem + steps[f".{suffix}"] if steps[f".{suffix}"] else ""
        if target:
            os.rename(folder / name, folder / target)
        else:
            for listed in (folder / name).read_text().split():
                (folder / listed).unlink(missing_ok=True)
            (folder / name).unlink()
        moves.append((name, target))
    return moves
