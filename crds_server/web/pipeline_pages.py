"""O7: the pipeline echo page, each pipeline's reported context beside the commanded latest."""

from __future__ import annotations

from urllib.parse import urlencode

from django import forms
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from crds_server.catalog import contexts, pipelines

from .operator_pages import operator_required

PER_PAGE = 50


class EchoFilters(forms.Form):
    """Pipeline name (a part of it) and whether its report matches the latest context."""

    name = forms.CharField(required=False, max_length=128, label="Pipeline name contains")
    status = forms.ChoiceField(required=False, label="Report", choices=[
        ("", "any"), ("matching", "matches latest"), ("differs", "differs from latest"),
        ("never", "never reported")])
    page = forms.IntegerField(required=False, min_value=1, max_value=1_000_000)


@operator_required
@require_safe
def pipeline_echo(request: HttpRequest) -> HttpResponse:
    """Every pipeline's last report (`crds sync --push-context`), filtered, 50 per page."""
    form = EchoFilters(request.GET)
    if not form.is_valid():
        return render(request, "web/operator_pipelines.html", {"form": form}, status=400)
    data = form.cleaned_data
    rows = pipelines.echoes(data["name"].strip(), data["status"])
    page = Paginator(rows, PER_PAGE).get_page(data["page"])
    query = urlencode({k: data[k] for k in ("name", "status") if data[k]})
    return render(request, "web/operator_pipelines.html", {
        "form": form, "page": page, "query": query, "latest": contexts.pointer("latest")})
