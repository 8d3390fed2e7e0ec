"""Contexts whose rmaps replace references (each becomes the next one of its rmap), for affected runs.

Used by the affected-datasets tests and by bench/_affected_contexts.py.  The
new mappings are catalogued like tests/web_helpers.derive_context: written to
the store, with the checksum the crds library computes.  One type: the
reference REPLACED becomes the next reference of the same rmap, so every
dataset whose best reference was REPLACED gets another file.  Every type
(`filekind` "all"): in each rmap every reference becomes the next one of that
rmap (sorted, the last becomes the first), so every dataset with a found
reference of any type is affected.
"""

from __future__ import annotations

import re
from pathlib import Path

from crds_server.catalog import loader


def derive(builder, old: str, instruments: list[str] | str, filekind: str, replaced: str, serial: str) -> str:
    """Catalog the new .pmap (and its .imaps and .rmaps); `instruments` "all": every one of `old`."""
    pmap = loader.get_mapping(old)
    chosen = sorted(pmap.selections) if instruments == "all" else list(instruments)
    new_imaps = {name: derive_imap(builder, old, name, filekind, replaced, serial) for name in chosen}
    new_pmap = f"{pmap.observatory}_{serial}.pmap"
    builder.add_derived_mapping(old, new_pmap, selections=new_imaps,
                                description=f"Replaced {','.join(chosen)} {filekind} references")
    return new_pmap


def derive_imap(builder, old: str, instrument: str, filekind: str, replaced: str, serial: str) -> str:
    """The new .imap of `instrument` with its rmaps' references replaced (and those rmaps)."""
    store = Path(builder.settings.FILE_CACHE) / "mappings" / builder.settings.OBSERVATORY
    imap = loader.get_mapping(old).get_imap(instrument)
    kinds = sorted(imap.selections) if filekind == "all" else [filekind]
    selections = {}
    for kind in kinds:
        try:
            rmapping = imap.get_rmap(kind)
        except Exception:  # a type declared N/A for this instrument
            continue
        names = sorted(n for n in rmapping.reference_names() if "." in n)
        if len(names) < 2:
            continue
        following = dict(zip(names, names[1:] + names[:1], strict=True))
        if filekind != "all":
            following = {replaced: following[replaced]}
        new_rmap = f"{rmapping.observatory}_{instrument}_{kind}_{serial}.rmap"
        text = (store / rmapping.basename).read_text().replace(rmapping.basename, new_rmap)
        text = re.sub(r"'([^']+)'", lambda m, new=following: f"'{new.get(m[1], m[1])}'", text)
        (store / new_rmap).write_text(text)
        builder.add_derived_mapping(new_rmap, new_rmap, header={"derived_from": rmapping.basename},
                                    instrument=instrument, filekind=kind)
        selections[kind] = new_rmap
    new_imap = f"{imap.observatory}_{instrument}_{serial}.imap"
    builder.add_derived_mapping(imap.basename, new_imap, selections=selections, instrument=instrument)
    return new_imap
