"""Derived contexts for bench_affected: rmaps whose references are replaced (not dropped).

    python _affected_contexts.py OLD INSTRUMENT FILEKIND REPLACED SERIAL   # one type
    python _affected_contexts.py OLD INSTRUMENT all - SERIAL                # every type
    python _affected_contexts.py OLD all all - SERIAL                       # every instrument

Runs with the server's settings (CRDS_SERVER_HOME); the contexts are made by
tests/replaced_references.py (which says what each change replaces).
Prints "OLD NEW".
"""

from __future__ import annotations

import sys

import django


def main() -> None:
    django.setup()
    from django.conf import settings

    from tests.builders import CatalogBuilder
    from tests.replaced_references import derive

    old, instrument, filekind, replaced, serial = sys.argv[1:6]
    instruments = "all" if instrument == "all" else [instrument]
    print(old, derive(CatalogBuilder(settings), old, instruments, filekind, replaced, serial))


if __name__ == "__main__":
    main()
