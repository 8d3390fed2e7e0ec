"""Server set-up: the data directory tree, the schema and the fixed server identity."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management import call_command

OBSERVATORIES = ("hst", "jwst", "roman")
USECASES = ("dev", "test", "ops")
_DIRS = (
    "file_cache/config/{obs}", "file_cache/mappings/{obs}", "file_cache/references/{obs}",
    "file_cache/pickles/{obs}", "server_files/deliveries", "server_files/catalogs",
    "server_files/uploads", "server_files/ingest", "server_files/ingest_ssb", "backups", "logs", "run",
)


class SetupError(Exception):
    """The data directory belongs to another observatory or usecase."""


def check_public_url(url: str) -> str:
    """`url` without a trailing slash if it is an http(s) URL with a host, else SetupError."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise SetupError(f"Public URL {url!r} is not an http:// or https:// URL with a host.")
    return url.strip().rstrip("/")


def init_server(observatory: str, usecase: str, verbosity: int = 1, public_url: str | None = None) -> Path:
    """Create the data directory and schema for one observatory and usecase; idempotent.

    `public_url` (else the one already recorded) is kept in `server.json`, where
    every process, cron-run commands included, finds it for links in mails.
    """
    home: Path = settings.HOME
    identity = home / "server.json"
    current: dict = {}
    if identity.exists():
        current = json.loads(identity.read_text())
        if (current["observatory"], current["usecase"]) != (observatory, usecase):
            raise SetupError(
                f"{home} already serves {current['observatory']}/{current['usecase']}; "
                f"use another CRDS_SERVER_HOME for {observatory}/{usecase}."
            )
    if observatory != settings.OBSERVATORY:
        raise SetupError(f"Settings were loaded for '{settings.OBSERVATORY}'; "
                         f"set CRDS_SERVER_OBSERVATORY={observatory} (the crds-server command does).")
    for pattern in _DIRS:
        (home / pattern.format(obs=observatory)).mkdir(parents=True, exist_ok=True)
    (home / "file_cache/config" / observatory / "ref_cache_subdir_mode").write_text("flat\n")
    key = home / "run" / "secret_key"
    if not key.exists():
        key.write_text(secrets.token_urlsafe(48))
        key.chmod(0o600)
    fields = {"observatory": observatory, "usecase": usecase}
    kept = public_url or current.get("public_url")
    if kept:
        fields["public_url"] = check_public_url(kept)
    temp = identity.with_suffix(".tmp")
    temp.write_text(json.dumps(fields) + "\n")
    temp.replace(identity)
    call_command("migrate", interactive=False, verbosity=max(verbosity - 1, 0))
    return home
