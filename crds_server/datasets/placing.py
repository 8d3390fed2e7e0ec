"""Which instrument a dataset id belongs to, from its form alone (as the archive tells them apart).

An id that matches no dataset is still answered per id when its form names an
instrument: HST ids start with the instrument's CDBS letter (`crds.hst.siname`),
JWST and Roman ids end with a detector (``…_00001.NRCA1``) or an instrument
name, whose legal values come from the library's ``<instrument>_all.tpn``
constraints.  Only an id no instrument can be found for fails a whole call
(contract §2.4: ``Can't determine instrument for dataset 'BAR'``).
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

from crds.bestrefs.headers import _normalize_jwst_id_part
from crds.core import generic_tpn, utils
from django.conf import settings

_HST_ID = re.compile(r"^[A-Z0-9]{9}$")
_DETECTOR_KEYS = ("META.INSTRUMENT.DETECTOR", "ROMAN.META.INSTRUMENT.DETECTOR")


def normalize(ident: str) -> str:
    """Upper case; JWST ``jw…_00001_nrca1`` parts become ``JW…_00001.NRCA1`` (the library's rule)."""
    ident = ident.strip()
    if settings.OBSERVATORY == "jwst":
        ident = ":".join(_normalize_jwst_id_part(part) for part in ident.split(":"))
    return ident.upper()


def instrument_of(ident: str) -> str | None:
    """The upper-case instrument an id's form names, or None."""
    part = ident.split(":")[-1]
    if settings.OBSERVATORY == "hst":
        from crds.hst import siname

        name = siname.ID_CHAR_TO_INSTRUMENT.get(part[:1].lower())
        return name if name and _HST_ID.match(part) else None
    last = re.split(r"[._]", part)[-1]
    return _by_detector(settings.OBSERVATORY).get(last)


@functools.cache
def _by_detector(observatory: str) -> dict[str, str]:
    """{detector or instrument name: instrument} from the library's instrument-wide constraints."""
    package = utils.get_observatory_package(observatory)
    tpns = Path(package.__file__).parent / "tpns"
    found: dict[str, str] = {}
    for instrument in package.INSTRUMENTS:
        if instrument in ("all", "system"):  # pseudo-instruments: no datasets
            continue
        found[instrument.upper()] = instrument.upper()
        path = tpns / f"{instrument}_all.tpn"
        if not path.exists():
            continue
        for info in generic_tpn.get_tpninfos(str(path)):
            if info.name in _DETECTOR_KEYS and not info.is_complex_constraint:
                for value in info.values:
                    if str(value).upper() not in ("ANY", "N/A"):
                        found.setdefault(str(value).upper(), instrument.upper())
    return found
