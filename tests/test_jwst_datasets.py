"""JWST dataset ids in every form the client and the archive use, answered one by one."""

from __future__ import annotations

import json

import pytest

from crds_server.datasets import placing
from crds_server.datasets.actions import answer_headers, find_headers, import_datasets
from crds_server.datasets.errors import UnplacedDataset

EXPOSURE = "JW01234001001_02101_00001.NRCA1"
HEADER = {"META.INSTRUMENT.NAME": "NIRCAM", "META.INSTRUMENT.DETECTOR": "NRCA1",
          "META.OBSERVATION.DATE": "2023-01-02", "META.OBSERVATION.TIME": "03:04:05"}


@pytest.fixture
def jwst_datasets(db, settings, tmp_path):
    settings.OBSERVATORY = "jwst"
    path = tmp_path / "jwst.jsonl"
    line = {"id": f"{EXPOSURE}:{EXPOSURE}", "instrument": "NIRCAM", "header": HEADER}
    path.write_text(json.dumps(line) + "\n")
    import_datasets(path)


@pytest.mark.parametrize("ident", [
    EXPOSURE, EXPOSURE.lower(), f"{EXPOSURE}:{EXPOSURE}",
    "jw01234001001_02101_00001_nrca1", "JW01234001001_02101_00001_NRCA1",
    "jw01234001001_02101_00001_nrca1:jw01234001001_02101_00001_nrca1",
])
def test_every_jwst_id_form_finds_the_exposure_under_its_compound_id(jwst_datasets, ident):
    assert answer_headers([ident]) == {f"{EXPOSURE}:{EXPOSURE}": HEADER}


def test_an_unknown_jwst_exposure_of_a_known_detector_is_answered_alone(jwst_datasets):
    other = "jw09999001001_02101_00001_mirimage"
    assert answer_headers([EXPOSURE, other]) == {
        f"{EXPOSURE}:{EXPOSURE}": HEADER,
        "JW09999001001_02101_00001.MIRIMAGE:JW09999001001_02101_00001.MIRIMAGE":
            "NOT FOUND dataset ID does not exist 'JW09999001001_02101_00001.MIRIMAGE'",
    }


def test_an_id_naming_no_jwst_detector_or_instrument_fails_the_call(jwst_datasets):
    with pytest.raises(UnplacedDataset, match="Can't determine instrument for dataset 'BAR'"):
        answer_headers([EXPOSURE, "bar"])


def test_bestrefs_lookups_see_the_underscore_form_too(jwst_datasets):
    found, missing = find_headers(["jw01234001001_02101_00001_nrca1", "nonsense:a:b"])
    assert list(found) == [f"{EXPOSURE}:{EXPOSURE}"] and missing == ["NONSENSE:A:B"]


def test_detectors_come_from_the_librarys_constraints(settings):
    settings.OBSERVATORY = "jwst"
    assert placing.instrument_of("JW1_2_3.NRS2") == "NIRSPEC"
    assert placing.instrument_of("JW1_2_3.GUIDER1") == "FGS"
    assert placing.instrument_of("JW1_2_3.NOSUCH") is None


def test_the_rpc_answers_jwst_archive_forms_on_a_jwst_server(rpc, jwst_demo_catalog):
    dataset = jwst_demo_catalog.datasets[0]
    underscored = dataset["id"].split(":")[0].replace(".", "_").lower()  # jw…_00001_<detector>
    ids = [underscored, "jw09999001001_02101_00001_nrs1"]
    result = rpc("get_dataset_headers_by_id", "jwst-latest", ids, None)
    assert result[dataset["id"]] == dataset["header"]
    assert result["JW09999001001_02101_00001.NRS1:JW09999001001_02101_00001.NRS1"].startswith("NOT FOUND")
    assert rpc.error("get_dataset_headers_by_id", "jwst-latest", [underscored, "bar"], None) == (
        "OtherError: Can't determine instrument for dataset 'BAR'")
