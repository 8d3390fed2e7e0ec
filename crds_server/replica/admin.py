"""Admin console: the replica's state, read-only (`crds-server replicate` moves it)."""

from django.contrib import admin

from crds_server.catalog.admin import OperatorAdmin

from .models import ReplicaState


@admin.register(ReplicaState)
class ReplicaStateAdmin(OperatorAdmin):
    list_display = ("source", "latest_context", "caught_up", "last_attempt")
