"""Set context as STScI's: archived files only (unless forced), file states and activation dates,
reasons (checked, defaulted from a one-step submission), and the build banner."""

from __future__ import annotations

import datetime

import pytest
from django.core.management import CommandError, call_command

from crds_server.accounts.actions import create_user
from crds_server.catalog import actions, contexts
from crds_server.catalog.errors import BadContextError, NotArchivedError
from crds_server.catalog.models import AuditEntry, ContextHistory, File
from crds_server.deliveries.models import Delivery
from crds_server.submissions.models import Submission
from tests.web_helpers import derive_context

OLD_DATE = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)


@pytest.fixture
def second(demo_catalog, catalog, settings):
    """hst_0002.pmap, derived from the latest hst_0001.pmap, dropping one ACS dark.

    The store outlives the test's transaction: its mappings and pickle are removed afterwards.
    """
    names = derive_context(catalog, demo_catalog.context, "acs", "darkfile")
    yield names
    store = settings.FILE_CACHE
    for name in (names["pmap"], names["imap"], names["rmap"]):
        (store / "mappings" / "hst" / name).unlink(missing_ok=True)
    (store / "pickles" / "hst" / f"{names['pmap']}.pkl").unlink(missing_ok=True)


@pytest.fixture
def unarchived(second):
    """The new rmap of hst_0002.pmap is delivered, not archived yet."""
    File.objects.filter(name=second["rmap"]).update(state="delivered")
    return second


@pytest.fixture
def operator(db, client):
    marge = create_user("marge", "marge@example.org", "operator", "pw")
    client.force_login(marge)
    return marge


def states(rpc, *names: str) -> dict[str, dict[str, str]]:
    return rpc("get_file_info_map", "hst", sorted(names), ["activation_date", "state"])


# Archived files only, unless forced (DMS-535)


def test_a_context_whose_files_are_not_archived_is_refused_as_latest(unarchived):
    with pytest.raises(NotArchivedError, match=rf"{unarchived['rmap']} \(delivered\)"):
        actions.set_context("operator", unarchived["pmap"], "latest", "New darks")
    assert contexts.pointer("latest") == "hst_0001.pmap"
    assert not ContextHistory.objects.filter(context=unarchived["pmap"]).exists()


def test_forcing_it_makes_it_latest_and_the_audit_entry_lists_the_files(unarchived):
    actions.set_context("operator", unarchived["pmap"], "latest", "New darks", force=True)
    assert contexts.pointer("latest") == unarchived["pmap"]
    entry = AuditEntry.objects.filter(action="set context").first()
    assert "forced with 1 file(s) not archived" in entry.details
    assert f"{unarchived['rmap']} (delivered)" in entry.details


def test_an_unarchived_context_may_still_be_the_edit_context(unarchived):
    actions.set_context("operator", unarchived["pmap"], "edit", "Derive from it")
    assert contexts.pointer("edit") == unarchived["pmap"]


def test_the_command_refuses_an_unarchived_latest_without_force(unarchived, capsys):
    with pytest.raises(CommandError, match="archive does not hold yet"):
        call_command("set_context", unarchived["pmap"], "--kind", "latest", "--reason", "New darks")
    assert contexts.pointer("latest") == "hst_0001.pmap"
    call_command("set_context", unarchived["pmap"], "--kind", "latest", "--reason", "New darks",
                 "--force")
    assert contexts.pointer("latest") == unarchived["pmap"]
    assert "forced" in AuditEntry.objects.filter(action="set context").first().details


def test_the_page_refuses_an_unarchived_latest_unless_force_is_ticked(client, operator, unarchived):
    form = {"kind": "latest", "context": unarchived["pmap"], "reason": "New darks", "calver": ""}
    preview = client.post("/set_context/", form).content.decode()
    assert "not archived yet" in preview and f"{unarchived['rmap']} (delivered)" in preview
    assert 'name="confirm"' not in preview
    refused = client.post("/set_context/", dict(form, confirm="1", expected="hst_0001.pmap"))
    assert refused.status_code == 400 and "archive does not hold yet" in refused.content.decode()
    assert contexts.pointer("latest") == "hst_0001.pmap"
    forced = client.post("/set_context/", dict(form, force="on")).content.decode()
    assert 'name="confirm"' in forced and "Forced: 1 file(s) not archived yet" in forced
    done = client.post("/set_context/", dict(form, force="on", confirm="1", expected="hst_0001.pmap"))
    assert done.status_code == 302 and contexts.pointer("latest") == unarchived["pmap"]
    assert "forced" in AuditEntry.objects.filter(action="set context", user="marge").first().details


# File states and activation dates, as clients read them


def test_the_new_latest_pmap_is_latest_and_the_previous_one_archived(second, rpc):
    actions.set_context("operator", second["pmap"], "latest", "New darks")
    info = states(rpc, "hst_0001.pmap", second["pmap"])
    assert info[second["pmap"]]["state"] == "latest"
    assert info["hst_0001.pmap"]["state"] == "archived"
    actions.set_context("operator", "hst_0001.pmap", "latest", "Back to the old darks")
    info = states(rpc, "hst_0001.pmap", second["pmap"])
    assert (info["hst_0001.pmap"]["state"], info[second["pmap"]]["state"]) == ("latest", "archived")
    assert File.objects.filter(state="latest").count() == 1


def test_files_of_the_new_latest_get_an_activation_date_once(second, rpc):
    other_imap = File.objects.filter(name__endswith=".imap").exclude(
        name__in=[second["imap"], second["old_imap"]]).first()
    File.objects.filter(name=other_imap.name).update(activation_date=OLD_DATE)
    assert states(rpc, second["rmap"])[second["rmap"]]["activation_date"] == "none"
    actions.set_context("operator", second["pmap"], "latest", "New darks")
    info = states(rpc, second["pmap"], second["imap"], second["rmap"], other_imap.name)
    for name in (second["pmap"], second["imap"], second["rmap"]):
        assert info[name]["activation_date"] != "none", name
    assert info[other_imap.name]["activation_date"] == "2020-01-01 00:00:00"
    first = info[second["rmap"]]["activation_date"]
    actions.set_context("operator", "hst_0001.pmap", "latest", "Revert")
    actions.set_context("operator", second["pmap"], "latest", "Again")
    assert states(rpc, second["rmap"])[second["rmap"]]["activation_date"] == first


def test_a_forced_pmap_leaving_latest_goes_back_to_its_deliverys_state(unarchived, rpc):
    pmap = unarchived["pmap"]
    Delivery.objects.create(number=7, catalog="hst_7.cat", files=[pmap], user="homer")
    File.objects.filter(name=pmap).update(state="delivered", catalog_link="/srv/catalogs/hst_7.cat")
    actions.set_context("operator", pmap, "latest", "Early", force=True)
    assert states(rpc, pmap)[pmap]["state"] == "latest"
    actions.set_context("operator", "hst_0001.pmap", "latest", "Back")
    assert states(rpc, pmap)[pmap]["state"] == "delivered"
    Delivery.objects.filter(number=7).update(state="archived")
    actions.set_context("operator", pmap, "latest", "Again", force=True)
    actions.set_context("operator", "hst_0001.pmap", "latest", "Back again")
    assert states(rpc, pmap)[pmap]["state"] == "archived"


# Reasons


@pytest.mark.parametrize("reason", ["Drop <script>", "why? because", "x" * 2001, "   "])
def test_a_reason_outside_the_description_characters_or_too_long_is_refused(second, reason):
    with pytest.raises(BadContextError):
        actions.set_context("operator", second["pmap"], "latest", reason)
    assert contexts.pointer("latest") == "hst_0001.pmap"


def test_the_page_refuses_a_reason_with_other_characters(client, operator, second):
    form = {"kind": "latest", "context": second["pmap"], "reason": "Fix: <b>darks</b>", "calver": ""}
    response = client.post("/set_context/", form)
    assert response.status_code == 400 and "may only hold letters" in response.content.decode()


def test_the_command_refuses_a_reason_with_other_characters(second):
    with pytest.raises(CommandError, match="may only hold letters"):
        call_command("set_context", second["pmap"], "--kind", "latest", "--reason", "a;b")


@pytest.fixture
def confirmed(second):
    """The confirmed submission that made hst_0002.pmap from hst_0001.pmap."""
    homer = create_user("homer", "homer@example.org", "submitter", "pw")
    Submission.objects.create(user=homer, status=Submission.CONFIRMED, derive_from="hst_0001.pmap",
                              description="New ACS darks for cycle 31",
                              result={"new_context": second["pmap"]})
    return second


def test_the_page_prefills_the_reason_of_a_one_step_change_with_the_submission_description(
        client, operator, confirmed):
    page = client.get(f"/set_context/?kind=latest&context={confirmed['pmap']}").content.decode()
    assert "New ACS darks for cycle 31</textarea>" in page


def test_the_page_first_offers_the_edit_context_with_its_submission_description(client, operator,
                                                                              confirmed):
    actions.set_context("operator", confirmed["pmap"], "edit", "Confirmed")
    page = client.get("/set_context/").content.decode()
    assert f'<option value="{confirmed["pmap"]}" selected>' in page
    assert "New ACS darks for cycle 31</textarea>" in page


def test_an_empty_reason_defaults_to_the_submission_description_for_one_step(client, operator,
                                                                             confirmed):
    form = {"kind": "latest", "context": confirmed["pmap"], "reason": "", "calver": ""}
    preview = client.post("/set_context/", form).content.decode()
    assert "New ACS darks for cycle 31" in preview and 'name="confirm"' in preview
    client.post("/set_context/", dict(form, confirm="1", expected="hst_0001.pmap"))
    era = ContextHistory.objects.order_by("-start_date", "-id").first()
    assert (era.context, era.description) == (confirmed["pmap"], "New ACS darks for cycle 31")


def test_a_jump_or_a_reversion_needs_a_typed_reason(client, operator, confirmed):
    actions.set_context("operator", confirmed["pmap"], "latest", "Forward")
    back = {"kind": "latest", "context": "hst_0001.pmap", "reason": "", "calver": ""}
    response = client.post("/set_context/", back)
    assert response.status_code == 400 and "reason is required" in response.content.decode()
    assert "cycle 31</textarea>" not in client.get(
        "/set_context/?kind=latest&context=hst_0001.pmap").content.decode()


# The build banner


def test_the_banner_shows_the_newest_calibration_version_whatever_the_order_set(client, second, rpc):
    actions.set_context("operator", second["pmap"], "build", "Release", calver="1.16.2")
    actions.set_context("operator", "hst_0001.pmap", "build", "Candidate", calver="1.16.2rc1")
    actions.set_context("operator", "hst_0001.pmap", "build", "Older", calver="1.16.1")
    assert rpc("get_server_info")["build_context"] == second["pmap"]
    home = client.get("/").content.decode()
    assert f">{second['pmap']}</a> based on CAL Version 1.16.2 " in home
    assert rpc("get_build_context", "hst", "1.16.2rc1") == "hst_0001.pmap"
