"""HST SYNPHOT deliveries: the new TMC/TMT lookup tables and the library's integration tests.

A delivery of SYNPHOT throughput (``thruput``) or thermal tables changes what
the lookup tables (TMC for throughput, TMT for thermal) must list.  As at
STScI, a lookup table the submission does not bring is regenerated with the
library's generator (`crds.misc.synphot.lookup_generator`) from the one of
the derive-from context, staged and certified with the other files.  Then
the library's integration tests run on the whole set: the core test
(component names agree between the graph, the lookup tables and the
component files; lookup file names are well formed) always, the
observation-mode test (every mode of the OBSMODES table instantiated with
stsynphot) when stsynphot is installed (the optional ``synphot`` extra).
The report says which ran, and why one did not.
"""

from __future__ import annotations

import datetime
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from crds.core import utils
from crds.misc.synphot import utils as synphot_utils

from .certify import CertifyReport, LogFn, capture, certify_one

TESTS = "SYNPHOT integration tests"  # the report entry of their messages
LOOKUPS = {synphot_utils.THROUGHPUT_REFTYPE: synphot_utils.THROUGHPUT_LOOKUP_REFTYPE,
           synphot_utils.THERMAL_REFTYPE: synphot_utils.THERMAL_LOOKUP_REFTYPE}
TABLES = (synphot_utils.GRAPH_REFTYPE, *LOOKUPS.values(), synphot_utils.OBSMODES_REFTYPE)


def kinds(staged: list[Path]) -> dict[str, list[Path]]:
    """{synphot filekind: staged files} of the HST SYNPHOT files among `staged`."""
    found: dict[str, list[Path]] = {}
    for path in staged:
        try:
            instrument, filekind = utils.get_file_properties("hst", str(path))
        except Exception:  # certify already reported what it could not place
            continue
        if instrument == synphot_utils.SYNPHOT_INSTRUMENT:
            found.setdefault(filekind, []).append(path)
    return found


def is_delivery(staged: list[Path]) -> bool:
    """Whether `staged` holds SYNPHOT throughput or thermal tables."""
    return bool(set(kinds(staged)) & set(LOOKUPS))


def regenerate_lookups(context: str, staged: list[Path], staging: Path, name_for: Callable[[Path], str],
                       report: CertifyReport, log: LogFn) -> list[Path]:
    """Write the new lookup table of each delivered component kind the submission has none of.

    `name_for(path)` gives the official name of a staged file.  The new tables
    are certified against `context`; returns their paths in `staging`.
    """
    from crds.misc.synphot.lookup_generator import SynphotLookupGenerator

    found, made = kinds(staged), []
    for component, lookup in LOOKUPS.items():
        if component not in found or lookup in found:
            continue
        res = report.result(TESTS)
        temp = staging / f".new-{lookup}.fits"
        with capture(res, log, strip=(str(staging),)):
            hdus = SynphotLookupGenerator(context).generate(lookup, [str(p) for p in found[component]])
            hdus.writeto(temp, overwrite=True)
        if not temp.exists():
            continue
        target = staging / name_for(temp)
        os.replace(temp, target)
        log("log_message", f"Generated the {lookup.upper()} lookup table {target.name!r} for "
            f"{len(found[component])} delivered {component} tables.")
        certify_one(target, context, report.result(target.name), sink=log)
        made.append(target)
    return made


def run_integration_tests(context: str, staged: list[Path], report: CertifyReport, log: LogFn) -> None:
    """Run the library's SYNPHOT integration tests on `staged` over `context`; messages under TESTS."""
    from crds.misc.synphot.integration_tests import SynphotCoreIntegrationTest

    found = kinds(staged)
    files = _test_files(found)
    res = report.result(TESTS)
    strip = tuple(sorted({str(p.parent) for p in staged}))
    log("log_message", "Running the SYNPHOT integration tests ...")
    with capture(res, log, strip=strip):
        SynphotCoreIntegrationTest(context, **files).run()
    report.note("synphot core tests", True, "component names of the graph, the lookup tables and the "
                "component tables agree; lookup file names are well formed")
    try:
        import stsynphot  # noqa: F401  (the optional `synphot` extra)
    except ImportError:
        report.note("synphot observation modes", False, "stsynphot is not installed (pip install "
                    "'crds-server[synphot]'), so the observation modes were not instantiated")
        return
    _run_obsmodes(context, found, files, res, log, strip)
    report.note("synphot observation modes", True, "every observation mode instantiated with stsynphot")


def _test_files(found: dict[str, list[Path]]) -> dict[str, object]:
    """The integration tests' arguments: delivered tables in place of the context's."""
    def one(kind: str) -> str | None:
        return str(found[kind][0]) if found.get(kind) else None

    return dict(graph_file=one(synphot_utils.GRAPH_REFTYPE),
                throughput_lookup_file=one(synphot_utils.THROUGHPUT_LOOKUP_REFTYPE),
                thermal_lookup_file=one(synphot_utils.THERMAL_LOOKUP_REFTYPE),
                delivered_throughput_files=[str(p) for p in found.get(synphot_utils.THROUGHPUT_REFTYPE, [])],
                delivered_thermal_files=[str(p) for p in found.get(synphot_utils.THERMAL_REFTYPE, [])])


def _run_obsmodes(context: str, found: dict[str, list[Path]], files: dict[str, object], res, log: LogFn,
                  strip: tuple[str, ...]) -> None:
    from crds.misc.synphot.integration_tests import SynphotObsmodeIntegrationTest

    obsmodes = found.get(synphot_utils.OBSMODES_REFTYPE)
    started = datetime.datetime.now(datetime.UTC)
    with tempfile.TemporaryDirectory(prefix="crds-synphot-") as root, \
            capture(res, log, strip=(*strip, root)):
        test = SynphotObsmodeIntegrationTest(context, root, obsmodes_file=str(obsmodes[0]) if obsmodes
                                             else None, link=False, **files)
        test.populate_synphot_root()
        test.run()
    seconds = (datetime.datetime.now(datetime.UTC) - started).total_seconds()
    log("log_message", f"SYNPHOT observation modes checked in {seconds:.0f} s.")
