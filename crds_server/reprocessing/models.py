"""Affected-datasets runs: one per latest-context transition, split into chunks of datasets."""

from __future__ import annotations

from django.db import models

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
STATUSES = [(s, s) for s in (QUEUED, RUNNING, DONE, FAILED)]


class AffectedRun(models.Model):
    """The affected-datasets computation of one transition `old_context` -> `new_context`.

    `affected` is {instrument: [filekind, ...]} from the mapping diff;
    `update_counts` is {INSTRUMENT: {filekind: exposures}} once finished.
    """

    old_context = models.CharField(max_length=128)
    new_context = models.CharField(max_length=128)
    status = models.CharField(max_length=16, choices=STATUSES, default=QUEUED, db_index=True)
    affected = models.JSONField(default=dict)
    chunks_total = models.IntegerField(default=0)
    datasets_total = models.IntegerField(default=0)
    affected_products = models.IntegerField(default=0)
    affected_exposures = models.IntegerField(default=0)
    update_counts = models.JSONField(default=dict)
    errors = models.IntegerField(default=0)
    error_summary = models.TextField(blank=True, default="")
    report = models.TextField(blank=True, default="")
    created = models.DateTimeField(auto_now_add=True)
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)

    class Meta:
        unique_together = [("old_context", "new_context")]
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        return f"{self.old_context} -> {self.new_context} ({self.status})"

    def is_finished(self) -> bool:
        return self.status in (DONE, FAILED)

    @property
    def computation_dir(self) -> str:
        """The legacy report directory name, kept as the run's stable label."""
        stamp = self.created.strftime("%Y-%m-%d-%H%M%S") if self.created else ""
        return f"affected-{self.pk}-{self.old_context}-{self.new_context}-{stamp}"


class AffectedChunk(models.Model):
    """One slice of one instrument's datasets (ids first_id..last_id) to compare under both contexts.

    A consumer owns a chunk while `status` is running and `claim` is its
    token; `heartbeat` shows it is alive.  `affected` is {compound id:
    [changed filekind, ...]}; `errors` is {unique error: count}.  `cost` is
    the plan's estimate (datasets times compared types), biggest done first.
    The consumer that kept the result ("host:pid") records when it started
    and finished, its wall `seconds` and the `cpu_seconds` its thread used.
    """

    run = models.ForeignKey(AffectedRun, on_delete=models.CASCADE, related_name="chunks")
    instrument = models.CharField(max_length=32)
    first_id = models.BigIntegerField()
    last_id = models.BigIntegerField()
    size = models.IntegerField(default=0)
    status = models.CharField(max_length=16, choices=STATUSES, default=QUEUED, db_index=True)
    claim = models.CharField(max_length=64, blank=True, default="")
    attempts = models.IntegerField(default=0)
    heartbeat = models.DateTimeField(null=True, blank=True)
    affected = models.JSONField(default=dict)
    errors = models.JSONField(default=dict)
    error_count = models.IntegerField(default=0)
    error_details = models.TextField(blank=True, default="")
    cost = models.BigIntegerField(default=0)
    consumer = models.CharField(max_length=128, blank=True, default="")
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)
    seconds = models.FloatField(default=0)
    cpu_seconds = models.FloatField(default=0)

    class Meta:
        ordering = ["run", "instrument", "first_id"]
