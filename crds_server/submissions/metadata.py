"""Catalog fields of a prepared submission's new files, read from the staged files by the `crds`
library (mapping headers; reference headers, USEAFTER, PEDIGREE, DESCRIP)."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

from crds import data_file
from crds.core import config, rmap, timestamp, utils


def collect_metadata(prepared: Any, meta: dict[str, str]) -> None:
    """Catalog fields of every new file of `prepared` (a `processing.Prepared`), from the staged files."""
    staging = Path(prepared.staging)
    observatory = utils.file_to_observatory(prepared.derive_from)
    uploaded_as = {new: old for old, new in prepared.renamed.items()}
    derived = {new: old for old, new in prepared.replaced_rmaps.items()}
    for diff in prepared.diffs:
        derived.setdefault(diff["new"], diff["old"])
    for name in prepared.new_files():
        path = staging / name
        row = dict(meta, uploaded_as=uploaded_as.get(name, name), comment="",
                   sha1sum=utils.checksum(str(path)), size=path.stat().st_size)
        if config.is_mapping(name):
            row.update(_mapping_metadata(path, observatory))
            row["derived_from"] = derived.get(name, row["derived_from"])
        else:
            row.update(_reference_metadata(path, observatory))
        prepared.metadata[name] = row


def _mapping_metadata(path: Path, observatory: str) -> dict[str, Any]:
    header = rmap.Mapping.from_file(str(path), ignore_checksum=True).header
    instrument = str(header.get("instrument", "")).lower() if path.suffix != ".pmap" else ""
    return dict(type="mapping", instrument=instrument,
                filekind=str(header.get("filekind", "")).lower() if path.suffix == ".rmap" else "",
                useafter_date=None, pedigree="", derived_from=str(header.get("derived_from", "")))


def _reference_metadata(path: Path, observatory: str) -> dict[str, Any]:
    instrument, filekind = utils.get_file_properties(observatory, str(path))
    try:
        header = data_file.get_header(str(path), observatory=observatory)
    except Exception:
        header = {}

    def value(*keys: str) -> str:
        found = next((header[k] for k in keys if header.get(k) not in (None, "", "UNDEFINED")), "")
        return str(found)

    return dict(type="reference", instrument=instrument, filekind=filekind, reference_file_type=filekind,
                useafter_date=_useafter(value("USEAFTER", "META.USEAFTER", "ROMAN.META.USEAFTER")),
                pedigree=value("PEDIGREE", "META.PEDIGREE", "ROMAN.META.PEDIGREE"),
                comment=value("DESCRIP", "META.DESCRIPTION", "ROMAN.META.DESCRIPTION"),
                derived_from="")


def _useafter(text: str) -> datetime.datetime | None:
    if not text:
        return None
    try:
        return timestamp.parse_date(text).replace(tzinfo=datetime.UTC)
    except Exception:
        return None
