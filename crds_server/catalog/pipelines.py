"""O7, the pipeline echo: what each pipeline's cache reports beside the context it was commanded.

A pipeline reports after `crds sync --push-context KEY` (`actions.push_remote_context`);
the commanded context is the server's latest.  Pipelines with an active key
that never reported are listed too, so an operator sees who is silent.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from crds_server.security.models import PipelineKey

from . import contexts
from .models import ContextHistory, RemoteContext

STATUSES = ("matching", "differs", "never")


@dataclass(frozen=True)
class Echo:
    """One pipeline: the context it reported (if any) and how that compares with the latest."""

    pipeline: str
    reported: str
    when: datetime.datetime | None
    latest: str
    # When the reported context was last made latest (None if never, or nothing reported).
    was_latest: datetime.datetime | None

    @property
    def status(self) -> str:
        if not self.reported:
            return "never"
        return "matching" if self.reported == self.latest else "differs"


def echoes(name: str = "", status: str = "") -> list[Echo]:
    """Every pipeline whose name contains `name`, by name; only those of `status` when given."""
    latest = contexts.pointer("latest")
    reports = RemoteContext.objects.order_by("pipeline")
    keys = PipelineKey.objects.filter(revoked=None)
    if name:
        reports, keys = reports.filter(pipeline__icontains=name), keys.filter(pipeline__icontains=name)
    rows = {r.pipeline: (r.context, r.updated) for r in reports}
    for pipeline in keys.values_list("pipeline", flat=True).distinct():
        rows.setdefault(pipeline, ("", None))
    eras = _last_eras({context for context, _ in rows.values() if context})
    found = [Echo(p, ctx, when, latest, eras.get(ctx)) for p, (ctx, when) in sorted(rows.items())]
    return [e for e in found if e.status == status] if status else found


def _last_eras(names: set[str]) -> dict[str, datetime.datetime]:
    """When each of `names` last became latest, from the context history."""
    starts: dict[str, datetime.datetime] = {}
    eras = ContextHistory.objects.filter(context__in=names).values_list("context", "start_date")
    for context, start in eras:
        starts[context] = max(start, starts.get(context, start))
    return starts
