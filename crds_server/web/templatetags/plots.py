"""Charts of the pages, drawn on the server as SVG (`lib.svg`), each with its numbers in a table.

`{% context_timeline page %}` on the context history page: which instruments
and types changed at each era of the page.  `{% affected_chart rows run %}`
on an affected-datasets run: datasets per instrument and type.
"""

from __future__ import annotations

from django import template
from django.utils.safestring import mark_safe

from crds_server.catalog import history_changes
from crds_server.lib import svg

register = template.Library()


@register.inclusion_tag("web/_context_timeline.html")
def context_timeline(page) -> dict:
    """The eras of a context-history page (newest first), each compared with the era before it."""
    first = page.start_index() - 1
    rows = list(page.paginator.object_list[first:page.end_index() + 1]) if page.paginator.count else []
    eras = [(r["start_date"], r["context"]) for r in reversed(rows)]
    if len(rows) <= len(page.object_list) and eras:  # the page ends with the first era of all
        eras.insert(0, (eras[0][0], ""))
    timeline = history_changes.timeline(eras)
    rows_of = history_changes.instruments(timeline)
    marks = [svg.Mark(c.instrument, era.start, _label(era, c), len(c.filekinds) or 1)
             for era in timeline for c in era.changes]
    changed = sum(len(era.changes) for era in timeline)
    desc = (f"{len(timeline)} eras from {timeline[0].start:%Y-%m-%d} to {timeline[-1].start:%Y-%m-%d}, "
            f"{changed} instrument changes; the table below lists them." if timeline else "No era yet.")
    chart = svg.timeline("timeline", rows_of, [e.start for e in timeline], marks,
                         "Instruments changed at each context history era", desc)
    return {"svg": mark_safe(chart), "eras": list(reversed(timeline)), "shown": bool(timeline)}  # noqa: S308


def _label(era: history_changes.Era, change: history_changes.Change) -> str:
    kinds = ", ".join(change.filekinds) or "header only"
    imap = change.new_imap or "removed"
    return f"{era.start:%Y-%m-%d %H:%M} {era.context}: {change.instrument} {imap} ({kinds})"


@register.inclusion_tag("web/_affected_chart.html")
def affected_chart(rows: list[tuple[str, str, int]], run) -> dict:
    """A bar per (instrument, type) of the run's affected exposures, and the same numbers in a table."""
    bars = [svg.Bar(instrument, kind, count) for instrument, kind, count in rows]
    total = sum(count for _, _, count in rows)
    desc = (f"{len(rows)} instrument and type pairs, {total} dataset updates in all; the table below lists "
            f"them." if rows else "No affected dataset yet.")
    chart = svg.bar_chart("affected-chart", bars, f"Affected datasets per instrument and type, "
                          f"{run.old_context} to {run.new_context}", desc)
    return {"svg": mark_safe(chart), "rows": rows, "total": total, "run": run}  # noqa: S308
