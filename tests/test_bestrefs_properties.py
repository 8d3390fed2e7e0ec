"""Property tests: for generated headers the server's shared best references equal the library's.

Headers are drawn from the corpus rules' own match values plus junk, with dates
on and around useafter boundaries, refused dates and missing keys; the kept
answers carry over from one example to the next, so later examples are
answered from what earlier ones taught.
"""

from __future__ import annotations

import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crds_server.catalog import bestrefs_memo
from tests.corpus_rules import MAPPINGS, corpus_store, library, server

pytestmark = pytest.mark.corpus
CONTEXT = "hst.pmap"
JUNK = ["JUNK", "", "N/A", "UNDEFINED", "ANY", "-999", "1.0", "0.5", "1.4", "2.0"]
BAD_DATES = [("2003-13-01", "00:00:00"), ("junk", "00:00:00"), ("2003-01-01", "25:00:00"),
             ("", ""), ("UNDEFINED", "00:00:00"), ("2003/01/01", "00:00:00")]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    yield from corpus_store(tmp_path_factory)


def _rules() -> dict:
    """{instrument: (its parkey values, its useafter (date, time) pairs around each boundary)}."""
    if not (MAPPINGS / "hst.pmap").is_file():
        return {}
    from crds.core import rmap, selectors

    rules: dict = {}
    for path in sorted(MAPPINGS.glob("hst_*.rmap")):
        mapping = rmap.ReferenceMapping.from_file(str(path), ignore_checksum=True)
        values, dates = rules.setdefault(mapping.instrument.upper(), ({}, set()))
        for key, found in mapping.get_parkey_map().items():
            values.setdefault(key, set()).update(v for v in found if isinstance(v, str))
        nested = mapping.selector.choices() if type(mapping.selector) is selectors.MatchSelector else []
        for useafter in nested:
            for selection in getattr(useafter, "_selections", []):
                dates.update(_around(selection.key))
    return {instr: ({k: sorted(v) for k, v in values.items()}, sorted(dates))
            for instr, (values, dates) in rules.items()}


def _around(useafter: str) -> list[tuple[str, str]]:
    try:
        moment = datetime.datetime.strptime(useafter, "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return []
    return [((moment + datetime.timedelta(seconds=s)).strftime("%Y-%m-%d"),
             (moment + datetime.timedelta(seconds=s)).strftime("%H:%M:%S")) for s in (-1, 0, 1)]


RULES = _rules()
DATE_KEYS = {"DATE-OBS", "TIME-OBS"}


@st.composite
def headers(draw) -> dict:
    instrument = draw(st.sampled_from(sorted(RULES) + ["FOO"]))
    values, dates = RULES.get(instrument, ({}, [("2005-01-01", "00:00:00")]))
    header = {"INSTRUME": instrument}
    for key, choices in values.items():
        if key in DATE_KEYS or draw(st.integers(0, 9)) == 0:
            continue  # dates below; now and then a key is left out
        header[key] = draw(st.sampled_from(choices + JUNK) if choices else st.sampled_from(JUNK))
    date, time = draw(st.sampled_from(dates + BAD_DATES) if dates else st.sampled_from(BAD_DATES))
    if draw(st.integers(0, 19)):
        header["DATE-OBS"] = date
    if draw(st.integers(0, 19)):
        header["TIME-OBS"] = time
    header["XIGNORED"] = str(draw(st.integers()))
    return header


@pytest.mark.skipif(not RULES, reason="../shared/corpus is absent")
@settings(max_examples=250, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(header=headers())
def test_generated_headers_get_the_librarys_answers(store, header):
    assert server(CONTEXT, header) == library(CONTEXT, header)


@pytest.mark.skipif(not RULES, reason="../shared/corpus is absent")
@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(first=headers(), second=headers())
def test_a_header_asked_after_another_gets_the_librarys_answers(store, first, second):
    # The second header shares the first's matching values but keeps its own date,
    # so any kept answer it is given must hold for its own date too.
    bestrefs_memo.forget()
    second = dict(first, **{k: v for k, v in second.items() if k in DATE_KEYS})
    assert server(CONTEXT, first) == library(CONTEXT, first)
    assert server(CONTEXT, second) == library(CONTEXT, second)
