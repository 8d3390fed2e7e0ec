"""What a submission may touch: the instruments it changes (their locks) and bad files.

Found by probing the new kinds as other submitters would: a file marked bad
went back into the rules through Add References and a hand-edited rmap, and
then became latest; a hand-edited .pmap changed ACS with no ACS lock; Force
let a COS submitter drop ACS changes; collision warnings named another
submitter's pending work; a refused start kept its locks; any form stored
any field.
"""

from __future__ import annotations

import pytest
from django.test import Client

from crds_server.catalog import actions as catalog_actions
from crds_server.catalog.errors import BadContextError
from crds_server.catalog.models import ContextPointer, File
from crds_server.locks.models import InstrumentLock
from crds_server.submissions import actions, ingest
from crds_server.submissions.models import Submission
from tests import test_submission_kinds as kinds
from tests.submitting import COS_KEYWORDS, COS_RMAP, persona, put_in_ingest
from tests.test_processing import DARK_RMAP
from tests.test_submission_kinds import FORM, STORE, confirmed, edited_rmap, press, ready, repost
from tests.test_web_auth import error_of, login
from tests.web_helpers import derive_context


@pytest.fixture
def second(demo_catalog, catalog):
    """hst_0002.pmap: the ACS dark rmap without its first dark (`dropped`)."""
    return derive_context(catalog, demo_catalog.context, "acs", "darkfile")


def _client(name: str, instrument: str) -> Client:
    persona(name, password="secret-pw")
    client = Client(enforce_csrf_checks=True)
    login(client, name, "secret-pw", instrument)
    client.get("/jpoll/open_channel")
    return client


_clean_areas = kinds._clean_areas  # Homer and his browser come from conftest.py
FROM_SECOND = dict(FORM, pmap_mode="pmap_text", pmap_text="hst_0002.pmap")


def test_add_references_refuses_a_file_marked_bad(browser, second):
    File.objects.filter(name=second["dropped"]).update(rejected=True)
    page = repost(browser, "/add_existing/reference/", added_files=second["dropped"], **FROM_SECOND)
    assert page.status_code == 400 and "Marked bad" in error_of(page) and second["dropped"] in error_of(page)
    assert not Submission.objects.exists() and not InstrumentLock.objects.exclude(user__username="homer")


def test_a_hand_edited_rmap_that_brings_back_a_bad_file_fails_processing(browser, homer, second):
    File.objects.filter(name=second["dropped"]).update(rejected=True)
    edited_rmap(homer, DARK_RMAP)  # the old rmap, which still names the dropped dark
    page = repost(browser, "/submit/mapping/", generate_contexts="on", **FROM_SECOND)
    assert page.status_code == 200, error_of(page)
    submission = Submission.objects.get()
    actions.process(str(submission.id))
    submission.refresh_from_db()
    assert submission.status == Submission.FAILED
    assert "marked bad" in submission.error and second["dropped"] in submission.error
    assert not File.objects.filter(state="uploaded").exists()


def test_a_context_naming_a_bad_file_never_becomes_latest_even_forced(second):
    kept = sorted(set(File.objects.filter(name__startswith="", type="reference", instrument="acs",
                                           filekind="darkfile").values_list("name", flat=True))
                  - {second["dropped"]})[0]
    File.objects.filter(name=kept).update(rejected=True)
    with pytest.raises(BadContextError, match=f"bad file.*{kept}"):
        catalog_actions.set_context("marge", second["pmap"], "latest", "Go", force=True)
    assert ContextPointer.objects.get(kind="latest").context != second["pmap"]


def test_a_hand_edited_pmap_needs_the_locks_of_the_instruments_it_changes(browser, second):
    bob = _client("bob", "cos")  # homer holds ACS
    pmap = (STORE / second["pmap"]).read_text().replace(second["imap"], second["old_imap"])
    folder = ingest.ingest_dir(persona_named("bob"), create=True)
    (folder / "reverted.pmap").write_text(pmap.replace("Dropped one dark", "Reverted ACS by hand"))
    page = repost(bob, "/submit/mapping/", **dict(FROM_SECOND, instrument="cos"))
    assert page.status_code == 200 and "'acs' is locked by 'homer'" in error_of(page)
    assert not Submission.objects.exists()


def persona_named(name: str):
    from django.contrib.auth.models import User

    return User.objects.get(username=name)


def test_forcing_past_a_moved_edit_context_cannot_drop_another_instruments_changes(demo_catalog, second):
    ContextPointer.objects.update_or_create(kind="edit", defaults={"context": second["pmap"]})
    bob = _client("bob", "cos")
    put_in_ingest(demo_catalog, persona_named("bob"), "my_flat.fits", rmap_name=COS_RMAP, **COS_KEYWORDS)
    submission = ready(bob, "/batch_submit_references/",
                       **dict(FORM, instrument="cos", pmap_mode="pmap_text", pmap_text="hst_0001.pmap"))
    refused = press(bob, submission, "force")
    assert refused.status_code == 400 and "drop the changes the edit context made to acs" in error_of(refused)
    submission.refresh_from_db()
    assert submission.status == Submission.READY
    marge = persona("marge", role="operator", password="secret-pw")
    operator = Client()
    operator.force_login(marge)
    assert confirmed(operator, submission, "force").status == Submission.CONFIRMED


def test_collision_warnings_describe_but_do_not_name_another_submitters_pending_work(
        demo_catalog, browser, homer):
    put_in_ingest(demo_catalog, homer, "same.fits")
    mine = ready(browser, "/batch_submit_references/", **FORM)
    bob_user = persona("bob", password="secret-pw")
    put_in_ingest(demo_catalog, bob_user, "same.fits", "Jan 01 2007 00:00:00",
                  rmap_name=COS_RMAP, **COS_KEYWORDS)
    bob = _client("bob", "cos")
    theirs = ready(bob, "/batch_submit_references/", **dict(FORM, instrument="cos"))
    # Same uploaded name, other instrument: no collision at all.
    assert actions.collisions(theirs, bob_user) == []
    put_in_ingest(demo_catalog, homer, "same.fits", "Jan 01 2008 00:00:00")
    again = ready(browser, "/batch_submit_references/", **FORM)
    official = mine.result["renamed"]["same.fits"]
    seen_by_owner = " ".join(actions.collisions(again, homer))
    seen_by_bob = " ".join(actions.collisions(again, bob_user))
    assert str(mine.id) in seen_by_owner and official in seen_by_owner
    assert "another submitter's submission" in seen_by_bob
    assert str(mine.id) not in seen_by_bob and "homer" not in seen_by_bob and official not in seen_by_bob


def test_a_refused_start_takes_no_lock(demo_catalog, second):
    bob = _client("bob", "none")
    page = repost(bob, "/delete/reference/", deleted_files=second["dropped"],
                  **dict(FORM, instrument="none", change_level="BOGUS"))
    assert page.status_code == 400 and "Unknown change level" in error_of(page)
    assert not InstrumentLock.objects.filter(user__username="bob").exists()


def test_fields_that_are_not_on_the_form_are_not_kept(demo_catalog, browser, homer):
    put_in_ingest(demo_catalog, homer, "my_dark.fits")
    submission = ready(browser, "/batch_submit_references/",
                       **dict(FORM, other_email="root@[10.0.0.1]", zzz_extra="x" * 100_000))
    assert submission.extra == {}
