"""Operator pages: set context, mark bad, locks and deliveries; operators only, refusals logged."""

from __future__ import annotations

import pytest
from django.test import Client

from crds_server.accounts.actions import create_user
from crds_server.catalog import contexts
from crds_server.catalog.models import AuditEntry, ContextHistory, File
from crds_server.deliveries.models import Delivery
from crds_server.locks import actions as locks
from crds_server.locks.models import InstrumentLock
from tests.web_helpers import derive_context

PAGES = ["/set_context/", "/mark_bad/", "/locks/", "/deliveries/"]


@pytest.fixture
def operator(db, client):
    """Marge, an operator, logged in."""
    marge = create_user("marge", "marge@example.org", "operator", "pw")
    client.force_login(marge)
    return marge


@pytest.fixture
def submitter(db):
    return create_user("homer", "homer@example.org", "submitter", "pw")


@pytest.fixture
def second(demo_catalog, catalog):
    """hst_0002.pmap, derived from the latest context, dropping one ACS dark."""
    return derive_context(catalog, demo_catalog.context, "acs", "darkfile")


@pytest.mark.parametrize("url", PAGES)
def test_anonymous_visitors_are_sent_to_the_login_page_and_nothing_is_logged(client, db, url):
    response = client.get(url)
    assert response.status_code == 302 and response["Location"] == f"/login/?next={url}"
    assert not AuditEntry.objects.exists()


@pytest.mark.parametrize("url", PAGES)
def test_submitters_are_refused_and_the_attempt_is_logged(client, submitter, url):
    client.force_login(submitter)
    assert client.post(url, {"reason": "let me"}).status_code == 403
    entry = AuditEntry.objects.get(action="refused")
    assert entry.user == "homer" and entry.details == f"POST {url}"


def test_the_navigation_shows_operator_pages_to_operators_only(client, submitter, demo_catalog):
    client.force_login(submitter)
    assert "/set_context/" not in client.get("/").content.decode()
    client.force_login(create_user("marge", "marge@example.org", "operator"))
    page = client.get("/").content.decode()
    assert all(url in page for url in PAGES)


def test_forms_need_the_csrf_token(operator, demo_catalog):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(operator)
    assert strict.post("/mark_bad/", {"names": "x", "mark": "bad", "reason": "r"}).status_code == 403
    assert 'name="csrfmiddlewaretoken"' in strict.get("/set_context/").content.decode()


def test_set_context_shows_the_diff_then_moves_latest_on_confirmation(client, operator, second,
                                                                      demo_catalog):
    form = {"kind": "latest", "context": second["pmap"], "reason": "Drop a bad dark", "calver": ""}
    preview = client.post("/set_context/", form)
    page = preview.content.decode()
    assert preview.status_code == 200 and "Confirm: make hst_0002.pmap the latest context" in page
    assert f"{second['old_rmap']} → {second['rmap']}" in page and second["dropped"] in page
    assert contexts.pointer("latest") == demo_catalog.context  # nothing changed yet
    done = client.post("/set_context/", dict(form, confirm="1", expected=demo_catalog.context))
    assert done.status_code == 302 and done["Location"] == "/set_context/"
    assert contexts.pointer("latest") == second["pmap"]
    era = ContextHistory.objects.order_by("-start_date", "-id").first()
    assert (era.context, era.description, era.user) == (second["pmap"], "Drop a bad dark", "marge")
    assert "changed from &#x27;hst_0001.pmap&#x27; to &#x27;hst_0002.pmap&#x27;" in \
        client.get("/set_context/").content.decode()


def test_set_context_confirmation_is_refused_if_the_context_moved_since_the_preview(client, operator,
                                                                                   second):
    form = {"kind": "latest", "context": second["pmap"], "reason": "r", "confirm": "1",
            "expected": "hst_0000.pmap"}
    response = client.post("/set_context/", form)
    assert response.status_code == 400 and "changed to" in response.content.decode()
    assert ContextHistory.objects.filter(context=second["pmap"]).count() == 0


def test_a_build_context_needs_a_calibration_version(client, operator, second):
    response = client.post("/set_context/", {"kind": "build", "context": second["pmap"], "reason": "r"})
    assert response.status_code == 400 and "calibration software version" in response.content.decode()


def test_mark_bad_lists_the_spread_then_blacklists_on_confirmation(client, operator, second):
    form = {"names": second["rmap"], "mark": "bad", "reason": "wrong rules"}
    page = client.post("/mark_bad/", form).content.decode()
    assert "will be blacklisted by spreading" in page
    assert second["imap"] in page and second["pmap"] in page
    assert not File.objects.bad().exists()
    assert client.post("/mark_bad/", dict(form, confirm="1")).status_code == 302
    assert set(File.objects.bad().values_list("name", flat=True)) == {
        second["rmap"], second["imap"], second["pmap"]}
    ok = {"names": second["rmap"], "mark": "ok", "reason": "fixed", "confirm": "1"}
    assert client.post("/mark_bad/", ok).status_code == 302
    assert not File.objects.bad().exists()


def test_mark_bad_refuses_files_of_the_latest_context(client, operator, second):
    page = client.post("/mark_bad/", {"names": second["old_rmap"], "mark": "bad",
                                      "reason": "wrong"}).content.decode()
    assert "in the latest context" in page and 'name="confirm"' not in page
    response = client.post("/mark_bad/", {"names": second["old_rmap"], "mark": "bad", "reason": "wrong",
                                          "confirm": "1"})
    assert response.status_code == 400 and not File.objects.bad().exists()


def test_mark_bad_reports_unknown_files(client, operator, demo_catalog):
    response = client.post("/mark_bad/", {"names": "nosuch.fits", "mark": "bad", "reason": "r"})
    assert response.status_code == 400 and "nosuch.fits" in response.content.decode()


def test_the_locks_page_shows_time_remaining_and_breaks_a_lock(client, operator, submitter, demo_catalog):
    locks.acquire(submitter, "acs")
    page = client.get("/locks/").content.decode()
    assert "homer" in page and "Break lock on acs" in page and ":" in page
    assert client.post("/locks/", {"instrument": "acs", "reason": ""}).status_code == 302
    assert InstrumentLock.objects.filter(instrument="acs").exists()  # a reason is required
    assert client.post("/locks/", {"instrument": "acs", "reason": "gone home"}).status_code == 302
    assert not InstrumentLock.objects.exists()
    entry = AuditEntry.objects.get(action="break lock")
    assert (entry.user, entry.filename, entry.why) == ("marge", "acs", "gone home")


def test_the_deliveries_page_lists_pending_and_recent_deliveries(client, operator):
    Delivery.objects.create(number=7, catalog="hst_0007.cat", files=["a_drk.fits"], user="homer")
    Delivery.objects.create(number=6, catalog="hst_0006.cat", files=["b_drk.fits"], user="homer",
                            state=Delivery.ARCHIVED)
    response = client.get("/deliveries/")
    page = response.content.decode()
    assert response.status_code == 200
    pending, recent = page.split("Recent deliveries")
    assert "hst_0007.cat" in pending and "hst_0006.cat" not in pending
    assert "hst_0006.cat" in recent and "archived" in recent and "a_drk.fits" in page


def test_refused_visits_are_in_recent_activity_for_operators_only(client, submitter, demo_catalog):
    client.force_login(submitter)
    client.get("/locks/")
    assert AuditEntry.objects.filter(action="refused").exists()
    from django.test import Client

    for who in (Client(), client):  # a visitor, and the submitter refused
        page = who.get("/recent_activity/?extension=*")
        assert page.status_code == 200 and "operator role required" not in page.content.decode()
        assert "private" in page["Cache-Control"]
    client.force_login(create_user("marge", "marge@example.org", "operator"))
    assert "operator role required" in client.get("/recent_activity/?extension=*").content.decode()
