"""Test set-up shared by the whole suite.

Every test session gets its own data directory, created before Django's
settings are read, so tests never touch ./var.
"""

from __future__ import annotations

import os
import tempfile

os.environ["CRDS_SERVER_HOME"] = tempfile.mkdtemp(prefix="crds-server-test-")
os.environ.setdefault("CRDS_SERVER_OBSERVATORY", "hst")

import pytest  # noqa: E402

from tests.builders import CatalogBuilder  # noqa: E402


@pytest.fixture
def catalog(db, settings):
    """A tiny catalog builder writing real files into the server's file store."""
    return CatalogBuilder(settings)
