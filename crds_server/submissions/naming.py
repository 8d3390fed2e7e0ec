"""Official names for submitted files, made with the `crds` library's naming rules.

* HST references get enhanced CDBS-style unique names
  (`crds.hst.locate.generate_unique_name_core`: a base-36 timestamp, the
  instrument letter and the type suffix).  The library sleeps two seconds
  per name to make timestamps unique; here the timestamp is passed in and
  stepped by two seconds past any name `taken` reports, so a batch of
  files is named without waiting.  FITS files are rewritten by the
  library's `uniqname` script, which adds FILENAME, ROOTNAME and HISTORY.
* JWST and Roman references are named ``<obs>_<instr>_<filekind>_NNNN<ext>``
  with the first free serial.
* Mappings get the next free serial after their predecessor's
  (``hst_acs_darkfile_0007.rmap`` -> ``..._0008.rmap``).

`taken(name)` must say whether a name is in the catalog or already chosen
for another file, including files of other pending submissions.
"""

from __future__ import annotations

import datetime
import re
import shutil
from collections.abc import Callable
from pathlib import Path

from crds.core import utils
from crds.hst import locate as hst_locate
from crds.misc import uniqname

Taken = Callable[[str], bool]

#: SYNPHOT throughput and thermal tables keep their names (feature map S4).
KEEP_NAMES = {("synphot", "thruput"), ("synphot", "thermal")}

#: HST unique names have a two-second resolution.
HST_NAME_STEP = datetime.timedelta(seconds=2)

_MAPPING_NAME = re.compile(r"^(?P<stem>.+?)(?:_(?P<serial>\d+))?(?P<ext>\.[pir]map)$")
_GEIS = re.compile(r"\.r\d[hd]$")


def reference_name(path: Path, observatory: str, taken: Taken, now: datetime.datetime) -> str:
    """The official name for the reference at `path` (its own name if it must keep it)."""
    instrument, filekind = utils.get_file_properties(observatory, str(path))
    ext = path.suffix
    if (instrument, filekind) in KEEP_NAMES or _GEIS.search(path.name):
        return path.name
    if observatory == "hst":
        when = now.replace(tzinfo=None, microsecond=0)
        while True:
            name = hst_locate.generate_unique_name_core(instrument, filekind, ext, when)
            if not taken(name):
                return name
            when += HST_NAME_STEP
    serial = 1
    while taken(name := f"{observatory}_{instrument}_{filekind}_{serial:04d}{ext}"):
        serial += 1
    return name


def stage_reference(upload: Path, staging: Path, name: str, observatory: str) -> Path:
    """Write the upload into `staging` as `name`, leaving the upload untouched.

    Renamed HST FITS files are rewritten by `crds.misc.uniqname`, which
    records the new name in FILENAME/ROOTNAME/HISTORY and keeps FITS
    checksums if the upload had them; other files are copied byte for byte.
    """
    target = staging / name
    if observatory == "hst" and name != upload.name and upload.suffix == ".fits":
        argv = ["crds.misc.uniqname", "--files", str(upload), "--add-keywords", "--verify-file",
                "--fits-errors", "--output-path", str(staging)]
        if uniqname.has_checksum(str(upload)):
            argv.append("--add-checksum")
        # reset_log=False: the library's log counters are process-wide.
        uniqname.UniqnameScript(argv, reset_log=False).rewrite(str(upload), name)
    else:
        shutil.copyfile(upload, target)
    return target


def next_mapping_name(old_name: str, taken: Taken) -> str:
    """The next free name in the series of mapping `old_name` (``_0001`` if it has no serial)."""
    match = _MAPPING_NAME.match(old_name)
    if not match:
        raise ValueError(f"{old_name!r} is not a CRDS mapping name.")
    serial = int(match["serial"]) + 1 if match["serial"] else 1
    while taken(name := f"{match['stem']}_{serial:04d}{match['ext']}"):
        serial += 1
    return name
