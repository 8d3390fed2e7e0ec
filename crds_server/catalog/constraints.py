"""The certification constraints (.tpn) of a reference type, as the crds library defines them."""

from __future__ import annotations

import functools

from crds.core import utils
from django.conf import settings


@functools.lru_cache(maxsize=256)
def constraints(instrument: str, filekind: str) -> tuple[dict[str, str], ...]:
    """Rows (name, kind, type, presence, allowed values) certify checks for this type."""
    try:
        locator = utils.get_locator_module(settings.OBSERVATORY)
        infos = locator.get_all_tpninfos(instrument, filekind, "tpn")
    except Exception:  # types without .tpn files, or a library without this observatory
        return ()
    return tuple(
        {"name": info.name, "keytype": info._repr_keytype().strip("'"),
         "datatype": info._repr_datatype().strip("'"), "presence": info._repr_presence().strip("'"),
         "values": ", ".join(str(v) for v in info.values) or "any"}
        for info in infos
    )
