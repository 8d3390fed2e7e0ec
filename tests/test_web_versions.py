"""P15: the server environment's package versions, linked from every page."""

from __future__ import annotations

import platform
from importlib import metadata

from crds_server.lib import versions


def test_the_page_lists_python_the_server_and_the_packages_with_their_installed_versions(client, db):
    page = client.get("/versions/").content.decode()
    assert "<h1>Server environment package versions</h1>" in page
    assert f"<code>{platform.python_version()}</code>" in page
    for name in ("crds-server", "crds", "Django", "astropy", "stdatamodels", "huey"):
        assert f'<th scope="row">{name}</th><td><code>{metadata.version(name)}</code>' in page, name


def test_packages_that_are_not_installed_are_left_out(client, db, monkeypatch):
    monkeypatch.setattr(versions, "PACKAGES", (("crds", "library"), ("no-such-package-x", "absent")))
    versions.installed.cache_clear()
    try:
        rows = versions.installed()
    finally:
        versions.installed.cache_clear()
    assert [name for name, _, _ in rows] == ["Python", "crds"]


def test_every_page_links_to_the_versions_page_in_its_header_and_footer(client, db):
    for url in ("/", "/help/", "/browse/"):
        page = client.get(url).content.decode()
        assert page.count('href="/versions/"') == 2, url


def test_the_page_only_answers_reads(client, db):
    assert client.post("/versions/").status_code == 405
    assert client.head("/versions/").status_code == 200
