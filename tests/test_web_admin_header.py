"""G1 and navigation: every page's header links by role, and a lock countdown renewed by activity."""

from __future__ import annotations

import datetime
import re

import pytest
from django.conf import settings
from django.utils import timezone

from crds_server.accounts.actions import create_user
from crds_server.locks import actions as locks
from crds_server.locks.models import InstrumentLock

SUBMIT = ["/submit/reference/", "/submit/mapping/", "/submission_form/redcat_submit/", "/delete/reference/",
          "/add_existing/reference/"]
OPERATE = ["/set_context/", "/mark_bad/", "/locks/", "/deliveries/", "/pipelines/", "/admin/"]


def _links(page: str) -> set[str]:
    return set(re.findall(r'href="(/[^"#?]*)"', page))


def test_anonymous_visitors_see_the_public_pages_only(client, db):
    links = _links(client.get("/").content.decode())
    assert "/versions/" in links and "/login/" in links
    assert not links & set(SUBMIT + OPERATE)


def test_submitters_see_every_submission_form_and_no_operator_page(client, db):
    client.force_login(create_user("homer", "homer@example.org", "submitter", "pw"))
    for url in ("/", "/help/", "/versions/"):
        links = _links(client.get(url).content.decode())
        assert set(SUBMIT) <= links and not links & set(OPERATE), url


def test_operators_also_see_the_operator_pages_and_the_admin(client, db):
    client.force_login(create_user("marge", "marge@example.org", "operator", "pw"))
    links = _links(client.get("/versions/").content.decode())
    assert set(SUBMIT + OPERATE) <= links


@pytest.fixture
def homer(client, db):
    """Homer, logged in, holding the ACS lock with ten minutes left."""
    user = create_user("homer", "homer@example.org", "submitter", "pw")
    locks.acquire(user, "acs")
    InstrumentLock.objects.filter(user=user).update(expires=timezone.now() + datetime.timedelta(minutes=10))
    client.force_login(user)
    return user


def _left(user) -> float:
    return (InstrumentLock.objects.get(user=user).expires - timezone.now()).total_seconds()


def test_the_header_countdown_starts_from_the_time_left_after_this_request_renewed_it(client, homer):
    page = client.get("/help/").content.decode()
    match = re.search(r'data-lock="acs">acs <time class="countdown" role="timer" '
                      r'data-remaining="(\d+):(\d\d):(\d\d)"', page)
    assert match, page[:3000]
    hours, minutes, seconds = map(int, match.groups())
    full = settings.LOCK_HOURS * 3600
    assert full - 60 < hours * 3600 + minutes * 60 + seconds <= full


def test_any_page_a_submitter_opens_renews_the_lock(client, homer):
    client.get("/browse/")
    assert _left(homer) > settings.LOCK_HOURS * 3600 - 60


def test_the_countdowns_own_polling_and_static_files_do_not_renew_it(client, homer):
    client.get("/lock_status/homer/")
    client.get("/static/admin/css/base.css")
    assert _left(homer) < 11 * 60


def test_an_expired_lock_is_not_brought_back_by_activity(client, homer):
    InstrumentLock.objects.filter(user=homer).update(expires=timezone.now() - datetime.timedelta(seconds=1))
    client.get("/browse/")
    assert _left(homer) < 0


def test_someone_elses_activity_does_not_renew_the_lock(client, homer):
    client.force_login(create_user("bart", "bart@example.org", "submitter", "pw"))
    client.get("/browse/")
    assert _left(homer) < 11 * 60


def test_touch_writes_once_for_a_burst_of_requests(homer):
    assert locks.touch(homer) == 1
    assert locks.touch(homer) == 0
