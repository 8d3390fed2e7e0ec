"""A few keyword values from the text of a FITS-style header, without parsing every card.

`values(text, keywords)` answers what ``astropy.io.fits.Header.fromstring(text)``
would for each keyword (``header[key]`` when ``key in header``), but builds an
astropy `Card` only for the 80-character cards that can hold one of them: the
cards before the END card that mention the keyword, with their CONTINUE
cards.  Values are always astropy's own.  tests/test_import_headers.py compares
both on every header of the corpus and on crafted cards (lower case, HIERARCH,
CONTINUE, duplicates, no value indicator, undefined values).

Card values are memoised by card image: a card's value depends on its image
alone, and a cache of rules files repeats the same pedigrees and descriptions
thousands of times.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

from astropy.io.fits import Card
from astropy.io.fits.card import UNDEFINED

CARD = 80
END_CARD = "END" + " " * (CARD - 3)
CONTINUE = "CONTINUE"


def values(text: str, keywords: Iterable[str]) -> dict[str, Any]:
    """{keyword: value} of the `keywords` (upper case, at most 8 characters) present in `text`.

    Errors of astropy's (a value it cannot parse) pass through, as from ``header[key]``.
    """
    end = _end_index(text)
    upper = text[:end].upper()
    found: dict[str, Any] = {}
    for key in keywords:
        card = _first(text, end, _cards_naming(upper, key), key)
        if card is not None:
            found[key] = card[1]
    return found


def _end_index(text: str) -> int:
    """Where the header stops: at its first END card on a card boundary, else the text's end."""
    start = 0
    while (index := text.find(END_CARD, start)) >= 0:
        if index % CARD == 0:
            return index
        start = index + 1
    return len(text)


def _cards_naming(upper: str, key: str) -> list[int]:
    """Start offsets of the cards whose text holds `key` anywhere (a superset of its cards)."""
    starts: list[int] = []
    index = upper.find(key)
    while index >= 0:
        start = index - index % CARD
        if not starts or starts[-1] != start:
            starts.append(start)
        index = upper.find(key, index + 1)
    return starts


def _first(text: str, end: int, starts: list[int], key: str) -> tuple[str, Any] | None:
    """(image, value) of the first card keyed `key`, else of the first record-valued card whose
    raw keyword is `key` (the order of astropy's lookups); None when neither is present."""
    parsed = []
    for start in starts:
        if text[start:start + 8] == CONTINUE:  # part of the card before it, or a CONTINUE card
            continue
        image = _image(text, start, end)
        keyword, rawkeyword, record_valued, _ = parsed_card(image)
        if keyword == key:
            return image, _value(image)
        parsed.append((image, rawkeyword, record_valued))
    for image, rawkeyword, record_valued in parsed:
        if record_valued and rawkeyword == key:
            return image, parsed_card(image)[3]
    return None


def _image(text: str, start: int, end: int) -> str:
    """The card at `start` with the CONTINUE cards that follow it."""
    stop = start + CARD
    while stop < end and text[stop:stop + 8] == CONTINUE:
        stop += CARD
    return text[start:min(stop, len(text))]


@functools.lru_cache(maxsize=8192)
def _card(image: str) -> Card:
    """The astropy card of `image` (never modified here, so one object serves every lookup)."""
    return Card.fromstring(image)


@functools.lru_cache(maxsize=8192)
def parsed_card(image: str) -> tuple[str, str, bool, Any]:
    """(normalised keyword, raw keyword, record-valued?, raw value if record-valued) of a card."""
    card = _card(image)
    keyword = Card.normalize_keyword(card.keyword)
    if card.field_specifier is not None:
        return keyword, card.rawkeyword, True, card.rawvalue
    return keyword, card.rawkeyword, False, None


@functools.lru_cache(maxsize=8192)  # astropy reads its configuration on every `.value`
def _value(image: str) -> Any:
    value = _card(image).value
    return None if value == UNDEFINED else value
