"""Best-reference methods, computed with the crds library on loaded contexts."""

from __future__ import annotations

import re
from typing import Any

from crds_server.catalog import bestrefs, loader
from crds_server.catalog import contexts as catalog_contexts
from crds_server.datasets import actions as datasets
from crds_server.rpc.registry import InvalidParameters, method
from crds_server.security import limits

from .common import check_list, check_reftypes, resolve

VERSION_RE = re.compile(r"^[A-Za-z0-9._\-]{1,128}$")


@method
def get_best_references(context: str, header: dict, reftypes: list[str] | None = None) -> dict:
    """{filekind: best reference or "NOT FOUND reason"} for one dataset header."""
    name = resolve(context)
    limits.check_header(header)
    return bestrefs.best_references(name, bestrefs.check_header(header), check_reftypes(reftypes))


@method
def get_best_references_by_header_map(context: str, headers: dict,
                                      reftypes: list[str] | None = None) -> dict:
    """{id: [true, bestrefs] | [false, "FAILED: reason"]} for a map of headers."""
    if not isinstance(headers, dict):
        raise InvalidParameters("headers must be a JSON object {dataset_id: header}.")
    limits.check_count("headers", headers, "max_bestrefs_per_rpc")
    for ident, header in headers.items():
        _check_id(ident)
        limits.check_header(header)
    return bestrefs.best_references_map(resolve(context), headers, check_reftypes(reftypes))


@method
def get_best_references_by_ids(context: str, dataset_ids: list[str], reftypes: list[str] | None = None,
                               include_headers: bool = False) -> dict:
    """{id: [true, bestrefs] | [false, reason]} for archive dataset ids; optional "headers"."""
    name = resolve(context)
    headers, missing = _find_headers(dataset_ids)
    results: dict[str, Any] = bestrefs.best_references_map(name, headers, check_reftypes(reftypes))
    results.update({ident: [False, _unknown(ident)] for ident in missing})
    if include_headers:
        results["headers"] = headers
    return results


@method
def get_aui_best_references(date_or_context: str, dataset_ids: list[str]) -> dict:
    """{id: [true, [file, ...]] | [false, "NOT FOUND ..."]} with N/A and failed types dropped."""
    name = resolve(date_or_context)
    headers, missing = _find_headers(dataset_ids)
    results: dict[str, Any] = {ident: [False, _unknown(ident)] for ident in missing}
    for compound, (ok, refs) in bestrefs.best_references_map(name, headers, None).items():
        results[compound] = [True, bestrefs.found_files(refs)] if ok else [False, f"NOT FOUND {refs}"]
    return results


def _unknown(ident: str) -> str:
    return f"NOT FOUND dataset ID does not exist '{ident}'"


@method
def get_required_parkeys(context: str) -> Any:
    """Matching parameters: {instrument: [KEY, ...]} for a .pmap, [KEY, ...] otherwise."""
    parkeys = loader.get_mapping(resolve(context)).get_required_parkeys()
    if isinstance(parkeys, dict):
        return {instr: list(keys) for instr, keys in parkeys.items()}
    return list(parkeys)


def _find_headers(dataset_ids: Any) -> tuple[dict[str, dict], list[str]]:
    """The archive headers of at most max_bestrefs_per_rpc ids, counted again after products expand."""
    ids = check_list(dataset_ids, "dataset_ids")
    limits.check_count("dataset ids", ids, "max_bestrefs_per_rpc")
    for ident in ids:
        _check_id(ident)
    headers, missing = datasets.find_headers(ids)
    limits.check_count("datasets (product ids count every exposure)", headers, "max_bestrefs_per_rpc")
    return headers, missing


def _check_id(ident: Any) -> None:
    if not isinstance(ident, str) or not 0 < len(ident) <= 257:
        raise InvalidParameters("dataset ids must be strings of 1 to 257 characters.")


@method
def get_system_versions(master_version: str, context: str | None = None) -> Any:
    """The JSON contents of the SYSTEM CALVER reference chosen by calibration version `master_version`.

    `context` "null", "none" or "None" (what the client sends when not given) means the
    server's versions context.
    """
    if not isinstance(master_version, str) or not VERSION_RE.match(master_version):
        raise InvalidParameters("master_version must be 1-128 characters of [A-Za-z0-9._-].")
    if context in (None, "null", "none", "None"):
        name = catalog_contexts.pointer("versions")
        if not name:
            raise InvalidParameters("The server has no versions context defined.")
    else:
        name = resolve(context)
    return bestrefs.system_versions(name, master_version)
