"""Browse the catalog: a filtered, sorted, paginated listing and one page per file."""

from __future__ import annotations

from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet, Sum
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_cache_control

from crds_server.accounts.actions import has_role
from crds_server.catalog import constraints, rules_table
from crds_server.catalog.headers import read_header
from crds_server.catalog.models import FILE_STATES, AuditEntry, File
from crds_server.catalog.records import catalog_name
from crds_server.security import glob

from .files import valid_name
from .filters import ListingFilters, listing, star_means_any
from .lookup_panes import lookup_panes

PER_PAGE = 100
RULES_PER_PAGE = 200
TEXT_LINES = 200
SORT_KEYS = ("name", "delivery_date", "activation_date", "useafter_date", "instrument", "filekind",
             "state", "size", "uploaded_as", "aperture")
LIST_FIELDS = ("name", "type", "instrument", "filekind", "state", "rejected", "blacklisted", "size",
               "delivery_date", "activation_date", "useafter_date", "uploaded_as", "aperture",
               "description")
COLUMNS = [("name", "Name"), ("uploaded_as", "Uploaded as"), ("aperture", "Aperture"),
           ("instrument", "Instrument"), ("filekind", "Type"), ("state", "State"),
           ("delivery_date", "Delivered"), ("activation_date", "Activated"), ("useafter_date", "Use after"),
           ("size", "Size"), ("", "Description")]
SEARCHED = ("name", "uploaded_as", "aperture", "instrument", "filekind", "state", "description")
BAD_CHOICES = [("", "*"), ("bad", "bad (rejected or blacklisted)"), ("rejected", "rejected"),
               ("blacklisted", "blacklisted"), ("good", "not bad")]


class BrowseForm(ListingFilters):
    """The listing's filters; every field is optional and blank means 'any'."""

    instrument = forms.ChoiceField(required=False)
    filekind = forms.ChoiceField(required=False, label="Type")
    state = forms.ChoiceField(required=False, choices=[("", "*")] + [(s, s) for s in FILE_STATES])
    kind = forms.ChoiceField(required=False, label="File kind",
                             choices=[("", "*"), ("mapping", "mapping"), ("reference", "reference")])
    name = forms.CharField(required=False, max_length=128, label="Name (glob)",
                           help_text=f"* and ? are wildcards; a glob has at most {glob.MAX_LENGTH} "
                                     f"characters and {glob.MAX_WILDCARDS} wildcards")
    extension = forms.CharField(required=False, max_length=16)
    bad = forms.ChoiceField(required=False, choices=BAD_CHOICES, label="Bad flags")
    start = forms.DateField(required=False, label="Delivered from", help_text="YYYY-MM-DD")
    stop = forms.DateField(required=False, label="Delivered until", help_text="YYYY-MM-DD")
    sort = forms.ChoiceField(required=False, choices=[(k, k) for k in SORT_KEYS]
                             + [(f"-{k}", f"-{k}") for k in SORT_KEYS])

    def __init__(self, *args, choices: dict[str, list[str]], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.set_menus(choices, ("instrument", "filekind"))

    def clean_name(self) -> str:
        return self.clean_glob("name")


def visible_files(request: HttpRequest) -> QuerySet:
    """The catalog as this visitor may see it: pending rows only to their submitter and operators."""
    user = getattr(request, "user", None)
    username = user.username if user is not None and user.is_authenticated else ""
    return File.objects.visible_to(username, has_role(user, "operator") if username else False)


def private_if_personal(request: HttpRequest, response: HttpResponse, max_age: int) -> HttpResponse:
    """Cache for `max_age`, privately for a logged-in visitor (whose page may show pending rows)."""
    if getattr(request, "user", None) is not None and request.user.is_authenticated:
        patch_cache_control(response, private=True, max_age=max_age)
    else:
        patch_cache_control(response, public=True, max_age=max_age)
    return response


def filter_files(data: dict, rows: QuerySet | None = None) -> QuerySet:
    rows = File.objects.all() if rows is None else rows
    for field in ("instrument", "filekind"):
        if data.get(field):
            rows = rows.filter(**{field: data[field]})
    if data.get("state"):
        rows = rows.filter(state=data["state"])
    if data.get("kind"):
        rows = rows.filter(type=data["kind"])
    if data.get("name"):
        name = data["name"]  # a glob is a database wildcard match (LIKE), linear in the name
        rows = rows.filter(name__glob=name) if glob.is_glob(name) else rows.filter(name__icontains=name)
    if data.get("extension"):
        rows = rows.filter(name__iendswith=data["extension"])
    rows = _bad_filter(rows, data.get("bad", ""))
    if data.get("start"):
        rows = rows.filter(delivery_date__date__gte=data["start"])
    if data.get("stop"):
        rows = rows.filter(delivery_date__date__lte=data["stop"])
    return rows


def _bad_filter(rows: QuerySet, bad: str) -> QuerySet:
    if bad == "bad":
        return rows.bad()
    if bad in ("rejected", "blacklisted"):
        return rows.filter(**{bad: True})
    if bad == "good":
        return rows.exclude(Q(rejected=True) | Q(blacklisted=True))
    return rows


def browse(request: HttpRequest) -> HttpResponse:
    """The catalog listing: filters, sortable columns, totals, 100 rows a page."""
    query = request.GET.copy()
    query.pop("page", None)
    star_means_any(query, ("instrument", "filekind", "state", "kind", "extension", "bad"))
    form = BrowseForm(query or None, choices=_choices())
    page, totals, shown = None, None, listing(request.GET, [], SEARCHED, PER_PAGE)
    if form.is_bound and not form.is_valid():
        status = 400
    else:
        data = form.cleaned_data if form.is_bound else {}
        rows = filter_files(data, visible_files(request))
        sort = data.get("sort") or "name"
        shown = listing(request.GET, rows.order_by(sort, "name").values(*LIST_FIELDS), SEARCHED, PER_PAGE)
        page, status = shown.page, 400 if shown.error else 200
        totals = page.paginator.object_list.aggregate(size=Sum("size")) if page is not None else None
    links = query.copy()
    current_sort = links.pop("sort", [""])[-1]
    response = render(request, "web/browse.html", {
        "form": form, "page": page, "totals": totals, "query": links.urlencode(), "columns": COLUMNS,
        "sort": current_sort, "listing": shown,
    }, status=status)
    return private_if_personal(request, response, 60)


def _choices() -> dict[str, list[str]]:
    """Distinct instruments and types for the filter menus (two indexed DISTINCT queries)."""
    distinct = File.objects.public().order_by()
    return {"instrument": sorted(set(distinct.values_list("instrument", flat=True).distinct()) - {""}),
            "filekind": sorted(set(distinct.values_list("filekind", flat=True).distinct()) - {""})}


def details(request: HttpRequest, name: str) -> HttpResponse:
    """Everything about one file: catalog fields, header or rules, users, history.

    A pending file (of a submission not confirmed yet) exists only for its
    submitter and operators, and its bytes are still in the submission's
    staging area: its page says so instead of reading them.
    """
    file = visible_files(request).filter(name=name).first() if valid_name(name) else None
    if file is None:
        raise Http404(f"No file named '{name[:200]}' is in the catalog.")
    context = {"file": file, "fields": _fields(file), "users": rules_table.users_of(name),
               "history": AuditEntry.objects.filter(filename=name)[:200],
               "download": _download_url(file), "pending": file.is_pending()}
    if file.is_pending():
        context["users"] = []
    elif file.is_mapping():
        if request.GET.get("text"):
            return _mapping_text(file)
        context.update(_mapping_context(file, request))
    else:
        context["header"] = read_header(file.store_path())
        context["constraints"] = constraints.constraints(file.instrument, file.filekind)
    context.update(lookup_panes(file, request))
    response = render(request, "web/file_details.html", context)
    return private_if_personal(request, response, 3600 if _settled(file) else 60)


def _settled(file: File) -> bool:
    """Whether the page can only change by a bad flag: archived, activated, never latest again.

    A .pmap can become latest again, and a file never activated will be dated
    when a context naming it becomes latest.
    """
    return (file.state == "archived" and file.activation_date is not None and not file.is_bad()
            and not file.name.endswith(".pmap"))


def _fields(file: File) -> list[tuple[str, object]]:
    skip = {"id"}
    return [(f.verbose_name, catalog_name(file.catalog_link) if f.name == "catalog_link"
             else getattr(file, f.name)) for f in File._meta.fields if f.name not in skip]


def _download_url(file: File) -> str:
    kind = "mappings" if file.is_mapping() else "references"
    return f"/unchecked_get/{kind}/{settings.OBSERVATORY}/{file.name}"


def _mapping_text(file: File) -> HttpResponse:
    """The whole rules file as plain text (`?text=1`), shown in the browser."""
    path = file.store_path()
    if not path.exists():
        raise Http404(f"The rules file of '{file.name}' is not in the file store.")
    response = HttpResponse(path.read_bytes(), content_type="text/plain; charset=utf-8")
    patch_cache_control(response, max_age=60)
    return response


def _mapping_context(file: File, request: HttpRequest) -> dict:
    """The rules table (one page, optionally filtered), the text's first lines, sibling mappings."""
    search = request.GET.get("rules_q", "").replace("\x00", "").strip()[:200]
    try:
        table = rules_table.rules_table(file.name)
    except Exception as exc:  # a mapping the library refuses still gets its page
        table, rows, problem = None, None, str(exc)
    else:
        problem = ""
        rows = Paginator(table.matching(search), RULES_PER_PAGE).get_page(request.GET.get("rules_page"))
    path = file.store_path()
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines(keepends=True) \
        if path.exists() else []
    suffix = file.name.rsplit(".", 1)[-1]
    siblings = (visible_files(request).filter(type=File.MAPPING, instrument=file.instrument,
                                    filekind=file.filekind, name__endswith=f".{suffix}")
                .exclude(name=file.name).order_by("-name").values_list("name", flat=True)[:200])
    return {"rules": table, "rules_problem": problem, "rules_page": rows, "rules_q": search,
            "rules_query": urlencode({"rules_q": search}) + "&" if search else "",
            "text": "".join(lines[:TEXT_LINES]), "text_lines": len(lines), "text_shown": TEXT_LINES,
            "text_cut": len(lines) > TEXT_LINES, "siblings": list(siblings)}
