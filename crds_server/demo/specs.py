"""Demo conventions and type specs: observatory styles, selector layouts, parameter profiles, dates."""

from __future__ import annotations

import datetime
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crds.core import generic_tpn, reftypes, utils


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

#: Usual FITS keywords of JWST data model paths (FITS reference headers).
JWST_FITS_KEYWORDS = {
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


def switch_values(rules: list[TypeRule]) -> dict[str, str]:
    """Calibration switches (…CORR) read by the types, all set to PERFORM."""
    text = " ".join(str(r.spec.get("rmap_relevance") or "") for r in rules)
    switches = set(re.findall(r"\b([A-Z0-9]+CORR)\b", text))
    switches.update(
        str(r.spec.get("reffile_switch")).upper()
        for r in rules
        if str(r.spec.get("reffile_switch", "none")).lower() not in ("none", "")
    )
    return {switch: "PERFORM" for switch in sorted(switches)}




def useafter_date(observatory: str, index: int) -> datetime.datetime:
    """The fixed USEAFTER date of reference number `index` (0-based) of a type."""
    return datetime.datetime(STYLES[observatory].base_year + USEAFTER_STEP_YEARS * index, 10, 1)


def rmap_date(rule: TypeRule, observatory: str, index: int) -> str:
    """The UseAfter/VersionAfter key of reference `index` in an rmap."""
    if rule.classes == ("VersionAfter",):
        return f"{index + 1}.0.0"
    return useafter_date(observatory, index).strftime("%Y-%m-%d %H:%M:%S")


def observation_time(observatory: str, profile_index: int) -> datetime.datetime:
    """When a dataset of `profile_index` was observed: a year after that useafter."""
    when = useafter_date(observatory, profile_index)
    return when.replace(year=when.year + 1, hour=12, minute=30)


