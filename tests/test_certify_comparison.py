"""The comparison context of Certify Files, Batch Submit and Submit References (`--comparison-context`)."""

from __future__ import annotations

import re

import pytest

from crds_server.submissions.models import Submission
from tests.submitting import put_in_ingest
from tests.test_web_auth import error_of
from tests.test_web_submit import BATCH, repost, submit

PAGES = ["/certify/", "/batch_submit_references/", "/submit/reference/"]


@pytest.fixture(autouse=True)
def _clean_areas(clean_areas):
    """Every test leaves the store, ingest and upload areas as it found them."""


@pytest.mark.parametrize("path", PAGES)
def test_the_form_offers_a_comparison_context_and_compares_tables_by_default(browser, path):
    body = browser.get(path).content.decode()
    assert 'name="comparison_context"' in body
    box = re.search(r'<input[^>]*name="compare_old_reference"[^>]*>', body)
    assert box and "checked" in box.group(0)


@pytest.mark.parametrize("value, message", [
    ("hst_0999.pmap", "Cannot compare with 'hst_0999.pmap'"),
    ("hst_acs_darkfile_0001.rmap", "is not a .pmap"),
    ("jwst_0001.pmap", "Cannot compare with"),
    ("hst_0001.pmap; rm -rf /", "Cannot compare with"),
    ("x" * 5000, "Cannot compare with"),
])
def test_an_unknown_or_foreign_comparison_context_is_a_400_and_nothing_starts(browser, homer, demo_catalog,
                                                                             value, message):
    put_in_ingest(demo_catalog, homer, "my_dark.fits")
    page = repost(browser, "/certify/", **dict(BATCH, description="", comparison_context=value))
    assert page.status_code == 400 and message in error_of(page)
    assert not Submission.objects.exists()


def test_without_one_the_files_are_certified_against_the_derive_from_context(browser, homer, demo_catalog):
    put_in_ingest(demo_catalog, homer, "my_dark.fits")
    submission = submit(browser, "/certify/", description="", compare_old_reference="True")
    assert submission.comparison_context == submission.derive_from
    assert submission.result["certify"]["context"] == submission.derive_from
    body = browser.get(f"/display_result/{submission.id}").content.decode()
    assert f'<span id="comparison_context">{submission.derive_from}</span>' in body
    assert 'data-check="table comparison"' in body


def test_a_named_comparison_context_is_the_one_a_batch_submission_certifies_against(browser, homer,
                                                                                   demo_catalog):
    put_in_ingest(demo_catalog, homer, "my_dark.fits")
    submission = submit(browser, comparison_context="latest", compare_old_reference="True")
    assert submission.status == Submission.READY, submission.error
    assert submission.comparison_context == "hst_0001.pmap"
    assert submission.result["comparison_context"] == "hst_0001.pmap"
    assert submission.result["certify"]["context"] == "hst_0001.pmap"
