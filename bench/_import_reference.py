"""Run `import-cache` as the straightforward import would (in a bench subprocess).

The import's fast parts are switched back to what they replaced, with the
patches of tests/test_import_equality.py: astropy parses each whole header,
files are stat'ed and checksummed apart from their header read, rows go
through `bulk_create`, the latest context is loaded by the library.

    python bench/_import_reference.py CACHE_DIR      (CRDS_SERVER_HOME set)
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crds_server.settings")


def main() -> None:
    import django
    import pytest

    django.setup()
    from django.core.management import call_command

    from tests.test_import_equality import _straightforward

    patch = pytest.MonkeyPatch()
    _straightforward(patch)
    call_command("import_cache", sys.argv[1], verbosity=0)


if __name__ == "__main__":
    main()
