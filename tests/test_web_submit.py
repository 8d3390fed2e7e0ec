"""The submission pages as `crds submit` drives them: repost forms, results, confirm (contract §5.4-§5.9)."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.test import Client

from crds_server.catalog import contexts
from crds_server.submissions import actions
from crds_server.submissions.models import Submission
from tests.submitting import COS_KEYWORDS, COS_RMAP, done_messages, persona, put_in_ingest
from tests.test_web_auth import error_of

RESULT_LINK = re.compile(r"/display_result/([0-9a-f-]{36})")


@pytest.fixture(autouse=True)
def _clean_areas(clean_areas):
    """Every test leaves the store, ingest and upload areas as it found them."""


def repost(browser: Client, path: str, **fields: str):
    """GET the form (it must set csrftoken), then POST it with the token, as the client does."""
    page = browser.get(path)
    assert page.status_code == 200 and page.cookies["csrftoken"].value
    token = page.cookies["csrftoken"].value
    return browser.post(path, dict(fields, csrfmiddlewaretoken=token))


BATCH = dict(pmap_mode="pmap_edit", pmap_name="hst_0001.pmap", instrument="acs", change_level="SEVERE",
             creator="Homer", description="test delivery", auto_rename="True",
             compare_old_reference="False")


def submit(browser: Client, path: str = "/batch_submit_references/", **fields: str) -> Submission:
    """Post a submission form, then process it as the job consumer would."""
    page = repost(browser, path, **dict(BATCH, **fields))
    assert page.status_code == 200, page.content.decode()[:2000]
    match = RESULT_LINK.search(page.content.decode())
    assert match, page.content.decode()[:2000]
    actions.process(match.group(1))
    return Submission.objects.get(pk=match.group(1))


@pytest.fixture
def ready(browser, homer, demo_catalog) -> Submission:
    put_in_ingest(demo_catalog, homer, "my_dark.fits")
    submission = submit(browser)
    assert submission.status == Submission.READY, submission.error
    return submission


def test_the_batch_form_sets_csrftoken_and_has_no_error_div(browser):
    page = browser.get("/batch_submit_references/")
    assert page.status_code == 200 and page.cookies["csrftoken"].value
    assert "error_message" not in page.content.decode()


def test_posting_the_form_queues_the_ingest_files_and_links_the_results_page(browser, homer, demo_catalog):
    put_in_ingest(demo_catalog, homer, "my_dark.fits")
    page = repost(browser, "/batch_submit_references/", **BATCH)
    body = page.content.decode()
    assert page.status_code == 200 and "error_message" not in body
    submission = Submission.objects.get(pk=RESULT_LINK.search(body).group(1))
    assert submission.status == Submission.QUEUED and submission.uploaded == ["my_dark.fits"]


def test_an_empty_ingest_area_or_bad_description_is_a_400_with_an_error_div(browser, homer, demo_catalog):
    page = repost(browser, "/batch_submit_references/", **BATCH)
    assert page.status_code == 400 and "ingest area holds no files" in error_of(page)
    put_in_ingest(demo_catalog, homer, "my_dark.fits")
    page = repost(browser, "/batch_submit_references/", **dict(BATCH, description="<b>"))
    assert page.status_code == 400 and "may only hold" in error_of(page)
    page = repost(browser, "/batch_submit_references/", **dict(BATCH, description="d" * 2001))
    assert page.status_code == 400 and "longer than 2000" in error_of(page)
    assert not Submission.objects.exists()


def test_files_of_an_instrument_someone_else_holds_are_refused_naming_the_holder(browser, homer,
                                                                                 demo_catalog):
    persona("bart", instrument="cos")
    put_in_ingest(demo_catalog, homer, "my_flat.fits", rmap_name=COS_RMAP, **COS_KEYWORDS)
    page = repost(browser, "/batch_submit_references/", **dict(BATCH, instrument="acs"))
    # 200 with the error div, the only way `crds submit` shows its user the message (contract §5.6).
    assert page.status_code == 200 and "'cos' is locked by 'bart'" in error_of(page)
    assert not Submission.objects.exists()


def test_an_anonymous_visitor_gets_a_403_with_an_error_div(demo_catalog):
    page = Client(enforce_csrf_checks=True).get("/batch_submit_references/")
    assert page.status_code == 403 and "Log in" in error_of(page)


def test_the_results_page_names_the_new_files_and_the_logical_diffs(browser, ready):
    page = browser.get(f"/display_result/{ready.id}")
    assert page.status_code == 200 and page.cookies["csrftoken"].value
    body = html.unescape(page.content.decode())
    official = ready.result["renamed"]["my_dark.fits"]
    assert re.search(rf'id="my_dark.fits">{official}<', body)
    assert "Logical Diff ('hst_acs_darkfile_0001.rmap', 'hst_acs_darkfile_0002.rmap')" in body
    assert 'value="confirm"' in body and "error_message" not in body
    assert done_messages(ready) == [{"status": 0, "result": actions.result_url(ready)}]


def _confirm(browser: Client, submission: Submission, button: str = "confirm"):
    """GET the results page for its token, then POST the button (contract §5.7)."""
    page = browser.get(f"/display_result/{submission.id}")
    return browser.post("/submit_confirm_pipeline/", {
        "results_id": str(submission.id), "button": button,
        "csrfmiddlewaretoken": page.cookies["csrftoken"].value})


def test_confirming_answers_with_links_to_the_new_names_and_the_new_pmap(browser, ready):
    page = _confirm(browser, ready)
    body = page.content.decode()
    assert page.status_code == 200 and "error_message" not in body
    official = ready.result["renamed"]["my_dark.fits"]
    assert re.search(rf'id="my_dark.fits"><a href="[^"]+/{official}">{official}</a>', body)
    assert re.search(r'id="hst_0001.pmap"><a href="[^"]+/hst_0002.pmap">hst_0002.pmap</a>', body)
    assert contexts.pointer("edit") == "hst_0002.pmap"
    again = _confirm(browser, ready)
    assert again.status_code == 400 and "not ready" in error_of(again)


def test_the_confirm_page_links_references_and_rules_where_they_are_served(browser, ready):
    body = _confirm(browser, ready).content.decode()
    official = ready.result["renamed"]["my_dark.fits"]
    for path in re.findall(r'href="(/unchecked_get/[^"]+)"', body):
        assert browser.get(path).status_code == 200, path
    assert f"/references/hst/{official}" in body and "/mappings/hst/hst_0002.pmap" in body


def test_cancelling_answers_without_an_error_and_gives_the_uploads_back(browser, ready, homer):
    page = _confirm(browser, ready, "cancel")
    assert page.status_code == 200 and "error_message" not in page.content.decode()
    ready.refresh_from_db()
    assert ready.status == Submission.CANCELLED
    assert (Path(settings.SERVER_FILES) / "ingest" / "homer" / "my_dark.fits").is_file()


def test_an_unknown_button_or_submission_is_a_400(browser, ready):
    assert _confirm(browser, ready, "explode").status_code == 400
    token = browser.get(f"/display_result/{ready.id}").cookies["csrftoken"].value
    page = browser.post("/submit_confirm_pipeline/", {"results_id": "nope", "button": "confirm",
                                                      "csrfmiddlewaretoken": token})
    assert page.status_code == 400 and error_of(page)


def test_the_redcat_description_is_yaml_the_client_can_read(client, demo_catalog):
    page = client.get("/submission_form/redcat_description.yml")
    fields = yaml.safe_load(page.content)
    assert page.status_code == 200 and isinstance(fields, list)
    for field in fields:
        assert {"key", "type", "required", "label"} <= set(field)
        assert field["type"] in ("BooleanField", "CharField", "TypedChoiceField")
    assert "instrument" in {f["key"] for f in fields}


def test_a_certify_only_submission_of_good_files_ends_ready_without_a_confirm(browser, homer, demo_catalog):
    put_in_ingest(demo_catalog, homer, "my_dark.fits")
    submission = submit(browser, "/certify/", pmap_mode="pmap_edit", pmap_name="hst_0001.pmap",
                        compare_old_reference="False", description="")
    assert submission.status == Submission.READY and submission.result["ok"]
    body = browser.get(f"/display_result/{submission.id}").content.decode()
    assert 'value="confirm"' not in body
    assert _confirm(browser, submission).status_code == 400
    assert done_messages(submission)[0]["status"] == 0


def test_a_certify_only_submission_of_a_broken_file_ends_failed(browser, homer, demo_catalog):
    put_in_ingest(demo_catalog, homer, "broken.fits", DETECTOR="BROKEN")
    submission = submit(browser, "/certify/", description="")
    assert submission.status == Submission.FAILED and not submission.result["ok"]
    assert done_messages(submission)[0]["status"] == 1
    assert 'value="confirm"' not in browser.get(f"/display_result/{submission.id}").content.decode()


def test_the_history_page_lists_ones_own_submissions_only(browser, ready, demo_catalog):
    other = persona("lisa", instrument="cos")
    put_in_ingest(demo_catalog, other, "lisas.fits", rmap_name=COS_RMAP, **COS_KEYWORDS)
    from tests.submitting import start

    theirs = start(other, instrument="cos")
    body = browser.get("/submissions/").content.decode()
    assert f"/display_result/{ready.id}" in body and f"/display_result/{theirs.id}" not in body
