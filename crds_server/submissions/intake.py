"""Reading a submission form: derive-from context, description, flags, and named references.

Everything a submitter types is checked here, before any row is written:
descriptions as the client checks them (contract §5.9), and for Delete and
Add References (S10, S11) the named files, which must be catalogued,
confirmed references, bounded in count and length.
"""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings

from crds_server.catalog import contexts
from crds_server.catalog.errors import CatalogError
from crds_server.catalog.models import File
from crds_server.lib import plaintext

from .errors import SubmissionError

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,127}$")
MAX_NAMED = 200  # references one Delete or Add References submission may name
NAMED_FIELDS = {"delete": "deleted_files", "add": "added_files"}


def derive_from(form: dict[str, Any]) -> str:
    """The .pmap named by the form's pmap_mode / pmap_text / pmap_name (pmap_menu: the web
    picker's Recent menu)."""
    mode = str(form.get("pmap_mode") or "pmap_edit")
    spec = {"pmap_edit": "edit", "pmap_latest": "latest"}.get(mode)
    if mode == "pmap_menu":
        spec = str(form.get("pmap_menu") or "")
    text = spec if spec else str(form.get("pmap_text") or form.get("pmap_name") or "")
    try:
        context = contexts.resolve(text)
    except CatalogError as exc:
        raise SubmissionError(f"Cannot derive from '{text}': {exc}") from exc
    if not context.endswith(".pmap"):
        raise SubmissionError(f"Derive-from context '{context}' is not a .pmap.")
    return context


def comparison_context(form: dict[str, Any], derive_from: str) -> str:
    """The .pmap the uploads are certified against (``crds certify --comparison-context``):
    the form's comparison_context, a .pmap name or symbolic context, or else `derive_from`
    (STScI's default), so table checks compare with the files being replaced."""
    text = str(form.get("comparison_context") or "").strip()[:128]
    if not text:
        return derive_from
    try:
        context = contexts.resolve(text)
    except CatalogError as exc:
        raise SubmissionError(f"Cannot compare with '{text}': {exc}") from exc
    if not context.endswith(".pmap"):
        raise SubmissionError(f"Comparison context '{context}' is not a .pmap.")
    return context


def description(form: dict[str, Any], required: bool) -> str:
    text = str(form.get("description") or "").strip()
    if required and not text:
        raise SubmissionError("A description of the delivery is required.")
    refused = plaintext.problem(text, "description") if text else None
    if refused:
        raise SubmissionError(refused)
    return text


def change_level(form: dict[str, Any]) -> str:
    level = str(form.get("change_level") or "SEVERE").upper()
    if level not in ("SEVERE", "MODERATE", "TRIVIAL"):
        raise SubmissionError(f"Unknown change level '{level}'.")
    return level


def flag(form: dict[str, Any], name: str, default: bool) -> bool:
    value = form.get(name)
    if value is None:
        return default
    return str(value).lower() in ("true", "1", "on", "yes")


def generate_contexts(kind: str, form: dict[str, Any]) -> bool:
    """Whether the submission writes new rules: batch always, Submit References (S8) never,
    Submit Mappings (S9) as its Generate Contexts checkbox says (an unticked box is absent)."""
    if kind == "mappings":
        return flag(form, "generate_contexts", False)
    return kind in ("batch", "delete", "add")


def named_references(kind: str, form: dict[str, Any], context: str) -> tuple[list[str], list[str]]:
    """The references a Delete or Add References form names, and their instruments.

    Names are separated by spaces, commas or newlines (S10); each must be a
    confirmed reference of the catalog, in `context` to be deleted, not in
    it to be added (processing checks that again).
    """
    field = NAMED_FIELDS[kind]
    text = str(form.get(field) or "")
    if len(text) > MAX_NAMED * 130:
        raise SubmissionError(f"Too much text in the list of files: name at most {MAX_NAMED} files.")
    names = [name for name in re.split(r"[\s,]+", text) if name]
    if not names:
        raise SubmissionError("Name the references, one per line or separated by spaces.")
    if len(names) > MAX_NAMED:
        raise SubmissionError(f"{len(names)} files named: name at most {MAX_NAMED} per submission.")
    for name in names:
        if not NAME_RE.match(name):
            raise SubmissionError(f"'{name[:80]}' is not a CRDS file name.")
        if names.count(name) > 1:
            raise SubmissionError(f"'{name}' is named twice.")
    rows = {row.name: row for row in File.objects.filter(name__in=names)}
    unknown = [name for name in names if name not in rows or rows[name].state == "uploaded"]
    if unknown:
        raise SubmissionError(f"Not in CRDS: {', '.join(unknown)}.")
    mappings = [name for name in names if rows[name].type != File.REFERENCE]
    if mappings:
        raise SubmissionError(f"Not a reference file: {', '.join(mappings)}.")
    spoiled = [name for name in names if rows[name].is_bad()]
    if kind == "add" and spoiled:
        raise SubmissionError(f"Marked bad, so not to be added to the rules: {', '.join(spoiled)} "
                              "(an operator can mark them OK first).")
    _check_membership(kind, names, context)
    return names, sorted({_instrument(rows[name]) for name in names} - {""})


def _check_membership(kind: str, names: list[str], context: str) -> None:
    from crds_server.catalog import loader

    try:
        in_context = set(loader.get_mapping(context).reference_names())
    except CatalogError as exc:
        raise SubmissionError(f"Cannot read '{context}': {exc}") from exc
    if kind == "delete":
        absent = [name for name in names if name not in in_context]
        if absent:
            raise SubmissionError(f"Not in '{context}', so nothing to delete: {', '.join(absent)}.")
    else:
        present = [name for name in names if name in in_context]
        if present:
            raise SubmissionError(f"Already in '{context}': {', '.join(present)}.")


def _instrument(row: File) -> str:
    if row.instrument:
        return row.instrument.lower()
    from crds.core import utils

    try:
        instrument, _ = utils.get_file_properties(settings.OBSERVATORY, str(row.store_path()))
    except Exception:
        return ""
    return str(instrument or "").lower()
