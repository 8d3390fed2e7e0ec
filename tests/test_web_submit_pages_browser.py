"""A submitter watches the live progress log of a web submission reach the results page, in a real
browser (Debian's Chromium via Playwright), with scripts on and with scripts off."""

from __future__ import annotations

import shutil
import time

import pytest
from astropy.io import fits

from tests.browser import SHOTS, serving, shown
from tests.live import LiveServer, manage

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A demo server with a job consumer and a submitter account, alice."""
    home = tmp_path_factory.mktemp("browser-live-log-home")
    manage(home, "hst", "demo", "--observatory", "hst")
    manage(home, "hst", "createuser", "alice", "--email", "a@example.org", "--password", "secret",
           "--role", "submitter")
    with serving(home, jobs=True) as live:
        live.page_timeout_ms = 60_000
        yield live


def _new_bias_in_ingest(server: LiveServer, useafter: str) -> None:
    """A copy of a demo ACS bias with a new USEAFTER, put straight into alice's ingest area."""
    source = sorted((server.home / "file_cache" / "references" / "hst").glob("*_bia.fits"))[0]
    folder = server.home / "server_files" / "ingest" / "alice"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "new_bias.fits"
    shutil.copy(source, target)
    with fits.open(target, mode="update") as hdus:
        hdus[0].header["USEAFTER"] = useafter
        hdus[0].header["DESCRIP"] = "A new bias watched through the live log"


def _log_in(page, server: LiveServer, next_url: str) -> None:
    page.goto(server.url + f"/login/?next={next_url}")
    page.get_by_label("Lock Instrument").select_option("acs")
    page.get_by_label("User name or e-mail").fill("alice")
    page.get_by_label("Password or API token").fill("secret")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"**{next_url}")


def _heading(tab) -> str:
    """The page's h1, or '' while the page is being refreshed."""
    try:
        return tab.get_by_role("heading", level=1).inner_text(timeout=5_000)
    except Exception:  # mid-navigation
        return ""


def _until(predicate, seconds: float = 180) -> bool:
    """Poll `predicate` once a second for at most `seconds` (a bound, not a timing assertion)."""
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(1)
    return True


def test_the_live_log_grows_and_opens_the_results_page(page, server):
    _new_bias_in_ingest(server, "Jan 01 2021 00:00:00")
    _log_in(page, server, "/batch_submit_references/")
    polled = []
    page.on("response", lambda r: polled.append(r.status) if "/log?since_id=" in r.url else None)
    page.get_by_label("Description").fill("A new ACS bias, watched on the live log.")
    page.get_by_role("button", name="Submit").click()
    page.get_by_role("heading", name="Submission queued").wait_for()
    log = page.locator("#progress-log li")
    assert "queued" in log.first.inner_text()
    page.screenshot(path=str(SHOTS / "live_log_started.png"), full_page=True)

    # No reloads by the test: the page's script appends the next lines (it waits half a second
    # after the last one before it opens the results page)...
    page.wait_for_function("document.querySelectorAll('#progress-log li').length > 3", timeout=180_000)
    page.screenshot(path=str(SHOTS / "live_log_growing.png"), full_page=True)
    # ...and then opens the results page.
    page.wait_for_url("**/display_result/**", timeout=180_000)
    assert shown(page.get_by_role("heading", name="Submission ready"), 30_000), page.content()[-3000:]
    assert polled and all(status == 200 for status in polled)
    assert page.locator('[id="new_bias.fits"]').inner_text().endswith("_bia.fits")
    assert shown(page.get_by_role("heading", name="Actions on hst_acs_biasfile_0002.rmap"))
    badge = page.locator('details[data-file="new_bias.fits"] .badge')
    assert badge.inner_text() in ("OK", "Warnings")
    page.locator('details[data-file="new_bias.fits"] summary').click()
    page.get_by_text("Rmap Text Diffs").click()
    page.screenshot(path=str(SHOTS / "live_log_results.png"), full_page=True)
    page.get_by_role("button", name="Cancel").click()
    page.get_by_role("heading", name="Submission cancelled").wait_for()


def test_without_scripts_the_page_refreshes_to_the_results(page, server):
    browser = page.context.browser
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    tab.set_default_timeout(60_000)
    try:
        _new_bias_in_ingest(server, "Feb 01 2021 00:00:00")
        _log_in(tab, server, "/batch_submit_references/")
        tab.get_by_label("Description").fill("A new ACS bias, followed without scripts.")
        tab.get_by_role("button", name="Submit").click()
        tab.get_by_role("heading", name="Submission queued").wait_for()
        tab.wait_for_url("**/display_result/**", timeout=60_000)  # the noscript refresh
        assert _until(lambda: _heading(tab) not in ("", "Submission queued", "Submission processing"))
        assert _heading(tab) == "Submission ready", tab.content()[-3000:]
        tab.screenshot(path=str(SHOTS / "live_log_noscript_results.png"), full_page=True)
        tab.get_by_role("button", name="Cancel").click()
        tab.get_by_role("heading", name="Submission cancelled").wait_for()
    finally:
        context.close()


def test_the_advertised_pickle_url_serves_the_context_pickle(server):
    import requests

    info = server.rpc("get_server_info")["result"]
    base = info["pickle_url"]["unchecked"]["hst"]
    answer = requests.get(base.rstrip("/") + "/" + info["edit_context"] + ".pkl", timeout=60)
    assert answer.status_code == 200 and answer.content[:1] == b"\x80"  # a pickle's protocol byte
