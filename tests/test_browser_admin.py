"""In a real browser (Debian's Chromium via Playwright): an operator in the admin console,
and a submitter's lock countdown ticking and renewed by activity."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser import SHOTS, serving
from tests.live import manage, shell

pytestmark = pytest.mark.browser
TOP = {"x": 0, "y": 0, "width": 1280, "height": 160}  # the header, where the countdown is

USERS = """
from crds_server.accounts.actions import create_user
create_user("marge", "marge@example.org", "operator", "donuts-42")
create_user("homer", "homer@example.org", "submitter", "donuts-42")
"""
SHORTEN = """
import datetime
from django.utils import timezone
from crds_server.locks.models import InstrumentLock
print(InstrumentLock.objects.filter(user__username="homer").update(
    expires=timezone.now() + datetime.timedelta(minutes=10)))
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A demo HST server with an operator, marge, and a submitter, homer."""
    home = tmp_path_factory.mktemp("browser-admin-home")
    manage(home, "hst", "demo", "--observatory", "hst")
    shell(home, USERS)
    with serving(home) as live:
        live.home = home
        yield live


def _log_in(page, name: str, instrument: str) -> None:
    page.get_by_label("Lock Instrument").select_option(instrument)
    page.get_by_label("User name or e-mail").fill(name)
    page.get_by_label("Password or API token").fill("donuts-42")
    page.get_by_role("button", name="Log in").click()


def test_an_operator_lists_files_filtered_in_the_admin_and_opens_one(page, server):
    page.goto(server.url + "/admin/")  # the site's own login, then back to the admin
    page.wait_for_url("**/login/?next=%2Fadmin%2F")
    _log_in(page, "marge", "none")
    page.wait_for_url("**/admin/")
    expect(page.get_by_role("link", name="Files")).to_be_visible()
    page.screenshot(path=str(SHOTS / "admin_index.png"), full_page=True)

    page.get_by_role("link", name="Files").click()
    page.get_by_role("link", name="mapping", exact=True).click()
    page.wait_for_url(re.compile(r".*type__exact=mapping.*"))
    page.locator("#searchbar").fill("darkfile")
    page.locator("#searchbar").press("Enter")
    page.wait_for_url(re.compile(r".*q=darkfile.*"))
    rows = page.locator("#result_list tbody tr")
    assert rows.count() >= 1
    assert all("darkfile" in text for text in rows.all_inner_texts())
    page.screenshot(path=str(SHOTS / "admin_files_filtered.png"), full_page=True)

    page.get_by_role("link", name="hst_acs_darkfile_0001.rmap").click()
    expect(page.get_by_role("heading", name="Change file")).to_be_visible()
    assert page.locator("textarea[name=description]").is_editable()
    assert page.locator("input[name=sha1sum]").count() == 0  # read-only, shown as text
    page.locator("textarea[name=description]").fill("ACS dark rules, INS ticket 42")
    page.screenshot(path=str(SHOTS / "admin_file_change.png"), full_page=True)
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text("was changed successfully")).to_be_visible()
    page.screenshot(path=str(SHOTS / "admin_file_saved.png"), full_page=True)
    page.goto(server.url + "/recent_activity/?action=admin+edit")
    expect(page.get_by_role("cell", name="hst_acs_darkfile_0001.rmap").first).to_be_visible()

    # The set-context page shows CAL_VER and the banner choice for build contexts only.
    page.goto(server.url + "/set_context/")
    calver = page.get_by_label("CAL_VER (build only)")
    expect(calver).to_be_hidden()
    page.get_by_label("Context type").select_option("build")
    expect(calver).to_be_visible()
    expect(page.get_by_label("Update home page banner / pipeline build context (build only)")).to_be_visible()
    page.screenshot(path=str(SHOTS / "set_context_build.png"), full_page=True)
    page.goto(server.url + "/logout/")


def _countdown(page) -> int:
    hours, minutes, seconds = map(int, page.locator("time.countdown").inner_text().split(":"))
    return hours * 3600 + minutes * 60 + seconds


def test_the_lock_countdown_ticks_and_activity_renews_it(page, server):
    page.goto(server.url + "/login/")
    _log_in(page, "homer", "acs")
    page.wait_for_url(server.url + "/")
    expect(page.locator("time.countdown")).to_be_visible()
    start = _countdown(page)
    assert 4 * 3600 - 60 < start <= 4 * 3600
    page.wait_for_timeout(2500)
    ticked = _countdown(page)
    assert start - 4 <= ticked <= start - 2
    page.screenshot(path=str(SHOTS / "lock_countdown.png"), clip=TOP)

    # Ten minutes left on the server: the countdown catches up when the tab comes back...
    assert shell(server.home, SHORTEN).splitlines()[-1] == "1"
    page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
    page.wait_for_function("document.querySelector('time.countdown').textContent.startsWith('0:0')")
    assert 9 * 60 - 10 < _countdown(page) <= 10 * 60
    page.screenshot(path=str(SHOTS / "lock_countdown_short.png"), clip=TOP)

    # ... and any action on the site renews the lock to its full time.
    page.get_by_role("link", name="Browse", exact=True).click()
    page.wait_for_url("**/browse/")
    assert _countdown(page) > 4 * 3600 - 60
    page.screenshot(path=str(SHOTS / "lock_countdown_renewed.png"), full_page=False)
