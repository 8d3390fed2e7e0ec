"""System checks of the serving settings (`crds-server check`, and before `run` serves)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register

from .transfers import HEADERS


@register()
def check_sendfile_header(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """CRDS_SERVER_SENDFILE_HEADER names a header a proxy understands, or is empty."""
    if settings.SENDFILE_HEADER in ("", *HEADERS):
        return []
    return [Error(
        f"CRDS_SERVER_SENDFILE_HEADER is {settings.SENDFILE_HEADER!r}.",
        hint=f"Use one of {', '.join(HEADERS)} (the proxy then sends the files), or leave it unset.",
        id="crds_server.web.E001",
    )]


@register()
def check_transfer_reserve(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Downloads must leave at least one thread of each worker for RPC calls and pages."""
    if 0 < settings.TRANSFER_RESERVE < settings.WEB_THREADS:
        return []
    return [Error(
        f"CRDS_SERVER_TRANSFER_RESERVE is {settings.TRANSFER_RESERVE} with "
        f"CRDS_SERVER_THREADS={settings.WEB_THREADS}.",
        hint="Keep 1 <= reserve < threads, so downloads can neither take every thread nor none.",
        id="crds_server.web.E002",
    )]
