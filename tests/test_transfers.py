"""How checked downloads leave the server (`web.transfers`): the proxy headers, the gate, idle sockets.

The fast path is called as gunicorn calls it (helpers of test_fast_files);
the live behaviour (slow and stalled clients, real nginx) is in
test_live_serving.py.
"""

from __future__ import annotations

import socket

import pytest
from django.core.exceptions import ImproperlyConfigured

from crds_server.web import fastfiles, transfers
from tests.test_fast_files import REFERENCE, _fresh_index, app, call, django_app, reference, url  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def accel(settings, django_app):  # noqa: F811
    settings.SENDFILE_HEADER = "X-Accel-Redirect"
    settings.SENDFILE_PREFIX = "/_crds_store/"
    return fastfiles.FastFiles(django_app)


def test_in_nginx_mode_a_get_names_the_internal_location_and_sends_no_bytes(accel, reference):  # noqa: F811
    answer = call(accel, url("references", reference.name))
    assert answer.status == 200
    assert answer.body == b""
    assert answer["Content-Length"] == "0"
    assert answer["X-Accel-Redirect"] == f"/_crds_store/references/hst/{reference.name}"
    assert answer["ETag"] == f'"{reference.sha1sum}"'
    assert answer["X-Checksum-Sha1"] == reference.sha1sum


def test_in_nginx_mode_a_range_is_left_to_the_proxy_with_our_validators(accel, reference):  # noqa: F811
    answer = call(accel, url("references", reference.name), Range="bytes=0-9")
    assert answer.status == 200
    assert "content-range" not in answer.headers
    assert answer["X-Accel-Redirect"].endswith(reference.name)


def test_in_nginx_mode_head_304_and_416_are_answered_by_the_server(accel, reference):  # noqa: F811
    head = call(accel, url("references", reference.name), method="HEAD")
    assert head.status == 200 and "x-accel-redirect" not in head.headers
    assert head["Content-Length"] == str(len(REFERENCE))
    same = call(accel, url("references", reference.name), If_None_Match=f'"{reference.sha1sum}"')
    assert same.status == 304 and "x-accel-redirect" not in same.headers
    beyond = call(accel, url("references", reference.name), Range=f"bytes={len(REFERENCE)}-")
    assert beyond.status == 416 and "x-accel-redirect" not in beyond.headers


def test_in_nginx_mode_a_file_whose_size_disagrees_is_never_redirected(accel, reference):  # noqa: F811
    with open(reference.store_path(), "ab") as handle:
        handle.write(b"x")
    answer = call(accel, url("references", reference.name))
    assert answer.status == 503
    assert "x-accel-redirect" not in answer.headers


def test_in_nginx_mode_unknown_names_are_404_without_a_redirect(accel, catalog):
    answer = call(accel, url("references", "n0000000j_drk.fits"))
    assert answer.status == 404
    assert "x-accel-redirect" not in answer.headers


def test_in_apache_mode_x_sendfile_names_the_absolute_path(settings, django_app, reference):  # noqa: F811
    settings.SENDFILE_HEADER = "X-Sendfile"
    answer = call(fastfiles.FastFiles(django_app), url("references", reference.name))
    assert answer["X-Sendfile"] == str(reference.store_path().resolve())


def test_an_unknown_sendfile_header_is_a_configuration_error(settings, django_app):  # noqa: F811
    settings.SENDFILE_HEADER = "X-Send-It"
    with pytest.raises(ImproperlyConfigured):
        fastfiles.FastFiles(django_app)


def test_a_full_gate_answers_503_with_retry_after_and_a_closed_body_frees_its_place(
        app, reference, monkeypatch):  # noqa: F811
    monkeypatch.setattr(transfers, "gate", transfers.Gate(1))
    first = call(app, url("references", reference.name))  # call() closes the body
    assert first.status == 200 and transfers.gate.active == 0
    assert transfers.gate.admit()  # someone else is sending now
    refused = call(app, url("references", reference.name))
    assert refused.status == 503
    assert refused["Retry-After"] == str(transfers.RETRY_AFTER_SECONDS)
    head = call(app, url("references", reference.name), method="HEAD")
    assert head.status == 200  # headers only: no transfer, no place needed


def test_a_range_body_also_takes_and_frees_a_place(app, reference, monkeypatch):  # noqa: F811
    monkeypatch.setattr(transfers, "gate", transfers.Gate(1))
    answer = call(app, url("references", reference.name), Range="bytes=0-9")
    assert answer.status == 206 and answer.body == REFERENCE[:10]
    assert transfers.gate.active == 0


def test_every_request_socket_gets_the_idle_timeout(settings):
    settings.IDLE_SECONDS = 7.5
    left, right = socket.socketpair()
    with left, right:
        transfers.limit_idle({"gunicorn.socket": left})
        assert left.gettimeout() == 7.5


def test_the_system_checks_name_a_bad_sendfile_header_and_reserve(settings):
    from crds_server.web import checks

    assert checks.check_sendfile_header() == [] and checks.check_transfer_reserve() == []
    settings.SENDFILE_HEADER = "X-Send-It"
    assert [m.id for m in checks.check_sendfile_header()] == ["crds_server.web.E001"]
    settings.TRANSFER_RESERVE = settings.WEB_THREADS
    assert [m.id for m in checks.check_transfer_reserve()] == ["crds_server.web.E002"]
