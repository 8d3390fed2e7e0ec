"""Admin console: API tokens, read-only (made and revoked by `crds-server token`; the digest stays hidden).

Users and roles stay with Django's own user admin, for superusers only: an
operator must not be able to make anyone (themselves included) a superuser.
"""

from django.contrib import admin

from crds_server.catalog.admin import OperatorAdmin

from .models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(OperatorAdmin):
    exclude = ("digest",)
    list_display = ("user", "name", "created", "last_used", "revoked")
    list_select_related = ("user",)
    search_fields = ("user__username", "name")
