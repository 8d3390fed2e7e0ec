"""JWST references are certified as `crds certify --comparison-context --run-fitsverify` certifies them.

The library opens each JWST reference with the JWST data models (`stdatamodels`,
pinned with `crds`); the server's certification engine (the one every
submission runs) must give the same verdict and messages for a demo
reference and for the same reference with a keyword value its type forbids.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from astropy.io import fits

from crds_server.submissions import fitsverify
from crds_server.submissions.certify import certify_files
from tests.certifying import normal, run_crds_certify
from tests.test_certify_equivalence import assert_same

pytestmark = pytest.mark.skipif(not fitsverify.path(), reason="fitsverify is not installed")


def _demo(jwst_demo_catalog, prefix: str) -> Path:
    ref_dir = jwst_demo_catalog.path / "references" / "jwst"
    return sorted(ref_dir.glob(f"{prefix}_*.fits"))[0]


def test_a_jwst_reference_and_a_broken_copy_get_the_library_s_verdicts(jwst_demo_catalog, tmp_path):
    source = _demo(jwst_demo_catalog, "jwst_miri_dark")
    good = tmp_path / "good_dark.fits"
    good.write_bytes(source.read_bytes())
    with fits.open(source) as hdus:
        hdus[0].header["DETECTOR"] = "BROKEN"
        hdus.writeto(tmp_path / "broken_dark.fits")
    files = [tmp_path / "broken_dark.fits", good]
    report = certify_files(files, jwst_demo_catalog.context, compare_old_reference=True)
    server = {n: {"errors": [normal(t, [str(tmp_path) + "/"], n) for t in r.errors],
                  "warnings": [normal(t, [str(tmp_path) + "/"], n) for t in r.warnings]}
              for n, r in report.files.items()}
    library = run_crds_certify(files, jwst_demo_catalog.context, observatory="jwst")
    assert_same(server, library, ["good_dark.fits", "broken_dark.fits"])
    assert server["good_dark.fits"]["errors"] == []
    assert any("BROKEN" in e for e in server["broken_dark.fits"]["errors"])
    checks = {c["check"]: c for c in report.checks}
    assert checks["data models"]["ran"] and "stdatamodels 6." in checks["data models"]["detail"]
