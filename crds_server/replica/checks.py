"""System checks of a replica's configuration."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Error, register

from .fetch import MAX_WORKERS


@register()
def check_replica_settings(app_configs=None, **kwargs) -> list[CheckMessage]:
    """E001: CRDS_SERVER_REPLICA_OF is not an http(s) URL; E002: workers or contexts out of range."""
    found: list[CheckMessage] = []
    url = settings.REPLICA_OF
    if url and (urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname):
        found.append(Error(f"CRDS_SERVER_REPLICA_OF={url!r} is not an http:// or https:// URL.",
                           hint="Give the source server's address, e.g. https://hst-crds.stsci.edu.",
                           id="crds_server.replica.E001"))
    if not 1 <= settings.REPLICA_WORKERS <= MAX_WORKERS or settings.REPLICA_CONTEXTS < 0:
        found.append(Error(f"CRDS_SERVER_REPLICA_WORKERS must be 1..{MAX_WORKERS} and "
                           f"CRDS_SERVER_REPLICA_CONTEXTS 0 or more.", id="crds_server.replica.E002"))
    return found
