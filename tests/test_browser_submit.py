"""A submitter delivers a new reference in a real browser (Debian's Chromium via Playwright)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from astropy.io import fits

from tests.browser import SHOTS, serving, shown
from tests.live import LiveServer, manage

pytestmark = pytest.mark.browser

BIG_BYTES = 5_000_192


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A demo server with a job consumer and a submitter account, alice."""
    home = tmp_path_factory.mktemp("browser-submit-home")
    manage(home, "hst", "demo", "--observatory", "hst")
    manage(home, "hst", "createuser", "alice", "--email", "a@example.org", "--password", "secret",
           "--role", "submitter")
    with serving(home, jobs=True) as live:
        live.page_timeout_ms = 60_000  # uploads of 20 MB through the page
        yield live


def _a_new_bias(server: LiveServer, folder: Path) -> Path:
    """A copy of a demo ACS bias with a new USEAFTER: a valid new reference."""
    source = sorted((server.home / "file_cache" / "references" / "hst").glob("*_bia.fits"))[0]
    target = folder / "new_bias.fits"
    shutil.copy(source, target)
    with fits.open(target, mode="update") as hdus:
        hdus[0].header["USEAFTER"] = "Jan 01 2021 00:00:00"
        hdus[0].header["DESCRIP"] = "A new bias delivered through the web pages"
    return target


def _a_big_upload(folder: Path) -> Path:
    """A file the page sends in three pieces (its pieces are 2,000,000 bytes)."""
    target = folder / "big_upload.fits"
    target.write_bytes(bytes(range(256)) * (BIG_BYTES // 256))
    return target


def _shot(page, name: str) -> None:
    assert page.locator("#error_message, .error_message").count() == 0, page.content()[-3000:]
    page.screenshot(path=str(SHOTS / f"submit_{name}.png"), full_page=True)


def _wait_until_processed(page, seconds: float = 180) -> str:
    """Reload the results page until processing ends; the final heading."""
    deadline = time.monotonic() + seconds
    while True:
        heading = page.get_by_role("heading", level=1).inner_text()
        if heading not in ("Submission queued", "Submission processing") or time.monotonic() > deadline:
            return heading
        time.sleep(1)
        page.reload()


def test_a_submitter_uploads_submits_and_confirms_a_new_reference(page, server, tmp_path):
    page.goto(server.url + "/login/?next=/upload/")
    page.get_by_label("Lock Instrument").select_option("acs")
    page.get_by_label("User name or e-mail").fill("alice")
    page.get_by_label("Password or API token").fill("secret")
    _shot(page, "login")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/upload/")

    files = [str(_a_new_bias(server, tmp_path)), str(_a_big_upload(tmp_path))]
    page.get_by_label("Files to upload").set_input_files(files)
    page.get_by_role("button", name="Start upload").click()
    page.get_by_role("cell", name="new_bias.fits", exact=True).wait_for()  # the page reloads when done
    assert shown(page.get_by_role("row", name=f"big_upload.fits {BIG_BYTES}"))
    _shot(page, "upload")
    page.get_by_role("button", name="Delete big_upload.fits").click()
    page.get_by_role("button", name="Delete big_upload.fits").wait_for(state="detached")
    assert shown(page.get_by_role("button", name="Delete new_bias.fits"))

    page.goto(server.url + "/batch_submit_references/")
    assert shown(page.get_by_role("heading", name="Batch Submit References"))
    page.get_by_label("Description").fill("A new ACS bias, delivered from the browser test.")
    _shot(page, "form")
    page.get_by_role("button", name="Submit").click()
    page.get_by_role("heading", name="Submission queued").wait_for()
    _shot(page, "queued")
    page.get_by_role("link", name="results page").click()
    page.wait_for_url("**/display_result/**")

    assert _wait_until_processed(page) == "Submission ready", page.content()[-4000:]
    official = page.locator('[id="new_bias.fits"]').inner_text()
    assert official.endswith(".fits") and official != "new_bias.fits"
    new_pmap = page.locator("#new_context").inner_text()
    assert new_pmap.endswith(".pmap")
    _shot(page, "result")

    page.get_by_role("button", name="Confirm").click()
    page.get_by_role("heading", name="Submission confirmed").wait_for()
    assert shown(page.get_by_role("link", name=new_pmap))
    assert shown(page.get_by_role("link", name=official))
    _shot(page, "confirmed")

    page.goto(server.url + "/")
    assert shown(page.get_by_role("row", name=f"Edit context {new_pmap}", exact=True))
    _shot(page, "home")


def _edit_context_darks(server: LiveServer) -> tuple[str, set[str]]:
    """The edit context and the ACS darks its rules name, read by the crds library from the store."""
    from crds.core import rmap

    edit = server.rpc("get_server_info")["result"]["edit_context"]
    store = server.home / "file_cache" / "mappings" / "hst"
    pmap = rmap.load_mapping(edit, path=str(store), ignore_checksum=True)
    return edit, set(pmap.get_imap("acs").get_rmap("darkfile").reference_names())


def _submit_named(page, server: LiveServer, url: str, field: str, name: str, why: str) -> str:
    """Fill a names form (Delete or Add References), submit and confirm; the new context."""
    page.goto(server.url + url)
    page.get_by_label(field).fill(name)
    page.get_by_label("Description").fill(why)
    _shot(page, url.strip("/").replace("/", "_"))
    page.get_by_role("button", name="Submit").click()
    page.get_by_role("heading", name="Submission queued").wait_for()
    page.get_by_role("link", name="results page").click()
    page.wait_for_url("**/display_result/**")
    assert _wait_until_processed(page) == "Submission ready", page.content()[-4000:]
    new_pmap = page.locator("#new_context").inner_text()
    page.get_by_role("button", name="Confirm").click()
    page.get_by_role("heading", name="Submission confirmed").wait_for()
    return new_pmap


def test_a_submitter_deletes_a_reference_from_the_rules_then_adds_it_back(page, server):
    page.goto(server.url + "/logout/")
    page.goto(server.url + "/login/?next=/delete/reference/")
    page.get_by_label("Lock Instrument").select_option("acs")
    page.get_by_label("User name or e-mail").fill("alice")
    page.get_by_label("Password or API token").fill("secret")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/delete/reference/")
    before, darks = _edit_context_darks(server)
    dark = sorted(darks)[0]

    dropped = _submit_named(page, server, "/delete/reference/", "Deleted files", dark,
                            "Drop one ACS dark before marking it bad")
    edit, darks_now = _edit_context_darks(server)
    assert edit == dropped != before and darks_now == darks - {dark}

    restored = _submit_named(page, server, "/add_existing/reference/", "Added files", dark,
                             "Bring the ACS dark back")
    edit, darks_now = _edit_context_darks(server)
    assert edit == restored != dropped and darks_now == darks
