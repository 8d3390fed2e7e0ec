"""Catalog methods: names in a context, listings, file records, the SQLite export, URLs."""

from __future__ import annotations

import base64
import re
import sqlite3
import zlib

import pytest

from crds_server.catalog import records
from crds_server.catalog.models import ContextHistory, File

GEIS_DATA = re.compile(r"\.r\dd$")


def disk_names(demo_catalog, sub: str) -> list[str]:
    return sorted(p.name for p in (demo_catalog.path / sub / "hst").iterdir())


# get_mapping_names / get_reference_names


def test_mapping_names_are_the_sorted_closure_with_the_pmap_first(rpc, demo_catalog):
    names = rpc("get_mapping_names", "hst_0001.pmap")
    assert names == disk_names(demo_catalog, "mappings")
    assert names[0] == "hst_0001.pmap" and names[1].endswith(".imap")


def test_mapping_names_of_an_imap_are_its_own_closure(rpc, demo_catalog):
    names = rpc("get_mapping_names", "hst_cos_0001.imap")
    assert names[0] == "hst_cos_0001.imap"
    assert all(n.startswith("hst_cos_") for n in names) and len(names) > 5


def test_mapping_names_take_a_context_specifier(rpc, demo_catalog):
    assert rpc("get_mapping_names", "hst-latest") == rpc("get_mapping_names", "hst_0001.pmap")


def test_mapping_names_of_an_unknown_context_is_an_error(rpc, demo_catalog):
    assert rpc.error("get_mapping_names", "hst_0999.pmap").startswith("UnknownContextError: ")


def test_reference_names_are_every_reference_the_rules_name(rpc, demo_catalog):
    names = rpc("get_reference_names", "hst_0001.pmap")
    expected = [n for n in disk_names(demo_catalog, "references") if not GEIS_DATA.search(n)]
    assert names == expected
    assert not any(n.upper() in ("N/A", "OMIT") for n in names)


def test_reference_names_of_an_rmap_are_its_own(rpc, demo_catalog):
    names = rpc("get_reference_names", "hst_acs_biasfile_0001.rmap")
    assert names and all(n.endswith("_bia.fits") for n in names)


# list_mappings / list_references


@pytest.mark.parametrize("pattern, count", [("*.pmap", 1), ("*.imap", 7), ("hst_acs_*.rmap", None),
                                            ("hst_acs_biasfile_000?.rmap", 1)])
def test_list_mappings_matches_a_glob(rpc, demo_catalog, pattern, count):
    names = rpc("list_mappings", "hst", pattern)
    assert names == sorted(names) and names
    assert all(re.fullmatch(pattern.replace(".", r"\.").replace("*", ".*").replace("?", "."), n)
               for n in names)
    if count is not None:
        assert len(names) == count


def test_list_references_includes_geis_data_files(rpc, demo_catalog):
    names = rpc("list_references", "hst", "*.r?d")
    assert names and all(GEIS_DATA.search(n) for n in names)
    assert len(rpc("list_references", "hst", "*")) == len(disk_names(demo_catalog, "references"))


@pytest.mark.parametrize("pattern", ["../*", "*;rm", "hst_*.pmap/x", "", "*.pmap\n"])
def test_list_mappings_refuses_an_invalid_glob(rpc, demo_catalog, pattern):
    assert rpc.error("list_mappings", "hst", pattern).startswith("InvalidParameters: ")


def test_listings_leave_out_files_that_are_not_distributable(rpc, demo_catalog, catalog):
    catalog.add_file("hst_9999.pmap", b"x", state="uploaded")
    catalog.add_file("z9999999j_drk.fits", state="uploaded")
    catalog.add_file("z9999998j_drk.fits", state="archived")
    assert rpc("list_mappings", "hst", "*.pmap") == ["hst_0001.pmap"]
    assert rpc("list_references", "hst", "z999999*") == ["z9999998j_drk.fits"]


def test_listings_keep_bad_files(rpc, demo_catalog):
    File.objects.filter(name="hst_0001.pmap").update(blacklisted=True)
    assert rpc("list_mappings", "hst", "*.pmap") == ["hst_0001.pmap"]


def test_listings_of_another_observatory_are_an_error(rpc, demo_catalog):
    assert rpc.error("list_references", "jwst", "*").startswith("InvalidParameters: ")


# get_file_info


@pytest.mark.parametrize("first", ["hst", "hst_0001.pmap", "hst-latest"])
def test_file_info_takes_an_observatory_or_a_context_first(rpc, demo_catalog, first):
    info = rpc("get_file_info", first, "hst_acs_biasfile_0001.rmap")
    assert info["name"] == "hst_acs_biasfile_0001.rmap"
    assert (info["instrument"], info["filekind"], info["type"]) == ("acs", "biasfile", "mapping")


def test_file_info_values_are_all_strings_and_flags_are_true_or_false(rpc, demo_catalog):
    File.objects.filter(name="hst_acs_0001.imap").update(blacklisted=True)
    info = rpc("get_file_info", "hst", "hst_acs_0001.imap")
    assert set(info) == set(records.FIELDS)
    assert all(isinstance(v, str) for v in info.values())
    assert (info["blacklisted"], info["rejected"]) == ("true", "false")


def test_file_info_of_a_reference_gives_its_size_checksum_and_type(rpc, demo_catalog):
    name = rpc("list_references", "hst", "*_bia.fits")[0]
    info = rpc("get_file_info", "hst", name)
    path = demo_catalog.path / "references" / "hst" / name
    assert info["size"] == str(path.stat().st_size)
    assert re.fullmatch(r"[0-9a-f]{40}", info["sha1sum"])
    assert (info["type"], info["instrument"], info["filekind"]) == ("reference", "acs", "biasfile")
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", info["delivery_date"])


def test_file_info_of_an_unknown_file_is_an_error(rpc, demo_catalog):
    assert "nosuch.fits" in rpc.error("get_file_info", "hst", "nosuch.fits")


def test_file_info_with_an_unknown_context_is_an_error(rpc, demo_catalog):
    assert rpc.error("get_file_info", "hst_0999.pmap", "hst_0001.pmap")


# get_file_info_map


def test_file_info_map_has_one_key_per_requested_name(rpc, demo_catalog):
    names = ["hst_0001.pmap", "nosuch.fits", "hst_acs_0001.imap"]
    result = rpc("get_file_info_map", "hst", names, ["blacklisted", "rejected", "sha1sum", "size",
                                                     "state"])
    assert set(result) == set(names)
    assert result["nosuch.fits"] == "NOT FOUND"
    assert set(result["hst_0001.pmap"]) == {"blacklisted", "rejected", "sha1sum", "size", "state"}
    assert result["hst_0001.pmap"]["state"] == "latest"  # the imported latest, as set-context makes it


def test_file_info_map_with_null_fields_gives_whole_records(rpc, demo_catalog):
    result = rpc("get_file_info_map", "hst", ["hst_0001.pmap"], None)
    assert result["hst_0001.pmap"] == rpc("get_file_info", "hst", "hst_0001.pmap")


def test_file_info_map_of_null_files_is_the_whole_catalog_crds_encoded(rpc, demo_catalog):
    envelope = rpc.envelope("get_file_info_map", "hst", None, ["sha1sum"])
    assert envelope["result"]["crds_encoded"] == "1.0"
    result = rpc("get_file_info_map", "hst", None, ["sha1sum"])
    assert set(result) == set(File.objects.values_list("name", flat=True))
    assert all(set(rec) == {"sha1sum"} for rec in result.values())


def test_file_info_map_answers_ten_thousand_names_in_one_call(rpc, demo_catalog):
    names = [f"u{n:07d}j_drk.fits" for n in range(12_000)] + ["hst_0001.pmap"]
    result = rpc("get_file_info_map", "hst", names, ["size"])
    assert len(result) == len(names)
    assert result["u0000000j_drk.fits"] == "NOT FOUND"
    assert result["hst_0001.pmap"]["size"].isdigit()


def test_file_info_map_refuses_files_that_are_not_a_list(rpc, demo_catalog):
    assert rpc.error("get_file_info_map", "hst", "hst_0001.pmap", None).startswith(
        "InvalidParameters: ")


# get_sqlite_db


def test_sqlite_db_is_a_zlib_compressed_database_of_the_catalog_and_history(rpc, demo_catalog,
                                                                           tmp_path):
    path = tmp_path / "crds_db.sqlite3"
    path.write_bytes(zlib.decompress(base64.b64decode(rpc("get_sqlite_db", "hst"))))
    with sqlite3.connect(path) as db:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"crds_hst_catalog", "crds_hst_context_history"} <= tables
        columns = [r[1] for r in db.execute("PRAGMA table_info(crds_hst_catalog)")]
        assert columns[:3] == ["id", "name", "blob"] and "sha1sum" in columns
        assert db.execute("SELECT count(*) FROM crds_hst_catalog").fetchone()[0] \
            == File.objects.count()
        row = db.execute("SELECT state, blacklisted, instrument FROM crds_hst_catalog "
                         "WHERE name='hst_acs_0001.imap'").fetchone()
        assert row == ("archived", "false", "acs")
        history = db.execute("SELECT context FROM crds_hst_context_history").fetchall()
        assert history == [(c,) for c in ContextHistory.objects.values_list("context", flat=True)]
        assert history


# get_url family and file_exists


@pytest.mark.parametrize("method, name, kind", [
    ("get_url", "hst_acs_0001.imap", "mappings"),
    ("get_mapping_url", "hst_0001.pmap", "mappings"),
    ("get_url", "GEIS", "references"),
    ("get_reference_url", "GEIS", "references"),
])
def test_urls_point_into_the_unchecked_tree(rpc, demo_catalog, settings, method, name, kind):
    if name == "GEIS":
        name = rpc("list_references", "hst", "*.r0h")[0]
    assert rpc(method, "hst-latest", name) == f"{settings.PUBLIC_URL}/unchecked_get/{kind}/hst/{name}"


def test_url_of_an_unknown_or_undistributable_file_is_an_error(rpc, demo_catalog, catalog):
    catalog.add_file("z9999999j_drk.fits", state="uploaded")
    assert rpc.error("get_url", "hst-latest", "nosuch.fits").startswith("UnknownFileError: ")
    assert rpc.error("get_url", "hst-latest", "z9999999j_drk.fits").startswith("UnknownFileError: ")


def test_file_exists_tells_catalogued_files(rpc, demo_catalog):
    assert rpc("file_exists", "hst_0001.pmap") is True
    assert rpc("file_exists", "nosuch.fits") is False
