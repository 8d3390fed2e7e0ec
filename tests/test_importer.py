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


def test_the_imported_latest_pmap_is_latest_and_its_files_are_dated_active(db, demo_cache):
    import_cache(demo_cache.path, user="tester")
    pmap = File.objects.get(name=demo_cache.context)
    assert pmap.state == "latest" and pmap.activation_date is not None
    assert list(File.objects.filter(state="latest").values_list("name", flat=True)) == [pmap.name]
    from crds_server.catalog import activation

    named = activation.closure(pmap.name)
    undated = File.objects.filter(name__in=list(named), activation_date__isnull=True)
    assert len(named) > 100 and not undated.exists()


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


# Every selector shape the library parses (real rmap layouts of HST, JWST and Roman).

SHAPES = {
    # JWST MIRI EXTRACT1D: Match rows going straight to N/A or OMIT carry no USEAFTER column.
    "jwst-match-useafter-with-na": ("jwst", "miri", "extract1d", ("Match", "UseAfter"),
        (("META.EXPOSURE.TYPE",), ("META.OBSERVATION.DATE", "META.OBSERVATION.TIME")), """Match({
    'MIR_CORONCAL' : 'N/A',
    'MIR_LRS-FIXEDSLIT|MIR_LRS-SLITLESS' : UseAfter({
        '1900-01-01 00:00:00' : 'jwst_miri_extract1d_0001.json',
        '2022-05-01 00:00:00' : 'jwst_miri_extract1d_0002.json',
    }),
    'MIR_MRS' : UseAfter({
        '2022-05-01 00:00:00' : 'jwst_miri_extract1d_0002.json',
    }),
    'MIR_TACQ' : 'OMIT',
})""", {"jwst_miri_extract1d_0001.json": "1900-01-01", "jwst_miri_extract1d_0002.json": "2022-05-01"}),
    "jwst-plain-useafter": ("jwst", "miri", "ipc", ("UseAfter",),
        (("META.OBSERVATION.DATE", "META.OBSERVATION.TIME"),), """UseAfter({
    '2014-01-01 00:00:00' : 'jwst_miri_ipc_0001.fits',
    '2021-01-01 00:00:00' : 'jwst_miri_ipc_0002.fits',
})""", {"jwst_miri_ipc_0001.fits": "2014-01-01", "jwst_miri_ipc_0002.fits": "2021-01-01"}),
    "jwst-version-after": ("jwst", "system", "calver", ("VersionAfter",),
        (("META.CALIBRATION_SOFTWARE_VERSION",),), """VersionAfter({
    '0.14.0' : 'jwst_system_calver_0001.asdf',
    '1.0.0' : 'jwst_system_calver_0002.asdf',
})""", {"jwst_system_calver_0001.asdf": None, "jwst_system_calver_0002.asdf": None}),
    "hst-match-only": ("hst", "cos", "flatfile", ("Match",), (("DETECTOR",),), """Match({
    'FUV' : 'hst_cos_flatfile_0001.fits',
    'NUV' : 'N/A',
})""", {"hst_cos_flatfile_0001.fits": None}),
    "hst-match-closest-time": ("hst", "acs", "darkfile", ("Match", "ClosestTime"),
        (("DETECTOR",), ("DATE-OBS", "TIME-OBS")), """Match({
    'WFC' : ClosestTime({
        '2005-01-01 00:00:00' : 'hst_acs_darkfile_0001.fits',
        '2003-01-01 00:00:00' : 'hst_acs_darkfile_0002.fits',
    }),
})""", {"hst_acs_darkfile_0001.fits": "2005-01-01", "hst_acs_darkfile_0002.fits": "2003-01-01"}),
    "hst-match-selectversion-useafter": ("hst", "acs", "biasfile", ("Match", "SelectVersion", "UseAfter"),
        (("DETECTOR",), ("SW_VERSION",), ("DATE-OBS", "TIME-OBS")), """Match({
    'HRC' : SelectVersion({
        '<3.1' : UseAfter({
            '1992-01-01 00:00:00' : 'hst_acs_biasfile_0001.fits',
        }),
        'default' : UseAfter({
            '2002-03-01 00:00:00' : 'hst_acs_biasfile_0002.fits',
            '1991-01-01 00:00:00' : 'hst_acs_biasfile_0003.fits',
        }),
    }),
    'WFC' : 'N/A',
})""", {"hst_acs_biasfile_0001.fits": "1992-01-01", "hst_acs_biasfile_0002.fits": "2002-03-01",
        "hst_acs_biasfile_0003.fits": "1991-01-01"}),
    "hst-bracket-and-nearest": ("hst", "stis", "pfltfile", ("Match", "Bracket"),
        (("DETECTOR",), ("CENWAVE",)), """Match({
    'CCD' : Bracket({
        1.2 : 'hst_stis_pfltfile_0001.fits',
        5.0 : 'hst_stis_pfltfile_0002.fits',
    }),
    'FUV-MAMA' : GeometricallyNearest({
        1.5 : 'hst_stis_pfltfile_0003.fits',
    }),
})""", {"hst_stis_pfltfile_0001.fits": None, "hst_stis_pfltfile_0002.fits": None,
        "hst_stis_pfltfile_0003.fits": None}),
    "roman-match-useafter": ("roman", "wfi", "dark", ("Match", "UseAfter"),
        (("ROMAN.META.INSTRUMENT.DETECTOR",), ("ROMAN.META.EXPOSURE.START_TIME",)), """Match({
    'WFI01' : UseAfter({
        '2020-01-01 00:00:00' : 'roman_wfi_dark_0001.asdf',
    }),
    'WFI02' : 'N/A',
})""", {"roman_wfi_dark_0001.asdf": "2020-01-01"}),
}


COMMON = "'sha1sum' : '0', 'derived_from' : 'test'"


def _rules_cache(root, obs: str, instrument: str, filekind: str, classes, parkey, selector: str):
    """A cache of one pmap -> imap -> rmap with `selector`, and a small file per reference named."""
    import re as re_module

    from crds.core import rmap as crds_rmap

    maps, refs = root / "mappings" / obs, root / "references" / obs
    maps.mkdir(parents=True)
    refs.mkdir(parents=True)
    key = {"hst": "INSTRUME", "jwst": "META.INSTRUMENT.NAME", "roman": "ROMAN.META.INSTRUMENT.NAME"}[obs]
    item = filekind.upper() if obs == "jwst" else filekind
    names = (f"{obs}_{instrument}_{filekind}_0001.rmap", f"{obs}_{instrument}_0001.imap", f"{obs}_0001.pmap")
    texts = [
        f"header = {{'classes' : {classes!r}, 'filekind' : '{filekind.upper()}', 'instrument' : "
        f"'{instrument.upper()}', 'mapping' : 'REFERENCE', 'name' : '{names[0]}', 'observatory' : "
        f"'{obs.upper()}', 'parkey' : {parkey!r}, {COMMON}}}\n\n"
        f"selector = {selector}\n",
        f"header = {{'instrument' : '{instrument.upper()}', 'mapping' : 'INSTRUMENT', 'name' : '{names[1]}', "
        f"'observatory' : '{obs.upper()}', 'parkey' : ('REFTYPE',), {COMMON}}}\n\n"
        f"selector = {{'{item}' : '{names[0]}'}}\n",
        f"header = {{'mapping' : 'PIPELINE', 'name' : '{names[2]}', 'observatory' : '{obs.upper()}', "
        f"'parkey' : ('{key}',), {COMMON}}}\n\n"
        f"selector = {{'{instrument.upper()}' : '{names[1]}'}}\n",
    ]
    for name, text in zip(names, texts, strict=True):
        crds_rmap.Mapping.from_string(text, name, ignore_checksum=True).write(str(maps / name))
    for ref in set(re_module.findall(rf"'({obs}_[a-z0-9_\-]+\.(?:fits|json|asdf))'", selector)):
        (refs / ref).write_bytes(b"{}" if not ref.endswith(".fits") else _tiny_fits())
    return names[2]


def _tiny_fits() -> bytes:
    import io

    from astropy.io import fits

    out = io.BytesIO()
    fits.PrimaryHDU().writeto(out)
    return out.getvalue()


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_it_imports_every_selector_shape_with_each_files_type_and_useafter(db, settings, tmp_path, shape):
    obs, instrument, filekind, classes, parkey, selector, expected = SHAPES[shape]
    settings.OBSERVATORY = obs
    pmap = _rules_cache(tmp_path / "cache", obs, instrument, filekind, classes, parkey, selector)
    report = import_cache(tmp_path / "cache")
    assert report.context == pmap and report.mappings_added == 3
    rows = {r.name: r for r in File.objects.references()}
    assert set(rows) == set(expected)
    for name, useafter in expected.items():
        assert (rows[name].instrument, rows[name].filekind) == (instrument, filekind)
        stamp = rows[name].useafter_date
        assert (stamp.strftime("%Y-%m-%d") if stamp else None) == useafter, name
