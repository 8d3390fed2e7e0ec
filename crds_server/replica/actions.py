"""Replicate another CRDS server through the client's public API, and follow it.

One catch-up: read the source (server info, context history, the whole
catalog, build contexts), fetch every file this store lacks (verified,
resumable, in parallel), then write the catalog rows, flags, pointers, build
contexts and history in one transaction.  Nothing changes here before every
file is in place, so a source that is down, slow or wrong leaves the replica
serving its last consistent state.  When the source's latest context moved,
this server's own affected-datasets run is started on its own datasets.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from crds_server.catalog import adopting, contexts, records, versioning
from crds_server.catalog.models import AuditEntry, File
from crds_server.jobs.engine import LeaseHeld, held
from crds_server.reprocessing import actions as reprocessing
from crds_server.reprocessing import tasks as reprocessing_tasks
from crds_server.reprocessing.errors import ReprocessingError

from . import closure, fetch, rows
from .errors import ReplicaError
from .models import ReplicaState
from .source import Source

log = logging.getLogger(__name__)
POINTERS = ("latest", "edit", "versions")
USER = "replica"
LOCK = "replicate"  # a lease (jobs/leases.py): a killed catch-up holds it only until it expires


@dataclass
class CatchUp:
    """What one catch-up did."""

    source: str
    records_changed: int = 0
    files_fetched: int = 0
    bytes_fetched: int = 0
    latest_before: str = ""
    latest: str = ""
    moved: list[str] = field(default_factory=list)  # pointers, builds, history that changed
    affected: str = ""  # the affected-datasets run started here, or why none could be
    seconds: float = 0.0

    def line(self) -> str:
        if not (self.records_changed or self.files_fetched or self.moved):
            return (f"Nothing new on {self.source} (latest context {self.latest}): "
                    f"0 files downloaded, {self.seconds:.1f} s.")
        text = (f"Caught up with {self.source}: {self.records_changed} catalog records new or "
                f"changed, {self.files_fetched} files downloaded ({self.bytes_fetched} bytes), "
                f"{', '.join(self.moved) or 'no pointer moved'}; latest context {self.latest}; "
                f"{self.seconds:.1f} s.")
        return text + (f" {self.affected}" if self.affected else "")


def catch_up(source_url: str, *, workers: int = 4, keep_contexts: int = 0,
             calvers: tuple[str, ...] = (), timeout: float = 60.0, progress: bool = False) -> CatchUp:
    """Bring this server up to the source's state; ReplicaError (and nothing changed) when it cannot.

    `keep_contexts` N > 0 keeps only the rules and references of the last N
    contexts of the history (and of the current pointers).  `calvers` are the
    calibration software versions whose build contexts are asked for (the
    public API does not list them); without any, the source's newest build
    context is kept under version 0.
    """
    url = source_url.rstrip("/")
    _refuse_other_source(url)
    start = time.monotonic()
    try:
        # One catch-up at a time, whether the command or the periodic job runs it: a lease in
        # the database, seen by every consumer and command.
        with held(LOCK):
            report = _catch_up(Source(url, settings.OBSERVATORY, timeout), workers, keep_contexts,
                               calvers, progress)
    except LeaseHeld as exc:
        raise ReplicaError(f"Another catch-up with {url} is running (lock '{LOCK}').") from exc
    except ReplicaError as exc:
        _record_failure(url, str(exc))
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as exc:  # answers of an unexpected shape
        why = f"{url} answered in a form this server cannot read ({type(exc).__name__}: {exc})."
        _record_failure(url, why)
        raise ReplicaError(why) from exc
    report.seconds = time.monotonic() - start
    return report


def _catch_up(source: Source, workers: int, keep: int, calvers: tuple[str, ...], progress: bool) -> CatchUp:
    info = source.server_info()
    history = _history(source.history())
    catalog = source.records()
    for name in catalog:
        fetch.check_name(name)
    pointers = {kind: str(info.get(f"{kind}_context") or "") for kind in POINTERS}
    pointers["latest"] = pointers["latest"] or str(info.get("operational_context") or "")
    builds = _builds(source, info, calvers)
    local = records.all_records()
    _refuse_other_bytes(catalog, local)
    fetcher = closure.Fetcher(source, info, catalog, local, workers, progress)
    if keep > 0:
        roots = _last_contexts(history, keep) | {c for c in [*pointers.values(), *builds.values()] if c}
        names = fetcher.fetch_closure(roots)
    else:
        names = fetcher.fetch_everything()
    # Rows already here follow the source too (flags, states), even once outside the last N contexts.
    kept = {name: catalog[name] for name in sorted(names | set(local)) if name in catalog}
    for context in [*pointers.values(), *builds.values()]:
        if context and context not in kept:
            raise ReplicaError(f"{source.url} points at '{context}', which its catalog does not list.")
    report = CatchUp(source.url, files_fetched=fetcher.files, bytes_fetched=fetcher.bytes,
                     latest_before=contexts.pointer("latest"), latest=pointers["latest"])
    _commit(report, kept, local, pointers, builds, history)
    if report.latest != report.latest_before and report.latest_before:
        report.affected = _start_affected()
    return report


def _refuse_other_source(url: str) -> None:
    known = ReplicaState.objects.values_list("source", flat=True).first()
    if known and known != url:
        raise ReplicaError(f"This server is a replica of {known}, not of {url}.")
    if settings.REPLICA_OF and settings.REPLICA_OF.rstrip("/") != url:
        raise ReplicaError(f"This server is configured as a replica of {settings.REPLICA_OF} "
                           f"(CRDS_SERVER_REPLICA_OF), not of {url}.")
    if not known and File.objects.exists():
        raise ReplicaError("This server has a catalog of its own: a replica starts from an empty "
                           "server (crds-server init).")


def _refuse_other_bytes(catalog: dict[str, dict], local: dict[str, dict[str, str]]) -> None:
    """CRDS files never change once catalogued: a name known here with other bytes stops the run."""
    clash = []
    for name, record in catalog.items():
        ours = local.get(name, {}).get("sha1sum", "none")
        theirs = str(record.get("sha1sum") or "none").lower()
        if "none" not in (ours, theirs) and ours != theirs:
            clash.append(name)
    if clash:
        raise ReplicaError(f"{len(clash)} files are catalogued here with other bytes than on the "
                           f"source, e.g. {clash[:5]}; CRDS files never change once catalogued.")


def _history(source_rows: list[list[str]]) -> list[tuple[Any, str, str]]:
    found = []
    for date, context, description in source_rows:
        stamp = records.parse_wire_date(date)
        if stamp is None:
            raise ReplicaError(f"The source's context history has an unreadable date {date[:40]!r}.")
        found.append((stamp, fetch.check_name(context), description))
    return found


def _last_contexts(history: list[tuple[Any, str, str]], count: int) -> set[str]:
    """The last `count` distinct contexts of the history, newest first."""
    newest = list(dict.fromkeys(context for _, context, _ in reversed(history)))
    return set(newest[:count])


def _builds(source: Source, info: dict[str, Any], calvers: tuple[str, ...]) -> dict[str, str]:
    if calvers:
        return {calver: fetch.check_name(source.build_context(calver)) for calver in calvers}
    newest = str(info.get("build_context") or "")
    return {adopting.UNKNOWN_CALVER: fetch.check_name(newest)} if newest else {}


def _commit(report: CatchUp, kept: dict[str, dict], local: dict[str, dict[str, str]],
            pointers: dict[str, str], builds: dict[str, str], history: list[tuple[Any, str, str]]) -> None:
    """Rows, flags, pointers, builds, history and the replica's state: one transaction."""
    changed = rows.changed(kept, local)
    now = timezone.now()
    with transaction.atomic():
        new = [File(name=n, **records.from_wire(kept[n])) for n in changed if n not in local]
        File.objects.bulk_create(new, batch_size=2000)
        for name in changed:
            if name in local:
                File.objects.filter(name=name).update(**records.from_wire(kept[name]))
        report.records_changed = len(changed)
        report.moved = (adopting.move_pointers(pointers) + adopting.set_builds(builds, replace=True)
                        + adopting.replace_history(history, USER))
        ReplicaState.objects.update_or_create(pk=1, defaults={
            "source": report.source, "latest_context": report.latest, "caught_up": now,
            "last_attempt": now, "last_error": ""})
        if changed or report.moved:
            AuditEntry.objects.create(user=USER, action="replicate", filename=report.latest,
                                      why=f"catch-up with {report.source}",
                                      details=f"{len(changed)} records, {report.files_fetched} files; "
                                              + (", ".join(report.moved) or "no pointer moved"))
            versioning.bump()


def _record_failure(url: str, error: str) -> None:
    """Note a failed run on the state row (only if this server already replicates `url`)."""
    ReplicaState.objects.filter(source=url).update(last_attempt=timezone.now(), last_error=error[:2000])


def _start_affected() -> str:
    """This server's own affected-datasets run for the newest transition of the copied history."""
    try:
        reprocessing.detect_transitions()
        old, new = reprocessing.newest_transition()
        run = reprocessing.start_run(old, new)
        chunks = reprocessing_tasks.enqueue(reprocessing.plan(run))
    except ReprocessingError as exc:
        log.warning("replica: no affected-datasets run: %s", exc)
        return f"No affected-datasets run: {exc}"
    return f"Affected-datasets run {old} -> {new} started ({chunks} chunks queued)."


def state() -> ReplicaState | None:
    """This server's replica state, or None when it replicates nothing (or not yet)."""
    return ReplicaState.objects.first()


def banner() -> dict[str, Any] | None:
    """What pages say about the replica (one query): source, last catch-up, last failure; None if not one."""
    row = state()
    source = settings.REPLICA_OF or (row.source if row else "")
    if not source:
        return None
    return {"source": source, "caught_up": row.caught_up if row else None,
            "last_attempt": row.last_attempt if row else None, "last_error": row.last_error if row else ""}
