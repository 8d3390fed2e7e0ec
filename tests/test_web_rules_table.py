"""The rules table of a mapping's details page: paginated and filtered on the server."""

from __future__ import annotations

from pathlib import Path

import pytest

from crds_server.catalog import rules_table

RULES = 450
NAME = "hst_wfc3_darkfile_0700.rmap"


def big_rmap(catalog, name: str = NAME, rules: int = RULES) -> str:
    """Catalog an rmap of `rules` UseAfter rows (two detectors), checksum made by the library."""
    rows = []
    for detector in ("UVIS", "IR"):
        dates = "".join(f"        '{2000 + i // 12:04d}-{i % 12 + 1:02d}-01 00:00:00' : "
                        f"'{detector.lower()}{i:05d}_drk.fits',\n" for i in range(rules // 2))
        rows.append(f"    ('{detector}',) : UseAfter({{\n{dates}    }}),\n")
    text = ("header = {\n    'derived_from' : 'test',\n    'filekind' : 'DARKFILE',\n"
            "    'instrument' : 'WFC3',\n    'mapping' : 'REFERENCE',\n"
            f"    'name' : '{name}',\n    'observatory' : 'HST',\n"
            "    'parkey' : (('DETECTOR',), ('DATE-OBS', 'TIME-OBS')),\n"
            "    'sha1sum' : '0',\n}\n\nselector = Match({\n" + "".join(rows) + "})\n")
    store = Path(catalog.settings.FILE_CACHE) / "mappings" / catalog.settings.OBSERVATORY
    store.mkdir(parents=True, exist_ok=True)
    (store / name).write_text(text)
    catalog.add_derived_mapping(name, name, instrument="wfc3", filekind="darkfile")
    return name


@pytest.fixture
def rmap_page(client, catalog):
    name = big_rmap(catalog)
    return lambda **query: client.get(f"/browse/{name}", query)


def table_of(page: str) -> str:
    return page.split("<table class=\"rules\">", 1)[1].split("</table>", 1)[0]


def rows_of(page: str) -> int:
    return table_of(page).count("<tr>") - 1


def test_the_rules_table_shows_one_page_of_rows_with_links_to_the_others(rmap_page):
    page = rmap_page().content.decode()
    assert rows_of(page) == 200
    assert "Rules page 1 of 3" in page and "rows 1–200" in page
    assert "?rules_page=2#rules" in page and "?rules_page=3#rules" in page
    assert "ir00000_drk.fits" in table_of(page) and "uvis00000_drk.fits" not in table_of(page)


def test_the_last_page_holds_the_remaining_rows(rmap_page):
    page = rmap_page(rules_page="3").content.decode()
    assert rows_of(page) == RULES - 400
    assert "Rules page 3 of 3" in page and "uvis00224_drk.fits" in table_of(page)  # rows come sorted


def test_a_page_number_out_of_range_or_not_a_number_gives_a_page_not_an_error(rmap_page):
    assert "Rules page 3 of 3" in rmap_page(rules_page="99").content.decode()
    assert "Rules page 1 of 3" in rmap_page(rules_page="x").content.decode()


def test_the_filter_keeps_rows_with_the_text_in_any_column_and_stays_on_the_page_links(rmap_page):
    page = rmap_page(rules_q="uvis").content.decode()
    assert rows_of(page) == 200 and "225 of 450 rows" in page
    assert "uvis00000_drk.fits" in table_of(page) and ">ir00000_drk.fits" not in table_of(page)
    assert "?rules_q=uvis&amp;rules_page=2#rules" in page
    by_date = rmap_page(rules_q="2003-05-01").content.decode()
    assert rows_of(by_date) == 2 and "uvis00040_drk.fits" in by_date and "ir00040_drk.fits" in by_date


def test_the_filter_ignores_case_and_says_when_nothing_matches(rmap_page):
    assert rows_of(rmap_page(rules_q="UVIS00007").content.decode()) == 1
    page = rmap_page(rules_q="no such text").content.decode()
    assert "No matching rules." in page and "0 of 450 rows" in page


def test_the_text_shows_its_first_lines_and_links_to_the_whole_text(rmap_page):
    page = rmap_page().content.decode()
    assert "The first 200 lines of" in page and "?text=1" in page
    assert "uvis00224_drk.fits" not in page.split("<pre class=\"text\">", 1)[1]
    whole = rmap_page(text="1")
    assert whole["Content-Type"].startswith("text/plain")
    assert "uvis00224_drk.fits" in whole.content.decode()


def test_a_small_rmap_has_no_pager_and_its_whole_text(client, demo_catalog):
    page = client.get("/browse/hst_acs_darkfile_0001.rmap").content.decode()
    assert "Rules page" not in page and "The first 200 lines" not in page
    assert "selector = " in page


def test_the_table_is_built_once_per_stored_file(catalog, monkeypatch):
    name = big_rmap(catalog)
    first = rules_table.rules_table(name)
    assert rules_table.rules_table(name) is first
    big_rmap(catalog, rules=10)  # a new file (new inode) under the same name
    rules_table.loader.forget(name)
    assert len(rules_table.rules_table(name).rows) == 10


def test_an_imap_and_a_pmap_show_their_keys_and_link_the_file_names_they_select(client, demo_catalog):
    from crds.core import rmap
    from django.conf import settings

    store = Path(settings.FILE_CACHE) / "mappings" / "hst"
    for name in ("hst_acs_0001.imap", demo_catalog.context):
        selector = rmap.Mapping.from_file(str(store / name), ignore_checksum=True).selector
        rows = {tuple(row) for row in rules_table.rules_table(name).rows}
        assert rows == {(str(k), str(v)) for k, v in selector.items()}
        table = table_of(client.get(f"/browse/{name}").content.decode())
        key, selected = sorted(selector.items())[0]
        assert f"<td>{key}</td>" in table and f'href="/browse/{selected}"' in table
