"""Configure the in-process `crds` library to work on the server's file store.

The server keeps its files in a standard CRDS cache layout
(``mappings/<obs>``, flat ``references/<obs>``, ``config/<obs>``,
``pickles/<obs>``), so the library loads rules straight from it.  The
library must never call out to a server from inside the server, so it is
put in local mode with a serverless URL.
"""

from __future__ import annotations

import os
from pathlib import Path

SERVERLESS_URL = "https://crds-serverless-mode.stsci.edu"


def configure(file_cache: Path, observatory: str) -> None:
    """Point the crds library at `file_cache`; must run before crds is imported."""
    os.environ["CRDS_PATH"] = str(file_cache)
    os.environ["CRDS_OBSERVATORY"] = observatory
    os.environ["CRDS_MODE"] = "local"
    os.environ["CRDS_SERVER_URL"] = SERVERLESS_URL
    for name in ("CRDS_MAPPATH", "CRDS_REFPATH", "CRDS_CFGPATH", "CRDS_PICKLEPATH",
                 "CRDS_CONFIG_URI", "CRDS_MAPPING_URI", "CRDS_REFERENCE_URI", "CRDS_CONTEXT",
                 "CRDS_READONLY_CACHE", "CRDS_PATH_SINGLE"):
        os.environ.pop(name, None)
    # The library's forced garbage collection around every header read costs
    # 0.3-0.5 s each in a large server process.
    os.environ["CRDS_EXPLICIT_GARBAGE_COLLECTION"] = "0"
    # The server's reference store is flat: references/<obs>/<name>.
    os.environ["CRDS_REF_SUBDIR_MODE"] = "flat"
    subdir_tag = file_cache / "config" / observatory / "ref_cache_subdir_mode"
    if file_cache.exists() and not subdir_tag.exists():
        subdir_tag.parent.mkdir(parents=True, exist_ok=True)
        subdir_tag.write_text("flat\n")
