"""P2/O3: the build context banner, the operator's "update banner" choice and the known CAL_VERs."""

from __future__ import annotations

import html

import pytest

from crds_server.accounts.actions import create_user
from crds_server.catalog import actions as catalog_actions
from crds_server.catalog import calvers, contexts, serverinfo
from crds_server.catalog.models import AuditEntry
from crds_server.web.templatetags.frame import release_url
from tests.web_helpers import derive_context


@pytest.fixture
def two(demo_catalog, catalog):
    """(first, second) pipeline contexts of the demo catalog."""
    return demo_catalog.context, derive_context(catalog, demo_catalog.context, "acs", "darkfile")["pmap"]


def _build(context: str, calver: str, banner: bool = True) -> None:
    catalog_actions.set_context("marge", context, "build", f"build for {calver}", calver, banner=banner)


def test_the_first_build_context_is_the_banner(two):
    _build(two[0], "1.2.0", banner=False)
    assert contexts.newest_build() == ("1.2.0", two[0])


def test_the_banner_moves_only_when_asked(two):
    first, second = two
    _build(first, "1.2.0")
    _build(second, "1.3.0", banner=False)
    assert contexts.newest_build() == ("1.2.0", first)
    assert contexts.pointer("build") == first
    assert "banner kept at" in AuditEntry.objects.filter(action="set context").first().details
    _build(second, "1.3.0")
    assert contexts.newest_build() == ("1.3.0", second)
    assert serverinfo.server_info()["build_context"] == second


def test_the_banner_never_moves_back_to_an_older_version(two):
    first, second = two
    _build(second, "1.3.0")
    _build(first, "1.2.5")
    assert contexts.newest_build() == ("1.3.0", second)
    assert "1.3.0 is newer" in AuditEntry.objects.filter(action="set context").first().details
    assert contexts.build_context("1.2.9") == first  # the build table still has it


def test_without_a_choice_the_banner_is_the_highest_version(two):
    first, second = two
    _build(second, "1.10.0")
    _build(first, "1.9.0")
    assert contexts.newest_build() == ("1.10.0", second)


def test_every_page_shows_the_banner_with_its_calver(client, two):
    _build(two[1], "1.3.0")
    for url in ("/", "/help/", "/browse/"):
        page = client.get(url).content.decode()
        assert f'id="build-banner">Build Context: <a href="/context_table/{two[1]}">{two[1]}</a> based on ' \
               f"CAL Version: 1.3.0" in page, url


def test_no_banner_without_build_contexts(client, demo_catalog):
    assert 'id="build-banner"' not in client.get("/").content.decode()


def test_the_build_contexts_page_marks_the_banner(client, two):
    _build(two[0], "1.2.0")
    _build(two[1], "1.3.0", banner=False)
    page = client.get("/build_contexts/").content.decode()
    assert page.count('class="latest">banner<') == 1
    assert '1.2.0 <span class="latest">banner</span>' in page


def test_calibration_versions_link_to_their_release_notes_except_on_hst(settings):
    assert release_url("1.15.1") == ""
    settings.OBSERVATORY = "jwst"
    assert release_url("1.15.1") == "https://github.com/spacetelescope/jwst/releases/tag/1.15.1"
    assert release_url("0") == ""


def test_known_versions_come_from_builds_highest_first_each_once(two):
    _build(two[0], "1.2.0")
    _build(two[1], "1.10.0rc1")
    _build(two[1], "1.10.0")
    found = calvers.known_versions("hst")
    assert [v.version for v in found] == ["1.10.0", "1.10.0rc1", "1.2.0"]
    assert found[0].context == two[1] and found[0].source == "build context"


@pytest.fixture
def operator(demo_catalog, client):
    client.force_login(create_user("marge", "marge@example.org", "operator", "pw"))


def test_the_set_context_page_offers_the_known_versions_and_the_banner_choice(client, operator, two):
    _build(two[0], "1.2.0")
    page = client.get("/set_context/").content.decode()
    assert '<datalist id="calvers"><option value="1.2.0"' in page and 'list="calvers"' in page
    assert 'name="update_banner"' in page
    assert "1.2.0 <span class=\"muted\">(home page banner)</span>" in page


@pytest.mark.parametrize(("ticked", "banner"), [(True, "1.3.0"), (False, "1.2.0")])
def test_an_operator_sets_a_build_context_with_or_without_the_banner(client, operator, two, ticked, banner):
    _build(two[0], "1.2.0")
    form = {"kind": "build", "context": two[1], "calver": "1.3.0", "reason": "Build 1.3.0"}
    if ticked:
        form["update_banner"] = "on"
    preview = html.unescape(client.post("/set_context/", form).content.decode())
    assert ("moves to" if ticked else "stays at") in preview
    hidden = 'name="update_banner" value="True"' if ticked else 'name="update_banner" value="False"'
    assert hidden in preview
    confirm = dict(form, confirm="1", expected="", update_banner="True" if ticked else "False")
    assert client.post("/set_context/", confirm).status_code == 302
    assert contexts.newest_build()[0] == banner
