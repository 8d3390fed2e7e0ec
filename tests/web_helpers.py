"""Helpers of the web page tests: a second context made from the first."""

from __future__ import annotations

from pathlib import Path

from crds_server.catalog import loader


def derive_context(builder, pmap: str, instrument: str, filekind: str, serial: str = "0002") -> dict:
    """Catalog a new .pmap whose `instrument` `filekind` rmap drops its first rule's last file.

    Returns the names {"pmap", "imap", "rmap", "old_rmap", "old_imap", "dropped"}.
    """
    context = loader.get_mapping(pmap)
    imap = context.get_imap(instrument)
    rmapping = imap.get_rmap(filekind)
    store = Path(builder.settings.FILE_CACHE) / "mappings" / builder.settings.OBSERVATORY
    dropped = sorted(rmapping.reference_names())[0]
    new_rmap = f"{context.observatory}_{instrument}_{filekind}_{serial}.rmap"
    lines = (store / rmapping.basename).read_text().splitlines(keepends=True)
    kept = [line for line in lines if f"'{dropped}'" not in line or "header" in line]
    (store / new_rmap).write_text("".join(kept).replace(rmapping.basename, new_rmap))
    builder.add_derived_mapping(new_rmap, new_rmap, header={"derived_from": rmapping.basename},
                                instrument=instrument, filekind=filekind)
    new_imap = f"{context.observatory}_{instrument}_{serial}.imap"
    builder.add_derived_mapping(imap.basename, new_imap, selections={filekind: new_rmap},
                                instrument=instrument)
    new_pmap = f"{context.observatory}_{serial}.pmap"
    builder.add_derived_mapping(pmap, new_pmap, selections={instrument: new_imap},
                                description="Dropped one dark")
    return {"pmap": new_pmap, "imap": new_imap, "rmap": new_rmap, "old_rmap": rmapping.basename,
            "old_imap": imap.basename, "dropped": dropped}
