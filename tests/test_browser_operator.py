"""An operator sets the latest context in a real browser (Debian's Chromium via Playwright)."""

from __future__ import annotations

import pytest

from tests.browser import SHOTS, demo_home_with_second_context, serving, shown
from tests.live import manage

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A demo server with a second context and an operator account, marge."""
    home = demo_home_with_second_context(tmp_path_factory.mktemp("browser-operator-home"))
    manage(home, "hst", "createuser", "marge", "--email", "marge@example.org", "--password", "donuts-42",
           "--role", "operator", "--no-token")
    with serving(home) as live:
        yield live


def test_an_operator_makes_the_second_context_latest_after_reviewing_the_diff(page, server):
    page.goto(server.url + "/set_context/")  # anonymous visitors are sent to the login page
    page.wait_for_url("**/login/?next=/set_context/")
    page.get_by_label("Lock Instrument").select_option("none")
    page.get_by_label("User name or e-mail").fill("marge")
    page.get_by_label("Password or API token").fill("donuts-42")
    page.screenshot(path=str(SHOTS / "operator_login.png"), full_page=True)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/set_context/")

    page.get_by_label("Context type").select_option("latest")
    page.get_by_label("Set to").select_option("hst_0002.pmap")
    page.get_by_label("Reason for change").fill("Drop an ACS dark found bad, INS request 42.")
    page.screenshot(path=str(SHOTS / "operator_set_context.png"), full_page=True)
    page.get_by_role("button", name="Review the change").click()

    assert shown(page.get_by_role("heading", name="Confirm: set the latest context"))
    pair = "hst_acs_darkfile_0001.rmap → hst_acs_darkfile_0002.rmap"
    assert shown(page.get_by_role("heading", name=pair))
    page.screenshot(path=str(SHOTS / "operator_set_context_confirm.png"), full_page=True)
    page.get_by_role("button", name="Confirm: make hst_0002.pmap the latest context").click()
    page.wait_for_url("**/set_context/")
    done = "The latest context changed from 'hst_0001.pmap' to 'hst_0002.pmap'."
    assert shown(page.get_by_text(done))
    page.screenshot(path=str(SHOTS / "operator_set_context_done.png"), full_page=True)

    page.get_by_role("link", name="CRDS", exact=False).first.click()
    page.wait_for_url(server.url + "/")
    assert shown(page.get_by_role("row", name="Latest context hst_0002.pmap", exact=True))
    assert shown(page.get_by_role("cell", name="Drop an ACS dark found bad, INS request 42."))
    page.screenshot(path=str(SHOTS / "operator_home.png"), full_page=True)
