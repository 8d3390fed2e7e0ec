"""The context picker and a listing's Show N entries and search, in a real browser."""

from __future__ import annotations

import re

import pytest

from tests.browser import SHOTS, demo_home_with_second_context, serving, shown
from tests.live import manage

pytestmark = pytest.mark.browser

PENDING = """
from crds_server.catalog.models import File
File.objects.filter(name="hst_0002.pmap").update(state="delivered")
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A demo server whose hst_0002.pmap is delivered but not archived yet."""
    home = demo_home_with_second_context(tmp_path_factory.mktemp("browser-frame-home"))
    manage(home, "hst", "shell", "-c", PENDING)
    with serving(home) as live:
        yield live


def test_the_context_picker_header_follows_the_choice(page, server):
    page.goto(server.url + "/bestrefs/")
    header = page.locator("[data-picker-header]")
    assert re.fullmatch(r"hst_0001\.pmap \S+ \S+ \(Latest Context\)", header.text_content())
    page.locator("details.context-picker > summary").click()
    assert shown(page.get_by_role("radio", name="User Specified:"))
    page.get_by_label("Recently delivered contexts").select_option("hst_0002.pmap")
    assert page.get_by_role("radio", name="Recent:").is_checked()
    assert re.fullmatch(r"hst_0002\.pmap \S+ \S+ \(Recent\) \*unavailable\*", header.text_content())
    page.screenshot(path=str(SHOTS / "context_picker.png"), full_page=True)
    page.get_by_label("User specified context").fill("hst_0001.pmap")
    assert page.get_by_role("radio", name="User Specified:").is_checked()
    assert header.text_content() == "hst_0001.pmap (User Specified)"
    page.get_by_role("radio", name="Editing:").check()
    assert re.fullmatch(r"hst_0001\.pmap \S+ \S+ \(Editing Context\)", header.text_content())
    page.get_by_label("Instrument", exact=True).select_option("acs")
    page.get_by_role("button", name="Choose instrument").click()
    page.wait_for_url("**context_mode=context_edit**")
    assert page.locator('input[type=hidden][name=context]').first.get_attribute("value") == "hst_0001.pmap"


def test_show_n_entries_and_search_reload_the_listing(page, server):
    page.goto(server.url + "/browse/")
    rows = page.locator("table tbody tr")
    assert rows.count() > 10
    page.get_by_label("Entries shown per page").select_option("10")  # applies at once, without a button
    page.wait_for_url("**show=10**")
    assert rows.count() == 10
    assert shown(page.get_by_text(re.compile(r"Showing 1 to 10 of \d+ entries")))
    page.get_by_role("searchbox", name="Search").fill("darkfile")
    page.get_by_role("searchbox", name="Search").press("Enter")
    page.wait_for_url("**search=darkfile**")
    assert "show=10" in page.url
    assert 1 <= rows.count() <= 10
    for index in range(rows.count()):
        assert "darkfile" in rows.nth(index).text_content()
    assert not page.get_by_label("Instrument").is_visible()  # the filters folded into an accordion
    page.get_by_text("Filters", exact=True).click()
    assert shown(page.get_by_label("Instrument"))
    page.screenshot(path=str(SHOTS / "listing_show_search.png"), full_page=True)
