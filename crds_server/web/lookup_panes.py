"""The Lookup Patterns pane of a file's details page, and its admin link for operators."""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import HttpRequest

from crds_server.accounts.actions import has_role
from crds_server.catalog import context_tables, contexts
from crds_server.catalog.models import File


def lookup_panes(file: File, request: HttpRequest) -> dict:
    """The Lookup Patterns pane (a reference under the latest context; an rmap's selectors), the
    other references of a reference's type to diff it against, and the operator's admin link."""
    found: dict = {"admin_url": f"/admin/catalog/file/?{urlencode({'q': file.name})}"
                   if has_role(request.user, "operator") else ""}
    if not file.is_mapping() and not file.is_pending():  # "diff versus" another of its type
        found["siblings"] = _same_type(file)
    latest = contexts.pointer("latest")
    try:
        if file.name.endswith(".rmap") and not file.is_pending():
            found["selectors"] = context_tables.selector_summary(file.name)
        elif not file.is_mapping() and latest.endswith(".pmap"):
            found["lookup"] = context_tables.lookup_patterns(latest, file.instrument, file.filekind,
                                                             file.name)
    except Exception as exc:  # rules the library refuses still leave the page
        found["lookup_problem"] = str(exc)[:500]
    return found


def _same_type(file: File) -> list[str]:
    """Up to 200 other references of `file`'s instrument, type and extension, newest useafter first."""
    extension = file.name[file.name.rfind("."):]
    rows = (File.objects.public().filter(type=File.REFERENCE, instrument=file.instrument,
                                         filekind=file.filekind, name__endswith=extension)
            .exclude(name=file.name).order_by("-useafter_date", "-name"))
    return list(rows.values_list("name", flat=True)[:200])
