"""Admin console: submissions, read-only; they move only through their state machine
(confirm, cancel, expire, recover), never by an edit here."""

from django.contrib import admin

from crds_server.catalog.admin import OperatorAdmin

from .models import Submission


@admin.register(Submission)
class SubmissionAdmin(OperatorAdmin):
    list_display = ("created", "user", "kind", "status", "instrument", "derive_from", "description")
    list_filter = ("status", "kind")
    list_select_related = ("user",)
    search_fields = ("=id", "user__username", "description", "derive_from")
    ordering = ("-created",)
