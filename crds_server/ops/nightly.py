"""The nightly report (the seed's nightly.cron.job): configuration, disk usage, consistency.

The store checks are `ops.check.check_store` (shared with `crds-server check`);
this module adds the configuration and disk report and pending deliveries,
and mails the whole to the operators.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import crds
from django.conf import settings

from crds_server.catalog import contexts
from crds_server.catalog.models import File
from crds_server.deliveries.models import Delivery
from crds_server.notify.actions import send_notice
from crds_server.reprocessing.models import AffectedRun

from .check import check_store

FINAL_DELIVERY_STATES = (Delivery.ARCHIVED,)


def configuration() -> list[str]:
    db = settings.DATABASES["default"]
    return [f"observatory {settings.OBSERVATORY}, usecase {settings.USECASE}, "
            f"public URL {settings.PUBLIC_URL}",
            f"home {settings.HOME}", f"database {db['ENGINE'].rsplit('.', 1)[-1]} "
            f"({db.get('HOST') or db.get('NAME')})",
            f"job storage {settings.HUEY.get('huey_class')}, crds library {crds.__version__}",
            f"latest {contexts.pointer('latest')}, edit {contexts.pointer('edit')}",
            f"catalog: {File.objects.mappings().count()} mappings, "
            f"{File.objects.references().count()} references, {File.objects.bad().count()} bad",
            f"publish directory: {settings.PUBLISH_DIR or '(not set)'}"]


def disk_usage() -> list[str]:
    lines = []
    for label, path in (("home", Path(settings.HOME)), ("publish", Path(settings.PUBLISH_DIR or "."))):
        if label == "publish" and not settings.PUBLISH_DIR:
            continue
        if path.exists():
            usage = shutil.disk_usage(path)
            lines.append(f"{label} {path}: {usage.used / 1e9:.1f} GB used, "
                         f"{usage.free / 1e9:.1f} GB free of {usage.total / 1e9:.1f} GB "
                         f"({100 * usage.used / usage.total:.0f}% full)")
    return lines


def pending() -> list[str]:
    deliveries = Delivery.objects.exclude(state__in=FINAL_DELIVERY_STATES).order_by("number")
    lines = [f"delivery {d.catalog}: {d.state} since {d.updated:%Y-%m-%d %H:%M}" for d in deliveries]
    runs = AffectedRun.objects.filter(status__in=("queued", "running"))
    lines += [f"affected datasets {r.old_context} -> {r.new_context}: {r.status}" for r in runs]
    return lines


def nightly(sha1_sample: int = 200) -> tuple[bool, str]:
    """(all well, report text): configuration, disk usage, cache consistency, pending work."""
    store = check_store(sha1_sample=sha1_sample)
    waiting = pending()
    sections = [("Configuration", configuration()), ("Disk usage", disk_usage()),
                ("Cache consistency", store.lines()), ("Pending work", waiting or ["none"])]
    text = "\n\n".join(title + "\n" + "\n".join("  " + line for line in lines)
                       for title, lines in sections)
    return store.ok, text + "\n"


def mail(ok: bool, text: str) -> int:
    """Send the report to the operators (settings.NOTIFY_LIST)."""
    return send_notice("ops-report", user_email="", username="crds-server",
                       subject_detail="nightly checks " + ("OK" if ok else "found PROBLEMS"),
                       context={"description": text})
