"""The text of a finished run (the legacy `bestrefs_err_summary`) and its e-mail."""

from __future__ import annotations

import pprint
from typing import Any

from django.conf import settings

from crds_server.notify.actions import send_notice

from . import summary

MAX_LINES = 1000  # the legacy summary was cut to about this many lines
RULE = "-" * 110


def error_summary(errors: dict[str, int], chunks: list[Any]) -> str:
    """One line per unique error class: count and first message; then interrupted chunks."""
    lines = [f"{count:06d} errors like:: {message.strip()}" for message, count in sorted(errors.items())]
    lines += [f"chunk {c.instrument} {c.first_id}..{c.last_id} FAILED: {c.error_details}"
              for c in chunks if c.status == "failed"]
    return "\n".join(lines)


def _stamp(moment) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else "-"


def title(run: Any) -> str:
    return (f"CRDS {settings.OBSERVATORY} {settings.USECASE} datasets affected "
            f"{run.old_context} --> {run.new_context} on {_stamp(run.created)}")


def text(run: Any, ids: list[str]) -> str:
    """The run's report, shaped like the legacy `crds bestrefs --affected-datasets` log."""
    elapsed = (run.finished - run.started) if run.finished and run.started else None
    lines = [RULE, title(run), RULE,
             f"Mapping differences from '{run.old_context}' --> '{run.new_context}' affect:",
             " " + pprint.pformat(run.affected),
             f"Computing bestrefs for db datasets for {sorted(run.affected)}",
             f"Datasets compared = {run.datasets_total} in {run.chunks_total} chunks",
             *_consumers(run),
             "Updated exposure counts:", " " + pprint.pformat(run.update_counts),
             f"Affected products = {run.affected_products}",
             f"Unique error types: {len(run.error_summary.splitlines())}",
             *run.error_summary.splitlines(),
             f"STARTED {_stamp(run.started)}", f"STOPPED {_stamp(run.finished)}",
             f"ELAPSED {elapsed}", f"{run.errors} errors", RULE,
             f"{'OK' if not run.errors else 'ERRORS'}: {title(run)} : {run.affected_products} affected",
             RULE]
    if len(lines) > MAX_LINES:
        lines = lines[:MAX_LINES - 1] + ["... (truncated)"]
    return "\n".join(lines)


def _consumers(run: Any) -> list[str]:
    lines = summary.consumer_lines(run) if run.pk else []
    if not lines:
        return []
    return ["Consumers (wall and CPU seconds in chunks, idle seconds):", *(" " + x for x in lines)]


def notify(run: Any) -> int:
    """Mail the report to settings.NOTIFY_LIST (the data-management list)."""
    return send_notice(
        "affected", user_email="", username="crds-server",
        subject_detail=f"{run.old_context} -> {run.new_context}: {run.affected_products} affected",
        context={"description": run.report, "new_context": run.new_context,
                 "result_url": f"{settings.PUBLIC_URL}/affected/{run.old_context}/{run.new_context}",
                 "errors": run.error_summary.splitlines()[:20]})
