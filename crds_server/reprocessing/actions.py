"""Affected datasets: find context transitions, plan their runs, work chunks, finish runs.

Any number of consumers (threads, processes, machines) may work on one run:
every chunk is claimed with a conditional update and finished only by the
consumer whose claim token it still carries.  A consumer that dies leaves a
running chunk whose heartbeat goes stale; `requeue_stale` hands it back.
"""

from __future__ import annotations

import datetime
import logging
import os
import socket
import time
import uuid
from collections import Counter, defaultdict

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from crds_server.catalog.models import ContextHistory, File
from crds_server.datasets.models import Dataset

from . import planning, report
from .affected_types import affected_types
from .compare import Comparison
from .errors import ReprocessingError, ResultsNotReady
from .models import DONE, FAILED, QUEUED, RUNNING, AffectedChunk, AffectedRun

log = logging.getLogger(__name__)
# Between heartbeats: far below AFFECTED_STALE_SECONDS (settings), few writes.
HEARTBEAT_SECONDS = float(getattr(settings, "AFFECTED_HEARTBEAT_SECONDS", 10.0))


def consumer_name() -> str:
    """This consumer as the accounting names it: "host:pid" (read per call: workers may fork)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def detect_transitions() -> list[AffectedRun]:
    """Give every adjacent pair of the context history that has no run a queued run."""
    eras = list(ContextHistory.objects.values_list("context", flat=True))
    pairs = [(a, b) for a, b in zip(eras, eras[1:], strict=False) if a != b]
    known = set(AffectedRun.objects.values_list("old_context", "new_context"))
    created = []
    for old, new in dict.fromkeys(pairs):
        if (old, new) not in known:
            run, made = AffectedRun.objects.get_or_create(old_context=old, new_context=new)
            if made:
                created.append(run)
    return created


def newest_transition() -> tuple[str, str]:
    """(old, new) of the newest change of the latest context."""
    eras = list(ContextHistory.objects.values_list("context", flat=True))
    pairs = [(a, b) for a, b in zip(eras, eras[1:], strict=False) if a != b]
    if not pairs:
        raise ResultsNotReady("No precomputed affected datasets results exist: "
                              "the context history has no transition yet.")
    return pairs[-1]


def start_run(old: str, new: str) -> AffectedRun:
    """The run of `old` -> `new`, created (queued) if there is none."""
    for name in (old, new):
        if not File.objects.filter(name=name, type=File.MAPPING, name__endswith=".pmap").exists():
            raise ReprocessingError(f"'{name}' is not a catalogued context (.pmap).")
    return AffectedRun.objects.get_or_create(old_context=old, new_context=new)[0]


def plan(run: AffectedRun) -> list[int]:
    """Diff the contexts, split the affected instruments' datasets into chunks; returns chunk ids.

    Only a queued run is planned (a conditional update makes it running), so
    two monitors never plan one run twice.  The ids come costliest first, the
    order to queue them in (`planning`).
    """
    if AffectedRun.objects.filter(pk=run.pk, status=QUEUED).update(
            status=RUNNING, started=timezone.now()) != 1:
        return []
    try:
        affected = affected_types(run.old_context, run.new_context)
    except Exception as exc:
        _fail(run, f"Mapping differences could not be computed: {exc}")
        return []
    with transaction.atomic():
        AffectedChunk.objects.filter(run=run).delete()
        chunks = planning.chunks(run, affected)
        AffectedChunk.objects.bulk_create(chunks, batch_size=1000)
        AffectedRun.objects.filter(pk=run.pk).update(
            affected=affected, chunks_total=len(chunks), datasets_total=sum(c.size for c in chunks))
    finish_if_complete(run)
    return list(AffectedChunk.objects.filter(run=run).order_by("-cost", "pk").values_list("pk", flat=True))


def claim(chunk_id: int, token: str) -> bool:
    """Take a queued chunk for the consumer `token`; False when someone else has it."""
    return AffectedChunk.objects.filter(pk=chunk_id, status=QUEUED).update(
        status=RUNNING, claim=token, attempts=F("attempts") + 1, heartbeat=timezone.now()) == 1


def claim_next(run: AffectedRun, token: str) -> AffectedChunk | None:
    """Claim the costliest queued chunk of `run`."""
    queued = AffectedChunk.objects.filter(run=run, status=QUEUED).order_by("-cost", "pk")
    for chunk_id in queued.values_list("pk", flat=True):
        if claim(chunk_id, token):
            return AffectedChunk.objects.get(pk=chunk_id)
    return None


# The instrument this process computed last, per run: its kept best-references answers and
# comparison outcomes are warm for that instrument's rules (they are per process).
_recent: dict[int, str] = {}


def run_chunk(chunk_id: int) -> bool:
    """A job's body: compute one queued chunk of the named chunk's run; False when none was left.

    The consumer takes, in this order: a chunk of the instrument it computed last
    while no other consumer computes that instrument (its per-process answers
    are warm for it), a chunk of an instrument no consumer is computing (so
    consumers do not warm the same rules twice; two that started on the same
    one part after a chunk), one of its last instrument anyway, the named
    chunk, the costliest queued chunk.  Each job computes at most one chunk, and
    one whenever a chunk is queued, so one job per chunk (and one per requeued
    chunk) computes them all.
    """
    run_id = AffectedChunk.objects.filter(pk=chunk_id).values_list("run_id", flat=True).first()
    if run_id is None:
        return False
    token = uuid.uuid4().hex
    while candidates := _candidates(run_id, chunk_id):
        for candidate in candidates:
            if claim(candidate, token):
                chunk = AffectedChunk.objects.select_related("run").get(pk=candidate)
                if len(_recent) > 100:
                    _recent.clear()
                _recent[run_id] = chunk.instrument
                process(chunk, token)
                finish_if_complete(chunk.run)
                return True
        # Every claim was lost to other consumers; a chunk queued since the list was read
        # (a requeued one) may have had its own job take another chunk: read again.
    return False


def _candidates(run_id: int, named: int) -> list[int]:
    """The queued chunks of the run in the order a job tries them; [] when none is queued."""
    queued = list(AffectedChunk.objects.filter(run_id=run_id, status=QUEUED)
                  .order_by("-cost", "pk").values_list("pk", "instrument"))
    if not queued:
        return []
    busy = set(AffectedChunk.objects.filter(run_id=run_id, status=RUNNING)
               .values_list("instrument", flat=True))
    mine = _recent.get(run_id)
    own = [pk for pk, instrument in queued if instrument == mine]
    free = [pk for pk, instrument in queued if instrument not in busy]
    return list(dict.fromkeys([*(own if mine not in busy else []), *free, *own, named,
                               *(pk for pk, _ in queued)]))


def process(chunk: AffectedChunk, token: str) -> bool:
    """Compare every dataset of a claimed chunk; True when this consumer's result was kept.

    The kept result names this consumer and its wall and CPU (thread) seconds.
    """
    run, start, cpu, started = chunk.run, time.monotonic(), time.thread_time(), timezone.now()
    comparison = Comparison(run.old_context, run.new_context, run.affected)
    rows = (Dataset.objects.filter(instrument=chunk.instrument.upper(),
                                   pk__gte=chunk.first_id, pk__lte=chunk.last_id)
            .order_by("pk").values_list("product", "exposure", "header"))
    affected: dict[str, list[str]] = {}
    beaten = time.monotonic()
    # Read the whole chunk first: an open SQLite read cursor would make the heartbeat
    # write fail ("database is locked") once another consumer has written.
    for product, exposure, header in list(rows):
        ident = f"{product}:{exposure}"
        types = comparison.changed_types(ident, header)
        if types:
            affected[ident] = types
        if time.monotonic() - beaten >= HEARTBEAT_SECONDS:
            if not _beat(chunk, token):
                return False  # requeued while we worked: someone else owns it now
            beaten = time.monotonic()
    errors = comparison.errors()
    return AffectedChunk.objects.filter(pk=chunk.pk, status=RUNNING, claim=token).update(
        status=DONE, affected=affected, errors=errors, error_count=sum(errors.values()),
        seconds=time.monotonic() - start, cpu_seconds=time.thread_time() - cpu, consumer=consumer_name(),
        started=started, finished=timezone.now(), heartbeat=timezone.now()) == 1


def _beat(chunk: AffectedChunk, token: str) -> bool:
    return AffectedChunk.objects.filter(pk=chunk.pk, status=RUNNING, claim=token).update(
        heartbeat=timezone.now()) == 1


def requeue_stale(now: datetime.datetime | None = None, run: AffectedRun | None = None) -> list[int]:
    """Hand back running chunks whose consumer stopped beating; fail those tried too often.

    The caller gives each requeued chunk a job (or, with `run`, computes that run's itself).
    """
    now = now or timezone.now()
    limit = now - datetime.timedelta(seconds=float(getattr(settings, "AFFECTED_STALE_SECONDS", 45)))
    most = int(getattr(settings, "AFFECTED_MAX_ATTEMPTS", 3))
    requeued = []
    silent = AffectedChunk.objects.filter(status=RUNNING, heartbeat__lt=limit)
    if run is not None:
        silent = silent.filter(run=run)
    for chunk in silent.select_related("run"):
        stale = AffectedChunk.objects.filter(pk=chunk.pk, status=RUNNING, claim=chunk.claim)
        if chunk.attempts >= most:
            if stale.update(status=FAILED, error_details=f"Interrupted {chunk.attempts} times."):
                finish_if_complete(chunk.run)
        elif stale.update(status=QUEUED, claim=""):
            requeued.append(chunk.pk)
    return requeued


def progress(run: AffectedRun) -> dict[str, int]:
    """{status: chunks} of a run, with 'total'."""
    counts = Counter(AffectedChunk.objects.filter(run=run).values_list("status", flat=True))
    return {s: counts.get(s, 0) for s in (QUEUED, RUNNING, DONE, FAILED)} | {"total": sum(counts.values())}


def finish_if_complete(run: AffectedRun) -> bool:
    """Store the result and tell the notify list once no chunk is left to do; True if this call did."""
    if AffectedChunk.objects.filter(run=run, status__in=(QUEUED, RUNNING)).exists():
        return False
    chunks = list(AffectedChunk.objects.filter(run=run))
    failed = any(c.status == FAILED for c in chunks)
    ids, counts, errors = _gather(chunks)
    run.refresh_from_db()
    fields = dict(affected_products=len({Comparison.product_id(i) for i in ids}),
                  affected_exposures=len(ids), update_counts=counts,
                  errors=sum(errors.values()) + sum(c.status == FAILED for c in chunks),
                  error_summary=report.error_summary(errors, chunks), finished=timezone.now())
    if AffectedRun.objects.filter(pk=run.pk, status=RUNNING).update(
            status=FAILED if failed else DONE, **fields) != 1:
        return False
    run.refresh_from_db()
    AffectedRun.objects.filter(pk=run.pk).update(report=report.text(run, sorted(ids)))
    run.refresh_from_db()
    report.notify(run)
    return True


def _gather(chunks: list[AffectedChunk]) -> tuple[set[str], dict, Counter]:
    ids: set[str] = set()
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    errors: Counter = Counter()
    for chunk in chunks:
        ids.update(chunk.affected)
        for types in chunk.affected.values():
            for filekind in types:
                per = counts[chunk.instrument.upper()]
                per[filekind] = per.get(filekind, 0) + 1
        errors.update(chunk.errors)
    return ids, dict(counts), errors


def _fail(run: AffectedRun, message: str) -> None:
    log.error("affected datasets %s -> %s: %s", run.old_context, run.new_context, message)
    AffectedRun.objects.filter(pk=run.pk).update(status=FAILED, errors=1, error_summary=message,
                                                 finished=timezone.now())
    run.refresh_from_db()
    AffectedRun.objects.filter(pk=run.pk).update(report=report.text(run, []))
    run.refresh_from_db()
    report.notify(run)


def affected_ids(run: AffectedRun) -> list[str]:
    """Sorted compound ids of every affected exposure of a run."""
    ids: set[str] = set()
    for affected in AffectedChunk.objects.filter(run=run).values_list("affected", flat=True):
        ids.update(affected)
    return sorted(ids)


def affected_products(run: AffectedRun) -> list[str]:
    """Sorted product ids to reprocess (the library's `--print-affected` list)."""
    return sorted({Comparison.product_id(i) for i in affected_ids(run)})


def result(old: str | None, new: str | None) -> dict:
    """The legacy `get_affected_datasets` result of a finished run; null contexts mean the newest."""
    if not old or not new:
        newest_old, newest_new = newest_transition()
        old, new = old or newest_old, new or newest_new
    run = AffectedRun.objects.filter(old_context=old, new_context=new).first()
    if run is None or not run.is_finished():
        state = "is still being computed" if run else "was never computed"
        raise ResultsNotReady(f"No precomputed affected datasets results exist for old_context="
                              f"'{old}' and new_context='{new}': the computation {state}.")
    return {"computation_dir": run.computation_dir, "observatory": settings.OBSERVATORY,
            "affected_ids": affected_products(run), "bestrefs_status": 1 if run.errors else 0,
            "old_context": old, "new_context": new, "bestrefs_err_summary": run.report}


def monitor() -> list[int]:
    """One monitor step: new transitions get runs, queued runs are planned, stale chunks requeued.

    Returns the ids of chunks that need a job.
    """
    detect_transitions()
    todo = []
    for run in AffectedRun.objects.filter(status=QUEUED).order_by("created", "id"):
        todo += plan(run)
    todo += requeue_stale()
    for run in AffectedRun.objects.filter(status=RUNNING):
        finish_if_complete(run)  # a consumer may have died between its last chunk and the finish
    return todo


def work(run: AffectedRun, poll: float = 0.5) -> AffectedRun:
    """Compute a run's chunks in this process, alongside any consumers, until it is finished."""
    token = uuid.uuid4().hex
    while True:
        run.refresh_from_db()
        if run.status == QUEUED:
            plan(run)
            continue
        if run.is_finished():
            return run
        chunk = claim_next(run, token)
        if chunk is None:
            requeue_stale(run=run)  # this loop computes them; other runs' chunks keep their jobs
            if not finish_if_complete(run):
                time.sleep(poll)
            continue
        process(chunk, token)
        finish_if_complete(run)
