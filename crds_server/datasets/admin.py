"""Admin console: archive dataset parameters, read-only (`crds-server import-datasets` loads them)."""

from django.contrib import admin

from crds_server.catalog.admin import OperatorAdmin

from .models import Dataset


@admin.register(Dataset)
class DatasetAdmin(OperatorAdmin):
    list_display = ("product", "exposure", "instrument", "date")
    list_filter = ("instrument",)
    # A prefix search keeps to the index on large archive tables.
    search_fields = ("^product", "^exposure")
    ordering = ("product", "exposure")
