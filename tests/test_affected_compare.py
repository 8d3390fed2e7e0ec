"""The affected-datasets comparison that shares work equals the library's, dataset for dataset.

On the corpus rules, with every reference replaced in the rmaps of four
instruments (the hooked ACS and WFC3 BIASFILE and WFPC2 FLATFILE among them):
the changed types, the dropped datasets and the tracked errors (with their
counts) are the library's own `crds bestrefs --affected-datasets` results.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from django.conf import settings

from crds_server.catalog import bestrefs_memo
from crds_server.reprocessing import compare
from crds_server.reprocessing.affected_types import affected_types
from crds_server.reprocessing.compare import Comparison
from tests.builders import CatalogBuilder
from tests.corpus_rules import DATASETS, corpus_store, read_jsonl
from tests.live import CORPUS
from tests.replaced_references import derive

pytestmark = [pytest.mark.corpus, pytest.mark.django_db]
OLD = "hst.pmap"
INSTRUMENTS = ["acs", "cos", "wfc3", "wfpc2"]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    yield from corpus_store(tmp_path_factory)


@pytest.fixture(scope="module")
def items(store, tmp_path_factory) -> list[dict]:
    out = tmp_path_factory.mktemp("datasets") / "datasets.jsonl"
    subprocess.run([sys.executable, str(CORPUS / "make_datasets.py"), str(store), "2400", str(out),
                    "--seed", "23"], check=True, capture_output=True)
    found = read_jsonl(out) + read_jsonl(DATASETS / "real_headers.jsonl")
    return [item for item in found if item["header"].get("INSTRUME", "").lower() in INSTRUMENTS]


def library(old: str, new: str, items: list[dict]) -> tuple[dict, set, dict]:
    """(changed types, dropped ids, {error: count}) of the library's own comparison."""
    from crds import diff
    from crds.bestrefs.bestrefs import BestrefsScript
    from crds.core import heavy_client

    def bestrefs(instrument: str, ident: str, context: str, header: dict) -> dict:
        """The script's get_bestrefs, with the local-mode library call it makes on a server's cache."""
        types = script.determine_reftypes(instrument, ident, context, header)
        if types is None:
            return {}
        refs = heavy_client.hv_best_references(context, header, include=list(types))
        return {k.upper(): v for k, v in refs.items()}

    script = BestrefsScript(["crds.bestrefs", "--affected-datasets", "--max-errors-per-class", "0",
                             "--old-context", old, "--new-context", new], reset_log=False)
    script.old_context, script.new_context = old, new
    script.affected_instruments = diff.get_affected(old, new, include_header_diffs=True,
                                                    hide_boring_diffs=True)
    changed, dropped = {}, set()
    for item in items:
        ident, header = item["id"], dict(item["header"])
        instrument = header["INSTRUME"].lower()
        new_refs = bestrefs(instrument, ident, new, header)
        old_refs = bestrefs(instrument, ident, old, header)
        updates, killed = script._compare_bestrefs(instrument, ident, old_refs, new_refs)
        if killed:
            dropped.add(ident)
        elif updates:
            changed[ident] = sorted({u.filekind for u in updates})
    mixin = script.ue_mixin
    return changed, dropped, {mixin.messages[key]: count for key, count in mixin.count.items()}


def served(comparison: Comparison, items: list[dict]) -> tuple[dict, set, dict]:
    changed, dropped = {}, set()
    for item in items:
        types = comparison.changed_types(item["id"], dict(item["header"]))
        if types is None:
            dropped.add(item["id"])
        elif types:
            changed[item["id"]] = types
    return changed, dropped, comparison.errors()


def test_every_type_replaced_in_four_instruments_compares_as_the_library(store, items):
    new = derive(CatalogBuilder(settings), OLD, INSTRUMENTS, "all", "-", "9201")
    affected = affected_types(OLD, new)
    assert sorted(affected) == INSTRUMENTS
    expected = library(OLD, new, items)
    assert len(expected[0]) > 500 and expected[1] and expected[2]  # updates, drops and errors all occur
    bestrefs_memo.forget()
    compare._outcomes.clear()
    comparison = Comparison(OLD, new, affected)
    assert served(comparison, items) == expected
    assert compare._outcomes  # type outcomes without errors were kept and replayed
    # Asked again with answers and outcomes kept (errors counted afresh): the same.
    comparison.reset_errors()
    assert served(comparison, items) == expected
