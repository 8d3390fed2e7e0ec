"""What an attacker's probe of a live demo server found, each fixed at its cause (issue 8).

The probe's figures are in the closing note of step 5: a 64 MiB body of empty
lists took 3.4 GB of one worker's memory; duplicated reference types made a
743 KB call take 15 s; a deep pasted header was a 500; NUL in a URL reached
the database.
"""

from __future__ import annotations

import json

import pytest
from django.test import Client

from crds_server.catalog.headers import HeaderSyntaxError, parse_pasted_header
from crds_server.rpc.methods.common import check_reftypes
from crds_server.security import limits
from tests.rpc import FORM


def _rpc(client: Client, body: bytes | str, path: str = "/json/") -> dict:
    response = client.post(path, body, content_type=FORM)
    assert response.status_code == 200
    return json.loads(response.content)


def test_a_body_of_millions_of_empty_lists_is_refused_before_it_is_parsed(demo_catalog):
    lists = ",".join(["[]"] * (limits.limit("max_rpc_containers") + 1))
    body = '{"jsonrpc": "1.0", "id": 1, "method": "nope", "params": [' + lists + ']}'
    answer = _rpc(Client(), body)
    assert answer["error"]["name"] == "RequestTooLarge" and "max_rpc_containers" in answer["error"]["message"]


def test_a_body_at_the_container_limit_is_still_parsed(demo_catalog):
    body = json.dumps({"jsonrpc": "1.0", "id": 1, "method": "get_file_info_map",
                       "params": ["hst", ["hst.pmap"] * 1000, ["size"]]})
    assert _rpc(Client(), body)["error"] is None


def test_repeated_reference_types_are_looked_up_once():
    assert check_reftypes(["DARKFILE", "darkfile"] * 128) == ["darkfile"]
    assert check_reftypes(None) is None


def test_header_limits_fit_real_headers_and_no_more():
    assert limits.limit("max_header_keys") == 1000  # real HST headers: at most 293 keys
    assert limits.limit("max_header_value_chars") == 2048  # real values: at most 785 characters


@pytest.mark.parametrize("text", ['{"a":' + "[" * 5000 + "]" * 5000 + "}", '{"DETECTOR": ["WFC"]}'])
def test_a_pasted_header_too_deep_or_not_flat_is_a_syntax_error(text):
    with pytest.raises(HeaderSyntaxError):
        parse_pasted_header(text)


def test_the_bestrefs_page_answers_a_deep_pasted_header_with_a_4xx_not_a_500(demo_catalog):
    client = Client()
    deep = '{"a":' + "[" * 1000 + "]" * 1000 + "}"
    response = client.post("/bestrefs/", {"context": demo_catalog.context, "header": deep})
    assert response.status_code < 500


@pytest.mark.parametrize("path", ["/lock_status/%00/", "/affected/%00/x", "/browse/?name=a%00b",
                                  "/bestrefs/?context=hst%00.pmap"])
def test_nul_in_a_url_is_a_400_before_any_view_or_database_sees_it(demo_catalog, path):
    assert Client().get(path).status_code == 400


def test_nul_in_a_json_rpc_url_tail_is_harmless_and_in_its_query_an_envelope(demo_catalog):
    body = json.dumps({"jsonrpc": "1.0", "id": 1, "method": "get_default_context", "params": ["hst"]})
    assert _rpc(Client(), body, "/json/get_default_context/%00")["result"] == demo_catalog.context
    refused = _rpc(Client(), body, "/json/?x=%00")
    assert refused["error"]["name"] == "InvalidRequest" and "NUL" in refused["error"]["message"]


def test_nul_in_a_login_field_is_a_400(demo_catalog):
    client = Client()
    assert client.post("/login/", {"username": "homer\x00", "password": "x"}).status_code == 400
