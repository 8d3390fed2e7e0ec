"""Test set-up shared by the whole suite.

Every test session gets its own data directory, created before Django's
settings are read, so tests never touch ./var.  That is why the settings
module is named here and not in pyproject.toml: pytest-django would load
the settings before this file runs; named here, it sets Django up after.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

os.environ["CRDS_SERVER_HOME"] = tempfile.mkdtemp(prefix="crds-server-test-")
os.environ.setdefault("CRDS_SERVER_OBSERVATORY", "hst")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crds_server.settings")

import pytest  # noqa: E402


def pytest_configure(config) -> None:
    """Refuse to run on a data directory other than this session's (e.g. ./var).

    Under pytest-xdist the controller runs no test: it hands its workers an
    environment without the settings module and data directory, so that each
    worker's own import of this file chooses a data directory of its own.
    """
    if getattr(config.option, "numprocesses", None) and "PYTEST_XDIST_WORKER" not in os.environ:
        import django

        django.setup()  # the controller's own report header reads the settings
        os.environ.pop("DJANGO_SETTINGS_MODULE", None)
        os.environ.pop("CRDS_SERVER_HOME", None)
        return
    from django.conf import settings

    if settings.HOME != Path(os.environ["CRDS_SERVER_HOME"]).resolve():
        raise pytest.UsageError(
            f"Django settings were read before tests/conftest.py chose the session's data "
            f"directory: they point at {settings.HOME}.  Do not set DJANGO_SETTINGS_MODULE "
            f"in pyproject.toml or the environment."
        )


@pytest.fixture
def catalog(db, settings):
    """A tiny catalog builder writing real files into the server's file store."""
    from tests.builders import CatalogBuilder

    return CatalogBuilder(settings)


# The demo HST catalog: built once per session, imported once per test module.


@dataclass(frozen=True)
class DemoCache:
    """A demo CRDS cache on disk: its directory, its .pmap and its dataset parameters."""

    path: Path
    context: str
    datasets: list[dict]
    datasets_file: Path


@pytest.fixture(scope="session")
def demo_cache(tmp_path_factory) -> DemoCache:
    """The demo HST cache (rules, references and datasets), written once per session."""
    from crds_server import demo

    path = tmp_path_factory.mktemp("demo-hst-cache")
    context = demo.build_demo_cache(path, "hst")
    datasets = demo.demo_datasets(path, "hst")
    datasets_file = path / "datasets.jsonl"
    datasets_file.write_text("".join(json.dumps(d) + "\n" for d in datasets))
    return DemoCache(path, context, datasets, datasets_file)


@pytest.fixture(scope="module")
def _demo_imported(demo_cache, django_db_setup, django_db_blocker) -> Iterator[None]:
    """The demo cache and datasets imported inside a transaction rolled back after the module.

    Each test's own `db` transaction nests inside it, so tests still undo
    their own changes, and the import (about a second) runs once per module.
    """
    from django.db import transaction

    from crds_server.catalog.importer import import_cache
    from crds_server.datasets.actions import import_datasets

    outer = transaction.atomic()
    with django_db_blocker.unblock():
        outer.__enter__()
        import_cache(demo_cache.path, context=demo_cache.context, user="demo")
        import_datasets(demo_cache.datasets_file)
    yield
    with django_db_blocker.unblock():
        transaction.set_rollback(True)
        outer.__exit__(None, None, None)


@pytest.fixture
def demo_catalog(_demo_imported, db, demo_cache) -> DemoCache:
    """The demo HST catalog imported (latest = edit = its .pmap) with its datasets."""
    return demo_cache


# The demo JWST catalog: built once per session, imported once per test module that asks.


@pytest.fixture(scope="session")
def jwst_demo_cache(tmp_path_factory) -> DemoCache:
    """The demo JWST cache (rules, certifiable references, datasets), written once per session."""
    from crds_server import demo

    path = tmp_path_factory.mktemp("demo-jwst-cache")
    context = demo.build_demo_cache(path, "jwst")
    datasets = demo.demo_datasets(path, "jwst")
    datasets_file = path / "datasets.jsonl"
    datasets_file.write_text("".join(json.dumps(d) + "\n" for d in datasets))
    return DemoCache(path, context, datasets, datasets_file)


@pytest.fixture(scope="module")
def _jwst_demo_imported(jwst_demo_cache, django_db_setup, django_db_blocker) -> Iterator[None]:
    """A JWST server for one module: settings and the crds library switched to JWST, the demo
    imported in a transaction rolled back afterwards, and the JWST files the module made removed."""
    import shutil

    from django.conf import settings
    from django.db import transaction
    from django.test import override_settings

    from crds_server.catalog.importer import import_cache
    from crds_server.datasets.actions import import_datasets
    from crds_server.lib import crdsenv

    store = Path(settings.FILE_CACHE)
    override = override_settings(OBSERVATORY="jwst")
    override.enable()
    crdsenv.configure(store, "jwst")
    outer = transaction.atomic()
    try:
        with django_db_blocker.unblock():
            outer.__enter__()
            import_cache(jwst_demo_cache.path, context=jwst_demo_cache.context, user="demo")
            import_datasets(jwst_demo_cache.datasets_file)
        yield
    finally:
        with django_db_blocker.unblock():
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
        for kind in ("mappings", "references", "pickles"):
            shutil.rmtree(store / kind / "jwst", ignore_errors=True)
        override.disable()
        crdsenv.configure(store, settings.OBSERVATORY)


@pytest.fixture
def jwst_demo_catalog(_jwst_demo_imported, db, jwst_demo_cache) -> DemoCache:
    """The demo JWST catalog imported (latest = edit = its .pmap) with its datasets, on a JWST server."""
    return jwst_demo_cache


@pytest.fixture(autouse=True)
def _fresh_process_caches() -> None:
    """Forget per-process caches keyed by the catalog version.

    Tests roll the version counter back, so the same version number can
    stand for two different catalogs in one process.
    """
    from crds.core import utils as crds_utils
    from django.core.cache import cache as shared_cache

    from crds_server.catalog import export, loader, records, serverinfo

    for cache in (records._cache, serverinfo._cache, export._cache):
        cache["version"] = None
    shared_cache.clear()
    # Tests reuse mapping names for different contents; forget loaded mappings.
    loader.forget()
    crds_utils.clear_function_caches()
    from crds_server.web import fastfiles

    fastfiles.index.forget()


@pytest.fixture
def rpc(client):
    """Call JSON-RPC methods: `rpc(name, *params)` -> result, `rpc.error(...)` -> message."""
    from tests.rpc import Rpc

    return Rpc(client)


def pytest_report_header(config) -> list[str]:
    """Say which database and cache this run uses (SQLite, PostgreSQL or MariaDB)."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    return [f"crds-server: database {db['ENGINE'].rsplit('.', 1)[-1]} "
            f"({db.get('HOST') or db.get('NAME')}), cache {settings.CACHES['default']['BACKEND']}"]


# Submission pages: Homer, a submitter logged in with the ACS lock, and areas left clean.


@pytest.fixture
def clean_areas() -> Iterator[None]:
    """Leave the file store, ingest and upload areas as the test found them."""
    import shutil

    from django.conf import settings

    from tests.submitting import store_files

    before = store_files()
    yield
    for path in store_files() - before:
        (Path(settings.FILE_CACHE) / path).unlink()
    shutil.rmtree(Path(settings.SERVER_FILES) / "ingest", ignore_errors=True)
    for path in (Path(settings.SERVER_FILES) / "uploads").glob("*-*-*-*-*"):
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def homer(demo_catalog):
    from tests.submitting import persona

    return persona("homer", password="donuts")


@pytest.fixture
def browser(homer):
    """Homer logged in with the ACS lock, checking CSRF as the real server does."""
    from django.test import Client

    from tests.test_web_auth import login

    client = Client(enforce_csrf_checks=True)
    login(client, "homer", "donuts", "acs")
    client.get("/jpoll/open_channel")
    return client


@pytest.fixture(scope="module")
def page(server):
    """One Chromium tab for a browser test module, which defines its own `server`."""
    from tests.browser import chromium_page

    with chromium_page(timeout_ms=getattr(server, "page_timeout_ms", 30_000)) as tab:
        yield tab
