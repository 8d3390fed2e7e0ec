"""The catalog: every rules and reference file, the context pointers and history."""

from __future__ import annotations

from django.conf import settings
from django.db import models

# The state of the rows a submission reserves until it is confirmed: not public (contract §6.4).
PENDING = "uploaded"
# States in which a file may be handed to clients (contract §6.4).
DISTRIBUTABLE_STATES = ("archived", "operational", "latest", "delivered", "archiving", "submitted")
FILE_STATES = (
    "uploaded",
    "delivered",
    "submitted",
    "archiving",
    "archived",
    "archiving-failed",
    "bad",
    "latest",
    "operational",
)


class FileQuerySet(models.QuerySet):
    def distributable(self) -> FileQuerySet:
        """Files a client may list and download."""
        return self.filter(state__in=DISTRIBUTABLE_STATES)

    def public(self) -> FileQuerySet:
        """Files anyone may see: everything but the pending rows of unconfirmed submissions."""
        return self.exclude(state=PENDING)

    def visible_to(self, username: str, operator: bool) -> FileQuerySet:
        """Files this user may see: pending rows only to their submitter and to operators."""
        if operator:
            return self.all()
        if not username:
            return self.public()
        return self.filter(~models.Q(state=PENDING) | models.Q(deliverer_user=username))

    def mappings(self) -> FileQuerySet:
        return self.filter(type=File.MAPPING)

    def references(self) -> FileQuerySet:
        return self.filter(type=File.REFERENCE)

    def bad(self) -> FileQuerySet:
        return self.filter(models.Q(rejected=True) | models.Q(blacklisted=True))


class File(models.Model):
    """One rules file (.pmap/.imap/.rmap) or reference file known to the server."""

    MAPPING = "mapping"
    REFERENCE = "reference"

    name = models.CharField(max_length=128, unique=True)
    type = models.CharField(max_length=16, choices=[(MAPPING, MAPPING), (REFERENCE, REFERENCE)])
    observatory = models.CharField(max_length=16)
    instrument = models.CharField(max_length=32, blank=True, default="", db_index=True)
    filekind = models.CharField(max_length=64, blank=True, default="", db_index=True)
    state = models.CharField(max_length=24, default="archived", db_index=True)
    rejected = models.BooleanField(default=False)
    blacklisted = models.BooleanField(default=False)
    size = models.BigIntegerField(default=0)
    sha1sum = models.CharField(max_length=40, blank=True, default="")
    uploaded_as = models.CharField(max_length=256, blank=True, default="")
    description = models.TextField(blank=True, default="")
    comment = models.TextField(blank=True, default="")
    history = models.TextField(blank=True, default="")
    pedigree = models.CharField(max_length=128, blank=True, default="")
    aperture = models.CharField(max_length=128, blank=True, default="")
    creator_name = models.CharField(max_length=128, blank=True, default="")
    deliverer_user = models.CharField(max_length=128, blank=True, default="")
    deliverer_email = models.CharField(max_length=256, blank=True, default="")
    delivery_date = models.DateTimeField(null=True, blank=True, db_index=True)
    activation_date = models.DateTimeField(null=True, blank=True)
    useafter_date = models.DateTimeField(null=True, blank=True)
    change_level = models.CharField(max_length=16, blank=True, default="severe")
    reference_file_type = models.CharField(max_length=64, blank=True, default="")
    derived_from = models.CharField(max_length=128, blank=True, default="")
    replaced_by_filename = models.CharField(max_length=128, blank=True, default="")
    catalog_link = models.CharField(max_length=256, blank=True, default="")

    objects = FileQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def is_bad(self) -> bool:
        return self.rejected or self.blacklisted

    def is_pending(self) -> bool:
        """Reserved by a submission not confirmed yet: its bytes are still in the submission's staging."""
        return self.state == PENDING

    def is_mapping(self) -> bool:
        return self.type == self.MAPPING

    def store_path(self):
        """Where the file's bytes live in the server's file store."""
        sub = "mappings" if self.is_mapping() else "references"
        return settings.FILE_CACHE / sub / self.observatory / self.name


class ContextPointer(models.Model):
    """The server's current context of one kind: latest, edit or versions."""

    KINDS = ("latest", "edit", "versions")
    kind = models.CharField(max_length=16, unique=True)
    context = models.CharField(max_length=128)
    updated = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.kind}={self.context}"


class BuildContext(models.Model):
    """The context delivered with one calibration software version (CAL_VER)."""

    calver = models.CharField(max_length=64, unique=True)
    context = models.CharField(max_length=128)
    created = models.DateTimeField(auto_now_add=True)


class ContextHistory(models.Model):
    """One era of the latest context: from `start_date` on, `context` was latest."""

    start_date = models.DateTimeField(db_index=True)
    context = models.CharField(max_length=128)
    description = models.TextField(blank=True, default="")
    user = models.CharField(max_length=128, blank=True, default="")

    class Meta:
        ordering = ["start_date", "id"]


class RemoteContext(models.Model):
    """What a pipeline's cache reported after `crds sync --push-context`."""

    pipeline = models.CharField(max_length=128, unique=True)
    key_hash = models.CharField(max_length=128)
    context = models.CharField(max_length=128)
    updated = models.DateTimeField(auto_now=True)


class AuditEntry(models.Model):
    """One state-changing action: who did what, when, to which file, and why."""

    date = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.CharField(max_length=128)
    action = models.CharField(max_length=64)
    filename = models.CharField(max_length=128, blank=True, default="", db_index=True)
    why = models.TextField(blank=True, default="")
    details = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-date", "-id"]


class CatalogVersion(models.Model):
    """A single row whose counter moves whenever the catalog or a context pointer changes.

    Processes compare it to decide whether cached server info is stale.
    """

    counter = models.BigIntegerField(default=0)


class CacheImport(models.Model):
    """One `import-cache` run: which cache, synced from which server and when, and what it added.

    A later import of an older sync of the same server is refused: it would move
    the pointers back.
    """

    date = models.DateTimeField(auto_now_add=True)
    user = models.CharField(max_length=128)
    cache_dir = models.CharField(max_length=1024)
    server = models.CharField(max_length=512, blank=True, default="")
    last_synced = models.DateTimeField(null=True, blank=True)
    latest_context = models.CharField(max_length=128, blank=True, default="")
    summary = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-date", "-id"]
