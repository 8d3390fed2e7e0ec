"""Preparing submissions: certify, rename, stage, new rules and diffs, store untouched."""

from __future__ import annotations

import datetime
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from astropy.io import fits
from crds.core import rmap
from django.conf import settings

from crds_server.catalog.models import File
from crds_server.submissions import naming
from crds_server.submissions.errors import SubmissionError
from crds_server.submissions.processing import Prepared, certify_files, prepare_submission

DARK_RMAP = "hst_acs_darkfile_0001.rmap"


def demo_reference(demo_cache, rmap_name: str = DARK_RMAP, index: int = 0) -> Path:
    """The path of reference `index` of a demo rmap."""
    mapping = rmap.load_mapping(str(demo_cache.path / "mappings" / "hst" / rmap_name))
    return demo_cache.path / "references" / "hst" / mapping.reference_names()[index]


def new_reference(demo_cache, ingest: Path, name: str, useafter: str = "Jan 01 2005 00:00:00",
                  rmap_name: str = DARK_RMAP, **keywords: str) -> Path:
    """A valid new reference: a demo reference's keywords with another USEAFTER, as `name`.

    Demo references carry their NAXISn match values as plain keywords; a
    real FITS header cannot, so they are left out.
    """
    source = fits.getheader(demo_reference(demo_cache, rmap_name))
    hdu = fits.PrimaryHDU()
    for key, value in source.items():
        if key not in ("SIMPLE", "BITPIX", "EXTEND", "COMMENT", "HISTORY") and not key.startswith("NAXIS"):
            hdu.header[key] = value
    hdu.header["USEAFTER"] = useafter
    for key, value in keywords.items():
        hdu.header[key] = value
    ingest.mkdir(exist_ok=True)
    path = ingest / name
    hdu.writeto(path)
    return path


def store_listing() -> dict[str, tuple[int, float]]:
    root = Path(settings.FILE_CACHE)
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime)
            for p in root.rglob("*") if p.is_file()}


def catalog_names(name: str) -> bool:
    return File.objects.filter(name=name).exists()


def catalog_sha1(sha1: str) -> str | None:
    return File.objects.filter(sha1sum=sha1).values_list("name", flat=True).first()


def prepare(files, staging, derive_from, kind="batch", auto_rename=True, name_taken=catalog_names,
            lines=None, **extra):
    sink = (lambda kind, text: lines.append((kind, text))) if lines is not None else (lambda k, t: None)
    return prepare_submission(
        files=files, derive_from=derive_from, staging=staging, kind=kind, auto_rename=auto_rename,
        description="A test delivery", change_level="SEVERE", creator="Tess Ter", user="tester",
        name_taken=name_taken, sha1_known=catalog_sha1, log=sink, **extra)


@dataclass
class OneFile:
    """One prepared single-reference submission, shared by the tests that only read it."""

    result: Prepared
    upload: Path
    upload_bytes: bytes
    staging: Path
    lines: list[tuple[str, str]]
    store_before: dict
    store_after: dict


@pytest.fixture(scope="module")
def one_file(_demo_imported, demo_cache, django_db_blocker, tmp_path_factory) -> OneFile:
    """A new ACS dark prepared once per module (the preparation takes seconds)."""
    base = tmp_path_factory.mktemp("one-file")
    upload = new_reference(demo_cache, base / "ingest", "my_dark.fits")
    upload_bytes = upload.read_bytes()
    lines: list[tuple[str, str]] = []
    with django_db_blocker.unblock():
        before = store_listing()
        result = prepare([upload], base / "staging", demo_cache.context, lines=lines)
        after = store_listing()
    return OneFile(result, upload, upload_bytes, base / "staging", lines, before, after)


@pytest.fixture
def ingest(tmp_path):
    return tmp_path / "ingest"


@pytest.fixture
def staging(tmp_path):
    return tmp_path / "staging"


def test_it_renames_inserts_and_generates_checksummed_rules(one_file):
    result, staging, lines = one_file.result, one_file.staging, one_file.lines

    official = result.renamed["my_dark.fits"]
    assert official != "my_dark.fits" and official.endswith("j_drk.fits")
    assert result.new_references == [official]
    assert fits.getheader(staging / official)["FILENAME"] == official
    assert one_file.upload.read_bytes() == one_file.upload_bytes
    assert result.replaced_rmaps == {DARK_RMAP: "hst_acs_darkfile_0002.rmap"}
    assert result.new_context == "hst_0002.pmap"
    assert set(result.new_mappings) == {"hst_acs_darkfile_0002.rmap", "hst_acs_0002.imap", "hst_0002.pmap"}
    for name in result.new_mappings:  # checksums verify; name and derived_from are right
        mapping = rmap.Mapping.from_file(str(staging / name))
        assert mapping.header["name"] == name
    new_rmap = rmap.load_mapping(str(staging / "hst_acs_darkfile_0002.rmap"))
    assert official in new_rmap.reference_names()
    assert new_rmap.header["derived_from"] == DARK_RMAP
    assert "hst_acs_darkfile_0002.rmap" in (staging / "hst_acs_0002.imap").read_text()
    assert "hst_acs_0002.imap" in (staging / "hst_0002.pmap").read_text()
    assert rmap.Mapping.from_file(str(staging / "hst_0002.pmap")).header["derived_from"] == "hst_0001.pmap"
    assert ("log_message", f"Renamed 'my_dark.fits' -> '{official}'") in lines
    assert any("Generated 'hst_0002.pmap'" in text for _, text in lines)
    assert result.certify.ok and not result.warnings


def test_the_new_rmap_selects_the_new_file_for_a_matching_header(one_file, demo_cache):
    official, staging = one_file.result.new_references[0], one_file.staging
    source = fits.getheader(demo_reference(demo_cache))
    new_rmap = rmap.load_mapping(str(staging / "hst_acs_darkfile_0002.rmap"))
    header = {key: source[key] for key in ("DETECTOR", "CCDAMP", "CCDGAIN")}
    header["TIME-OBS"] = "00:00:00"
    assert new_rmap.get_best_ref(dict(header, **{"DATE-OBS": "2006-01-01"})) == official
    assert new_rmap.get_best_ref(dict(header, **{"DATE-OBS": "2000-01-01"})) != official


def test_the_new_mappings_certify_and_the_whole_new_context_loads_from_staging(one_file, tmp_path):
    result, staging = one_file.result, one_file.staging
    rmap_result = result.certify.files["hst_acs_darkfile_0002.rmap"]
    assert rmap_result.status in ("OK", "Warnings") and not rmap_result.errors
    assert any("Certifying 'hst_acs_darkfile_0002.rmap'" in m for m in rmap_result.messages)
    view = tmp_path / "view"  # the old context's mappings plus the new ones, loaded by path
    shutil.copytree(settings.FILE_CACHE / "mappings" / "hst", view)
    for name in result.new_mappings:
        shutil.copy(staging / name, view / name)
    pmap = rmap.load_mapping("hst_0002.pmap", path=str(view))
    assert result.new_references[0] in pmap.reference_names()


def test_it_reports_logical_and_text_diffs_of_every_changed_mapping(one_file):
    result = one_file.result
    official = result.new_references[0]
    pairs = [(d["old"], d["new"]) for d in result.diffs]
    assert pairs == [(DARK_RMAP, "hst_acs_darkfile_0002.rmap"), ("hst_acs_0001.imap", "hst_acs_0002.imap"),
                     ("hst_0001.pmap", "hst_0002.pmap")]
    rmap_diff = result.diffs[0]
    assert [row["action"] for row in rmap_diff["logical"]] == ["add"]
    assert official in rmap_diff["logical"][0]["text"] and "/" not in rmap_diff["logical"][0]["text"]
    assert f"+        '2005-01-01 00:00:00' : '{official}'," in rmap_diff["text"]
    assert any("replaced" in row["text"] for row in result.diffs[2]["logical"])


def test_it_records_metadata_for_every_new_file_and_serialises_to_json(one_file):
    import json

    result, staging = one_file.result, one_file.staging
    assert set(result.metadata) == set(result.new_references + result.new_mappings)
    ref = result.metadata[result.new_references[0]]
    assert ref["type"] == "reference" and ref["instrument"] == "acs" and ref["filekind"] == "darkfile"
    assert ref["useafter_date"].year == 2005 and ref["uploaded_as"] == "my_dark.fits"
    assert ref["pedigree"].startswith("INFLIGHT") and ref["creator_name"] == "Tess Ter"
    assert ref["size"] == (staging / result.new_references[0]).stat().st_size
    assert result.metadata["hst_0002.pmap"]["derived_from"] == "hst_0001.pmap"
    assert result.metadata["hst_acs_darkfile_0002.rmap"]["filekind"] == "darkfile"
    data = json.loads(json.dumps(result.to_json()))
    assert data["metadata"][result.new_references[0]]["useafter_date"].startswith("2005-01-01")
    assert data["certify"]["ok"] is True


def test_names_said_to_be_taken_are_not_used(demo_catalog, one_file, staging):
    first = one_file.result
    taken = {first.new_references[0], "hst_acs_darkfile_0002.rmap", "hst_acs_0002.imap", "hst_0002.pmap"}
    second = prepare([one_file.upload], staging, demo_catalog.context,
                     name_taken=lambda name: name in taken or catalog_names(name))
    assert second.new_references[0] not in taken
    assert second.replaced_rmaps[DARK_RMAP] == "hst_acs_darkfile_0003.rmap"
    assert second.new_context == "hst_0003.pmap"
    pmap = rmap.Mapping.from_file(str(staging / "hst_0003.pmap"))
    assert pmap.header["derived_from"] == "hst_0001.pmap"


def test_three_references_of_two_types_make_two_new_rmaps_in_one_context(demo_catalog, ingest, staging):
    files = [new_reference(demo_catalog, ingest, "dark1.fits", "Jan 01 2005 00:00:00"),
             new_reference(demo_catalog, ingest, "dark2.fits", "Jan 01 2007 00:00:00"),
             new_reference(demo_catalog, ingest, "flash.fits", rmap_name="hst_acs_flshfile_0001.rmap")]
    result = prepare(files, staging, demo_catalog.context, kind="references")
    assert len(set(result.new_references)) == 3
    assert set(result.replaced_rmaps) == {DARK_RMAP, "hst_acs_flshfile_0001.rmap"}
    imap = (staging / "hst_acs_0002.imap").read_text()
    assert all(new in imap for new in result.replaced_rmaps.values())
    assert len([n for n in result.new_mappings if n.endswith(".imap")]) == 1


def test_without_auto_rename_it_keeps_the_name_but_refuses_a_taken_one(demo_catalog, ingest, staging):
    upload = new_reference(demo_catalog, ingest, "0z00000aj_drk.fits")
    result = prepare([upload], staging / "a", demo_catalog.context, auto_rename=False)
    assert result.new_references == ["0z00000aj_drk.fits"]
    assert (staging / "a" / "0z00000aj_drk.fits").read_bytes() == upload.read_bytes()
    taken = demo_reference(demo_catalog).name
    shutil.copy(upload, ingest / taken)
    with pytest.raises(SubmissionError, match=taken):
        prepare([ingest / taken], staging / "b", demo_catalog.context, auto_rename=False)


def test_a_file_identical_to_a_catalogued_one_is_refused(demo_catalog, ingest, staging):
    ingest.mkdir()
    copy = shutil.copy(demo_reference(demo_catalog, "hst_acs_darkfile_0001.rmap"), ingest / "again.fits")
    with pytest.raises(SubmissionError, match="identical"):
        prepare([Path(copy)], staging, demo_catalog.context, kind="references")


def test_two_identical_uploads_are_refused(demo_catalog, ingest, staging):
    one = new_reference(demo_catalog, ingest, "one.fits")
    two = Path(shutil.copy(one, ingest / "two.fits"))
    with pytest.raises(SubmissionError, match="'two.fits' is identical to 'one.fits'"):
        prepare([one, two], staging, demo_catalog.context)


@pytest.mark.parametrize("breakage, check", [
    ("truncated", "corrupt FITS"),
    ("missing keyword", "Missing required keyword 'CCDAMP'"),
    ("bad value", "Checking 'DETECTOR'"),
])
def test_a_broken_file_is_refused_naming_the_file_and_check(demo_catalog, ingest, staging, breakage, check):
    good = new_reference(demo_catalog, ingest, "good.fits")
    if breakage == "truncated":
        broken = ingest / "broken.fits"
        broken.write_bytes(good.read_bytes()[:2000])
    elif breakage == "missing keyword":
        broken = new_reference(demo_catalog, ingest, "broken.fits", "Jan 01 2009 00:00:00")
        with fits.open(broken, mode="update") as hdus:
            del hdus[0].header["CCDAMP"]
    else:
        broken = new_reference(demo_catalog, ingest, "broken.fits", DETECTOR="BROKEN")
    before = store_listing()
    with pytest.raises(SubmissionError) as caught:
        prepare([good, broken], staging, demo_catalog.context)
    assert "broken.fits" in str(caught.value) and check in str(caught.value)
    report = caught.value.report
    assert report.files["good.fits"].status != "ERRORS" and report.files["broken.fits"].status == "ERRORS"
    assert not staging.exists() or not list(staging.iterdir())
    assert store_listing() == before


def test_certify_files_reports_per_file_and_changes_nothing(demo_catalog, ingest):
    good = new_reference(demo_catalog, ingest, "good.fits")
    bad = new_reference(demo_catalog, ingest, "bad.fits", "Jan 01 2009 00:00:00", DETECTOR="BROKEN")
    before = store_listing()
    report = certify_files([good, bad], demo_catalog.context)
    assert not report.ok
    assert report.files["good.fits"].errors == []
    assert any("'bad.fits'" in err and "DETECTOR" in err for err in report.files["bad.fits"].errors)
    assert "acs darkfile rmap update" in report.files
    again = certify_files([good], demo_catalog.context)  # no errors leak from the call before
    assert again.ok
    assert store_listing() == before


def test_two_uploads_with_identical_match_cases_fail_the_trial_rmap_update(demo_catalog, ingest):
    one = new_reference(demo_catalog, ingest, "one.fits")
    two = new_reference(demo_catalog, ingest, "two.fits", DESCRIP="another file, same case")
    report = certify_files([one, two], demo_catalog.context)
    assert not report.ok
    assert any("identically match" in err for err in report.files["acs darkfile rmap update"].errors)


def test_the_servers_store_is_unchanged_by_a_preparation(one_file):
    assert one_file.store_after == one_file.store_before


def test_a_mappings_submission_of_an_edited_rmap_generates_imap_and_pmap(demo_catalog, ingest, staging):
    ingest.mkdir()
    source = settings.FILE_CACHE / "mappings" / "hst" / DARK_RMAP
    edited = ingest / DARK_RMAP  # downloaded and edited by hand: checksum now stale
    other = demo_reference(demo_catalog, index=1).name
    text = source.read_text().replace("'1998-10-01 00:00:00' : ", "'1997-10-01 00:00:00' : ")
    edited.write_text(text)
    lines: list[tuple[str, str]] = []
    result = prepare([edited], staging, demo_catalog.context, kind="mappings", lines=lines)
    assert result.renamed == {DARK_RMAP: "hst_acs_darkfile_0002.rmap"}
    assert result.replaced_rmaps == {DARK_RMAP: "hst_acs_darkfile_0002.rmap"}
    assert result.new_context == "hst_0002.pmap"
    new_rmap = rmap.load_mapping(str(staging / "hst_acs_darkfile_0002.rmap"))
    assert new_rmap.header["derived_from"] == DARK_RMAP
    assert other in new_rmap.reference_names()
    assert "hst_acs_darkfile_0002.rmap" in (staging / "hst_acs_0002.imap").read_text()
    assert any("sha1sum" in w for w in result.warnings)
    assert [row["action"] for row in result.diffs[0]["logical"]] != []


def test_a_mappings_submission_refers_only_to_files_in_crds(demo_catalog, ingest, staging):
    ingest.mkdir()
    source = settings.FILE_CACHE / "mappings" / "hst" / DARK_RMAP
    other = demo_reference(demo_catalog, index=1).name
    (ingest / DARK_RMAP).write_text(source.read_text().replace(other, "0z99999zj_drk.fits"))
    with pytest.raises(SubmissionError, match="0z99999zj_drk.fits"):
        prepare([ingest / DARK_RMAP], staging, demo_catalog.context, kind="mappings")
    assert not list(staging.iterdir())


def test_without_generate_contexts_references_are_staged_without_new_rules(demo_catalog, ingest, staging):
    result = prepare([new_reference(demo_catalog, ingest, "my_dark.fits")], staging,
                     demo_catalog.context, kind="references", generate_contexts=False)
    assert result.new_references and not result.new_mappings and result.new_context == ""
    assert sorted(os.listdir(staging)) == result.new_references


def test_one_and_three_file_preparations_take_seconds_not_minutes(demo_catalog, ingest, staging):
    one = [new_reference(demo_catalog, ingest, "t1.fits")]
    start = time.monotonic()
    prepare(one, staging / "one", demo_catalog.context)
    single = time.monotonic() - start
    three = [new_reference(demo_catalog, ingest, f"t{n}.fits", f"Jan 01 {2005 + n} 00:00:00")
             for n in range(2, 5)]
    start = time.monotonic()
    prepare(three, staging / "three", demo_catalog.context)
    triple = time.monotonic() - start
    print(f"\nprepare_submission: 1 file {single:.2f}s, 3 files {triple:.2f}s")
    assert single < 30 and triple < 60


def test_jwst_references_get_the_next_free_serial_name(tmp_path):
    hdu = fits.PrimaryHDU()
    hdu.header.update(TELESCOP="JWST", INSTRUME="MIRI", REFTYPE="DARK")
    hdu.writeto(tmp_path / "my_dark.fits")
    taken = {"jwst_miri_dark_0001.fits", "jwst_miri_dark_0002.fits"}
    now = datetime.datetime.now()
    name = naming.reference_name(tmp_path / "my_dark.fits", "jwst", taken.__contains__, now)
    assert name == "jwst_miri_dark_0003.fits"


def test_mapping_names_continue_their_series_past_taken_names():
    free = lambda name: False  # noqa: E731
    assert naming.next_mapping_name("hst_acs_darkfile_0007.rmap", free) == "hst_acs_darkfile_0008.rmap"
    assert naming.next_mapping_name("jwst_0099.pmap", {"jwst_0100.pmap"}.__contains__) == "jwst_0101.pmap"
    assert naming.next_mapping_name("hst_cos_newtype.rmap", free) == "hst_cos_newtype_0001.rmap"
