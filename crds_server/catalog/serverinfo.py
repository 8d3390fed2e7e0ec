"""The `get_server_info` payload (contract §3), precomputed per catalog version.

`download_metadata` is the gzip+base64 ``crds_encoded`` map of every
downloadable file's size and sha1sum; building it for HST's ~15,000 files
takes a while, so it is built once per catalog version per process and the
finished JSON text is reused for every call.
"""

from __future__ import annotations

import base64
import datetime
import gzip
import json
import logging
import pprint
import threading
from typing import Any

import crds
from django.conf import settings
from django.core.cache import cache

from crds_server.security import limits

from . import contexts, versioning
from .models import File

_lock = threading.Lock()
_cache: dict[str, Any] = {"version": None, "info": None, "text": None}
_STAMP = "@@LAST_SYNCED@@"
log = logging.getLogger(__name__)


def crds_encode(obj: Any) -> dict[str, str]:
    """The client's `crds_encoded` envelope: base64 of gzip of JSON."""
    payload = gzip.compress(json.dumps(obj).encode("utf-8"), compresslevel=6)
    return {"crds_encoded": "1.0", "crds_payload": base64.b64encode(payload).decode("ascii")}


def _urls(kind: str) -> dict[str, dict[str, str]]:
    obs = settings.OBSERVATORY
    return {"unchecked": {obs: f"{settings.PUBLIC_URL}/unchecked_get/{kind}/{obs}/"}}


def _build() -> dict[str, Any]:
    distributable = File.objects.distributable().order_by("name")
    metadata = {
        name: {"size": str(size), "sha1sum": sha1 or "none"}
        for name, size, sha1 in distributable.values_list("name", "size", "sha1sum").iterator(5000)
    }
    latest = contexts.pointer("latest")
    history = contexts.history()
    return {
        "observatory": settings.OBSERVATORY,
        "latest_context": latest,
        "operational_context": latest,
        "edit_context": contexts.pointer("edit"),
        "versions_context": contexts.pointer("versions"),
        "build_context": contexts.pointer("build"),
        "bad_files_list": sorted(n.lower() for n in File.objects.bad().values_list("name", flat=True)),
        "force_remote_mode": 1 if settings.FORCE_REMOTE_MODE else 0,
        "mappings": list(distributable.mappings().values_list("name", flat=True)),
        "context_history": list(reversed(history)),
        "crds_version": {"str": crds.__version__},
        # What the server enforces (security/limits.py); the client chunks dataset headers by the first.
        "max_headers_per_rpc": limits.limit("max_headers_per_rpc"),
        "max_bestrefs_per_rpc": limits.limit("max_bestrefs_per_rpc"),
        "rpc_limits": limits.published(),
        "last_synced": _STAMP,
        "last_refreshed": _now(),
        "reference_url": _urls("references"),
        "mapping_url": _urls("mappings"),
        "config_url": _urls("config"),
        "pickle_url": _urls("pickles"),
        "usecase": settings.USECASE,
        "download_metadata": crds_encode(metadata),
    }


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _current() -> tuple[dict[str, Any], str]:
    """(payload, JSON text) for the current catalog version.

    Looked up in this process first, then in the shared Django cache (so
    one worker builds it for all), and built only when neither has it.
    """
    version = versioning.current()
    with _lock:
        if _cache["version"] == version:
            return _cache["info"], _cache["text"]
    key = f"crds-server-info:{settings.OBSERVATORY}:{version}"
    text = _shared_get(key)
    if text is None:
        text = json.dumps(_build())
        _shared_set(key, text)
    info = json.loads(text)
    with _lock:
        _cache.update(version=version, info=info, text=text)
    return info, text


def _shared_get(key: str) -> str | None:
    try:
        return cache.get(key)
    except Exception:  # a cache outage must not stop the server answering
        log.warning("cache unavailable for %s", key, exc_info=True)
        return None


def _shared_set(key: str, text: str) -> None:
    try:
        cache.set(key, text, timeout=24 * 3600)
    except Exception:  # e.g. memcached's 1 MB item limit for a large catalog
        log.info("server info of %d bytes not shared through the cache", len(text))


def server_info() -> dict[str, Any]:
    """The payload as a dict, with `last_synced` set to now."""
    info, _ = _current()
    return dict(info, last_synced=_now())


def server_info_json() -> str:
    """The payload as JSON text (the hot path of every client start)."""
    _, text = _current()
    return text.replace(_STAMP, _now(), 1)


def server_config_text() -> str:
    """The cache's `server_config` form: a Python literal with flat URL keys."""
    info = server_info()
    for key in ("reference_url", "mapping_url", "config_url", "pickle_url"):
        info[key] = info[key]["unchecked"]
    return pprint.pformat(info) + "\n"


def bad_files_text() -> str:
    return "".join(name + "\n" for name in server_info()["bad_files_list"])
