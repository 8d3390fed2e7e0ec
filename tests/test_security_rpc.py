"""Security of the JSON-RPC endpoint: hostile bodies get envelopes, every list parameter is bounded."""

from __future__ import annotations

import io
import json

import pytest
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from crds_server.catalog import serverinfo
from crds_server.datasets.models import Dataset
from crds_server.rpc import views
from crds_server.security import limits
from tests.rpc import FORM

pytestmark = pytest.mark.django_db


def strict_json(text: bytes) -> dict:
    """Parse a reply as the client's literal_eval/pprint would need it: no NaN or Infinity."""

    def refuse(constant: str) -> None:
        raise AssertionError(f"the reply holds {constant}, which is not JSON")

    return json.loads(text.decode("utf-8"), parse_constant=refuse)


def envelope(response) -> dict:
    """The reply as an envelope: HTTP 200, JSON, all four keys, and an error of the client's shape."""
    assert response.status_code == 200, response.content[:300]
    reply = strict_json(response.content)
    assert set(reply) == {"jsonrpc", "id", "result", "error"}
    if reply["error"]:
        assert set(reply["error"]) == {"name", "code", "data", "message"}
        assert reply["error"]["message"].startswith(reply["error"]["name"] + ": ")
    return reply


def post(client, body: bytes | str, path: str = "/json/"):
    return client.post(path, data=body, content_type=FORM)


def error_of(client, body: bytes | str, path: str = "/json/") -> dict:
    reply = envelope(post(client, body, path))
    assert reply["error"], reply
    return reply


def call(method: str, *params) -> str:
    return json.dumps({"jsonrpc": "1.0", "method": method, "params": list(params), "id": "t-1"})


# Bodies json.loads accepts but a reply cannot carry


@pytest.mark.parametrize("ident", ["NaN", "Infinity", "-Infinity", "1e400", "-1e400"])
def test_a_non_finite_id_gets_an_envelope_with_a_null_id(client, ident):
    reply = error_of(client, '{"jsonrpc": "1.0", "method": "get_server_info", "params": [], '
                             f'"id": {ident}}}')
    assert reply["error"]["name"] == "InvalidRequest"
    assert reply["id"] is None


@pytest.mark.parametrize("number", ["NaN", "-Infinity", "1e999"])
def test_a_non_finite_number_anywhere_in_the_params_is_refused(client, number):
    reply = error_of(client, f'{{"method": "get_default_context", "params": ["hst", [{number}]], "id": 1}}')
    assert reply["error"]["name"] == "InvalidRequest"


def test_an_integer_too_long_to_convert_is_refused(client):
    reply = error_of(client, '{"method": "get_server_info", "params": [], "id": ' + "9" * 5000 + "}")
    assert reply["error"]["name"] == "InvalidRequest"


@pytest.mark.parametrize("ident", [[1, 2], {"a": 1}, "x" * 5000])
def test_an_id_that_cannot_be_echoed_is_answered_as_null(client, ident):
    body = json.dumps({"method": "get_default_context", "params": ["hst", None], "id": ident})
    reply = envelope(post(client, body))
    assert reply["id"] is None


def test_a_lone_surrogate_escape_is_refused_as_not_text(client, demo_catalog):
    reply = error_of(client, '{"method": "get_file_info", "params": ["hst", "x\\ud800"], "id": 1}')
    assert reply["error"]["name"] == "InvalidRequest"


def test_an_escaped_surrogate_pair_is_ordinary_text(client, demo_catalog):
    reply = error_of(client, '{"method": "get_file_info", "params": ["hst", "x\\ud83d\\ude00"], "id": 1}')
    assert reply["error"]["name"] == "UnknownFileError" and "x\U0001f600" in reply["error"]["message"]


# Nesting


@pytest.mark.parametrize("depth", [40, 1_000, 100_000])
def test_deep_nesting_is_refused_by_name_not_a_500(client, depth):
    params = "[" * depth + "]" * depth
    reply = error_of(client, f'{{"method": "get_default_context", "params": {params}, "id": 3}}')
    assert reply["error"]["name"] == "LimitExceeded"
    assert "max_rpc_depth" in reply["error"]["message"]


def test_a_deeply_nested_id_is_refused_too(client):
    reply = error_of(client, '{"method": "get_server_info", "params": [], "id": ' + "[" * 5000 + "]" * 5000
                     + "}")
    assert reply["error"]["name"] == "LimitExceeded" and reply["id"] is None


def test_ordinary_nesting_of_a_header_map_is_accepted(rpc, demo_catalog):
    header = demo_catalog.datasets[0]["header"]
    result = rpc("get_best_references_by_header_map", demo_catalog.context, {"one": header}, None)
    assert result["one"][0] is True


# Paths


@pytest.mark.parametrize("path", ["/json/%0A", "/json/get_server_info/%0Aid/", "/json/a%0D%0Ab/",
                                  "/json/%00/"])
def test_a_json_path_with_control_characters_reaches_the_dispatcher(client, path, demo_catalog):
    reply = envelope(post(client, call("get_default_context", "hst", None), path=path))
    assert reply["result"] == demo_catalog.context


# Body shapes and method names


@pytest.mark.parametrize("body", [b"\xff\xfe\xfd", b"\x00" * 10, b"", "[]", '"text"', "[{}]", "1e400"])
def test_a_body_that_is_not_a_call_gets_an_envelope(client, body):
    assert error_of(client, body)["error"]["name"] in ("InvalidRequest", "LimitExceeded")


@pytest.mark.parametrize("method", [None, ["get_server_info"], {"a": 1}, True, 1.5])
def test_a_method_that_is_not_a_string_is_an_invalid_request(client, method):
    body = json.dumps({"method": method, "params": [], "id": 1})
    assert error_of(client, body)["error"]["name"] == "InvalidRequest"


def test_a_huge_method_name_is_refused_by_name_without_echoing_it(client):
    reply = error_of(client, call("x" * 1_000_000))
    assert reply["error"]["name"] == "LimitExceeded"
    assert "max_method_name_chars" in reply["error"]["message"]
    assert len(reply["error"]["message"]) < 500


def test_an_error_quoting_a_huge_parameter_is_cut_short(client):
    reply = error_of(client, call("get_default_context", "x" * 1_000_000, None))
    assert len(reply["error"]["message"]) < 20_000


# Body size


def test_a_body_over_the_limit_without_a_content_length_is_refused_after_reading_one_byte_past_it(settings):
    settings.RPC_MAX_BODY = 1000
    body = call("get_default_context", "hst", "x" * 5000).encode()

    class Counting(io.BytesIO):
        read_bytes = 0

        def read(self, size: int | None = -1) -> bytes:
            data = super().read(size)
            Counting.read_bytes += len(data)
            return data

    request = RequestFactory().post("/json/", data=body, content_type=FORM)
    del request.META["CONTENT_LENGTH"]
    request._stream = Counting(body)
    reply = envelope(views.endpoint(request))
    assert reply["error"]["name"] == "RequestTooLarge"
    assert "max_rpc_body_bytes" in reply["error"]["message"]
    assert Counting.read_bytes <= 1001


def test_a_content_length_over_the_limit_is_refused_before_reading(client, settings):
    settings.RPC_MAX_BODY = 1000
    response = client.post("/json/", data=call("get_server_info"), content_type=FORM,
                           CONTENT_LENGTH="999999999")
    assert envelope(response)["error"]["name"] == "RequestTooLarge"


@pytest.mark.parametrize("length", ["", "abc", "9" * 5000, "-5"])
def test_a_missing_or_nonsense_content_length_is_an_envelope(client, length):
    response = client.post("/json/", data=call("get_server_info"), content_type=FORM,
                           CONTENT_LENGTH=length)
    envelope(response)


# Limits on list parameters, named in the error


def limit_error(rpc, method: str, *params) -> str:
    message = rpc.error(method, *params)
    assert message.startswith(f"LimitExceeded: {method} takes at most "), message
    return message


def test_a_header_map_over_the_limit_is_refused_naming_the_limit(rpc, demo_catalog):
    headers = {f"D{n}": {} for n in range(1001)}
    message = limit_error(rpc, "get_best_references_by_header_map", demo_catalog.context, headers, None)
    assert message == ("LimitExceeded: get_best_references_by_header_map takes at most 1000 headers per "
                       "call (max_bestrefs_per_rpc); got 1001.")


def test_the_header_map_limit_is_a_setting_and_a_map_at_the_limit_is_answered(rpc, demo_catalog, settings):
    settings.RPC_MAX_BESTREFS = 2
    header = demo_catalog.datasets[0]["header"]
    assert set(rpc("get_best_references_by_header_map", demo_catalog.context,
                   {"a": header, "b": header}, None)) == {"a", "b"}
    limit_error(rpc, "get_best_references_by_header_map", demo_catalog.context,
                {"a": header, "b": header, "c": header}, None)


@pytest.mark.parametrize("method", ["get_best_references_by_ids", "get_aui_best_references"])
def test_best_references_by_ids_over_the_limit_are_refused(rpc, demo_catalog, method):
    ids = [f"X{n:08d}" for n in range(1001)]
    message = limit_error(rpc, method, demo_catalog.context, ids)
    assert "1000 dataset ids per call (max_bestrefs_per_rpc); got 1001" in message


def test_a_product_id_counts_every_exposure_it_expands_to(rpc, demo_catalog, settings):
    settings.RPC_MAX_BESTREFS = 2
    header = demo_catalog.datasets[0]["header"]
    Dataset.objects.bulk_create([Dataset(product="ZZ0001010", exposure=f"ZZ0001{n:03d}Q", instrument="ACS",
                                         header=header) for n in range(3)])
    message = limit_error(rpc, "get_best_references_by_ids", demo_catalog.context, ["ZZ0001010"])
    assert "(max_bestrefs_per_rpc); got 3" in message


def test_dataset_headers_take_more_ids_than_the_published_chunk_size(rpc, demo_catalog):
    # `crds bestrefs --datasets` sends every id in one call (contract §2.4).
    ident = demo_catalog.datasets[0]["id"]
    assert list(rpc("get_dataset_headers_by_id", demo_catalog.context, [ident] * 1500, None)) == [ident]


def test_dataset_headers_over_their_own_limit_are_refused(rpc, demo_catalog, settings):
    settings.RPC_MAX_DATASET_IDS = 10
    message = limit_error(rpc, "get_dataset_headers_by_id", demo_catalog.context, ["X"] * 11, None)
    assert "(max_dataset_ids_per_rpc); got 11" in message


def test_too_many_reftypes_are_refused(rpc, demo_catalog):
    header = demo_catalog.datasets[0]["header"]
    message = limit_error(rpc, "get_best_references", demo_catalog.context, header, ["biasfile"] * 257)
    assert "(max_reftypes_per_rpc)" in message


@pytest.mark.parametrize("change, limit_name", [
    (lambda h: h.update({f"K{n}": "1" for n in range(5001)}), "max_header_keys"),
    (lambda h: h.update({"K" * 257: "1"}), "max_header_key_chars"),
    (lambda h: h.update({"DETECTOR": "W" * 8193}), "max_header_value_chars"),
])
def test_oversized_headers_are_refused_in_both_best_reference_calls(rpc, demo_catalog, change, limit_name):
    header = dict(demo_catalog.datasets[0]["header"])
    change(header)
    assert f"({limit_name})" in limit_error(rpc, "get_best_references", demo_catalog.context, header, None)
    assert f"({limit_name})" in limit_error(rpc, "get_best_references_by_header_map", demo_catalog.context,
                                            {"one": header}, None)


def test_file_info_map_takes_a_whole_cache_of_names_but_not_more_than_its_limit(rpc, demo_catalog):
    names = [f"x{n:07d}_drk.fits" for n in range(20_000)]  # the HST corpus is about 18,700 files
    assert len(rpc("get_file_info_map", "hst", names, ["size"])) == 20_000
    message = limit_error(rpc, "get_file_info_map", "hst", names * 6, ["size"])
    assert "100000 file names per call (max_files_per_rpc); got 120000" in message
    assert "(max_fields_per_rpc)" in limit_error(rpc, "get_file_info_map", "hst", None, ["size"] * 65)


@pytest.mark.parametrize("method", ["list_mappings", "list_references"])
def test_glob_patterns_are_bounded_in_length_and_wildcards(rpc, demo_catalog, method):
    assert "(max_glob_chars)" in limit_error(rpc, method, "hst", "a" * 129)
    assert "(max_glob_wildcards); got 17" in limit_error(rpc, method, "hst", "*a" * 17)
    assert rpc(method, "hst", "*a" * 16) == []


def test_a_glob_is_matched_in_python_on_one_query_never_as_a_database_regex(rpc, demo_catalog):
    with CaptureQueriesContext(connection) as queries:
        assert rpc("list_mappings", "hst", "*.pmap") == [demo_catalog.context]
    listing = [q["sql"] for q in queries.captured_queries if "catalog_file" in q["sql"]]
    assert len(listing) == 1 and "REGEXP" not in listing[0].upper()


def test_a_jpoll_message_id_no_database_integer_holds_is_refused(rpc, db):
    for since in ("9" * 30, 10**30, 1e300):
        assert rpc.error("jpoll_pull_messages", "some-channel", since).startswith("InvalidParameters: ")


@pytest.mark.parametrize("state", [["latest"], {"a": 1}])
def test_a_context_state_that_is_not_a_string_is_a_named_error_not_a_bug(rpc, demo_catalog, state):
    # Found by tests/test_security_fuzz.py: it was "OtherError: TypeError: unhashable type".
    assert rpc.error("get_default_context", "hst", state).startswith("UnknownContextError: ")


# Published limits are the enforced ones


def test_server_info_publishes_the_limits_it_enforces(rpc, demo_catalog):
    info = rpc("get_server_info")
    assert info["max_headers_per_rpc"] == info["max_bestrefs_per_rpc"] == 1000
    assert info["rpc_limits"] == limits.published()
    headers = {f"D{n}": {} for n in range(info["max_bestrefs_per_rpc"] + 1)}
    limit_error(rpc, "get_best_references_by_header_map", demo_catalog.context, headers, None)
    assert serverinfo.server_info()["rpc_limits"]["max_files_per_rpc"] == 100_000
