"""The submission pages a CRDS user reaches for: the live progress log (S5), the results page's
rmap actions and certify badges (S6), Delivery Status (S15) and catalog names on P12 and the RPC."""

from __future__ import annotations

import html
import re

import pytest
from bs4 import BeautifulSoup
from django.test import Client

from crds_server.accounts.actions import create_user
from crds_server.catalog.models import File
from crds_server.deliveries.models import Delivery
from crds_server.jobs import jpoll
from crds_server.submissions import actions
from crds_server.submissions.models import Submission
from tests.rpc import Rpc
from tests.submitting import persona, put_in_ingest
from tests.test_web_submit import BATCH, RESULT_LINK, repost


@pytest.fixture(autouse=True)
def _clean_areas(clean_areas):
    """Every test leaves the store, ingest and upload areas as it found them."""


def _queued(browser: Client) -> tuple[Submission, str]:
    """A batch submission posted from the page (no jpoll channel opened first); its page."""
    page = repost(browser, "/batch_submit_references/", **BATCH)
    assert page.status_code == 200, page.content.decode()[:2000]
    body = page.content.decode()
    return Submission.objects.get(pk=RESULT_LINK.search(body).group(1)), body


@pytest.fixture
def queued(browser, homer, demo_catalog) -> tuple[Submission, str]:
    put_in_ingest(demo_catalog, homer, "my_dark.fits")
    return _queued(browser)


def _log(client: Client, submission: Submission, since: str = "0"):
    return client.get(f"/display_result/{submission.id}/log", {"since_id": since})


def test_a_page_submission_gets_its_own_channel_and_shows_the_live_log(queued):
    submission, body = queued
    assert submission.channel_key
    soup = BeautifulSoup(body, "html.parser")
    log = soup.find(id="progress-log")
    assert log["data-log"] == f"/display_result/{submission.id}/log"
    assert log["data-next"] == f"/display_result/{submission.id}"
    assert "queued." in log.get_text() and int(log["data-since"]) > 0
    assert soup.find("script") and 'http-equiv="refresh"' in str(soup.find("noscript"))
    assert "{#" not in body and "comment %}" not in body


def test_the_log_endpoint_pages_the_lines_with_since_id_until_done(browser, queued):
    submission, _ = queued
    first = _log(browser, submission).json()
    assert first["status"] == "queued" and not first["done"] and len(first["messages"]) == 1
    actions.process(str(submission.id))
    rest = _log(browser, submission, str(first["messages"][-1]["id"])).json()
    texts = [m["data"] for m in rest["messages"] if m["type"] == "log_message"]
    assert rest["done"] and rest["status"] == "ready" and rest["result_url"].endswith(str(submission.id))
    assert any("Generated 'hst_0002.pmap'" in t for t in texts)
    assert rest["messages"][0]["id"] > first["messages"][-1]["id"]
    assert _log(browser, submission, str(rest["messages"][-1]["id"])).json()["messages"] == []


def test_a_long_log_is_answered_in_pages(browser, queued, monkeypatch):
    submission, _ = queued
    for n in range(7):
        jpoll.log(submission.channel_key, f"line {n}")
    from crds_server.web import submit

    monkeypatch.setattr(submit, "LOG_PAGE", 3)
    page = _log(browser, submission).json()
    assert len(page["messages"]) == 3 and page["more"]
    last = _log(browser, submission, str(page["messages"][-1]["id"])).json()
    assert [m["data"] for m in last["messages"]] == ["line 2", "line 3", "line 4"]


def test_only_the_submitter_and_operators_read_the_log(queued, demo_catalog):
    submission, _ = queued
    assert _log(Client(), submission).status_code == 403
    other = Client()
    other.force_login(persona("lisa"))
    refused = _log(other, submission)
    assert refused.status_code == 403 and "Only the submitter" in refused.json()["error"]
    operator = Client()
    operator.force_login(create_user("marge", "marge@example.org", "operator"))
    assert _log(operator, submission).status_code == 200


@pytest.mark.parametrize("since", ["-1", "abc", "1e3", "9" * 40, "١٢"])
def test_a_bad_since_id_is_a_400(browser, queued, since):
    submission, _ = queued
    answer = _log(browser, submission, since)
    assert answer.status_code == 400 and "since_id" in answer.json()["error"]


def test_an_unknown_submission_or_a_post_to_the_log_is_refused(browser, queued):
    assert browser.get("/display_result/00000000-0000-0000-0000-000000000000/log").status_code == 404
    submission, _ = queued
    assert browser.post(f"/display_result/{submission.id}/log").status_code in (403, 405)


def test_the_results_page_follows_the_log_while_processing(browser, queued):
    submission, _ = queued
    body = browser.get(f"/display_result/{submission.id}").content.decode()
    assert 'id="progress-log"' in body and "<noscript>" in body
    actions.process(str(submission.id))
    body = browser.get(f"/display_result/{submission.id}").content.decode()
    assert 'id="progress-log"' not in body and 'http-equiv="refresh"' not in body


@pytest.fixture
def ready(browser, queued) -> Submission:
    submission, _ = queued
    actions.process(str(submission.id))
    submission.refresh_from_db()
    assert submission.status == Submission.READY, submission.error
    return submission


def test_the_results_page_tables_the_rmap_actions_with_their_match_parameters(browser, ready):
    soup = BeautifulSoup(browser.get(f"/display_result/{ready.id}").content.decode(), "html.parser")
    assert soup.find("h2", string="Actions on hst_acs_darkfile_0002.rmap")
    table = soup.find("table", class_="actions")
    assert "Rmap Logical Diffs" in table.caption.get_text()
    heads = [th.get_text() for th in table.thead.find_all("th")]
    assert heads == ["Action", "DETECTOR", "CCDAMP", "CCDGAIN", "DATE-OBS", "TIME-OBS", "Change"]
    official = ready.result["renamed"]["my_dark.fits"]
    cells = [td.get_text() for td in table.tbody.find("tr").find_all("td")]
    assert cells == ["add", "WFC", "A", "0.5", "2005-01-01", "00:00:00", f"added terminal {official}"]
    text = table.find_next("details")
    assert text.summary.get_text().startswith("Rmap Text Diffs")
    assert "+++ hst_acs_darkfile_0002.rmap" in text.pre.get_text()


def test_each_certified_file_has_an_accordion_with_its_status_badge(browser, ready):
    body = browser.get(f"/display_result/{ready.id}").content.decode()
    soup = BeautifulSoup(body, "html.parser")
    official = ready.result["renamed"]["my_dark.fits"]
    entry = soup.find("details", attrs={"data-file": "my_dark.fits"})
    assert entry and entry["data-status"] == "OK"
    assert re.sub(r"\s+", " ", entry.summary.get_text()).strip() == f"my_dark.fits → {official} OK"
    assert entry.find("span", class_="badge ok")
    assert soup.find(id="my_dark.fits").string == official  # what `crds submit` scrapes
    assert len(soup.find_all(id="my_dark.fits")) == 1


def test_warnings_and_errors_get_orange_and_red_badges(browser, ready):
    result = dict(ready.result)
    files = result["certify"]["files"]
    files["my_dark.fits"] = dict(files["my_dark.fits"], status="Warnings", warnings=["odd <b>"])
    files["other.fits"] = {"name": "other.fits", "status": "ERRORS", "errors": ["broken"], "warnings": []}
    Submission.objects.filter(pk=ready.pk).update(result=result)
    soup = BeautifulSoup(browser.get(f"/display_result/{ready.id}").content.decode(), "html.parser")
    warned = soup.find("details", attrs={"data-file": "my_dark.fits"})
    failed = soup.find("details", attrs={"data-file": "other.fits"})
    assert warned.find("span", class_="badge warn").string == "Warnings" and not warned.has_attr("open")
    assert "WARNING: odd <b>" in warned.get_text()
    assert failed.find("span", class_="badge bad").string == "ERRORS" and failed.has_attr("open")


def test_other_submitters_cannot_see_the_results_page(ready, demo_catalog):
    other = Client()
    other.force_login(persona("lisa"))
    page = other.get(f"/display_result/{ready.id}")
    assert page.status_code == 403 and "Actions on" not in page.content.decode()
    assert Client().get(f"/display_result/{ready.id}").status_code == 302


# ------------------------------------------------------------------- Delivery Status (S15)


@pytest.fixture
def two_deliveries(db):
    Delivery.objects.create(number=7, catalog="hst_0007.cat", files=["a_drk.fits"], user="homer",
                            state=Delivery.FAILED)
    Delivery.objects.create(number=6, catalog="hst_0006.cat", files=["b_drk.fits"], user="bart",
                            state=Delivery.ARCHIVED)


def test_submitters_see_delivery_status_read_only(client, two_deliveries):
    client.force_login(create_user("homer", "homer@example.org", "submitter"))
    page = client.get("/delivery_status/")
    body = page.content.decode()
    assert page.status_code == 200 and "private" in page["Cache-Control"]
    pending, recent = body.split("Recent deliveries")
    assert "hst_0007.cat" in pending and "archiving-failed" in pending and "hst_0006.cat" not in pending
    assert "hst_0006.cat" in recent and "archived" in recent
    assert "Redeliver" not in body and "<form method=\"post\"" not in body.split("<main")[1]
    assert client.post("/delivery_status/").status_code == 405


def test_delivery_status_needs_a_login_and_the_submitter_role(client, two_deliveries):
    assert client.get("/delivery_status/")["Location"] == "/login/?next=/delivery_status/"
    from django.contrib.auth.models import User

    client.force_login(User.objects.create_user("ned"))  # logged in, no role
    page = client.get("/delivery_status/")
    assert page.status_code == 403 and "hst_0007.cat" not in page.content.decode()


def test_operators_keep_the_redeliver_action_on_the_deliveries_page(client, two_deliveries):
    client.force_login(create_user("marge", "marge@example.org", "operator"))
    body = client.get("/deliveries/").content.decode()
    assert 'aria-label="Redeliver hst_0007.cat"' in body and "Redeliver hst_0006.cat" not in body
    status = client.get("/delivery_status/").content.decode()
    assert 'aria-label="Redeliver' not in status and 'href="/deliveries/"' in status
    refused = client.post("/deliveries/", {"number": "x; rm"}, follow=True)
    assert "Name the delivery" in refused.content.decode()
    missing = client.post("/deliveries/", {"number": "99"}, follow=True)
    assert "Unknown delivery number 99" in html.unescape(missing.content.decode())


# ------------------------------------------------------------------- catalog names, not disk paths


@pytest.fixture
def delivered_file(demo_catalog, settings):
    row = File.objects.filter(type=File.REFERENCE).first()
    link = f"{settings.SERVER_FILES}/catalogs/hst_0007.cat"
    File.objects.filter(pk=row.pk).update(catalog_link=link)
    from crds_server.catalog import versioning

    versioning.bump()
    return row.name


def test_the_rpc_names_the_delivery_catalog_without_the_servers_paths(client, delivered_file, settings):
    rpc = Rpc(client)
    info = rpc("get_file_info", "hst", delivered_file)
    assert info["catalog_link"] == "hst_0007.cat"
    whole = rpc("get_file_info_map", "hst", [delivered_file], ["catalog_link"])
    assert whole[delivered_file]["catalog_link"] == "hst_0007.cat"


def test_the_file_details_page_names_the_delivery_catalog_only(client, delivered_file, settings):
    body = client.get(f"/browse/{delivered_file}").content.decode()
    assert "hst_0007.cat" in body and str(settings.SERVER_FILES) not in body


# ------------------------------------------------------------------- the advertised pickle_url


def test_the_pickle_url_serves_a_catalogued_contexts_pickle_and_nothing_else(client, demo_catalog):
    from crds_server.catalog import serverinfo

    base = serverinfo.server_info()["pickle_url"]["unchecked"]["hst"]
    path = base.split("://", 1)[1].split("/", 1)[1]
    pickle = client.get(f"/{path}{demo_catalog.context}.pkl")
    assert pickle.status_code == 200 and b"".join(pickle.streaming_content)[:1] == b"\x80"
    for name in ("hst_9999.pmap.pkl", "hst_acs_0001.imap.pkl", "..%2Fsettings.py"):
        assert client.get(f"/{path}{name}").status_code == 404, name
