"""Affected datasets at scale: chunks sized by cost, costliest first, and per-consumer accounting."""

from __future__ import annotations

import pytest

from crds_server.catalog.actions import set_context
from crds_server.datasets.models import Dataset
from crds_server.reprocessing import actions, planning, summary
from crds_server.reprocessing.models import AffectedChunk, AffectedRun
from tests.builders import CatalogBuilder
from tests.test_affected import forget_derived
from tests.web_helpers import derive_context


def _library(old: str, new: str) -> dict[str, list[str]]:
    """{compound id: changed types} as `crds bestrefs --affected-datasets` finds them, dataset by dataset."""
    from crds import diff
    from crds.bestrefs.bestrefs import BestrefsScript
    from crds.core import heavy_client

    def bestrefs(instrument: str, ident: str, context: str, header: dict) -> dict:
        types = script.determine_reftypes(instrument, ident, context, header)
        refs = heavy_client.hv_best_references(context, header, include=list(types or []))
        return {k.upper(): v for k, v in refs.items()} if types is not None else {}

    script = BestrefsScript(["crds.bestrefs", "--affected-datasets", "--max-errors-per-class", "0",
                             "--old-context", old, "--new-context", new], reset_log=False)
    script.old_context, script.new_context = old, new
    script.affected_instruments = diff.get_affected(old, new, include_header_diffs=True,
                                                    hide_boring_diffs=True)
    found = {}
    for row in Dataset.objects.filter(instrument__in=[i.upper() for i in script.affected_instruments]):
        instrument, header = row.instrument.lower(), dict(row.header)
        new_refs = bestrefs(instrument, row.compound_id, new, header)
        old_refs = bestrefs(instrument, row.compound_id, old, header)
        updates, killed = script._compare_bestrefs(instrument, row.compound_id, old_refs, new_refs)
        if updates and not killed:
            found[row.compound_id] = sorted({u.filekind for u in updates})
    return found


def test_chunk_rows_give_equal_costs_within_the_bounds(settings):
    settings.AFFECTED_CHUNKS, settings.AFFECTED_MIN_CHUNK, settings.AFFECTED_CHUNK_SIZE = 10, 1, 10**6
    rows = planning.rows_per_chunk({"acs": 9000, "cos": 9000}, {"acs": 17, "cos": 2})
    assert rows["acs"] * 17 == pytest.approx(rows["cos"] * 2, rel=0.1)  # equal cost per chunk
    assert 9000 / rows["acs"] + 9000 / rows["cos"] <= 12  # about AFFECTED_CHUNKS chunks in all
    settings.AFFECTED_MIN_CHUNK, settings.AFFECTED_CHUNK_SIZE = 2000, 3000
    assert planning.rows_per_chunk({"acs": 9000, "cos": 9000}, {"acs": 17, "cos": 2}) == {
        "acs": 2000, "cos": 3000}


def _datasets(layout: str) -> None:
    """One dataset per letter of `layout` (a = ACS, c = COS), ids in that order."""
    Dataset.objects.bulk_create(
        Dataset(product=f"P{n:04d}", exposure="E", instrument={"a": "ACS", "c": "COS"}[kind],
                header={}) for n, kind in enumerate(layout))


@pytest.mark.django_db
def test_the_plan_splits_interleaved_instruments_in_the_database_costliest_first(settings):
    settings.AFFECTED_CHUNKS, settings.AFFECTED_MIN_CHUNK, settings.AFFECTED_CHUNK_SIZE = 8, 1, 1000
    _datasets("acc" * 40 + "a" * 7)  # 47 ACS and 80 COS datasets, interleaved
    run = AffectedRun.objects.create(old_context="hst.pmap", new_context="hst_0002.pmap")
    chunks = planning.chunks(run, {"acs": ["biasfile", "darkfile", "flatfile"], "cos": ["flatfile"]})
    assert [c.cost for c in chunks] == sorted((c.cost for c in chunks), reverse=True)
    assert len(chunks) <= 8 + 2  # the target count plus one remainder per instrument
    for instrument in ("acs", "cos"):
        mine = [c for c in chunks if c.instrument == instrument]
        ids = list(Dataset.objects.filter(instrument=instrument.upper()).order_by("pk")
                   .values_list("pk", flat=True))
        covered = [i for c in sorted(mine, key=lambda c: c.first_id) for i in ids
                   if c.first_id <= i <= c.last_id]
        assert covered == ids  # every dataset in exactly one chunk, none twice
        for chunk in mine:
            assert chunk.size == sum(chunk.first_id <= i <= chunk.last_id for i in ids)
    full = [c.cost for c in chunks if c.size == max(x.size for x in chunks if x.instrument == c.instrument)]
    assert max(full) <= 2 * min(full)  # the whole chunks of both instruments cost about the same


@pytest.fixture
def two_instruments(demo_catalog, settings):
    """A context that drops one dark in ACS and one in another instrument, made latest."""
    settings.AFFECTED_CHUNKS, settings.AFFECTED_MIN_CHUNK, settings.AFFECTED_CHUNK_SIZE = 4, 1, 1000
    builder, old = CatalogBuilder(settings), demo_catalog.context
    other = next(i for i in Dataset.objects.exclude(instrument="ACS")
                 .values_list("instrument", flat=True).distinct()).lower()
    first = derive_context(builder, old, "acs", "darkfile", serial="0002")
    second = derive_context(builder, first["pmap"], other, "darkfile", serial="0003")
    set_context("operator", second["pmap"], "latest", "Dropped two darks")
    yield old, second["pmap"], other
    forget_derived(settings, first)
    forget_derived(settings, second)


def test_a_run_over_two_instruments_equals_the_library_and_accounts_for_each_chunk(two_instruments):
    old, new, other = two_instruments
    run = actions.work(actions.start_run(old, new))
    assert run.status == "done" and set(run.affected) == {"acs", other}
    chunks = list(AffectedChunk.objects.filter(run=run))
    library = _library(old, new)
    assert library  # the change really moves some datasets
    assert {i: t for c in chunks for i, t in c.affected.items()} == library
    assert {c.instrument for c in chunks} == {"acs", other}
    for chunk in chunks:
        assert chunk.consumer == actions.consumer_name()
        assert chunk.cpu_seconds > 0 and chunk.seconds > 0 and chunk.started <= chunk.finished
    [row] = summary.consumers(run)
    assert row["consumer"] == actions.consumer_name() and row["chunks"] == len(chunks)
    assert row["datasets"] == run.datasets_total and row["tail"] == 0
    assert f"{actions.consumer_name()}: {len(chunks)} chunks" in run.report


def test_a_consumer_claims_the_costliest_queued_chunk_first(two_instruments):
    old, new, _ = two_instruments
    run = actions.start_run(old, new)
    planned = actions.plan(run)
    costs = dict(AffectedChunk.objects.filter(run=run).values_list("pk", "cost"))
    assert [costs[i] for i in planned] == sorted(costs.values(), reverse=True)
    AffectedChunk.objects.filter(pk=planned[-1]).update(cost=10**9)
    assert actions.claim_next(run, "consumer").pk == planned[-1]
    assert actions.claim_next(run, "consumer").pk == planned[0]


def _instrument(chunk_id: int) -> str:
    return AffectedChunk.objects.get(pk=chunk_id).instrument


def _done_by_this_job(run: AffectedRun, before: set[int]) -> int:
    [done] = set(AffectedChunk.objects.filter(run=run, status="done").values_list("pk", flat=True)) - before
    return done


def test_a_consumer_keeps_to_the_instrument_it_computed_last(two_instruments, monkeypatch):
    old, new, _ = two_instruments
    monkeypatch.setattr(actions, "_recent", {})
    run = actions.start_run(old, new)
    planned = actions.plan(run)
    assert actions.run_chunk(planned[0])
    first = _instrument(planned[0])
    other = next(i for i in planned if _instrument(i) != first)
    assert any(_instrument(i) == first for i in planned[1:])  # more of the first instrument is queued
    assert actions.run_chunk(other)  # the job names another instrument's chunk
    done = _done_by_this_job(run, {planned[0]})
    assert _instrument(done) == first and AffectedChunk.objects.get(pk=other).status == "queued"


def test_a_new_consumer_takes_an_instrument_no_consumer_is_computing(two_instruments, monkeypatch):
    old, new, _ = two_instruments
    monkeypatch.setattr(actions, "_recent", {})
    run = actions.start_run(old, new)
    planned = actions.plan(run)
    assert actions.claim(planned[0], "another consumer")
    busy = _instrument(planned[0])
    same = next(i for i in planned[1:] if _instrument(i) == busy)
    assert actions.run_chunk(same)
    assert _instrument(_done_by_this_job(run, set())) != busy


def test_one_job_per_chunk_computes_every_chunk_whatever_the_jobs_name(two_instruments, monkeypatch):
    old, new, other = two_instruments
    monkeypatch.setattr(actions, "_recent", {})
    run = actions.start_run(old, new)
    planned = actions.plan(run)
    for _ in planned:
        assert actions.run_chunk(planned[-1])  # every job names the same chunk
    assert not actions.run_chunk(planned[-1])  # nothing is left for an extra job
    run.refresh_from_db()
    assert run.status == "done"
    assert {i: t for c in AffectedChunk.objects.filter(run=run) for i, t in c.affected.items()} \
        == _library(old, new)


def test_two_consumers_on_one_instrument_part_when_another_is_queued(two_instruments, monkeypatch,
                                                                     settings):
    old, new, _ = two_instruments
    settings.AFFECTED_CHUNKS = 12  # several chunks per instrument
    monkeypatch.setattr(actions, "_recent", {})
    run = actions.start_run(old, new)
    planned = actions.plan(run)
    assert actions.run_chunk(planned[0])
    mine = _instrument(planned[0])
    same = [i for i in planned[1:] if _instrument(i) == mine]
    assert len(same) >= 2
    assert actions.claim(same[0], "another consumer")  # it computes my instrument too
    assert actions.run_chunk(same[1])
    assert _instrument(_done_by_this_job(run, {planned[0]})) != mine


def test_a_job_whose_claims_were_all_lost_reads_the_queue_again(two_instruments, monkeypatch):
    # Another consumer took the only chunk this job had read as queued; a chunk queued since
    # (requeued, its own job already gone to another chunk) must still get computed by this job.
    old, new, _ = two_instruments
    monkeypatch.setattr(actions, "_recent", {})
    run = actions.start_run(old, new)
    planned = actions.plan(run)
    read = actions._candidates
    reads = []

    def stale_first_read(run_id, named):
        reads.append(named)
        return [planned[0]] if len(reads) == 1 else read(run_id, named)

    assert actions.claim(planned[0], "another consumer")
    monkeypatch.setattr(actions, "_candidates", stale_first_read)
    assert actions.run_chunk(planned[0])
    assert len(reads) == 2 and _done_by_this_job(run, set()) != planned[0]
