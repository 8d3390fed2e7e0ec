"""The pictures: the context history timeline and the affected-datasets chart, with their tables."""

from __future__ import annotations

import datetime
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from crds_server.catalog import history_changes
from crds_server.catalog.actions import set_context
from crds_server.catalog.models import ContextHistory
from crds_server.reprocessing import actions, summary
from crds_server.reprocessing.models import AffectedChunk, AffectedRun
from tests.builders import CatalogBuilder
from tests.web_helpers import derive_context

NS = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def second(demo_catalog, settings):
    """hst_0002.pmap (one ACS dark dropped) made latest after the demo's context."""
    names = derive_context(CatalogBuilder(settings), demo_catalog.context, "acs", "darkfile")
    set_context("operator", names["pmap"], "latest", "Dropped one dark")
    yield names
    store = Path(settings.FILE_CACHE)
    for name in (names["pmap"], names["imap"], names["rmap"]):
        (store / "mappings" / "hst" / name).unlink(missing_ok=True)
    (store / "pickles" / "hst" / f"{names['pmap']}.pkl").unlink(missing_ok=True)


def _svg(page: str, ident: str) -> ET.Element:
    match = re.search(rf'<svg [^>]*id="{ident}".*?</svg>', page, re.S)
    assert match, f"no <svg id={ident}> in the page"
    return ET.fromstring(match.group(0))


def test_the_changes_between_two_contexts_are_the_instruments_and_types_whose_rules_moved(second,
                                                                                           demo_catalog):
    changes = history_changes.changes_between(demo_catalog.context, second["pmap"])
    assert changes == (history_changes.Change("acs", second["old_imap"], second["imap"], ("darkfile",)),)
    assert history_changes.changes_between(second["pmap"], second["pmap"]) == ()


def test_the_context_history_page_draws_each_change_and_tables_it(client, second, demo_catalog):
    response = client.get("/context_history/")
    page = response.content.decode()
    assert response.status_code == 200
    root = _svg(page, "timeline")
    assert root.get("aria-labelledby") == "timeline-title timeline-desc"
    assert "2 eras" in root.find(f"{NS}desc").text and "1 instrument changes" in root.find(f"{NS}desc").text
    marks = [c.find(f"{NS}title").text for c in root.iter(f"{NS}circle")]
    assert len(marks) == 1 and "acs" in marks[0] and "darkfile" in marks[0] and second["pmap"] in marks[0]
    rows = [t.text for t in root.iter(f"{NS}text")]
    assert "acs" in rows and "wfc3" in rows  # every instrument of the context has its row
    assert "<strong>acs</strong>: darkfile" in page
    assert f'href="/diff/{demo_catalog.context}/{second["pmap"]}"' in page
    assert "(first)" in page


def test_an_era_whose_context_is_missing_says_so_and_the_page_still_shows(client, second, demo_catalog):
    ContextHistory.objects.create(start_date=datetime.datetime(2031, 1, 1, tzinfo=datetime.UTC),
                                  context="hst_9999.pmap", description="lost")
    response = client.get("/context_history/")
    assert response.status_code == 200
    assert "cannot compare with" in response.content.decode()


def test_the_timeline_follows_the_page_and_compares_its_oldest_era_with_the_one_before(client, second,
                                                                                       demo_catalog):
    base = datetime.datetime(2030, 1, 1, tzinfo=datetime.UTC)
    names = [demo_catalog.context, second["pmap"]]
    ContextHistory.objects.bulk_create([ContextHistory(start_date=base + datetime.timedelta(days=i),
                                                       context=names[i % 2]) for i in range(120)])
    first, last = client.get("/context_history/").content.decode(), \
        client.get("/context_history/", {"page": "2"}).content.decode()
    assert len(list(_svg(first, "timeline").iter(f"{NS}circle"))) == 100  # every era of page 1 moves acs
    assert "(first)" not in first and "(first)" in last
    assert "100 eras" in _svg(first, "timeline").find(f"{NS}desc").text
    assert "22 eras" in _svg(last, "timeline").find(f"{NS}desc").text  # 120 + the 2 of the fixture


def test_a_timeline_is_computed_once_per_history_version(second, demo_catalog):
    eras = [(row.start_date, row.context) for row in ContextHistory.objects.order_by("start_date", "id")]
    eras.insert(0, (eras[0][0], ""))
    once = history_changes.timeline(eras)
    assert history_changes.timeline(eras) is once
    set_context("operator", demo_catalog.context, "latest", "Back again")  # a new history version
    again = history_changes.timeline(eras)
    assert again == once and again is not once


def test_the_history_page_needs_few_queries(client, second, django_assert_max_num_queries):
    with django_assert_max_num_queries(8):
        assert client.get("/context_history/").status_code == 200


@pytest.fixture
def finished_run(second, demo_catalog, settings):
    settings.AFFECTED_CHUNK_SIZE = 3
    actions.detect_transitions()
    run = AffectedRun.objects.get(old_context=demo_catalog.context, new_context=second["pmap"])
    return actions.work(run)


def test_the_affected_run_page_charts_datasets_per_instrument_and_type(client, finished_run):
    (count,) = finished_run.update_counts["ACS"].values()
    assert summary.datasets_by_type(finished_run) == [("ACS", "darkfile", count)]
    response = client.get(f"/affected/{finished_run.old_context}/{finished_run.new_context}")
    page = response.content.decode()
    assert response.status_code == 200
    root = _svg(page, "affected-chart")
    assert "to " + finished_run.new_context in root.find(f"{NS}title").text
    bars = [r.find(f"{NS}title").text for r in root.iter(f"{NS}rect") if r.find(f"{NS}title") is not None]
    assert bars == [f"ACS darkfile: {count}"]
    assert f'<td>ACS</td><td>darkfile</td><td class="num">{count}</td>' in page


def test_a_run_still_going_charts_what_its_finished_chunks_found(client, demo_catalog):
    run = AffectedRun.objects.create(old_context="hst_a.pmap", new_context="hst_b.pmap", status="running")
    AffectedChunk.objects.create(run=run, instrument="acs", first_id=1, last_id=3, status="done",
                                 affected={"J1:J1": ["darkfile", "biasfile"], "J2:J2": ["darkfile"]})
    AffectedChunk.objects.create(run=run, instrument="wfc3", first_id=4, last_id=6, status="done",
                                 affected={"I1:I1": ["flatfile"]})
    AffectedChunk.objects.create(run=run, instrument="wfc3", first_id=7, last_id=9, status="queued")
    assert summary.datasets_by_type(run) == [("ACS", "biasfile", 1), ("ACS", "darkfile", 2),
                                             ("WFC3", "flatfile", 1)]
    page = client.get("/affected/hst_a.pmap/hst_b.pmap").content.decode()
    bars = [r.get("width") for r in _svg(page, "affected-chart").iter(f"{NS}rect") if r.get("x") == "230"]
    assert len(bars) == 3 and float(bars[1]) == 2 * float(bars[0]) == 2 * float(bars[2])


def test_a_run_with_nothing_affected_says_so_without_a_chart(client, demo_catalog):
    AffectedRun.objects.create(old_context="hst_a.pmap", new_context="hst_b.pmap", status="done")
    page = client.get("/affected/hst_a.pmap/hst_b.pmap").content.decode()
    assert "No affected dataset." in page and 'id="affected-chart"' not in page


def test_an_unknown_run_is_a_404(client, demo_catalog):
    assert client.get("/affected/hst_x.pmap/hst_y.pmap").status_code == 404
    assert client.get("/affected/" + "x" * 3000 + "/y").status_code == 404
