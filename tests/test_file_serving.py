"""File downloads from the `unchecked_get` tree and the legacy `/get/` URL."""

from __future__ import annotations

import hashlib
import os
import pickle
from pathlib import Path

import pytest
from django.utils.http import http_date

MAPPING_TEXT = b"header = {'name' : 'hst_acs_0001.imap'}\nselector = {}\n"
REFERENCE = bytes(range(256)) * 40  # 10,240 bytes
CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"

pytestmark = pytest.mark.django_db


def url(kind: str, name: str, observatory: str = "hst") -> str:
    return f"/unchecked_get/{kind}/{observatory}/{name}"


def body(response) -> bytes:
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


@pytest.fixture
def reference(catalog):
    return catalog.add_file("n3o1022ij_drk.fits", REFERENCE)


@pytest.fixture
def secrets(settings):
    """Files next to and below the reference store that must never be served."""
    outside = Path(settings.FILE_CACHE) / "references" / "secret.fits"
    below = Path(settings.FILE_CACHE) / "references" / "hst" / "sub" / "secret.fits"
    below.parent.mkdir(parents=True, exist_ok=True)
    for path in (outside, below):
        path.write_bytes(b"SECRET")
    yield
    outside.unlink()
    below.unlink()
    below.parent.rmdir()


# Plain downloads


def test_it_serves_a_mapping_with_its_exact_bytes(client, catalog):
    catalog.add_file("hst_acs_0001.imap", MAPPING_TEXT)
    response = client.get(url("mappings", "hst_acs_0001.imap"))
    assert response.status_code == 200
    assert body(response) == MAPPING_TEXT
    assert response["Content-Type"].startswith("text/plain")


def test_it_serves_a_reference_with_its_exact_length_and_etag(client, reference):
    response = client.get(url("references", reference.name))
    sha1 = hashlib.sha1(REFERENCE).hexdigest()
    assert response.status_code == 200
    assert body(response) == REFERENCE
    assert response["Content-Length"] == str(len(REFERENCE))
    assert response["ETag"] == f'"{sha1}"'
    assert response["X-Checksum-Sha1"] == sha1
    assert response["Content-Type"] == "application/octet-stream"


def test_it_marks_files_as_immutable_and_rangeable(client, reference):
    response = client.get(url("references", reference.name))
    mtime = os.stat(reference.store_path()).st_mtime
    assert response["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response["Accept-Ranges"] == "bytes"
    assert response["Last-Modified"] == http_date(mtime)


def test_it_streams_a_multi_megabyte_file_without_buffering_it(client, catalog):
    content = os.urandom(5 * 1024 * 1024 + 17)
    catalog.add_file("big_flat.fits", content)
    response = client.get(url("references", "big_flat.fits"))
    assert response.status_code == 200
    assert response.streaming
    chunks = list(response.streaming_content)
    assert len(chunks) > 1
    assert b"".join(chunks) == content


def test_it_serves_a_geis_data_file(client, catalog):
    catalog.add_file("e1b09593u.r0d", b"geis data" * 100)
    catalog.add_file("e1b09593u.r0h", b"SIMPLE  =                    F")
    response = client.get(url("references", "e1b09593u.r0d"))
    assert response.status_code == 200
    assert body(response) == b"geis data" * 100


# HEAD, as sent by `crds check_archive`


def test_it_answers_head_with_the_get_headers_and_no_body(client, reference):
    get = client.get(url("references", reference.name))
    head = client.head(url("references", reference.name))
    assert head.status_code == 200
    assert body(head) == b""
    for header in ("Content-Length", "ETag", "Last-Modified", "Cache-Control", "X-Checksum-Sha1"):
        assert head[header] == get[header]
    assert head["Content-Length"] == str(len(REFERENCE))


# Ranges


@pytest.mark.parametrize(
    "header, start, end",
    [
        ("bytes=0-99", 0, 99),
        ("bytes=100-199", 100, 199),
        ("bytes=10000-", 10000, 10239),
        ("bytes=-40", 10200, 10239),
        ("bytes=10200-99999", 10200, 10239),
        ("bytes=-999999", 0, 10239),
    ],
)
def test_it_serves_a_single_byte_range_as_partial_content(client, reference, header, start, end):
    response = client.get(url("references", reference.name), headers={"Range": header})
    assert response.status_code == 206
    assert response.streaming
    assert body(response) == REFERENCE[start : end + 1]
    assert response["Content-Length"] == str(end - start + 1)
    assert response["Content-Range"] == f"bytes {start}-{end}/{len(REFERENCE)}"


def test_it_streams_a_long_range_in_several_chunks(client, catalog):
    content = os.urandom(3 * 1024 * 1024)
    catalog.add_file("long_range.fits", content)
    headers = {"Range": "bytes=5-2999999"}
    response = client.get(url("references", "long_range.fits"), headers=headers)
    chunks = list(response.streaming_content)
    assert response.status_code == 206
    assert len(chunks) > 1
    assert b"".join(chunks) == content[5:3000000]


@pytest.mark.parametrize("header", ["bytes=10240-", "bytes=99999-100000", "bytes=-0"])
def test_it_refuses_an_unsatisfiable_range_with_416(client, reference, header):
    response = client.get(url("references", reference.name), headers={"Range": header})
    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{len(REFERENCE)}"


@pytest.mark.parametrize("header", ["bytes=0-1,5-6", "bytes=9-3", "items=0-5", "bytes=a-b"])
def test_it_answers_several_or_malformed_ranges_with_the_whole_file(client, reference, header):
    response = client.get(url("references", reference.name), headers={"Range": header})
    assert response.status_code == 200
    assert body(response) == REFERENCE


def test_it_ignores_a_range_on_head(client, reference):
    response = client.head(url("references", reference.name), headers={"Range": "bytes=0-9"})
    assert response.status_code == 200
    assert response["Content-Length"] == str(len(REFERENCE))


def test_it_honours_if_range_with_the_current_etag(client, reference):
    headers = {"Range": "bytes=0-9", "If-Range": f'"{reference.sha1sum}"'}
    response = client.get(url("references", reference.name), headers=headers)
    assert response.status_code == 206
    assert body(response) == REFERENCE[:10]


def test_it_honours_if_range_with_the_last_modified_date(client, reference):
    date = http_date(os.stat(reference.store_path()).st_mtime)
    headers = {"Range": "bytes=0-9", "If-Range": date}
    response = client.get(url("references", reference.name), headers=headers)
    assert response.status_code == 206


@pytest.mark.parametrize("if_range", [f'"{"0" * 40}"', "Tue, 01 Jan 2002 00:00:00 GMT"])
def test_it_sends_the_whole_file_when_if_range_does_not_match(client, reference, if_range):
    headers = {"Range": "bytes=0-9", "If-Range": if_range}
    response = client.get(url("references", reference.name), headers=headers)
    assert response.status_code == 200
    assert body(response) == REFERENCE


# Conditional requests


def test_it_answers_304_when_if_none_match_names_the_etag(client, reference):
    headers = {"If-None-Match": f'"{reference.sha1sum}"'}
    response = client.get(url("references", reference.name), headers=headers)
    assert response.status_code == 304
    assert body(response) == b""
    assert response["ETag"] == f'"{reference.sha1sum}"'


def test_it_compares_if_none_match_weakly(client, reference):
    headers = {"If-None-Match": f'"other", W/"{reference.sha1sum}"'}
    response = client.get(url("references", reference.name), headers=headers)
    assert response.status_code == 304


def test_it_sends_the_file_when_if_none_match_names_another_etag(client, reference):
    response = client.get(url("references", reference.name), headers={"If-None-Match": '"other"'})
    assert response.status_code == 200
    assert body(response) == REFERENCE


def test_it_answers_304_when_not_modified_since(client, reference):
    date = http_date(os.stat(reference.store_path()).st_mtime + 60)
    response = client.get(url("references", reference.name), headers={"If-Modified-Since": date})
    assert response.status_code == 304


# What is not served


def test_it_answers_404_for_a_name_it_does_not_know(client, catalog):
    response = client.get(url("references", "nothere_drk.fits"))
    assert response.status_code == 404
    assert b"unknown to this server" in response.content
    assert response["Content-Type"].startswith("text/plain")


def test_it_answers_404_for_a_file_of_the_other_kind(client, catalog, reference):
    catalog.add_file("hst_acs_0001.imap", MAPPING_TEXT)
    assert client.get(url("mappings", reference.name)).status_code == 404
    assert client.get(url("references", "hst_acs_0001.imap")).status_code == 404


def test_it_answers_404_for_another_observatory(client, reference):
    assert client.get(url("references", reference.name, observatory="jwst")).status_code == 404


@pytest.mark.parametrize("state", ["uploaded", "archiving-failed", "bad"])
def test_it_answers_404_for_a_file_that_is_not_distributable(client, catalog, state):
    catalog.add_file("x_uploaded_drk.fits", REFERENCE, state=state)
    assert client.get(url("references", "x_uploaded_drk.fits")).status_code == 404


@pytest.mark.parametrize("flag", ["rejected", "blacklisted"])
def test_it_still_serves_bad_files_because_old_contexts_need_them(client, catalog, flag):
    catalog.add_file("x_bad_drk.fits", REFERENCE, **{flag: True})
    assert client.get(url("references", "x_bad_drk.fits")).status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/unchecked_get/references/hst/..%2Fsecret.fits",
        "/unchecked_get/references/hst/..%2F..%2Fdb.sqlite3",
        "/unchecked_get/references/hst/%2E%2E",
        "/unchecked_get/references/hst/..",
        "/unchecked_get/references/hst/sub%2Fsecret.fits",
        "/unchecked_get/references/../references/secret.fits",
        "/unchecked_get/pickles/hst/..%2Fsecret.fits",
        "/unchecked_get/config/hst/..%2F..%2Freferences%2Fsecret.fits",
        "/unchecked_get/references/hst/.hidden.fits",
        "/unchecked_get/references/hst/a..b.fits",
        "/unchecked_get/references/hst/n3o1022ij_drk.fits%0A",
    ],
)
def test_it_never_serves_a_file_outside_the_store(client, reference, secrets, path):
    response = client.get(path)
    assert response.status_code == 404
    assert b"SECRET" not in body(response)


def test_it_refuses_other_methods_with_405(client, reference):
    response = client.post(url("references", reference.name))
    assert response.status_code == 405
    assert "GET" in response["Allow"]
    assert client.put(url("references", reference.name)).status_code == 405
    assert client.delete(url("references", reference.name)).status_code == 405


def test_it_refuses_a_post_without_csrf_token_with_405_not_403(reference):
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post(url("references", reference.name))
    assert response.status_code == 405


# The store disagrees with the catalog


def test_it_answers_503_when_the_size_on_disk_differs_from_the_catalog(client, reference, caplog):
    reference.store_path().write_bytes(REFERENCE + b"extra")
    response = client.get(url("references", reference.name))
    assert response.status_code == 503
    assert b"inconsistent" in response.content
    assert b"extra" not in response.content
    assert "inconsistent" in caplog.text


def test_it_answers_503_on_head_when_the_size_on_disk_differs(client, reference):
    reference.store_path().write_bytes(b"short")
    assert client.head(url("references", reference.name)).status_code == 503


def test_it_answers_503_when_a_catalogued_file_is_missing_from_disk(client, reference, caplog):
    reference.store_path().unlink()
    response = client.get(url("references", reference.name))
    assert response.status_code == 503
    assert "missing" in caplog.text


# Config


def test_it_serves_server_config_from_the_server_info(client, monkeypatch, catalog):
    from crds_server.catalog import serverinfo

    monkeypatch.setattr(serverinfo, "server_config_text", lambda: "{'connected': True}\n")
    response = client.get(url("config", "server_config"))
    assert response.status_code == 200
    assert response.content == b"{'connected': True}\n"
    assert response["Content-Type"].startswith("text/plain")
    assert response["Cache-Control"] == "public, max-age=60"


def test_it_serves_bad_files_txt_from_the_server_info(client, monkeypatch, catalog):
    from crds_server.catalog import serverinfo

    monkeypatch.setattr(serverinfo, "bad_files_text", lambda: "a_bad.fits\nb_bad.fits\n")
    response = client.get(url("config", "bad_files.txt"))
    assert response.status_code == 200
    assert response.content == b"a_bad.fits\nb_bad.fits\n"


def test_it_answers_head_for_server_config_with_its_length(client, monkeypatch, catalog):
    from crds_server.catalog import serverinfo

    monkeypatch.setattr(serverinfo, "server_config_text", lambda: "{'x': 1}\n")
    response = client.head(url("config", "server_config"))
    assert response.status_code == 200
    assert response["Content-Length"] == "9"
    assert body(response) == b""


def test_it_answers_503_when_the_server_info_cannot_be_built(client, monkeypatch, catalog):
    from crds_server.catalog import serverinfo

    def broken() -> str:
        raise RuntimeError("boom")

    monkeypatch.setattr(serverinfo, "server_config_text", broken)
    assert client.get(url("config", "server_config")).status_code == 503


def test_it_answers_404_for_other_config_names(client, catalog):
    assert client.get(url("config", "crds_db.sqlite3")).status_code == 404


# Pickles


def test_it_serves_an_existing_pickle(client, catalog, settings):
    catalog.add_file("hst_0001.pmap", b"header = {}\n")
    path = Path(settings.FILE_CACHE) / "pickles" / "hst" / "hst_0001.pmap.pkl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"pickled bytes")
    response = client.get(url("pickles", "hst_0001.pmap.pkl"))
    assert response.status_code == 200
    assert body(response) == b"pickled bytes"
    assert response["Content-Length"] == "13"
    assert response["ETag"]
    path.unlink()


def test_it_never_serves_the_pickle_of_a_context_it_does_not_serve(client, db, settings):
    path = Path(settings.FILE_CACHE) / "pickles" / "hst" / "hst_0077.pmap.pkl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"left over")
    assert client.get(url("pickles", "hst_0077.pmap.pkl")).status_code == 404
    path.unlink()


def test_it_replaces_a_pickle_older_than_its_context(client, catalog, settings, monkeypatch):
    import os

    loader = pytest.importorskip("crds_server.catalog.loader")
    path = Path(settings.FILE_CACHE) / "pickles" / "hst" / "hst_0005.pmap.pkl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"stale pickle")
    os.utime(path, (1, 1))
    catalog.add_file("hst_0005.pmap", b"header = {}\n")
    monkeypatch.setattr(loader, "get_mapping", lambda name: path.write_bytes(b"fresh pickle"))
    assert body(client.get(url("pickles", "hst_0005.pmap.pkl"))) == b"fresh pickle"
    path.unlink()


def test_it_generates_a_missing_pickle_of_a_catalogued_context(
    client, catalog, settings, monkeypatch
):
    loader = pytest.importorskip("crds_server.catalog.loader")
    catalog.add_file("hst_0002.pmap", b"header = {}\n")
    path = Path(settings.FILE_CACHE) / "pickles" / "hst" / "hst_0002.pmap.pkl"
    loaded = []

    def get_mapping(name: str) -> None:
        loaded.append(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"fresh pickle")

    monkeypatch.setattr(loader, "get_mapping", get_mapping)
    response = client.get(url("pickles", "hst_0002.pmap.pkl"))
    assert loaded == ["hst_0002.pmap"]
    assert response.status_code == 200
    assert body(response) == b"fresh pickle"
    path.unlink()


def test_it_does_not_generate_pickles_for_unknown_contexts(client, catalog, monkeypatch):
    loader = pytest.importorskip("crds_server.catalog.loader")
    catalog.add_file("hst_0003.pmap", b"header = {}\n", state="uploaded")
    monkeypatch.setattr(loader, "get_mapping", lambda name: pytest.fail("must not load"))
    assert client.get(url("pickles", "hst_0003.pmap.pkl")).status_code == 404
    assert client.get(url("pickles", "hst_9999.pmap.pkl")).status_code == 404


def test_it_answers_404_for_a_pickle_name_that_is_not_a_context(client, catalog):
    assert client.get(url("pickles", "hst_acs_0001.imap.pkl")).status_code == 404


@pytest.mark.corpus
@pytest.mark.skipif(not (CORPUS / "hst" / "mappings").is_dir(), reason="needs ../shared/corpus")
def test_it_generates_a_real_pickle_with_the_crds_loader(client, catalog, settings):
    loader = pytest.importorskip("crds_server.catalog.loader")
    for mapping in sorted((CORPUS / "hst" / "mappings").iterdir()):
        catalog.add_file(mapping.name, mapping.read_bytes())
    path = Path(settings.FILE_CACHE) / "pickles" / "hst" / "hst.pmap.pkl"
    loader.forget()
    try:
        response = client.get(url("pickles", "hst.pmap.pkl"))
        assert response.status_code == 200
        assert pickle.loads(body(response)).name == "hst.pmap"
    finally:
        path.unlink(missing_ok=True)
        loader.forget()


# Legacy checked URL


def test_it_redirects_the_legacy_get_url_to_the_unchecked_url(client, catalog, reference):
    catalog.add_file("hst_acs_0001.imap", MAPPING_TEXT)
    response = client.get(f"/get/{reference.name}")
    assert response.status_code == 302
    assert response["Location"] == url("references", reference.name)
    assert client.get("/get/hst_acs_0001.imap")["Location"] == url("mappings", "hst_acs_0001.imap")


def test_it_answers_404_on_the_legacy_get_url_for_unknown_files(client, catalog):
    assert client.get("/get/nothere_drk.fits").status_code == 404
    assert client.get("/get/..").status_code == 404
