"""Maintenance mode: a flag file ``HOME/run/maintenance`` holding the reason.

While the flag exists the web entry point answers 503 to everything and
domain actions that change state (a submission's start) refuse.  A file,
not a database row, because a restore replaces the database while the flag
must stay up, and every process on every machine sharing HOME sees it.
"""

from __future__ import annotations

import datetime
import os
from pathlib import Path

from django.conf import settings


class MaintenanceError(Exception):
    """The server is in maintenance mode: nothing can change now."""


def flag_path() -> Path:
    return Path(settings.HOME) / "run" / "maintenance"


def reason() -> str | None:
    """The reason given when maintenance began, or None when the server is open."""
    try:
        return flag_path().read_text().strip() or "maintenance"
    except FileNotFoundError:
        return None


def is_on() -> bool:
    return flag_path().exists()


def enter(why: str) -> None:
    """Raise the flag (replacing the reason if it is already up); written through a rename."""
    path = flag_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    temp = path.with_name(f".tmp-maintenance-{os.getpid()}")
    temp.write_text(f"{why} (since {stamp})\n")
    temp.replace(path)


def leave() -> bool:
    """Lower the flag; True if it was up."""
    try:
        flag_path().unlink()
        return True
    except FileNotFoundError:
        return False


def refuse_if_on(error: type[Exception] = MaintenanceError) -> None:
    """Raise `error` (a domain error class) when the server is in maintenance."""
    why = reason()
    if why is not None:
        raise error(f"The server is in maintenance ({why}); nothing can be submitted now. "
                    f"Try again later.")
