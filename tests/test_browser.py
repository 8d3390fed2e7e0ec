"""The public pages in a real browser (Debian's Chromium driven by Playwright) on a live demo server."""

from __future__ import annotations

import pytest

from tests.browser import SHOTS, demo_home_with_second_context, serving, shown

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    home = demo_home_with_second_context(tmp_path_factory.mktemp("browser-home"))
    with serving(home) as live:
        yield live


def test_the_home_page_links_to_the_site(page, server):
    page.goto(server.url + "/")
    assert shown(page.get_by_role("link", name="Browse the catalog"))
    page.screenshot(path=str(SHOTS / "home.png"), full_page=True)


def test_browsing_with_a_filter_and_opening_a_file(page, server):
    page.goto(server.url + "/browse/")
    page.get_by_label("Instrument").select_option("acs")
    page.get_by_label("File kind").select_option("mapping")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**/browse/?**")
    assert shown(page.get_by_role("link", name="hst_acs_darkfile_0001.rmap"))
    page.screenshot(path=str(SHOTS / "browse.png"), full_page=True)
    page.get_by_role("link", name="hst_acs_darkfile_0001.rmap").click()
    page.wait_for_url("**/browse/hst_acs_darkfile_0001.rmap")
    assert shown(page.get_by_role("heading", name="Rules"))
    page.screenshot(path=str(SHOTS / "file_details.png"), full_page=True)


def test_diffing_two_contexts_from_the_contexts_page(page, server):
    page.goto(server.url + "/contexts/")
    page.get_by_label("Diff hst_0001.pmap").check()
    page.get_by_label("Diff hst_0002.pmap").check()
    page.get_by_role("button", name="Diff").click()
    page.wait_for_url("**/diff/hst_0001.pmap/hst_0002.pmap")
    rmaps = "hst_acs_darkfile_0001.rmap → hst_acs_darkfile_0002.rmap"
    assert shown(page.get_by_role("heading", name=rmaps))
    page.screenshot(path=str(SHOTS / "diff.png"), full_page=True)


def test_exploring_best_references(page, server):
    page.goto(server.url + "/bestrefs/")
    page.get_by_label("Instrument", exact=True).select_option("acs")
    page.get_by_role("button", name="Choose instrument").click()
    page.get_by_label("DETECTOR from the rules").select_option("WFC")
    page.get_by_label("DATE-OBS typed").fill("2020-01-01")
    page.get_by_label("TIME-OBS typed").fill("00:00:00")
    page.get_by_role("button", name="Get references", exact=True).click()
    assert shown(page.get_by_role("heading", name="Best references under hst_0001.pmap"))
    assert shown(page.locator("td", has_text="darkfile").first)
    page.screenshot(path=str(SHOTS / "bestrefs.png"), full_page=True)


def test_an_unknown_file_shows_the_404_page_with_a_search_box(page, server):
    response = page.goto(server.url + "/browse/nosuch.fits")
    assert response.status == 404
    page.get_by_label("Search the catalog").fill("*drk*")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**/browse/?name=*")
    assert shown(page.get_by_text("files,")) or shown(page.get_by_text("file,"))
