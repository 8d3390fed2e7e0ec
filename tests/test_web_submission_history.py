"""Submission History (S13): filters by instrument, dates and status, pages, and a detail page."""

from __future__ import annotations

import datetime

import pytest
from bs4 import BeautifulSoup
from django.test import Client

from crds_server.submissions.models import Submission
from tests.submitting import persona
from tests.test_web_auth import login


def _made(user, day: str, status: str = "confirmed", instrument: str = "acs", **fields) -> Submission:
    row = Submission.objects.create(user=user, kind=fields.pop("kind", "batch"), status=status,
                                    instrument=instrument, instruments=fields.pop("instruments", []),
                                    derive_from="hst_0001.pmap",
                                    description=fields.pop("description", f"{instrument} on {day}"),
                                    **fields)
    created = datetime.datetime.fromisoformat(day).replace(tzinfo=datetime.UTC)
    Submission.objects.filter(pk=row.pk).update(created=created)
    return Submission.objects.get(pk=row.pk)


@pytest.fixture
def people(demo_catalog):
    homer, lisa = persona("homer", password="donuts"), persona("lisa", password="sax")
    persona("marge", role="operator", password="blue")
    rows = {
        "old": _made(homer, "2026-01-10 12:00:00"),
        "cos": _made(homer, "2026-02-01 00:00:00", status="failed", instrument="cos"),
        "both": _made(homer, "2026-02-15 08:00:00", instrument="", instruments=["stis", "wfc3"]),
        "lisas": _made(lisa, "2026-02-20 23:59:59", extra={"jira_issue": "CRDS-123"},
                       description="Lisa's darks"),
    }
    return rows


def _client(name: str, password: str, instrument: str = "acs") -> Client:
    client = Client()
    login(client, name, password, instrument)
    return client


def _listed(client: Client, query: str = "") -> set[str]:
    response = client.get("/submissions/" + query)
    assert response.status_code == 200, response.content[:300]
    assert "private" in response["Cache-Control"]
    soup = BeautifulSoup(response.content, "html.parser")
    return {a["href"].split("/")[2] for a in soup.select("a[href^='/submissions/']")
            if a.get_text() == "Detail"}


def _ids(people, *keys):
    return {str(people[key].id) for key in keys}


def test_a_submitter_sees_their_own_an_operator_everyones_a_visitor_none(people):
    assert _listed(_client("homer", "donuts")) == _ids(people, "old", "cos", "both")
    assert _listed(_client("marge", "blue", "none")) == _ids(people, "old", "cos", "both", "lisas")
    assert _listed(Client()) == set()


@pytest.mark.parametrize("query, expected", [
    ("?instrument=cos", ("cos",)),
    ("?instrument=wfc3", ("both",)),  # one of the several instruments a submission took
    ("?status=failed", ("cos",)),
    ("?start=2026-02-01&stop=2026-02-15", ("cos", "both")),  # both ends included, whole days
    ("?stop=2026-02-20", ("old", "cos", "both", "lisas")),
    ("?start=2026-02-16&instrument=acs", ("lisas",)),
    ("?instrument=acs&status=failed", ()),
])
def test_the_filters_narrow_the_list_on_the_server(people, query, expected):
    assert _listed(_client("marge", "blue", "none"), query) == _ids(people, *expected)


@pytest.mark.parametrize("query", ["?start=yesterday", "?stop=2026-13-01", "?status=lost",
                                   "?instrument=hubble", "?start=2026-03-01&stop=2026-02-01",
                                   "?instrument=" + "a" * 5000])
def test_bad_filters_are_a_400_with_the_form_again(people, query):
    response = _client("marge", "blue", "none").get("/submissions/" + query)
    assert response.status_code == 400
    assert 'action="/submissions/"' in response.content.decode()


def test_pages_keep_the_filters(people, monkeypatch):
    from crds_server.web import submission_pages

    monkeypatch.setattr(submission_pages, "PER_PAGE", 1)
    operator = _client("marge", "blue", "none")
    first = operator.get("/submissions/?status=confirmed").content.decode()
    assert 'href="?status=confirmed&amp;page=2"' in first
    assert len(_listed(operator, "?status=confirmed&page=2")) == 1
    assert operator.get("/submissions/?page=999").status_code == 200  # the last page, not an error


def test_the_detail_page_shows_the_submission_to_its_submitter_and_operators_only(people):
    lisas = people["lisas"]
    page = _client("lisa", "sax").get(f"/submissions/{lisas.id}/")
    assert page.status_code == 200 and "private" in page["Cache-Control"]
    soup = BeautifulSoup(page.content, "html.parser")
    assert soup.find(id="detail-status").get_text() == "confirmed"
    assert soup.find(id="detail-description").get_text() == "Lisa's darks"
    assert soup.find(id="detail-published").get_text().startswith(f"{lisas.updated:%Y-%m-%d}")
    assert soup.find(id="redcat-jira_issue").get_text() == "CRDS-123"
    assert _client("marge", "blue", "none").get(f"/submissions/{lisas.id}/").status_code == 200
    assert _client("homer", "donuts").get(f"/submissions/{lisas.id}/").status_code == 404
    assert Client().get(f"/submissions/{lisas.id}/").status_code == 404
    assert Client().get("/submissions/not-a-uuid/").status_code == 404


def test_the_list_is_searched_and_shown_n_entries_at_a_time_in_the_url(people):
    operator = _client("marge", "blue", "none")
    assert _listed(operator, "?search=darks") == _ids(people, "lisas")  # the description
    assert _listed(operator, "?search=LISA") == _ids(people, "lisas")  # the deliverer, any case
    assert _listed(operator, "?search=cos&status=failed") == _ids(people, "cos")
    assert _listed(_client("homer", "donuts"), "?search=darks") == set()  # never someone else's
    assert len(_listed(operator, "?show=10")) == 4
    page = operator.get("/submissions/?show=abc&search=darks").content.decode()
    assert "Showing 1 to 1 of 1 entry" in page and 'name="search"' in page
    assert operator.get("/submissions/?search=" + "x" * 500).status_code == 400
