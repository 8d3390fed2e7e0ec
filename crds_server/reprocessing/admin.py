"""Admin console: affected-datasets runs and their chunks, read-only (the job engine runs them)."""

from django.contrib import admin

from crds_server.catalog.admin import OperatorAdmin

from .models import AffectedChunk, AffectedRun


@admin.register(AffectedRun)
class AffectedRunAdmin(OperatorAdmin):
    list_display = ("created", "old_context", "new_context", "status", "datasets_total",
                    "affected_exposures", "errors")
    list_filter = ("status",)
    search_fields = ("old_context", "new_context")


@admin.register(AffectedChunk)
class AffectedChunkAdmin(OperatorAdmin):
    list_display = ("run", "instrument", "first_id", "last_id", "size", "status", "attempts")
    list_filter = ("status", "instrument")
    list_select_related = ("run",)
