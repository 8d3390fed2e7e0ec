"""Admin console: instrument locks, read-only; break one on the Locks page, with a reason."""

from django.contrib import admin

from crds_server.catalog.admin import OperatorAdmin

from .models import InstrumentLock


@admin.register(InstrumentLock)
class InstrumentLockAdmin(OperatorAdmin):
    list_display = ("instrument", "user", "created", "expires")
    list_select_related = ("user",)
