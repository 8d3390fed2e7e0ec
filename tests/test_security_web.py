"""Web pages and downloads on the open internet: bounded name searches, hostile headers and
names answered without a 500, operator pages that anonymous visitors cannot use to fill the
audit log, and results pages for their submitter only."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import unquote_to_bytes
from wsgiref.util import FileWrapper, setup_testing_defaults

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from crds_server.accounts.actions import create_user
from crds_server.catalog.models import AuditEntry, File
from crds_server.security import glob
from crds_server.security.errors import LimitExceeded
from crds_server.web import browse, fastfiles
from tests.submitting import persona, put_in_ingest, run

REFERENCE = bytes(range(256)) * 40  # 10,240 bytes
HUGE = "9" * 5000  # past Python's 4,300-digit int conversion limit
STARS = [("*" * n) + "X" for n in range(1, 9)]


# Name globs: one LIKE pattern, the same work whatever the stars


@pytest.fixture
def many_files(db) -> int:
    """A catalog of a few thousand rows with names of realistic and awkward lengths."""
    rows = [File(name=f"hst_darkfile_{i:05d}_{'x' * (i % 90)}.fits", type=File.REFERENCE,
                 observatory="hst", instrument="acs", filekind="darkfile") for i in range(3000)]
    rows += [File(name=name, type=File.REFERENCE, observatory="hst")
             for name in ("a%b.fits", "a_b.fits", "axb.fits", "a\\b.fits", "A[1].FITS", "MiXed.Fits")]
    File.objects.bulk_create(rows)
    return len(rows)


def _browse_queries(client, name: str) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/browse/", {"name": name}).status_code == 200
    return [q["sql"] for q in queries.captured_queries if "catalog_file" in q["sql"]]


def test_a_name_glob_reaches_the_database_as_one_like_pattern_whatever_the_stars(client, many_files):
    first = None
    for name in STARS:
        sent = _browse_queries(client, name)
        assert any(" LIKE " in sql.upper() for sql in sent), sent
        assert not any(re.search(r"REGEXP|~\*|\s~\s", sql, re.IGNORECASE) for sql in sent), sent
        first = first or sent
        assert sent == first  # runs of * collapse: byte-identical queries, the same work


def _vm_steps(sql: str, params) -> int:
    """The SQLite virtual-machine instructions one run of `sql` takes (every row included)."""
    steps = [0]

    def count() -> int:
        steps[0] += 1
        return 0

    raw = connection.connection
    raw.set_progress_handler(count, 1)
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            cursor.fetchall()
    finally:
        raw.set_progress_handler(None, 1)
    return steps[0]


def _functions_called(sql: str, params) -> set[str]:
    """The SQL functions in the query's compiled program (EXPLAIN), e.g. {'like'}."""
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql, params)
        program = cursor.fetchall()
    return {str(row[5]).split("(")[0].lower() for row in program if row[1] in ("Function", "PureFunc")}


def test_the_database_does_the_same_counted_work_for_one_star_or_eight(many_files):
    if connection.vendor != "sqlite":
        pytest.skip("counts SQLite virtual-machine steps")
    connection.ensure_connection()
    plain = browse.filter_files({"name": "zzzzzz"}).query.sql_with_params()
    steps = {}
    for name in STARS:
        sql, params = browse.filter_files({"name": name}).query.sql_with_params()
        assert _functions_called(sql, params) == {"like"}  # SQLite's own C matcher, no Python regex
        steps[name] = _vm_steps(sql, params)
    longest = "*" + "*".join(["hst_darkfile_", "00", "1", "_x", "xxxxxxxxxx", "yy.", "fi"]) + "*zz"
    assert glob.normalize(longest).count("*") == glob.MAX_WILDCARDS
    sql, params = browse.filter_files({"name": longest}).query.sql_with_params()
    print(f"VM steps over {many_files} rows: {steps}; longest glob {_vm_steps(sql, params)}; "
          f"plain substring {_vm_steps(*plain)}")
    assert len(set(steps.values())) == 1
    assert _vm_steps(sql, params) <= 2 * _vm_steps(*plain)


def test_a_glob_longer_than_the_limit_is_a_400_naming_the_limit(client, db):
    response = client.get("/browse/", {"name": "a*" + "b" * glob.MAX_LENGTH})
    assert response.status_code == 400
    assert f"at most {glob.MAX_LENGTH} characters" in response.content.decode()


def test_a_glob_with_too_many_wildcards_is_a_400_naming_the_limit(client, db):
    response = client.get("/browse/", {"name": "a?" * (glob.MAX_WILDCARDS + 1)})
    assert response.status_code == 400
    assert f"at most {glob.MAX_WILDCARDS} wildcards" in response.content.decode()


def test_runs_of_stars_count_as_one_wildcard(client, db):
    File.objects.bulk_create([File(name=n, type=File.REFERENCE, observatory="hst")
                              for n in ("MiXed.Fits", "abc")])
    page = client.get("/browse/", {"name": "*" * 12 + "MIXED.FITS"}).content.decode()
    assert "MiXed.Fits" in page and "1 file," in page


@pytest.mark.parametrize("pattern, names", [
    ("a%b.fits", {"a%b.fits"}),
    ("a_b.fits", {"a_b.fits"}),
    ("a?b.fits", {"a%b.fits", "a_b.fits", "axb.fits", "a\\b.fits"}),
    ("a\\b*", {"a\\b.fits"}),
    ("a[1]*", {"A[1].FITS"}),
    ("mixed.FITS", {"MiXed.Fits"}),
    ("*%*", {"a%b.fits"}),
])
def test_only_star_and_question_mark_are_wildcards_and_case_is_ignored(many_files, pattern, names):
    assert set(File.objects.filter(name__glob=pattern).values_list("name", flat=True)) == names


def _reference_match(pattern: str, name: str) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, name, re.IGNORECASE | re.DOTALL) is not None


NAMES = ["hst_acs_0001.imap", "HST_ACS_DARK.FITS", "a%b.fits", "a_b.fits", "axb.fits", "a\\b.fits",
         "ab", "b", "", "abab.rmap", "aaa_bbb_.x"]


@hypothesis_settings(max_examples=150, deadline=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pattern=st.text(alphabet="ab_%\\*?.xAB[]", max_size=12))
def test_the_database_glob_matches_exactly_what_the_glob_means(db, pattern):
    if not File.objects.filter(name="abab.rmap").exists():
        File.objects.bulk_create([File(name=n, type=File.REFERENCE, observatory="hst") for n in NAMES])
    try:
        found = set(File.objects.filter(name__glob=pattern).values_list("name", flat=True))
    except LimitExceeded:  # only the wildcard limit is within reach of 12 characters
        assert sum(re.sub(r"\*+", "*", pattern).count(c) for c in "*?") > glob.MAX_WILDCARDS
        return
    assert found == {n for n in NAMES if _reference_match(pattern, n)}


def test_a_glob_refuses_expressions_other_than_plain_strings(db):
    from django.db.models import F

    with pytest.raises(TypeError):
        list(File.objects.filter(name__glob=F("filekind")))


# Range and other headers: never a 500, on the Django view and on the fast path


@pytest.fixture
def reference(catalog):
    return catalog.add_file("n3o1022ij_drk.fits", REFERENCE)


@pytest.fixture
def fast(monkeypatch) -> Iterator[fastfiles.FastFiles]:
    """The WSGI fast path in front of Django, inside the test's transaction (see test_fast_files)."""
    from django.core import signals
    from django.core.handlers.wsgi import WSGIHandler
    from django.db import close_old_connections

    monkeypatch.setattr(fastfiles, "close_old_connections", lambda: None)
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    fastfiles.index.forget()
    django = WSGIHandler()

    def inside_the_transaction(environ, start_response):
        # Django's test client connects `close_old_connections` again after each of its requests;
        # a request it passes on must not close the test's connection (PostgreSQL, MariaDB).
        signals.request_started.disconnect(close_old_connections)
        signals.request_finished.disconnect(close_old_connections)
        return django(environ, start_response)

    yield fastfiles.FastFiles(inside_the_transaction)
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)
    fastfiles.index.forget()


def call(app, path: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    """GET `path` through `app` as gunicorn would: status, headers, body."""
    environ: dict = {"REQUEST_METHOD": "GET", "PATH_INFO": unquote_to_bytes(path).decode("latin-1"),
                     "wsgi.input": io.BytesIO()}
    setup_testing_defaults(environ)
    environ["wsgi.file_wrapper"] = FileWrapper
    for name, value in headers.items():
        environ[name if name == "CONTENT_LENGTH" else "HTTP_" + name.upper()] = value
    started: list = []
    iterable = app(environ, lambda status, head, exc_info=None: started.append((status, head)))
    body = b"".join(iterable)
    if hasattr(iterable, "close"):
        iterable.close()
    status, head = started[0]
    return int(status.split()[0]), {k.lower(): v for k, v in head}, body


def both(client, fast, path: str, **headers: str) -> list[tuple[int, dict[str, str], bytes]]:
    """The answers of the Django view and of the fast path to the same GET."""
    django = client.get(path, headers={k.replace("_", "-"): v for k, v in headers.items()})
    content = b"".join(django.streaming_content) if django.streaming else django.content
    return [(django.status_code, {k.lower(): v for k, v in django.items()}, content),
            call(fast, path, **headers)]


PATH = "/unchecked_get/references/hst/n3o1022ij_drk.fits"


@pytest.mark.parametrize("header, status, span", [
    (f"bytes={HUGE}-", 416, None),
    (f"bytes=0-{HUGE}", 206, (0, len(REFERENCE) - 1)),
    (f"bytes=-{HUGE}", 206, (0, len(REFERENCE) - 1)),
    (f"bytes={'0' * 5000}5-{'0' * 5000}9", 206, (5, 9)),
    (f"bytes=100-{'1' * 19}", 206, (100, len(REFERENCE) - 1)),
])
def test_a_range_with_thousands_of_digits_is_answered_by_the_rules(client, fast, reference, header,
                                                                   status, span):
    for code, headers, body in both(client, fast, PATH, Range=header):
        assert code == status
        if span is None:
            assert headers["content-range"] == f"bytes */{len(REFERENCE)}"
        else:
            assert body == REFERENCE[span[0]:span[1] + 1]
            assert headers["content-length"] == str(span[1] - span[0] + 1)
            assert headers["content-range"] == f"bytes {span[0]}-{span[1]}/{len(REFERENCE)}"


@pytest.mark.parametrize("headers", [
    {"If_Range": HUGE, "Range": "bytes=0-9"},
    {"If_Range": '"' + "x" * 5000 + '"', "Range": "bytes=0-9"},
    {"If_None_Match": ",".join(["W/\"x\""] * 5000)},
    {"If_None_Match": "\"" * 5000},
    {"If_Modified_Since": HUGE},
    {"If_Modified_Since": "Mon, 00 Jan 0000 00:00:00 GMT"},
    {"Range": "bytes=" + "-" * 5000},
    {"Range": "bytes=1-2" + ",3-4" * 2000},
])
def test_hostile_conditional_and_length_headers_get_the_whole_file(client, fast, reference, headers):
    for code, answer, body in both(client, fast, PATH, **headers):
        assert code == 200 and body == REFERENCE
        assert answer["etag"] == f'"{reference.sha1sum}"'
        assert answer["content-length"] == str(len(REFERENCE))


@pytest.mark.parametrize("length", [HUGE, "-1", "1e400", "0x10"])
def test_a_get_with_a_bogus_content_length_is_served_or_refused_but_never_a_500(client, fast, reference,
                                                                                length):
    for code, _, body in both(client, fast, PATH, CONTENT_LENGTH=length):
        assert code == 400 or (code == 200 and body == REFERENCE)


@pytest.mark.parametrize("name", ["%00", "n3o1022ij_drk.fits%00", "%0A", "n3o1022ij_drk.fits%0A",
                                  "x" * 5000, "..", "%2e%2e", "..%2F..%2Fsecret", "%C3%A9t%C3%A9.fits",
                                  "%F0%9F%98%80.fits", "n3o1022ij_drk.fits%20"])
def test_hostile_file_names_are_404_on_both_paths(client, fast, reference, name):
    for code, _, body in both(client, fast, f"/unchecked_get/references/hst/{name}"):
        # NUL: Django's request guard refuses it (400) before any view; the fast path, 404.
        assert (code == 404 or ("%00" in name and code == 400)) and REFERENCE not in body


# /diff/ with names that are not file names


@pytest.mark.parametrize("query", [{"old": "a/b", "new": "c"}, {"old": "../x.rmap", "new": "y.rmap"},
                                   {"context": ["a/b", "c"]}, {"old": "x\x00.rmap", "new": "c"},
                                   {"old": "é.rmap", "new": "c.rmap"}, {"old": "x" * 5000, "new": "c"}])
def test_the_diff_form_refuses_names_that_are_not_file_names_with_a_400_page(client, db, query):
    response = client.get("/diff/", query)
    assert response.status_code == 400
    text = response.content.decode()
    assert "is not a rules file name" in text or "NUL characters are not allowed" in text


def test_the_diff_form_still_redirects_two_plain_names(client, db):
    response = client.get("/diff/", {"old": "b.rmap", "new": "a.rmap"})
    assert response.status_code == 302 and response["Location"] == "/diff/a.rmap/b.rmap"


@pytest.mark.parametrize("path", ["/diff/a.rmap/%00", "/context_table/%00.pmap", "/browse/%00",
                                  "/context_table/" + "x" * 5000 + ".pmap"])
def test_pages_named_by_a_file_refuse_names_that_are_not_file_names_with_a_404(client, db, path):
    assert client.get(path).status_code == (400 if "%00" in path else 404)  # NUL: the request guard


def test_recent_activity_refuses_filters_the_database_cannot_take_with_a_400(client, db):
    assert client.get("/recent_activity/", {"filename": "a\x00b"}).status_code == 400
    assert client.get("/recent_activity/", {"user": "x" * 5000}).status_code == 400
    assert client.get("/recent_activity/", {"filename": "dark"}).status_code == 200


# Operator pages: anonymous visits write nothing; refusals of logged-in users are bounded


OPERATOR_PAGES = ["/set_context/", "/mark_bad/", "/locks/", "/deliveries/"]


@pytest.mark.parametrize("url", OPERATOR_PAGES)
def test_anonymous_visits_to_operator_pages_go_to_login_and_write_nothing(client, db, url):
    for _ in range(3):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/?next=")
    response = client.post(url, {"reason": "let me"})
    assert response.status_code == 302
    assert not AuditEntry.objects.exists()


def test_a_refused_user_is_audited_once_per_page_per_minute(client, db):
    client.force_login(create_user("homer", "homer@example.org", "submitter", "pw"))
    for _ in range(5):
        assert client.get("/locks/").status_code == 403
        assert client.post("/locks/", {"instrument": "acs", "reason": "x"}).status_code == 403
    assert client.get("/mark_bad/").status_code == 403
    refused = AuditEntry.objects.filter(action="refused", user="homer")
    assert sorted(refused.values_list("details", flat=True)) == ["GET /locks/", "GET /mark_bad/"]
    refused.update(date=refused.first().date - timedelta(seconds=61))
    assert client.get("/locks/").status_code == 403
    assert AuditEntry.objects.filter(action="refused", user="homer").count() == 3


def test_the_home_page_shows_no_activity_after_anonymous_operator_page_visits(client, demo_catalog):
    before = AuditEntry.objects.count()
    for url in OPERATOR_PAGES * 5:
        client.get(url)
    assert AuditEntry.objects.count() == before


# /display_result/<id>: the submitter and operators only


@pytest.fixture
def submission(demo_catalog):
    homer = persona("homer", instrument="acs", password="donuts")
    put_in_ingest(demo_catalog, homer, "my_dark.fits")
    return run(homer)


def test_the_results_page_is_not_shown_to_anonymous_visitors(client, submission):
    response = client.get(f"/display_result/{submission.id}")
    assert response.status_code == 302 and response["Location"].startswith("/login/?next=")
    assert "homer" not in response.content.decode()


def test_the_results_page_is_refused_to_another_submitter(client, submission):
    client.force_login(persona("bart"))
    response = client.get(f"/display_result/{submission.id}")
    page = response.content.decode()
    assert response.status_code == 403
    assert "homer" not in page and 'value="confirm"' not in page


def test_the_results_page_is_shown_to_its_submitter_and_to_operators(client, submission):
    client.force_login(submission.user)
    own = client.get(f"/display_result/{submission.id}")
    assert own.status_code == 200 and 'value="confirm"' in own.content.decode()
    assert own.cookies["csrftoken"].value
    client.force_login(persona("marge", role="operator"))
    assert client.get(f"/display_result/{submission.id}").status_code == 200
