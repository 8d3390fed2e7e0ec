"""Every kind of JWST demo reference certifies with the `crds` library (`crds.certify.certify_file`).

Certifying all 630 demo references takes about 85 s (the library opens each with the JWST data
models), so one reference of each (instrument, type) is certified, 315 files in about 40 s: both
references of a type are written from the same constraints and differ only in selection values.
"""

from __future__ import annotations

from crds_server.submissions.certify import FileResult, certify_one


def _one_per_type(ref_dir):
    """The first reference of every (instrument, type), by name: jwst_<instrument>_<type>_NNNN."""
    first: dict[str, object] = {}
    for path in sorted(ref_dir.iterdir()):
        first.setdefault(path.name.rsplit("_", 1)[0], path)
    return list(first.values())


def test_every_jwst_demo_reference_type_certifies_with_the_library(jwst_demo_catalog):
    ref_dir = jwst_demo_catalog.path / "references" / "jwst"
    paths = _one_per_type(ref_dir)
    assert len(paths) > 300  # every instrument's every type, not a sample
    failures = {}
    for path in paths:
        result = FileResult(path.name)
        certify_one(path, jwst_demo_catalog.context, result)
        if result.errors:
            failures[path.name] = result.errors
    assert failures == {}


def test_full_frame_arrays_are_written_only_where_the_constraints_require_them(jwst_demo_catalog):
    ref_dir = jwst_demo_catalog.path / "references" / "jwst"
    large = sorted({p.name.rsplit("_", 1)[0] for p in ref_dir.iterdir() if p.stat().st_size > 5_000_000})
    # NIRSpec DFLAT and TRAPDENSITY: (SCI_ARRAY.SHAPE[-2:]==(2048,2048)) applies to every file.
    assert large == ["jwst_nirspec_dflat", "jwst_nirspec_trapdensity"]
