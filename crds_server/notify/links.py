"""Links in mails: a test or ops server never mails a link to the machine itself.

A mail is read on the reader's own machine, where `http://127.0.0.1:8000/...`
is not this server.  Such a link comes from a process that does not know the
public URL (a command run by cron without CRDS_SERVER_PUBLIC_URL, and no
`public_url` in HOME/server.json): the mail then leaves the links out and says
why, and `crds-server check --deploy` warns (crds_server.notify.W001).
"""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Warning, register

LINK_FIELDS = ("result_url", "log_url", "server_url")
NOTE = ("Links are left out: this process knows no public URL for the server (it would be "
        "{url}). Operators: set CRDS_SERVER_PUBLIC_URL, or public_url in {home}/server.json.")


def is_loopback(url: str) -> bool:
    """Whether `url` names this machine itself (localhost, 127.0.0.0/8, ::1, 0.0.0.0)."""
    host = (urlsplit(str(url)).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def unreachable(url: str) -> bool:
    """A link no mail reader can follow: one to the machine itself, from a test or ops server
    (a dev server's developer reads the mail where the server runs)."""
    return bool(url) and settings.USECASE != "dev" and is_loopback(url)


def without_unreachable(values: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """`values` with the unreachable links of LINK_FIELDS emptied, and those links."""
    dropped = [str(values[f]) for f in LINK_FIELDS if unreachable(str(values.get(f) or ""))]
    if not dropped:
        return values, []
    kept = {**values, **{f: "" for f in LINK_FIELDS if unreachable(str(values.get(f) or ""))}}
    kept["link_note"] = NOTE.format(url=settings.PUBLIC_URL, home=settings.HOME)
    return kept, dropped


@register(deploy=True)
def check_public_url(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """W001: a test or ops server knows a public URL other than this machine's own."""
    if not unreachable(settings.PUBLIC_URL):
        return []
    return [Warning(
        f"The public URL is {settings.PUBLIC_URL}: links in mails and download URLs would "
        "point to the reader's own machine.",
        hint=f"Set CRDS_SERVER_PUBLIC_URL, or public_url in {settings.HOME}/server.json for "
             "commands run without the environment.",
        id="crds_server.notify.W001",
    )]
