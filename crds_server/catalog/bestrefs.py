"""Best references with the `crds` library on contexts loaded once per process.

The steps are the library's own local-mode steps (`heavy_client`): condition
the header, choose the types that apply, minimise the header, then ask the
loaded context.  The result is what the library gives, error strings included;
the last step shares each type's answer across datasets that ask its rules the
same question (`bestrefs_memo`).
"""

from __future__ import annotations

import json
from typing import Any

from crds.core import utils

from . import bestrefs_memo, loader
from .errors import BadContextError


def check_header(header: Any) -> dict[str, str]:
    """The header as the client sends it: string keys and values (dicts only)."""
    if not isinstance(header, dict):
        raise BadContextError(f"A dataset header must be a JSON object, not {type(header).__name__}.")
    return {str(k): v if isinstance(v, str) else str(v) for k, v in header.items()
            if isinstance(v, (str, int, float, bool))}


def check_reftypes(reftypes: Any) -> list[str] | None:
    if reftypes is None:
        return None
    if not isinstance(reftypes, list) or not all(isinstance(t, str) for t in reftypes):
        raise BadContextError("reftypes must be null or a list of reference type names.")
    return [t.lower() for t in reftypes]


def load_pipeline(context: str) -> Any:
    if not context.endswith(".pmap"):
        raise BadContextError(f"Best references need a pipeline context (.pmap), not '{context}'.")
    return loader.get_mapping(context)


def best_references(context: str, header: dict[str, str], reftypes: list[str] | None) -> dict:
    """{filekind: file or 'NOT FOUND ...'} for one header under `context`."""
    return conditioned_best_references(context, utils.condition_header(header), reftypes)


def conditioned_best_references(context: str, conditioned: dict[str, str],
                                reftypes: list[str] | None) -> dict:
    """`best_references` of a header the library has already conditioned (one header, many contexts)."""
    pmap = load_pipeline(context)
    include = reftypes
    if include is None:
        applicable = set(pmap.locate.header_to_reftypes(conditioned, context))
        include = list(set(pmap.get_filekinds(conditioned)) & applicable)
    minimized = pmap.minimize_header(conditioned)
    return bestrefs_memo.best_references(pmap, minimized, include)


def best_references_map(context: str, headers: dict[str, Any], reftypes: list[str] | None) -> dict:
    """{id: [True, bestrefs] | [False, "FAILED: reason"]} for many headers."""
    load_pipeline(context)
    results: dict[str, Any] = {}
    for ident, header in headers.items():
        try:
            results[ident] = [True, best_references(context, check_header(header), reftypes)]
        except Exception as exc:
            results[ident] = [False, f"FAILED: {exc}"]
    return results


def found_files(bestrefs: dict[str, Any]) -> list[str]:
    """The sorted file names of a bestrefs result, leaving out N/A and NOT FOUND values."""
    return sorted(v for v in bestrefs.values() if isinstance(v, str) and "NOT FOUND" not in v)


def system_versions(context: str, master_version: str) -> Any:
    """The contents of the SYSTEM CALVER reference that `master_version` selects."""
    pmap = load_pipeline(context)
    if "system" not in pmap.selections:
        raise BadContextError(f"Context '{context}' has no SYSTEM rules, so no CALVER references.")
    rmapping = pmap.get_imap("system").get_rmap("calver")
    header = {"CAL_VER": master_version, "META.CALIBRATION_SOFTWARE_VERSION": master_version,
              "META.OBSERVATION.DATE": "2100-01-01", "META.OBSERVATION.TIME": "00:00:00"}
    try:
        name = rmapping.get_best_ref(utils.condition_header(header))
    except Exception as exc:
        raise BadContextError(f"No CALVER reference for version '{master_version}': {exc}") from exc
    path = loader.reference_path(name)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BadContextError(f"CALVER reference '{name}' is not readable JSON: {exc}") from exc
