"""The pictures and a filtered Recent Activity in a real browser, on a lived-in demo (`demo --story`)."""

from __future__ import annotations

import pytest

from tests.browser import SHOTS, serving, shown
from tests.live import manage, shell

pytestmark = pytest.mark.browser

RUNS = """
from crds_server.reprocessing.models import AffectedRun
for run in AffectedRun.objects.order_by("created"):
    print(run.old_context, run.new_context, run.status)
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A demo server with months of story: three history eras, two deliveries, two affected runs."""
    home = tmp_path_factory.mktemp("browser-plots-home")
    manage(home, "hst", "demo", "--story", "--observatory", "hst", "--datasets", "30")
    with serving(home) as live:
        live.runs = [line.split() for line in shell(home, RUNS).splitlines()]
        yield live


def test_the_context_history_timeline_shows_what_changed_when(page, server):
    page.goto(server.url + "/context_history/")
    chart = page.locator("svg#timeline")
    assert shown(chart)
    assert shown(page.get_by_role("img", name="Instruments changed at each context history era"))
    assert chart.locator("circle").count() == 2  # two deliveries, each changing one ACS rmap
    assert chart.locator("text", has_text="acs").count() == 1
    page.get_by_text("The changes as a table").click()  # the numbers, by keyboard-reachable <details>
    assert page.get_by_role("cell", name="acs: darkfile").count() == 2
    box = chart.bounding_box()
    assert box["width"] > 600 and box["height"] > 100
    page.screenshot(path=str(SHOTS / "context_history_timeline.png"), full_page=True)


def test_the_affected_run_page_charts_datasets_per_instrument_and_type(page, server):
    old, new, status = server.runs[-1]
    assert status == "done"
    page.goto(f"{server.url}/affected/{old}/{new}")
    chart = page.locator("svg#affected-chart")
    assert shown(chart)
    bars = chart.locator("rect title")
    assert bars.count() >= 1 and bars.first.text_content().startswith("ACS darkfile: ")
    count = bars.first.text_content().rsplit(": ", 1)[1]
    first_row = page.locator("section table").first.locator("tbody tr").first
    assert first_row.locator("td").all_text_contents() == ["ACS", "darkfile", count]
    page.screenshot(path=str(SHOTS / "affected_chart.png"), full_page=True)


def test_a_filtered_recent_activity_address_is_shared_and_shows_only_its_matches(page, server):
    page.goto(server.url + "/recent_activity/")
    page.get_by_label("Action").select_option("set context")
    page.get_by_label("Extension").fill(".pmap")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**/recent_activity/?**action=set+context**")
    shared = page.url
    assert "extension=.pmap" in shared
    rows = page.locator("tbody tr")
    assert rows.count() >= 2
    for index in range(rows.count()):
        assert rows.nth(index).locator("td").nth(2).text_content() == "set context"
        assert rows.nth(index).locator("td").nth(3).text_content().endswith(".pmap")
    page.screenshot(path=str(SHOTS / "recent_activity_filtered.png"), full_page=True)
    page.goto(server.url + "/")
    page.goto(shared)  # the address alone gives the same result
    assert page.get_by_label("Action").input_value() == "set context"
    assert page.locator("tbody tr").count() == rows.count()
    response = page.goto(server.url + "/recent_activity/?start=2024-13-45")
    assert response.status == 400
    assert shown(page.get_by_role("alert"))
