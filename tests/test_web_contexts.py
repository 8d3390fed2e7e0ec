"""Context pages: history, all contexts, context table, differences, build contexts, help."""

from __future__ import annotations

import datetime
import re

import pytest

from crds_server.catalog.models import BuildContext, ContextHistory
from tests.web_helpers import derive_context


@pytest.fixture
def second(demo_catalog, catalog):
    """A second context that drops one ACS dark."""
    return derive_context(catalog, demo_catalog.context, "acs", "darkfile")


def test_context_history_lists_eras_with_diff_boxes(client, demo_catalog):
    ContextHistory.objects.create(start_date=datetime.datetime(2030, 1, 1, tzinfo=datetime.UTC),
                                  context=demo_catalog.context, description="<b>why</b>")
    page = client.get("/context_history/").content.decode()
    assert demo_catalog.context in page and 'name="context"' in page
    assert "&lt;b&gt;why&lt;/b&gt;" in page
    assert 'class="latest"' in page


def test_all_contexts_lists_every_pmap_with_its_status(client, second, demo_catalog):
    page = client.get("/contexts/").content.decode()
    assert second["pmap"] in page and demo_catalog.context in page
    assert 'class="edit"' in page and "Dropped one dark" in page


def test_context_table_shows_instruments_types_and_rmaps(client, demo_catalog):
    response = client.get(f"/context_table/{demo_catalog.context}")
    page = response.content.decode()
    assert response.status_code == 200
    assert "hst_acs_0001.imap" in page and "hst_acs_darkfile_0001.rmap" in page
    assert "max-age=300" in response["Cache-Control"]


@pytest.mark.parametrize("path", ["/context_history/", "/help/", "/build_contexts/", "/context_table/{pmap}"])
def test_context_pages_are_cached_publicly_for_visitors_privately_for_a_logged_in_user(
        client, browser, demo_catalog, path):
    path = path.format(pmap=demo_catalog.context)
    assert "public" in client.get(path)["Cache-Control"]
    mine = browser.get(path)  # its header names homer and his lock
    assert "homer" in mine.content.decode() and "private" in mine["Cache-Control"]
    assert "public" not in mine["Cache-Control"]


def test_context_table_of_an_unknown_context_is_the_404_page(client, demo_catalog):
    response = client.get("/context_table/hst_9999.pmap")
    assert response.status_code == 404
    assert 'role="search"' in response.content.decode()


def test_ticking_two_boxes_redirects_to_the_stable_diff_address(client, second, demo_catalog):
    response = client.get("/diff/", {"context": [second["pmap"], demo_catalog.context]})
    assert response.status_code == 302
    assert response["Location"] == f"/diff/{demo_catalog.context}/{second['pmap']}"


def test_ticking_one_box_explains_what_to_do(client, demo_catalog):
    response = client.get("/diff/", {"context": [demo_catalog.context]})
    assert response.status_code == 400
    assert "exactly two" in response.content.decode()


def test_diff_shows_logical_and_text_differences_at_every_level(client, second, demo_catalog):
    response = client.get(f"/diff/{demo_catalog.context}/{second['pmap']}")
    page = response.content.decode()
    assert response.status_code == 200
    for old, new in ((demo_catalog.context, second["pmap"]), (second["old_imap"], second["imap"]),
                     (second["old_rmap"], second["rmap"])):
        assert f"{old} → {new}" in page
    assert f"deleted terminal &#x27;{second['dropped']}&#x27;" in page
    assert "<th scope=\"col\">DETECTOR</th>" in page
    assert 'class="del">-' in page and second["dropped"] in page


def test_diff_of_two_rmaps(client, second):
    page = client.get(f"/diff/{second['old_rmap']}/{second['rmap']}").content.decode()
    assert "Logical diff" in page and second["dropped"] in page


def test_diff_of_mappings_of_different_kinds_is_refused(client, second, demo_catalog):
    response = client.get(f"/diff/{demo_catalog.context}/{second['rmap']}")
    assert response.status_code == 400
    assert "same kind" in response.content.decode()


def test_diff_with_an_unknown_mapping_is_the_404_page(client, demo_catalog):
    response = client.get(f"/diff/{demo_catalog.context}/hst_0999.pmap")
    assert response.status_code == 404


def test_build_contexts_table(client, demo_catalog):
    BuildContext.objects.create(calver="1.2.3", context=demo_catalog.context)
    page = client.get("/build_contexts/").content.decode()
    assert "1.2.3" in page and demo_catalog.context in page


def test_help_explains_contexts_states_and_bad_files(client, db):
    page = client.get("/help/").content.decode()
    for word in ("latest", "edit", "build", "versions", "archived", "rejected", "blacklisted"):
        assert word in page


def _states(page: str) -> dict[str, str]:
    """{state: its description} from the help page's list of states."""
    section = page.split('id="states"', 1)[1].split('id="submitting"', 1)[0]
    return dict(re.findall(r"<dt>([a-z\-]+)</dt><dd>(.*?)</dd>", section))


def test_help_describes_the_states_this_server_uses_and_their_life_cycle(client, db):
    states = _states(client.get("/help/").content.decode())
    assert list(states) == ["uploaded", "delivered", "submitted", "archiving", "archived",
                            "archiving-failed", "latest"]
    assert "not confirmed yet" in states["uploaded"] and "never served" in states["uploaded"]
    assert "upload area" not in states["uploaded"]  # files being uploaded are not in the catalog
    assert "Confirmed" in states["delivered"] and "served" in states["delivered"]
    assert "picked up" in states["submitted"] and "waiting to be confirmed" not in states["submitted"]
    assert "only it" in states["latest"] and "previous pmap goes back" in states["latest"]


def test_help_describes_every_submission_kind(client, db):
    page = client.get("/help/").content.decode()
    section = page.split('id="submitting"', 1)[1].split('id="bad"', 1)[0]
    kinds = re.findall(r"<dt>(.*?)</dt>", section)
    assert kinds == ["Batch submit / Extended batch submit", "Submit references", "Submit mappings",
                     "Delete references / Add references", "Certify"]
    assert "no new rules" in section and "Generate contexts" in section


def test_home_links_to_every_public_page(client, demo_catalog):
    page = client.get("/").content.decode()
    for url in ("/browse/", "/context_history/", "/contexts/", "/build_contexts/", "/bestrefs/", "/help/",
                f"/context_table/{demo_catalog.context}"):
        assert f'href="{url}' in page
