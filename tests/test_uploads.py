"""The ingest area: chunked uploads, listing, deletion, jpoll channels (contract §5.2-5.3)."""

from __future__ import annotations

import datetime
import hashlib
import os
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from crds_server.accounts.actions import create_user
from crds_server.jobs import jpoll
from crds_server.locks import actions as locks
from crds_server.locks.models import InstrumentLock
from crds_server.submissions import ingest

PIECE = 2_000_000


@pytest.fixture
def area(settings, tmp_path):
    """This test's own SERVER_FILES."""
    settings.SERVER_FILES = tmp_path / "server_files"
    return settings.SERVER_FILES


@pytest.fixture
def homer(db, area):
    user = create_user("homer", "homer@example.org", "submitter")
    locks.acquire(user, "acs")
    return user


@pytest.fixture
def browser(homer) -> Client:
    """Homer logged in with the acs lock, on a client that checks CSRF like the real server."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(homer)
    return client


def upload(browser: Client, name: str, data: bytes, content_range: str | None = None):
    """One POST as `crds submit` sends it, with the token of a fresh GET /upload/chunked/."""
    token = browser.get("/upload/chunked/").cookies["csrftoken"].value
    headers = {"Content-Range": content_range} if content_range else {}
    return browser.post("/upload/chunked/", {"csrfmiddlewaretoken": token,
                                             "files": SimpleUploadedFile(name, data)}, headers=headers)


def piece(browser: Client, name: str, data: bytes, start: int, size: int = PIECE):
    chunk = data[start:start + size]
    return upload(browser, name, chunk, f"bytes {start}-{start + len(chunk) - 1}/{len(data)}")


def names(browser: Client) -> list[str]:
    return [f["name"] for f in browser.get("/upload/list/").json()["files"]]


def big(size: int = 4_500_254) -> bytes:
    return os.urandom(size)


def test_a_small_file_is_uploaded_in_one_piece_and_listed(browser, homer):
    response = upload(browser, "small.rmap", b"header = {}\n")
    assert response.status_code == 200
    assert response.json()["files"][0]["name"] == "small.rmap"
    assert (ingest.ingest_dir(homer) / "small.rmap").read_bytes() == b"header = {}\n"


def test_the_listing_has_name_size_and_a_delete_url_path(browser):
    upload(browser, "small.rmap", b"12345")
    listing = browser.get("/upload/list/").json()
    assert listing == {"files": [{"name": "small.rmap", "size": 5, "deleteUrl": "/upload/delete/small.rmap",
                                  "deleteType": "GET", "sha1": hashlib.sha1(b"12345").hexdigest()}]}


def test_a_big_file_arrives_in_pieces_and_every_answer_sets_a_csrftoken(browser, homer):
    data = big()
    answers = [piece(browser, "big.fits", data, start) for start in range(0, len(data), PIECE)]
    assert len(answers) == 3
    assert all(a.status_code == 200 and a.cookies["csrftoken"].value for a in answers)
    assert (ingest.ingest_dir(homer) / "big.fits").read_bytes() == data
    assert answers[-1].json()["files"][0]["size"] == len(data)


def test_an_unfinished_upload_is_neither_listed_nor_submitted(browser, homer):
    data = big()
    piece(browser, "big.fits", data, 0)
    assert names(browser) == []
    assert ingest.ingest_paths(homer) == []
    piece(browser, "big.fits", data, PIECE)
    piece(browser, "big.fits", data, 2 * PIECE)
    assert names(browser) == ["big.fits"]
    assert [p.name for p in ingest.ingest_paths(homer)] == ["big.fits"]


def test_a_repeated_piece_is_accepted_and_the_file_comes_out_right(browser, homer):
    data = big()
    piece(browser, "big.fits", data, 0)
    piece(browser, "big.fits", data, PIECE)
    assert piece(browser, "big.fits", data, PIECE).status_code == 200
    piece(browser, "big.fits", data, 2 * PIECE)
    assert piece(browser, "big.fits", data, 2 * PIECE).status_code == 200  # after completion too
    assert (ingest.ingest_dir(homer) / "big.fits").read_bytes() == data


def test_a_gap_is_refused_with_a_json_error_and_a_csrftoken(browser):
    data = big()
    piece(browser, "big.fits", data, 0)
    response = piece(browser, "big.fits", data, 2 * PIECE)
    assert response.status_code == 400
    assert "does not follow the 2000000 bytes" in response.json()["files"][0]["error"]
    assert response.cookies["csrftoken"].value
    assert names(browser) == []


def test_an_overlap_and_a_changed_total_are_refused(browser):
    data = big()
    piece(browser, "big.fits", data, 0)
    assert piece(browser, "big.fits", data, PIECE // 2).status_code == 400
    changed = upload(browser, "big.fits", data[PIECE:2 * PIECE], f"bytes {PIECE}-{2 * PIECE - 1}/9999999")
    assert "changed its total size" in changed.json()["files"][0]["error"]


def test_a_piece_without_a_start_is_refused(browser):
    data = big()
    response = piece(browser, "fresh.fits", data, PIECE)
    assert response.status_code == 400 and "No upload of 'fresh.fits'" in response.json()["files"][0]["error"]


def test_a_new_upload_from_the_start_replaces_an_abandoned_one(browser, homer):
    old, new = big(), big(4_100_000)
    piece(browser, "big.fits", old, 0)
    for start in range(0, len(new), PIECE):
        piece(browser, "big.fits", new, start)
    assert (ingest.ingest_dir(homer) / "big.fits").read_bytes() == new


def test_a_malformed_content_range_is_refused(browser):
    response = upload(browser, "x.fits", b"abc", "bytes 5-2/10")
    assert response.status_code == 400 and "START <= END < TOTAL" in response.json()["files"][0]["error"]


def test_files_over_the_size_limit_are_refused_with_413(browser, homer, settings):
    settings.UPLOAD_MAX_BYTES = 1000
    whole = upload(browser, "fat.fits", b"x" * 1001)
    assert whole.status_code == 413 and "exceeds the upload limit" in whole.json()["files"][0]["error"]
    chunked = upload(browser, "fat.fits", b"x" * 500, "bytes 0-499/5000")
    assert chunked.status_code == 413
    folder = ingest.ingest_dir(homer)
    assert [p.name for p in folder.rglob("*") if p.is_file()] == []


@pytest.mark.parametrize("name", ["../evil.fits", "a/b.fits", ".hidden", "", "x..fits", "-x.fits",
                                  "a b.fits", "x" * 129, "/etc/passwd"])
def test_bad_names_are_refused_by_the_ingest_area(homer, name):
    with pytest.raises(ingest.IngestError):
        ingest.receive_chunk(homer, name, [b"data"], None)


def raw_upload(browser: Client, filename: str, data: bytes):
    """A multipart POST whose file name is sent exactly as given (no client-side clean-up)."""
    token = browser.get("/upload/chunked/").cookies["csrftoken"].value
    body = (f'--B\r\nContent-Disposition: form-data; name="csrfmiddlewaretoken"\r\n\r\n{token}\r\n'
            f'--B\r\nContent-Disposition: form-data; name="files"; filename="{filename}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n").encode() + data + b"\r\n--B--\r\n"
    return browser.post("/upload/chunked/", body, content_type="multipart/form-data; boundary=B")


def test_a_traversing_upload_name_never_writes_outside_the_users_area(browser, homer, area):
    for name in ("../../evil.fits", "..", "../homer2/x.fits", "..\\..\\win.fits", "%2e%2e%2fx.fits"):
        assert raw_upload(browser, name, b"evil").status_code in (200, 400)
    written = [p for p in area.rglob("*") if p.is_file()]
    assert all(ingest.ingest_dir(homer) in p.parents for p in written), written


def test_delete_by_get_removes_the_file(browser, homer):
    upload(browser, "small.rmap", b"12345")
    response = browser.get("/upload/delete/small.rmap")
    assert response.status_code == 200 and response.json() == {"files": [{"small.rmap": True}]}
    assert names(browser) == []
    assert browser.get("/upload/delete/small.rmap").status_code == 404


def test_delete_refuses_a_traversal_name(browser, area):
    (area / "ingest").mkdir(parents=True, exist_ok=True)
    (area / "ingest" / "victim").write_text("keep me")
    assert browser.get("/upload/delete/..").status_code == 400
    assert browser.get("/upload/delete/%2E%2E%2Fvictim").status_code in (400, 404)
    assert (area / "ingest" / "victim").exists()


def test_delete_drops_an_unfinished_upload(browser, homer):
    piece(browser, "big.fits", big(), 0)
    assert browser.get("/upload/delete/big.fits").status_code == 200
    assert list((ingest.ingest_dir(homer) / ingest.PARTIAL).iterdir()) == []


def test_a_file_copied_in_by_hand_is_listed_like_an_upload(browser, homer):
    folder = ingest.ingest_dir(homer, create=True)
    (folder / "copied.fits").write_bytes(b"by hand")
    assert names(browser) == ["copied.fits"]


def test_anonymous_requests_are_refused_but_still_get_a_csrftoken(db, area):
    anonymous = Client(enforce_csrf_checks=True)
    token = anonymous.get("/upload/chunked/").cookies["csrftoken"].value
    response = anonymous.post("/upload/chunked/", {"csrfmiddlewaretoken": token,
                                                   "files": SimpleUploadedFile("a.fits", b"a")})
    assert response.status_code == 401 and response.cookies["csrftoken"].value
    assert anonymous.get("/upload/list/").status_code == 401
    assert anonymous.get("/jpoll/open_channel").status_code == 401
    assert anonymous.get("/upload/")["Location"].startswith("/login/")


def test_a_submitter_without_a_lock_may_upload_locks_are_checked_at_submit(browser, homer):
    locks.release(homer)  # as after a login with instrument 'none'
    response = upload(browser, "a.fits", b"a")
    assert response.status_code == 200 and names(browser) == ["a.fits"]


def test_an_upload_renews_the_lock_the_submitter_holds(browser, homer):
    soon = timezone.now() + datetime.timedelta(minutes=1)
    assert InstrumentLock.objects.filter(user=homer).update(expires=soon) == 1
    upload(browser, "a.fits", b"a")
    assert InstrumentLock.objects.get(user=homer).expires > soon + datetime.timedelta(minutes=30)


def test_an_operator_logged_in_without_a_lock_may_upload(db, area):
    marge = create_user("marge", "marge@example.org", "operator")
    client = Client(enforce_csrf_checks=True)
    client.force_login(marge)
    assert upload(client, "a.fits", b"a").status_code == 200


def test_open_channel_answers_a_bare_string_key_tied_to_the_session(browser):
    response = browser.get("/jpoll/open_channel")
    key = response.json()
    assert isinstance(key, str) and re.fullmatch(r"[A-Za-z0-9:.-]{1,128}", key)
    assert jpoll.session_channel(browser.session.session_key) == key
    assert browser.get("/jpoll/open_channel/").json() != key


def test_the_upload_page_lists_the_files_with_labelled_controls(browser):
    upload(browser, "small.rmap", b"12345")
    body = browser.get("/upload/").content.decode()
    assert "Upload Files" in body and "small.rmap" in body
    assert 'for="upload-files"' in body and 'aria-label="Delete small.rmap"' in body
    assert "error_message" not in body


def test_the_page_forms_work_without_javascript(browser):
    token = browser.get("/upload/chunked/").cookies["csrftoken"].value
    response = browser.post("/upload/chunked/", {"csrfmiddlewaretoken": token, "next": "/upload/",
                                                 "files": SimpleUploadedFile("a.fits", b"a")})
    assert response.status_code == 302 and response["Location"] == "/upload/"
    token = browser.get("/upload/chunked/").cookies["csrftoken"].value
    deleted = browser.post("/upload/delete/a.fits", {"csrfmiddlewaretoken": token, "next": "/upload/"})
    assert deleted["Location"] == "/upload/" and names(browser) == []
