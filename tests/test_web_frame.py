"""The site-wide frame (G1, G3, P13): the header's Home/Login/Guide/Server Workflow, the listings'
"Show N entries", search and pages, and Recent Activity's `.pmap` default."""

from __future__ import annotations

import datetime
import re

import pytest
from django.utils import timezone

from crds_server.accounts.actions import create_user
from crds_server.catalog.models import AuditEntry, ContextHistory

LISTINGS = ["/browse/", "/recent_activity/", "/context_history/", "/contexts/", "/affected/"]


def _nav(page: str) -> str:
    return re.search(r'<nav aria-label="Site">(.*?)</nav>', page, re.S).group(1)


def test_the_header_bar_has_home_login_and_guide_for_visitors(client, db):
    nav = _nav(client.get("/").content.decode())
    assert '<a href="/">Home</a>' in nav and '<a href="/login/">Login</a>' in nav
    assert '>Guide</a>' in nav and 'href="/help/"' in nav
    assert "Server Workflow" not in nav and "/logout/" not in nav


def test_logged_in_users_get_logout_and_server_workflow(client, db):
    client.force_login(create_user("homer", "homer@example.org", "submitter", "pw"))
    nav = _nav(client.get("/").content.decode())
    assert '<a href="/logout/">Logout</a>' in nav and '/server_workflow/' in nav and "/login/" not in nav


def test_server_workflow_explains_the_operator_processes_to_logged_in_users(client, db):
    client.force_login(create_user("homer", "homer@example.org", "submitter", "pw"))
    response = client.get("/server_workflow/")
    page = response.content.decode()
    assert response.status_code == 200 and "private" in response["Cache-Control"]
    for heading in ("Submit", "Confirm or cancel", "Delivery to the archive", "Set context",
                    "Affected datasets", "Background jobs"):
        assert f"{heading}</h2>" in page
    assert "4 hours" in page and "24 hours" in page  # the lock and expiry settings


def test_server_workflow_sends_visitors_to_the_login_page(client, db):
    response = client.get("/server_workflow/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_the_guide_is_a_users_guide_entry_point(client, db):
    page = client.get("/help/").content.decode()
    assert "<h1>Users' guide</h1>" in page and 'id="pages"' in page
    for link in ('href="/"', 'href="/browse/"', 'href="/bestrefs/"', 'href="/recent_activity/"'):
        assert link in page
    assert "/server_workflow/" not in page  # for logged-in users only


@pytest.fixture
def eras(demo_catalog):
    """Thirty eras of history, alternating two descriptions."""
    start = timezone.now() - datetime.timedelta(days=100)
    for n in range(30):
        kind = "Flat fields" if n % 2 else "New darks"
        ContextHistory.objects.create(start_date=start + datetime.timedelta(days=n),
                                      context=demo_catalog.context, description=f"{kind} era {n}")
    return demo_catalog


@pytest.mark.parametrize("url", LISTINGS)
def test_every_listing_offers_show_n_entries_and_a_search_box(client, demo_catalog, url):
    response = client.get(url)
    page = response.content.decode()
    assert response.status_code == 200
    assert '<select name="show" data-autosubmit aria-label="Entries shown per page">' in page
    assert '<input type="search" name="search"' in page
    for size in (10, 25, 50, 100):
        assert f'<option value="{size}"' in page


def test_show_n_entries_sets_the_page_size_and_the_pager_keeps_it(client, eras):
    total = ContextHistory.objects.count()
    page = client.get("/context_history/", {"show": "10"}).content.decode()
    assert page.count('name="context" value=') == 10
    assert '<option value="10" selected>' in page and f"Page 1 of {-(-total // 10)}" in page
    assert "show=10&amp;page=2" in page
    assert f"Showing 1 to 10 of {total} entries" in page
    last = client.get("/context_history/", {"show": "25", "page": "2"}).content.decode()
    assert last.count('name="context" value=') == total - 25


def test_the_search_keeps_rows_whose_text_columns_match(client, eras):
    page = client.get("/context_history/", {"search": "flat FIELDS"}).content.decode()
    assert page.count("Flat fields era") == 15 and "New darks era" not in page
    assert 'value="flat FIELDS"' in page and "of 15 entries" in page


@pytest.mark.parametrize("show, shown", [("1000000", 100), ("7", 10), ("30", 25), ("abc", 100), ("-5", 10),
                                         ("9" * 500, 100)])
def test_odd_page_sizes_are_clamped_into_the_offered_ones(client, eras, show, shown):
    response = client.get("/context_history/", {"show": show})
    assert response.status_code == 200
    assert f'<option value="{shown}" selected>' in response.content.decode()


@pytest.mark.parametrize("url", LISTINGS)
def test_a_huge_search_is_a_400_with_the_reason_on_every_listing(client, demo_catalog, url):
    response = client.get(url, {"search": "x" * 101})
    assert response.status_code == 400
    assert "A search is at most 100 characters." in response.content.decode()
    assert client.get(url, {"search": "x" * 100}).status_code == 200


@pytest.mark.parametrize("url", LISTINGS)
def test_a_nul_in_a_search_is_a_400(client, demo_catalog, url):
    assert client.get(url, {"search": "a\x00b"}).status_code == 400


@pytest.mark.parametrize("url", LISTINGS)
@pytest.mark.parametrize("number", ["abc", "-1", "99999999999999999999", "1.5"])
def test_odd_page_numbers_give_a_page_not_an_error(client, demo_catalog, url, number):
    assert client.get(url, {"page": number}).status_code == 200


def test_browse_searches_names_and_descriptions_and_keeps_the_filters(client, demo_catalog):
    page = client.get("/browse/", {"instrument": "acs", "search": "darkfile"}).content.decode()
    names = re.findall(r'<td><a href="/browse/([^"]+)">', page)
    assert names and all("acs" in n or n.endswith(".fits") for n in names)
    assert '<input type="hidden" name="instrument" value="acs">' in page


def test_after_a_search_the_filters_fold_into_an_accordion(client, demo_catalog):
    before = client.get("/browse/").content.decode()
    after = client.get("/browse/", {"instrument": "acs"}).content.decode()
    assert '<details class="filters">' not in before and 'id="filters-heading">Filters</h2>' in before
    assert '<details class="filters"><summary><h2 id="filters-heading">Filters</h2>' in after
    invalid = client.get("/browse/", {"extension": "../x"}).content.decode()
    assert '<details class="filters">' not in invalid  # fields to fix stay in view


@pytest.fixture
def activity(db):
    AuditEntry.objects.create(user="alice", action="submit file", filename="hst_0002.pmap", why="darks")
    AuditEntry.objects.create(user="bob", action="mark bad", filename="x_drk.fits", why="noisy")
    AuditEntry.objects.create(user="carol", action="break lock", filename="acs", why="stuck")


def test_recent_activity_lists_contexts_by_default_as_stscis_does(client, activity):
    page = client.get("/recent_activity/").content.decode()
    rows = page.split("<tbody>", 1)[1]
    assert "hst_0002.pmap" in rows and "x_drk.fits" not in rows and "break lock" not in rows
    assert 'name="extension" value=".pmap"' in page


@pytest.mark.parametrize("query", ["extension=*", "extension=", "user=bob", "action=mark+bad"])
def test_an_address_naming_a_filter_or_a_star_lists_every_extension(client, activity, query):
    page = client.get(f"/recent_activity/?{query}").content.decode()
    assert "x_drk.fits" in page.split("<tbody>", 1)[1]


def test_a_search_alone_keeps_the_pmap_default(client, activity):
    rows = client.get("/recent_activity/", {"search": "darks"}).content.decode().split("<tbody>", 1)[1]
    assert "hst_0002.pmap" in rows and "x_drk.fits" not in rows


def _history_table(page: str, heading: str) -> str:
    section = page[page.index(heading):]
    return section[section.index("<table>"):section.index("</table>")]


def test_the_home_context_history_has_the_full_pages_columns_and_rows(client, eras):
    home = _history_table(client.get("/").content.decode(), "<h2>Context history</h2>")
    full = _history_table(client.get("/context_history/").content.decode(), "<h2>Eras</h2>")
    assert home.split("</thead>")[0] == full.split("</thead>")[0]  # same columns, with Status and Diff
    assert '<th scope="col">Status</th>' in home and '<button type="submit"' in home
    assert home.count('name="context" value=') == 4 and home.count('class="latest"') == 1
    page = client.get("/").content.decode()
    assert 'action="/diff/" aria-label="Diff two contexts of the history"' in page
    newest = re.findall(r"<tr><td>(.*?)</td>", full)[:4]
    assert re.findall(r"<tr><td>(.*?)</td>", home) == newest



def test_the_filter_form_keeps_the_chosen_page_size(client, demo_catalog):
    page = client.get("/browse/", {"instrument": "acs", "show": "25"}).content.decode()
    form = page[page.index('class="filters"'):page.index("</form>")]
    assert '<input type="hidden" name="show" value="25">' in form
    assert 'name="show"' not in client.get("/browse/").content.decode().split("</form>")[0]
