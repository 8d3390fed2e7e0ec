"""Roman references are validated against their schemas (roman_datamodels, rad), as `crds certify` does.

The demo Roman rules are put in the server's store beside the HST ones, and
the server's certification engine (the one every submission runs) certifies
Roman dark references written with roman_datamodels: a valid one and one
whose exposure type breaks its schema.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from astropy.time import Time
from django.conf import settings

from crds_server.submissions.certify import certify_files
from tests.certifying import normal, run_crds_certify
from tests.test_certify_equivalence import assert_same

rdm = pytest.importorskip("roman_datamodels.datamodels")


@pytest.fixture(scope="module")
def roman_context(tmp_path_factory):
    """The demo Roman rules in the server's store (removed afterwards): the .pmap's name."""
    from crds_server import demo

    cache = tmp_path_factory.mktemp("roman-demo")
    context = demo.build_demo_cache(cache, "roman")
    store = Path(settings.FILE_CACHE) / "mappings" / "roman"
    existed = store.exists()
    shutil.copytree(cache / "mappings" / "roman", store, dirs_exist_ok=True)
    yield context
    if not existed:
        shutil.rmtree(store, ignore_errors=True)
        shutil.rmtree(Path(settings.FILE_CACHE) / "pickles" / "roman", ignore_errors=True)


def _dark(folder: Path, name: str) -> Path:
    model = rdm.DarkRefModel.create_fake_data(shape=(2, 8, 8))
    model.meta.instrument.detector = "WFI01"
    model.meta.exposure.type = "WFI_IMAGE"
    model.meta.useafter = Time("2021-01-01T00:00:00")
    model.save(folder / name)
    return folder / name


def _broken_schema(good: Path, name: str) -> Path:
    """The same file with a number where the schema wants the exposure type's name (same length)."""
    raw = good.read_bytes()
    assert raw.count(b"type: WFI_IMAGE") >= 1
    (good.parent / name).write_bytes(raw.replace(b"type: WFI_IMAGE", b"type: 123456789"))
    return good.parent / name


def test_a_valid_roman_reference_passes_and_one_breaking_its_schema_fails_as_in_the_library(
        roman_context, tmp_path):
    good = _dark(tmp_path, "good_dark.asdf")
    bad = _broken_schema(good, "bad_dark.asdf")
    report = certify_files([bad, good], roman_context, compare_old_reference=True)
    server = {name: {"errors": r.errors, "warnings": r.warnings} for name, r in report.files.items()}
    library = run_crds_certify([bad, good], roman_context, observatory="roman")
    server = {n: {k: [normal(t, [str(tmp_path) + "/"], n) for t in v] for k, v in r.items()}
              for n, r in server.items()}
    assert_same(server, library, ["good_dark.asdf", "bad_dark.asdf"])
    assert server["good_dark.asdf"]["errors"] == []
    assert any("is not of type 'string'" in e for e in server["bad_dark.asdf"]["errors"])
    checks = {c["check"]: c for c in report.checks}
    assert checks["data models"]["ran"] and "roman_datamodels 1." in checks["data models"]["detail"]
    assert "rad 1." in checks["data models"]["detail"]
