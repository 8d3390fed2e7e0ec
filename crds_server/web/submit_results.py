"""What the results page (S6) shows of a submission's stored result.

Processing stores the crds library's certify reports and logical diff tuples
(`submissions.processing`); this module only arranges them for the page: one
row per certified file ("submitted name -> official name" with its OK,
Warnings or ERRORS status) and, per changed rmap, a table of its insert and
replace actions with the match parameters named by the rmap's own `parkey`.
"""

from __future__ import annotations

import logging
from typing import Any

from crds.core import config as crds_config

from crds_server.submissions.models import Submission

log = logging.getLogger(__name__)

MAX_MESSAGES = 400  # certify lines shown per file; the rest are in the job log
STATUS_CLASS = {"OK": "ok", "Warnings": "warn", "ERRORS": "bad"}


def certify_rows(submission: Submission) -> list[dict[str, Any]]:
    """One entry per certified file, in the order certify reported them."""
    result = submission.result if isinstance(submission.result, dict) else {}
    files = (result.get("certify") or {}).get("files") or {}
    renamed = result.get("renamed") or {}
    generated = set(result.get("new_mappings") or [])
    rows = []
    for name, report in files.items():
        errors, warnings = list(report.get("errors") or []), list(report.get("warnings") or [])
        status = report.get("status") or ("ERRORS" if errors else "Warnings" if warnings else "OK")
        messages = list(report.get("messages") or [])
        rows.append({"submitted": name, "official": renamed.get(name, name), "status": status,
                     "css": STATUS_CLASS.get(status, "warn"), "generated": name in generated,
                     "errors": errors, "warnings": warnings, "messages": messages[:MAX_MESSAGES],
                     "cut": max(0, len(messages) - MAX_MESSAGES)})
    return rows


def diff_tables(submission: Submission) -> list[dict[str, Any]]:
    """The stored logical diffs; an rmap's diff also as a table of actions and parameters."""
    result = submission.result if isinstance(submission.result, dict) else {}
    tables = []
    for diff in result.get("diffs") or []:
        old, new = str(diff.get("old", "")), str(diff.get("new", ""))
        rows = [_row(line) for line in diff.get("logical") or [] if isinstance(line, dict)]
        width = max((len(r["values"]) for r in rows), default=0)
        is_rmap = new.endswith(".rmap")
        tables.append({"old": old, "new": new, "is_rmap": is_rmap, "rows": rows,
                       "parameters": _parameter_names(old, width) if is_rmap else [],
                       "logical": diff.get("logical") or [], "text": diff.get("text", "")})
    return tables


def _row(line: dict[str, Any]) -> dict[str, Any]:
    """(action, match values, what changed) of one library difference tuple, as stored:
    leading (old, new) mapping pairs, then parameter tuples, then the library's message."""
    steps = list(line.get("steps") or [])
    detail = str(steps.pop()) if steps and isinstance(steps[-1], str) else ""
    values: list[str] = []
    for step in steps:
        parts = step if isinstance(step, list | tuple) else [step]
        if len(parts) == 2 and all(crds_config.is_mapping(str(p)) for p in parts):
            continue  # the (old, new) mapping pair of a level
        values.extend(str(p) for p in parts)
    return {"action": str(line.get("action") or ""), "values": values, "detail": detail,
            "text": str(line.get("text") or "")}


def _parameter_names(rmap_name: str, width: int) -> list[str]:
    """The rmap's match and useafter keywords (its `parkey`, flattened) when they number
    `width`, the values of each action; else no names (the table shows the values alone)."""
    if not width:
        return []
    try:
        from crds_server.catalog import loader

        parkey = loader.get_mapping(rmap_name).parkey
    except Exception:  # an rmap no longer in the store: values without names
        log.info("no parkey for %s", rmap_name, exc_info=True)
        return []
    names = [str(n) for group in parkey for n in group]
    return names if len(names) == width else []
