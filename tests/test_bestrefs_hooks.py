"""Rules with the library's header hooks share answers too, and still give the library's answers.

ACS BIASFILE's precondition hook rewrites APERTURE and CCDAMP by date and
NUMCOLS; WFPC2 FLATFILE's fallback hook swaps the filters after a failed
match.  The memo runs the hooks themselves and keys on what they return.
"""

from __future__ import annotations

import pytest

from crds_server.catalog import bestrefs_memo, loader
from tests.corpus_rules import corpus_store, library, server

pytestmark = pytest.mark.corpus
CONTEXT = "hst.pmap"


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    yield from corpus_store(tmp_path_factory)


@pytest.fixture
def asked(store, monkeypatch):
    """The types the server asked the library's instrument rules for in the test (no kept answers)."""
    from crds.core import rmap

    bestrefs_memo.forget()
    calls: list[str] = []
    original = rmap.InstrumentContext.get_best_references

    def ask(self, header, include=None):
        calls.extend(include or ["*"])
        return original(self, header, include=include)

    monkeypatch.setattr(rmap.InstrumentContext, "get_best_references", ask)
    return calls


ACS_WFC = {"INSTRUME": "ACS", "DETECTOR": "WFC", "CCDAMP": "A", "CCDGAIN": "2.0", "APERTURE": "WFC1",
           "NUMCOLS": "4144.0", "NUMROWS": "2068.0", "LTV1": "24.0", "LTV2": "0.0", "BIASCORR": "PERFORM"}


def dated(header: dict, moment: str) -> dict:
    day, time = moment.split()
    return dict(header, **{"DATE-OBS": day, "TIME-OBS": time})


def test_acs_biasfile_around_sm4_gets_the_librarys_answer_in_any_order(asked):
    # Before SM4 (2009-05-14) the hook turns APERTURE into N/A and amp A into AD for a full row.
    moments = ["2009-05-13 23:59:59", "2009-05-14 00:00:00", "2009-05-14 00:00:01", "2003-01-01 00:00:00",
               "2012-06-01 00:00:00", "2009-05-13 23:59:59"]
    for order in (moments, moments[::-1]):
        bestrefs_memo.forget()
        for moment in order:
            header = dated(ACS_WFC, moment)
            assert server(CONTEXT, header, ["biasfile"]) == library(CONTEXT, header, ["biasfile"]), moment


def test_acs_biasfile_answers_are_kept_under_the_hooks_header(asked):
    rules = loader.get_mapping(CONTEXT).get_imap("acs").get_rmap("biasfile")
    assert bestrefs_memo.plan_for(rules).precondition is not None
    first = server(CONTEXT, dated(ACS_WFC, "2012-06-01 00:00:00"), ["biasfile"])
    assert asked == ["biasfile"]
    again = server(CONTEXT, dated(ACS_WFC, "2012-06-01 00:00:01"), ["biasfile"])
    assert asked == ["biasfile"]  # one second later: the same rows and dates, answered from the key
    assert again == first == library(CONTEXT, dated(ACS_WFC, "2012-06-01 00:00:01"), ["biasfile"])


def _swapped_filter_rows(limit: int = 12) -> list[dict]:
    """WFPC2 flatfile headers whose filters are the reverse of one of its rows' (two filters)."""
    rules = loader.get_mapping(CONTEXT).get_imap("wfpc2").get_rmap("flatfile")
    names = rules.selector._parameters
    found = []
    for key in rules.selector.keys():
        row = dict(zip(names, key, strict=True))
        one, two = (str(row[name]).split("|")[0] for name in ("FILTER1", "FILTER2"))
        if not (_number(one) and _number(two)) or one == two:
            continue
        header = {"INSTRUME": "WFPC2", "MODE": "FULL", "IMAGETYP": "EXT", "FILTER1": two, "FILTER2": one}
        for name in ("MODE", "IMAGETYP", "FILTNAM1", "FILTNAM2", "LRFWAVE"):
            value = str(row[name])
            if value not in ("*", "N/A") and not value.startswith("#"):
                header[name] = value.split("|")[0]
        found.append(header)
        if len(found) == limit:
            break
    return found


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def test_wfpc2_flatfile_fallback_answers_match_the_library_and_are_kept(asked):
    rows = _swapped_filter_rows()
    assert rows
    matched = 0
    for header in rows:
        for moment in ("2001-01-01 00:00:00", "2001-01-01 00:00:01"):
            case = dated(header, moment)
            got = server(CONTEXT, case, ["flatfile"])
            expected = library(CONTEXT, case, ["flatfile"])
            assert got == expected, case
            found = str(expected[1].get("flatfile", "NOT FOUND")) if expected[0] else "NOT FOUND"
            matched += not found.startswith("NOT FOUND")
    assert matched  # some swapped headers really get a file through the fallback
    # Every second date came with the first one's values, rows and date position: asked once.
    assert len([kind for kind in asked if kind == "flatfile"]) - 2 * len(rows) == len(rows)
