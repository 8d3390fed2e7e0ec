"""Demo data the project makes itself: a small, valid, standard CRDS cache.

`build_demo_cache` writes rules (one .pmap, one .imap per instrument, one
.rmap per reference type) and tiny reference files for every instrument and
reference type that the type specs shipped inside the installed `crds`
package define (``crds/<obs>/specs``, read with `crds.core.reftypes`).
`demo_datasets` returns dataset parameter sets made from the same rules, so
that best references select the generated files.

Both are deterministic: the same arguments give byte-identical files (fixed
dates, no current timestamps, sorted output).

How the rules are made
----------------------
* Every instrument gets ``refs_per_type`` *profiles*: one value per
  parameter (DETECTOR, FILTER, ...).  Values come from the type's ``_ld.tpn``
  constraints (`crds.core.generic_tpn`); values named by equality tests in
  ``rmap_relevance`` expressions come first, so profile 0 makes most types
  relevant.  Keys without enumerated values match ``N/A`` (don't care).
* Reference ``j`` of a type is selected by profile ``j``'s values and the
  ``j``-th USEAFTER date; references whose match values coincide share one
  Match row with several USEAFTER dates.
* Types whose specs have only a Match selector (HST SYNPHOT) need one row
  per reference: keys without known values get ``DEMO<n>`` there, and types
  matched on no parameter at all (``obsmodes``, ``tmctab``, ``tmgtab``,
  ``tmttab``) hold exactly one reference.
* JWST's legacy specs without a date group get the JWST
  ``META.OBSERVATION.DATE``/``TIME`` UseAfter group, as real JWST rmaps do.
* Mapping checksums are written by the library
  (`crds.core.rmap.Mapping.write`, as `crds.refactoring.checksum` does).

Skipped types (cannot be expressed as rules)
--------------------------------------------
* The pseudo-instrument ``all`` and every ``all`` filekind (JWST, Roman):
  they only carry shared .tpn constraints, have no ``parkey`` and are not
  reference types of any instrument's rules.

Files the server's importer should know about
---------------------------------------------
* HST references have CDBS-style unique names made by
  `crds.hst.locate.generate_unique_name_core` (``<9 chars>_<suffix>.fits``).
  WFPC2 ``.r0h``-``.r7h`` types are GEIS: each reference is a header file
  ``<9 chars>.rNh`` (named in the rmap) plus its data file ``<9 chars>.rNd``
  (`crds.io.geis.get_conjugate`).  Instrument and filekind of every HST
  reference follow from its name via `crds.hst.locate.get_file_properties`.
* JWST/Roman references are named ``<obs>_<instr>_<filekind>_<NNNN><ext>``;
  instrument and filekind are the 2nd and 3rd ``_`` fields.  ASDF, JSON and
  YAML files carry a ``meta`` tree (META.* keys once flattened by
  `crds.data_file.get_header`); JWST FITS files carry the usual FITS keywords
  (INSTRUME, REFTYPE, USEAFTER, ...), which the library maps to META.* only
  when ``stdatamodels`` is installed.
"""

from __future__ import annotations

import datetime
import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crds.core import generic_tpn, reftypes, rmap, utils

# ---------------------------------------------------------------------------
# Observatory conventions


@dataclass(frozen=True)
class Style:
    """How one observatory spells its rules and dataset headers."""

    instrument_key: str
    date_keys: tuple[str, ...]
    base_year: int
    dataset_instruments_excluded: tuple[str, ...] = ()


STYLES: dict[str, Style] = {
    "hst": Style("INSTRUME", ("DATE-OBS", "TIME-OBS"), 1996, ("synphot",)),
    "jwst": Style(
        "META.INSTRUMENT.NAME",
        ("META.OBSERVATION.DATE", "META.OBSERVATION.TIME"),
        2021,
        ("system",),
    ),
    "roman": Style("ROMAN.META.INSTRUMENT.NAME", ("ROMAN.META.EXPOSURE.START_TIME",), 2020),
}

#: Years between successive USEAFTER dates of one type's references.
USEAFTER_STEP_YEARS = 2

#: Values that say "anything" or "nothing" rather than naming a real value.
_SPECIAL_VALUES = {"ANY", "N/A", "*", "", "UNDEFINED", "NOT APPLICABLE"}

_PLAIN_VALUE = re.compile(r"^[A-Za-z0-9_.+\-/ ]+$")
_EQUALITY = re.compile(r"([A-Za-z][A-Za-z0-9_.\-]*)\s*==\s*[\"']([^\"']+)[\"']")

#: HST instrument letter of dataset ids (first character).
_HST_ID_CHAR = {"acs": "J", "cos": "L", "nicmos": "N", "stis": "O", "wfc3": "I", "wfpc2": "U"}

#: Usual FITS keywords of JWST data model paths (FITS reference headers).
_JWST_FITS_KEYWORDS = {
    "META.INSTRUMENT.NAME": "INSTRUME", "META.INSTRUMENT.DETECTOR": "DETECTOR",
    "META.INSTRUMENT.FILTER": "FILTER", "META.INSTRUMENT.PUPIL": "PUPIL",
    "META.INSTRUMENT.GRATING": "GRATING", "META.INSTRUMENT.BAND": "BAND",
    "META.INSTRUMENT.CHANNEL": "CHANNEL", "META.INSTRUMENT.CORONAGRAPH": "CORONMSK",
    "META.INSTRUMENT.MODULE": "MODULE", "META.INSTRUMENT.LAMP_STATE": "LAMP",
    "META.EXPOSURE.TYPE": "EXP_TYPE", "META.EXPOSURE.READPATT": "READPATT",
    "META.SUBARRAY.NAME": "SUBARRAY", "META.REFTYPE": "REFTYPE",
    "META.USEAFTER": "USEAFTER", "META.PEDIGREE": "PEDIGREE",
    "META.DESCRIPTION": "DESCRIP", "META.AUTHOR": "AUTHOR", "META.TELESCOPE": "TELESCOP",
}


#: Dataset keywords read by the library's per-type header hooks (HST) or by
#: version selectors (JWST), not named by any rmap parkey.
_DATASET_EXTRAS = {
    "hst": {"NUMCOLS": "1062", "NUMROWS": "1044", "SUBARRAY": "F"},
    "jwst": {"META.CALIBRATION_SOFTWARE_VERSION": "9.0.0"},
}

# ---------------------------------------------------------------------------
# Type rules


@dataclass(frozen=True)
class TypeRule:
    """The selector layout of one reference type."""

    instrument: str
    filekind: str
    spec: dict[str, Any]
    classes: tuple[str, ...]
    match_keys: tuple[str, ...]
    date_keys: tuple[str, ...]

    @property
    def has_dates(self) -> bool:
        """True when the rmap has a UseAfter/VersionAfter level."""
        return len(self.classes) > 1 or self.classes[0] != "Match"


def type_rules(observatory: str) -> dict[str, list[TypeRule]]:
    """Return {instrument: [TypeRule...]} for every expressible type in the specs."""
    defs = reftypes.get_types_object(observatory).unified_defs
    rules: dict[str, list[TypeRule]] = {}
    for instrument in sorted(defs):
        if instrument == "all":
            continue
        kinds = [
            _type_rule(observatory, instrument, filekind, defs[instrument][filekind])
            for filekind in sorted(defs[instrument])
            if filekind != "all" and defs[instrument][filekind].get("parkey") is not None
        ]
        if kinds:
            rules[instrument] = kinds
    return rules


def _type_rule(observatory: str, instrument: str, filekind: str, spec: dict) -> TypeRule:
    """Work out the selector classes and parameter groups of one type spec."""
    parkey = spec["parkey"]
    flat = not parkey or isinstance(parkey[0], str)
    groups = [tuple(parkey)] if flat else [tuple(group) for group in parkey]
    classes = tuple(spec.get("classes") or ())
    if not classes:
        classes = ("Match", "UseAfter")
        if len(groups) == 1:
            groups.append(STYLES[observatory].date_keys)
    if classes == ("VersionAfter",):
        return TypeRule(instrument, filekind, dict(spec), classes, (), groups[0])
    date_keys = groups[1] if len(groups) > 1 else ()
    return TypeRule(instrument, filekind, dict(spec), classes, groups[0], date_keys)


# ---------------------------------------------------------------------------
# Valid values and profiles


def _tpn_dir(observatory: str) -> Path:
    """The directory of .tpn constraint files inside the crds package."""
    return Path(utils.get_observatory_package(observatory).__file__).parent / "tpns"


def valid_values(observatory: str, instrument: str, filekind: str) -> dict[str, list[str]]:
    """Return {key: [plain legal values]} from the type's _ld.tpn constraints."""
    types = reftypes.get_types_object(observatory)
    values: dict[str, list[str]] = {}
    for tpn_name in types.reference_props_to_validator_keys(instrument, filekind, field="ld_tpn"):
        path = _tpn_dir(observatory) / tpn_name
        if not path.exists():
            continue
        for info in generic_tpn.get_tpninfos(str(path)):
            if info.is_complex_constraint or info.name in values:
                continue
            plain = _plain_values(info.values)
            if plain:
                values[info.name] = plain
    return values


def _plain_values(raw: Iterable[str]) -> list[str]:
    """Keep real values; turn a numeric range 'a:b' into its low end."""
    plain: list[str] = []
    for value in raw:
        value = str(value)
        if ":" in value and len(value.split(":")) == 2:
            low = value.split(":")[0]
            if re.fullmatch(r"-?\d+(\.\d+)?", low):
                plain.append(low)
            continue
        special = value.upper() in _SPECIAL_VALUES or value.startswith("&")
        if special or not _PLAIN_VALUE.match(value):
            continue
        plain.append(value)
    return plain


def _preferred_values(rules: list[TypeRule]) -> dict[str, list[str]]:
    """Values named by `KEY == "VALUE"` tests in relevance expressions, most used first."""
    counts: dict[str, Counter] = {}
    for rule in rules:
        for field in ("rmap_relevance", "rmap_omit"):
            for key, value in _EQUALITY.findall(str(rule.spec.get(field) or "")):
                counts.setdefault(_dotted(key), Counter())[value] += 1
    return {key: sorted(c, key=lambda v: (-c[v], v)) for key, c in counts.items()}


def _dotted(key: str) -> str:
    """Relevance expressions spell META.X.Y as META_X_Y; rmaps use the dots."""
    key = key.upper()
    return key.replace("_", ".") if key.startswith(("META_", "ROMAN_META_")) else key


def _candidate_values(observatory: str, rules: list[TypeRule]) -> dict[str, list[str]]:
    """Per key of an instrument: preferred values first, then tpn values."""
    candidates = _preferred_values(rules)
    for rule in rules:
        for key, values in valid_values(observatory, rule.instrument, rule.filekind).items():
            known = candidates.setdefault(key, [])
            known.extend(v for v in values if v not in known)
    return candidates


def instrument_profiles(
    observatory: str, rules: list[TypeRule], count: int
) -> list[dict[str, str]]:
    """Return `count` parameter profiles {key: value} covering every key the types use."""
    candidates = _candidate_values(observatory, rules)
    keys = sorted(_profile_keys(rules))
    profiles = []
    for index in range(max(count, 1)):
        profile = {}
        for key in keys:
            values = candidates.get(key, [])
            value = values[index % len(values)] if values else "N/A"
            profile[key] = str(utils.condition_value(value))
        profiles.append(profile)
    return profiles


def _profile_keys(rules: list[TypeRule]) -> set[str]:
    """Every non-date parameter that selection or relevance of the types reads."""
    keys: set[str] = set()
    for rule in rules:
        keys.update(rule.match_keys)
        keys.update(k.upper() for k in (rule.spec.get("extra_keys") or ()))
        for field in ("rmap_relevance", "rmap_omit"):
            expression = str(rule.spec.get(field) or "")
            keys.update(_dotted(key) for key, _ in _EQUALITY.findall(expression))
    return {key.upper() for key in keys}


def _switch_values(rules: list[TypeRule]) -> dict[str, str]:
    """Calibration switches (…CORR) read by the types, all set to PERFORM."""
    text = " ".join(str(r.spec.get("rmap_relevance") or "") for r in rules)
    switches = set(re.findall(r"\b([A-Z0-9]+CORR)\b", text))
    switches.update(
        str(r.spec.get("reffile_switch")).upper()
        for r in rules
        if str(r.spec.get("reffile_switch", "none")).lower() not in ("none", "")
    )
    return {switch: "PERFORM" for switch in sorted(switches)}


# ---------------------------------------------------------------------------
# Dates


def useafter_date(observatory: str, index: int) -> datetime.datetime:
    """The fixed USEAFTER date of reference number `index` (0-based) of a type."""
    return datetime.datetime(STYLES[observatory].base_year + USEAFTER_STEP_YEARS * index, 10, 1)


def _rmap_date(rule: TypeRule, observatory: str, index: int) -> str:
    """The UseAfter/VersionAfter key of reference `index` in an rmap."""
    if rule.classes == ("VersionAfter",):
        return f"{index + 1}.0.0"
    return useafter_date(observatory, index).strftime("%Y-%m-%d %H:%M:%S")


def _observation_time(observatory: str, profile_index: int) -> datetime.datetime:
    """When a dataset of `profile_index` was observed: a year after that useafter."""
    when = useafter_date(observatory, profile_index)
    return when.replace(year=when.year + 1, hour=12, minute=30)


# ---------------------------------------------------------------------------
# Reference names


def _hst_reference_name(rule: TypeRule, serial: int) -> str:
    """A CDBS-style unique name; GEIS types get the bare 9 chars + extension."""
    from crds.hst import locate as hst_locate

    ext = rule.spec.get("file_ext", ".fits")
    when = datetime.datetime(2016, 1, 1) + datetime.timedelta(seconds=2 * serial)
    if ext != ".fits":
        timeid = hst_locate.generate_timestamp(when)
        from crds.hst import siname

        return timeid + siname.instrument_to_id_char(rule.instrument) + ext
    return hst_locate.generate_unique_name_core(rule.instrument, rule.filekind, ext, when)


def _reference_name(observatory: str, rule: TypeRule, index: int, serial: int) -> str:
    """Name of reference `index` of `rule`; `serial` counts all references."""
    if observatory == "hst":
        return _hst_reference_name(rule, serial)
    ext = rule.spec.get("file_ext", ".fits")
    return f"{observatory}_{rule.instrument}_{rule.filekind}_{index + 1:04d}{ext}"


# ---------------------------------------------------------------------------
# Rules and their references


@dataclass
class DemoReference:
    """One generated reference file and the values that select it."""

    name: str
    rule: TypeRule
    index: int
    match: dict[str, str]
    date: str


def plan_references(
    observatory: str, rule: TypeRule, profiles: list[dict[str, str]], serial: int
) -> list[DemoReference]:
    """Plan the references of one type; `serial` numbers the first one."""
    refs: list[DemoReference] = []
    seen_rows: set[tuple[str, ...]] = set()
    for index, profile in enumerate(profiles):
        match = {key: _match_value(rule, key, profile, index) for key in rule.match_keys}
        row = tuple(match.values())
        if not rule.has_dates and row in seen_rows:
            continue  # A Match-only rmap holds one reference per row.
        seen_rows.add(row)
        name = _reference_name(observatory, rule, index, serial + len(refs))
        refs.append(DemoReference(name, rule, index, match, _rmap_date(rule, observatory, index)))
    return refs


def _match_value(rule: TypeRule, key: str, profile: dict[str, str], index: int) -> str:
    """The rmap value of `key`: N/A where the spec's parkey_relevance may void it.

    Match-only rmaps need distinct rows, so keys without known values get
    ``DEMO<n>`` there instead of N/A.
    """
    if key in (rule.spec.get("parkey_relevance") or {}):
        return "N/A"
    if key.upper().startswith("NAXIS"):  # structural: a header-only file cannot carry them
        return "N/A"
    value = profile[key.upper()]
    return f"DEMO{index + 1}" if value == "N/A" and not rule.has_dates else value


def rmap_text(observatory: str, rule: TypeRule, name: str, refs: list[DemoReference]) -> str:
    """The text of one .rmap (checksum still to be written)."""
    header = _rmap_header(observatory, rule, name)
    return f"header = {_format_dict(header)}\n\nselector = {_selector_text(rule, refs)}\n"


def _rmap_header(observatory: str, rule: TypeRule, name: str) -> dict[str, Any]:
    """Spec fields plus the rmap's own identity and its parameter groups."""
    header = {
        key: _tupled(value)
        for key, value in rule.spec.items()
        if key not in ("name", "sha1sum", "derived_from", "mapping", "parkey", "classes")
    }
    header["extra_keys"] = tuple(k.upper() for k in header.get("extra_keys") or ())
    parkey = (rule.date_keys,) if rule.classes == ("VersionAfter",) else (rule.match_keys,)
    if rule.date_keys and rule.classes != ("VersionAfter",):
        parkey = (rule.match_keys, rule.date_keys)
    header.update(
        derived_from="generated by crds_server.catalog.demo",
        filekind=str(rule.spec.get("filekind") or rule.filekind.upper()),
        instrument=rule.instrument.upper(),
        mapping="REFERENCE",
        name=name,
        observatory=observatory.upper(),
        parkey=parkey,
        sha1sum="0" * 40,
    )
    if "classes" in rule.spec:
        header["classes"] = rule.classes
    return header


def _selector_text(rule: TypeRule, refs: list[DemoReference]) -> str:
    """Nested Match / UseAfter / VersionAfter selector source."""
    if rule.classes == ("VersionAfter",):
        return _format_dict({ref.date: ref.name for ref in refs}, "VersionAfter")
    rows: dict[tuple[str, ...], Any] = {}
    for ref in refs:
        row = tuple(ref.match.values())
        if rule.has_dates:
            rows.setdefault(row, {})[ref.date] = ref.name
        else:
            rows[row] = ref.name
    if rule.has_dates:
        rows = {row: _Raw(_format_dict(dates, rule.classes[1], 1)) for row, dates in rows.items()}
    inner = rows
    return _format_dict(inner, "Match")


class _Raw(str):
    """Source text that _format_dict writes as is."""

    def __repr__(self) -> str:
        return str(self)


def _format_dict(items: dict, wrapper: str = "", indent: int = 0) -> str:
    """Python source for a sorted dict, optionally wrapped in a selector class."""
    pad = "    " * indent
    lines = [f"{pad}    {key!r} : {value!r}," for key, value in sorted(items.items())]
    body = "{\n" + "".join(line + "\n" for line in lines) + pad + "}"
    return f"{wrapper}({body})" if wrapper else body


def _tupled(value: Any) -> Any:
    """Lists from JSON specs become tuples, as rmap headers spell them."""
    if isinstance(value, list):
        return tuple(_tupled(v) for v in value)
    if isinstance(value, dict):
        return {k: _tupled(v) for k, v in value.items()}
    return value


def context_text(observatory: str, name: str, instrument: str | None, selections: dict) -> str:
    """The text of a .pmap (instrument None) or .imap."""
    header: dict[str, Any] = {
        "derived_from": "generated by crds_server.catalog.demo",
        "mapping": "INSTRUMENT" if instrument else "PIPELINE",
        "name": name,
        "observatory": observatory.upper(),
        "parkey": ("REFTYPE",) if instrument else (STYLES[observatory].instrument_key,),
        "sha1sum": "0" * 40,
    }
    if instrument:
        header["instrument"] = instrument.upper()
    return f"header = {_format_dict(header)}\n\nselector = {_format_dict(selections)}\n"


def write_mapping(path: Path, text: str) -> None:
    """Write mapping `text` to `path` with the sha1sum the crds library computes.

    This is `crds.refactoring.checksum.update_checksum` without its certify
    duplicate-row parse (slow; rows built from dicts cannot repeat): the
    library parses the text and writes it back in its own format with the
    checksum of that text.
    """
    mapping = rmap.Mapping.from_string(text, path.name, ignore_checksum=True)
    mapping.write(str(path))


# ---------------------------------------------------------------------------
# Reference files


def write_reference(directory: Path, observatory: str, ref: DemoReference) -> list[Path]:
    """Write one tiny reference file (two for GEIS); return the paths written."""
    path = directory / ref.name
    ext = path.suffix
    if observatory == "hst":
        if re.fullmatch(r"\.r\dh", ext):
            return _write_geis(path, _hst_keywords(ref))
        _write_fits(path, _hst_keywords(ref))
    elif ext == ".fits":
        _write_fits(path, _jwst_fits_keywords(_meta_keywords(observatory, ref)))
    elif ext == ".asdf":
        _write_asdf(path, _meta_tree(_meta_keywords(observatory, ref)))
    elif ext == ".json":
        tree = _meta_tree(_meta_keywords(observatory, ref))
        path.write_text(json.dumps(tree, indent=2, sort_keys=True) + "\n")
    else:
        path.write_text(_yaml_text(_meta_tree(_meta_keywords(observatory, ref))))
    return [path]


def _description(ref: DemoReference) -> str:
    """DESCRIP / META.DESCRIPTION of a demo reference."""
    return f"Demo {ref.rule.spec.get('text_descr', ref.rule.filekind)} {ref.index + 1}"[:67]


def _hst_keywords(ref: DemoReference) -> dict[str, str]:
    """HST primary header keywords of a reference."""
    spec = ref.rule.spec
    when = useafter_date("hst", ref.index)
    keywords = {"TELESCOP": "HST", "INSTRUME": ref.rule.instrument.upper()}
    keywords["FILETYPE"] = str(spec.get("filetype", ref.rule.filekind)).upper()
    if ref.rule.instrument == "synphot":
        keywords["DBTABLE"] = str(spec.get("filetype")).upper()
    keywords.update({key: value for key, value in ref.match.items()})
    keywords.update(
        USEAFTER=when.strftime("%b %d %Y %H:%M:%S"),
        PEDIGREE="INFLIGHT 01/01/1990 01/01/2030",
        DESCRIP=_description(ref),
        COMMENT="Generated by crds_server.catalog.demo",
    )
    return keywords


def _meta_keywords(observatory: str, ref: DemoReference) -> dict[str, str]:
    """JWST/Roman data model keywords (dotted paths) of a reference."""
    prefix = "ROMAN.META" if observatory == "roman" else "META"
    keywords = {
        f"{prefix}.TELESCOPE": observatory.upper(),
        f"{prefix}.INSTRUMENT.NAME": ref.rule.instrument.upper(),
        f"{prefix}.REFTYPE": str(ref.rule.spec.get("filekind") or ref.rule.filekind.upper()),
        f"{prefix}.USEAFTER": useafter_date(observatory, ref.index).strftime("%Y-%m-%dT%H:%M:%S"),
        f"{prefix}.PEDIGREE": "GROUND",
        f"{prefix}.DESCRIPTION": _description(ref),
        f"{prefix}.AUTHOR": "crds_server demo",
    }
    keywords.update({key: value for key, value in ref.match.items() if value != "N/A"})
    return keywords


def _meta_tree(keywords: dict[str, str]) -> dict[str, Any]:
    """Nest dotted upper-case keywords into a lower-case tree (ROMAN.META -> roman.meta)."""
    tree: dict[str, Any] = {}
    for key, value in sorted(keywords.items()):
        node = tree
        parts = key.lower().split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                break
        else:
            node[parts[-1]] = value
    return tree


def _jwst_fits_keywords(keywords: dict[str, str]) -> dict[str, str]:
    """FITS keywords of JWST data model paths (short names for unknown ones)."""
    fits_keys = {}
    for key, value in keywords.items():
        fits_key = _JWST_FITS_KEYWORDS.get(key) or key.split(".")[-1].replace("_", "")[:8]
        fits_keys.setdefault(fits_key, value)
    return fits_keys


def _write_fits(path: Path, keywords: dict[str, str]) -> None:
    """A FITS file with only a primary header holding `keywords`."""
    from astropy.io import fits

    hdu = fits.PrimaryHDU()
    for key, value in keywords.items():
        if key.upper().startswith("NAXIS"):  # structural: describes the (absent) data array
            continue
        if len(key) > 8 or not re.fullmatch(r"[A-Z0-9_\-]+", key):
            hdu.header[f"HIERARCH {key}"] = value
        else:
            hdu.header[key] = value
    hdu.writeto(path, overwrite=True, output_verify="silentfix")


def _write_geis(path: Path, keywords: dict[str, str]) -> list[Path]:
    """A GEIS header file of 80-column cards plus a small zeroed data file."""
    cards = [_geis_card("SIMPLE", "F"), _geis_card("BITPIX", 16), _geis_card("NAXIS", 0)]
    cards += [_geis_card(key, value) for key, value in keywords.items() if key != "COMMENT"]
    cards += ["END".ljust(80)]
    path.write_text("".join(card + "\n" for card in cards))
    data = path.with_suffix(path.suffix[:-1] + "d")
    data.write_bytes(bytes(512))
    return [path, data]


def _geis_card(key: str, value: str | int) -> str:
    """One 80-column card: strings quoted from column 11, other values right-aligned."""
    text = f"{value:>20}" if isinstance(value, int) or value in ("T", "F") else f"'{value:<8}'"
    return f"{key:<8}= {text}".ljust(80)[:80]


def _write_asdf(path: Path, tree: dict[str, Any]) -> None:
    """An ASDF file with `tree` and no arrays."""
    import asdf

    asdf.AsdfFile(tree).write_to(str(path))


def _yaml_text(tree: dict[str, Any], indent: int = 0) -> str:
    """Block-style YAML for a tree of strings."""
    lines = []
    for key, value in sorted(tree.items()):
        if isinstance(value, dict):
            lines.append(f"{'  ' * indent}{key}:\n{_yaml_text(value, indent + 1)}")
        else:
            lines.append(f"{'  ' * indent}{key}: {json.dumps(value)}\n")
    return "".join(lines)


# ---------------------------------------------------------------------------
# Public entry points


def build_demo_cache(out_dir: Path, observatory: str, refs_per_type: int = 2) -> str:
    """Write a small, valid CRDS cache for `observatory` under `out_dir`.

    Layout: ``mappings/<obs>/`` and flat ``references/<obs>/``.  Returns the
    name of the .pmap.  Files are written by path, so this does not depend on
    CRDS_PATH; to load the result with the library, point CRDS_PATH at
    `out_dir` or import it into a cache.
    """
    observatory = observatory.lower()
    map_dir = Path(out_dir) / "mappings" / observatory
    ref_dir = Path(out_dir) / "references" / observatory
    map_dir.mkdir(parents=True, exist_ok=True)
    ref_dir.mkdir(parents=True, exist_ok=True)
    imaps = {}
    serial = 0
    for instrument, rules in type_rules(observatory).items():
        profiles = instrument_profiles(observatory, rules, refs_per_type)
        rmaps = {}
        for rule in rules:
            refs = plan_references(observatory, rule, profiles, serial)
            serial += len(refs)
            rmaps[rule.filekind] = _write_rmap(map_dir, ref_dir, observatory, rule, refs)
        imaps[instrument.upper()] = _write_context(map_dir, observatory, instrument, rmaps)
    return _write_context(map_dir, observatory, None, imaps)


def _write_rmap(
    map_dir: Path, ref_dir: Path, observatory: str, rule: TypeRule, refs: list[DemoReference]
) -> str:
    """Write one type's references and its .rmap; return the rmap name."""
    for ref in refs:
        write_reference(ref_dir, observatory, ref)
    name = f"{observatory}_{rule.instrument}_{rule.filekind}_0001.rmap"
    write_mapping(map_dir / name, rmap_text(observatory, rule, name, refs))
    return name


def _write_context(
    map_dir: Path, observatory: str, instrument: str | None, selections: dict
) -> str:
    """Write the .imap of `instrument` (or the .pmap if None); return its name."""
    stem = f"{observatory}_{instrument}" if instrument else observatory
    name = f"{stem}_0001.{'imap' if instrument else 'pmap'}"
    write_mapping(map_dir / name, context_text(observatory, name, instrument, selections))
    return name


def demo_datasets(out_dir: Path, observatory: str, count: int = 40) -> list[dict]:
    """Return `count` dataset parameter sets that select the demo references.

    Each is ``{"id": ..., "instrument": "ACS", "header": {KEY: "value"}}``.
    The headers are built from the same profiles as the demo rules (which
    only depend on the installed specs), so `out_dir` is not read; it is
    accepted for symmetry with `build_demo_cache`.
    """
    observatory = observatory.lower()
    style = STYLES[observatory]
    all_rules = type_rules(observatory)
    instruments = [i for i in all_rules if i not in style.dataset_instruments_excluded]
    profiles = {i: instrument_profiles(observatory, all_rules[i], 2) for i in instruments}
    datasets = []
    for number in range(count):
        instrument = instruments[number % len(instruments)]
        index = (number // len(instruments)) % len(profiles[instrument])
        profile = profiles[instrument][index]
        header = _dataset_header(observatory, instrument, all_rules[instrument], profile, index)
        dataset_id = _dataset_id(observatory, instrument, number, header)
        datasets.append({"id": dataset_id, "instrument": instrument.upper(), "header": header})
    return datasets


def _dataset_header(
    observatory: str, instrument: str, rules: list[TypeRule], profile: dict[str, str], index: int
) -> dict[str, str]:
    """Upper-case keys, string values: profile, switches, instrument and time."""
    style = STYLES[observatory]
    header = {key: value for key, value in profile.items()}
    header.update(_switch_values(rules))
    header[style.instrument_key] = instrument.upper()
    when = _observation_time(observatory, index)
    if len(style.date_keys) == 2:
        header[style.date_keys[0]] = when.strftime("%Y-%m-%d")
        header[style.date_keys[1]] = when.strftime("%H:%M:%S")
    else:
        header[style.date_keys[0]] = when.strftime("%Y-%m-%dT%H:%M:%S")
    for key, value in _DATASET_EXTRAS.get(observatory, {}).items():
        header.setdefault(key, value)
    return dict(sorted(header.items()))


def _dataset_id(observatory: str, instrument: str, number: int, header: dict[str, str]) -> str:
    """HST ``<product>:<exposure>``; JWST ``<exposure>.<detector>`` twice."""
    if observatory == "hst":
        char = _HST_ID_CHAR.get(instrument, "X")
        return f"{char}D{number:04d}010:{char}D{number:04d}ABQ"
    if observatory == "jwst":
        detector = header.get("META.INSTRUMENT.DETECTOR", instrument.upper())
        detector = detector if detector != "N/A" else instrument.upper()
        exposure = f"JW{1234 + number:05d}001001_02101_00001.{detector}"
        return f"{exposure}:{exposure}"
    return f"R{number:04d}_{instrument.upper()}"
