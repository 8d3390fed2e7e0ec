"""Recent activity (P13): the audit log with server-side filters (`.pmap` files unless the address
names a filter), 100 entries a page."""

from __future__ import annotations

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_cache_control

from crds_server.accounts.actions import has_role
from crds_server.catalog import activity

from .filters import ListingFilters, listing, star_means_any

PER_PAGE = 100
# The page without any filter in its address lists new contexts, as STScI's does; an explicit
# `extension=*` (or any other filter, as in older shared addresses) lists every extension.
DEFAULT_EXTENSION = ".pmap"
FILTERS = ("action", "extension", "instrument", "filekind", "user", "filename", "start", "stop")
SEARCHED = ("user", "action", "filename", "why", "details")
EXTENSIONS = (".pmap", ".imap", ".rmap", ".fits", ".asdf", ".json", ".yaml", ".cat")


class ActivityForm(ListingFilters):
    """The filters; blank means 'any'.  Short text only (no NUL, which PostgreSQL refuses)."""

    action = forms.ChoiceField(required=False)
    extension = forms.CharField(required=False, max_length=16, help_text="e.g. .pmap, .rmap, .fits, .cat",
                                widget=forms.TextInput(attrs={"list": "extension-choices"}))
    instrument = forms.ChoiceField(required=False)
    filekind = forms.ChoiceField(required=False, label="Type")
    user = forms.CharField(required=False, max_length=128)
    filename = forms.CharField(required=False, max_length=128, label="File name",
                               help_text="a part of the name, or a glob with * and ?")
    start = forms.DateField(required=False, label="From", help_text="YYYY-MM-DD")
    stop = forms.DateField(required=False, label="Until", help_text="YYYY-MM-DD")

    def __init__(self, *args, choices: dict[str, list[str]], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.set_menus(choices, ("action", "instrument", "filekind"))

    def clean_filename(self) -> str:
        return self.clean_glob("filename")


def recent_activity(request: HttpRequest) -> HttpResponse:
    """Every state-changing action, newest first, filtered on the server; the URL is the query."""
    query = request.GET.copy()
    query.pop("page", None)
    if not any(name in query for name in FILTERS):
        query["extension"] = DEFAULT_EXTENSION  # STScI's default: the contexts delivered
    star_means_any(query, ("action", "instrument", "filekind", "extension", "user"))
    form = ActivityForm(query, choices=activity.filter_choices())
    shown = listing(request.GET, [], SEARCHED, PER_PAGE)
    if form.is_valid():
        rows = activity.recent_activity(activity.ActivityFilter(**form.cleaned_data),
                                        operator=has_role(request.user, "operator"))
        shown = listing(request.GET, rows, SEARCHED, PER_PAGE)
    page = shown.page if form.is_valid() else None
    response = render(request, "web/recent_activity.html", {
        "form": form, "page": page, "query": query.urlencode(), "extensions": EXTENSIONS,
        "listing": shown,
    }, status=200 if page is not None else 400)
    patch_cache_control(response, private=True)  # what it lists depends on who asks
    return response
