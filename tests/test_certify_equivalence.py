"""The server certifies as `crds certify --comparison-context=CTX --run-fitsverify` does, file for file.

Each test puts files in a submitter's ingest area, runs a Certify Files
submission in-process (as the job consumer would) and compares its report
with the library's own command run on the same files against the same
store: the same verdict, the same errors, the same warnings.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from django.conf import settings

from crds_server.submissions import fitsverify, ingest
from crds_server.submissions.models import Submission
from tests.certifying import run_crds_certify, server_view
from tests.live import CORPUS
from tests.submitting import COS_KEYWORDS, persona, put_in_ingest, run

pytestmark = pytest.mark.skipif(not fitsverify.path(), reason="fitsverify is not installed")

WCP_OLD = "01100034l_wcp.fits"  # the demo's COS WCPTAB for FUV SPECTROSCOPIC


@pytest.fixture
def bart(demo_catalog):
    """A submitter; certification needs no lock."""
    user = persona("bart")
    yield user
    shutil.rmtree(ingest.ingest_dir(user), ignore_errors=True)


def certify_both(user, context: str = "", **form: str) -> tuple[Submission, dict, dict]:
    """The server's Certify Files report and `crds certify`'s, for the user's ingest area."""
    files = sorted(ingest.ingest_dir(user).iterdir())
    submission = run(user, "none", "certify", compare_old_reference="True",
                     comparison_context=context, **form)
    assert submission.result, submission.error
    compared = submission.result["certify"]["context"]
    return submission, server_view(submission.result["certify"]), run_crds_certify(files, compared)


def assert_same(server: dict, library: dict, names: list[str]) -> None:
    """The same errors and the same warnings for each file, each message once.

    How often the library repeats one warning of a dependency (astropy warns on
    every read of a broken file) depends on what the process read before; which
    messages it gives does not.
    """
    for name in names:
        assert name in library, f"crds certify did not certify {name}: {sorted(library)}"
        mine = {kind: list(dict.fromkeys(map(_verdict, texts))) for kind, texts in server[name].items()}
        theirs = {kind: list(dict.fromkeys(map(_verdict, texts))) for kind, texts in library[name].items()}
        assert mine == theirs, (name, json.dumps(mine, indent=1), json.dumps(theirs, indent=1))


_NOT_OBTAINED = "Failed to obtain reference comparison file "


def _verdict(text: str) -> str:
    """A message as it bears on the file.  When the file a table would be compared with is not
    in the store, the library tries to download it and names the error of that attempt, which
    depends on how the process reaches a server (the server's own test process and a
    serverless script fail differently), not on the file: that reason is dropped."""
    if text.startswith(_NOT_OBTAINED) and " : " in text:
        return text.split(" : ", 1)[0]
    return text


def _truncated(folder: Path, source: Path, name: str) -> Path:
    data = source.read_bytes()
    (folder / name).write_bytes(data[: len(data) - 1000])
    return folder / name


def _bad_checksum(folder: Path, source: Path, name: str) -> Path:
    """A valid table whose CHECKSUM/DATASUM no longer match its bytes (one value edited after)."""
    with fits.open(source) as hdus:
        hdus.writeto(folder / name, checksum=True)
    raw = bytearray((folder / name).read_bytes())
    at = raw.index(b"DESCRIP = '") + 11
    raw[at:at + 4] = b"XXXX"
    (folder / name).write_bytes(bytes(raw))
    return folder / name


def _wcp_table(header: fits.Header, modes: list[str], path: Path) -> Path:
    """A COS WCPTAB (row key OPT_ELEM) with one row per mode and the keywords certify wants."""
    primary = fits.PrimaryHDU(header=header)
    for key, value in COS_KEYWORDS.items():
        primary.header[key] = value
    n = len(modes)
    table = fits.BinTableHDU.from_columns([
        fits.Column("OPT_ELEM", "8A", array=np.array(modes)),
        fits.Column("XC_RANGE", "J", array=np.full(n, 57)),
        fits.Column("RESWIDTH", "D", array=np.full(n, 3.0)),
        fits.Column("MAX_TIME_DIFF", "D", array=np.full(n, 0.067)),
        fits.Column("STEPSIZE", "J", array=np.full(n, 52)),
        fits.Column("XD_RANGE", "J", array=np.full(n, 40)),
        fits.Column("BOX", "J", array=np.full(n, 13)),
    ])
    fits.HDUList([primary, table]).writeto(path, overwrite=True)
    return path


def test_demo_files_and_broken_ones_get_the_library_s_verdict_and_messages(bart, demo_catalog):
    folder = ingest.ingest_dir(bart, create=True)
    good = put_in_ingest(demo_catalog, bart, "my_dark.fits")
    put_in_ingest(demo_catalog, bart, "broken_dark.fits", useafter="Jan 02 2005 00:00:00",
                  DETECTOR="BROKEN")
    _truncated(folder, good, "cut_dark.fits")  # cut in its header: the library cannot read it
    store = Path(settings.FILE_CACHE) / "references" / "hst" / WCP_OLD
    table = _wcp_table(fits.getheader(store), ["G130M", "G160M"] * 20, folder / "table.fits")
    _truncated(folder, table, "cut_wcp.fits")  # cut in its table: astropy warns, fitsverify refuses
    table.unlink()
    submission, server, library = certify_both(bart)
    assert_same(server, library, ["my_dark.fits", "broken_dark.fits", "cut_dark.fits", "cut_wcp.fits"])
    assert server["my_dark.fits"]["errors"] == []
    assert any("BROKEN" in e for e in server["broken_dark.fits"]["errors"])
    assert any("corrupt" in e for e in server["cut_dark.fits"]["errors"])
    assert any("Fitsverify" in e for e in server["cut_wcp.fits"]["errors"])
    assert any("truncated" in w for w in server["cut_wcp.fits"]["warnings"])
    assert submission.status == Submission.FAILED  # a certification with errors fails


def test_a_bad_fits_checksum_is_an_error_of_fitsverify_as_in_the_library(bart, demo_catalog):
    folder = ingest.ingest_dir(bart, create=True)
    source = Path(settings.FILE_CACHE) / "references" / "hst" / WCP_OLD
    tampered = _wcp_table(fits.getheader(source), ["G130M", "G160M"], folder / "clean_wcp.fits")
    _bad_checksum(folder, tampered, "tampered_wcp.fits")
    tampered.unlink()
    _, server, library = certify_both(bart)
    assert_same(server, library, ["tampered_wcp.fits"])
    assert any("checksum" in e.lower() for e in server["tampered_wcp.fits"]["errors"])


def test_a_table_dropping_modes_of_the_one_it_replaces_warns_as_the_library_does(bart, demo_catalog):
    store = Path(settings.FILE_CACHE) / "references" / "hst" / WCP_OLD
    original = store.read_bytes()
    header = fits.getheader(store)
    folder = ingest.ingest_dir(bart, create=True)
    try:  # the catalogued table becomes a real one with three modes (a new inode: never the demo cache's)
        _wcp_table(header, ["G130M", "G160M", "G140L"], folder / "old.fits")
        (folder / "old.fits").replace(store)
        _wcp_table(header, ["G130M", "G160M"], folder / "fewer_wcp.fits")
        _, server, library = certify_both(bart)
    finally:
        temp = store.with_name(".restore")
        temp.write_bytes(original)
        temp.replace(store)
    assert_same(server, library, ["fewer_wcp.fits"])
    dropped = [w for w in server["fewer_wcp.fits"]["warnings"] if "G140L" in w and "NOT IN" in w]
    assert dropped, server["fewer_wcp.fits"]


def test_without_compare_old_reference_no_table_is_compared_and_the_report_says_so(bart, demo_catalog):
    store = Path(settings.FILE_CACHE) / "references" / "hst" / WCP_OLD
    folder = ingest.ingest_dir(bart, create=True)
    _wcp_table(fits.getheader(store), ["G130M"], folder / "one_wcp.fits")
    submission = run(bart, "none", "certify", compare_old_reference="False")
    report = submission.result["certify"]
    checks = {c["check"]: c for c in report["checks"]}
    assert checks["table comparison"]["ran"] is False
    assert checks["fitsverify"]["ran"] is True and fitsverify.path() in checks["fitsverify"]["detail"]
    assert not any("comparison" in w for w in report["files"]["one_wcp.fits"]["warnings"])


CORPUS_FILES = ["s7g1700gl_dead.fits", "y951738kl_hv.fits", "j4d1435jj_bpx.fits", "v8q14451j_idc.fits",
                "s7g1700gm_dead_broken.fits", "missing_keyword.fits", "x2i1559gl_wcp.fits",
                "truncated.fits"]


@pytest.mark.corpus
def test_the_corpus_submissions_get_the_library_s_verdicts(bart, catalog):
    source = CORPUS / "hst" / "submissions"
    if not (source.is_dir() and (CORPUS / "hst" / "mappings").is_dir()):
        pytest.skip("../shared/corpus is absent")
    mappings = sorted((CORPUS / "hst" / "mappings").iterdir())
    for mapping in mappings:
        catalog.add_file(mapping.name, mapping.read_bytes())
    folder = ingest.ingest_dir(bart, create=True)
    for name in CORPUS_FILES:
        shutil.copy(source / name, folder / name)
    try:
        _, server, library = certify_both(bart, "hst.pmap")
    finally:  # the rows roll back with the test; the store files must go too
        for mapping in mappings:
            (Path(settings.FILE_CACHE) / "mappings" / "hst" / mapping.name).unlink(missing_ok=True)
    assert_same(server, library, CORPUS_FILES)
    clean = CORPUS_FILES[:4]
    assert [n for n in CORPUS_FILES if not server[n]["errors"]] == clean
