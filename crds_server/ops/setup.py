"""Server set-up: the data directory tree, the schema and the fixed server identity."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

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


def init_server(observatory: str, usecase: str, verbosity: int = 1) -> Path:
    """Create the data directory and schema for one observatory and usecase; idempotent."""
    home: Path = settings.HOME
    identity = home / "server.json"
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
    temp = identity.with_suffix(".tmp")
    temp.write_text(json.dumps({"observatory": observatory, "usecase": usecase}) + "\n")
    temp.replace(identity)
    call_command("migrate", interactive=False, verbosity=max(verbosity - 1, 0))
    return home
