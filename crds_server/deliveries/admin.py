"""Admin console: archive deliveries, read-only (the watcher moves their states)."""

from django.contrib import admin

from crds_server.catalog.admin import OperatorAdmin

from .models import Delivery

Delivery._meta.verbose_name_plural = "deliveries"  # display only, as in catalog/admin.py


@admin.register(Delivery)
class DeliveryAdmin(OperatorAdmin):
    list_display = ("number", "catalog", "user", "state", "created", "updated")
    list_filter = ("state",)
    search_fields = ("catalog", "user", "=submission")
