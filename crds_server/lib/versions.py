"""The software this server runs: Python, the server itself and the packages it is built on."""

from __future__ import annotations

import functools
import platform
import sys
from importlib import metadata

# (distribution name, what it is to a CRDS user), in the order the page shows them.
PACKAGES = (
    ("crds-server", "this server"),
    ("crds", "CRDS library: rules, best references, certify, diffs"),
    ("Django", "web framework"),
    ("astropy", "FITS headers and tables"),
    ("numpy", "arrays"),
    ("asdf", "ASDF reference files"),
    ("stdatamodels", "JWST data models, used to read and certify JWST references"),
    ("jwst", "JWST calibration pipeline"),
    ("roman_datamodels", "Roman data models"),
    ("romancal", "Roman calibration pipeline"),
    ("huey", "job engine"),
    ("gunicorn", "WSGI server"),
    ("django-axes", "login throttling"),
    ("psycopg", "PostgreSQL driver"),
    ("PyMySQL", "MariaDB/MySQL driver"),
    ("redis", "Redis client (cache, job storage)"),
    ("pymemcache", "memcached client"),
)


@functools.cache
def installed() -> tuple[tuple[str, str, str], ...]:
    """(name, version, purpose) of Python and of each package of PACKAGES that is installed.

    Read once per process: what is installed does not change while the server runs.
    """
    rows = [("Python", platform.python_version(), f"{platform.python_implementation()} on "
             f"{sys.platform}")]
    for name, purpose in PACKAGES:
        try:
            rows.append((name, metadata.version(name), purpose))
        except metadata.PackageNotFoundError:
            continue
    return tuple(rows)
