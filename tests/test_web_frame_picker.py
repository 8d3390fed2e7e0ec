"""The context picker (G2): header, Edit / Latest / Recent / User Specified, `*unavailable*`."""

from __future__ import annotations

import datetime
import re

import pytest
from django import forms
from django.utils import timezone

from crds_server.catalog.models import File
from crds_server.submissions import intake
from crds_server.web.context_picker import ContextPickerField, chosen
from tests.web_helpers import derive_context


@pytest.fixture
def pending(demo_catalog, catalog):
    """hst_0002.pmap, delivered an hour ago and not archived yet."""
    names = derive_context(catalog, demo_catalog.context, "acs", "darkfile")
    File.objects.filter(name=names["pmap"]).update(
        state="delivered", delivery_date=timezone.now() - datetime.timedelta(hours=1))
    return names["pmap"]


def _header(page: str) -> str:
    return re.search(r"<strong data-picker-header>(.*?)</strong>", page, re.S).group(1)


def test_the_picker_shows_the_four_choices_and_the_current_one_in_its_header(client, demo_catalog):
    page = client.get("/bestrefs/").content.decode()
    assert '<details class="context-picker" data-picker="context">' in page
    for mode in ("edit", "latest", "menu", "text"):
        assert f'name="context_mode" value="context_{mode}"' in page
    assert page.count("or more recent") == 2
    header = _header(page)
    assert header.startswith(demo_catalog.context) and header.endswith("(Latest Context)")
    assert '<option value="hst_0001.pmap"' in page


def test_a_pmap_the_archive_does_not_hold_is_flagged_unavailable(client, pending):
    page = client.get("/bestrefs/", {"context_mode": "context_menu", "context_menu": pending})
    page = page.content.decode()
    assert _header(page).endswith("(Recent) *unavailable*") and _header(page).startswith(pending)
    start = page.index('name="context_menu"')
    menu = page[start:page.index("</select>", start)]
    flagged = rf'<option value="{pending}"[^>]*selected>{pending} \S+ \S+ \*unavailable\*</option>'
    assert re.search(flagged, menu)
    assert re.search(r'<option value="hst_0001.pmap"[^>]*>hst_0001.pmap [^<*]*</option>', menu)  # archived


def test_the_recent_choice_is_the_context_used(client, pending):
    response = client.get("/bestrefs/", {"context_mode": "context_menu", "context_menu": pending,
                                         "context_text": "hst_0001.pmap", "instrument": "acs"})
    assert response.status_code == 200
    assert f'<input type="hidden" name="context" value="{pending}">' in response.content.decode()


def test_a_shared_address_with_a_plain_context_shows_it_as_user_specified(client, demo_catalog):
    page = client.get("/bestrefs/", {"context": "hst_0001.pmap"}).content.decode()
    assert 'value="context_text" checked' in page and 'name="context_text" value="hst_0001.pmap"' in page
    assert _header(page).endswith("(User Specified)")


@pytest.mark.parametrize("query", [{"context_mode": "context_text", "context_text": "x" * 5000},
                                   {"context_mode": "context_text", "context_text": "../../etc/passwd"},
                                   {"context_mode": "context_menu", "context_menu": "hst_9999.pmap"},
                                   {"context_mode": "nonsense" * 100}])
def test_bad_picker_input_is_a_400_or_the_default_never_a_500(client, demo_catalog, query):
    response = client.get("/bestrefs/", query)
    assert response.status_code in (200, 400)
    if query["context_mode"].endswith(("_text", "_menu")):
        assert response.status_code == 400 and 'id="context-error"' in response.content.decode()


class DeriveForm(forms.Form):
    pmap = ContextPickerField(label="Derive from context")


@pytest.mark.parametrize("data, spec", [
    ({"pmap_mode": "pmap_edit"}, "edit"), ({"pmap_mode": "pmap_latest"}, "latest"),
    ({"pmap_mode": "pmap_menu", "pmap_menu": "hst_0001.pmap", "pmap_text": "x"}, "hst_0001.pmap"),
    ({"pmap_mode": "pmap_text", "pmap_text": " hst-edit "}, "hst-edit"),
])
def test_the_form_field_cleans_to_the_chosen_specifier(demo_catalog, data, spec):
    form = DeriveForm(data)
    assert form.is_valid(), form.errors
    assert form.cleaned_data["pmap"] == spec == chosen(data).strip()


@pytest.mark.parametrize("data", [{"pmap_mode": "pmap_other"}, {"pmap_mode": "pmap_text", "pmap_text": ""},
                                  {"pmap_mode": "pmap_text", "pmap_text": "a b;c"},
                                  {"pmap_mode": "pmap_menu", "pmap_menu": ""}])
def test_the_form_field_refuses_an_unknown_mode_or_a_bad_name(demo_catalog, data):
    assert not DeriveForm(data).is_valid()


def test_the_form_field_renders_the_picker_with_the_submit_field_names(demo_catalog):
    html = str(DeriveForm()["pmap"])
    assert 'name="pmap_mode" value="pmap_edit" ' in html and 'name="pmap_menu"' in html
    assert 'name="pmap_text"' in html and "(Editing Context)" in html and "hst_0001.pmap" in html


def test_a_submission_can_derive_from_the_recent_menu(demo_catalog, pending):
    assert intake.derive_from({"pmap_mode": "pmap_menu", "pmap_menu": pending}) == pending
    assert intake.derive_from({"pmap_mode": "pmap_text", "pmap_text": "hst_0001.pmap"}) == "hst_0001.pmap"


@pytest.mark.parametrize("page", ["/batch_submit_references/", "/submit/reference/", "/submit/mapping/",
                                  "/delete/reference/", "/add_existing/reference/", "/certify/"])
def test_every_submission_form_derives_from_a_context_chosen_with_the_picker(client, demo_catalog, page):
    from crds_server.accounts.actions import create_user

    client.force_login(create_user("homer", "homer@example.org", "submitter", "pw"))
    html = client.get(page).content.decode()
    assert "Derive from context" in html and 'name="pmap_menu"' in html
    assert 'name="pmap_mode" value="pmap_edit" ' in html and "(Editing Context)" in html
