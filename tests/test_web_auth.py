"""Login with an instrument lock, logout and lock status, as `crds submit` uses them (contract §5.2, §5.6)."""

from __future__ import annotations

import html
import re

import pytest
from django.test import Client

from crds_server.accounts.actions import create_token, create_user
from crds_server.locks import actions as locks
from crds_server.locks.models import InstrumentLock

ERROR_DIV = re.compile(r"""<div[^>]*id=["']error_message["'][^>]*>([^<]*)</div>""")


@pytest.fixture
def homer(demo_catalog):
    return create_user("homer", "homer@example.org", "submitter", password="donuts")


@pytest.fixture
def marge(demo_catalog):
    return create_user("marge", "marge@example.org", "operator", password="hair")


@pytest.fixture
def browser() -> Client:
    """A client that checks CSRF, as the real server does for `crds submit`."""
    return Client(enforce_csrf_checks=True)


def login(browser: Client, username: str, password: str, instrument: str = "acs", path: str = "/login/"):
    page = browser.get(path)
    token = page.cookies["csrftoken"].value
    return browser.post(path, {"username": username, "password": password, "instrument": instrument,
                               "next": "/", "csrfmiddlewaretoken": token}, follow=True)


def error_of(response) -> str:
    match = ERROR_DIV.search(response.content.decode())
    assert match, response.content.decode()[:2000]
    return html.unescape(match.group(1)).strip()


def test_the_login_page_sets_the_csrftoken_cookie_and_has_no_error_div(browser, homer):
    page = browser.get("/login/")
    assert page.status_code == 200
    assert page.cookies["csrftoken"].value
    assert "error_message" not in page.content.decode()


def test_the_login_page_offers_the_instruments_of_the_latest_context_and_none(browser, homer):
    body = browser.get("/login/").content.decode()
    assert '<option value="acs"' in body and '<option value="none"' in body
    assert 'for="login-username"' in body and 'name="password"' in body


def test_a_password_login_takes_the_lock_and_lands_on_a_page_without_an_error_div(browser, homer):
    response = login(browser, "homer", "donuts")
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == "/"
    assert "error_message" not in response.content.decode()
    assert InstrumentLock.objects.get(user=homer).instrument == "acs"
    assert browser.session["_auth_user_id"] == str(homer.pk)


def test_a_token_login_works_as_crds_submit_sends_it(browser, homer):
    token = create_token(homer, "cli")
    browser.cookies["ASB-AUTH"] = token
    response = login(browser, "homer", token, "cos")
    assert response.status_code == 200
    assert locks.status("homer")["name"] == "cos"


def test_a_bad_password_is_a_401_with_an_error_div_and_counts_towards_throttling(browser, homer, settings):
    settings.AXES_FAILURE_LIMIT = 2
    response = login(browser, "homer", "wrong")
    assert response.status_code == 401
    assert "wrong password" in error_of(response)
    login(browser, "homer", "wrong")
    throttled = login(browser, "homer", "donuts")
    assert throttled.status_code == 403
    assert "Too many failed logins" in error_of(throttled)
    assert not InstrumentLock.objects.exists()


def test_an_instrument_locked_by_someone_else_is_a_403_with_an_error_div(browser, homer):
    bart = create_user("bart", "bart@example.org", "submitter", password="cowabunga")
    locks.acquire(bart, "acs")
    response = login(browser, "homer", "donuts")
    assert response.status_code == 403
    assert "locked by 'bart'" in error_of(response)
    assert "_auth_user_id" not in browser.session


def test_submitters_and_operators_may_log_in_with_none_and_hold_no_lock(browser, homer, marge):
    # What `crds submit` sends for files of several instruments: the locks come at submit time.
    allowed = login(browser, "homer", "donuts", "none")
    assert allowed.status_code == 200 and "error_message" not in allowed.content.decode()
    operator = login(Client(enforce_csrf_checks=True), "marge", "hair", "none")
    assert operator.status_code == 200 and "error_message" not in operator.content.decode()
    assert not InstrumentLock.objects.exists()


def test_an_unknown_instrument_is_refused(browser, homer):
    response = login(browser, "homer", "donuts", "hubble")
    assert response.status_code == 403 and "Unknown instrument" in error_of(response)


def test_a_user_without_a_role_is_refused(browser, demo_catalog):
    from django.contrib.auth.models import User

    User.objects.create_user("moe", password="beer")
    response = login(browser, "moe", "beer")
    assert response.status_code == 403 and "no submitter or operator role" in error_of(response)


def test_next_is_followed_only_when_it_stays_on_this_site(browser, homer):
    token = browser.get("/login/").cookies["csrftoken"].value
    form = {"username": "homer", "password": "donuts", "instrument": "acs", "csrfmiddlewaretoken": token}
    assert browser.post("/login/", dict(form, next="/upload/"))["Location"] == "/upload/"
    token = browser.get("/login/").cookies["csrftoken"].value
    evil = browser.post("/login/", dict(form, next="https://evil.example/", csrfmiddlewaretoken=token))
    assert evil["Location"] == "/"


def test_the_doubled_slash_login_path_of_crds_submit_works(browser, homer):
    # An absolute URL: the test client would read "//login/" as a host name.
    response = login(browser, "homer", "donuts", path="http://testserver//login/")
    assert response.status_code == 200
    assert InstrumentLock.objects.filter(user=homer).exists()


def test_logout_releases_the_lock_and_ends_the_session(browser, homer):
    login(browser, "homer", "donuts")
    response = browser.get("/logout/")
    assert response.status_code == 302 and response["Location"] == "/"
    assert not InstrumentLock.objects.exists()
    assert "_auth_user_id" not in browser.session


def test_lock_status_is_json_with_a_name_key_and_needs_no_login(client, homer):
    assert client.get("/lock_status/homer/").json()["name"] == ""
    locks.acquire(homer, "acs")
    status = client.get("/lock_status/homer/").json()
    assert status["name"] == "acs" and status["user"] == "homer" and status["is_expired"] is False
