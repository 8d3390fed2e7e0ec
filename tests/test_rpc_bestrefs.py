"""Best-reference methods: the server must give what the crds library computes locally."""

from __future__ import annotations

import pytest
from crds.core import heavy_client, rmap


def local(context: str, header: dict, reftypes: list[str] | None = None) -> dict:
    """The crds library's own local-mode answer, on the server's file store."""
    return heavy_client.hv_best_references(context, header, reftypes)


# get_best_references


def test_best_references_equal_the_librarys_for_every_demo_dataset(rpc, demo_catalog):
    found = 0
    for dataset in demo_catalog.datasets:
        result = rpc("get_best_references", "hst_0001.pmap", dataset["header"], None)
        assert result == local("hst_0001.pmap", dataset["header"]), dataset["id"]
        found += sum("NOT FOUND" not in v for v in result.values())
    assert found > 500  # the demo rules select real files, not only errors


def test_best_references_for_chosen_types_equal_the_librarys(rpc, demo_catalog):
    for dataset in demo_catalog.datasets:
        kinds = sorted(local("hst_0001.pmap", dataset["header"]))[:3]
        result = rpc("get_best_references", "hst_0001.pmap", dataset["header"], kinds)
        assert result == local("hst_0001.pmap", dataset["header"], kinds)
        assert set(result) == set(kinds)


def test_best_references_lower_case_the_requested_types(rpc, demo_catalog):
    header = demo_catalog.datasets[0]["header"]
    assert rpc("get_best_references", "hst_0001.pmap", header, ["BIASFILE", "DarkFile"]) \
        == local("hst_0001.pmap", header, ["biasfile", "darkfile"])


def test_best_references_take_a_context_specifier(rpc, demo_catalog):
    header = demo_catalog.datasets[1]["header"]
    assert rpc("get_best_references", "hst-latest", header, None) == local("hst_0001.pmap", header)


def test_best_references_condition_lower_case_keys_and_non_string_values(rpc, demo_catalog):
    header = dict(demo_catalog.datasets[0]["header"])
    lowered = {k.lower(): v for k, v in header.items()}
    assert rpc("get_best_references", "hst_0001.pmap", lowered, None) == local("hst_0001.pmap", header)


def test_best_references_say_not_found_with_an_upper_case_prefix(rpc, demo_catalog):
    header = dict(demo_catalog.datasets[0]["header"], DETECTOR="FOO")
    result = rpc("get_best_references", "hst_0001.pmap", header, None)
    misses = [v for v in result.values() if "NOT FOUND" in v]
    assert misses and all(v.startswith("NOT FOUND ") for v in misses)
    assert "NOT FOUND n/a" in result.values()
    assert any("parameter='DETECTOR' value='FOO'" in v for v in misses)
    assert result == local("hst_0001.pmap", header)


def test_best_references_values_are_strings_never_lists(rpc, demo_catalog):
    for dataset in demo_catalog.datasets[:10]:
        result = rpc("get_best_references", "hst_0001.pmap", dataset["header"], None)
        assert all(isinstance(v, (str, dict)) for v in result.values())


@pytest.mark.parametrize("header", [["INSTRUME", "ACS"], "INSTRUME=ACS", None])
def test_best_references_refuse_a_header_that_is_not_an_object(rpc, demo_catalog, header):
    assert rpc.error("get_best_references", "hst_0001.pmap", header, None).startswith(
        "BadContextError: A dataset header must be a JSON object")


@pytest.mark.parametrize("context", ["hst_acs_0001.imap", "hst_acs_biasfile_0001.rmap",
                                     "hst-acs-latest"])
def test_best_references_refuse_a_context_that_is_not_a_pmap(rpc, demo_catalog, context):
    header = demo_catalog.datasets[0]["header"]
    assert "pipeline context (.pmap)" in rpc.error("get_best_references", context, header, None)


def test_best_references_refuse_reftypes_that_are_not_a_list(rpc, demo_catalog):
    header = demo_catalog.datasets[0]["header"]
    assert rpc.error("get_best_references", "hst_0001.pmap", header, "biasfile").startswith(
        "BadContextError: ")


def test_best_references_of_an_unknown_context_is_an_error(rpc, demo_catalog):
    header = demo_catalog.datasets[0]["header"]
    assert rpc.error("get_best_references", "hst_0999.pmap", header, None).startswith(
        "UnknownContextError: ")


# get_best_references_by_header_map


def test_header_map_gives_true_and_bestrefs_or_false_and_failed(rpc, demo_catalog):
    first, second = demo_catalog.datasets[:2]
    headers = {"one": first["header"], "two": second["header"], "bad": "not a header",
               "alien": {"INSTRUME": "FOO"}}
    result = rpc("get_best_references_by_header_map", "hst_0001.pmap", headers, None)
    assert set(result) == set(headers)
    assert result["one"] == [True, local("hst_0001.pmap", first["header"])]
    assert result["two"] == [True, local("hst_0001.pmap", second["header"])]
    for ident in ("bad", "alien"):
        assert result[ident][0] is False and result[ident][1].startswith("FAILED: ")


def test_header_map_with_reftypes_gives_only_those_types(rpc, demo_catalog):
    header = demo_catalog.datasets[0]["header"]
    result = rpc("get_best_references_by_header_map", "hst_0001.pmap", {"x": header}, ["darkfile"])
    assert result == {"x": [True, local("hst_0001.pmap", header, ["darkfile"])]}


def test_header_map_must_be_an_object(rpc, demo_catalog):
    assert rpc.error("get_best_references_by_header_map", "hst_0001.pmap", [], None).startswith(
        "InvalidParameters: ")


# get_best_references_by_ids


def test_by_ids_gives_bestrefs_per_compound_id_and_the_headers(rpc, demo_catalog):
    chosen = demo_catalog.datasets[:3]
    result = rpc("get_best_references_by_ids", "hst_0001.pmap", [d["id"] for d in chosen], None, True)
    assert set(result) == {d["id"] for d in chosen} | {"headers"}
    for dataset in chosen:
        assert result[dataset["id"]] == [True, local("hst_0001.pmap", dataset["header"])]
        assert result["headers"][dataset["id"]] == dataset["header"]


def test_by_ids_without_headers_has_no_headers_key(rpc, demo_catalog):
    ident = demo_catalog.datasets[0]["id"]
    result = rpc("get_best_references_by_ids", "hst_0001.pmap", [ident], ["biasfile"], False)
    assert list(result) == [ident] and list(result[ident][1]) == ["biasfile"]


def test_by_ids_reports_an_unknown_id_per_id(rpc, demo_catalog):
    known = demo_catalog.datasets[0]["id"]
    result = rpc("get_best_references_by_ids", "hst_0001.pmap", [known, "NOSUCH01"], None, False)
    assert result[known][0] is True
    assert result["NOSUCH01"] == [False, "NOT FOUND dataset ID does not exist 'NOSUCH01'"]


# get_aui_best_references


def test_aui_gives_the_selected_files_without_na_or_not_found(rpc, demo_catalog):
    dataset = demo_catalog.datasets[0]
    result = rpc("get_aui_best_references", "hst-latest", [dataset["id"], "NOSUCH01"])
    expected = sorted(v for v in local("hst_0001.pmap", dataset["header"]).values()
                      if "NOT FOUND" not in v)
    assert result[dataset["id"]] == [True, expected] and expected
    assert result["NOSUCH01"] == [False, "NOT FOUND dataset ID does not exist 'NOSUCH01'"]


def test_aui_takes_a_date(rpc, demo_catalog):
    dataset = demo_catalog.datasets[2]
    result = rpc("get_aui_best_references", "2099-01-01T00:00:00", [dataset["id"]])
    assert result[dataset["id"]][0] is True


# get_required_parkeys


def test_required_parkeys_of_a_pmap_are_per_instrument(rpc, demo_catalog):
    result = rpc("get_required_parkeys", "hst_0001.pmap")
    expected = rmap.get_cached_mapping("hst_0001.pmap").get_required_parkeys()
    assert result == {instr: list(keys) for instr, keys in expected.items()}
    assert "acs" in result and "INSTRUME" in result["acs"]


def test_required_parkeys_of_an_rmap_are_a_list(rpc, demo_catalog):
    result = rpc("get_required_parkeys", "hst_acs_biasfile_0001.rmap")
    assert isinstance(result, list) and "DETECTOR" in result
