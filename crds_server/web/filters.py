"""What the listings share (G3).

Every result table: "Show N entries" (`show`, one of `PAGE_SIZES`; any other number is clamped
into them), a search box over the listing's text columns (`search`, at most `SEARCH_MAX`
characters) and pages, all in the URL (`listing`).  The filter forms (Browse, Recent Activity):
menus whose blank is `*`, a lone `*` meaning any, globs within `security.glob`'s limits, an
extension, dates in order."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from functools import reduce
from operator import or_

from django import forms
from django.core.paginator import Page, Paginator
from django.db.models import Q, QuerySet
from django.http import QueryDict

from crds_server.security import glob
from crds_server.security.errors import LimitExceeded


def star_means_any(query, fields: tuple[str, ...]) -> None:
    """A lone `*` in one of the menus' `fields` is 'any', as on STScI's site (and in the menus'
    own labels here): bookmarks carry it."""
    for field in fields:
        if query.get(field, "").strip() == "*":
            query[field] = ""


class ListingFilters(forms.Form):
    """Base of a listing's filters; subclasses name their `extension`, `start` and `stop` fields
    and call `clean_glob` for their name field."""

    def set_menus(self, choices: dict[str, list[str]], fields: tuple[str, ...]) -> None:
        for field in fields:
            self.fields[field].choices = [("", "*")] + [(c, c) for c in choices[field]]

    def clean_glob(self, field: str) -> str:
        """A plain substring, or a glob within the limits of `security.glob`."""
        name = self.cleaned_data[field].strip()
        if glob.is_glob(name):
            try:
                glob.normalize(name)
            except LimitExceeded as exc:
                raise forms.ValidationError(str(exc)) from exc
        return name

    def clean_extension(self) -> str:
        ext = self.cleaned_data["extension"].strip()
        if ext and not re.fullmatch(r"\.?[A-Za-z0-9]{1,12}", ext):
            raise forms.ValidationError("An extension is letters and digits, e.g. .pmap or fits.")
        return ext if not ext or ext.startswith(".") else f".{ext}"

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("stop") and data["start"] > data["stop"]:
            self.add_error("stop", "The end date is before the start date.")
        return data


PAGE_SIZES = (10, 25, 50, 100)
SEARCH_MAX = 100
CONTROLS = ("show", "search", "page")


def page_size(text: str | None, default: int) -> int:
    """The asked page size clamped into `PAGE_SIZES` (the largest not above it); `default` when
    the text is not a number."""
    try:
        asked = int(str(text).strip()[:8])
    except ValueError:
        return default
    return max([size for size in PAGE_SIZES if size <= asked], default=PAGE_SIZES[0])


@dataclass
class Listing:
    """One page of a listing and its controls: what `_listing_controls.html` and `_pager.html` show."""

    page: Page | None
    show: int
    search: str
    keep: list[tuple[str, str]] = dataclasses.field(default_factory=list)  # the other parameters of the URL
    error: str = ""
    sizes: tuple[int, ...] = PAGE_SIZES

    @property
    def filtered(self) -> bool:
        """Whether the URL asks for a search or filters (the filter form then folds away)."""
        return bool(self.search) or any(key != "sort" for key, _ in self.keep)


def search_text(query: QueryDict) -> tuple[str, str]:
    """The search box's text and an error ('' when fine): bounded, no NUL."""
    text = query.get("search", "").strip()
    if len(text) > SEARCH_MAX:
        return "", f"A search is at most {SEARCH_MAX} characters."
    if "\x00" in text:
        return "", "A search cannot contain a NUL character."
    return text, ""


def listing(query: QueryDict, rows, columns: tuple[str, ...], default: int = 100) -> Listing:
    """`rows` (a QuerySet, or a list of dicts or objects) kept by the URL's `search` in any of
    the text `columns` (case-insensitive), cut into pages of the URL's `show` entries.
    A bad search gives a Listing with an `error` and no page (answer 400); a bad page number
    gives the nearest page."""
    show = page_size(query.get("show"), default) if query.get("show") else default
    keep = [(k, v) for k in query if k not in CONTROLS for v in query.getlist(k)]
    text, error = search_text(query)
    if error:
        return Listing(None, show, "", keep, error)
    if text:
        rows = _searched(rows, columns, text)
    return Listing(Paginator(rows, show).get_page(query.get("page")), show, text, keep)


def _searched(rows, columns: tuple[str, ...], text: str):
    if isinstance(rows, QuerySet):
        return rows.filter(reduce(or_, (Q(**{f"{c}__icontains": text}) for c in columns)))
    wanted = text.casefold()

    def value(row, column):
        return row.get(column, "") if isinstance(row, dict) else getattr(row, column, "")

    return [row for row in rows if any(wanted in str(value(row, c) or "").casefold() for c in columns)]
