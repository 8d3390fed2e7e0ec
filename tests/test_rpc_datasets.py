"""Dataset methods: ids per instrument and headers by product, exposure or compound id."""

from __future__ import annotations

import json

import pytest

from crds_server.datasets.actions import import_datasets


def observed(dataset: dict) -> str:
    return f"{dataset['header']['DATE-OBS']} {dataset['header']['TIME-OBS']}"


def acs(demo_catalog) -> list[dict]:
    return [d for d in demo_catalog.datasets if d["instrument"] == "ACS"]


@pytest.fixture
def association(demo_catalog, tmp_path):
    """Product I9ZF01010 with two exposures, observed in 2009 and 2010."""
    header = dict(acs(demo_catalog)[0]["header"])
    lines = [
        {"id": "I9ZF01010:I9ZF01DZQ", "instrument": "WFC3",
         "header": dict(header, INSTRUME="WFC3", **{"DATE-OBS": "2009-12-07", "TIME-OBS": "16:10:34"})},
        {"id": "I9ZF01010:I9ZF01E0Q", "instrument": "WFC3",
         "header": dict(header, INSTRUME="WFC3", **{"DATE-OBS": "2010-01-02", "TIME-OBS": "01:00:00"})},
    ]
    path = tmp_path / "association.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    import_datasets(path)
    return {line["id"]: line["header"] for line in lines}


# get_dataset_ids


@pytest.mark.parametrize("instrument", ["acs", "ACS"])
def test_dataset_ids_are_the_compound_ids_of_an_instrument(rpc, demo_catalog, instrument):
    ids = rpc("get_dataset_ids", "hst-latest", instrument, None)
    assert sorted(ids) == sorted(d["id"] for d in acs(demo_catalog))
    assert all(i.count(":") == 1 for i in ids)


@pytest.mark.parametrize("since", ["1900-01-01 00:00:00", "1900-01-01T00:00:00", "1900-01-01"])
def test_dataset_ids_since_the_beginning_are_all_of_them(rpc, demo_catalog, since):
    assert len(rpc("get_dataset_ids", "hst_0001.pmap", "acs", since)) == len(acs(demo_catalog))


def test_dataset_ids_since_a_date_leave_out_earlier_observations(rpc, demo_catalog):
    stamps = sorted({observed(d) for d in acs(demo_catalog)})
    assert len(stamps) > 1
    cut = stamps[-1]
    for since in (cut, cut.replace(" ", "T")):
        ids = rpc("get_dataset_ids", "hst_0001.pmap", "acs", since)
        assert sorted(ids) == sorted(d["id"] for d in acs(demo_catalog) if observed(d) >= cut)
        assert 0 < len(ids) < len(acs(demo_catalog))


def test_dataset_ids_of_a_bad_since_date_is_an_error(rpc, demo_catalog):
    assert rpc.error("get_dataset_ids", "hst_0001.pmap", "acs", "yesterday").startswith(
        "InvalidDateBasedContext: ")


def test_dataset_ids_check_the_context(rpc, demo_catalog):
    assert rpc.error("get_dataset_ids", "hst_0999.pmap", "acs", None).startswith(
        "UnknownContextError: ")


# get_dataset_headers_by_id


def test_headers_by_compound_id(rpc, demo_catalog):
    dataset = demo_catalog.datasets[0]
    assert rpc("get_dataset_headers_by_id", "hst-latest", [dataset["id"]], None) == {
        dataset["id"]: dataset["header"]}


def test_headers_by_exposure_id_are_keyed_by_compound_id(rpc, association):
    assert rpc("get_dataset_headers_by_id", "hst-latest", ["I9ZF01E0Q"], None) == {
        "I9ZF01010:I9ZF01E0Q": association["I9ZF01010:I9ZF01E0Q"]}


def test_a_product_id_expands_to_all_its_exposures(rpc, association):
    assert rpc("get_dataset_headers_by_id", "hst-latest", ["I9ZF01010"], None) == association


def test_ids_are_matched_whatever_their_case(rpc, association):
    result = rpc("get_dataset_headers_by_id", "hst-latest", ["i9zf01010:i9zf01dzq", "i9zf01e0q"], None)
    assert set(result) == set(association)


def test_headers_since_a_date_leave_out_earlier_exposures(rpc, association):
    result = rpc("get_dataset_headers_by_id", "hst-latest", ["I9ZF01010"], "2010-01-01 00:00:00")
    assert list(result) == ["I9ZF01010:I9ZF01E0Q"]


def test_a_known_id_observed_before_since_is_left_out_not_an_error(rpc, association):
    assert rpc("get_dataset_headers_by_id", "hst-latest", ["I9ZF01DZQ"], "2011-01-01T00:00:00") == {}


def test_an_id_whose_instrument_cannot_be_determined_fails_the_whole_call_as_the_client_expects(
        rpc, demo_catalog):
    known = demo_catalog.datasets[0]["id"]
    message = rpc.error("get_dataset_headers_by_id", "hst-latest", [known, "bar"], None)
    assert message == "OtherError: Can't determine instrument for dataset 'BAR'"


def test_an_unknown_id_of_a_known_instrument_is_answered_alone_and_the_others_still_are(rpc, demo_catalog):
    known = demo_catalog.datasets[0]
    ids = [known["id"], "jzzz99zzq", "J9ZZ99010:J9ZZ99ZZQ"]
    result = rpc("get_dataset_headers_by_id", "hst-latest", ids, None)
    assert result == {known["id"]: known["header"],
                      "JZZZ99ZZQ:JZZZ99ZZQ": "NOT FOUND dataset ID does not exist 'JZZZ99ZZQ'",
                      "J9ZZ99010:J9ZZ99ZZQ": "NOT FOUND dataset ID does not exist 'J9ZZ99010:J9ZZ99ZZQ'"}
    assert all(key.count(":") == 1 for key in result)  # `crds list` splits every key in two


def test_a_malformed_id_never_hides_the_answers_for_good_ones(rpc, demo_catalog):
    known = demo_catalog.datasets[0]
    message = rpc.error("get_dataset_headers_by_id", "hst-latest", [known["id"], "A:B:C"], None)
    assert message == "OtherError: Can't determine instrument for dataset 'A:B:C'"
    result = rpc("get_best_references_by_ids", "hst-latest", [known["id"], "A:B:C"], None, False)
    assert result[known["id"]][0] is True and result["A:B:C"][0] is False


def test_dataset_ids_must_be_a_list_of_strings(rpc, demo_catalog):
    assert rpc.error("get_dataset_headers_by_id", "hst-latest", "JD0000010", None).startswith(
        "InvalidParameters: ")
    assert rpc.error("get_dataset_headers_by_id", "hst-latest", [1, 2], None).startswith(
        "InvalidParameters: ")


def test_ten_thousand_ids_are_answered_in_one_call(rpc, demo_catalog, tmp_path):
    header = acs(demo_catalog)[0]["header"]
    ids = [f"J{n:07d}0:J{n:07d}Q" for n in range(10_200)]
    path = tmp_path / "many.jsonl"
    path.write_text("".join(json.dumps({"id": i, "instrument": "ACS", "header": header}) + "\n"
                            for i in ids))
    import_datasets(path)
    result = rpc("get_dataset_headers_by_id", "hst-latest", ids, None)
    assert len(result) == len(ids) and result[ids[-1]] == header
