"""Conditional requests and byte ranges of file downloads (RFC 9110 §13, §14).

Shared by the Django views (`files`) and the WSGI fast path (`fastfiles`)
through `served.plan`, so both answer alike.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from django.utils.http import parse_etags, parse_http_date_safe

if TYPE_CHECKING:
    from .served import Headers, Served

_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)
# A byte position of more digits (leading zeros aside) is past the end of every file: it is never
# converted to an int, so a 5,000-digit Range costs nothing and never hits Python's conversion limit.
_MAX_DIGITS = 18
_BEYOND = 10**_MAX_DIGITS
UNSATISFIABLE = (-1, -1)


def not_modified(headers: Headers, served: Served) -> bool:
    """Whether If-None-Match (weak comparison), else If-Modified-Since, says "unchanged"."""
    if_none_match = headers.get("If-None-Match")
    if if_none_match is not None:
        return etag_matches(if_none_match, served.etag)
    since_header = headers.get("If-Modified-Since")
    since = parse_http_date_safe(since_header) if since_header else None
    return since is not None and int(served.mtime) <= since

def etag_matches(header: str, etag: str) -> bool:
    """Weak comparison of `etag` against an If-None-Match list."""
    tags = parse_etags(header) if header else []
    if "*" in tags:
        return True
    return bool(etag) and any(tag.removeprefix("W/") == etag for tag in tags)

def requested_span(method: str, headers: Headers, served: Served) -> tuple[int, int] | None:
    """The inclusive byte span of a single-range GET, `UNSATISFIABLE`, or None for all."""
    header = headers.get("Range")
    if method != "GET" or not header or not _if_range_holds(headers, served):
        return None
    match = _RANGE.match(header)
    if match is None:  # malformed, other units or several ranges: send everything
        return None
    first, last = match.groups()
    if not first:
        return _suffix_span(_position(last), served.size) if last else None
    start = _position(first)
    if last and _position(last) < start:  # syntactically invalid, so ignored
        return None
    if start >= served.size:
        return UNSATISFIABLE
    end = min(_position(last), served.size - 1) if last else served.size - 1
    return start, end

def _position(digits: str) -> int:
    """A Range position; any of more than `_MAX_DIGITS` digits counts as `_BEYOND` every file."""
    digits = digits.lstrip("0") or "0"
    return int(digits) if len(digits) <= _MAX_DIGITS else _BEYOND

def _suffix_span(length: int, size: int) -> tuple[int, int]:
    """The last `length` bytes of a `size`-byte file."""
    if length == 0 or size == 0:
        return UNSATISFIABLE
    return max(size - length, 0), size - 1

def _if_range_holds(headers: Headers, served: Served) -> bool:
    """If-Range: a strong ETag equal to ours, or exactly our Last-Modified date."""
    value = headers.get("If-Range")
    if value is None:
        return True
    value = value.strip()
    if value.startswith(('"', "W/")):
        return bool(served.etag) and value == served.etag
    date = parse_http_date_safe(value)
    return date is not None and date == int(served.mtime)
