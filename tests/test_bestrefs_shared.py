"""Best references sharing per-type answers across datasets give exactly the library's answers.

On the corpus rules: every corpus header, make_datasets.py headers, and the
cases where a kept answer would be wrong if its key left something out.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from crds_server.catalog import bestrefs, bestrefs_memo, loader
from tests.corpus_rules import DATASETS, corpus_store, library, read_jsonl, server
from tests.live import CORPUS

pytestmark = pytest.mark.corpus
CONTEXT = "hst.pmap"


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    yield from corpus_store(tmp_path_factory)


@pytest.fixture
def fresh(store):
    """No kept answers at the start of the test, so what it checks was computed in it."""
    bestrefs_memo.forget()
    return store


def corpus_headers() -> list[dict]:
    return read_jsonl(DATASETS / "synthetic_1000.jsonl") + read_jsonl(DATASETS / "real_headers.jsonl")


def assert_same_as_library(items: list[dict], extra: dict | None = None) -> None:
    headers = {item["id"]: dict(item["header"], **(extra or {})) for item in items}
    served = bestrefs.best_references_map(CONTEXT, headers, None)
    expected = {ident: library(CONTEXT, header) for ident, header in headers.items()}
    wrong = [ident for ident in headers if served[ident] != expected[ident]]
    assert not wrong, (wrong[:3], served[wrong[0]], expected[wrong[0]])


def test_every_corpus_header_gets_the_librarys_answers_cold_and_with_answers_kept(fresh):
    items = corpus_headers()
    assert_same_as_library(items)
    kept = len(bestrefs_memo._answers._values)
    assert kept > 500  # the second pass below is answered mostly from kept answers
    assert_same_as_library(items, {"XIGNORED": "round-2"})
    assert len(bestrefs_memo._answers._values) == kept  # nothing new to learn: same questions


def test_corpus_headers_get_the_librarys_answers_for_chosen_types(fresh):
    for item in corpus_headers()[:200]:
        kinds = sorted(library(CONTEXT, item["header"])[1] or {"darkfile": 1})[:4] + ["NOSUCHTYPE"]
        assert server(CONTEXT, item["header"], [k.lower() for k in kinds]) \
            == library(CONTEXT, item["header"], [k.lower() for k in kinds])


def test_make_datasets_headers_get_the_librarys_answers(fresh, tmp_path):
    out = tmp_path / "datasets.jsonl"
    subprocess.run([sys.executable, str(CORPUS / "make_datasets.py"), str(fresh), "3000", str(out),
                    "--seed", "11"], check=True, capture_output=True)
    items = read_jsonl(out)
    assert len(items) == 3000
    assert_same_as_library(items)


def test_a_failed_selection_keeps_the_do_not_reprocess_outcome_in_its_key(fresh):
    # ACS ccdtab matches on DETECTOR alone; before its first useafter the selection fails, and
    # the library then says n/a only for a WFC dataset with CCDGAIN 0.5 or 1.4 (do not reprocess).
    base = {"INSTRUME": "ACS", "DETECTOR": "WFC", "DATE-OBS": "1990-06-01", "TIME-OBS": "00:00:00"}
    answers = [server(CONTEXT, dict(base, CCDGAIN=gain), ["ccdtab"]) for gain in ("0.5", "2.0", "1.4")]
    assert answers == [library(CONTEXT, dict(base, CCDGAIN=g), ["ccdtab"]) for g in ("0.5", "2.0", "1.4")]
    assert answers[0] == [True, {"ccdtab": "NOT FOUND n/a"}]
    assert answers[1][1]["ccdtab"].startswith("NOT FOUND ") and answers[1][1]["ccdtab"] != "NOT FOUND n/a"


def test_errors_and_refused_dates_get_the_librarys_text_for_each_date(fresh):
    base = {"INSTRUME": "ACS", "DETECTOR": "WFC", "CCDGAIN": "2.0", "TIME-OBS": "00:00:00"}
    for day in ("1990-06-01", "1990-06-02", "1980-01-01", "1990-13-01", "junk", "1990-06-01"):
        header = dict(base, **{"DATE-OBS": day})
        assert server(CONTEXT, header, ["ccdtab"]) == library(CONTEXT, header, ["ccdtab"])
    refused = server(CONTEXT, dict(base, **{"DATE-OBS": "1990-13-01"}), ["ccdtab"])[1]["ccdtab"]
    assert "1990-13-01" in refused


def test_dates_on_both_sides_of_a_useafter_get_the_files_on_each_side(fresh):
    header = {"INSTRUME": "ACS", "DETECTOR": "WFC", "CCDGAIN": "2.0"}
    for date, time in (("2008-01-01", "00:00:00"), ("2007-12-31", "23:59:59"), ("2008-01-01", "00:00:01"),
                       ("2007-12-31", "23:59:59")):
        dated = dict(header, **{"DATE-OBS": date, "TIME-OBS": time})
        assert server(CONTEXT, dated, ["ccdtab"]) == library(CONTEXT, dated, ["ccdtab"])
    assert server(CONTEXT, dict(header, **{"DATE-OBS": "2008-01-01", "TIME-OBS": "00:00:00"}),
                  ["ccdtab"]) == [True, {"ccdtab": "t3n1116oj_ccd.fits"}]


def test_rules_with_hooks_get_a_plan_that_calls_the_librarys_hooks(store):
    pmap = loader.get_mapping(CONTEXT)
    hooked = bestrefs_memo.plan_for(pmap.get_imap("acs").get_rmap("biasfile"))
    assert hooked.precondition is not None and hooked.fallback is None
    assert bestrefs_memo.plan_for(pmap.get_imap("wfpc2").get_rmap("flatfile")).fallback is not None
    plain = bestrefs_memo.plan_for(pmap.get_imap("acs").get_rmap("ccdtab"))
    assert plain.precondition is None and plain.fallback is None


def test_a_relevance_name_outside_the_match_keys_joins_the_key(store):
    pmap = loader.get_mapping(CONTEXT)
    stis = pmap.get_imap("stis")
    plan = bestrefs_memo.plan_for(stis.get_rmap("disptab"))  # relevance reads OBSTYPE, matches DETECTOR
    header = pmap.minimize_header({"INSTRUME": "STIS"})
    assert "OBSTYPE" in bestrefs_memo.for_header(plan, header.keys()).value_keys
    assert "OBSTYPE" not in plan.value_keys


def test_kept_answers_are_keyed_by_the_rules_checksum(store):
    plan = bestrefs_memo.plan_for(loader.get_mapping(CONTEXT).get_imap("acs").get_rmap("ccdtab"))
    assert plan.token == ("hst_acs_ccdtab.rmap", "79591d60f39d1c05e11e89384b6b5a058891c88e")
