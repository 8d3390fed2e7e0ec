"""A file's details page: its Lookup Patterns pane (references, rmaps) and the operator's admin link."""

from __future__ import annotations

from crds_server.accounts.actions import create_user
from crds_server.catalog import rules_table

DARK_RMAP = "hst_acs_darkfile_0001.rmap"


def _dark(detector: str) -> tuple[str, str]:
    """(name, useafter date) of the demo's ACS dark selected for `detector`, read from its rmap."""
    table = rules_table.rules_table(DARK_RMAP)
    row = next(r for r in table.rows if r[0] == detector)
    return row[-1], row[-2].split()[0]


def test_a_reference_shows_the_match_and_useafter_under_which_the_latest_context_selects_it(
        client, demo_catalog):
    dark, useafter = _dark("HRC")
    page = client.get(f"/browse/{dark}").content.decode()
    pane = page[page.index('id="lookup"'):page.index("<h2>Used by")]
    assert f"/browse/{DARK_RMAP}" in pane and demo_catalog.context in pane
    assert "<code>DETECTOR=HRC</code>" in pane and f"<code>DATE-OBS={useafter}</code>" in pane
    assert "<th scope=\"col\">Match</th><th scope=\"col\">UseAfter</th>" in pane
    row = pane[pane.index("<tbody>"):pane.index("</tbody>")]
    assert row.count("<td>") == 2 and "observatory=" not in row  # one cell per selector level


def test_a_reference_the_latest_context_does_not_select_says_so(client, demo_catalog, catalog):
    catalog.add_file("zz00000zj_drk.fits", instrument="acs", filekind="darkfile")
    page = client.get("/browse/zz00000zj_drk.fits").content.decode()
    assert "The latest context does not select this file." in page


def test_an_rmap_shows_its_selectors_parkeys_and_required_keywords(client, demo_catalog):
    page = client.get(f"/browse/{DARK_RMAP}").content.decode()
    pane = page[page.index('id="lookup"'):page.index("<h2>Used by")]
    assert "<td>Match</td><td>DETECTOR, CCDAMP, CCDGAIN</td>" in pane
    assert "<td>UseAfter</td><td>DATE-OBS, TIME-OBS</td>" in pane
    assert "DETECTOR CCDAMP CCDGAIN DATE-OBS TIME-OBS" in pane
    assert "2 selections naming 2 references" in pane


def test_operators_get_the_admin_link_and_others_do_not(client, demo_catalog):
    assert "/admin/catalog/file/" not in client.get(f"/browse/{DARK_RMAP}").content.decode()
    client.force_login(create_user("homer", "homer@example.org", "submitter"))
    assert "/admin/catalog/file/" not in client.get(f"/browse/{DARK_RMAP}").content.decode()
    client.force_login(create_user("marge", "marge@example.org", "operator"))
    page = client.get(f"/browse/{DARK_RMAP}").content.decode()
    assert f'<a href="/admin/catalog/file/?q={DARK_RMAP}">Admin</a>' in page


def test_a_reference_offers_a_diff_against_the_other_references_of_its_type(client, demo_catalog):
    dark, _ = _dark("HRC")
    other, _ = _dark("WFC")
    page = client.get(f"/browse/{dark}").content.decode()
    menu = page[page.index('id="diff-old"'):page.index("</select>", page.index('id="diff-old"'))]
    assert f"<option>{other}</option>" in menu and f"<option>{dark}</option>" not in menu
    assert "_bia.fits" not in menu  # only its own type
