"""Submission History (S13): the filtered list and one submission's detail page."""

from __future__ import annotations

from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_cache_control

from crds_server.catalog import contexts
from crds_server.submissions import history

from .filters import listing

PER_PAGE = 50
SEARCHED = ("description", "instrument", "status", "kind", "user__username", "creator")


class HistoryFilters(forms.Form):
    instrument = forms.ChoiceField(required=False)
    status = forms.ChoiceField(required=False, choices=[("", "any")] + [(s, s) for s in history.STATUSES])
    start = forms.DateField(required=False, label="Start date", input_formats=["%Y-%m-%d"],
                            widget=forms.DateInput(attrs={"type": "date"}))
    stop = forms.DateField(required=False, label="Stop date", input_formats=["%Y-%m-%d"],
                           widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["instrument"].choices = [("", "any")] + [(i, i) for i in contexts.instruments()]

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("stop") and data["start"] > data["stop"]:
            raise forms.ValidationError("The start date is after the stop date.")
        return data


def submission_history(request: HttpRequest) -> HttpResponse:
    """Everyone's submissions for operators, one's own for submitters; filtered, searched, paged."""
    query = request.GET.copy()
    for control in ("page", "show", "search"):
        query.pop(control, None)
    form = HistoryFilters(query or None)
    rows = history.visible(request.user)
    state = {"form": form, "page": None, "edit": contexts.pointer("edit"),
             "listing": listing(request.GET, [], SEARCHED, PER_PAGE)}
    if form.is_bound and not form.is_valid():
        return _private(render(request, "web/submissions.html", state, status=400))
    shown = listing(request.GET, history.filtered(rows, form.cleaned_data if form.is_bound else {}),
                    SEARCHED, PER_PAGE)
    links = request.GET.copy()
    links.pop("page", None)
    state.update(page=shown.page, listing=shown, query=links.urlencode())
    return _private(render(request, "web/submissions.html", state, status=400 if shown.error else 200))


def submission_detail(request: HttpRequest, submission_id) -> HttpResponse:
    """One submission: its fields, ReDCaT answers, files and outcome (its submitter and operators)."""
    submission = history.visible(request.user).filter(pk=submission_id).first()
    if submission is None:
        raise Http404("No such submission, or not one of yours.")
    return _private(render(request, "web/submission_detail.html", {"s": submission}))


def _private(response: HttpResponse) -> HttpResponse:
    patch_cache_control(response, private=True, no_store=True)
    return response
