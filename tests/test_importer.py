"""Importing a standard CRDS cache: checks first, atomic placement, idempotence."""

from __future__ import annotations

import shutil

import pytest
from django.conf import settings

from crds_server.catalog import contexts
from crds_server.catalog.errors import ImportRefused
from crds_server.catalog.importer import import_cache
from crds_server.catalog.models import AuditEntry, ContextHistory, File


@pytest.fixture
def cache_copy(demo_cache, tmp_path):
    """A private copy of the demo cache that a test may damage."""
    copy = tmp_path / "cache"
    shutil.copytree(demo_cache.path, copy)
    return copy


def test_it_catalogs_every_mapping_and_reference_with_rules_metadata(db, demo_cache):
    report = import_cache(demo_cache.path, user="tester")
    on_disk = {p.name for p in (demo_cache.path / "references" / "hst").iterdir()}
    assert report.references_added == len(on_disk) == File.objects.references().count()
    assert report.context == demo_cache.context
    bias = File.objects.filter(filekind="biasfile", instrument="acs").first()
    assert bias is not None and bias.useafter_date is not None and bias.pedigree
    assert (settings.FILE_CACHE / "references" / "hst" / bias.name).read_bytes() == (
        demo_cache.path / "references" / "hst" / bias.name).read_bytes()


def test_it_sets_latest_and_edit_and_records_history_and_audit(db, demo_cache):
    import_cache(demo_cache.path, user="tester")
    assert contexts.pointer("latest") == contexts.pointer("edit") == demo_cache.context
    assert ContextHistory.objects.get().context == demo_cache.context
    assert AuditEntry.objects.filter(action="import cache", user="tester").exists()


def test_importing_twice_adds_nothing_the_second_time(db, demo_cache):
    first = import_cache(demo_cache.path)
    second = import_cache(demo_cache.path)
    assert second.mappings_added == second.references_added == 0
    assert second.already_present == first.mappings_added + first.references_added
    assert ContextHistory.objects.count() == 1


def test_it_refuses_a_mapping_whose_checksum_is_wrong_and_changes_nothing(db, cache_copy):
    rmap_path = next((cache_copy / "mappings" / "hst").glob("hst_acs_biasfile_*.rmap"))
    rmap_path.write_text(rmap_path.read_text().replace("'N/A'", "'n/a'", 1) + "\n")
    with pytest.raises(ImportRefused, match="checksum"):
        import_cache(cache_copy)
    assert File.objects.count() == 0
    assert not (settings.FILE_CACHE / "mappings" / "hst" / rmap_path.name).exists() or \
        not File.objects.filter(name=rmap_path.name).exists()


def test_it_refuses_a_name_already_catalogued_with_other_bytes(db, demo_cache, cache_copy):
    import_cache(demo_cache.path)
    before = File.objects.count()
    victim = next((cache_copy / "references" / "hst").glob("*_bia.fits"))
    victim.write_bytes(victim.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(ImportRefused, match="different contents"):
        import_cache(cache_copy)
    assert File.objects.count() == before
    stored = settings.FILE_CACHE / "references" / "hst" / victim.name
    assert stored.read_bytes() == (demo_cache.path / "references" / "hst" / victim.name).read_bytes()


def test_it_reads_instrument_subdirectories_of_a_client_cache(db, cache_copy):
    refs = cache_copy / "references" / "hst"
    (refs / "acs").mkdir()
    moved = [p for p in refs.glob("*.fits")][:5]
    for path in moved:
        path.rename(refs / "acs" / path.name)
    import_cache(cache_copy)
    assert File.objects.filter(name__in=[p.name for p in moved]).count() == 5


def test_it_refuses_a_cache_without_mappings(db, tmp_path):
    with pytest.raises(ImportRefused, match="No hst mappings"):
        import_cache(tmp_path)


def test_it_catalogs_geis_data_files_beside_their_headers(db, demo_cache):
    import_cache(demo_cache.path)
    headers = File.objects.filter(name__regex=r"\.r[0-9]h$")
    assert headers.exists()
    for header in headers:
        data = File.objects.get(name=header.name[:-1] + "d")
        assert (data.instrument, data.filekind) == (header.instrument, header.filekind)
