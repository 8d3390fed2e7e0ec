"""The demo cache: rules and references the project makes from crds' own specs."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from crds_server import demo

SERVERLESS_URL = "https://crds-serverless-mode.stsci.edu"

# Runs with CRDS_PATH=<the demo cache>: loads the context by name the way a
# client does, then computes best references for every demo dataset.
LOAD_AND_SELECT = r"""
import json, os, sys
from crds.core import heavy_client, rmap
pmap, datasets_path, minimised = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
observatory = os.environ["CRDS_OBSERVATORY"]
ctx = rmap.load_mapping(pmap)
refdir = os.path.join(os.environ["CRDS_PATH"], "references", observatory)
on_disk = set(os.listdir(refdir))
types = {}
named = set()
for instrument, imap in ctx.selections.items():
    types[instrument.lower()] = sorted(imap.selections)
    for filekind, rmap_ in imap.selections.items():
        named.update(rmap_.reference_names())
found = other = 0
errors = []
for dataset in json.load(open(datasets_path)):
    header = dataset["header"]
    # minimised: the local bestrefs path (conditioned, minimised to the rules' parameters)
    if minimised:
        best_refs = heavy_client.hv_best_references(pmap, header)
    else:
        best_refs = ctx.get_best_references(header)
    for filekind, best in best_refs.items():
        if best in on_disk:
            found += 1
        else:
            other += 1
            if isinstance(best, str) and best.startswith("NOT FOUND") and best != "NOT FOUND n/a":
                errors.append([dataset["id"], filekind, best])
print(json.dumps({"types": types, "named": sorted(named), "missing": sorted(named - on_disk),
                  "found": found, "other": other, "errors": errors}))
"""


def _crds_env(cache: Path, observatory: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRDS_")}
    env.update(CRDS_PATH=str(cache), CRDS_OBSERVATORY=observatory, CRDS_MODE="local",
               CRDS_SERVER_URL=SERVERLESS_URL, CRDS_REF_SUBDIR_MODE="flat")
    return env


def _load_in_library(cache: Path, observatory: str, pmap: str, minimised: bool = False) -> dict:
    """Load `pmap` from `cache` in a fresh process and select refs for the demo datasets."""
    datasets = cache / "datasets.json"
    datasets.write_text(json.dumps(demo.demo_datasets(cache, observatory)))
    result = subprocess.run(
        [sys.executable, "-c", LOAD_AND_SELECT, pmap, str(datasets), "1" if minimised else "0"],
        env=_crds_env(cache, observatory), capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def _expected_types(observatory: str) -> dict[str, list[str]]:
    return {
        instrument: sorted(rule.filekind for rule in rules)
        for instrument, rules in demo.type_rules(observatory).items()
    }


def _digest_tree(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha1(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*")) if path.is_file()
    }


@pytest.fixture(scope="module")
def hst_cache(tmp_path_factory) -> tuple[Path, str]:
    cache = tmp_path_factory.mktemp("demo-hst")
    return cache, demo.build_demo_cache(cache, "hst")


@pytest.fixture(scope="module")
def jwst_cache(tmp_path_factory) -> tuple[Path, str]:
    cache = tmp_path_factory.mktemp("demo-jwst")
    return cache, demo.build_demo_cache(cache, "jwst")


def test_it_builds_an_hst_context_that_the_library_loads(hst_cache):
    cache, pmap = hst_cache
    assert pmap == "hst_0001.pmap"
    loaded = _load_in_library(cache, "hst", pmap)
    assert loaded["types"] == _expected_types("hst")
    assert set(loaded["types"]) == {"acs", "cos", "nicmos", "stis", "synphot", "wfc3", "wfpc2"}
    assert sum(len(kinds) for kinds in loaded["types"].values()) == 141
    assert loaded["missing"] == []


def test_hst_best_references_select_generated_files_for_most_demo_datasets(hst_cache):
    cache, pmap = hst_cache
    loaded = _load_in_library(cache, "hst", pmap)
    assert loaded["found"] > 500
    assert loaded["found"] >= 0.7 * (loaded["found"] + loaded["other"])


def test_it_builds_a_jwst_context_that_the_library_loads(jwst_cache):
    cache, pmap = jwst_cache
    assert pmap == "jwst_0001.pmap"
    loaded = _load_in_library(cache, "jwst", pmap)
    assert loaded["types"] == _expected_types("jwst")
    assert {"fgs", "miri", "nircam", "niriss", "nirspec", "system"} == set(loaded["types"])
    assert loaded["missing"] == []


def test_jwst_best_references_select_generated_files_for_most_demo_datasets(jwst_cache):
    cache, pmap = jwst_cache
    loaded = _load_in_library(cache, "jwst", pmap)
    assert loaded["found"] > 1000
    assert loaded["found"] >= 0.9 * (loaded["found"] + loaded["other"])


def test_it_builds_a_roman_context_that_the_library_loads(tmp_path):
    pmap = demo.build_demo_cache(tmp_path, "roman")
    loaded = _load_in_library(tmp_path, "roman", pmap)
    assert loaded["types"] == _expected_types("roman") and "wfi" in loaded["types"]
    assert loaded["missing"] == [] and loaded["found"] > 0


def test_every_type_gets_refs_per_type_references_unless_its_rmap_cannot_hold_them(tmp_path):
    demo.build_demo_cache(tmp_path, "jwst", refs_per_type=3)
    text = (tmp_path / "mappings/jwst/jwst_miri_flat_0001.rmap").read_text()
    names = set(re.findall(r"'(jwst_miri_flat_\d{4}\.fits)'", text))
    assert names == {f"jwst_miri_flat_000{n}.fits" for n in (1, 2, 3)}
    assert "'META.OBSERVATION.DATE', 'META.OBSERVATION.TIME'" in text


def test_two_builds_write_byte_identical_files(tmp_path):
    demo.build_demo_cache(tmp_path / "one", "hst")
    demo.build_demo_cache(tmp_path / "two", "hst")
    one, two = _digest_tree(tmp_path / "one"), _digest_tree(tmp_path / "two")
    assert one and one == two


def test_every_mapping_carries_a_checksum_the_library_verifies(hst_cache, tmp_path):
    from crds.core import exceptions, rmap

    cache, _ = hst_cache
    mappings = sorted((cache / "mappings" / "hst").iterdir())
    assert len(mappings) == 1 + 7 + 141
    for path in mappings:
        rmap.Mapping.from_file(str(path))  # raises ChecksumError on mismatch
    tampered = tmp_path / mappings[-1].name
    text = mappings[-1].read_text()
    tampered.write_text(text.replace("'derived_from' : '", "'derived_from' : 'x"))
    with pytest.raises(exceptions.ChecksumError):
        rmap.Mapping.from_file(str(tampered))


def test_hst_references_have_cdbs_style_names_ending_with_the_type_suffix(hst_cache):
    from crds.hst import locate

    cache, _ = hst_cache
    refdir = cache / "references" / "hst"
    names = sorted(p.name for p in refdir.iterdir())
    fits_names = [n for n in names if n.endswith(".fits")]
    geis_names = [n for n in names if not n.endswith(".fits")]
    assert fits_names and all(re.fullmatch(r"[a-z0-9]{9}_[a-z0-9]+\.fits", n) for n in fits_names)
    assert geis_names and all(re.fullmatch(r"[a-z0-9]{9}\.r\d[hd]", n) for n in geis_names)
    for name in fits_names:
        instrument, filekind = locate.get_file_properties(str(refdir / name))
        suffix = locate.filekind_to_suffix(instrument, filekind)
        assert name.endswith(f"_{suffix}.fits")


def test_hst_reference_headers_name_their_instrument_type_and_selection(hst_cache):
    from astropy.io import fits
    from crds.hst import locate

    cache, _ = hst_cache
    refdir = cache / "references" / "hst"
    text = (cache / "mappings/hst/hst_acs_biasfile_0001.rmap").read_text()
    name = re.findall(r"'([a-z0-9]{9}_bia\.fits)'", text)[0]
    header = fits.getheader(refdir / name)
    assert header["INSTRUME"] == "ACS" and header["FILETYPE"] == "BIAS"
    assert header["DETECTOR"] in ("WFC", "HRC") and "CCDAMP" in header
    assert re.fullmatch(r"[A-Z][a-z]{2} \d\d \d{4} \d\d:\d\d:\d\d", header["USEAFTER"])
    assert header["PEDIGREE"].startswith("INFLIGHT ") and header["DESCRIP"]
    assert locate.ref_properties_from_header(str(refdir / name))[2:4] == ("acs", "biasfile")


def test_jwst_references_are_named_by_type_and_readable_by_the_library(jwst_cache):
    from crds import data_file

    cache, _ = jwst_cache
    refdir = cache / "references" / "jwst"
    names = sorted(p.name for p in refdir.iterdir())
    pattern = r"jwst_[a-z]+_[a-z0-9\-]+_\d{4}\.(fits|asdf|json|yaml)"
    assert all(re.fullmatch(pattern, n) for n in names)
    asdf_name = next(n for n in names if n.endswith(".asdf"))
    header = data_file.get_header(str(refdir / asdf_name), observatory="jwst")
    assert header["META.INSTRUMENT.NAME"] == asdf_name.split("_")[1].upper()
    assert header["META.USEAFTER"] == "2021-10-01T00:00:00" and header["META.PEDIGREE"]
    fits_header = data_file.get_header(str(refdir / "jwst_miri_flat_0001.fits"), observatory="jwst")
    assert fits_header["INSTRUME"] == "MIRI" and fits_header["REFTYPE"] == "FLAT"


def test_demo_datasets_are_deterministic_and_well_formed():
    hst = demo.demo_datasets(Path("."), "hst", count=40)
    assert hst == demo.demo_datasets(Path("."), "hst", count=40) and len(hst) == 40
    for dataset in hst:
        assert re.fullmatch(r"[A-Z0-9]{9}:[A-Z0-9]{9}", dataset["id"])
        assert {"DATE-OBS", "TIME-OBS", "INSTRUME"} <= set(dataset["header"])
        assert all(k == k.upper() and isinstance(v, str) for k, v in dataset["header"].items())
    assert len({d["id"] for d in hst}) == 40
    jwst = demo.demo_datasets(Path("."), "jwst", count=10)
    for dataset in jwst:
        assert re.fullmatch(r"(JW\d{11}_\d{5}_\d{5}\.[A-Z0-9]+):\1", dataset["id"])
        header = dataset["header"]
        assert header["META.INSTRUMENT.NAME"] == dataset["instrument"]
        assert {"META.OBSERVATION.DATE", "META.OBSERVATION.TIME"} <= set(header)


def test_imaps_name_types_as_the_library_inserts_them(jwst_cache, hst_cache):
    jwst_text = (jwst_cache[0] / "mappings/jwst/jwst_nircam_0001.imap").read_text()
    assert "'ABVEGAOFFSET' : 'jwst_nircam_abvegaoffset_0001.rmap'" in jwst_text
    assert not re.search(r"^\s+'[a-z][a-z0-9\-]*' : 'jwst_\w+\.rmap'", jwst_text, re.MULTILINE)
    hst_text = (hst_cache[0] / "mappings/hst/hst_acs_0001.imap").read_text()
    assert "'biasfile' : 'hst_acs_biasfile_0001.rmap'" in hst_text


def test_demo_datasets_carry_every_key_their_rules_read_so_minimised_lookups_succeed(hst_cache, jwst_cache):
    for (cache, pmap), observatory in ((hst_cache, "hst"), (jwst_cache, "jwst")):
        loaded = _load_in_library(cache, observatory, pmap, minimised=True)
        assert loaded["errors"] == [] and loaded["found"] > 0
