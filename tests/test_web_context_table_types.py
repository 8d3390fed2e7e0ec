"""The context table: type descriptions, activation dates, diff boxes, one type's references."""

from __future__ import annotations

import pytest

from tests.web_helpers import derive_context


@pytest.fixture
def second(demo_catalog, catalog):
    return derive_context(catalog, demo_catalog.context, "acs", "darkfile")


def test_the_table_shows_descriptions_activation_dates_and_diff_boxes(client, demo_catalog):
    response = client.get(f"/context_table/{demo_catalog.context}")
    page = response.content.decode()
    assert response.status_code == 200
    assert '<span class="kind">darkfile</span> — Dark Frame' in page
    assert '<span class="kind">biasfile</span> — Bias Frame' in page
    assert 'name="context" value="hst_acs_darkfile_0001.rmap"> diff hst_acs_darkfile_0001.rmap' in page
    assert 'value="hst_acs_0001.imap"' in page
    assert '<form method="get" action="/diff/"' in page


def test_two_ticked_rmaps_lead_to_their_difference(client, second, demo_catalog):
    response = client.get("/diff/", {"context": [second["rmap"], second["old_rmap"]]})
    assert response.status_code == 302
    diff = client.get(response["Location"])
    assert diff.status_code == 200 and second["dropped"] in diff.content.decode()


def test_the_table_offers_a_diff_against_another_context(client, second, demo_catalog):
    page = client.get(f"/context_table/{second['pmap']}").content.decode()
    assert 'id="diff-context"' in page and f"<option>{demo_catalog.context}</option>" in page


def test_a_type_page_is_paginated_and_filtered_on_the_server(client, demo_catalog):
    url = f"/context_table/{demo_catalog.context}/acs/darkfile"
    page = client.get(url).content.decode()
    assert "<h1>ACS darkfile in" in page and "2 selections" in page
    filtered = client.get(url, {"q": "HRC"}).content.decode()
    assert "1 selection containing" in filtered and "WFC" not in filtered.split("<tbody>")[1]
    assert client.get(url, {"page": "999"}).status_code == 200  # the last page, not an error


@pytest.mark.parametrize("path,status", [
    ("/acs/nosuchtype", 404), ("/nosuch/darkfile", 404), ("/acs/" + "x" * 40, 400),
])
def test_bad_type_addresses_are_4xx(client, demo_catalog, path, status):
    assert client.get(f"/context_table/{demo_catalog.context}{path}").status_code == status


def test_a_long_or_nul_filter_is_refused(client, demo_catalog):
    url = f"/context_table/{demo_catalog.context}/acs/darkfile"
    assert client.get(url, {"q": "x" * 201}).status_code == 400


def test_an_unknown_context_has_no_type_pages(client, demo_catalog):
    assert client.get("/context_table/hst_9999.pmap/acs/darkfile").status_code == 404


def test_type_descriptions_come_from_the_servers_observatory(settings):
    from crds_server.catalog.context_tables import type_description

    assert type_description("acs", "darkfile") == "Dark Frame"
    settings.OBSERVATORY = "jwst"
    assert type_description("nircam", "area") == "Pixel-Area Map"
    assert type_description("nircam", "nosuchtype") == ""
