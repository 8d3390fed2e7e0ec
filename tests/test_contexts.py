"""Context pointers, history and specifier resolution, and the `set_context` action."""

from __future__ import annotations

import datetime

import pytest
from crds.core import rmap

from crds_server.catalog import actions, contexts, versioning
from crds_server.catalog.errors import BadContextError, InvalidDateBasedContext, UnknownContextError
from crds_server.catalog.models import AuditEntry, BuildContext, ContextHistory, ContextPointer

UTC = datetime.UTC


def utc(*args: int) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=UTC)


def empty_pmap(name: str) -> bytes:
    """A .pmap the crds library loads: a header, its checksum, no instruments (it names only itself)."""
    text = (f"header = {{\n    'derived_from' : 'generated',\n    'mapping' : 'PIPELINE',\n"
            f"    'name' : '{name}',\n    'observatory' : 'HST',\n    'parkey' : ('INSTRUME',),\n"
            f"    'sha1sum' : 'none',\n}}\n\nselector = {{\n}}\n")
    mapping = rmap.Mapping.from_string(text, ignore_checksum=True)
    mapping.header["sha1sum"] = mapping._get_checksum(mapping.format())
    return mapping.format().encode()


@pytest.fixture
def pmaps(catalog, settings):
    """Three catalogued contexts naming no instrument, and an imap row.

    Their files and pickles are removed afterwards: the demo catalog of later
    modules uses the same names, and a newer pickle would be taken for its own.
    """
    names = [f"hst_000{serial}.pmap" for serial in (1, 2, 3)]
    for name in names:
        catalog.add_file(name, empty_pmap(name))
    catalog.add_file("hst_acs_0001.imap", b"imap")
    yield catalog
    for name in names + ["hst_acs_0001.imap"]:
        (settings.FILE_CACHE / "mappings" / "hst" / name).unlink(missing_ok=True)
        (settings.FILE_CACHE / "pickles" / "hst" / f"{name}.pkl").unlink(missing_ok=True)


# Pointers and build contexts


def test_an_undefined_pointer_is_empty(db):
    assert contexts.pointer("latest") == "" and contexts.pointer("build") == ""


def test_operational_is_the_old_name_of_latest(pmaps):
    actions.set_context("operator", "hst_0002.pmap", "latest", "Go.")
    assert contexts.pointer("operational") == contexts.pointer("latest") == "hst_0002.pmap"


def test_the_newest_build_context_is_that_of_the_highest_version(pmaps):
    for calver, context in (("1.10.0", "hst_0003.pmap"), ("1.9.2", "hst_0002.pmap")):
        actions.set_context("operator", context, "build", "Build.", calver=calver)
    assert contexts.pointer("build") == "hst_0003.pmap"


def test_a_release_candidate_does_not_break_the_build_ordering(pmaps):
    actions.set_context("operator", "hst_0001.pmap", "build", "Candidate.", calver="1.14.0rc1")
    actions.set_context("operator", "hst_0002.pmap", "build", "Release.", calver="1.14.0")
    assert contexts.pointer("build") == "hst_0002.pmap"


def test_build_context_falls_back_to_the_closest_earlier_version(pmaps):
    actions.set_context("operator", "hst_0001.pmap", "build", "Old.", calver="1.2.0")
    actions.set_context("operator", "hst_0002.pmap", "build", "New.", calver="1.3.0")
    assert contexts.build_context("1.3.0") == "hst_0002.pmap"
    assert contexts.build_context("1.2.99") == "hst_0001.pmap"
    assert contexts.build_context("1.3") == "hst_0002.pmap"
    with pytest.raises(UnknownContextError):
        contexts.build_context("1.1")


# History and dates


def test_context_at_takes_the_era_in_force_including_its_first_second(db):
    ContextHistory.objects.create(start_date=utc(2015, 1, 1), context="hst_0001.pmap")
    ContextHistory.objects.create(start_date=utc(2016, 1, 1), context="hst_0002.pmap")
    assert contexts.context_at(utc(2015, 12, 31, 23, 59, 59)) == "hst_0001.pmap"
    assert contexts.context_at(utc(2016, 1, 1)) == "hst_0002.pmap"
    with pytest.raises(InvalidDateBasedContext, match="history starts later"):
        contexts.context_at(utc(2014, 1, 1))


def test_of_two_eras_starting_together_the_later_entry_wins(db):
    for name in ("hst_0001.pmap", "hst_0002.pmap"):
        ContextHistory.objects.create(start_date=utc(2015, 1, 1), context=name)
    assert contexts.context_at(utc(2015, 6, 1)) == "hst_0002.pmap"


@pytest.mark.parametrize("text, expected", [
    ("2016-01-01", utc(2016, 1, 1)),
    ("2016-01-01T12:01:30", utc(2016, 1, 1, 12, 1, 30)),
    ("2016-01-01 12:01:30", utc(2016, 1, 1, 12, 1, 30)),
    ("2040-02-22T12:01:30.4567", utc(2040, 2, 22, 12, 1, 30, 456700)),
])
def test_dates_are_read_as_utc(text, expected):
    assert contexts.parse_date(text) == expected


@pytest.mark.parametrize("text", ["2016-02-30", "yesterday", "2016/01/01"])
def test_a_bad_date_is_an_invalid_date_based_context(text):
    with pytest.raises(InvalidDateBasedContext):
        contexts.parse_date(text)


def test_dates_are_formatted_in_utc_so_that_they_sort(db):
    eastern = datetime.timezone(datetime.timedelta(hours=-5))
    assert contexts.format_date(datetime.datetime(2016, 1, 1, 22, 0, tzinfo=eastern)) \
        == "2016-01-02 03:00:00"
    assert contexts.format_date(None) == "none"


def test_history_is_oldest_first(db):
    ContextHistory.objects.create(start_date=utc(2016, 1, 1), context="hst_0002.pmap", description="b")
    ContextHistory.objects.create(start_date=utc(2015, 1, 1), context="hst_0001.pmap", description="a")
    assert contexts.history() == [["2015-01-01 00:00:00", "hst_0001.pmap", "a"],
                                  ["2016-01-01 00:00:00", "hst_0002.pmap", "b"]]


# resolve() without loading rules


def test_a_literal_context_must_be_catalogued(pmaps):
    assert contexts.resolve("hst_0001.pmap") == "hst_0001.pmap"
    assert contexts.resolve("  hst_0001.pmap ") == "hst_0001.pmap"
    with pytest.raises(UnknownContextError):
        contexts.resolve("hst_0009.pmap")


def test_a_reference_name_is_not_a_context(pmaps):
    pmaps.add_file("x1234567j_drk.fits")
    with pytest.raises(InvalidDateBasedContext):
        contexts.resolve("x1234567j_drk.fits")


@pytest.mark.parametrize("spec", [None, 42, "", ["hst-latest"]])
def test_a_spec_that_is_not_a_string_is_refused(db, spec):
    with pytest.raises(InvalidDateBasedContext):
        contexts.resolve(spec)


def test_a_tag_with_no_context_defined_is_an_unknown_context(pmaps):
    with pytest.raises(UnknownContextError, match="'versions'"):
        contexts.resolve("hst-versions")


def test_a_spec_for_another_observatory_is_refused(pmaps):
    actions.set_context("operator", "hst_0001.pmap", "latest", "Go.")
    with pytest.raises(InvalidDateBasedContext, match="observatory"):
        contexts.resolve("hst-latest", observatory="jwst")


@pytest.mark.parametrize("spec", ["hst-ACS-latest", "hst-a-latest", "hst-acs-x-latest",
                                  "hst-acs-Dark-latest"])
def test_badly_spelled_instruments_and_types_are_refused_before_loading_rules(pmaps, spec):
    actions.set_context("operator", "hst_0001.pmap", "latest", "Go.")
    with pytest.raises(InvalidDateBasedContext):
        contexts.resolve(spec)


def test_an_unknown_instrument_is_reported_before_a_date_older_than_the_history(pmaps):
    ContextHistory.objects.create(start_date=utc(2019, 1, 1), context="hst_0001.pmap")
    with pytest.raises(InvalidDateBasedContext) as refused:
        contexts.resolve("hst-foo-2018-01-01T00:00:00")
    assert str(refused.value) == "Bad instrument 'foo' in CRDS date based context specification."


# set_context


def test_setting_latest_appends_to_the_history(pmaps):
    actions.set_context("operator", "hst_0001.pmap", "latest", "First.")
    old = actions.set_context("operator", "hst_0002.pmap", "latest", "Second.")
    assert old == "hst_0001.pmap"
    assert list(ContextHistory.objects.values_list("context", "description", "user")) == [
        ("hst_0001.pmap", "First.", "operator"), ("hst_0002.pmap", "Second.", "operator")]


@pytest.mark.parametrize("kind", ["edit", "versions"])
def test_setting_other_kinds_leaves_the_history_alone(pmaps, kind):
    assert actions.set_context("operator", "hst_0003.pmap", kind, "Other.") == ""
    assert contexts.pointer(kind) == "hst_0003.pmap"
    assert not ContextHistory.objects.exists()


def test_operational_sets_latest(pmaps):
    actions.set_context("operator", "hst_0002.pmap", "operational", "Old name.")
    assert ContextPointer.objects.get(kind="latest").context == "hst_0002.pmap"
    assert ContextHistory.objects.count() == 1


@pytest.mark.parametrize("flag", ["rejected", "blacklisted"])
@pytest.mark.parametrize("kind", ["latest", "build"])
def test_a_bad_context_cannot_become_latest_or_build(pmaps, flag, kind):
    pmaps.add_file("hst_0003.pmap", b"pmap 3", **{flag: True})
    with pytest.raises(BadContextError, match="marked bad"):
        actions.set_context("operator", "hst_0003.pmap", kind, "No.", calver="1.0.0")
    assert not ContextPointer.objects.exists() and not BuildContext.objects.exists()


def test_a_bad_context_can_still_be_the_edit_context(pmaps):
    pmaps.add_file("hst_0003.pmap", b"pmap 3", rejected=True)
    actions.set_context("operator", "hst_0003.pmap", "edit", "Derive from it.")
    assert contexts.pointer("edit") == "hst_0003.pmap"


def test_a_build_context_needs_a_calibration_version(pmaps):
    with pytest.raises(BadContextError, match="calver"):
        actions.set_context("operator", "hst_0001.pmap", "build", "No version.")
    with pytest.raises(InvalidDateBasedContext, match="Invalid version"):
        actions.set_context("operator", "hst_0001.pmap", "build", "Bad version.", calver="v1")
    assert not BuildContext.objects.exists()


def test_a_build_context_is_recorded_per_version_and_replaced(pmaps):
    actions.set_context("operator", "hst_0001.pmap", "build", "First.", calver="1.2.0")
    assert actions.set_context("operator", "hst_0002.pmap", "build", "Again.", calver="1.2.0") \
        == "hst_0001.pmap"
    assert list(BuildContext.objects.values_list("calver", "context")) == [("1.2.0", "hst_0002.pmap")]
    assert not ContextHistory.objects.exists()


@pytest.mark.parametrize("context, error", [
    ("hst_0009.pmap", UnknownContextError), ("hst_acs_0001.imap", BadContextError),
    ("hst-latest", BadContextError), (None, BadContextError),
])
def test_only_a_catalogued_pmap_can_be_set(pmaps, context, error):
    with pytest.raises(error):
        actions.set_context("operator", context, "latest", "No.")
    assert not ContextPointer.objects.exists()


@pytest.mark.parametrize("kind, reason", [("pipeline", "Why."), ("latest", ""), ("latest", "  ")])
def test_an_unknown_kind_or_a_missing_reason_is_refused(pmaps, kind, reason):
    with pytest.raises(BadContextError):
        actions.set_context("operator", "hst_0001.pmap", kind, reason)


def test_a_change_writes_an_audit_entry(pmaps):
    actions.set_context("operator", "hst_0001.pmap", "latest", "First.")
    actions.set_context("admin", "hst_0002.pmap", "latest", "Better darks.")
    entry = AuditEntry.objects.first()
    assert (entry.user, entry.action, entry.filename, entry.why) == (
        "admin", "set context", "hst_0002.pmap", "Better darks.")
    assert "latest" in entry.details and "'hst_0001.pmap'" in entry.details


def test_a_change_moves_the_catalog_version_and_a_refusal_does_not(pmaps):
    before = versioning.current()
    actions.set_context("operator", "hst_0001.pmap", "latest", "Go.")
    moved = versioning.current()
    assert moved > before
    with pytest.raises(BadContextError):
        actions.set_context("operator", "hst_0001.pmap", "build", "No version.")
    assert versioning.current() == moved
    assert AuditEntry.objects.count() == 1


def test_a_move_reviewed_against_a_pointer_that_moved_meanwhile_is_refused(pmaps):
    actions.set_context("operator", "hst_0001.pmap", "latest", "First.")
    actions.set_context("someone", "hst_0002.pmap", "latest", "Meanwhile.")
    with pytest.raises(BadContextError, match="changed to 'hst_0002.pmap' since your preview"):
        actions.set_context("operator", "hst_0003.pmap", "latest", "Reviewed.", expected="hst_0001.pmap")
    assert contexts.pointer("latest") == "hst_0002.pmap"
    actions.set_context("operator", "hst_0003.pmap", "latest", "Reviewed.", expected="hst_0002.pmap")
    assert contexts.pointer("latest") == "hst_0003.pmap"
