"""Calibration software versions (CAL_VER) an operator may pick for a build context.

No network is asked: the versions come from what the server itself knows,
the versions already given a build context, the CAL_VER values the versions
context's SYSTEM CALVER rules select on (read with the `crds` library), and
the calibration pipeline installed next to the server, if any.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from importlib import metadata

from . import contexts, loader
from .errors import InvalidDateBasedContext
from .models import BuildContext

# The calibration pipeline package of each observatory.
PIPELINES = {"jwst": "jwst", "roman": "romancal"}


@dataclass(frozen=True)
class Version:
    """One calibration software version and where the server knows it from."""

    version: str
    source: str
    date: datetime.datetime | None = None
    context: str = ""


def known_versions(observatory: str) -> list[Version]:
    """Every version the server knows, highest first, each once (a build context's first)."""
    found: dict[str, Version] = {}
    for row in BuildContext.objects.order_by("created"):
        found.setdefault(row.calver, Version(row.calver, "build context", row.created, row.context))
    for version in _calver_rules():
        found.setdefault(version, Version(version, "SYSTEM CALVER rules"))
    installed = _installed(PIPELINES.get(observatory, ""))
    if installed:
        found.setdefault(installed, Version(installed, f"installed {PIPELINES[observatory]}"))
    return sorted((v for v in found.values() if _valid(v.version)),
                  key=lambda v: contexts.version_key(v.version), reverse=True)


def _calver_rules() -> list[str]:
    """The CAL_VER values the versions context's calver rmap matches, as the library lists them."""
    name = contexts.pointer("versions")
    if not name:
        return []
    try:
        pmap = loader.get_mapping(name)
        if "system" not in pmap.selections:
            return []
        values = pmap.get_imap("system").get_rmap("calver").get_parkey_map()
    except Exception:  # rules without a calver rmap, or unreadable: no suggestions from them
        return []
    return [str(v) for key, vals in values.items() if "CAL_VER" in key.upper() or "SOFTWARE_VERSION"
            in key.upper() for v in vals]


def _installed(package: str) -> str:
    try:
        return metadata.version(package) if package else ""
    except metadata.PackageNotFoundError:
        return ""


def _valid(version: str) -> bool:
    try:
        contexts.version_key(version)
    except InvalidDateBasedContext:
        return False
    return True
