"""ReDCaT pages: Extended Batch Submit and the form description `crds submit` reads."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from crds_server.submissions import redcat

from .submit import submit_view


def redcat_submit(request: HttpRequest) -> HttpResponse:
    return submit_view(request, "redcat")


def redcat_description(request: HttpRequest) -> HttpResponse:
    """The ReDCaT form description read by `crds.submit.Submission` (contract §5.9)."""
    return HttpResponse(redcat.description_yaml(), content_type="text/yaml")
