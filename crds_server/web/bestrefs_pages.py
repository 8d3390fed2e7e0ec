"""Best references for people: explore by parameters, paste a header, or give a dataset id."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import patch_cache_control

from crds_server.catalog import bestrefs, contexts, dataset_headers, rules_table
from crds_server.catalog.errors import CatalogError
from crds_server.catalog.headers import HeaderSyntaxError, parse_pasted_header
from crds_server.catalog.models import File
from crds_server.datasets.actions import answer_headers
from crds_server.datasets.errors import DatasetError

from . import context_picker


@dataclass
class Result:
    """The file chosen for one reference type, or why none applies, and the rule that chose it."""

    filekind: str
    chosen: str
    found: bool
    why: dict[str, str]


def bestrefs_page(request: HttpRequest) -> HttpResponse:
    """Choose a context, then an instrument, a pasted header or a dataset id."""
    source = request.POST if request.method == "POST" else request.GET
    state = {"context_input": context_picker.chosen(source, "context", "") or contexts.pointer("latest"),
             "instrument": source.get("instrument", "").strip().lower(),
             "dataset": source.get("dataset", "").strip(), "header_text": source.get("header", ""),
             "errors": {}, "parameters": [], "results": None, "inputs": {}}
    state["context"] = _resolve(state)
    if state["context"]:
        _fill(request, source, state)
    state["picker"] = context_picker.state_from(source, "context", "latest")
    response = render(request, "web/bestrefs.html", dict(state, **_menus(state["context"])),
                      status=400 if state["errors"] else 200)
    patch_cache_control(response, max_age=60)
    return response


def legacy_explore(request: HttpRequest) -> HttpResponse:
    """STScI's `/bestrefs_explore/` (Explore Best References): moved for good, query kept."""
    query = request.GET.urlencode()
    return HttpResponsePermanentRedirect(reverse("web-bestrefs") + (f"?{query}" if query else ""))


def _resolve(state: dict) -> str:
    try:
        context = contexts.resolve(state["context_input"])
    except CatalogError as exc:
        state["errors"]["context"] = str(exc)
        return ""
    if not context.endswith(".pmap"):
        state["errors"]["context"] = f"'{context}' is not a pipeline context (.pmap)."
        return ""
    return context


def _fill(request: HttpRequest, source, state: dict) -> None:
    if request.method == "POST" and request.FILES.get("fits"):
        state["mode"], header = "header", _uploaded(request.FILES["fits"], state)
    elif request.method == "POST":
        state["mode"], header = "header", _parsed(state)
    elif state["dataset"]:
        state["mode"], header = "dataset", _dataset_header(state)
    elif state["instrument"]:
        state["mode"], header = "instrument", _explored(source, state)
    else:
        return
    if header:
        state["inputs"] = header
        _compute(state, header)


def _parsed(state: dict) -> dict | None:
    try:
        return parse_pasted_header(state["header_text"])
    except HeaderSyntaxError as exc:
        state["errors"]["header"] = str(exc)
        return None


def _uploaded(upload, state: dict) -> dict | None:
    """The primary header of an uploaded dataset (Django deletes the upload with the request)."""
    try:
        header = dataset_headers.primary_header(upload, upload.size)
    except HeaderSyntaxError as exc:
        state["errors"]["header"] = str(exc)
        return None
    state["header_text"] = "\n".join(f"{k} = {v}" for k, v in header.items())
    return header


def _dataset_header(state: dict) -> dict | None:
    """The header of the dataset id, answered as `get_dataset_headers_by_id` answers it."""
    try:
        found = answer_headers([state["dataset"]])
    except DatasetError as exc:
        state["errors"]["dataset"] = str(exc)
        return None
    if not found:
        return None
    answer = sorted(found.items())[0][1]
    if isinstance(answer, str):  # "NOT FOUND ...": an id of a known instrument with no dataset
        state["errors"]["dataset"] = answer
        return None
    return dict(answer)


def _explored(source, state: dict) -> dict | None:
    try:
        required = rules_table.required_parameters(state["context"], state["instrument"])
    except Exception:  # unknown instrument: the library raises its own errors
        state["errors"]["instrument"] = f"Context {state['context']} has no instrument " \
                                        f"'{state['instrument']}'."
        return None
    state["parameters"] = [
        {"key": key, "values": values, "selected": source.get(f"sel-{key}", "").strip(),
         "typed": source.get(f"val-{key}", "").strip()} for key, values in required]
    if not source.get("go"):
        return None
    header = {"INSTRUME": state["instrument"].upper()}
    for row in state["parameters"]:
        header[row["key"]] = row["typed"] or row["selected"] or "UNDEFINED"
    return header


def _compute(state: dict, header: dict) -> None:
    try:
        found = bestrefs.best_references(state["context"], bestrefs.check_header(header), None)
    except Exception as exc:  # the library explains what is missing from the header
        state["errors"][state["mode"]] = f"{exc}"
        return
    instrument = _instrument(header)
    known = set(File.objects.filter(name__in=[v for v in found.values() if isinstance(v, str)])
                .values_list("name", flat=True))
    explain = rules_table.explain_choice
    state["results"] = [
        Result(kind, str(value), value in known,
               explain(state["context"], instrument, kind, value) if value in known else {})
        for kind, value in sorted(found.items())]


def _instrument(header: dict) -> str:
    for key in ("INSTRUME", "META.INSTRUMENT.NAME"):
        if header.get(key):
            return str(header[key]).lower()
    return ""


def _menus(context: str) -> dict:
    recent = list(File.objects.filter(type=File.MAPPING, name__endswith=".pmap")
                  .order_by("-delivery_date", "-name").values_list("name", flat=True)[:30])
    try:
        instruments = rules_table.instruments(context) if context else []
    except CatalogError:
        instruments = []
    return {"recent_contexts": recent, "instruments": instruments,
            "download_base": f"/unchecked_get/references/{settings.OBSERVATORY}/",
            "upload_max": dataset_headers.UPLOAD_MAX_BYTES}
