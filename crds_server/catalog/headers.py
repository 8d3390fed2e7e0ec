"""What a reference file says about itself: header keywords and a table summary.

Only headers are read: FITS through astropy with lazily loaded HDUs (no data
arrays), ASDF with lazy arrays, JSON and YAML as text.  Each returns plain
strings so pages can show them as they are.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MAX_KEYWORDS = 400


@dataclass
class HduSummary:
    """One FITS extension: its name, kind, shape or columns, and row count (from the header)."""

    index: int
    name: str
    kind: str
    rows: str = ""
    columns: list[str] = field(default_factory=list)
    dimensions: str = ""


@dataclass
class FileHeader:
    keywords: list[tuple[str, str]] = field(default_factory=list)
    hdus: list[HduSummary] = field(default_factory=list)
    problem: str = ""


def read_header(path: Path) -> FileHeader:
    """The header keywords (and HDU summary for FITS) of reference file `path`."""
    if not path.exists():
        return FileHeader(problem="The file is not in the server's file store.")
    suffix = path.suffix.lower()
    try:
        if suffix == ".fits":
            return _fits(path)
        if re.fullmatch(r"\.r\dh", suffix):  # a GEIS header file (WFPC2)
            return _geis(path)
        if suffix == ".asdf":
            return FileHeader(keywords=_flatten(_asdf_meta(path)))
        if suffix == ".json":
            return FileHeader(keywords=_flatten(_meta(json.loads(path.read_text(encoding="utf-8")))))
        if suffix in (".yaml", ".yml"):
            import yaml

            return FileHeader(keywords=_flatten(_meta(yaml.safe_load(path.read_text(encoding="utf-8")))))
    except Exception as exc:  # a damaged file must not break its details page
        return FileHeader(problem=f"The header could not be read: {exc}")
    return FileHeader(problem=f"No header reader for '{suffix}' files.")


def _fits(path: Path) -> FileHeader:
    from astropy.io import fits

    result = FileHeader()
    with fits.open(path, lazy_load_hdus=True, memmap=True) as hdus:
        for index, hdu in enumerate(hdus):
            header = hdu.header
            if index == 0:
                result.keywords = [(str(k), str(v)) for k, v in list(header.items())[:MAX_KEYWORDS]]
            result.hdus.append(_hdu_summary(index, header))
    return result


def _hdu_summary(index: int, header: Any) -> HduSummary:
    xtension = str(header.get("XTENSION", "PRIMARY")).strip()
    name = str(header.get("EXTNAME", "PRIMARY" if index == 0 else "")).strip()
    summary = HduSummary(index, name, xtension)
    if xtension in ("BINTABLE", "TABLE"):
        summary.rows = str(header.get("NAXIS2", 0))
        summary.columns = [str(header.get(f"TTYPE{i}", f"col{i}"))
                           for i in range(1, int(header.get("TFIELDS", 0)) + 1)]
    else:
        axes = [str(header.get(f"NAXIS{i}", "")) for i in range(1, int(header.get("NAXIS", 0)) + 1)]
        summary.dimensions = " x ".join(axes)
    return summary


def _geis(path: Path) -> FileHeader:
    """A GEIS header file: FITS-like 80-character cards in plain text."""
    keywords = []
    for line in path.read_text(encoding="ascii", errors="replace").splitlines()[:MAX_KEYWORDS]:
        if "=" in line[:10]:
            key, _, value = line.partition("=")
            keywords.append((key.strip(), value.split("/")[0].strip().strip("'").strip()))
    return FileHeader(keywords=keywords)


def _asdf_meta(path: Path) -> Any:
    import asdf

    with asdf.open(path, lazy_load=True, memmap=False) as handle:
        return _plain(handle.tree.get("meta", {}))


def _plain(value: Any) -> Any:
    """Nested dicts and lists of strings: arrays and tagged objects become their repr."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return repr(value)[:200]


def _meta(tree: Any) -> Any:
    return tree.get("meta", {}) if isinstance(tree, dict) else {}


def _flatten(tree: Any, prefix: str = "META") -> list[tuple[str, str]]:
    """META.A.B keywords from a nested `meta` tree, as the crds library names them."""
    if isinstance(tree, dict):
        rows: list[tuple[str, str]] = []
        for key, value in tree.items():
            rows.extend(_flatten(value, f"{prefix}.{str(key).upper()}"))
        return rows[:MAX_KEYWORDS]
    return [(prefix, str(tree))]


class HeaderSyntaxError(ValueError):
    """Pasted header text that is neither `KEY = value` lines nor a JSON object."""


def parse_pasted_header(text: str) -> dict[str, str]:
    """{KEY: value} from a pasted JSON object or FITS-style `KEY = value / comment` lines."""
    text = text.strip()
    if not text:
        raise HeaderSyntaxError("The header is empty.")
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except RecursionError:
            raise HeaderSyntaxError("The JSON nests too deep for a header.") from None
        except ValueError as exc:
            raise HeaderSyntaxError(f"Not valid JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise HeaderSyntaxError("The JSON must be an object of KEY: value pairs.")
        if any(isinstance(v, (dict, list)) for v in data.values()):
            raise HeaderSyntaxError("Header values must be plain strings or numbers, not lists or objects.")
        return {str(k).upper(): str(v) for k, v in data.items()}
    header = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith(("COMMENT", "HISTORY", "END")):
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip() or " " in key.strip():
            raise HeaderSyntaxError(f"Line {number} is not 'KEY = value': {line[:80]!r}")
        value = value.strip()
        if value.startswith("'"):
            value = value[1:].split("'", 1)[0]
        else:
            value = value.split("/", 1)[0]
        header[key.strip().upper()] = value.strip()
    return header
