"""The admin console (O11) for the catalog, and the rules every app's admin follows.

Admin edits bypass the domain actions and their state machines, so the
console is a viewer first: every model is read-only for operators unless its
admin names `editable` fields, nothing is ever added here, and only admins
that say `deletable` may delete.  Identity and integrity (names, checksums,
sizes, states, bad flags, pointers, history dates) change only through the
actions (`set_context`, `mark_bad`, submissions); what an operator may fix
here is free text such as descriptions and comments.  Every edit or deletion
is audited in the recent activity and moves the catalog version, so server
info and the per-process caches show it at once.  See docs/operations.md, "Admin".
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db import models, transaction
from django.http import HttpRequest

from crds_server.accounts.actions import has_role
from crds_server.lib import plaintext

from . import versioning
from .models import AuditEntry, BuildContext, CacheImport, ContextHistory, ContextPointer, File, RemoteContext

admin.site.site_header = "CRDS administration"
admin.site.site_title = "CRDS admin"
admin.site.index_title = "Records (read-only unless a field says otherwise)"
admin.site.site_url = "/"
# Plurals the admin would spell "entrys" and "historys"; display only (Meta.original_attrs, which
# migrations read, is untouched, so no migration follows).
AuditEntry._meta.verbose_name_plural = "audit entries"
ContextHistory._meta.verbose_name_plural = "context history"


def is_operator(request: HttpRequest) -> bool:
    """Whether the request's user is an operator (asked once per request: the admin asks often)."""
    if not hasattr(request, "_crds_operator"):
        request._crds_operator = request.user.is_active and has_role(request.user, "operator")
    return request._crds_operator


class PlainTextForm(forms.ModelForm):
    """Refuses a changed `plain_text` field that breaks the rule for free text."""

    plain_text: tuple[str, ...] = ()

    def clean(self) -> dict:
        data = super().clean()
        for name in self.plain_text:
            text = (data.get(name) or "").strip()
            if name in self.changed_data and text:
                refused = plaintext.problem(text, name.replace("_", " "))
                if refused:
                    self.add_error(name, refused)
            if name in data:
                data[name] = text
        return data


class OperatorAdmin(admin.ModelAdmin):
    """Operators only; read-only but for `editable`; never add; delete only when `deletable`.

    `plain_text` fields must follow the one rule for free text (lib/plaintext).
    """

    editable: tuple[str, ...] = ()
    plain_text: tuple[str, ...] = ()
    deletable = False
    form = PlainTextForm
    list_per_page = 100
    # The admin would count the whole table a second time for "N total" on every filtered page.
    show_full_result_count = False

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_operator(request)

    def has_view_permission(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        return is_operator(request)

    def has_add_permission(self, request: HttpRequest, *args) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        return bool(self.editable) and is_operator(request)

    def has_delete_permission(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        return self.deletable and is_operator(request)

    def get_readonly_fields(self, request: HttpRequest, obj: models.Model | None = None) -> list[str]:
        fixed = set(self.editable) | set(self.exclude or ())
        return [f.name for f in self.model._meta.fields if f.name not in fixed]

    def get_form(self, request: HttpRequest, obj: models.Model | None = None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        form.plain_text = self.plain_text
        return form

    def save_model(self, request: HttpRequest, obj: models.Model, form, change: bool) -> None:
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            changed = ", ".join(form.changed_data) or "nothing"
            self.audit(request, obj, "admin edit", f"{obj._meta.verbose_name} {obj.pk}: changed {changed}")

    def delete_model(self, request: HttpRequest, obj: models.Model) -> None:
        with transaction.atomic():
            self.audit(request, obj, "admin delete", f"{obj._meta.verbose_name} {obj.pk}: deleted")
            super().delete_model(request, obj)

    def audit(self, request: HttpRequest, obj: models.Model, action: str, details: str) -> None:
        """Record the change in the audit log and move the catalog version (caches see it)."""
        AuditEntry.objects.create(user=request.user.username, action=action, filename=str(obj)[:128],
                                  why="through the admin console", details=details[:500])
        versioning.bump()

    def delete_queryset(self, request: HttpRequest, queryset: models.QuerySet) -> None:
        for obj in queryset:
            self.delete_model(request, obj)


@admin.register(File)
class FileAdmin(OperatorAdmin):
    """Catalog rows: free text may be fixed; names, checksums, states and bad flags never here."""

    editable = ("description", "comment", "creator_name", "deliverer_email")
    plain_text = ("description", "comment")
    list_display = ("name", "instrument", "filekind", "type", "state", "rejected", "blacklisted",
                    "delivery_date")
    list_filter = ("type", "state", "instrument", "rejected", "blacklisted")
    search_fields = ("name", "uploaded_as", "=sha1sum")
    ordering = ("name",)

    def view_on_site(self, obj: File) -> str:
        return f"/browse/{obj.name}"


@admin.register(ContextHistory)
class ContextHistoryAdmin(OperatorAdmin):
    """Eras of the latest context: the reason may be corrected; dates and contexts never here."""

    editable = ("description",)
    plain_text = ("description",)
    list_display = ("start_date", "context", "user", "description")
    search_fields = ("context", "description")
    ordering = ("-start_date", "-id")


@admin.register(ContextPointer)
class ContextPointerAdmin(OperatorAdmin):
    list_display = ("kind", "context", "updated")


@admin.register(BuildContext)
class BuildContextAdmin(OperatorAdmin):
    list_display = ("calver", "context", "created")
    search_fields = ("calver", "context")


@admin.register(AuditEntry)
class AuditEntryAdmin(OperatorAdmin):
    list_display = ("date", "user", "action", "filename", "why")
    list_filter = ("action",)
    search_fields = ("filename", "user")


@admin.register(CacheImport)
class CacheImportAdmin(OperatorAdmin):
    list_display = ("date", "user", "server", "last_synced", "latest_context")


@admin.register(RemoteContext)
class RemoteContextAdmin(OperatorAdmin):
    """A retired pipeline's last report may be deleted (audited); reports change only by pushing."""

    deletable = True
    exclude = ("key_hash",)
    list_display = ("pipeline", "context", "updated")
    search_fields = ("pipeline",)

    def audit(self, request: HttpRequest, obj: RemoteContext, action: str, details: str) -> None:
        super().audit(request, obj, action, f"report of pipeline {obj.pipeline} ({obj.context}) deleted")
