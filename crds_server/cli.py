"""The `crds-server` command: Django's management commands with the project's settings.

``crds-server import-cache DIR`` runs the ``import_cache`` command; any
Django command (migrate, shell, dbshell, createsuperuser) works as well.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crds_server.settings")
    if len(argv) > 1 and not argv[1].startswith("-"):
        argv[1] = argv[1].replace("-", "_")
    argv[0] = "crds-server"
    # init and demo choose the observatory and usecase, which the settings need before they
    # load (on a fresh data directory; later HOME/server.json fixes both).
    chosen = (("--observatory", "CRDS_SERVER_OBSERVATORY"), ("--usecase", "CRDS_SERVER_USECASE"))
    for option, variable in chosen:
        if option in argv[2:]:
            index = argv.index(option)
            if index + 1 < len(argv):
                os.environ.setdefault(variable, argv[index + 1])
    from django.core.management import execute_from_command_line

    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
