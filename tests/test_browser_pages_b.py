"""Home Latest References, a reference diff and a FITS header upload, in a real browser
(Debian's Chromium driven by Playwright) on a live demo server."""

from __future__ import annotations

import re

import pytest
from astropy.io import fits

from tests.browser import SHOTS, demo_home_with_second_context, serving, shown

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    home = demo_home_with_second_context(tmp_path_factory.mktemp("browser-b-home"))
    with serving(home) as live:
        yield live


def test_opening_an_instrument_and_a_type_of_the_latest_references(page, server):
    page.goto(server.url + "/")
    acs = page.locator("details#instrument-acs")
    darks = acs.locator("details#type-acs-darkfile")
    assert not darks.is_visible()
    acs.locator("summary").first.click()
    assert shown(darks.get_by_text("darkfile — Dark Frame"))
    darks.locator("summary").click()
    first = darks.get_by_role("link", name=re.compile(r"_drk\.fits$")).first
    first.wait_for()
    assert shown(darks.get_by_role("columnheader", name="USEAFTER"))
    darks.scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "home_latest_references.png"), full_page=True)


def test_diffing_two_ticked_references(page, server):
    page.goto(server.url + "/context_table/hst_0001.pmap/acs/darkfile")
    boxes = page.get_by_role("checkbox", name=re.compile(r"^Diff .*_drk\.fits$"))
    assert boxes.count() == 2
    page.screenshot(path=str(SHOTS / "context_type_references.png"), full_page=True)
    boxes.nth(0).check()
    boxes.nth(1).check()
    page.get_by_role("button", name="Diff the two ticked references").click()
    page.wait_for_url(re.compile(r".*/diff/\w+_drk\.fits/\w+_drk\.fits$"))
    assert shown(page.get_by_text("Headers contain differences"))
    page.screenshot(path=str(SHOTS / "diff_references.png"), full_page=True)


def test_best_references_from_an_uploaded_fits_header(page, server, tmp_path):
    from crds_server.demo import demo_datasets

    header = next(d for d in demo_datasets(tmp_path, "hst") if d["instrument"] == "ACS")["header"]
    hdu = fits.PrimaryHDU()
    for key, value in header.items():
        if not key.startswith(("NAXIS", "SIMPLE", "BITPIX", "EXTEND")):
            hdu.header[key] = value
    dataset = tmp_path / "j8cb01u2q_raw.fits"
    hdu.writeto(dataset)
    page.goto(server.url + "/bestrefs/")
    page.get_by_label("Upload FITS header").set_input_files(str(dataset))
    page.get_by_text(re.compile(r"Read \d+ keywords of j8cb01u2q_raw\.fits")).wait_for()
    assert "DETECTOR =" in page.locator("textarea#header").input_value()
    page.get_by_role("button", name="Get references for this header").click()
    assert shown(page.get_by_role("heading", name="Best references under hst_0001.pmap"))
    download = page.get_by_role("link", name=re.compile(r"^Download \w+_drk\.fits$"))
    assert download.get_attribute("href").startswith("/unchecked_get/references/hst/")
    page.screenshot(path=str(SHOTS / "bestrefs_fits_upload.png"), full_page=True)


def test_a_reference_shows_where_the_latest_context_selects_it(page, server):
    page.goto(server.url + "/context_table/hst_0001.pmap/acs/darkfile")
    page.get_by_role("link", name=re.compile(r"_drk\.fits$")).first.click()
    pane = page.locator("details#lookup")
    assert shown(pane.get_by_role("columnheader", name="UseAfter"))
    assert shown(pane.get_by_text(re.compile(r"^DETECTOR=")).first)
    page.screenshot(path=str(SHOTS / "file_details_lookup_patterns.png"), full_page=True)


def test_a_submitter_compares_an_upload_with_a_catalogued_reference(page, server):
    store = server.home / "file_cache" / "references" / "hst"
    darks = sorted(p.name for p in store.glob("*_drk.fits"))
    ingest = server.home / "server_files" / "ingest" / "demo-submitter"
    ingest.mkdir(parents=True, exist_ok=True)
    (ingest / "my_new_dark.fits").write_bytes((store / darks[1]).read_bytes())
    page.goto(server.url + "/login/?next=/diff/upload/")
    page.get_by_label("User name or e-mail").fill("demo-submitter")
    page.get_by_label("Password or API token").fill("demo-submitter")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/diff/upload/")
    page.get_by_label("Your uploaded file").select_option("my_new_dark.fits")
    page.get_by_label("Catalogued file").fill(darks[0])
    page.get_by_role("button", name="Compare", exact=True).click()
    assert shown(page.get_by_role("heading", name=f"{darks[0]} against your my_new_dark.fits"))
    assert shown(page.get_by_text("Headers contain differences"))
    page.screenshot(path=str(SHOTS / "diff_upload.png"), full_page=True)
