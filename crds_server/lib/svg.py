"""Small server-side SVG charts: a timeline of marks per row and a horizontal bar chart.

Pure functions of plain values (no app imports, no network, no script):
every text is escaped, every chart has a <title> and a <desc> named by
`aria-labelledby`, and every mark carries its own <title> as a tooltip.  The
callers put the same numbers in a table next to the chart.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from html import escape

#: Colours with at least 4.5:1 contrast on white (WCAG AA), so marks and labels read.
PALETTE = ("#1f4e9c", "#a3370b", "#17703a", "#6b2fa0", "#8a5a00", "#005f73", "#9c1f5a", "#4a4a4a")
FONT = 'font-family="system-ui,sans-serif" font-size="12"'


@dataclass(frozen=True)
class Mark:
    """One mark of a timeline: on row `row`, at time `when`, `size` 1..n, with tooltip `label`."""

    row: str
    when: datetime.datetime
    label: str
    size: int = 1


@dataclass(frozen=True)
class Bar:
    """One bar: its `group` (one colour per group), its `label` and its `value`."""

    group: str
    label: str
    value: int


def _head(ident: str, width: int, height: int, title: str, desc: str) -> list[str]:
    return [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {height}" '
            f'width="100%" style="max-width:{width}px" aria-labelledby="{ident}-title {ident}-desc" '
            f'id="{ident}" class="chart">',
            f'<title id="{ident}-title">{escape(title)}</title>',
            f'<desc id="{ident}-desc">{escape(desc)}</desc>',
            f'<rect width="{width}" height="{height}" fill="#fff"/>']


def _ticks(start: datetime.datetime, stop: datetime.datetime, count: int) -> list[datetime.datetime]:
    if stop <= start:
        return [start]
    step = (stop - start) / (count - 1)
    return [start + step * i for i in range(count)]


def timeline(ident: str, rows: list[str], times: list[datetime.datetime], marks: list[Mark],
             title: str, desc: str, width: int = 960) -> str:
    """Rows of marks against a linear time axis; a faint line at each of `times` (the eras).

    `rows` are drawn top to bottom in the order given; a mark whose row is
    not in `rows` is left out.  With one time only, it sits in the middle.
    """
    left, right, top, pitch = 110, 50, 24, 30
    height = top + pitch * max(len(rows), 1) + 46
    moments = sorted(times + [m.when for m in marks])
    first, last = (moments[0], moments[-1]) if moments else (None, None)
    span = (last - first).total_seconds() if moments else 0.0

    def x(when: datetime.datetime) -> float:
        if not span:
            return left + (width - left - right) / 2
        return left + (when - first).total_seconds() / span * (width - left - right)

    out = _head(ident, width, height, title, desc)
    axis = top + pitch * max(len(rows), 1)
    for index, name in enumerate(rows):
        y = top + pitch * index + pitch / 2
        out.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 8}" y="{y + 4:.1f}" text-anchor="end" {FONT} fill="#1a1a1a">'
                   f'{escape(name)}</text>')
    for when in times:
        out.append(f'<line x1="{x(when):.1f}" x2="{x(when):.1f}" y1="{top}" y2="{axis}" stroke="#c8c8c8" '
                   f'stroke-dasharray="2 3"/>')
    out.append(f'<line x1="{left}" x2="{width - right}" y1="{axis}" y2="{axis}" stroke="#555"/>')
    if moments:
        for tick in _ticks(first, last, 6 if span else 1):
            out.append(f'<line x1="{x(tick):.1f}" x2="{x(tick):.1f}" y1="{axis}" y2="{axis + 5}" '
                       f'stroke="#555"/>')
            out.append(f'<text x="{x(tick):.1f}" y="{axis + 20}" text-anchor="middle" {FONT} fill="#1a1a1a">'
                       f'{tick:%Y-%m-%d}</text>')
    index_of = {name: i for i, name in enumerate(rows)}
    for mark in marks:
        if mark.row not in index_of:
            continue
        y = top + pitch * index_of[mark.row] + pitch / 2
        colour = PALETTE[index_of[mark.row] % len(PALETTE)]
        radius = 4 + min(mark.size, 8)
        out.append(f'<circle cx="{x(mark.when):.1f}" cy="{y:.1f}" r="{radius}" fill="{colour}" '
                   f'fill-opacity="0.85" stroke="#fff"><title>{escape(mark.label)}</title></circle>')
    out.append("</svg>")
    return "\n".join(out)


def bar_chart(ident: str, bars: list[Bar], title: str, desc: str, width: int = 960) -> str:
    """Horizontal bars, one line each, coloured by group, the value written after each bar."""
    left, right, top, pitch = 230, 70, 12, 22
    height = top * 2 + pitch * max(len(bars), 1)
    biggest = max((b.value for b in bars), default=0) or 1
    groups = list(dict.fromkeys(b.group for b in bars))
    out = _head(ident, width, height, title, desc)
    for index, bar in enumerate(bars):
        y = top + pitch * index
        length = bar.value / biggest * (width - left - right)
        colour = PALETTE[groups.index(bar.group) % len(PALETTE)]
        text = f"{bar.group} {bar.label}".strip()
        out.append(f'<text x="{left - 8}" y="{y + 15}" text-anchor="end" {FONT} fill="#1a1a1a">'
                   f'{escape(text)}</text>')
        out.append(f'<rect x="{left}" y="{y + 3}" width="{max(length, 1):.1f}" height="{pitch - 6}" '
                   f'fill="{colour}"><title>{escape(text)}: {bar.value}</title></rect>')
        out.append(f'<text x="{left + length + 6:.1f}" y="{y + 15}" {FONT} fill="#1a1a1a">{bar.value}</text>')
    out.append("</svg>")
    return "\n".join(out)
