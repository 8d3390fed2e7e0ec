"""O7: the pipeline echo page, each pipeline's reported context beside the commanded latest."""

from __future__ import annotations

import html

import pytest

from crds_server.accounts.actions import create_user
from crds_server.catalog import actions as catalog_actions
from crds_server.catalog import pipelines
from crds_server.security.actions import create_pipeline_key, revoke_pipeline_key
from tests.web_helpers import derive_context


@pytest.fixture
def operator(demo_catalog, client):
    client.force_login(create_user("marge", "marge@example.org", "operator", "pw"))


@pytest.fixture
def reports(demo_catalog, catalog):
    """ops-pipeline is on the latest context, test-pipeline on an older one it was made latest from,
    new-pipeline has a key but never reported, old-pipeline's key is revoked."""
    first = demo_catalog.context
    second = derive_context(catalog, first, "acs", "darkfile")["pmap"]
    for name, context in (("test-pipeline", first), ("ops-pipeline", first)):
        catalog_actions.push_remote_context("hst", "latest", create_pipeline_key("marge", name), context)
    catalog_actions.set_context("marge", second, "edit", "edit it")
    catalog_actions.set_context("marge", second, "latest", "make it latest", force=True)
    catalog_actions.push_remote_context("hst", "latest", _key("ops-pipeline"), second)
    create_pipeline_key("marge", "new-pipeline")
    create_pipeline_key("marge", "old-pipeline")
    revoke_pipeline_key("marge", "old-pipeline")
    return first, second


def _key(name: str) -> str:
    return create_pipeline_key("marge", name, replace=True)


def _text(response) -> str:
    return html.unescape(response.content.decode())


def test_anonymous_visitors_log_in_first_and_submitters_are_refused(client, db):
    assert client.get("/pipelines/")["Location"] == "/login/?next=/pipelines/"
    client.force_login(create_user("homer", "homer@example.org", "submitter", "pw"))
    assert client.get("/pipelines/").status_code == 403


def test_each_pipeline_shows_its_report_beside_the_latest_and_whether_they_match(client, operator, reports):
    first, second = reports
    page = _text(client.get("/pipelines/"))
    rows = {line.split("</th>")[0].rsplit(">", 1)[-1]: line for line in page.split("<tr>") if "</th>" in line}
    assert "yes, matches" in rows["ops-pipeline"] and second in rows["ops-pipeline"]
    assert "no, differs" in rows["test-pipeline"] and f"/diff/{first}/{second}" in rows["test-pipeline"]
    assert "latest from" in rows["test-pipeline"]
    assert "never reported" in rows["new-pipeline"]
    assert "old-pipeline" not in page


# (query, the pipelines it lists), all against the same reports.
FILTERS = [
    ("?status=matching", ["ops-pipeline"]),
    ("?status=differs", ["test-pipeline"]),
    ("?status=never", ["new-pipeline"]),
    ("?name=TEST", ["test-pipeline"]),
    ("?name=pipeline&status=differs", ["test-pipeline"]),
    ("?name=nobody", []),
    ("", ["ops-pipeline", "test-pipeline", "new-pipeline"]),
]


def test_filters_are_get_parameters_applied_on_the_server(client, operator, reports):
    for query, shown in FILTERS:
        page = _text(client.get("/pipelines/" + query))
        listed = [p for p in ("ops-pipeline", "test-pipeline", "new-pipeline") if f'scope="row">{p}<' in page]
        assert listed == shown, query


@pytest.mark.parametrize("query", ["?status=bogus", "?name=" + "x" * 129, "?page=0", "?page=abc",
                                   "?page=99999999999"])
def test_bad_filters_are_a_400_with_the_form(client, operator, query):
    response = client.get("/pipelines/" + query)
    assert response.status_code == 400 and "<form" in response.content.decode()


def test_many_pipelines_are_paginated_with_the_filters_in_the_links(client, operator, demo_catalog):
    for n in range(pipelines_per_page() + 5):
        create_pipeline_key("marge", f"p{n:03d}")
    first = _text(client.get("/pipelines/?status=never"))
    assert first.count('scope="row">p') == pipelines_per_page()
    assert 'href="?status=never&page=2"' in first
    second = _text(client.get("/pipelines/?status=never&page=2"))
    assert second.count('scope="row">p') == 5


def pipelines_per_page() -> int:
    from crds_server.web.pipeline_pages import PER_PAGE

    return PER_PAGE


def test_the_query_knows_when_a_report_was_last_latest(reports):
    first, second = reports
    echo = {e.pipeline: e for e in pipelines.echoes()}
    assert echo["test-pipeline"].status == "differs" and echo["test-pipeline"].was_latest is not None
    assert echo["ops-pipeline"].status == "matching" and echo["ops-pipeline"].latest == second
    assert [e.pipeline for e in pipelines.echoes(status="never")] == ["new-pipeline"]
