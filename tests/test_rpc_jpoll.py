"""jpoll RPC methods: how `crds submit --monitor-processing` follows a submission (contract §5.8)."""

from __future__ import annotations

import pytest

from crds_server.jobs import jpoll
from crds_server.jobs.errors import JobAborted

pytestmark = pytest.mark.django_db


@pytest.fixture
def key() -> str:
    return jpoll.open_channel("session-1", "homer")


def test_pull_returns_every_message_after_since_id_in_order(rpc, key):
    jpoll.log(key, "Certifying 'x.fits' ...")
    jpoll.log(key, "Careful", "warning")
    messages = rpc("jpoll_pull_messages", key, "0")
    assert [(m["type"], m["data"]) for m in messages] == [
        ("log_message", "Certifying 'x.fits' ..."), ("warning", "Careful")]
    assert messages[0]["id"] > 0 and messages[1]["id"] > messages[0]["id"]
    assert rpc("jpoll_pull_messages", key, str(messages[0]["id"]))[0]["data"] == "Careful"
    assert rpc("jpoll_pull_messages", key, str(messages[1]["id"])) == []


def test_pull_accepts_an_integer_since_id(rpc, key):
    jpoll.log(key, "one")
    assert len(rpc("jpoll_pull_messages", key, 0)) == 1


def test_the_done_message_carries_an_object_with_status_and_result(rpc, key):
    jpoll.done(key, jpoll.DONE_OK, "https://host/display_result/42")
    (message,) = rpc("jpoll_pull_messages", key, "0")
    assert message["type"] == "done"
    assert message["data"] == {"status": 0, "result": "https://host/display_result/42"}
    assert isinstance(message["time"], str)


def test_an_unknown_channel_is_an_error_the_client_waits_on(rpc):
    message = rpc.error("jpoll_pull_messages", "no-such-key", "0")
    assert "Channel" in message and "not found" in message
    assert message.startswith("ChannelNotFound:")


def test_a_key_that_is_not_a_string_is_refused(rpc):
    assert "InvalidParameters" in rpc.error("jpoll_pull_messages", 42, "0")


def test_abort_makes_the_writer_stop_at_its_next_message(rpc, key):
    assert rpc("jpoll_abort", key) is True
    with pytest.raises(JobAborted, match="External agent requested calling process termination."):
        jpoll.log(key, "still working")


def test_abort_of_an_unknown_channel_is_channel_not_found(rpc):
    message = rpc.error("jpoll_abort", "no-such-key")
    assert "Channel" in message and "not found" in message
