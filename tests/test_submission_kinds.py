"""Every submission kind through its web form, over the one state machine (issue "Step 7").

Submit References (S8) delivers orphans; Submit Mappings (S9) with and
without Generate Contexts, hand-edited imaps included; Delete References
(S10) and Add References (S11) name files already in CRDS; Certify Files
(S2) changes nothing; cancels are audited; collision warnings compare
submissions.  Processing is run in-process, as the job consumer would.
"""

from __future__ import annotations

import html
import re
import shutil
from pathlib import Path

import pytest
from crds.core import rmap
from django.conf import settings
from django.test import Client

from crds_server.catalog import contexts
from crds_server.catalog.models import AuditEntry, File
from crds_server.submissions import actions, ingest
from crds_server.submissions.models import Submission
from tests.submitting import COS_KEYWORDS, COS_RMAP, persona, put_in_ingest
from tests.test_processing import DARK_RMAP, demo_reference
from tests.test_web_auth import error_of

RESULT_LINK = re.compile(r"/display_result/([0-9a-f-]{36})")
FORM = dict(pmap_mode="pmap_edit", pmap_name="hst_0001.pmap", instrument="acs", change_level="SEVERE",
            creator="Homer", description="test delivery", auto_rename="True",
            compare_old_reference="False")
STORE = Path(settings.FILE_CACHE) / "mappings" / "hst"


@pytest.fixture(autouse=True)
def _clean_areas(clean_areas):
    """Every test leaves the store, ingest and upload areas as it found them."""


def repost(browser: Client, path: str, **fields: str):
    page = browser.get(path)
    assert page.status_code == 200 and page.cookies["csrftoken"].value
    return browser.post(path, dict(fields, csrfmiddlewaretoken=page.cookies["csrftoken"].value))


def submit(browser: Client, path: str, **fields: str) -> Submission:
    """Post a form, then process the submission as the job consumer would; the fresh row."""
    page = repost(browser, path, **fields)
    assert page.status_code == 200, page.content.decode()[:3000]
    match = RESULT_LINK.search(page.content.decode())
    assert match, page.content.decode()[:3000]
    actions.process(match.group(1))
    return Submission.objects.get(pk=match.group(1))


def ready(browser: Client, path: str, **fields: str) -> Submission:
    submission = submit(browser, path, **fields)
    assert submission.status == Submission.READY, submission.error
    return submission


def press(browser: Client, submission: Submission, button: str = "confirm"):
    page = browser.get(f"/display_result/{submission.id}")
    return browser.post("/submit_confirm_pipeline/", {
        "results_id": str(submission.id), "button": button,
        "csrfmiddlewaretoken": page.cookies["csrftoken"].value})


def confirmed(browser: Client, submission: Submission, button: str = "confirm") -> Submission:
    page = press(browser, submission, button)
    assert page.status_code == 200 and "error_message" not in page.content.decode(), \
        page.content.decode()[:3000]
    submission.refresh_from_db()
    return submission


def edited_rmap(user, name: str = DARK_RMAP) -> Path:
    """The demo dark rmap downloaded and edited by hand (one USEAFTER moved): checksum stale."""
    folder = ingest.ingest_dir(user, create=True)
    text = (STORE / name).read_text().replace("'1998-10-01 00:00:00' : ", "'1997-10-01 00:00:00' : ")
    (folder / name).write_text(text)
    return folder / name


def context_names(context: str) -> set[str]:
    return set(rmap.load_mapping(str(STORE / context)).reference_names())


# ---------------------------------------------------------------- S8 Submit References


def test_submit_references_delivers_the_references_alone_with_no_new_rules(browser, homer, demo_catalog):
    put_in_ingest(demo_catalog, homer, "my_dark.fits")
    submission = ready(browser, "/submit/reference/", **FORM)
    official = submission.result["renamed"]["my_dark.fits"]
    assert submission.result["new_mappings"] == [] and submission.result["new_context"] == ""
    assert set(submission.result["metadata"]) == {official}
    page = press(browser, submission)
    assert page.status_code == 200 and "the edit context is unchanged." in page.content.decode()
    assert contexts.pointer("edit") == demo_catalog.context
    assert File.objects.get(name=official).state == "delivered"
    assert not File.objects.filter(type="mapping", state="delivered").exists()
    assert official not in context_names(demo_catalog.context)


# ---------------------------------------------------------------- S9 Submit Mappings


def test_the_mappings_form_has_a_generate_contexts_checkbox_ticked(browser):
    body = browser.get("/submit/mapping/").content.decode()
    assert re.search(r'<input type="checkbox" name="generate_contexts"[^>]*checked', body)


def test_a_hand_edited_rmap_with_generate_contexts_gets_a_new_imap_and_pmap(browser, homer, demo_catalog):
    edited_rmap(homer)
    submission = ready(browser, "/submit/mapping/", generate_contexts="on", **FORM)
    assert submission.result["new_context"] == "hst_0002.pmap"
    assert set(submission.result["new_mappings"]) == {
        "hst_acs_darkfile_0002.rmap", "hst_acs_0002.imap", "hst_0002.pmap"}
    assert any("sha1sum" in w for w in submission.result["warnings"])
    confirmed(browser, submission)
    assert contexts.pointer("edit") == "hst_0002.pmap"


def test_a_hand_edited_rmap_without_generate_contexts_is_delivered_as_it_is(browser, homer, demo_catalog):
    edited_rmap(homer)
    submission = ready(browser, "/submit/mapping/", **FORM)  # an unticked box is not posted
    assert submission.generate_contexts is False
    assert submission.result["new_mappings"] == ["hst_acs_darkfile_0002.rmap"]
    assert submission.result["new_context"] == ""
    confirmed(browser, submission)
    assert contexts.pointer("edit") == demo_catalog.context  # the operator sets it by hand (O2)
    row = File.objects.get(name="hst_acs_darkfile_0002.rmap")
    assert row.state == "delivered" and row.derived_from == DARK_RMAP
    assert rmap.Mapping.from_file(str(STORE / row.name)).header["name"] == row.name


def test_a_hand_edited_imap_gets_the_new_names_of_the_rmaps_submitted_with_it(browser, homer,
                                                                              demo_catalog):
    edited_rmap(homer)
    folder = ingest.ingest_dir(homer)
    text = (STORE / "hst_acs_0001.imap").read_text()
    (folder / "hst_acs_0001.imap").write_text(text.replace("'derived_from'", "'comment' : 'edited',\n"
                                                                            "    'derived_from'"))
    submission = ready(browser, "/submit/mapping/", **FORM)
    assert submission.result["renamed"] == {DARK_RMAP: "hst_acs_darkfile_0002.rmap",
                                            "hst_acs_0001.imap": "hst_acs_0002.imap"}
    confirmed(browser, submission)
    imap = rmap.Mapping.from_file(str(STORE / "hst_acs_0002.imap"))  # checksum verified
    assert imap.selector["darkfile"] == "hst_acs_darkfile_0002.rmap"
    assert imap.header["derived_from"] == "hst_acs_0001.imap"
    assert contexts.pointer("edit") == demo_catalog.context


def test_a_hand_edited_imap_naming_a_mapping_not_in_crds_is_refused(browser, homer, demo_catalog):
    folder = ingest.ingest_dir(homer, create=True)
    text = (STORE / "hst_acs_0001.imap").read_text()
    (folder / "hst_acs_0001.imap").write_text(text.replace(f"'{DARK_RMAP}'", "'hst_acs_darkfile_0999.rmap'"))
    submission = submit(browser, "/submit/mapping/", **FORM)
    assert submission.status == Submission.FAILED
    assert "hst_acs_darkfile_0999.rmap" in submission.error
    assert (folder / "hst_acs_0001.imap").is_file()  # given back


def test_an_imap_with_generate_contexts_is_refused(browser, homer, demo_catalog):
    folder = ingest.ingest_dir(homer, create=True)
    shutil.copy(STORE / "hst_acs_0001.imap", folder / "hst_acs_0001.imap")
    submission = submit(browser, "/submit/mapping/", generate_contexts="on", **FORM)
    assert submission.status == Submission.FAILED and "Generate Contexts" in submission.error


# ---------------------------------------------------------------- S10 / S11 Delete and Add References


NAMED = dict(pmap_mode="pmap_edit", description="Clean context before marking bad")


def test_delete_then_add_references_write_new_rules_and_move_the_edit_context(browser, demo_catalog):
    gone = demo_reference(demo_catalog).name
    other = demo_reference(demo_catalog, index=1).name
    deleted = ready(browser, "/delete/reference/", deleted_files=f"{gone}\n", **NAMED)
    assert deleted.result["new_context"] == "hst_0002.pmap" and deleted.result["references"] == [gone]
    assert deleted.result["replaced_rmaps"] == {DARK_RMAP: "hst_acs_darkfile_0002.rmap"}
    assert [row["action"] for row in deleted.result["diffs"][0]["logical"]] == ["delete_rule"]
    body = html.unescape(browser.get(f"/display_result/{deleted.id}").content.decode())
    assert "Logical Diff ('hst_acs_darkfile_0001.rmap', 'hst_acs_darkfile_0002.rmap')" in body
    confirmed(browser, deleted)
    assert contexts.pointer("edit") == "hst_0002.pmap"
    assert gone not in context_names("hst_0002.pmap") and other in context_names("hst_0002.pmap")
    assert File.objects.get(name=gone).state == "archived"  # still in CRDS, older contexts use it

    added = ready(browser, "/add_existing/reference/", added_files=gone, **NAMED)
    assert added.result["new_context"] == "hst_0003.pmap" and added.derive_from == "hst_0002.pmap"
    assert not added.result["warnings"]
    confirmed(browser, added)
    assert contexts.pointer("edit") == "hst_0003.pmap"
    assert gone in context_names("hst_0003.pmap")
    assert AuditEntry.objects.filter(action="submit file", filename="hst_0003.pmap").exists()


def test_the_started_page_counts_the_named_references(browser, demo_catalog):
    names = [demo_reference(demo_catalog).name, demo_reference(demo_catalog, index=1).name]
    page = repost(browser, "/delete/reference/", deleted_files=", ".join(names), **NAMED)
    assert page.status_code == 200 and "naming 2 references is being processed" in page.content.decode()
    assert Submission.objects.get().extra["references"] == names


def test_delete_and_add_pages_are_listed_with_the_other_submit_pages(browser):
    body = browser.get("/").content.decode()
    for path in ("/submit/reference/", "/submit/mapping/", "/delete/reference/", "/add_existing/reference/"):
        assert f'href="{path}"' in body
        assert browser.get(path).status_code == 200


@pytest.mark.parametrize("path, field", [("/delete/reference/", "deleted_files"),
                                         ("/add_existing/reference/", "added_files")])
def test_unknown_names_and_mappings_are_refused_before_anything_starts(browser, demo_catalog, path, field):
    page = repost(browser, path, **{field: "0zz99999j_drk.fits", **NAMED})
    assert page.status_code == 400 and "Not in CRDS: 0zz99999j_drk.fits" in error_of(page)
    page = repost(browser, path, **{field: DARK_RMAP, **NAMED})
    assert page.status_code == 400 and f"Not a reference file: {DARK_RMAP}" in error_of(page)
    page = repost(browser, path, **{field: "../../etc/passwd", **NAMED})
    assert page.status_code == 400 and "not a CRDS file name" in error_of(page)
    page = repost(browser, path, **{field: " ".join(f"f{n}.fits" for n in range(201)), **NAMED})
    assert page.status_code == 400 and "at most 200" in error_of(page)
    page = repost(browser, path, **{field: "", **NAMED})
    assert page.status_code == 400 and "Name the references" in error_of(page)
    assert not Submission.objects.exists()


def test_deleting_a_file_not_in_the_context_or_adding_one_in_it_is_refused(browser, demo_catalog):
    present = demo_reference(demo_catalog).name
    page = repost(browser, "/add_existing/reference/", added_files=present, **NAMED)
    assert page.status_code == 400 and f"Already in 'hst_0001.pmap': {present}" in error_of(page)
    deleted = ready(browser, "/delete/reference/", deleted_files=present, **NAMED)
    confirmed(browser, deleted)
    page = repost(browser, "/delete/reference/", deleted_files=present, **NAMED)
    assert page.status_code == 400 and "Not in 'hst_0002.pmap'" in error_of(page)
    assert Submission.objects.count() == 1 and not File.objects.filter(state="uploaded").exists()


def test_processing_checks_the_context_again(demo_catalog, tmp_path):
    """The same refusals from the processing step, which trusts nothing it was queued with."""
    from crds_server.submissions import edits
    from crds_server.submissions.errors import SubmissionError

    present = demo_reference(demo_catalog).name
    common = dict(derive_from="hst_0001.pmap", staging=tmp_path, description="d", change_level="SEVERE",
                  creator="", user="homer", name_taken=lambda name: File.objects.filter(name=name).exists())
    with pytest.raises(SubmissionError, match=f"Already in 'hst_0001.pmap': {present}"):
        edits.prepare_edit(kind="add", names=[present], **common)
    with pytest.raises(SubmissionError, match="nothing to delete: 0zz99999j_drk.fits"):
        edits.prepare_edit(kind="delete", names=["0zz99999j_drk.fits"], **common)
    assert not list(tmp_path.iterdir())


def test_deleting_a_file_of_an_instrument_locked_by_someone_else_is_refused(browser, demo_catalog):
    persona("bart", instrument="cos")
    cos_file = demo_reference(demo_catalog, COS_RMAP).name
    page = repost(browser, "/delete/reference/", deleted_files=cos_file, **NAMED)
    assert page.status_code == 200 and "'cos' is locked by 'bart'" in error_of(page)
    assert not Submission.objects.exists()


# ---------------------------------------------------------------- S2 Certify Files


def test_certify_leaves_the_files_in_the_ingest_area_and_shows_the_report(browser, homer, demo_catalog):
    put_in_ingest(demo_catalog, homer, "my_dark.fits")
    before = (ingest.ingest_dir(homer) / "my_dark.fits").read_bytes()
    submission = ready(browser, "/certify/", pmap_mode="pmap_edit", compare_old_reference="False")
    assert [p.name for p in ingest.ingest_paths(homer)] == ["my_dark.fits"]
    assert (ingest.ingest_dir(homer) / "my_dark.fits").read_bytes() == before
    assert not actions.work_dir(submission.id).exists()
    body = browser.get(f"/display_result/{submission.id}").content.decode()
    assert "<h3>my_dark.fits</h3>" in body and 'value="confirm"' not in body


def test_a_failed_certification_also_leaves_the_ingest_area_as_it_was(browser, homer, demo_catalog):
    put_in_ingest(demo_catalog, homer, "broken.fits", DETECTOR="BROKEN")
    submission = submit(browser, "/certify/", pmap_mode="pmap_edit")
    assert submission.status == Submission.FAILED
    assert [p.name for p in ingest.ingest_paths(homer)] == ["broken.fits"]


# ---------------------------------------------------------------- cancel audit


def test_a_cancel_is_audited_and_listed_in_recent_activity(browser, homer, demo_catalog):
    put_in_ingest(demo_catalog, homer, "my_dark.fits")
    submission = ready(browser, "/batch_submit_references/", **FORM)
    confirmed(browser, submission, "cancel")
    entry = AuditEntry.objects.get(action="cancel submission")
    assert entry.user == "homer" and entry.filename == "hst_0002.pmap" and str(submission.id) in entry.details
    assert "cancel submission" in browser.get("/recent_activity/").content.decode()


# ---------------------------------------------------------------- collisions


def test_two_ready_submissions_from_one_rmap_warn_and_confirm_needs_force(browser, homer, demo_catalog):
    put_in_ingest(demo_catalog, homer, "dark_a.fits", "Jan 01 2005 00:00:00")
    first = ready(browser, "/batch_submit_references/", **FORM)
    put_in_ingest(demo_catalog, homer, "dark_b.fits", "Jan 01 2006 00:00:00")
    second = ready(browser, "/batch_submit_references/", **FORM)
    body = html.unescape(browser.get(f"/display_result/{first.id}").content.decode())
    assert "Collision warnings" in body and f"submission {second.id}" in body
    assert f"were both derived from '{DARK_RMAP}'" in body and 'value="force"' in body
    refused = press(browser, first)
    assert refused.status_code == 400 and "both derived from" in error_of(refused)
    assert confirmed(browser, first, "force").status == Submission.CONFIRMED
    # The second now collides with a submission confirmed since it started (and the edit moved).
    text = " ".join(actions.collisions(second, homer))
    assert f"submission {first.id}" in text and "confirmed" in text and "edit context is now" in text


def test_the_same_uploaded_name_in_two_submissions_warns(browser, homer, demo_catalog):
    put_in_ingest(demo_catalog, homer, "same.fits")
    first = ready(browser, "/batch_submit_references/", **FORM)
    put_in_ingest(demo_catalog, homer, "same.fits", rmap_name="hst_acs_flshfile_0001.rmap")
    second = ready(browser, "/batch_submit_references/", **FORM)
    warnings = actions.collisions(second, homer)
    assert len(warnings) == 1 and "uploaded as 'same.fits'" in warnings[0] and str(first.id) in warnings[0]


def test_submissions_of_other_rmaps_and_names_do_not_collide(browser, homer, demo_catalog):
    put_in_ingest(demo_catalog, homer, "dark.fits")
    ready(browser, "/batch_submit_references/", **FORM)
    put_in_ingest(demo_catalog, homer, "flash.fits", rmap_name="hst_acs_flshfile_0001.rmap")
    second = ready(browser, "/batch_submit_references/", **FORM)
    assert actions.collisions(second) == []


def test_files_of_two_instruments_by_a_user_locked_to_none_take_both_locks(demo_catalog):
    from crds_server.locks.models import InstrumentLock

    marge = persona("marge")  # logged in with instrument `none`: holds no lock
    put_in_ingest(demo_catalog, marge, "dark.fits")
    put_in_ingest(demo_catalog, marge, "flat.fits", rmap_name=COS_RMAP, **COS_KEYWORDS)
    from tests.submitting import run

    submission = run(marge, instrument="none")
    assert submission.instruments == ["acs", "cos"] and submission.status == Submission.READY
    assert sorted(InstrumentLock.objects.filter(user=marge).values_list("instrument", flat=True)) == [
        "acs", "cos"]


# ---------------------------------------------------------------- the new pmap selects each new reference


def test_a_new_context_that_does_not_select_the_new_reference_is_a_warning(demo_catalog, tmp_path,
                                                                           monkeypatch):
    """The new rmap selects the new dark, but the new imap (as a faulty generation could write
    it) still routes darkfile to the old rmap: only asking the new pmap finds that."""
    from crds_server.submissions import processing, rules
    from tests.test_processing import new_reference, prepare

    generate = rules.generate_contexts

    def stale_imap(context, new_rmaps, staging, *args, **kwargs):
        generated = generate(context, new_rmaps, staging, *args, **kwargs)
        imap = rmap.Mapping.from_file(str(staging / generated["hst_acs_0001.imap"]), ignore_checksum=True)
        imap.selector["darkfile"] = DARK_RMAP
        imap.write(str(staging / generated["hst_acs_0001.imap"]))
        return generated

    monkeypatch.setattr(processing.rules, "generate_contexts", stale_imap)
    upload = new_reference(demo_catalog, tmp_path / "ingest", "my_dark.fits")
    result = prepare([upload], tmp_path / "staging", demo_catalog.context)
    official = result.renamed["my_dark.fits"]
    assert not rules.selection_problem(tmp_path / "staging" / "hst_acs_darkfile_0002.rmap",
                                       tmp_path / "staging" / official)
    assert [w for w in result.warnings if "The new context 'hst_0002.pmap' selects" in w
            and official in w], result.warnings


def test_a_good_new_context_selects_the_new_reference_without_a_warning(demo_catalog, tmp_path):
    from tests.test_processing import new_reference, prepare

    upload = new_reference(demo_catalog, tmp_path / "ingest", "my_dark.fits")
    result = prepare([upload], tmp_path / "staging", demo_catalog.context)
    assert result.new_context == "hst_0002.pmap" and result.warnings == []


def test_a_hand_edited_imap_and_pmap_are_delivered_naming_each_others_new_names(browser, homer,
                                                                               demo_catalog):
    folder = ingest.ingest_dir(homer, create=True)
    for name in ("hst_acs_0001.imap", "hst_0001.pmap"):  # edited by hand: a comment added
        text = (STORE / name).read_text()
        comment = "'comment' : 'by hand',\n    'derived_from'"
        (folder / name).write_text(text.replace("'derived_from'", comment))
    submission = ready(browser, "/submit/mapping/", **FORM)
    assert submission.result["renamed"] == {"hst_acs_0001.imap": "hst_acs_0002.imap",
                                            "hst_0001.pmap": "hst_0002.pmap"}
    assert submission.result["new_context"] == ""
    confirmed(browser, submission)
    pmap = rmap.Mapping.from_file(str(STORE / "hst_0002.pmap"))
    assert pmap.selector["ACS"] == "hst_acs_0002.imap" and pmap.header["derived_from"] == "hst_0001.pmap"
    assert File.objects.get(name="hst_0002.pmap").state == "delivered"
    assert contexts.pointer("edit") == demo_catalog.context  # set by hand later (O2)


def _jwst_view(tmp_path) -> tuple[Path, Path]:
    """A view of the JWST demo's mappings (links, as `rules.mapping_view` makes) and its references."""
    from crds_server import demo

    cache = tmp_path / "jwst-cache"
    demo.build_demo_cache(cache, "jwst")
    view = tmp_path / "view"
    view.mkdir()
    for path in (cache / "mappings" / "jwst").iterdir():
        (view / path.name).symlink_to(path)
    return view, cache / "references" / "jwst"


def test_the_new_context_check_asks_a_jwst_pmap_too(tmp_path):
    from crds_server.submissions import rules

    view, references = _jwst_view(tmp_path)
    dark_rmap = "jwst_miri_dark_0001.rmap"
    dark = references / rmap.load_mapping(str(view / dark_rmap)).reference_names()[0]
    assert rules.context_selection_problem(view, "jwst_0001.pmap", dark_rmap, dark) is None
    # A new imap that lost the dark rules, in a new pmap: the rmap still selects, the context not.
    imap = rmap.Mapping.from_file(str(view / "jwst_miri_0001.imap"))
    imap.selector["dark"] = "N/A"
    imap.header["name"] = "jwst_miri_0002.imap"
    imap.write(str(view / "jwst_miri_0002.imap"))
    pmap = rmap.Mapping.from_file(str(view / "jwst_0001.pmap"))
    pmap.selector["MIRI"] = "jwst_miri_0002.imap"
    pmap.header["name"] = "jwst_0002.pmap"
    pmap.write(str(view / "jwst_0002.pmap"))
    assert rules.selection_problem(view / dark_rmap, dark) is None
    problem = rules.context_selection_problem(view, "jwst_0002.pmap", dark_rmap, dark)
    assert problem and "The new context 'jwst_0002.pmap' selects" in problem and dark.name in problem
