"""Admin console: pipeline keys, read-only (`crds-server pipeline-key` makes and revokes them)."""

from django.contrib import admin

from crds_server.catalog.admin import OperatorAdmin

from .models import PipelineKey


@admin.register(PipelineKey)
class PipelineKeyAdmin(OperatorAdmin):
    exclude = ("digest",)
    list_display = ("pipeline", "created", "created_by", "last_used", "revoked", "revoked_by")
    search_fields = ("pipeline",)
