"""Maintenance mode: 503 + Retry-After everywhere, submissions refused, the on/off command."""

from __future__ import annotations

import io
import json

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from crds_server.lib import maintenance
from crds_server.submissions import actions as submissions
from crds_server.submissions.errors import SubmissionError
from tests.servers import restore_crds_path, saved_crds_path, use_home


@pytest.fixture
def home(db, settings, tmp_path):
    """An empty server of its own, so the flag and the store checks touch nobody else."""
    saved = saved_crds_path()
    yield use_home(settings, tmp_path / "home")
    restore_crds_path(saved)


@pytest.fixture
def down(home):
    maintenance.enter("restoring last night's backup")
    return home


def _assert_unavailable(response) -> None:
    assert response.status_code == 503
    assert response["Retry-After"] == "120"


@pytest.mark.parametrize("url", ["/", "/browse/", "/unchecked_get/mappings/hst/hst.pmap",
                                 "/unchecked_get/references/hst/x_ref.fits", "/get/hst.pmap",
                                 "/login/"])
def test_every_page_and_file_answers_503_with_retry_after(down, client, url):
    response = client.get(url)
    _assert_unavailable(response)
    assert "restoring last night's backup" in response.content.decode()


def test_json_rpc_answers_503_with_an_error_envelope(down, client):
    body = {"jsonrpc": "1.0", "method": "get_server_info", "params": [], "id": 1}
    response = client.post("/json/", json.dumps(body), content_type="application/json")
    _assert_unavailable(response)
    envelope = response.json()
    assert envelope["result"] is None and envelope["error"]["name"] == "ServerMaintenance"


def test_health_answers_503_with_status_maintenance(down, client):
    response = client.get("/health")
    _assert_unavailable(response)
    assert response.json()["status"] == "maintenance"


def test_pages_answer_normally_when_maintenance_is_off(home, client):
    assert client.get("/health").status_code == 200


def test_the_fast_download_path_hands_requests_to_django_during_maintenance(down):
    from crds_server.web.fastfiles import FastFiles

    app = FastFiles(lambda environ, start_response: ["django"])
    environ = {"PATH_INFO": "/unchecked_get/mappings/hst/hst.pmap", "REQUEST_METHOD": "GET",
               "HTTP_HOST": "localhost"}
    assert app(environ, lambda *a: None) == ["django"]


def test_a_submission_cannot_start_during_maintenance(down):
    user = User.objects.create_user("submitter")
    with pytest.raises(SubmissionError, match="maintenance"):
        submissions.start(user, "certify", {}, "session")


def test_the_maintenance_command_turns_it_on_and_off(home, client):
    call_command("maintenance", "on", "--reason", "upgrade", stdout=io.StringIO())
    assert "upgrade" in maintenance.reason()
    assert client.get("/").status_code == 503
    out = io.StringIO()
    call_command("maintenance", "status", stdout=out)
    assert "on: upgrade" in out.getvalue()
    call_command("maintenance", "off", stdout=io.StringIO())
    assert not maintenance.is_on() and client.get("/health").status_code == 200


def test_maintenance_on_needs_a_reason(home):
    with pytest.raises(CommandError, match="--reason"):
        call_command("maintenance", "on")


def test_maintenance_off_refuses_while_the_check_fails_unless_forced(home):
    (home / "file_cache" / "references" / "hst" / "orphan_0001.fits").write_bytes(b"orphan")
    maintenance.enter("repair")
    with pytest.raises(CommandError, match="check fails"):
        call_command("maintenance", "off", stdout=io.StringIO())
    assert maintenance.is_on()
    call_command("maintenance", "off", "--force", stdout=io.StringIO())
    assert not maintenance.is_on()
