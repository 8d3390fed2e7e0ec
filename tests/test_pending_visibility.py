"""Pending rows (`uploaded`: reserved by a submission not confirmed yet) are not public.

Only their submitter and the operators see them in Browse and All Contexts;
everyone else gets no listing and a 404, and no RPC method reveals them.
"""

from __future__ import annotations

import base64
import sqlite3
import zlib

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from crds_server.accounts.actions import create_user
from crds_server.catalog import actions, contexts
from crds_server.catalog.errors import UnknownContextError
from crds_server.catalog.models import File

PMAP, REFERENCE = "hst_0009.pmap", "hst_acs_darkfile_0099.fits"
PAGES = [f"/browse/{PMAP}", f"/browse/{REFERENCE}", f"/context_table/{PMAP}",
         f"/diff/hst_0001.pmap/{PMAP}", f"/unchecked_get/mappings/hst/{PMAP}",
         f"/unchecked_get/references/hst/{REFERENCE}", f"/get/{PMAP}"]


@pytest.fixture
def pending(demo_catalog, db):
    """Homer's unconfirmed submission: a new context and a reference, as processing reserves them."""
    create_user("homer", "homer@example.org", "submitter", "pw")
    for name, kind in ((PMAP, File.MAPPING), (REFERENCE, File.REFERENCE)):
        File.objects.create(name=name, type=kind, observatory="hst", instrument="acs", state="uploaded",
                            deliverer_user="homer", description="Pending darks")
    return demo_catalog


def visitor(name: str | None, role: str = "submitter") -> Client:
    client = Client()
    if name:
        client.force_login(create_user(name, f"{name}@example.org", role, "pw"))
    return client


def listed(client: Client) -> tuple[str, str]:
    return (client.get("/browse/", {"name": "hst_"}).content.decode(),
            client.get("/contexts/").content.decode())


@pytest.mark.parametrize("who", [None, "bart"])
def test_others_do_not_see_pending_rows_listed(pending, who):
    browse, contexts_page = listed(visitor(who))
    assert PMAP not in browse and REFERENCE not in browse
    assert PMAP not in contexts_page


@pytest.mark.parametrize("who", [None, "bart"])
@pytest.mark.parametrize("url", PAGES)
def test_others_get_a_404_for_pending_pages_and_files(pending, who, url):
    assert visitor(who).get(url).status_code == 404


@pytest.mark.parametrize("who, role", [("homer", "submitter"), ("marge", "operator")])
def test_the_submitter_and_operators_see_them_listed_and_marked_pending(pending, who, role):
    client = Client()
    if who == "homer":
        client.force_login(get_user_model().objects.get(username="homer"))
    else:
        client = visitor(who, role)
    browse, contexts_page = listed(client)
    assert PMAP in browse and REFERENCE in browse
    assert PMAP in contexts_page and "pending: not confirmed yet" in contexts_page
    response = client.get(f"/browse/{PMAP}")
    page = response.content.decode()
    assert response.status_code == 200 and "Pending: this name is reserved" in page
    assert "could not be read" not in page
    assert "private" in response["Cache-Control"]


def test_the_home_page_counts_only_public_files(pending):
    public = File.objects.exclude(state="uploaded")
    page = Client().get("/").content.decode()
    assert f"{public.mappings().count()} rules files, {public.references().count()} references" in page


def test_rpc_methods_do_not_reveal_pending_rows(pending, rpc):
    assert rpc("get_file_info_map", "hst", [PMAP, REFERENCE], ["state"]) == {
        PMAP: "NOT FOUND", REFERENCE: "NOT FOUND"}
    assert PMAP not in rpc("get_file_info_map", "hst", None, ["sha1sum"])
    assert rpc.error("get_file_info", "hst", PMAP).startswith("UnknownFileError")
    assert rpc("file_exists", REFERENCE) is False
    assert PMAP not in rpc("list_mappings", "hst", "*.pmap")
    assert REFERENCE not in rpc("list_references", "hst", "*.fits")
    assert PMAP not in rpc("get_server_info")["mappings"]
    assert rpc.error("get_context_by_date", PMAP, "hst").startswith("UnknownContextError")
    assert rpc.error("get_mapping_names", PMAP).startswith("UnknownContextError")


def test_the_sqlite_export_leaves_pending_rows_out(pending, rpc, tmp_path):
    path = tmp_path / "crds_db.sqlite3"
    path.write_bytes(zlib.decompress(base64.b64decode(rpc("get_sqlite_db", "hst"))))
    with sqlite3.connect(path) as db:
        names = {name for (name,) in db.execute("SELECT name FROM crds_hst_catalog")}
    assert "hst_0001.pmap" in names and PMAP not in names and REFERENCE not in names


@pytest.mark.parametrize("kind", ["latest", "edit", "versions"])
def test_a_pending_context_cannot_be_set(pending, kind):
    with pytest.raises(UnknownContextError):
        actions.set_context("operator", PMAP, kind, "Too early")
    assert contexts.pointer(kind) != PMAP


def test_operators_are_not_offered_a_pending_context_to_set(pending):
    page = visitor("marge", "operator").get("/set_context/").content.decode()
    assert f'value="{PMAP}"' not in page and 'value="hst_0001.pmap"' in page
