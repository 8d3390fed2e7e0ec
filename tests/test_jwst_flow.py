"""JWST end to end on the JWST demo: certify, submit, confirm, and the library selects the new file."""

from __future__ import annotations

import re

import pytest
from crds.core import rmap
from django.conf import settings

from crds_server.demo import server as story
from crds_server.submissions import actions, ingest
from crds_server.submissions.certify import certify_files
from tests.submitting import persona, run


def _replaced_and_dataset(catalog):
    """The story's MIRI flat and a demo dataset whose best flat it is under the demo context."""
    replaced = story.reference_to_replace(catalog.context).name
    ctx = rmap.get_cached_mapping(catalog.context)
    for dataset in catalog.datasets:
        best = ctx.get_best_references(dataset["header"]) if dataset["instrument"] == "MIRI" else {}
        if best.get("flat") == replaced:
            return replaced, dataset["header"]
    raise AssertionError(f"No demo dataset selects {replaced}")


def test_a_submitted_jwst_reference_is_selected_by_the_library_on_the_new_context(jwst_demo_catalog):
    replaced, header = _replaced_and_dataset(jwst_demo_catalog)
    miri = persona("mira", instrument="miri")
    story.new_reference(ingest.ingest_dir(miri, create=True) / "my_flat.fits", jwst_demo_catalog.context,
                        "A new MIRI flat")
    submission = run(miri, instrument="miri")
    assert submission.status == "ready", submission.error
    confirmed = actions.confirm(miri, submission.id)
    new_pmap = confirmed.new_context()
    assert new_pmap == "jwst_0002.pmap"
    new_file = next(n for n in confirmed.result["metadata"] if n.endswith(".fits"))
    assert re.fullmatch(r"jwst_miri_flat_\d{4}\.fits", new_file) and new_file != replaced
    # The library, on the server's store, now picks the new file for that dataset.
    assert rmap.get_cached_mapping(new_pmap).get_best_references(header)["flat"] == new_file
    assert rmap.get_cached_mapping(jwst_demo_catalog.context).get_best_references(header)["flat"] == replaced
    imap = (settings.FILE_CACHE / "mappings" / "jwst" / "jwst_miri_0002.imap").read_text()
    # One spelling of the type, the library's: the new rules replaced the demo's entry.
    assert "'FLAT' : 'jwst_miri_flat_0002.rmap'" in imap
    assert len(re.findall(r"'flat' :", imap, re.IGNORECASE)) == 1


# One of each shape of constraints: images with DQ/ERR, 3-D darks, tables, IPC kernels, fixed
# shapes, ASDF and JSON types with subarray keywords, parameter references.
SAMPLE = ("jwst_miri_flat_0001.fits", "jwst_nircam_dark_0001.fits", "jwst_fgs_apcorr_0001.fits",
          "jwst_nirspec_area_0001.fits", "jwst_niriss_pars-tweakregstep_0001.asdf",
          "jwst_miri_regions_0002.fits", "jwst_nircam_ipc_0001.fits", "jwst_nirspec_barshadow_0001.fits",
          "jwst_niriss_specwcs_0001.asdf", "jwst_miri_specwcs_0001.json", "jwst_miri_cubepar_0001.fits")


@pytest.mark.parametrize("name", SAMPLE)
def test_jwst_demo_references_certify_with_the_library(jwst_demo_catalog, name):
    path = jwst_demo_catalog.path / "references" / "jwst" / name
    report = certify_files([path], jwst_demo_catalog.context)
    assert report.files[name].errors == []


def test_delete_then_add_references_on_jwst_write_rules_the_library_reads(jwst_demo_catalog):
    replaced, header = _replaced_and_dataset(jwst_demo_catalog)
    miri = persona("mira", instrument="miri")
    dropped = run(miri, instrument="miri", kind="delete", deleted_files=replaced)
    assert dropped.status == "ready", dropped.error
    without = actions.confirm(miri, dropped.id).new_context()
    flats = set(rmap.get_cached_mapping(without).get_imap("miri").get_rmap("flat").reference_names())
    assert replaced not in flats and flats
    added = run(miri, instrument="miri", kind="add", added_files=replaced, pmap_mode="pmap_edit")
    assert added.status == "ready", added.error
    restored = actions.confirm(miri, added.id).new_context()
    assert restored != without
    flats_back = rmap.get_cached_mapping(restored).get_imap("miri").get_rmap("flat").reference_names()
    assert replaced in flats_back
