"""Context methods: server info, default/build/by-date contexts, history, pipelines."""

from __future__ import annotations

from typing import Any

from crds_server.catalog import actions, contexts, serverinfo
from crds_server.catalog.errors import UnknownContextError
from crds_server.reprocessing import actions as reprocessing
from crds_server.reprocessing.errors import ResultsNotReady
from crds_server.rpc.registry import RawJson, RpcError, method

from .common import check_observatory, check_string


@method
def get_server_info() -> RawJson:
    """The server's configuration: contexts, bad files, URLs and download metadata."""
    return RawJson(serverinfo.server_info_json())


@method
def get_default_context(observatory: str | None = None, state: str | None = None) -> str:
    """The context of kind `state` (latest when null; also edit, versions, build, operational)."""
    check_observatory(observatory)
    if state is not None and not isinstance(state, str):
        raise UnknownContextError(f"Unknown context state {str(state)[:60]}.")
    kind = contexts.TAGS.get(state or "latest")
    if kind is None:
        raise UnknownContextError(f"Unknown context state '{state}'.")
    name = contexts.pointer(kind)
    if not name:
        raise UnknownContextError(f"The server has no '{kind}' context defined.")
    return name


@method
def get_build_context(observatory: str, calver: str) -> str:
    """The context delivered with calibration software `calver`, or the closest earlier one."""
    check_observatory(observatory)
    return contexts.build_context(check_string(calver, "calver", 128))


@method
def get_context_by_date(date: str, observatory: str | None = None) -> str:
    """Resolve any context specifier (date, tag, instrument/type narrowed) to a mapping name."""
    check_observatory(observatory)
    return contexts.resolve(date)


@method
def get_context_history(observatory: str) -> list[list[str]]:
    """The latest-context history: [[start_date, context, description], ...], oldest first."""
    check_observatory(observatory)
    return contexts.history()


@method
def get_remote_context(observatory: str, pipeline_name: str) -> str:
    """The context last pushed by pipeline `pipeline_name` (crds sync --push-context)."""
    check_observatory(observatory)
    return actions.get_remote_context(check_string(pipeline_name, "pipeline_name", 128))


@method
def push_remote_context(observatory: str, kind: str, key: str, context: str) -> None:
    """Record the latest context a pipeline's cache reports; `key` is its secret pipeline key.

    Keys are made by the operators (`crds-server pipeline-key create PIPELINE`); an unknown
    or revoked key is the error "UnknownPipelineKey: ...".  The context is recorded under
    the key's pipeline name, which `get_remote_context` reads.
    """
    check_observatory(observatory)
    actions.push_remote_context(observatory, kind, key, context)
    return None


@method
def get_affected_datasets(observatory: str, old_context: Any = None, new_context: Any = None) -> Any:
    """Precomputed re-processing results of one context transition (null: the newest).

    Returns {computation_dir, observatory, affected_ids (product ids), bestrefs_status,
    old_context, new_context, bestrefs_err_summary}; until the run has finished the error
    says "No precomputed affected datasets results exist".
    """
    check_observatory(observatory)
    old = contexts.resolve(old_context) if old_context else None
    new = contexts.resolve(new_context) if new_context else None
    try:
        return reprocessing.result(old, new)
    except ResultsNotReady as exc:
        raise RpcError(str(exc)) from exc
