"""Parameter checks shared by the RPC methods."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from crds_server.catalog import bestrefs
from crds_server.catalog import contexts as catalog_contexts
from crds_server.rpc.registry import InvalidParameters
from crds_server.security import limits


def check_observatory(observatory: Any) -> str:
    """Accept this server's observatory name (or null for it)."""
    if observatory is None:
        return settings.OBSERVATORY
    if not isinstance(observatory, str) or observatory.lower() != settings.OBSERVATORY:
        raise InvalidParameters(
            f"This server serves observatory '{settings.OBSERVATORY}', not {observatory!r}."
        )
    return settings.OBSERVATORY


def check_string(value: Any, what: str, max_length: int = 256) -> str:
    if not isinstance(value, str) or not value or len(value) > max_length:
        raise InvalidParameters(f"{what} must be a non-empty string of at most {max_length} characters.")
    return value


def check_list(value: Any, what: str) -> list:
    if not isinstance(value, list):
        raise InvalidParameters(f"{what} must be a list.")
    return value


def check_reftypes(reftypes: Any) -> list[str] | None:
    """null, or at most max_reftypes_per_rpc reference type names (lower-cased, each once:
    256 copies of one type would cost 256 lookups per header)."""
    if isinstance(reftypes, list):
        limits.check_count("reference types", reftypes, "max_reftypes_per_rpc")
    checked = bestrefs.check_reftypes(reftypes)
    return list(dict.fromkeys(checked)) if checked is not None else None


def resolve(context: Any) -> str:
    """A context parameter in any form of contract §2.1, as a literal mapping name."""
    return catalog_contexts.resolve(context)


def resolve_observatory_or_context(value: Any) -> str:
    """`get_file_info` and friends take either an observatory or a context."""
    if isinstance(value, str) and value.lower() == settings.OBSERVATORY:
        return settings.OBSERVATORY
    resolve(value)
    return settings.OBSERVATORY
