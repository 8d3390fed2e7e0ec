"""Scheduled operations: publish the cache every 10 minutes, the nightly report at 03:00.

A failing run is logged, audited and mailed; the schedule runs it again at
its next time.  `leased` keeps two copies of one job from running at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from huey import crontab

from crds_server.catalog.models import AuditEntry
from crds_server.jobs.engine import db_periodic_task, leased
from crds_server.notify.actions import send_notice

from . import nightly, publish

log = logging.getLogger(__name__)


def reported(name: str, work: Callable[[], Any]) -> Any:
    """Run `work`; on failure log, audit and mail it, and return None (the next run retries)."""
    try:
        return work()
    except Exception as exc:
        log.exception("scheduled job %s failed", name)
        AuditEntry.objects.create(user="crds-server", action="job failed", why=name,
                                  details=f"{type(exc).__name__}: {exc}")
        send_notice("job-failed", user_email="", username="crds-server", subject_detail=name,
                    context={"error": f"{name}: {type(exc).__name__}: {exc}"})
        return None


@db_periodic_task(crontab(minute="*/10"))
@leased("publish-cache")
def publish_cache() -> str | None:
    """Every 10 minutes: bring the published cache (CRDS_SERVER_PUBLISH_DIR) up to date."""
    if not settings.PUBLISH_DIR:
        return None
    target = Path(settings.PUBLISH_DIR)
    return reported("publish", lambda: publish.publish(target).line(target))


@db_periodic_task(crontab(minute="0", hour="3"))
@leased("nightly-checks")
def nightly_checks() -> bool | None:
    """At 03:00: mail the configuration, disk usage and consistency report to the operators."""
    def work() -> bool:
        ok, text = nightly.nightly()
        nightly.mail(ok, text)
        return ok
    return reported("nightly", work)
