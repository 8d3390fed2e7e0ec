"""Affected datasets: runs per context transition, chunks shared by consumers, the schedule."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from crds.core import heavy_client
from django.utils import timezone

from crds_server.catalog.actions import set_context
from crds_server.datasets.models import Dataset
from crds_server.reprocessing import actions
from crds_server.reprocessing.models import AffectedChunk, AffectedRun
from tests.builders import CatalogBuilder
from tests.web_helpers import derive_context


@pytest.fixture
def transition(demo_catalog, settings):
    """A second context (one ACS dark dropped) made latest after the demo's."""
    settings.AFFECTED_CHUNK_SIZE = 3
    names = derive_context(CatalogBuilder(settings), demo_catalog.context, "acs", "darkfile")
    set_context("operator", names["pmap"], "latest", "Dropped one dark")
    yield demo_catalog.context, names["pmap"]
    forget_derived(settings, names)


def forget_derived(settings, names: dict) -> None:
    """The store outlives the test's transaction: remove the derived mappings and their pickle."""
    store = Path(settings.FILE_CACHE)
    for name in (names["pmap"], names["imap"], names["rmap"]):
        (store / "mappings" / "hst" / name).unlink(missing_ok=True)
    (store / "pickles" / "hst" / f"{names['pmap']}.pkl").unlink(missing_ok=True)


def _truth(old: str, new: str) -> set[str]:
    """Datasets whose best references, all types, differ under the library's own computation."""
    changed = set()
    for row in Dataset.objects.all():
        before = heavy_client.hv_best_references(old, dict(row.header))
        after = heavy_client.hv_best_references(new, dict(row.header))
        if before != after:
            changed.add(row.compound_id)
    return changed


def test_a_new_latest_context_gets_a_run_and_its_affected_ids_equal_the_librarys(transition, rpc):
    old, new = transition
    assert [(r.old_context, r.new_context) for r in actions.detect_transitions()] == [(old, new)]
    run = actions.work(AffectedRun.objects.get(old_context=old, new_context=new))
    truth = _truth(old, new)
    assert truth  # the dropped dark really moves some datasets
    assert set(actions.affected_ids(run)) == truth
    assert run.status == "done" and run.affected == {"acs": ["darkfile"]}
    assert run.update_counts == {"ACS": {"darkfile": len(truth)}}
    result = rpc("get_affected_datasets", "hst", None, None)
    assert result["affected_ids"] == sorted({i.split(":")[0].lower() for i in truth})
    assert result["bestrefs_status"] == 0 and (result["old_context"], result["new_context"]) == (old, new)
    assert "Affected products = " in result["bestrefs_err_summary"]


def test_results_not_finished_say_no_precomputed_results_exist(transition, rpc):
    old, new = transition
    actions.detect_transitions()
    assert "No precomputed affected datasets results exist" in rpc.error(
        "get_affected_datasets", "hst", old, new)


def test_only_the_changed_instruments_datasets_are_planned_in_chunks(transition):
    old, new = transition
    run = actions.start_run(old, new)
    chunk_ids = actions.plan(run)
    chunks = AffectedChunk.objects.filter(pk__in=chunk_ids)
    assert {c.instrument for c in chunks} == {"acs"}
    assert sum(c.size for c in chunks) == Dataset.objects.filter(instrument="ACS").count()
    assert max(c.size for c in chunks) == 3
    assert actions.plan(run) == []  # planned once only


def test_a_crashed_consumer_chunk_is_resumed_and_done_chunks_stay_done(transition):
    old, new = transition
    run = actions.start_run(old, new)
    first, second, *rest = actions.plan(run)
    assert actions.run_chunk(first)
    done_before = AffectedChunk.objects.get(pk=first)
    assert actions.claim(second, "crashed-consumer")  # it dies without finishing
    assert actions.requeue_stale() == []  # still fresh
    later = timezone.now() + datetime.timedelta(hours=1)
    assert actions.requeue_stale(later) == [second]
    run = actions.work(run)
    assert run.status == "done"
    assert AffectedChunk.objects.get(pk=first).seconds == done_before.seconds  # not recomputed
    assert AffectedChunk.objects.get(pk=second).attempts == 2
    assert set(actions.affected_ids(run)) == _truth(old, new)


def test_a_chunk_interrupted_too_often_fails_the_run_with_a_summary(transition, settings):
    old, new = transition
    settings.AFFECTED_MAX_ATTEMPTS = 1
    run = actions.start_run(old, new)
    chunk_ids = actions.plan(run)
    actions.claim(chunk_ids[0], "dies")
    for chunk_id in chunk_ids[1:]:
        assert actions.run_chunk(chunk_id)
    actions.requeue_stale(timezone.now() + datetime.timedelta(hours=1))
    run.refresh_from_db()
    assert run.status == "failed" and "Interrupted 1 times" in run.error_summary


def test_two_claims_never_process_one_chunk_twice(transition):
    old, new = transition
    run = actions.start_run(old, new)
    chunk_id = actions.plan(run)[0]
    assert actions.claim(chunk_id, "a")
    assert not actions.claim(chunk_id, "b")
    actions.run_chunk(chunk_id)  # its job computes another chunk, if any, never this one
    assert AffectedChunk.objects.filter(pk=chunk_id, status="running", claim="a", attempts=1).exists()
    # a is declared dead and b takes over: a's late result is thrown away.
    actions.requeue_stale(timezone.now() + datetime.timedelta(hours=1))
    assert actions.claim(chunk_id, "b")
    chunk = AffectedChunk.objects.select_related("run").get(pk=chunk_id)
    assert not actions.process(chunk, "a")
    assert actions.process(chunk, "b")
    assert AffectedChunk.objects.get(pk=chunk_id).attempts == 2


def test_the_finished_run_is_mailed_to_the_notify_list(transition, settings, mailoutbox):
    settings.NOTIFY_LIST = ["dm@example.org"]
    old, new = transition
    actions.work(actions.start_run(old, new))
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["dm@example.org"]
    assert f"{old} -> {new}" in mailoutbox[0].subject and "Affected products" in mailoutbox[0].body


def test_the_monitor_task_starts_runs_and_queues_one_job_per_chunk(transition, monkeypatch):
    from crds_server.reprocessing import tasks

    queued = []
    monkeypatch.setattr(tasks, "compute_chunk", queued.append)
    assert tasks.monitor_reprocessing.call_local() == len(queued) > 0
    for chunk_id in queued:
        assert tasks.actions.run_chunk(chunk_id)
    assert AffectedRun.objects.get().status == "done"


def test_the_affected_pages_show_runs_and_give_ids_as_text(transition, client):
    old, new = transition
    run = actions.work(actions.start_run(old, new))
    page = client.get("/affected/")
    assert page.status_code == 200 and new in page.content.decode()
    detail = client.get(f"/affected/{old}/{new}")
    assert detail.status_code == 200 and actions.affected_ids(run)[0] in detail.content.decode()
    text = client.get(f"/affected/{old}/{new}?format=txt")
    assert text["Content-Type"].startswith("text/plain")
    assert text.content.decode().split() == actions.affected_products(run)
    assert client.get("/affected/hst_0001.pmap/hst_0009.pmap").status_code == 404


def test_the_affected_command_computes_the_newest_transition(transition):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("affected", "--wait", stdout=out)
    assert "done" in out.getvalue() and "products affected" in out.getvalue()


SCHEDULE = {  # task: minutes of the day (from 00:00) it runs at, among the first 240
    "monitor_reprocessing": set(range(0, 240, 5)),
    "clear_expired_locks": set(range(0, 240, 5)),
    "requeue_stale_chunks": set(range(240)),
    "recover_stuck_submissions": set(range(240)),
    "expire_stale_submissions": set(range(0, 240, 10)),
    "watch_deliveries": set(range(240)),
    "publish_cache": set(range(0, 240, 10)),
    "prune_login_attempts": set(range(0, 240, 10)),
    "follow_source": set(range(0, 240, 5)),
    "nightly_checks": {180},
}


def test_the_schedule_runs_every_periodic_task_at_its_times():
    from django.utils.module_loading import autodiscover_modules

    from crds_server.jobs.engine import HUEY

    autodiscover_modules("tasks")  # as the job consumer does

    start = datetime.datetime(2026, 1, 1, 0, 0)
    seen: dict[str, set[int]] = {name: set() for name in SCHEDULE}
    for minute in range(240):
        for task in HUEY.read_periodic(start + datetime.timedelta(minutes=minute)):
            seen.setdefault(task.name, set()).add(minute)
    assert seen == SCHEDULE


def test_the_plan_diffs_loaded_contexts_exactly_as_the_librarys_get_affected(transition, settings):
    from crds import diff as crds_diff

    from crds_server.reprocessing.affected_types import affected_types

    old, new = transition
    for a, b in ((old, new), (new, old), (old, old)):
        library = crds_diff.get_affected(a, b, include_header_diffs=True, hide_boring_diffs=True,
                                         observatory=settings.OBSERVATORY)
        assert affected_types(a, b) == {i.lower(): sorted(t) for i, t in library.items()}
    assert affected_types(old, new) == {"acs": ["darkfile"]}
