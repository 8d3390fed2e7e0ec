"""What a JWST demo reference must hold to pass `crds.certify`: keywords, arrays and table columns.

Everything is read from the type's certify constraints in the library
(``crds/jwst/tpns``, `crds.core.generic_tpn`): required keywords get a legal
value (the first enumerated one, the low end of a range, or one of the
keyword's type), detector axes follow the ``<DETECTOR>_AXIS`` expressions,
and every array or table the constraints name is written small, as a
subarray (``META.SUBARRAY.*`` of an 8 x 8 corner), with the dimensions and
types the constraints ask for.

Where the constraints ask for more, so does the file, still read from them:
a shape of keyword values (MIRI RESET ``SHAPE==(NINTS,NGROUPS,SUBSIZE2,SUBSIZE1)``),
a full detector frame ``SHAPE[-2:]==(2048,2048)`` wherever the library applies
it to the file's header (NIRSpec DFLAT and TRAPDENSITY: their ``full_frame(...)and(...)``
conditions hold for subarrays too), arrays following it (``DQ_ARRAY.SHAPE[-2:]==SCI_ARRAY...``),
``*_ARRAY`` table column types (vectors), and keyword values that must contain a text
(NIRSpec REFPIX ``(('IRS2')in(READPATT))``, also restricting the rules' values).
Full frames are one plane of a constant.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crds.core import generic_tpn, reftypes, utils

SIZE = 8  # pixels on each side of the demo subarray
_NDIM = re.compile(r"ndim\((\w+)_ARRAY,\s*(\d)\)")
_TYPE = re.compile(r"has_type\((\w+)_ARRAY,\s*\[?'(\w+)'")
_TABLE = re.compile(r"is_table\((\w+)_ARRAY\)")
_COLUMNS = re.compile(r"has_columns\((\w+)_ARRAY,\s*\[([^\]]*)\]\)")
_COLUMN_TYPE = re.compile(r"has_column_type\((\w+)_ARRAY,\s*'(\w+)',\s*'(\w+)'\)")
_SHAPE = re.compile(r"\((\w+)_ARRAY\.SHAPE==\((\d+),\s*(\d+)\)\)")
_NAMED_SHAPE = re.compile(r"\((\w+)_ARRAY\.SHAPE==\(((?:[A-Z]\w*,)*[A-Z]\w*)\)\)")  # (NINTS,NGROUPS,...)
_FRAME = re.compile(r"\((\w+)_ARRAY\.SHAPE\[-2:\]==\((\d+),\s*(\d+)\)\)")
_LIKE = re.compile(r"\((\w+)_ARRAY\.SHAPE\[-2:\]==(\w+)_ARRAY\.SHAPE\[-2:\]\)")  # DQ as SCI
_CONTAINS = re.compile(r"\(\('(\w+)'\)in\((\w+)\)\)")  # (('IRS2')in(READPATT))
_ODD = re.compile(r"\((\w+)_ARRAY\.SHAPE\[0\]%2\)==1")
_AXIS = re.compile(r"\(FASTAXIS==(-?\d)\)and\(SLOWAXIS==(-?\d)\)")


@dataclass
class Array:
    """One HDU the constraints name: an image (ndim, kind) or a table (columns: {name: kind})."""

    name: str
    ndim: int = 2
    kind: str = "FLOAT"
    table: bool = False
    columns: dict[str, str] = field(default_factory=dict)
    shape: tuple[int, ...] = ()  # a shape the constraints fix outright
    frame: tuple[int, int] = ()  # (rows, columns) the last two axes must have, where it applies
    like: str = ""  # the array whose last two axes this one's must equal (DQ, ERR: SCI)
    kernel: bool = False  # an odd-sided kernel whose values sum to 1 (IPC)


@dataclass
class Contents:
    """Keywords (dotted data model paths) and HDUs of one certifiable reference."""

    keywords: dict[str, Any]
    arrays: dict[str, Array]
    columns: dict[str, Any]


@functools.cache
def _infos(instrument: str, filekind: str) -> tuple:
    types = reftypes.get_types_object("jwst")
    folder = Path(utils.get_observatory_package("jwst").__file__).parent / "tpns"
    infos = []
    for name in types.reference_props_to_validator_keys(instrument, filekind, field="tpn"):
        if (folder / name).exists():
            infos.extend(generic_tpn.get_tpninfos(str(folder / name)))
    return tuple(infos)


def legal_values(instrument: str, filekind: str) -> dict[str, set[str]]:
    """{keyword: conditioned legal values} that certify enforces for this type's keywords."""
    legal: dict[str, set[str]] = {}
    for info in _infos(instrument, filekind):
        if info.keytype != "H" or info.is_complex_constraint:
            continue
        values = {str(utils.condition_value(v)) for v in info.values if not str(v).startswith("&")}
        if values and not {"ANY"} & values and not any(":" in v for v in values):
            legal[info.name] = legal[info.name] & values if info.name in legal else values
    for part, short in _contains(_infos(instrument, filekind)):
        for key in legal:
            if key.split(".")[-1] == short:
                legal[key] = {v for v in legal[key] if part in v}
    return legal


def _contains(infos: tuple) -> list[tuple[str, str]]:
    """(part, KEYWORD) of constraints that a keyword's value contains a text: (('IRS2')in(READPATT))."""
    return [(m[0], m[1]) for info in infos if info.keytype == "H"
            for m in _CONTAINS.findall(" ".join(str(v) for v in info.values))]


def contents(instrument: str, filekind: str, keywords: dict[str, str],
             extra_keys: tuple[str, ...] = ()) -> Contents:
    """The keywords (given ones kept) and arrays a reference of this type needs to certify.

    `extra_keys` are the rmap's extra parameters: certify wants a reference to carry every
    parameter its rmap requires, so those get a legal value too.
    """
    infos = _infos(instrument, filekind)
    found = dict(keywords)
    for key in extra_keys:
        legal = next((i for i in infos if i.name == key and i.keytype == "H"), None)
        if key not in found and legal is not None:
            found[key] = _value(legal)
    found.setdefault("META.HISTORY", "Written by the crds_server demo from the crds certify constraints.")
    if found.get("META.SUBARRAY.NAME", "N/A") in _FULL_FRAME:
        found["META.SUBARRAY.NAME"] = _subarray_name(infos)
    found.update({"META.SUBARRAY.XSTART": 1, "META.SUBARRAY.YSTART": 1,
                  "META.SUBARRAY.XSIZE": SIZE, "META.SUBARRAY.YSIZE": SIZE})
    found.update(_axes(infos, found.get("META.INSTRUMENT.DETECTOR", "")))
    columns: dict[str, Any] = {}
    for info in infos:
        if info.keytype == "H" and info.name in found:
            found[info.name] = _unconditioned(found[info.name], info)
        elif info.keytype == "H" and _wanted(info) and info.datatype != "X":  # X: an expression
            found[info.name] = _value(info)
        elif info.keytype == "C" and _wanted(info):
            columns[info.name] = _value(info)
    for part, short in _contains(infos):  # NIRSpec REFPIX: READPATT must name an IRS2 pattern
        legal = legal_values(instrument, filekind)
        keys = sorted(k for k in {*found, *legal} if k.split(".")[-1] == short)
        choices = sorted(v for k in keys for v in legal.get(k, ()) if part in v and v not in ("*", "N/A"))
        for key in keys:
            if part not in str(found.get(key, "")):
                found[key] = choices[0] if choices else part
    return Contents(found, _arrays(infos, found), columns)


_FULL_FRAME = ("N/A", "ANY", "FULL", "GENERIC")  # GENERIC counts as full frame too


def _subarray_name(infos: tuple) -> str:
    """A legal subarray name that is not full frame, so small arrays are legal."""
    for info in infos:
        if info.name == "META.SUBARRAY.NAME" and info.keytype == "H":
            for value in info.values:
                if str(value).upper() not in _FULL_FRAME and not str(value).startswith("&"):
                    return str(value)
    return "SUB64"


def _unconditioned(value: Any, info: Any) -> Any:
    """Rules spell numbers conditioned ('2.0'); a file carries the constraint's own spelling ('2')."""
    legal = {str(v) for v in info.values}
    text = str(value)
    return text.removesuffix(".0") if text not in legal and text.removesuffix(".0") in legal else value


def _wanted(info: Any) -> bool:
    """Required, or required under a condition (anything but optional or warning-only)."""
    return info.presence not in ("O", "W") and not str(info.presence).startswith(("(optional", "(warning"))


def _value(info: Any) -> Any:
    """A legal value of a keyword or column from its constraint."""
    for raw in info.values:
        raw = str(raw)
        if raw.startswith("&") or raw.upper() in ("ANY", "N/A"):
            continue
        if ":" in raw:
            low = raw.split(":")[0]
            return float(low) if info.datatype in ("R", "D") else int(float(low))
        return int(raw) if info.datatype == "I" else float(raw) if info.datatype in ("R", "D") else raw
    return {"I": 1, "R": 1.0, "D": 1.0, "L": True}.get(info.datatype, "DEMO")


def _axes(infos: tuple, detector: str) -> dict[str, int]:
    for info in infos:
        if info.name == f"{detector}_AXIS":
            match = _AXIS.search("".join(str(v) for v in info.values))
            if match:
                return {"META.SUBARRAY.FASTAXIS": int(match[1]), "META.SUBARRAY.SLOWAXIS": int(match[2])}
    return {"META.SUBARRAY.FASTAXIS": 1, "META.SUBARRAY.SLOWAXIS": 2}


def _header(infos: tuple, found: dict[str, Any]) -> dict[str, Any]:
    """The header certify evaluates conditions in: every constraint name UNDEFINED unless set,
    data model paths also under their FITS names and with ``_`` for ``.``."""
    from crds.jwst import schema

    header: dict[str, Any] = {info.name.replace(".", "_"): "UNDEFINED" for info in infos}
    header.update({info.name: "UNDEFINED" for info in infos})
    for key, value in found.items():
        header[key] = header[key.replace(".", "_")] = value
        fits_key = schema.dm_to_fits(key)
        if fits_key:
            header[fits_key] = value
    return header


def _applies(info: Any, header: dict[str, Any]) -> bool:
    """Whether certify applies this constraint to a file with `header` (the library decides)."""
    from crds.certify import validators

    presence = validators.validator(info).is_applicable(dict(header))
    return bool(presence) and presence not in ("O", "W")


def _arrays(infos: tuple, found: dict[str, Any]) -> dict[str, Array]:
    arrays: dict[str, Array] = {}
    header = _header(infos, found)
    for info in infos:
        if info.keytype != "A":
            continue
        text = " ".join(str(v) for v in info.values)
        array = arrays.setdefault(info.name, Array(info.name))
        for name, ndim in _NDIM.findall(text):
            if name == info.name:
                array.ndim = int(ndim)
        for name, kind in _TYPE.findall(text):
            if name == info.name:
                array.kind = kind.upper()
        if _TABLE.search(text):
            array.table = True
        fixed = [(int(a), int(b)) for name, a, b in _SHAPE.findall(text) if name == info.name]
        if fixed and not str(info.presence).startswith(("F", "(full_frame")):
            array.shape = fixed[0]
        for name, listed in _NAMED_SHAPE.findall(text):  # MIRI RESET: (NINTS,NGROUPS,SUBSIZE2,SUBSIZE1)
            values = [header.get(n, "UNDEFINED") for n in listed.split(",")]
            if name == info.name and all(str(v).isdigit() for v in values):
                array.shape = tuple(int(v) for v in values)
        frame = [(int(a), int(b)) for name, a, b in _FRAME.findall(text) if name == info.name]
        if frame and _applies(info, header):
            array.frame = frame[0]
        for name, other in _LIKE.findall(text):
            if name == info.name:
                array.like = other
        if any(name == info.name for name in _ODD.findall(text)):
            array.kernel = True
        for name, listed in _COLUMNS.findall(text):
            if name == info.name:
                array.table = True
                for column in re.findall(r"'(\w+)'", listed):
                    array.columns.setdefault(column.upper(), "FLOAT")
        for name, column, kind in _COLUMN_TYPE.findall(text):
            if name == info.name:
                array.table = True
                array.columns[column.upper()] = kind.upper()
    for array in arrays.values():
        if array.like in arrays and not array.frame:
            array.frame = arrays[array.like].frame
    return arrays
