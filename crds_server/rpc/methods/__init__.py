"""Every JSON-RPC method, registered on import (contract §2.3)."""

from . import bestrefs, catalog, contexts, datasets  # noqa: F401
