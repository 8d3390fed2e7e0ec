"""The context picker (G2), shared by every form that takes a context.

A collapsible block whose header shows the current choice (`hst_0123.pmap 2026-11-30 11:05
(Latest Context)`), with four radio choices: the edit context, the latest one (each "or more
recent": it may move before the form is sent), a menu of recently delivered pmaps, or a name
typed by hand.  A pmap the archive does not hold yet is flagged `*unavailable*`.

It posts `<prefix>_mode` (`<prefix>_edit`, `_latest`, `_menu`, `_text`), `<prefix>_menu` and
`<prefix>_text`: with the prefix `pmap`, the field names `crds submit` posts (contract §5.4).
`chosen` reads them back as a context specifier; a form that also took a plain `<prefix>`
parameter (a shared address) keeps it when no mode is given.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django import forms
from django.conf import settings

from crds_server.catalog import contexts
from crds_server.catalog.activation import ARCHIVED_STATES
from crds_server.catalog.models import File

RECENT = 20  # pmaps in the Recent menu
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,127}$")
MODES = ("edit", "latest", "menu", "text")
LABELS = {"edit": "Editing Context", "latest": "Latest Context", "menu": "Recent", "text": "User Specified"}


@dataclass(frozen=True)
class Pmap:
    name: str
    delivered: str  # "YYYY-MM-DD HH:MM" UTC, or ""
    unavailable: bool  # the archive does not hold it yet


def _pmap(row: dict) -> Pmap:
    date = row["delivery_date"]
    return Pmap(row["name"], date.strftime("%Y-%m-%d %H:%M") if date else "",
                row["state"] not in ARCHIVED_STATES)


def recent() -> list[Pmap]:
    """The pmaps delivered last, newest first (one indexed query)."""
    rows = (File.objects.public().filter(type=File.MAPPING, name__endswith=".pmap")
            .order_by("-delivery_date", "-name").values("name", "delivery_date", "state")[:RECENT])
    return [_pmap(row) for row in rows]


def describe(name: str) -> Pmap | None:
    """One pmap of the catalog, with its delivery date and availability; None if unknown."""
    row = File.objects.public().filter(name=name).values("name", "delivery_date", "state").first()
    return _pmap(row) if row else None


def chosen(data, prefix: str = "pmap", default: str = "edit") -> str:
    """The context specifier the picker's fields in `data` choose ('' when the chosen field is
    empty); without a mode, a plain `<prefix>` parameter, else `default`."""
    mode = str(data.get(f"{prefix}_mode") or "").removeprefix(f"{prefix}_")
    if mode in ("edit", "latest"):
        return mode
    if mode in ("menu", "text"):
        return str(data.get(f"{prefix}_{mode}") or "").strip()[:200]
    return str(data.get(prefix) or "").strip()[:200] or default


def _fields(data, prefix: str) -> dict[str, str]:
    return {part: str(data.get(f"{prefix}_{part}") or "").strip()[:200] for part in ("mode", "menu", "text")}


class ContextPickerWidget(forms.Widget):
    """Renders `web/_context_picker.html`; its value is {mode, menu, text}."""

    template_name = "web/_context_picker.html"

    def value_from_datadict(self, data, files, name):
        return _fields(data, name)

    def value_omitted_from_data(self, data, files, name):
        return f"{name}_mode" not in data

    def format_value(self, value):
        return value

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["picker"] = picker_state(name, value or {}, self.attrs.get("default", "edit"))
        return context


class ContextPickerField(forms.Field):
    """A context chosen with the picker: cleans to 'edit', 'latest' or a typed or menu name."""

    widget = ContextPickerWidget

    def __init__(self, *, default: str = "edit", **kwargs) -> None:
        kwargs.setdefault("label", "Context")
        super().__init__(**kwargs)
        self.widget.attrs["default"] = default

    def clean(self, value):
        value = value or {}
        mode = value.get("mode", "").rsplit("_", 1)[-1] or self.widget.attrs["default"]
        if mode not in MODES:
            raise forms.ValidationError("Choose Editing, Latest, Recent or User Specified.")
        if mode in ("edit", "latest"):
            return mode
        name = value.get(mode, "")
        if not name:
            raise forms.ValidationError("Pick a recent context." if mode == "menu"
                                        else "Type a context name.")
        if not NAME_RE.match(name):
            raise forms.ValidationError("A context is a file name such as hst_0001.pmap, or hst-latest.")
        return name


def picker_state(name: str, value: dict, default: str = "edit") -> dict:
    """What the template shows: the choices, the menu, the current choice for the header."""
    mode = (value.get("mode") or "").rsplit("_", 1)[-1]
    mode = mode if mode in MODES else default
    edit, latest = contexts.pointer("edit"), contexts.pointer("latest")
    menu = recent()
    current = {"edit": edit, "latest": latest}.get(mode) or value.get(mode, "")
    shown = next((p for p in menu if p.name == current), None) or (describe(current) if current else None)
    return {"name": name, "mode": mode, "observatory": settings.OBSERVATORY,
            "edit": edit, "latest": latest, "recent": menu,
            "menu": value.get("menu", ""), "text": value.get("text", ""),
            "current": current, "current_pmap": shown, "label": LABELS[mode],
            "edit_pmap": _find(menu, edit), "latest_pmap": _find(menu, latest)}


def _find(menu: list[Pmap], name: str) -> Pmap | None:
    return next((p for p in menu if p.name == name), None) or (describe(name) if name else None)


def state_from(data, prefix: str, default: str = "edit") -> dict:
    """The picker's state for a form read by hand (not a Django form): its own fields when sent,
    else a plain `<prefix>` parameter of a shared address, shown as User Specified."""
    if f"{prefix}_mode" in data:
        value = _fields(data, prefix)
    elif str(data.get(prefix) or "").strip():
        value = {"mode": "text", "menu": "", "text": str(data.get(prefix)).strip()[:200]}
    else:
        value = {"mode": default}
    return picker_state(prefix, value, default)
