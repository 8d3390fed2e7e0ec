"""What `import-cache` takes from, and refuses in, a synced cache's config/<obs>/ (unit level).

The end-to-end story with the real `crds sync` is in test_live_import.py;
here each refusal and each rule is tried on the demo cache with a
`server_config` written as the client writes it (a pprint'ed dict).
"""

from __future__ import annotations

import datetime
import pprint
import shutil

import pytest
from crds.client import proxy
from crds.core import utils
from django.conf import settings

from crds_server.catalog import contexts
from crds_server.catalog.errors import ImportRefused
from crds_server.catalog.importer import import_cache
from crds_server.catalog.models import BuildContext, CacheImport, ContextHistory, File


@pytest.fixture
def cache(demo_cache, tmp_path):
    copy = tmp_path / "cache"
    shutil.copytree(demo_cache.path, copy)
    return copy


def _files(cache):
    return {p.name: p for p in (cache / "mappings" / "hst").iterdir()} | \
        {p.name: p for p in (cache / "references" / "hst").rglob("*") if p.is_file()}


def _write_config(cache, context, **changes):
    """A server_config as the client writes it, describing `cache`'s own files."""
    metadata = {name: {"size": str(path.stat().st_size), "sha1sum": utils.checksum(str(path))}
                for name, path in _files(cache).items()}
    info = {"observatory": "hst", "latest_context": context, "operational_context": context,
            "edit_context": context, "versions_context": "", "build_context": "",
            "bad_files_list": [], "context_history": [["2026-01-02 03:04:05", context, "First"]],
            "server": "https://hst-crds.example.org", "last_synced": "2026-11-30 12:00:00.000001",
            "download_metadata": proxy.crds_encode(metadata)} | changes
    where = cache / "config" / "hst"
    where.mkdir(parents=True, exist_ok=True)
    (where / "server_config").write_text(pprint.pformat(info))
    return info


def _nothing_imported():
    return not File.objects.exists() and not ContextHistory.objects.exists()


def test_the_history_pointers_and_build_come_from_the_server_config(db, cache, demo_cache):
    ctx = demo_cache.context
    _write_config(cache, ctx, build_context=ctx, versions_context=ctx, context_history=[
        ["2026-03-01 00:00:00", ctx, "Second, same context"], ["2026-01-02 03:04:05", ctx, "First"]])
    report = import_cache(cache)
    assert report.history_added == 2 and not report.notes
    assert contexts.history() == [["2026-01-02 03:04:05", ctx, "First"],
                                  ["2026-03-01 00:00:00", ctx, "Second, same context"]]
    assert contexts.pointer("versions") == contexts.pointer("build") == ctx
    assert BuildContext.objects.get().calver == "0"
    # Files of the context are dated active from the first era in which it was latest.
    pmap = File.objects.get(name=ctx)
    assert pmap.state == "latest" and pmap.activation_date == datetime.datetime(2026, 1, 2, 3, 4, 5,
                                                                               tzinfo=datetime.UTC)
    row = CacheImport.objects.get()
    assert row.server == "https://hst-crds.example.org" and row.latest_context == ctx


def test_a_mapping_naming_a_file_missing_from_cache_and_catalog_is_refused_by_name(db, cache):
    victim = next((cache / "references" / "hst").glob("*_bia.fits"))
    victim.unlink()
    with pytest.raises(ImportRefused, match=rf"{victim.name} \(named by hst_acs_biasfile_\d+\.rmap\)"
                                            r".*crds sync --all --fetch-references"):
        import_cache(cache)
    assert _nothing_imported()


def test_a_geis_header_without_its_data_file_is_refused(db, cache):
    header = next((cache / "references" / "hst").glob("*.r[0-9]h"))
    data = header.with_name(header.name[:-1] + "d")
    data.unlink()
    with pytest.raises(ImportRefused, match=rf"{data.name} \(named by "):
        import_cache(cache)
    assert _nothing_imported()


def test_a_file_whose_bytes_differ_from_the_servers_listing_is_refused(db, cache, demo_cache):
    _write_config(cache, demo_cache.context)
    victim = next((cache / "references" / "hst").glob("*_bia.fits"))
    victim.write_bytes(victim.read_bytes()[:-4] + b"oops")
    with pytest.raises(ImportRefused, match=rf"not the bytes https://hst-crds.example.org listed.*"
                                            rf"{victim.name}.*--repair-files"):
        import_cache(cache)
    assert _nothing_imported()


@pytest.mark.parametrize("text, why", [
    ("{'observatory': 'hst', 'latest_context': ", "not the Python literal"),
    ("['hst']", "does not hold a dictionary"),
    ("{'observatory': 'jwst'}", "observatory 'jwst', not 'hst'"),
    ("{'observatory': 'hst', 'latest_context': '../../etc/passwd.pmap'}", "not a mapping name"),
    ("{'observatory': 'hst', 'context_history': [['yesterday', 'hst.pmap', '']]}", "unreadable date"),
    ("{'observatory': 'hst', 'download_metadata': {'crds_encoded': '1.0', 'crds_payload': '!!'}}",
     "cannot be decoded"),
])
def test_a_damaged_server_config_is_refused_naming_it(db, cache, text, why):
    (cache / "config" / "hst").mkdir(parents=True)
    (cache / "config" / "hst" / "server_config").write_text(text)
    with pytest.raises(ImportRefused, match=why) as refused:
        import_cache(cache)
    assert "server_config" in str(refused.value) and _nothing_imported()


def test_the_same_name_twice_with_other_bytes_is_refused(db, cache):
    refs = cache / "references" / "hst"
    original = next(refs.glob("*_bia.fits"))
    (refs / "acs").mkdir()
    (refs / "acs" / original.name).write_bytes(original.read_bytes() + b" ")
    with pytest.raises(ImportRefused, match=f"{original.name} is in the cache twice with different"):
        import_cache(cache)


def test_a_context_asked_for_wins_over_the_caches_and_says_so(db, cache, demo_cache):
    other = sorted(p.name for p in (cache / "mappings" / "hst").glob("*.pmap"))
    _write_config(cache, "hst_9999.pmap", edit_context="hst_9998.pmap")
    with pytest.raises(ImportRefused, match="hst_9999.pmap' is neither in the cache nor in the catalog"):
        import_cache(cache)
    report = import_cache(cache, context=other[0])
    assert contexts.pointer("latest") == contexts.pointer("edit") == other[0]
    assert any("as asked, not the cache's latest context hst_9999.pmap" in n for n in report.notes)
    # The cache's era stays in the history; the asked-for context starts an era of its own now.
    assert [row[1] for row in contexts.history()] == ["hst_9999.pmap", other[0]]


def test_pointers_the_cache_does_not_hold_fall_back_with_a_note(db, cache, demo_cache):
    _write_config(cache, demo_cache.context, edit_context="hst_9998.pmap", build_context="hst_9997.pmap")
    report = import_cache(cache)
    assert contexts.pointer("edit") == demo_cache.context and not BuildContext.objects.exists()
    assert any("edit context hst_9998.pmap is not in the cache: edit was set to latest" in n
               for n in report.notes)
    assert any("build context hst_9997.pmap is not in the cache" in n for n in report.notes)


def test_bad_files_are_flagged_as_marking_them_would_and_never_cleared(db, cache, demo_cache):
    rmap = next(p.name for p in (cache / "mappings" / "hst").glob("hst_acs_biasfile_*.rmap"))
    imap = next(p.name for p in (cache / "mappings" / "hst").glob("hst_acs_*.imap"))
    ref = next(p.name for p in (cache / "references" / "hst").glob("*_drk.fits"))
    _write_config(cache, demo_cache.context, bad_files_list=[rmap, imap, demo_cache.context, ref])
    report = import_cache(cache)
    flags = {n: (r, b) for n, r, b in File.objects.bad().values_list("name", "rejected", "blacklisted")}
    assert flags == {rmap: (True, True), imap: (False, True), demo_cache.context: (False, True),
                     ref: (True, False)}
    assert sorted(report.flags_added) == sorted(flags)
    # A newer sync whose list no longer names the reference leaves it bad here, and says so.
    _write_config(cache, demo_cache.context, bad_files_list=[rmap, imap, demo_cache.context],
                  last_synced="2026-12-01 00:00:00")
    again = import_cache(cache)
    assert File.objects.get(name=ref).rejected and again.flags_added == []
    assert any(f"bad here but not in the cache's bad list, e.g. ['{ref}']" in n for n in again.notes)


def test_an_older_sync_of_the_same_server_is_refused(db, cache, demo_cache):
    _write_config(cache, demo_cache.context)
    import_cache(cache)
    _write_config(cache, demo_cache.context, last_synced="2026-10-01 00:00:00")
    with pytest.raises(ImportRefused, match="synced from https://hst-crds.example.org at 2026-10-01"):
        import_cache(cache)
    assert CacheImport.objects.count() == 1
    assert (settings.FILE_CACHE / "mappings" / "hst" / demo_cache.context).exists()


def test_a_replica_refuses_an_import_naming_its_source(db, cache):
    from crds_server.replica.models import ReplicaState

    ReplicaState.objects.create(source="https://hst-crds.example.org")
    with pytest.raises(ImportRefused, match="read-only replica of https://hst-crds.example.org"):
        import_cache(cache)
    assert _nothing_imported()
