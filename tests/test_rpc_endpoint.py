"""The JSON-RPC endpoint: envelope, paths, body parsing and errors (contract §1.2-1.3)."""

from __future__ import annotations

import json

import pytest

from crds_server.rpc import registry

pytestmark = pytest.mark.django_db


def call_body(method: str, params: object = (), ident: object = "test-1") -> str:
    params = list(params) if isinstance(params, tuple) else params
    return json.dumps({"jsonrpc": "1.0", "method": method, "params": params, "id": ident})


def reply_of(response) -> dict:
    assert response.status_code == 200
    return json.loads(response.content)


@pytest.fixture
def echo(monkeypatch):
    """A registered method that returns its parameters."""

    def echo(first, second=None):
        """Return the parameters."""
        return [first, second]

    monkeypatch.setitem(registry.METHODS, "echo", echo)


@pytest.fixture
def explode(monkeypatch):
    """A registered method that fails the way a bug would."""

    def explode():
        return {}["missing"]

    monkeypatch.setitem(registry.METHODS, "explode", explode)


# The envelope


def test_a_success_has_a_null_error_a_result_and_echoes_the_id(rpc, echo):
    reply = reply_of(rpc.post(call_body("echo", ("a", 1), ident="sync-14.0.3-x-00000002")))
    assert reply == {"jsonrpc": "1.0", "id": "sync-14.0.3-x-00000002", "result": ["a", 1],
                     "error": None}


def test_a_null_result_is_still_sent_as_a_result_key(rpc, monkeypatch):
    monkeypatch.setitem(registry.METHODS, "nothing", lambda: None)
    reply = reply_of(rpc.post(call_body("nothing")))
    assert "result" in reply and reply["result"] is None and reply["error"] is None


def test_an_error_is_an_object_whose_message_starts_with_its_class_name(rpc):
    reply = reply_of(rpc.post(call_body("no_such_method")))
    error = reply["error"]
    assert reply["result"] is None
    assert error["name"] == "UnknownMethod"
    assert error["message"].startswith("UnknownMethod: ")
    assert isinstance(error["message"], str)


def test_a_domain_error_is_reported_under_its_own_class_name(rpc):
    message = rpc.error("get_default_context", "hst", "someday")
    assert message.startswith("UnknownContextError: ")


# Body and Content-Type


def test_it_parses_the_body_as_json_although_it_is_sent_as_a_form(rpc, echo):
    body = call_body("echo", ("x=1&y=2", None))
    reply = reply_of(rpc.post(body, content_type="application/x-www-form-urlencoded"))
    assert reply["result"] == ["x=1&y=2", None]


def test_it_parses_the_body_whatever_the_content_type(rpc, echo):
    for content_type in ("application/json", "text/plain", "application/octet-stream"):
        assert reply_of(rpc.post(call_body("echo", ("b",)), content_type=content_type))["result"] \
            == ["b", None]


def test_it_answers_malformed_json_with_an_error_envelope(rpc):
    reply = reply_of(rpc.post('{"jsonrpc": "1.0", "method": '))
    assert reply["error"]["message"].startswith("InvalidRequest: ")
    assert reply["result"] is None and reply["id"] is None


def test_it_answers_a_body_that_is_not_utf8_with_an_error_envelope(rpc):
    reply = reply_of(rpc.post(b'{"method": "\xff\xfe"}'))
    assert reply["error"]["message"].startswith("InvalidRequest: ")


@pytest.mark.parametrize("body", ['[1, 2]', '"get_server_info"', "17", "null",
                                  '{"params": []}', '{"method": 7, "params": []}'])
def test_it_refuses_a_body_that_is_not_an_object_with_a_method(rpc, body):
    reply = reply_of(rpc.post(body))
    assert reply["error"]["message"].startswith("InvalidRequest: ")


@pytest.mark.parametrize("params", [{"observatory": "hst"}, "hst", 5, None])
def test_it_refuses_params_that_are_not_a_list(rpc, params):
    reply = reply_of(rpc.post(call_body("get_default_context", params, ident=9)))
    assert reply["error"]["message"].startswith("InvalidParameters: ")
    assert reply["id"] == 9


def test_missing_params_mean_no_parameters(rpc, monkeypatch):
    monkeypatch.setitem(registry.METHODS, "ping", lambda: "pong")
    reply = reply_of(rpc.post(json.dumps({"method": "ping", "id": 1})))
    assert reply["result"] == "pong"


# Paths


@pytest.mark.parametrize("path", ["/json/", "/json", "/json/echo/", "/json/echo/sync-14.0.3-a-00000001/",
                                  "/json/echo/-14.0.3-a-00000001/", "/json/anything/at/all"])
def test_every_path_under_json_reaches_the_dispatcher(rpc, echo, path):
    assert reply_of(rpc.post(call_body("echo", ("p",)), path=path))["result"] == ["p", None]


@pytest.mark.parametrize("path", ["//json/echo/x/", "//json/"])
def test_a_doubled_leading_slash_reaches_the_dispatcher(client, echo, path):
    # The test client would read "//json" as a host name, so the raw PATH_INFO is set.
    response = client.post("/json/", data=call_body("echo", ("p",)), content_type="text/plain",
                           PATH_INFO=path)
    assert reply_of(response)["result"] == ["p", None]


def test_the_method_comes_from_the_body_not_the_path(rpc, echo):
    reply = reply_of(rpc.post(call_body("echo", ("body",)), path="/json/get_server_info/1/"))
    assert reply["result"] == ["body", None]


# Calls that fail


def test_an_unknown_method_is_an_error_naming_it(rpc):
    assert "'no_such_method'" in rpc.error("no_such_method")


def test_too_many_parameters_is_an_error_not_a_crash(rpc, echo):
    message = rpc.error("echo", 1, 2, 3)
    assert message.startswith("InvalidParameters: ")
    assert "echo" in message


def test_too_few_parameters_is_an_error(rpc, echo):
    assert rpc.error("echo").startswith("InvalidParameters: ")


def test_a_method_failing_unexpectedly_gives_an_other_error_envelope_not_a_500(rpc, explode):
    reply = reply_of(rpc.post(call_body("explode")))
    assert reply["error"]["message"].startswith("OtherError: KeyError")
    assert reply["result"] is None


def test_a_result_json_cannot_encode_gives_an_other_error_envelope_not_a_500(rpc, monkeypatch):
    monkeypatch.setitem(registry.METHODS, "opaque", lambda: {"value": object()})
    reply = reply_of(rpc.post(call_body("opaque")))
    assert reply["error"]["message"].startswith("OtherError: ")


def test_a_result_that_is_not_a_number_in_json_is_refused(rpc, monkeypatch):
    monkeypatch.setitem(registry.METHODS, "nan", lambda: float("nan"))
    reply = reply_of(rpc.post(call_body("nan")))
    assert reply["error"]["message"].startswith("OtherError: ")


def test_a_call_that_is_not_posted_is_an_error_envelope(client):
    response = client.put("/json/", data=call_body("get_server_info"))
    assert reply_of(response)["error"]["message"].startswith("InvalidRequest: ")


# Size


def test_it_refuses_a_body_over_the_limit_with_an_error_envelope(rpc, echo, settings):
    settings.RPC_MAX_BODY = 100
    reply = reply_of(rpc.post(call_body("echo", ("x" * 200,))))
    assert reply["error"]["message"].startswith("RequestTooLarge: ")
    assert "100" in reply["error"]["message"]


def test_it_accepts_a_body_well_over_djangos_default_upload_limit(rpc, echo):
    names = [f"x{n:08d}_drk.fits" for n in range(200_000)]  # about 4 MB
    body = call_body("echo", (names,))
    assert len(body) > 2.5 * 1024 * 1024
    assert reply_of(rpc.post(body))["result"][0][-1] == names[-1]


# The method list


def test_get_on_json_lists_every_method_with_its_docstring(client):
    response = client.get("/json/")
    page = response.content.decode()
    assert response.status_code == 200
    for name in registry.METHODS:
        assert name in page
    assert "The server&#x27;s configuration" in page or "The server's configuration" in page


def test_every_registered_method_has_a_docstring():
    assert [name for name, doc in ((m["name"], m["doc"]) for m in registry.describe()) if not doc] == []
