"""The corpus HST rules as the server's file store, for best-reference equivalence tests."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.live import CORPUS

MAPPINGS = CORPUS / "hst" / "mappings"
DATASETS = CORPUS / "hst" / "datasets"


def corpus_store(tmp_path_factory) -> Iterator[Path]:
    """A file store holding the corpus rules; settings and the crds library point at it."""
    if not (MAPPINGS / "hst.pmap").is_file():
        pytest.skip("../shared/corpus is absent")
    from django.conf import settings
    from django.test import override_settings

    from crds_server.lib import crdsenv

    store = tmp_path_factory.mktemp("corpus-store")
    shutil.copytree(MAPPINGS, store / "mappings" / "hst")
    previous = Path(settings.FILE_CACHE)
    override = override_settings(FILE_CACHE=store, OBSERVATORY="hst")
    override.enable()
    crdsenv.configure(store, "hst")
    try:
        yield store
    finally:
        override.disable()
        crdsenv.configure(previous, settings.OBSERVATORY)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with open(path) as handle:
        return [json.loads(line) for line in handle if line.strip()]


def library(context: str, header: dict, reftypes: list[str] | None = None) -> list:
    """The library's own answer, as the server reports it per dataset."""
    from crds.core import heavy_client

    try:
        return [True, heavy_client.hv_best_references(context, header, reftypes)]
    except Exception as exc:
        return [False, f"FAILED: {exc}"]


def server(context: str, header: dict, reftypes: list[str] | None = None) -> list:
    """The server's answer for one dataset (what best_references_map gives it)."""
    from crds_server.catalog import bestrefs

    return bestrefs.best_references_map(context, {"x": header}, reftypes)["x"]
