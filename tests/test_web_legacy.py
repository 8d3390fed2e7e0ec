"""Old addresses of STScI's site answer 301 with the page that replaced them."""

from __future__ import annotations

import pytest

from crds_server.web import legacy


@pytest.mark.parametrize(("old", "new"), [
    ("/display_build_contexts/", "/build_contexts/"),
    ("/display_context_history/", "/context_history/"),
    ("/display_all_contexts/", "/contexts/"),
    ("/display_all_contexts", "/contexts/"),
])
def test_the_old_context_pages_move_permanently_to_theirs(client, db, old, new):
    response = client.get(old)
    assert response.status_code == 301 and response["Location"] == new
    assert client.get(new).status_code == 200


def test_the_query_of_an_old_context_page_goes_along(client, db):
    response = client.get("/display_context_history/?page=2")
    assert response.status_code == 301 and response["Location"] == "/context_history/?page=2"


@pytest.mark.parametrize(("old", "new"), [
    # What the crds client's own error messages print (crds/core/heavy_client.py, selectors.py).
    ("/docs/cmdline_bestrefs/", "/help/#client"),
    ("/static/users_guide/index.html", "/help/"),
    ("/static/users_guide/file_submissions.html", "/help/#submitting"),
    ("/static/users_guide/database.html#file-states", "/help/#states"),
    ("/static/users_guide/", "/help/"),
    ("/static/users_guide", "/help/"),
    ("/docs/", "/help/"),
    ("/docs/some_page_we_never_had/", "/help/"),
])
def test_the_old_guide_pages_move_permanently_to_the_help_page_section(client, db, old, new):
    response = client.get(old)
    assert response.status_code == 301 and response["Location"] == new


def test_every_section_the_guide_maps_to_exists_on_the_help_page(client, db):
    page = client.get("/help/").content.decode()
    for anchor in set(legacy.SECTIONS.values()):
        assert f'id="{anchor}"' in page, anchor


@pytest.mark.parametrize("path", [
    "/docs", "/docs/" + "x" * 300, "/static/users_guide/" + "y" * 300, "/docs/a%0Ab/",
    "/display_all_contextsX/",
])
def test_hostile_old_addresses_are_not_found_never_an_error(client, db, path):
    assert client.get(path).status_code == 404


def test_other_static_addresses_are_not_taken_for_the_guide(client, db):
    assert client.get("/static/users_guidebook.html").status_code == 404
