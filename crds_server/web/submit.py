"""Placeholder views: being written."""

from django.http import HttpResponse


def certify(request, *args, **kwargs):
    return HttpResponse("Not implemented yet.", status=501, content_type="text/plain")


def batch_submit(request, *args, **kwargs):
    return HttpResponse("Not implemented yet.", status=501, content_type="text/plain")


def submit_references(request, *args, **kwargs):
    return HttpResponse("Not implemented yet.", status=501, content_type="text/plain")


def submit_mappings(request, *args, **kwargs):
    return HttpResponse("Not implemented yet.", status=501, content_type="text/plain")


def redcat_submit(request, *args, **kwargs):
    return HttpResponse("Not implemented yet.", status=501, content_type="text/plain")


def redcat_description(request, *args, **kwargs):
    return HttpResponse("Not implemented yet.", status=501, content_type="text/plain")


def display_result(request, *args, **kwargs):
    return HttpResponse("Not implemented yet.", status=501, content_type="text/plain")


def confirm(request, *args, **kwargs):
    return HttpResponse("Not implemented yet.", status=501, content_type="text/plain")


def history(request, *args, **kwargs):
    return HttpResponse("Not implemented yet.", status=501, content_type="text/plain")
