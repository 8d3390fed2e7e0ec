"""The limits on what one JSON-RPC request may ask of the server.

Every list or string an anonymous caller can send is bounded here, under a
published name: `get_server_info` lists them all under ``rpc_limits``, and
a call over a limit is refused with a ``LimitExceeded`` error naming it
("get_best_references_by_header_map takes at most 1000 headers per call
(max_bestrefs_per_rpc); got 60000").  The body size and JSON nesting depth
bound the work of parsing; the counts bound the work of each method.

Each limit may be changed with a Django setting (read when checked, so a
changed setting applies at once); the defaults are chosen against the
unmodified `crds` client:

- 1000 best references per call is the legacy server's and STScI's figure;
  no `crds` command sends more in one call (`get_best_references_by_ids`
  and `get_aui_best_references` are API-only; remote-mode bestrefs sends
  one header per call).
- 1000 dataset headers per call is what the client reads as the chunk
  size of `get_dataset_headers_unlimited` and `bestrefs --instruments`
  (`max_headers_per_rpc`), but `bestrefs --datasets`, `sync --dataset-ids`
  and `matches --datasets` send every id in one call (contract §2.4), so
  `get_dataset_headers_by_id` accepts up to `max_dataset_ids_per_rpc`.
- `crds sync --check-files` sends the name of every file of a cache in one
  `get_file_info_map` call: the HST corpus is about 18,700 names, so
  100,000 leaves room for the largest observatory.
"""

from __future__ import annotations

from collections.abc import Sized
from typing import Any

from django.conf import settings

from .errors import LimitExceeded

# Published name -> (Django setting that overrides it, default).
LIMITS: dict[str, tuple[str, int]] = {
    "max_rpc_body_bytes": ("RPC_MAX_BODY", 16 * 1024 * 1024),
    "max_rpc_containers": ("RPC_MAX_CONTAINERS", 200_000),
    "max_rpc_depth": ("RPC_MAX_DEPTH", 32),
    "max_method_name_chars": ("RPC_MAX_METHOD_NAME", 64),
    "max_id_chars": ("RPC_MAX_ID_CHARS", 1024),
    "max_bestrefs_per_rpc": ("RPC_MAX_BESTREFS", 1000),
    "max_headers_per_rpc": ("RPC_MAX_HEADERS", 1000),
    "max_dataset_ids_per_rpc": ("RPC_MAX_DATASET_IDS", 20_000),
    "max_files_per_rpc": ("RPC_MAX_FILES", 100_000),
    "max_fields_per_rpc": ("RPC_MAX_FIELDS", 64),
    "max_reftypes_per_rpc": ("RPC_MAX_REFTYPES", 256),
    "max_header_keys": ("RPC_MAX_HEADER_KEYS", 1000),
    "max_header_key_chars": ("RPC_MAX_HEADER_KEY_CHARS", 256),
    "max_header_value_chars": ("RPC_MAX_HEADER_VALUE_CHARS", 2048),
    "max_glob_chars": ("RPC_MAX_GLOB_CHARS", 128),
    "max_glob_wildcards": ("RPC_MAX_GLOB_WILDCARDS", 16),
}


def limit(name: str) -> int:
    """The current value of limit `name` (a key of LIMITS)."""
    setting, default = LIMITS[name]
    return int(getattr(settings, setting, default))


def published() -> dict[str, int]:
    """Every limit by its published name, for `get_server_info`."""
    return {name: limit(name) for name in LIMITS}


def check_count(what: str, values: Sized, limit_name: str, per: str = "call") -> None:
    """Refuse more than `limit_name` items in `values` ("at most 1000 headers per call ...")."""
    most = limit(limit_name)
    if len(values) > most:
        raise LimitExceeded(f"at most {most} {what} per {per} ({limit_name}); got {len(values)}.")


def check_chars(what: str, value: str, limit_name: str) -> None:
    """Refuse a string longer than `limit_name` characters."""
    most = limit(limit_name)
    if len(value) > most:
        raise LimitExceeded(f"at most {most} characters per {what} ({limit_name}); got {len(value)}.")


def check_header(header: Any) -> None:
    """Bound one dataset header: its number of keys, and the length of each key and value.

    Non-dict headers are left to the caller's own check (they are reported per dataset).
    """
    if not isinstance(header, dict):
        return
    check_count("keys", header, "max_header_keys", per="header")
    key_most, value_most = limit("max_header_key_chars"), limit("max_header_value_chars")
    for key, value in header.items():
        if len(key) > key_most:
            check_chars("header key", key, "max_header_key_chars")
        if isinstance(value, str) and len(value) > value_most:
            check_chars("header value", value, "max_header_value_chars")


def check_glob(pattern: str) -> None:
    """Bound a glob pattern's length and wildcards (`*`, `?`, `[`).

    fnmatch turns each `*` into an atomic group since Python 3.9, so matching
    one name costs at most about (pattern length x name length) steps; these
    bounds keep that product small.
    """
    check_chars("glob pattern", pattern, "max_glob_chars")
    wildcards = sum(pattern.count(c) for c in "*?[")
    most = limit("max_glob_wildcards")
    if wildcards > most:
        raise LimitExceeded(f"at most {most} wildcards per glob pattern (max_glob_wildcards); "
                            f"got {wildcards}.")


def json_depth_exceeds(value: Any, most: int) -> bool:
    """Whether `value` nests lists and objects more than `most` deep (iterative: no recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > most:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False
