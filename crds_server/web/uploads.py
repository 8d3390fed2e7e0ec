"""Placeholder views: being written."""

from django.http import HttpResponse


def chunked(request, *args, **kwargs):
    return HttpResponse("Not implemented yet.", status=501, content_type="text/plain")


def listing(request, *args, **kwargs):
    return HttpResponse("Not implemented yet.", status=501, content_type="text/plain")


def delete(request, *args, **kwargs):
    return HttpResponse("Not implemented yet.", status=501, content_type="text/plain")


def open_channel(request, *args, **kwargs):
    return HttpResponse("Not implemented yet.", status=501, content_type="text/plain")


def page(request, *args, **kwargs):
    return HttpResponse("Not implemented yet.", status=501, content_type="text/plain")
