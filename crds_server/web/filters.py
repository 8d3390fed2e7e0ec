"""What the listings' filter forms share (Browse, Recent Activity): menus whose blank is `*`,
a lone `*` meaning any, globs within `security.glob`'s limits, an extension, dates in order."""

from __future__ import annotations

import re

from django import forms

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
