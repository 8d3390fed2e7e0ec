"""Browse (P11): the uploaded-as and aperture columns, and filters that survive sorting and paging."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qsl

import pytest

from crds_server.catalog.models import File


def test_browse_shows_the_uploaded_name_and_aperture_of_each_file(client, demo_catalog):
    File.objects.filter(name="hst_acs_darkfile_0001.rmap").update(uploaded_as="my_darks_v3.rmap",
                                                                   aperture="WFC1-FIX")
    page = client.get("/browse/", {"name": "hst_acs_darkfile_0001.rmap"}).content.decode()
    headers = re.findall(r'<th scope="col">(?:<a [^>]*>)?([^<]+)', page)
    assert headers[:3] == ["Name", "Uploaded as", "Aperture"]
    row = re.search(r"<tbody>(.*?)</tbody>", page, re.S).group(1)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    assert cells[1:3] == ["my_darks_v3.rmap", "WFC1-FIX"]


def test_browse_sorts_by_uploaded_name_and_aperture(client, demo_catalog):
    File.objects.filter(name="hst_acs_darkfile_0001.rmap").update(aperture="ZZZ-LAST")
    File.objects.filter(name="hst_acs_biasfile_0001.rmap").update(aperture="AAA-FIRST")
    query = {"kind": "mapping", "extension": ".rmap", "instrument": "acs"}
    ascending = client.get("/browse/", {**query, "sort": "aperture"}).content.decode()
    descending = client.get("/browse/", {**query, "sort": "-aperture"}).content.decode()
    assert ascending.index("AAA-FIRST") < ascending.index("ZZZ-LAST")
    assert descending.index("ZZZ-LAST") < descending.index("AAA-FIRST")
    assert client.get("/browse/", {"sort": "-uploaded_as"}).status_code == 200


def _links(page: str) -> dict[str, str]:
    return {m.group(2): html.unescape(m.group(1))
            for m in re.finditer(r'<a href="(\?[^"]*)"[^>]*>([^<]+)</a>', page)}


def test_sort_and_page_links_keep_every_filter(client, demo_catalog):
    query = {"kind": "reference", "extension": ".fits", "name": "*", "state": "archived"}
    first = client.get("/browse/", query).content.decode()
    assert "Page 1 of" in first
    sort_link = _links(first)["Uploaded as"]
    assert dict(parse_qsl(sort_link[1:])) == {**query, "sort": "uploaded_as"}
    sorted_page = client.get("/browse/" + sort_link).content.decode()
    next_link = _links(sorted_page)["next"]
    assert dict(parse_qsl(next_link[1:])) == {**query, "sort": "uploaded_as", "page": "2"}
    second = client.get("/browse/" + next_link)
    assert second.status_code == 200 and "Page 2 of" in second.content.decode()


@pytest.mark.parametrize("path, same_as", [
    ("/browse/?instrument=*&state=*&kind=*", "/browse/"),
    ("/browse/?instrument=acs&filekind=*", "/browse/?instrument=acs"),
    ("/recent_activity/?action=*&extension=*&instrument=*", "/recent_activity/"),
])
def test_a_star_in_a_menu_filter_means_any_as_in_stsci_bookmarks(client, demo_catalog, path, same_as):
    starred, plain = client.get(path), client.get(same_as)
    assert starred.status_code == plain.status_code == 200
    assert _rows(starred) == _rows(plain) and _rows(plain)


def _rows(response) -> list[str]:
    from bs4 import BeautifulSoup

    table = BeautifulSoup(response.content, "html.parser").find("tbody")
    return [row.get_text(" ", strip=True) for row in table.find_all("tr")] if table else []
