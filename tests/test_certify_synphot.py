"""A SYNPHOT delivery regenerates the TMC/TMT lookup tables and runs the library's integration tests.

The demo's SYNPHOT references are header-only; each test makes stand-in
tables in their place (graph, lookup tables, component tables of two
components, demo1 and demo2) and restores the demo files afterwards.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from crds.core import rmap
from django.conf import settings

from crds_server.submissions import ingest
from crds_server.submissions.models import Submission
from tests.submitting import persona, run

COMPONENTS = ["demo1", "demo2"]


def _store(name: str) -> Path:
    return Path(settings.FILE_CACHE) / "references" / "hst" / name


def _names(filekind: str) -> list[str]:
    path = Path(settings.FILE_CACHE) / "mappings" / "hst" / f"hst_synphot_{filekind}_0001.rmap"
    return rmap.load_mapping(str(path)).reference_names()


def _write(path: Path, header: fits.Header, columns: list[fits.Column]) -> None:
    temp = path.with_name(f".stand-in-{path.name}")  # a new inode: never the demo cache's file
    fits.HDUList([fits.PrimaryHDU(header=header), fits.BinTableHDU.from_columns(columns)]).writeto(temp)
    temp.replace(path)


def _text(name: str, values: list[str], width: int = 68) -> fits.Column:
    return fits.Column(name, f"{width}A", array=np.array(values))


def _component(path: Path, header: fits.Header, compname: str) -> None:
    header = header.copy()
    header["COMPNAME"], header["DATE"] = compname, "2024-01-01"
    header["DESCRIP"] = f"Stand-in throughput of {compname}"
    header["HISTORY"] = "A stand-in component table made by the tests."
    _write(path, header, [fits.Column("WAVELENGTH", "D", array=np.linspace(1000.0, 2000.0, 5)),
                          fits.Column("THROUGHPUT", "D", array=np.full(5, 0.5))])


@pytest.fixture
def synphot_store(demo_catalog):
    """Stand-in SYNPHOT tables in the store for demo1 and demo2: {filekind: [names]}."""
    kinds = {k: _names(k) for k in ("tmgtab", "tmctab", "tmttab", "thruput", "thermal")}
    saved = {name: _store(name).read_bytes() for names in kinds.values() for name in names}
    headers = {name: fits.getheader(_store(name)) for name in saved}
    graph, = kinds["tmgtab"]
    _write(_store(graph), headers[graph], [_text("COMPNAME", COMPONENTS, 18),
                                           _text("THCOMPNAME", COMPONENTS, 18)])
    for lookup, component in (("tmctab", "thruput"), ("tmttab", "thermal")):
        table, = kinds[lookup]
        files = [f"crnonhstcomp${name}" for name in kinds[component]]
        headers[table]["HISTORY"] = "A stand-in lookup table made by the tests."
        _write(_store(table), headers[table], [
            _text("TIME", ["Jan 01 2020 00:00:00"] * 2, 26), _text("COMPNAME", COMPONENTS, 18),
            _text("FILENAME", files, 56), _text("COMMENT", ["stand-in"] * 2)])
        for name, compname in zip(kinds[component], COMPONENTS, strict=True):
            _component(_store(name), headers[name], compname)
    yield kinds
    for name, content in saved.items():
        temp = _store(name).with_name(f".restore-{name}")
        temp.write_bytes(content)
        temp.replace(_store(name))


@pytest.fixture
def maggie(demo_catalog):
    """A submitter holding the SYNPHOT lock."""
    user = persona("maggie", instrument="synphot")
    yield user
    shutil.rmtree(ingest.ingest_dir(user), ignore_errors=True)


def _deliver(user, synphot_store, compname: str, name: str) -> Path:
    folder = ingest.ingest_dir(user, create=True)
    header = fits.getheader(_store(synphot_store["thruput"][0]))
    _component(folder / name, header, compname)
    return folder / name


def _table(submission: Submission, name: str) -> fits.FITS_rec:
    from crds_server.submissions.actions import work_dir

    with fits.open(work_dir(submission.id) / "staging" / name) as hdus:
        return hdus[-1].data.copy()


def test_a_throughput_delivery_regenerates_the_tmc_and_passes_the_integration_tests(maggie, synphot_store):
    _deliver(maggie, synphot_store, "demo1", "demo1_002_syn.fits")
    submission = run(maggie, "synphot", "batch")
    assert submission.status == Submission.READY, submission.error
    result = submission.result
    assert result["renamed"]["demo1_002_syn.fits"] == "demo1_002_syn.fits"  # never renamed
    lookups = [n for n in result["new_references"] if n.endswith("_tmc.fits")]
    assert len(lookups) == 1 and lookups[0] not in synphot_store["tmctab"]
    table = _table(submission, lookups[0])
    rows = dict(zip(table["COMPNAME"], table["FILENAME"], strict=True))
    assert rows == {"demo1": "crnonhstcomp$demo1_002_syn.fits",
                    "demo2": f"crnonhstcomp${synphot_store['thruput'][1]}"}
    assert not [n for n in result["new_references"] if n.endswith("_tmt.fits")]  # no thermal delivered
    assert any(lookups[0] in str(diff["logical"]) for diff in result["diffs"])  # it replaces the old TMC
    report = result["certify"]
    assert report["files"]["SYNPHOT integration tests"]["errors"] == []
    assert report["files"][lookups[0]]["errors"] == []
    checks = {c["check"]: c for c in report["checks"]}
    assert checks["synphot core tests"]["ran"] is True
    try:
        import stsynphot  # noqa: F401
    except ImportError:
        assert checks["synphot observation modes"]["ran"] is False
        assert "stsynphot is not installed" in checks["synphot observation modes"]["detail"]


def test_a_component_the_graph_does_not_know_fails_the_integration_tests(maggie, synphot_store):
    _deliver(maggie, synphot_store, "demo3", "demo3_001_syn.fits")
    submission = run(maggie, "synphot", "batch")
    assert submission.status == Submission.FAILED
    assert "missing from TMG COMPNAME: demo3" in submission.error


def test_the_results_page_shows_the_integration_tests_and_what_did_not_run(maggie, synphot_store, client):
    _deliver(maggie, synphot_store, "demo2", "demo2_002_syn.fits")
    submission = run(maggie, "synphot", "batch")
    assert submission.status == Submission.READY, submission.error
    client.force_login(maggie)
    body = client.get(f"/display_result/{submission.id}").content.decode()
    assert "SYNPHOT integration tests" in body and 'data-check="synphot core tests"' in body
    assert 'data-check="synphot observation modes"' in body
