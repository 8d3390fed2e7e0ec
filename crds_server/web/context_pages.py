"""Context pages: history, all contexts, a context's table, differences, build contexts, help."""

from __future__ import annotations

from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from crds_server.catalog import context_tables, contexts, diffs
from crds_server.catalog.errors import CatalogError
from crds_server.catalog.models import BuildContext, ContextHistory, File

from .browse import private_if_personal, visible_files
from .files import valid_name
from .filters import listing

PER_PAGE = 100
TYPE_PER_PAGE = 200


def _cached(request: HttpRequest, response: HttpResponse, seconds: int) -> HttpResponse:
    """Cacheable for `seconds`; privately when the page is a logged-in user's (its header
    names them and their lock)."""
    return private_if_personal(request, response, seconds)


def context_history(request: HttpRequest) -> HttpResponse:
    """Every era of the latest context, newest first, with diff checkboxes."""
    rows = ContextHistory.objects.order_by("-start_date", "-id").values(
        "start_date", "context", "description", "user")
    shown = listing(request.GET, rows, ("context", "description", "user"), PER_PAGE)
    return _cached(request, render(request, "web/context_history.html", {
        "page": shown.page, "listing": shown, "query": _links(request), "latest": contexts.pointer("latest"),
        "newest_first": shown.page is not None and shown.page.number == 1 and not shown.search},
        status=400 if shown.error else 200), 60)


def all_contexts(request: HttpRequest) -> HttpResponse:
    """Every .pmap in the catalog, newest delivery first, with its latest/edit status."""
    rows = (visible_files(request).filter(type=File.MAPPING, name__endswith=".pmap")
            .order_by("-delivery_date", "-name").values("name", "delivery_date", "state", "description"))
    shown = listing(request.GET, rows, ("name", "state", "description"), PER_PAGE)
    return private_if_personal(request, render(request, "web/contexts.html", {
        "page": shown.page, "listing": shown, "query": _links(request), "latest": contexts.pointer("latest"),
        "edit": contexts.pointer("edit")}, status=400 if shown.error else 200), 60)


def _links(request: HttpRequest) -> str:
    """The URL's parameters but the page, for the pager's links."""
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


def context_table(request: HttpRequest, pmap: str) -> HttpResponse:
    """Instruments -> reference types (with descriptions, rmaps, activation dates) of one context."""
    _require_mapping(pmap, ".pmap")
    try:
        table = context_tables.summary(pmap)
    except CatalogError as exc:
        raise Http404(str(exc)) from exc
    others = (File.objects.public().filter(type=File.MAPPING, name__endswith=".pmap").exclude(name=pmap)
              .order_by("-delivery_date", "-name").values_list("name", flat=True)[:100])
    activation = File.objects.filter(name=pmap).values_list("activation_date", flat=True).first()
    return _cached(request, render(request, "web/context_table.html", {
        "pmap": pmap, "table": table, "few": len(table) < 3, "others": list(others),
        "activation": activation.strftime("%Y-%m-%d %H:%M:%S") if activation else ""}), 300)


def context_type(request: HttpRequest, pmap: str, instrument: str, filekind: str) -> HttpResponse:
    """The references one type's rmap selects in a context: matches, useafter, activation, description.

    `?fragment=1` answers the table alone, which the home page and the context
    table load in place when a type is opened.
    """
    _require_mapping(pmap, ".pmap")
    q = request.GET.get("q", "")
    if len(q) > 200 or "\x00" in q or len(instrument) > 32 or len(filekind) > 32:
        return _message(request, "Bad filter", "A filter is at most 200 characters, with no NUL.")
    try:
        refs = context_tables.type_references(pmap, instrument, filekind)
    except context_tables.UnknownType as exc:
        raise Http404(str(exc)) from exc
    page = Paginator(refs.matching(q), TYPE_PER_PAGE).get_page(request.GET.get("page"))
    context_tables.describe(page.object_list)
    fragment = request.GET.get("fragment") == "1"
    template = "web/_type_references.html" if fragment else "web/context_type.html"
    return _cached(request, render(request, template, {
        "refs": refs, "page": page, "q": q, "fragment": fragment, "boxes": request.GET.get("boxes") == "1",
        "query": urlencode({"q": q}) if q else ""}), 300)


def legacy_context_table(request: HttpRequest, pmap: str, recursive: int | None = None) -> HttpResponse:
    """STScI's `/context_table/<pmap>/` and `/context_table/<pmap>/<recursive>`: moved for good."""
    if not valid_name(pmap):
        raise Http404(f"No context named '{pmap[:200]}' is in the catalog.")
    return redirect("web-context-table", pmap=pmap, permanent=True)


def diff_form(request: HttpRequest) -> HttpResponse:
    """Two ticked boxes (or old/new fields) -> the stable /diff/<old>/<new> address."""
    names = request.GET.getlist("context") or [request.GET.get("old", ""), request.GET.get("new", "")]
    names = [n.strip() for n in names if n.strip()]
    if len(names) != 2:
        return _message(request, "Pick two files to compare",
                        "Tick exactly two boxes (or give an old and a new file name), then press diff.")
    bad = [n for n in names if not valid_name(n)]
    if bad:
        return _message(request, "Not a file name",
                        f"'{bad[0][:200]}' is not a rules file name (letters, digits, '.', '_', '-').")
    old, new = sorted(names)
    return redirect("web-diff", old=old, new=new)


def _message(request: HttpRequest, title: str, message: str, status: int = 400) -> HttpResponse:
    return render(request, "web/message.html", {"title": title, "message": message}, status=status)


def difference(request: HttpRequest, old: str, new: str) -> HttpResponse:
    """Two mappings: logical and text differences at every level; two references: the library's
    difference (fitsdiff and rowdiff for FITS, a text diff otherwise)."""
    if _is_reference(old) or _is_reference(new):
        files = [_require_reference(name) for name in (old, new)]
        try:
            result = diffs.reference_difference(*files)
        except diffs.DiffBusy as exc:
            busy = _message(request, "Busy", str(exc), status=503)
            busy["Retry-After"] = "60"
            return busy
        except diffs.NotComparable as exc:
            return _message(request, "Cannot compare", str(exc))
        return _cached(request, render(request, "web/diff_reference.html", {
            "old": old, "new": new, "result": result}), 3600)
    _require_mapping(old)
    _require_mapping(new)
    try:
        pairs = diffs.mapping_difference(old, new)
    except diffs.MappingKindMismatch as exc:
        return _message(request, "Cannot compare", str(exc))
    except CatalogError as exc:
        raise Http404(str(exc)) from exc
    return _cached(request, render(request, "web/diff.html", {"old": old, "new": new, "pairs": pairs}),
                   3600)


def _is_reference(name: str) -> bool:
    return valid_name(name) and not name.endswith((".pmap", ".imap", ".rmap"))


def _require_reference(name: str) -> File:
    """The catalogued file `name` (pending rows left out: their bytes are in staging), else a 404."""
    file = File.objects.public().filter(name=name).first() if valid_name(name) else None
    if file is None:
        raise Http404(f"No file named '{name[:200]}' is in the catalog.")
    return file


def build_contexts(request: HttpRequest) -> HttpResponse:
    """Calibration software versions and the context delivered with each."""
    rows = sorted(BuildContext.objects.values("calver", "context", "created"),
                  key=lambda r: contexts.version_key(r["calver"]), reverse=True)
    return _cached(request, render(request, "web/build_contexts.html", {"rows": rows}), 60)


def help_page(request: HttpRequest) -> HttpResponse:
    """What contexts, file states and bad files mean."""
    return _cached(request, render(request, "web/help.html", {
        "latest": contexts.pointer("latest"), "edit": contexts.pointer("edit")}), 3600)


def _require_mapping(name: str, suffix: str = "") -> None:
    """A 404 unless `name` is a plain file name of a public mapping (ending in `suffix`).

    Pending mappings are left out even for their submitter: their bytes are
    still in the submission's staging area, not in the file store.
    """
    if not valid_name(name) or not name.endswith(suffix or (".pmap", ".imap", ".rmap")) or \
            not File.objects.public().filter(name=name, type=File.MAPPING).exists():
        raise Http404(f"No {suffix or 'mapping'} named '{name[:200]}' is in the catalog.")
