"""Marking files bad and OK: rejection, blacklists spreading upward, the latest context kept clean."""

from __future__ import annotations

import pytest

from crds_server.catalog import actions, badfiles, records, serverinfo
from crds_server.catalog.errors import BadContextError, FileInUseError, UnknownFileError
from crds_server.catalog.models import AuditEntry, File
from tests.web_helpers import derive_context


@pytest.fixture
def second(demo_catalog, catalog):
    """hst_0002.pmap: a context (not latest) whose ACS dark rmap drops one dark."""
    return derive_context(catalog, demo_catalog.context, "acs", "darkfile")


@pytest.fixture
def third(second, catalog):
    """hst_0003.pmap: derived from hst_0002.pmap with a new WFC3 dark rmap as well."""
    return derive_context(catalog, second["pmap"], "wfc3", "darkfile", serial="0003")


def flags(*names: str) -> dict[str, tuple[bool, bool]]:
    rows = File.objects.filter(name__in=names)
    return {row.name: (row.rejected, row.blacklisted) for row in rows}


def bad_names() -> set[str]:
    return set(File.objects.bad().values_list("name", flat=True))


def test_a_reference_is_rejected_and_nothing_else_changes(catalog, demo_catalog):
    catalog.add_file("unused_drk.fits", instrument="acs", filekind="darkfile")
    done = actions.mark_bad("marge", ["unused_drk.fits"], "scientifically invalid")
    assert done.rejected == ["unused_drk.fits"] and done.blacklisted == []
    assert flags("unused_drk.fits") == {"unused_drk.fits": (True, False)}
    assert bad_names() == {"unused_drk.fits"}


def test_a_bad_rmap_blacklists_its_imap_and_every_pmap_using_it(second, third):
    done = actions.mark_bad("marge", [second["rmap"]], "wrong rules")
    tainted = [second["imap"], second["pmap"], third["pmap"]]
    assert done.rejected == [second["rmap"]]
    assert sorted(done.blacklisted) == sorted([second["rmap"], *tainted])
    assert sorted(done.spread) == sorted(tainted)
    assert flags(second["rmap"])[second["rmap"]] == (True, True)
    assert all(flags(n)[n] == (False, True) for n in tainted)
    # The new WFC3 imap does not contain the ACS rmap, nor does the latest context.
    assert bad_names() == {second["rmap"], *tainted}


def test_the_spread_matches_the_closures_the_crds_library_computes(second, third):
    from crds_server.catalog import loader

    expected = sorted(name for name in File.objects.mappings().values_list("name", flat=True)
                      if name.endswith((".imap", ".pmap"))
                      and second["rmap"] in loader.get_mapping(name).mapping_names())
    row = File.objects.get(name=second["rmap"])
    assert sorted(badfiles.containing(row)) == expected


def test_a_blacklisted_reference_spreads_to_the_rmaps_that_select_it(second):
    row = File.objects.get(name=second["dropped"])
    assert second["old_rmap"] in badfiles.containing(row)
    assert second["rmap"] not in badfiles.containing(row)


def test_marking_ok_clears_what_only_that_file_tainted(second, third):
    wfc3_rmap = third["rmap"]
    actions.mark_bad("marge", [second["rmap"]], "wrong rules")
    actions.mark_bad("marge", [wfc3_rmap], "wrong too")
    done = actions.mark_ok("marge", [second["rmap"]], "fixed after all")
    assert sorted(done.blacklisted) == sorted([second["rmap"], second["imap"], second["pmap"]])
    # hst_0003.pmap still contains the bad WFC3 rmap.
    assert bad_names() == {wfc3_rmap, third["imap"], third["pmap"]}
    actions.mark_ok("marge", [wfc3_rmap], "fixed")
    assert bad_names() == set()


def test_marking_bad_twice_changes_nothing_the_second_time(second):
    actions.mark_bad("marge", [second["rmap"]], "wrong rules")
    before = AuditEntry.objects.count()
    again = actions.mark_bad("marge", [second["rmap"]], "wrong rules")
    assert again.names() == [] and AuditEntry.objects.count() == before


def test_a_file_of_the_latest_context_is_refused_unless_forced(second, demo_catalog):
    with pytest.raises(FileInUseError, match="latest context"):
        actions.mark_bad("marge", [second["old_rmap"]], "wrong")
    with pytest.raises(FileInUseError):
        actions.mark_bad("marge", [second["dropped"]], "wrong")
    assert bad_names() == set()
    done = actions.mark_bad("marge", [second["old_rmap"]], "wrong", force=True)
    assert demo_catalog.context in done.blacklisted and second["pmap"] not in done.blacklisted


def test_rejecting_only_does_not_spread(second):
    done = actions.mark_bad("marge", [second["rmap"]], "typo", kind="rejected")
    assert done.rejected == [second["rmap"]] and done.blacklisted == []
    assert bad_names() == {second["rmap"]}


def test_unknown_files_a_missing_reason_and_an_unknown_kind_are_refused(second):
    with pytest.raises(UnknownFileError, match="nosuch.fits"):
        actions.mark_bad("marge", ["nosuch.fits"], "why")
    with pytest.raises(BadContextError, match="reason"):
        actions.mark_bad("marge", [second["rmap"]], "  ")
    with pytest.raises(BadContextError, match="kind"):
        actions.mark_bad("marge", [second["rmap"]], "why", kind="purple")
    assert bad_names() == set()


@pytest.mark.parametrize("reason", ["<script>alert(1)</script>", "bad\x00file", "x" * 2001])
def test_a_reason_outside_the_characters_of_descriptions_or_too_long_is_refused(second, reason):
    with pytest.raises(BadContextError, match="reason"):
        actions.mark_bad("marge", [second["rmap"]], reason)
    with pytest.raises(BadContextError, match="reason"):
        actions.mark_ok("marge", [second["rmap"]], reason)
    assert bad_names() == set()


def test_every_change_is_audited_with_the_reason(second):
    actions.mark_bad("marge", [second["rmap"]], "wrong rules")
    entries = {e.filename: e for e in AuditEntry.objects.filter(action="mark bad")}
    assert set(entries) == {second["rmap"], second["imap"], second["pmap"]}
    assert entries[second["rmap"]].why == "wrong rules" and entries[second["rmap"]].user == "marge"
    assert entries[second["rmap"]].details == "rejected and blacklisted"
    assert "contains a blacklisted file" in entries[second["pmap"]].details
    actions.mark_ok("marge", [second["rmap"]], "fine")
    assert AuditEntry.objects.filter(action="mark ok").count() == 3


def test_bad_files_reach_server_info_and_file_records(second):
    actions.mark_bad("marge", [second["rmap"]], "wrong rules")
    info = serverinfo.server_info()
    assert info["bad_files_list"] == sorted([second["rmap"], second["imap"], second["pmap"]])
    assert second["pmap"] in info["mappings"]  # bad files stay listed and downloadable
    record = records.all_records()[second["pmap"]]
    assert record["blacklisted"] == "true" and record["rejected"] == "false"
    assert records.all_records()[second["rmap"]]["rejected"] == "true"
    actions.mark_ok("marge", [second["rmap"]], "fine")
    assert serverinfo.server_info()["bad_files_list"] == []
