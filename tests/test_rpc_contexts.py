"""Context methods: server info, default/build/by-date contexts, history, remote contexts."""

from __future__ import annotations

import ast
import datetime
import hashlib
import pprint
import re

import pytest

from crds_server.catalog import actions, serverinfo
from crds_server.catalog.models import ContextHistory, ContextPointer, File
from crds_server.security import actions as pipeline_keys
from tests.rpc import crds_decode

MUST_KEYS = {"observatory", "latest_context", "operational_context", "edit_context",
             "versions_context", "bad_files_list", "force_remote_mode", "mappings",
             "last_synced", "reference_url", "mapping_url", "download_metadata"}
SHOULD_KEYS = {"build_context", "context_history", "crds_version", "max_headers_per_rpc",
               "config_url", "pickle_url"}
STAMP = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")


def utc(*args: int) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=datetime.UTC)


@pytest.fixture
def eras(demo_catalog, catalog):
    """History: hst_0001 from 2015-01-01, hst_0002 from 2016-06-01 12:00; hst_0003 is edit."""
    for name in ("hst_0002.pmap", "hst_0003.pmap"):
        catalog.add_derived_mapping("hst_0001.pmap", name)
    ContextHistory.objects.all().delete()
    ContextHistory.objects.create(start_date=utc(2015, 1, 1), context="hst_0001.pmap",
                                  description="First era.")
    ContextHistory.objects.create(start_date=utc(2016, 6, 1, 12), context="hst_0002.pmap",
                                  description="Second era.")
    ContextPointer.objects.filter(kind="latest").update(context="hst_0002.pmap")
    actions.set_context("operator", "hst_0003.pmap", "edit", "New submission.")
    actions.set_context("operator", "hst_0001.pmap", "versions", "Versions.")
    actions.set_context("operator", "hst_0002.pmap", "build", "Build 1.2.", calver="1.2.0")


@pytest.fixture
def hyphenated_type(demo_catalog, catalog):
    """hst_0005.pmap whose ACS imap has a JWST-style hyphenated type, pars-tweakreg."""
    catalog.add_derived_mapping("hst_acs_biasfile_0001.rmap", "hst_acs_pars-tweakreg_0001.rmap",
                                header={"filekind": "PARS-TWEAKREG"})
    catalog.add_derived_mapping("hst_acs_0001.imap", "hst_acs_0005.imap",
                                selections={"pars-tweakreg": "hst_acs_pars-tweakreg_0001.rmap",
                                            "biasfile": "N/A"})
    catalog.add_derived_mapping("hst_0001.pmap", "hst_0005.pmap",
                                selections={"ACS": "hst_acs_0005.imap"})
    actions.set_context("operator", "hst_0005.pmap", "latest", "Hyphens.")


# get_server_info


def test_server_info_has_every_key_the_client_needs(rpc, demo_catalog):
    info = rpc("get_server_info")
    assert MUST_KEYS <= set(info)
    assert SHOULD_KEYS <= set(info)
    assert info["observatory"] == "hst"
    assert info["latest_context"] == info["operational_context"] == demo_catalog.context
    assert info["edit_context"] == demo_catalog.context
    assert isinstance(info["versions_context"], str)
    assert info["crds_version"]["str"]


def test_server_info_urls_are_keyed_by_observatory_under_unchecked(rpc, demo_catalog, settings):
    info = rpc("get_server_info")
    assert info["reference_url"] == {
        "unchecked": {"hst": f"{settings.PUBLIC_URL}/unchecked_get/references/hst/"}}
    assert info["mapping_url"]["unchecked"]["hst"].endswith("/unchecked_get/mappings/hst/")
    assert info["config_url"]["unchecked"]["hst"].endswith("/unchecked_get/config/hst/")


def test_server_info_lists_every_distributable_mapping(rpc, demo_catalog):
    info = rpc("get_server_info")
    on_disk = sorted(p.name for p in (demo_catalog.path / "mappings" / "hst").iterdir())
    assert info["mappings"] == on_disk


def test_download_metadata_gives_size_and_sha1_strings_for_every_file_including_geis_data(
        rpc, demo_catalog):
    metadata = crds_decode(rpc("get_server_info")["download_metadata"])
    files = [p for sub in ("mappings", "references")
             for p in (demo_catalog.path / sub / "hst").iterdir()]
    assert set(metadata) == {p.name for p in files}
    assert any(re.search(r"\.r\dd$", name) for name in metadata)
    for path in files:
        assert metadata[path.name] == {"size": str(path.stat().st_size),
                                       "sha1sum": hashlib.sha1(path.read_bytes()).hexdigest()}


def test_download_metadata_leaves_out_files_that_are_not_distributable(rpc, demo_catalog, catalog):
    catalog.add_file("x9999999j_drk.fits", state="uploaded")
    metadata = crds_decode(rpc("get_server_info")["download_metadata"])
    assert "x9999999j_drk.fits" not in metadata
    assert "x9999999j_drk.fits" not in rpc("get_server_info")["mappings"]


def test_server_info_round_trips_through_pprint_and_literal_eval(rpc, demo_catalog):
    info = rpc("get_server_info")
    assert ast.literal_eval(pprint.pformat(info)) == info


def test_server_config_text_is_a_python_literal_with_flat_urls(demo_catalog):
    config = ast.literal_eval(serverinfo.server_config_text())
    assert config["reference_url"] == {"hst": config["reference_url"]["hst"]}
    assert config["latest_context"] == demo_catalog.context


def test_bad_files_list_holds_rejected_and_blacklisted_files_in_lower_case(rpc, demo_catalog, catalog):
    File.objects.filter(name="hst_acs_biasfile_0001.rmap").update(rejected=True)
    File.objects.filter(name="hst_acs_0001.imap").update(blacklisted=True)
    catalog.add_file("Y1234567J_DRK.FITS", rejected=True)
    assert rpc("get_server_info")["bad_files_list"] == [
        "hst_acs_0001.imap", "hst_acs_biasfile_0001.rmap", "y1234567j_drk.fits"]


def test_bad_files_stay_in_the_mappings_list_and_download_metadata(rpc, demo_catalog):
    File.objects.filter(name="hst_acs_biasfile_0001.rmap").update(rejected=True)
    info = rpc("get_server_info")
    assert "hst_acs_biasfile_0001.rmap" in info["mappings"]
    assert "hst_acs_biasfile_0001.rmap" in crds_decode(info["download_metadata"])


def test_server_info_is_built_once_per_catalog_version(rpc, demo_catalog, monkeypatch):
    calls = []
    build = serverinfo._build
    monkeypatch.setattr(serverinfo, "_build", lambda: calls.append(1) or build())
    first, second = rpc("get_server_info"), rpc("get_server_info")
    assert len(calls) == 1
    assert first["last_refreshed"] == second["last_refreshed"]


def test_server_info_last_synced_is_the_time_of_each_call(rpc, demo_catalog):
    stamp = rpc("get_server_info")["last_synced"]
    assert re.match(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6}$", stamp)


def test_server_info_follows_a_context_change(rpc, demo_catalog, catalog):
    assert rpc("get_server_info")["latest_context"] == "hst_0001.pmap"
    catalog.add_derived_mapping("hst_0001.pmap", "hst_0002.pmap")
    actions.set_context("operator", "hst_0002.pmap", "latest", "Newer rules.")
    info = rpc("get_server_info")
    assert info["latest_context"] == info["operational_context"] == "hst_0002.pmap"
    assert info["context_history"][0][1:] == ["hst_0002.pmap", "Newer rules."]
    assert "hst_0002.pmap" in info["mappings"]


def test_server_info_survives_build_versions_with_letters(rpc, demo_catalog, catalog):
    catalog.add_derived_mapping("hst_0001.pmap", "hst_0002.pmap")
    actions.set_context("operator", "hst_0001.pmap", "build", "Release candidate.", calver="1.14.0rc1")
    actions.set_context("operator", "hst_0002.pmap", "build", "Release.", calver="1.14.0")
    assert rpc("get_server_info")["build_context"] == "hst_0002.pmap"


# get_default_context


@pytest.mark.parametrize("state, expected", [
    (None, "hst_0002.pmap"), ("latest", "hst_0002.pmap"), ("operational", "hst_0002.pmap"),
    ("edit", "hst_0003.pmap"), ("versions", "hst_0001.pmap"), ("build", "hst_0002.pmap"),
])
def test_default_context_of_each_state(rpc, eras, state, expected):
    assert rpc("get_default_context", "hst", state) == expected


def test_default_context_takes_the_observatory_alone_for_old_clients(rpc, eras):
    assert rpc("get_default_context", "hst") == "hst_0002.pmap"


def test_default_context_of_an_unknown_state_is_an_error(rpc, eras):
    assert rpc.error("get_default_context", "hst", "tomorrow").startswith(
        "UnknownContextError: Unknown context state 'tomorrow'")


def test_default_context_of_another_observatory_is_an_error(rpc, eras):
    assert "jwst" in rpc.error("get_default_context", "jwst", None)


def test_default_context_of_an_undefined_kind_is_an_error(rpc, demo_catalog):
    assert "versions" in rpc.error("get_default_context", "hst", "versions")


# get_build_context


@pytest.fixture
def builds(demo_catalog, catalog):
    catalog.add_derived_mapping("hst_0001.pmap", "hst_0002.pmap")
    actions.set_context("operator", "hst_0001.pmap", "build", "1.2.0", calver="1.2.0")
    actions.set_context("operator", "hst_0002.pmap", "build", "1.3.0", calver="1.3.0")


@pytest.mark.parametrize("calver, expected", [
    ("1.2.0", "hst_0001.pmap"), ("1.3.0", "hst_0002.pmap"), ("1.2.7", "hst_0001.pmap"),
    ("1.3.12", "hst_0002.pmap"), ("1.10.0", "hst_0002.pmap"), ("1.3", "hst_0002.pmap"),
])
def test_build_context_is_the_exact_or_closest_earlier_version(rpc, builds, calver, expected):
    assert rpc("get_build_context", "hst", calver) == expected


def test_build_context_with_no_earlier_version_is_an_error(rpc, builds):
    assert rpc.error("get_build_context", "hst", "1.1.9").startswith("UnknownContextError: ")


def test_build_context_of_a_malformed_version_is_an_error(rpc, builds):
    assert "Invalid version string" in rpc.error("get_build_context", "hst", "one.two")


# get_context_by_date: every form of contract §2.1


@pytest.mark.parametrize("spec, expected", [
    ("hst_0001.pmap", "hst_0001.pmap"),
    ("hst_acs_0001.imap", "hst_acs_0001.imap"),
    ("hst_acs_biasfile_0001.rmap", "hst_acs_biasfile_0001.rmap"),
    ("hst-latest", "hst_0002.pmap"),
    ("hst-operational", "hst_0002.pmap"),
    ("hst-edit", "hst_0003.pmap"),
    ("hst-versions", "hst_0001.pmap"),
    ("hst-build", "hst_0002.pmap"),
    ("latest", "hst_0002.pmap"),
    ("edit", "hst_0003.pmap"),
    ("2016-01-01", "hst_0001.pmap"),
    ("2016-06-01T11:59:59", "hst_0001.pmap"),
    ("2016-06-01T12:00:00", "hst_0002.pmap"),
    ("2040-02-22T12:01:30.4567", "hst_0002.pmap"),
    ("hst-2016-01-01", "hst_0001.pmap"),
    ("hst-2016-06-01T12:00:00", "hst_0002.pmap"),
    ("hst-2015-01-01T00:00:00", "hst_0001.pmap"),
    ("hst-acs-latest", "hst_acs_0001.imap"),
    ("hst-acs-edit", "hst_acs_0001.imap"),
    ("hst-cos-2016-01-01", "hst_cos_0001.imap"),
    ("hst-acs-biasfile-latest", "hst_acs_biasfile_0001.rmap"),
    ("hst-acs-biasfile-2016-01-01T00:00:00", "hst_acs_biasfile_0001.rmap"),
])
def test_context_by_date_resolves_every_specifier_form(rpc, eras, spec, expected):
    assert rpc("get_context_by_date", spec, "hst") == expected


def test_context_by_date_takes_a_null_observatory(rpc, eras):
    assert rpc("get_context_by_date", "hst-latest", None) == "hst_0002.pmap"


def test_context_by_date_resolves_a_hyphenated_type_from_the_right(rpc, hyphenated_type):
    assert rpc("get_context_by_date", "hst-acs-pars-tweakreg-latest", None) \
        == "hst_acs_pars-tweakreg_0001.rmap"


def test_context_by_date_of_a_type_that_is_not_applicable_is_na(rpc, hyphenated_type):
    assert rpc("get_context_by_date", "hst-acs-biasfile-latest", None) == "N/A"


@pytest.mark.parametrize("spec, message", [
    ("hst-foo-latest",
     "InvalidDateBasedContext: Bad instrument 'foo' in CRDS date based context specification."),
    ("hst-foo-2014-01-01T00:00:00",  # before the history: the instrument is still what is wrong
     "InvalidDateBasedContext: Bad instrument 'foo' in CRDS date based context specification."),
    ("hst-foo-2018-01-01T00:00:00",
     "InvalidDateBasedContext: Bad instrument 'foo' in CRDS date based context specification."),
    ("hst-acs-nosuchtype-latest", "InvalidDateBasedContext: Bad filekind 'nosuchtype'"),
    ("jwst-latest", "InvalidDateBasedContext: Bad observatory 'jwst'"),
    ("hst-2014-01-01T00:00:00", "InvalidDateBasedContext: No context was latest at 2014-01-01"),
    ("hst-2016-13-45", "InvalidDateBasedContext: Invalid date '2016-13-45'"),
    ("hst-tomorrow", "InvalidDateBasedContext: Invalid CRDS context specification"),
    ("hst_9999.pmap", "UnknownContextError: Unknown context or mapping 'hst_9999.pmap'"),
    ("hst_acs_biasfile_9999.rmap", "UnknownContextError: "),
])
def test_context_by_date_reports_bad_specifiers(rpc, eras, spec, message):
    assert rpc.error("get_context_by_date", spec, "hst").startswith(message)


def test_context_by_date_refuses_a_non_string_spec(rpc, eras):
    assert rpc.error("get_context_by_date", ["hst-latest"], "hst").startswith("InvalidDateBasedContext: ")


# get_context_history


def test_context_history_lists_every_era_with_sortable_dates(rpc, eras):
    history = rpc("get_context_history", "hst")
    assert history == [["2015-01-01 00:00:00", "hst_0001.pmap", "First era."],
                       ["2016-06-01 12:00:00", "hst_0002.pmap", "Second era."]]
    assert sorted(history) == history


def test_context_history_grows_when_latest_changes(rpc, eras):
    actions.set_context("operator", "hst_0001.pmap", "latest", "Revert.")
    start, context, why = rpc("get_context_history", "hst")[-1]
    assert STAMP.match(start) and start > "2016-06-01 12:00:00"
    assert (context, why) == ("hst_0001.pmap", "Revert.")


def test_server_info_history_is_newest_first(rpc, eras):
    assert [era[1] for era in rpc("get_server_info")["context_history"]] == [
        "hst_0002.pmap", "hst_0001.pmap"]


# push_remote_context / get_remote_context (keys: tests/test_security_pipeline_keys.py)


@pytest.fixture
def key(db) -> str:
    """An active pipeline key of 'ops-pipeline'."""
    return pipeline_keys.create_pipeline_key("operator", "ops-pipeline")


@pytest.mark.parametrize("kind", ["latest", "operational"])
def test_a_pushed_context_is_what_the_pipeline_reports(rpc, eras, kind, key):
    assert rpc("push_remote_context", "hst", kind, key, "hst_0001.pmap") is None
    assert rpc("get_remote_context", "hst", "ops-pipeline") == "hst_0001.pmap"


def test_each_key_updates_only_its_own_pipeline(rpc, eras):
    key_a = pipeline_keys.create_pipeline_key("operator", "pipeline-a")
    key_b = pipeline_keys.create_pipeline_key("operator", "pipeline-b")
    rpc("push_remote_context", "hst", "latest", key_a, "hst_0001.pmap")
    rpc("push_remote_context", "hst", "latest", key_b, "hst_0002.pmap")
    assert rpc("get_remote_context", "hst", "pipeline-a") == "hst_0001.pmap"
    rpc("push_remote_context", "hst", "latest", key_a, "hst_0002.pmap")
    assert rpc("get_remote_context", "hst", "pipeline-a") == "hst_0002.pmap"


def test_remote_context_of_an_unknown_pipeline_is_an_error(rpc, eras):
    assert "nobody" in rpc.error("get_remote_context", "hst", "nobody")


def test_pushing_an_unknown_kind_or_context_is_an_error(rpc, eras, key):
    assert rpc.error("push_remote_context", "hst", "edit", key, "hst_0001.pmap").startswith(
        "BadContextError: ")
    assert rpc.error("push_remote_context", "hst", "latest", key, "hst_0009.pmap").startswith(
        "UnknownContextError: ")
    assert rpc.error("push_remote_context", "hst", "latest", key, "hst_acs_0001.imap").startswith(
        "BadContextError: ")


# get_affected_datasets


@pytest.mark.parametrize("old, new", [(None, None), ("hst_0001.pmap", "hst_0002.pmap")])
def test_affected_datasets_say_no_precomputed_results_exist(rpc, eras, old, new):
    assert "No precomputed affected datasets results exist" in rpc.error(
        "get_affected_datasets", "hst", old, new)
