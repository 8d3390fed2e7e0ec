"""Extended Batch Submit (ReDCaT, feature S3): the form, its checks, its description, its mails."""

from __future__ import annotations

import html
import io
import re
import shutil
from pathlib import Path

import pytest
import yaml
from bs4 import BeautifulSoup
from django.conf import settings
from django.test import Client

from crds_server.submissions import actions, redcat
from crds_server.submissions.models import Submission
from tests.submitting import COS_KEYWORDS, COS_RMAP, persona, put_in_ingest
from tests.test_web_auth import error_of, login

PAGE = "/submission_form/redcat_submit/"
RESULT_LINK = re.compile(r"/display_result/([0-9a-f-]{36})")
BATCH = dict(pmap_mode="pmap_edit", pmap_name="hst_0001.pmap", change_level="SEVERE",
             creator="ACS Team", description="New darks for ACS", auto_rename="True",
             compare_old_reference="False")
# What `crds.submit.Submission` posts: booleans as requests encodes them ("True"/"False").
ANSWERS = dict(
    deliverer="Homer Simpson", other_email="marge@example.org, bart@example.org", instrument="acs",
    file_type="Dark", history_updated="True", pedigree_updated="True", keywords_checked="False",
    descrip_updated="True", useafter_updated="True", useafter_matches="N/A",
    compliance_verified="Yes", ingest_files="False", etc_delivery="False", jwst_etc="False",
    calpipe_version="hstcal 2.7", replacement_files="False", old_reference_files="",
    replacing_badfiles="N/A", jira_issue="REDCAT-25", table_rows_changed="",
    modes_affected="All WFC modes", correctness_testing="Calibrated ten datasets",
    additional_considerations="",
)
# STScI's description, field by field (type, required): the client's test/data/rc_description.yaml.
STSCI = [
    ("deliverer", "CharField", True), ("other_email", "CharField", False),
    ("instrument", "TypedChoiceField", True), ("file_type", "CharField", True),
    ("history_updated", "BooleanField", False), ("pedigree_updated", "BooleanField", False),
    ("keywords_checked", "BooleanField", False), ("descrip_updated", "BooleanField", False),
    ("useafter_updated", "BooleanField", False), ("useafter_matches", "TypedChoiceField", True),
    ("compliance_verified", "TypedChoiceField", True), ("ingest_files", "BooleanField", False),
    ("etc_delivery", "BooleanField", False), ("jwst_etc", "BooleanField", False),
    ("calpipe_version", "CharField", True), ("replacement_files", "BooleanField", False),
    ("old_reference_files", "CharField", False), ("replacing_badfiles", "TypedChoiceField", True),
    ("jira_issue", "CharField", False), ("table_rows_changed", "CharField", False),
    ("modes_affected", "CharField", True), ("correctness_testing", "CharField", True),
    ("additional_considerations", "CharField", False),
]
REQUIRED = [key for key, _, required in STSCI if required]


@pytest.fixture(autouse=True)
def _clean_areas(clean_areas):
    """Every test leaves the store, ingest and upload areas as it found them."""


@pytest.fixture
def homer(demo_catalog):
    user = persona("homer", password="donuts")
    put_in_ingest(demo_catalog, user, "my_dark.fits")
    return user


def post(browser: Client, **answers: str):
    """GET the page (it sets csrftoken), then POST the batch fields and `answers`."""
    page = browser.get(PAGE)
    assert page.status_code == 200 and page.cookies["csrftoken"].value
    fields = {k: v for k, v in dict(BATCH, **answers).items() if v is not None}
    return browser.post(PAGE, dict(fields, csrfmiddlewaretoken=page.cookies["csrftoken"].value))


def queued(page) -> Submission:
    body = page.content.decode()
    assert page.status_code == 200 and "error_message" not in body, body[:2000]
    return Submission.objects.get(pk=RESULT_LINK.search(body).group(1))


def test_the_page_asks_every_question_with_its_label_choices_and_required_mark(browser):
    page = browser.get(PAGE)
    assert page.status_code == 200 and "error_message" not in page.content.decode()
    soup = BeautifulSoup(page.content, "html.parser")
    for q in redcat.QUESTIONS:
        control = soup.find(attrs={"name": q.key})
        assert control is not None, q.key
        row = control.find_parent("tr")
        label = row.find("label")
        assert label["for"] == control["id"] and _words(q.label) in _words(label.get_text())
        assert bool(row.find("abbr", class_="required")) == q.required, q.key
        # A select with no empty option always has an answer: HTML gives it no `required`.
        assert control.has_attr("required") == (q.required and control.name != "select"), q.key
        if q.type == "TypedChoiceField":
            assert [o["value"] for o in control.find_all("option")] == list(q.options())
        if q.type == "BooleanField":
            assert control["type"] == "checkbox"


def _words(text: str) -> str:
    return " ".join(text.split())


def test_the_instrument_is_a_choice_of_the_observatorys_instruments(browser):
    options = BeautifulSoup(browser.get(PAGE).content, "html.parser").find("select", attrs={
        "name": "instrument"}).find_all("option")
    assert [o["value"] for o in options] == ["acs", "cos", "nicmos", "stis", "synphot", "wfc3",
                                             "wfpc2"]


@pytest.mark.parametrize("key", REQUIRED)
def test_a_missing_required_answer_is_refused_before_anything_is_queued(browser, key):
    # Refusals answer 200 with the error div: `crds rc_submit` shows the text of no 4xx page.
    page = post(browser, **dict(ANSWERS, **{key: None}))
    assert page.status_code == 200 and f"'{key}' is required" in error_of(page)
    assert not Submission.objects.exists()
    page = post(browser, **dict(ANSWERS, **{key: "   "}))
    assert page.status_code == 200 and f"'{key}' is required" in error_of(page)


@pytest.mark.parametrize(("key", "value"), [("instrument", "hubble"), ("useafter_matches", "Maybe"),
                                            ("compliance_verified", "yes please"),
                                            ("history_updated", "perhaps")])
def test_an_answer_outside_its_choices_is_refused(browser, key, value):
    page = post(browser, **dict(ANSWERS, **{key: value}))
    assert page.status_code == 200 and f"'{key}' must be" in error_of(page)
    assert not Submission.objects.exists()


def test_an_overlong_answer_is_refused(browser):
    page = post(browser, **dict(ANSWERS, deliverer="H" * 501))
    assert page.status_code == 200 and "'deliverer' is longer than 500" in error_of(page)
    page = post(browser, **dict(ANSWERS, correctness_testing="t" * 5001))
    assert page.status_code == 200 and "'correctness_testing' is longer" in error_of(page)
    assert not Submission.objects.exists()


@pytest.mark.parametrize(("other", "why"), [
    ("marge@example.org, not-an-address", "'not-an-address' is not an e-mail address"),
    ("marge@example.org\nBcc: victim@example.org", "'Bcc:' is not an e-mail address"),
    (",".join(f"u{i}@example.org" for i in range(11)), "At most 10 other e-mail addresses"),
])
def test_a_bad_other_email_list_is_a_form_error(browser, other, why):
    page = post(browser, **dict(ANSWERS, other_email=other))
    assert page.status_code == 200 and why in error_of(page)
    assert not Submission.objects.exists()


def test_files_of_another_instrument_than_the_answer_are_refused(browser, homer, demo_catalog):
    put_in_ingest(demo_catalog, homer, "my_flat.fits", rmap_name=COS_RMAP, **COS_KEYWORDS)
    page = post(browser, **ANSWERS)
    assert page.status_code == 200 and "holds files of cos" in error_of(page)
    assert not Submission.objects.exists()


def test_a_refused_form_keeps_what_the_user_typed(browser):
    page = post(browser, **dict(ANSWERS, deliverer=""))
    soup = BeautifulSoup(page.content, "html.parser")
    assert soup.find(attrs={"name": "file_type"})["value"] == "Dark"
    assert soup.find(attrs={"name": "history_updated"}).has_attr("checked")


def test_complete_answers_are_queued_in_canonical_form(browser):
    submission = queued(post(browser, **dict(ANSWERS, instrument="ACS", useafter_matches="n/a",
                                             history_updated=None, stray_field="x" * 100)))
    assert submission.status == Submission.QUEUED and submission.instrument == "acs"
    extra = submission.extra
    assert extra["deliverer"] == "Homer Simpson" and extra["useafter_matches"] == "N/A"
    # An unticked box is absent from a browser's POST: it is a False answer.
    assert extra["history_updated"] == "False" and extra["pedigree_updated"] == "True"
    assert extra["other_email"] == "marge@example.org, bart@example.org"
    assert "stray_field" not in extra and set(extra) == set(redcat.KEYS) - {"instrument"}


def test_the_answers_are_shown_on_the_results_page_and_in_the_history(browser):
    submission = queued(post(browser, **ANSWERS))
    body = html.unescape(browser.get(f"/display_result/{submission.id}").content.decode())
    assert "ReDCaT answers" in body
    soup = BeautifulSoup(body, "html.parser")
    assert soup.find(id="redcat-deliverer").get_text() == "Homer Simpson"
    assert soup.find(id="redcat-instrument").get_text() == "acs"
    assert soup.find(id="redcat-pedigree_updated").get_text() == "Yes"
    assert soup.find(id="redcat-keywords_checked").get_text() == "No"
    assert soup.find(id="redcat-correctness_testing").get_text() == "Calibrated ten datasets"
    history = BeautifulSoup(browser.get("/submissions/").content, "html.parser")
    answers = history.find("tr", class_="redcat-answers")
    assert answers.find("dd", attrs={"data-key": "modes_affected"}).get_text() == "All WFC modes"


def test_a_plain_batch_submission_shows_no_redcat_answers(browser):
    token = browser.get("/batch_submit_references/").cookies["csrftoken"].value
    page = browser.post("/batch_submit_references/", dict(BATCH, instrument="acs",
                                                          csrfmiddlewaretoken=token))
    submission = queued(page)
    assert "ReDCaT answers" not in browser.get(f"/display_result/{submission.id}").content.decode()
    assert "redcat-answers" not in browser.get("/submissions/").content.decode()


def test_the_notices_also_go_to_the_other_email_addresses(browser, settings, mailoutbox):
    settings.NOTIFY_LIST = ["team@example.org"]
    submission = queued(post(browser, **ANSWERS))
    (started,) = mailoutbox
    assert started.to == ["homer@example.org", "marge@example.org", "bart@example.org",
                          "team@example.org"]
    actions.process(str(submission.id))
    assert mailoutbox[-1].subject.startswith(f"[CRDS hst {settings.USECASE}] Submission ready")
    assert "marge@example.org" in mailoutbox[-1].to


def test_the_description_matches_stscis_field_by_field(client, demo_catalog):
    page = client.get("/submission_form/redcat_description.yml")
    assert page.status_code == 200
    fields = yaml.safe_load(page.content)
    assert [(f["key"], f["type"], f["required"]) for f in fields] == STSCI
    for field in fields:
        if field["type"] == "BooleanField":
            assert field["choices"] == [False, True] and field["initial"] is False, field["key"]
        elif field["key"] == "instrument":
            assert field["choices"] == ["acs", "cos", "nicmos", "stis", "synphot", "wfc3", "wfpc2"]
            assert field["initial"] == "acs"
        elif field["type"] == "TypedChoiceField":
            assert field["choices"] == ["N/A", "No", "Yes"] and field["initial"] == "N/A"
        else:
            assert "choices" not in field and "initial" not in field, field["key"]


def test_the_form_and_the_description_agree_field_by_field(browser, client):
    described = yaml.safe_load(client.get("/submission_form/redcat_description.yml").content)
    soup = BeautifulSoup(browser.get(PAGE).content, "html.parser")
    for field in described:
        control = soup.find(attrs={"name": field["key"]})
        kind = {"BooleanField": "checkbox", "TypedChoiceField": "select"}.get(field["type"], "text")
        assert (control.get("type") or control.name) in (kind, "textarea"), field["key"]
        assert control.has_attr("required") == (field["required"] and control.name != "select")


@pytest.fixture
def client_submission(client, demo_catalog, monkeypatch):
    """`crds.submit.Submission('hst', 'dev')` reading this server's description (urllib patched
    to answer from the Django test client; the client's parsing code is untouched)."""
    from crds.core import config
    from crds.submit import rc_submit

    def urlopen(url):
        assert url.endswith("/submission_form/redcat_description.yml"), url
        return io.BytesIO(client.get("/submission_form/redcat_description.yml").content)

    monkeypatch.setattr(rc_submit.urllib.request, "urlopen", urlopen)
    monkeypatch.setattr(config, "base_url", None, raising=False)  # the client sets it
    monkeypatch.setenv("CRDS_SERVER_URL", "http://testserver")
    return rc_submit.Submission("hst", "dev")


def test_the_real_client_parses_the_description_and_validates_a_submission(client_submission,
                                                                           tmp_path):
    sub = client_submission
    assert sub["history_updated"] is False and sub["instrument"] == "acs"
    for key in REQUIRED:
        with pytest.raises(ValueError):
            sub[key] = ""
    sub["history_updated"] = True
    with pytest.raises(ValueError):
        sub["history_updated"] = "Yes"  # a BooleanField takes booleans only
    with pytest.raises(ValueError):
        sub["instrument"] = "hubble"
    sub["instrument"] = "WFC3"
    assert sub["instrument"] == "wfc3"
    for key in ("deliverer", "file_type", "calpipe_version", "modes_affected", "correctness_testing"):
        sub[key] = ANSWERS[key]
    sub["description"] = "New darks for WFC3"
    with pytest.raises(Exception, match="No files"):
        sub.validate()
    (tmp_path / "my_dark.fits").write_bytes(b"")
    sub.add_file(str(tmp_path / "my_dark.fits"))
    sub.validate()


def test_what_the_real_client_builds_is_accepted_by_the_form(client_submission, browser):
    sub = client_submission
    for key, value in ANSWERS.items():
        if key not in ("other_email",):
            sub[key] = {"True": True, "False": False}.get(value, value)
    sub["description"] = "New darks for ACS"
    # requests form-encodes a bool as str(bool); the RedCatApiScript posts dict(sub) over the batch.
    posted = {k: str(v) for k, v in dict(sub).items()}
    submission = queued(post(browser, **posted))
    assert submission.extra["deliverer"] == "Homer Simpson"
    assert submission.extra["other_email"] == "" and submission.extra["jwst_etc"] == "False"


def test_the_archive_notices_of_a_redcat_delivery_go_to_the_other_email_addresses(
        settings, tmp_path, demo_catalog, mailoutbox):
    from crds_server.deliveries import actions as deliveries

    settings.SERVER_FILES = tmp_path / "server_files"  # a deliveries area of this test's own
    (settings.SERVER_FILES / "deliveries").mkdir(parents=True)
    homer = persona("homer", password="donuts")
    put_in_ingest(demo_catalog, homer, "my_dark.fits")
    browser = Client(enforce_csrf_checks=True)
    login(browser, "homer", "donuts", "acs")
    browser.get("/jpoll/open_channel")
    submission = queued(post(browser, **ANSWERS))
    actions.process(str(submission.id))
    actions.confirm(homer, submission.id)
    for _ in range(3):
        deliveries.simulate_archive()
        deliveries.watch()
    archived = [m for m in mailoutbox if "Delivery archived" in m.subject]
    assert len(archived) == 1 and archived[0].to[:3] == ["homer@example.org", "marge@example.org",
                                                         "bart@example.org"]


def test_an_anonymous_visitor_gets_a_403_with_an_error_div(demo_catalog):
    page = Client(enforce_csrf_checks=True).get(PAGE)
    assert page.status_code == 403 and "Log in" in error_of(page)


def test_a_refusal_after_the_answers_are_checked_keeps_the_answers_on_the_page(browser):
    shutil.rmtree(Path(settings.SERVER_FILES) / "ingest")  # refused by the submission itself
    page = post(browser, **ANSWERS)
    assert page.status_code == 400 and "ingest area holds no files" in error_of(page)
    assert not Submission.objects.exists()
    soup = BeautifulSoup(page.content, "html.parser")
    assert soup.find(attrs={"name": "deliverer"})["value"] == "Homer Simpson"
    assert soup.find(attrs={"name": "jira_issue"})["value"] == "REDCAT-25"


def test_the_site_menu_links_the_extended_batch_submit_page(browser):
    nav = BeautifulSoup(browser.get("/").content, "html.parser").find("nav")
    assert nav.find("a", href=PAGE).get_text() == "Extended batch submit"
