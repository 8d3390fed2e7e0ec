"""Placeholder views: being written."""

from django.http import HttpResponse


def login_view(request, *args, **kwargs):
    return HttpResponse("Not implemented yet.", status=501, content_type="text/plain")


def logout_view(request, *args, **kwargs):
    return HttpResponse("Not implemented yet.", status=501, content_type="text/plain")


def lock_status(request, *args, **kwargs):
    return HttpResponse("Not implemented yet.", status=501, content_type="text/plain")
