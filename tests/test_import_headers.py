"""The import's header reader (`lib.fitscards`) gives astropy's values for the wanted cards.

Each case compares `fitscards.values` with ``astropy.io.fits.Header.fromstring``
on the same text: crafted headers with the cards that trip simple readers,
and every FITS and GEIS header of the shared corpus.
"""

from __future__ import annotations

import datetime
import warnings

import pytest
from astropy.io import fits

from crds_server.catalog import import_rows
from crds_server.lib import fitscards
from tests.live import CORPUS

WANTED = import_rows.WANTED


def _header(*cards: str, end: bool = True, pad: bool = True) -> str:
    text = "".join(card.ljust(80)[:80] if pad else card for card in cards)
    if end:
        text += "END".ljust(80)
    return text + " " * (-len(text) % 2880 if pad else 0)


def _astropy(text: str) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        header = fits.Header.fromstring(text)
        return {key: header[key] for key in WANTED if key in header}


def _ours(text: str) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fitscards.values(text, WANTED)


CASES = {
    "plain": _header("SIMPLE  =                    T", "USEAFTER= 'Jan 01 1997 00:00:00'",
                     "PEDIGREE= 'INFLIGHT 01/01/1990 01/01/2030'", "DESCRIP = 'A description'"),
    "lower case keywords": _header("SIMPLE  = T", "useafter= 'Jan 01 1997 00:00:00'", "descrip = 'low'"),
    "value indicator early": _header("DESCRIP= 'early'", "PEDIGREE='no space'"),
    "no value indicator": _header("DESCRIP  free text, no equals sign", "PEDIGREE GROUND"),
    "duplicates: the first wins": _header("DESCRIP = 'first'", "DESCRIP = 'second'"),
    "continue cards": _header("DESCRIP = 'a long description that goes on and on and on and on and &'",
                              "CONTINUE  'continues on the next card &'", "CONTINUE  'and ends here'",
                              "PEDIGREE= 'DUMMY'"),
    "hierarch": _header("HIERARCH DESCRIP = 'hierarch value'", "HIERARCH PEDIGREE = 'x'"),
    "undefined value": _header("DESCRIP =", "PEDIGREE=                        / only a comment"),
    "numbers and booleans": _header("USEAFTER=                 1997", "PEDIGREE=                    T",
                                    "DESCRIP =                 1.5E3"),
    "quotes and comments": _header("DESCRIP = 'it''s quoted' / DESCRIP in a comment",
                                   "COMMENT PEDIGREE = 'not a card of its own'"),
    "keyword named in another card's value": _header("HISTORY = 'DESCRIP'", "OBJECT  = 'PEDIGREE'"),
    "record-valued card": _header("DESCRIP = 'AXIS.1: 2'", "PEDIGREE= 'DP.X: 3.5'"),
    "cards after END are not read": _header("SIMPLE  = T", "END", "DESCRIP = 'after the end'", end=False),
    "END inside a value is not the end": _header("COMMENT END", "DESCRIP = 'END'", "PEDIGREE= 'x'"),
    "no END card": _header("DESCRIP = 'no end'", end=False),
    "a short last card": _header("PEDIGREE= 'x'", "DESCRIP = 'short'", end=False, pad=False),
    "a keyword across two cards is no card": "X" * 77 + "DESCRIP = 'x'" + " " * 70,
    "a continue card first": _header("CONTINUE  'orphan'", "DESCRIP = 'x'"),
    "empty": "",
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_reader_gives_astropy_s_values_for_a_crafted_header(name):
    text = CASES[name]
    assert _ours(text) == _astropy(text)


def test_a_value_astropy_cannot_parse_is_an_error_as_in_astropy():
    text = _header("DESCRIP = 'unterminated", "PEDIGREE= 12.3.4")
    with pytest.raises(Exception):  # noqa: B017  (whatever astropy raises, both raise)
        _astropy(text)
    with pytest.raises(Exception):  # noqa: B017
        _ours(text)


def _corpus_headers():
    if not CORPUS.is_dir():
        return []
    return sorted(p for p in CORPUS.rglob("*")
                  if p.is_file() and (p.suffix == ".fits" or import_rows.GEIS_HEADER_RE.search(p.name)))


@pytest.mark.corpus
def test_the_reader_gives_astropy_s_values_on_every_corpus_header():
    paths = _corpus_headers()
    if not paths:
        pytest.skip("../shared/corpus is absent")
    for path in paths:
        if path.suffix == ".fits":
            try:
                text = import_rows.primary_header(path.read_bytes(), path.name)
            except ValueError:  # no END card: the import takes no header (both agree: nothing read)
                continue
        else:
            text = path.read_bytes().decode("ascii", "replace")
        try:
            expected = _astropy(text)
        except Exception:
            with pytest.raises(Exception):  # noqa: B017
                _ours(text)
            continue
        assert _ours(text) == expected, path.name


@pytest.mark.parametrize("text", [
    "1997-01-01 00:00:00", "2003-12-31 23:59:59", "1997-02-30 00:00:00", "1997-1-1 0:0:0",
    "1997-01-01T00:00:00", "Jan 01 1997 00:00:00", "1997-01-01", " 1997-01-01 00:00:00 ", "",
    "1997-01-01 00:00:00 extra", "1997-01-01 24:00:00", "N/A", "19970-1-01 00:00:00",
])
def test_a_useafter_date_reads_as_strptime_reads_it(text):
    expected = None
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%b %d %Y %H:%M:%S", "%Y-%m-%d"):
        try:
            expected = datetime.datetime.strptime(text[:24].strip(), fmt).replace(tzinfo=datetime.UTC)
            break
        except ValueError:
            continue
    assert import_rows._parse_useafter(text) == expected
