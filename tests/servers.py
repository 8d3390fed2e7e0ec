"""An isolated server data directory for in-process tests that move whole file stores.

Backup, restore and check work on the whole store (they quarantine every
uncatalogued file), so they get a store of their own under `tmp_path`
instead of the session's shared one, with the demo catalog imported into it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from crds.core import utils as crds_utils

from crds_server.lib import crdsenv

DIRS = ("file_cache/config/hst", "file_cache/mappings/hst", "file_cache/references/hst",
        "file_cache/pickles/hst", "server_files/deliveries", "server_files/catalogs", "backups", "run")


def use_home(settings, home: Path, usecase: str = "dev") -> Path:
    """Point the settings and the crds library at a fresh data directory `home`."""
    for sub in DIRS:
        (home / sub).mkdir(parents=True, exist_ok=True)
    (home / "server.json").write_text(json.dumps({"observatory": "hst", "usecase": usecase}))
    settings.HOME = home
    settings.FILE_CACHE = home / "file_cache"
    settings.SERVER_FILES = home / "server_files"
    settings.USECASE = usecase
    crdsenv.configure(settings.FILE_CACHE, "hst")
    crds_utils.clear_function_caches()
    return home


def restore_crds_path(path: str) -> None:
    crdsenv.configure(Path(path), "hst")
    crds_utils.clear_function_caches()


def store_listing(home: Path) -> dict[str, int]:
    """{kind/name: size} of the mappings and references in the store under `home`."""
    listing = {}
    for kind in ("mappings", "references"):
        for path in (home / "file_cache" / kind / "hst").iterdir():
            if not path.name.startswith("."):
                listing[f"{kind}/{path.name}"] = path.stat().st_size
    return listing


def saved_crds_path() -> str:
    return os.environ["CRDS_PATH"]
