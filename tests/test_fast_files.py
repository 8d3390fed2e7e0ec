"""The WSGI fast path for downloads (`web.fastfiles`), called as gunicorn calls it.

Django's test client does not go through `wsgi.py`, so these tests build
WSGI environs and call the `FastFiles` callable directly; requests it does
not answer go to a real Django WSGI handler.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from wsgiref.util import FileWrapper, setup_testing_defaults

import pytest
from django.utils.http import http_date

from crds_server.web import fastfiles

MAPPING_TEXT = b"header = {'name' : 'hst_acs_0001.imap'}\nselector = {}\n"
REFERENCE = bytes(range(256)) * 40  # 10,240 bytes

pytestmark = pytest.mark.django_db


@dataclass
class Answer:
    """One WSGI response: status code, headers, body and the iterable itself."""

    status: int
    headers: dict[str, str]
    body: bytes
    iterable: object = None
    chunks: list[bytes] = field(default_factory=list)

    def __getitem__(self, name: str) -> str:
        return self.headers[name.lower()]


@pytest.fixture(autouse=True)
def _fresh_index(monkeypatch) -> Iterator[None]:
    """A new index per test; no connection closing inside the test's transaction.

    Tests roll the catalog version back, and Django's test client likewise
    keeps `close_old_connections` from closing the test's connection.
    """
    from django.core import signals
    from django.db import close_old_connections

    monkeypatch.setattr(fastfiles, "close_old_connections", lambda: None)
    fastfiles.index.forget()
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)
    fastfiles.index.forget()


class Spy:
    """The application behind the fast path: Django, recording what reached it."""

    def __init__(self) -> None:
        from django.core.handlers.wsgi import WSGIHandler

        self.django = WSGIHandler()
        self.paths: list[str] = []

    def __call__(self, environ, start_response):
        self.paths.append(environ["PATH_INFO"])
        return self.django(environ, start_response)


@pytest.fixture
def django_app() -> Spy:
    return Spy()


@pytest.fixture
def app(django_app) -> fastfiles.FastFiles:
    return fastfiles.FastFiles(django_app)


def call(app, path: str, method: str = "GET", **headers: str) -> Answer:
    """Call `app` as a WSGI server would; `headers` as keyword names (If_Range=...)."""
    environ: dict = {"REQUEST_METHOD": method, "PATH_INFO": path, "wsgi.input": io.BytesIO()}
    setup_testing_defaults(environ)
    environ["wsgi.file_wrapper"] = FileWrapper
    for name, value in headers.items():
        environ["HTTP_" + name.upper()] = value
    started: list = []
    iterable = app(environ, lambda status, head, exc_info=None: started.append((status, head)))
    chunks = [chunk for chunk in iterable if chunk]
    if hasattr(iterable, "close"):
        iterable.close()
    status, head = started[0]
    return Answer(int(status.split()[0]), {k.lower(): v for k, v in head}, b"".join(chunks),
                  iterable, chunks)


def url(kind: str, name: str, observatory: str = "hst") -> str:
    return f"/unchecked_get/{kind}/{observatory}/{name}"


@pytest.fixture
def reference(catalog):
    return catalog.add_file("n3o1022ij_drk.fits", REFERENCE)


# Plain downloads, answered without Django


def test_it_serves_a_mapping_with_its_exact_bytes_without_django(app, django_app, catalog):
    catalog.add_file("hst_acs_0001.imap", MAPPING_TEXT)
    answer = call(app, url("mappings", "hst_acs_0001.imap"))
    assert answer.status == 200
    assert answer.body == MAPPING_TEXT
    assert answer["Content-Type"].startswith("text/plain")
    assert django_app.paths == []


def test_it_serves_a_reference_through_the_file_wrapper_with_length_and_etag(app, reference):
    answer = call(app, url("references", reference.name))
    sha1 = hashlib.sha1(REFERENCE).hexdigest()
    assert answer.status == 200
    assert isinstance(answer.iterable, FileWrapper)  # so gunicorn can use sendfile
    assert answer.body == REFERENCE
    assert answer["Content-Length"] == str(len(REFERENCE))
    assert answer["ETag"] == f'"{sha1}"'
    assert answer["X-Checksum-Sha1"] == sha1
    assert answer["Content-Type"] == "application/octet-stream"


def test_it_marks_files_as_immutable_and_rangeable(app, reference):
    answer = call(app, url("references", reference.name))
    mtime = os.stat(reference.store_path()).st_mtime
    assert answer["Cache-Control"] == "public, max-age=31536000, immutable"
    assert answer["Accept-Ranges"] == "bytes"
    assert answer["Last-Modified"] == http_date(mtime)
    assert answer["X-Content-Type-Options"] == "nosniff"


def test_it_sends_the_same_headers_as_the_django_view(app, client, reference):
    for headers in ({}, {"Range": "bytes=0-9"}, {"If-None-Match": f'"{reference.sha1sum}"'}):
        ours = call(app, url("references", reference.name),
                    **{k.replace("-", "_"): v for k, v in headers.items()})
        django = client.get(url("references", reference.name), headers=headers)
        assert ours.status == django.status_code
        for name, value in django.items():
            if name.lower() != "content-type" or ours.status != 304:
                assert ours[name] == value, name


def test_it_treats_a_doubled_leading_slash_as_one(app, django_app, reference):
    answer = call(app, "/" + url("references", reference.name))
    assert answer.status == 200
    assert answer.body == REFERENCE
    assert django_app.paths == []


def test_it_serves_a_file_catalogued_after_the_index_was_built(app, catalog, reference):
    assert call(app, url("references", reference.name)).status == 200
    catalog.add_file("new_one_drk.fits", b"just confirmed")
    assert call(app, url("references", "new_one_drk.fits")).body == b"just confirmed"


def test_it_stops_serving_a_file_once_the_catalog_version_moves(app, monkeypatch, reference):
    from crds_server.catalog import versioning
    from crds_server.catalog.models import File

    assert call(app, url("references", reference.name)).status == 200
    File.objects.filter(pk=reference.pk).update(state="bad")
    versioning.bump()
    monkeypatch.setattr(fastfiles, "CHECK_SECONDS", 0.0)
    assert call(app, url("references", reference.name)).status == 404


def test_it_reads_the_catalog_version_at_most_once_per_interval(app, monkeypatch, reference):
    from crds_server.catalog import versioning

    reads = []
    real = versioning.current
    monkeypatch.setattr(versioning, "current", lambda: reads.append(1) or real())
    monkeypatch.setattr(fastfiles, "CHECK_SECONDS", 3600.0)
    for _ in range(5):
        assert call(app, url("references", reference.name)).status == 200
    assert len(reads) == 1


# HEAD


def test_it_answers_head_with_the_get_headers_and_no_body(app, reference):
    get = call(app, url("references", reference.name))
    head = call(app, url("references", reference.name), method="HEAD")
    assert head.status == 200
    assert head.body == b""
    for header in ("Content-Length", "ETag", "Last-Modified", "Cache-Control", "X-Checksum-Sha1"):
        assert head[header] == get[header]


# Ranges


@pytest.mark.parametrize(
    "header, start, end",
    [
        ("bytes=0-99", 0, 99),
        ("bytes=10000-", 10000, 10239),
        ("bytes=-40", 10200, 10239),
        ("bytes=10200-99999", 10200, 10239),
        ("bytes=-999999", 0, 10239),
    ],
)
def test_it_serves_a_single_byte_range_as_partial_content(app, reference, header, start, end):
    answer = call(app, url("references", reference.name), Range=header)
    assert answer.status == 206
    assert answer.body == REFERENCE[start : end + 1]
    assert answer["Content-Length"] == str(end - start + 1)
    assert answer["Content-Range"] == f"bytes {start}-{end}/{len(REFERENCE)}"


def test_it_streams_a_long_range_in_several_chunks(app, catalog):
    content = os.urandom(3 * 1024 * 1024)
    catalog.add_file("long_range.fits", content)
    answer = call(app, url("references", "long_range.fits"), Range="bytes=5-2999999")
    assert answer.status == 206
    assert len(answer.chunks) > 1
    assert answer.body == content[5:3000000]


@pytest.mark.parametrize("header", ["bytes=10240-", "bytes=-0"])
def test_it_refuses_an_unsatisfiable_range_with_416(app, reference, header):
    answer = call(app, url("references", reference.name), Range=header)
    assert answer.status == 416
    assert answer["Content-Range"] == f"bytes */{len(REFERENCE)}"


@pytest.mark.parametrize("header", ["bytes=0-1,5-6", "bytes=9-3", "items=0-5"])
def test_it_answers_several_or_malformed_ranges_with_the_whole_file(app, reference, header):
    answer = call(app, url("references", reference.name), Range=header)
    assert answer.status == 200
    assert answer.body == REFERENCE


def test_it_ignores_a_range_on_head(app, reference):
    answer = call(app, url("references", reference.name), method="HEAD", Range="bytes=0-9")
    assert answer.status == 200
    assert answer["Content-Length"] == str(len(REFERENCE))


def test_it_honours_if_range_with_the_etag_or_the_date(app, reference):
    date = http_date(os.stat(reference.store_path()).st_mtime)
    for if_range in (f'"{reference.sha1sum}"', date):
        answer = call(app, url("references", reference.name), Range="bytes=0-9", If_Range=if_range)
        assert answer.status == 206
        assert answer.body == REFERENCE[:10]


def test_it_sends_the_whole_file_when_if_range_does_not_match(app, reference):
    answer = call(app, url("references", reference.name), Range="bytes=0-9", If_Range='"other"')
    assert answer.status == 200
    assert answer.body == REFERENCE


# Conditional requests


def test_it_answers_304_when_if_none_match_names_the_etag_even_weakly(app, reference):
    for tag in (f'"{reference.sha1sum}"', f'"other", W/"{reference.sha1sum}"'):
        answer = call(app, url("references", reference.name), If_None_Match=tag)
        assert answer.status == 304
        assert answer.body == b""


def test_it_sends_the_file_when_if_none_match_names_another_etag(app, reference):
    assert call(app, url("references", reference.name), If_None_Match='"other"').status == 200


def test_it_answers_304_when_not_modified_since(app, reference):
    date = http_date(os.stat(reference.store_path()).st_mtime + 60)
    assert call(app, url("references", reference.name), If_Modified_Since=date).status == 304


# What is not served


def test_it_answers_404_for_a_name_it_does_not_know(app, django_app, catalog):
    answer = call(app, url("references", "nothere_drk.fits"))
    assert answer.status == 404
    assert b"unknown to this server" in answer.body
    assert answer["Content-Type"].startswith("text/plain")
    assert django_app.paths == []


def test_it_answers_404_for_a_file_of_the_other_kind(app, catalog, reference):
    catalog.add_file("hst_acs_0001.imap", MAPPING_TEXT)
    assert call(app, url("mappings", reference.name)).status == 404
    assert call(app, url("references", "hst_acs_0001.imap")).status == 404


@pytest.mark.parametrize("state", ["uploaded", "archiving-failed", "bad"])
def test_it_answers_404_for_a_file_that_is_not_distributable(app, catalog, state):
    catalog.add_file("x_uploaded_drk.fits", REFERENCE, state=state)
    assert call(app, url("references", "x_uploaded_drk.fits")).status == 404


@pytest.mark.parametrize("flag", ["rejected", "blacklisted"])
def test_it_still_serves_bad_files_because_old_contexts_need_them(app, catalog, flag):
    catalog.add_file("x_bad_drk.fits", REFERENCE, **{flag: True})
    assert call(app, url("references", "x_bad_drk.fits")).status == 200


@pytest.mark.parametrize(
    "path",
    [
        "/unchecked_get/references/hst/../secret.fits",
        "/unchecked_get/references/hst/..",
        "/unchecked_get/references/hst/sub/secret.fits",
        "/unchecked_get/references/../references/secret.fits",
        "/unchecked_get/references/hst/.hidden.fits",
        "/unchecked_get/references/hst/a..b.fits",
        "/unchecked_get/references/hst/n3o1022ij_drk.fits\n",
        "/unchecked_get/references/jwst/n3o1022ij_drk.fits",
    ],
)
def test_it_leaves_odd_paths_to_django_which_refuses_them(app, django_app, reference, path):
    answer = call(app, path)
    assert answer.status == 404
    assert django_app.paths == [path]


def test_it_leaves_other_methods_to_django_which_answers_405(app, django_app, reference):
    for method in ("POST", "PUT", "DELETE"):
        answer = call(app, url("references", reference.name), method=method)
        assert answer.status == 405
        assert "GET" in answer["Allow"]
    assert len(django_app.paths) == 3


def test_it_leaves_other_urls_to_django(app, django_app, catalog, monkeypatch):
    from crds_server.catalog import serverinfo

    monkeypatch.setattr(serverinfo, "server_config_text", lambda: "{'connected': True}\n")
    assert call(app, "/unchecked_get/config/hst/server_config").body == b"{'connected': True}\n"
    assert call(app, "/health").status == 200
    assert django_app.paths == ["/unchecked_get/config/hst/server_config", "/health"]


def test_it_leaves_a_host_django_would_refuse_to_django(django_app, reference, settings):
    settings.ALLOWED_HOSTS = ["crds.example.org"]
    app = fastfiles.FastFiles(django_app)
    assert call(app, url("references", reference.name), HOST="crds.example.org").status == 200
    assert django_app.paths == []
    assert call(app, url("references", reference.name), HOST="evil.example.com").status == 400
    assert len(django_app.paths) == 1


def test_it_leaves_the_request_to_django_when_the_catalog_cannot_be_read(
    app, django_app, monkeypatch, reference
):
    def broken(name, kind):
        raise RuntimeError("database gone")

    monkeypatch.setattr(fastfiles.index, "lookup", broken)
    assert call(app, url("references", reference.name)).status == 200
    assert len(django_app.paths) == 1


# The store disagrees with the catalog


def test_it_answers_503_when_the_size_on_disk_differs_from_the_catalog(app, reference, caplog):
    reference.store_path().write_bytes(REFERENCE + b"extra")
    answer = call(app, url("references", reference.name))
    assert answer.status == 503
    assert b"inconsistent" in answer.body
    assert b"extra" not in answer.body
    assert "inconsistent" in caplog.text


def test_it_answers_503_on_head_when_the_size_on_disk_differs(app, reference):
    reference.store_path().write_bytes(b"short")
    assert call(app, url("references", reference.name), method="HEAD").status == 503


def test_it_answers_503_when_a_catalogued_file_is_missing_from_disk(app, reference, caplog):
    reference.store_path().unlink()
    assert call(app, url("references", reference.name)).status == 503
    assert "missing" in caplog.text


# Wiring


def test_the_wsgi_application_puts_the_fast_path_in_front_of_django():
    from django.core.handlers.wsgi import WSGIHandler

    from crds_server import wsgi

    assert isinstance(wsgi.application, fastfiles.FastFiles)
    # Behind it, Django wrapped so that a refused request body closes its connection.
    assert wsgi.application.app.__qualname__ == "close_after_refusals.<locals>.wrapped"
    assert isinstance(wsgi.django_application, WSGIHandler)
