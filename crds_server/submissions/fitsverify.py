"""fitsverify, the cfitsio authors' FITS checker: where it is, and what certification says without it.

The `crds` library runs it itself inside certify (`run_fitsverify=True`)
when it is on PATH, and reclassifies its messages (a bad checksum is an
error).  STScI's server refuses files that fail it, so this server needs it
installed (Debian package ``fitsverify``; ``make install`` installs it).
Without it certification cannot be as strict: the report says so, a
certification warns, and a submission of FITS files is refused.
"""

from __future__ import annotations

import shutil
from typing import Any

from django.core.checks import CheckMessage, Warning, register

MISSING = ("fitsverify is not installed on this server (Debian package fitsverify; `make install` "
           "installs it), so FITS files are not checked with it.")
REFUSED = ("fitsverify is not installed on this server, so this FITS file cannot be verified as STScI "
           "verifies it; it is not accepted into CRDS until fitsverify is installed.")


def path() -> str | None:
    """The fitsverify on PATH (the one the library runs), or None."""
    return shutil.which("fitsverify")


def status() -> str:
    """One line for /health and reports: "ok: /usr/bin/fitsverify" or the missing message."""
    found = path()
    return f"ok: {found}" if found else f"missing: {MISSING}"


def is_fits(name: str) -> bool:
    """Whether the library would run fitsverify on a file of this name (it checks .fits only)."""
    return name.lower().endswith(".fits")


@register(deploy=True)
def check_fitsverify(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """W001: fitsverify is installed, so certification checks FITS files as STScI's does."""
    if path():
        return []
    return [Warning(MISSING, hint="apt-get install -y fitsverify (or `make install`).",
                    id="crds_server.submissions.W001")]
