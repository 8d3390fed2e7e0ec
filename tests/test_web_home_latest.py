"""The home page's Latest References: instruments -> types -> the latest context's references."""

from __future__ import annotations

from crds_server.catalog import context_tables, contexts
from crds_server.catalog.models import ContextPointer, File


def test_the_home_page_lists_the_latest_instruments_and_types_with_descriptions(client, demo_catalog):
    page = client.get("/").content.decode()
    pane = page[page.index('id="latest-refs-heading"'):page.index("<h2>Context history")]
    assert f'href="/context_table/{demo_catalog.context}"' in pane
    assert '<details class="instrument" id="instrument-acs">' in pane
    assert "Dark Frame" in pane  # the library's description of darkfile
    assert f'data-src="/context_table/{demo_catalog.context}/acs/darkfile?fragment=1' in pane
    assert "hst_acs_darkfile_0001.rmap" in pane


def test_a_types_references_load_with_useafter_activation_and_description(client, demo_catalog):
    response = client.get(f"/context_table/{demo_catalog.context}/acs/darkfile", {"fragment": "1"})
    page = response.content.decode()
    assert response.status_code == 200 and "<html" not in page
    dark = File.objects.filter(filekind="darkfile", instrument="acs").order_by("name").first()
    assert f'href="/browse/{dark.name}"' in page and dark.description in page
    assert "<th scope=\"col\">USEAFTER</th>" in page and "1996-10-01 00:00:00" in page
    assert dark.activation_date.strftime("%Y-%m-%d %H:%M:%S") in page


def test_the_summary_is_computed_once_per_catalog_version(demo_catalog, catalog):
    first = context_tables.summary(demo_catalog.context)
    assert context_tables.summary(demo_catalog.context) is first
    catalog.add_file("extra_drk.fits", instrument="acs", filekind="darkfile")  # bumps the version
    from crds_server.catalog import versioning

    versioning.bump()
    assert context_tables.summary(demo_catalog.context) is not first


def test_without_a_latest_context_the_pane_says_so(client, demo_catalog):
    ContextPointer.objects.filter(kind="latest").delete()
    assert contexts.pointer("latest") == ""
    page = client.get("/").content.decode()
    assert "No context has been made latest yet." in page


def test_an_unloadable_latest_context_still_leaves_a_home_page(client, demo_catalog):
    ContextPointer.objects.filter(kind="latest").update(context="hst_9999.pmap")
    response = client.get("/")
    assert response.status_code == 200
    assert "The latest context could not be read" in response.content.decode()
