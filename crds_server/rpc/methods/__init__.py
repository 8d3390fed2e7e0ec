"""Every JSON-RPC method, registered on import (contract §2.3)."""

from . import bestrefs, catalog, contexts, datasets, jpoll  # noqa: F401
