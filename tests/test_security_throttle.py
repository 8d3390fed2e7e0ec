"""Login throttling in shared state for every login form, keyed by user and address,
and sessions that end with their token (issue 8, items 3 and 8)."""

from __future__ import annotations

import datetime

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.utils import timezone

from crds_server.accounts.actions import create_token, create_user, revoke_token
from crds_server.locks.models import InstrumentLock
from crds_server.security import throttle
from tests.test_web_auth import error_of, login


@pytest.fixture
def homer(demo_catalog):
    return create_user("homer", "homer@example.org", "submitter", password="donuts")


@pytest.fixture
def marge(demo_catalog):
    return create_user("marge", "marge@example.org", "operator", password="hair")


def _from(address: str) -> Client:
    """A browser at `address` that checks CSRF, as the real server does."""
    return Client(enforce_csrf_checks=True, REMOTE_ADDR=address)


def test_the_admin_login_is_the_sites_throttled_login(marge):
    attacker = _from("203.0.113.7")
    # The admin's own form is never used: its address sends everyone to the site's login.
    answer = attacker.get("/admin/login/?next=/admin/")
    assert answer.status_code == 302 and answer["Location"] == "/login/?next=%2Fadmin%2F"
    posted = attacker.post("/admin/login/?next=/admin/", {"username": "marge", "password": "hair"})
    assert posted.status_code in (302, 403) and "_auth_user_id" not in attacker.session
    for _ in range(15):
        assert login(attacker, "marge", "guess", "none").status_code in (200, 401, 403)
    locked = login(attacker, "marge", "hair", "none")
    assert locked.status_code == 403 and "Too many failed logins" in error_of(locked)
    assert "_auth_user_id" not in attacker.session


def test_an_attacker_elsewhere_cannot_lock_the_real_user_out(homer):
    attacker = _from("203.0.113.7")
    for _ in range(10):
        login(attacker, "homer", "guess")
    assert login(attacker, "homer", "donuts").status_code == 403
    real = login(_from("198.51.100.20"), "homer", "donuts")
    assert real.status_code == 200 and "error_message" not in real.content.decode()


def test_failures_are_counted_in_the_database_so_every_worker_sees_them(homer, settings):
    settings.AXES_FAILURE_LIMIT = 3
    for _ in range(3):  # each login through a new client: nothing kept in one process's memory
        login(_from("203.0.113.7"), "homer", "guess")
    assert AccessAttempt.objects.get(username="homer", ip_address="203.0.113.7").failures_since_start == 3
    refused = login(_from("203.0.113.7"), "homer", "donuts")
    assert refused.status_code == 403 and "Too many failed logins" in error_of(refused)
    assert not InstrumentLock.objects.exists()


def test_a_token_guesser_is_throttled_like_a_password_guesser(homer, settings):
    settings.AXES_FAILURE_LIMIT = 2
    token = create_token(homer, "cli")
    for _ in range(2):
        login(_from("203.0.113.7"), "homer", "not-the-token")
    assert login(_from("203.0.113.7"), "homer", token).status_code == 403


def test_trying_during_a_lockout_starts_it_again_and_waiting_it_out_lets_the_user_in(homer, settings):
    settings.AXES_FAILURE_LIMIT = 2
    browser = _from("203.0.113.7")
    for _ in range(2):
        login(browser, "homer", "guess")
    AccessAttempt.objects.update(attempt_time=timezone.now() - datetime.timedelta(minutes=14))
    login(browser, "homer", "guess")  # during the lockout: the wait starts again
    AccessAttempt.objects.update(attempt_time=timezone.now() - datetime.timedelta(minutes=14))
    assert login(browser, "homer", "donuts").status_code == 403  # 14 minutes after the last try
    AccessAttempt.objects.update(attempt_time=timezone.now() - datetime.timedelta(minutes=16))
    assert login(browser, "homer", "donuts").status_code == 200


def test_the_configured_proxy_header_names_the_client_but_a_forged_one_is_ignored(homer, settings):
    settings.AXES_FAILURE_LIMIT = 2
    for forged in ("10.0.0.1", "10.0.0.2"):  # no header configured: X-Real-IP is the client's own
        login(Client(enforce_csrf_checks=True, REMOTE_ADDR="203.0.113.7", HTTP_X_REAL_IP=forged),
              "homer", "guess")
    assert login(_from("203.0.113.7"), "homer", "donuts").status_code == 403
    settings.CLIENT_IP_HEADER = "X-Real-IP"
    proxied = Client(enforce_csrf_checks=True, REMOTE_ADDR="127.0.0.1", HTTP_X_REAL_IP="198.51.100.20")
    assert login(proxied, "homer", "donuts").status_code == 200


def test_pruning_forgets_old_attempts_and_bounds_what_a_record_keeps(homer):
    for _ in range(2):
        login(_from("203.0.113.7"), "homer", "guess")
    login(_from("203.0.113.8"), "homer", "guess")
    AccessAttempt.objects.filter(ip_address="203.0.113.8").update(
        attempt_time=timezone.now() - datetime.timedelta(hours=1))
    AccessAttempt.objects.update(post_data="x" * 100_000)
    assert throttle.prune_login_attempts() == 1
    [kept] = AccessAttempt.objects.all()
    assert kept.ip_address == "203.0.113.7" and len(kept.post_data) == throttle.ATTEMPT_DATA_KEPT


def test_revoking_a_token_ends_the_sessions_opened_with_it(marge):
    token = create_token(marge, "cli")
    browser = _from("198.51.100.20")
    assert login(browser, "marge", token, "none").status_code == 200
    assert browser.get("/locks/").status_code == 200  # an operator page
    assert revoke_token(marge, "cli") == 1
    after = browser.get("/locks/")
    assert after.status_code in (302, 403) and "_auth_user_id" not in browser.session


def test_a_password_session_is_not_ended_by_revoking_a_token(marge):
    create_token(marge, "cli")
    browser = _from("198.51.100.20")
    login(browser, "marge", "hair", "none")
    revoke_token(marge, "cli")
    assert browser.get("/locks/").status_code == 200


def test_trying_during_a_lockout_does_not_grow_the_record(homer, settings):
    settings.AXES_FAILURE_LIMIT = 2
    browser = _from("203.0.113.7")
    for _ in range(2):
        login(browser, "homer", "guess")
    size = len(AccessAttempt.objects.get(username="homer").post_data)
    for _ in range(20):
        assert login(browser, "homer", "guess").status_code == 403
    attempt = AccessAttempt.objects.get(username="homer")
    assert len(attempt.post_data) == size and attempt.failures_since_start == 2


def test_a_forged_or_missing_address_never_reaches_the_address_column(settings):
    from django.test import RequestFactory

    settings.CLIENT_IP_HEADER = "X-Real-IP"
    factory = RequestFactory()
    assert throttle.client_address(factory.get("/", HTTP_X_REAL_IP="198.51.100.20")) == "198.51.100.20"
    forged = factory.get("/", HTTP_X_REAL_IP="'; drop", REMOTE_ADDR="10.1.1.1")
    assert throttle.client_address(forged) == "10.1.1.1"
    assert throttle.client_address(factory.get("/", REMOTE_ADDR="")) is None
