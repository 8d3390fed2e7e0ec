"""Certify uploaded files with the `crds` library and collect its messages per file.

The library reports through its global ``CRDS`` logger and global error
counters.  The counters are shared by every thread, so they are never read
here: a logging handler attached for the duration of one file collects the
records emitted by the calling thread only, and the errors and warnings
are counted from those records.  Two submissions certifying at once in two
consumer threads therefore get their own messages.

Every file is certified as ``crds certify --comparison-context=CONTEXT
--run-fitsverify`` certifies it: the same library calls, so the same verdict
and the same errors and warnings (tests/test_certify_equivalence.py compares
them).  The report also says which checks ran and which could not
(`CertifyReport.checks`): fitsverify, the data models, table comparisons.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crds import certify as crds_certify
from crds.core import config, log, rmap, utils
from crds.refactoring import refactor

from . import fitsverify

LogFn = Callable[[str, str], None]


def ignore_log(kind: str, text: str) -> None:
    """The default progress sink: drop the line."""


@dataclass
class FileResult:
    """What certify said about one file: its errors, warnings and full log."""

    name: str
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        return "ERRORS" if self.errors else "Warnings" if self.warnings else "OK"

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "errors": self.errors,
                "warnings": self.warnings, "messages": self.messages}


@dataclass
class CertifyReport:
    """Certify results of a set of files against `context`; `ok` when no file has errors."""

    context: str
    files: dict[str, FileResult] = field(default_factory=dict)
    checks: list[dict[str, Any]] = field(default_factory=list)  # what ran, what did not, and why

    @property
    def ok(self) -> bool:
        return not self.errors()

    def result(self, name: str) -> FileResult:
        return self.files.setdefault(name, FileResult(name))

    def errors(self) -> list[str]:
        return [err for res in self.files.values() for err in res.errors]

    def warnings(self) -> list[str]:
        return [warn for res in self.files.values() for warn in res.warnings]

    def merge(self, other: CertifyReport) -> None:
        for name, res in other.files.items():
            mine = self.result(name)
            mine.errors += res.errors
            mine.warnings += res.warnings
            mine.messages += res.messages
        self.checks += [check for check in other.checks if check not in self.checks]

    def to_json(self) -> dict[str, Any]:
        return {"context": self.context, "ok": self.ok, "checks": self.checks,
                "files": {name: res.to_json() for name, res in self.files.items()}}

    def note(self, check: str, ran: bool, detail: str) -> None:
        """Record whether `check` ran (and what it ran with, or why not)."""
        self.checks.append({"check": check, "ran": ran, "detail": detail})


class _ThreadCapture(logging.Handler):
    """Collects the CRDS log records of one thread into a FileResult."""

    KINDS = {"ERROR": "error", "WARNING": "warning"}

    def __init__(self, result: FileResult, sink: LogFn, strip: list[str]) -> None:
        super().__init__(logging.DEBUG)
        self.thread = threading.get_ident()
        self.result, self.sink, self.strip = result, sink, strip

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread != self.thread or record.levelno < logging.INFO:
            return
        text = record.getMessage().strip()
        for prefix in self.strip:
            text = text.replace(prefix, "")
        kind = self.KINDS.get(record.levelname, "log_message")
        self.result.messages.append(f"{record.levelname} - {text}")
        if kind == "error":
            self.result.errors.append(text)
        elif kind == "warning":
            self.result.warnings.append(text)
        if not text.startswith("####"):
            self.sink(kind, text)


@contextlib.contextmanager
def capture(result: FileResult, sink: LogFn = ignore_log, strip: tuple[str, ...] = ()) -> Iterator[None]:
    """Send the CRDS log records of this thread to `result` (and `sink`) inside the block.

    Paths in `strip` (directories, with a trailing slash) are removed from
    messages, so reports name files, not temporary directories.  An
    exception escaping the block is recorded as an error, not raised.
    """
    handler = _ThreadCapture(result, sink, [p if p.endswith("/") else p + "/" for p in strip])
    logger = log.THE_LOGGER.logger
    logger.addHandler(handler)
    try:
        yield
    except Exception as exc:  # the library traps most; record what escapes
        text = f"In {result.name!r} : {type(exc).__name__} : {exc}"
        for prefix in handler.strip:
            text = text.replace(prefix, "")
        result.errors.append(text)
        result.messages.append(f"ERROR - {text}")
        sink("error", text)
    finally:
        logger.removeHandler(handler)


def certify_one(path: Path, context: str, result: FileResult, *, sink: LogFn = ignore_log,
                compare_old_reference: bool = False, check_references: str | None = None,
                shown_name: str | None = None) -> None:
    """Certify the file at `path` against `context`, adding the library's messages to `result`.

    fitsverify runs inside the library's certify of a FITS file when it is on
    PATH; without it the library warns that it is missing.
    """
    name = shown_name or path.name
    with capture(result, sink, strip=(str(path.parent),)):
        crds_certify.certify_file(
            str(path), context, original_name=name, compare_old_reference=compare_old_reference,
            check_references=check_references, observatory=utils.file_to_observatory(context),
            run_fitsverify=True,
        )


def certify_files(paths: list[Path], context: str, *, compare_old_reference: bool = False,
                  log: LogFn = ignore_log, check_rmap_updates: bool = True,
                  require_fitsverify: bool = False) -> CertifyReport:
    """Certify uploaded references or mappings against .pmap `context`; change nothing.

    Each file is checked by `crds.certify.certify_file` (format, .tpn
    constraints, fitsverify, data models, mapping syntax and references,
    table modes against the file it replaces in `context` when
    `compare_old_reference`).  References that pass are then inserted on
    trial into copies of their rmaps in a private temporary directory
    (`crds.refactoring.refactor.rmap_insert_references`), and the trial
    rmaps certified, which finds identical or overlapping match cases.
    Results are keyed by file name; trial rmap results by the rmap's name.
    With `require_fitsverify` (a submission) a FITS file is refused when
    fitsverify is not installed.
    """
    report = CertifyReport(context)
    paths = [Path(p) for p in paths]
    note_checks(report, paths, compare_old_reference)
    for number, path in enumerate(paths, 1):
        log("log_message", f"Certifying {path.name!r} ({number}/{len(paths)}) ...")
        references = not config.is_mapping(path.name)
        certify_one(path, context, report.result(path.name), sink=log,
                    compare_old_reference=compare_old_reference,
                    check_references=None if references else "exist")
        if require_fitsverify and fitsverify.is_fits(path.name) and not fitsverify.path():
            report.result(path.name).errors.append(fitsverify.REFUSED)
            log("error", f"{path.name}: {fitsverify.REFUSED}")
    good = [p for p in paths if not config.is_mapping(p.name) and not report.result(p.name).errors]
    if check_rmap_updates and good:
        trial_rmap_updates(good, context, report, log)
    return report


def note_checks(report: CertifyReport, paths: list[Path], compare_old_reference: bool) -> None:
    """Say in `report` which of the checks that depend on the server's set-up apply and ran."""
    names = [p.name for p in paths]
    if any(fitsverify.is_fits(n) for n in names):
        found = fitsverify.path()
        report.note("fitsverify", bool(found), f"run by the crds library from {found}" if found
                    else fitsverify.MISSING)
    observatory = utils.file_to_observatory(report.context)
    if observatory in DATAMODELS and any(not config.is_mapping(n) for n in names):
        report.note(*_datamodels(observatory))
    if any(config.is_reference(n) for n in names):
        report.note("table comparison", compare_old_reference,
                    f"tables are compared with the files they replace in {report.context}"
                    if compare_old_reference else "Compare Old Reference is off: tables are not "
                    "compared with the files they replace")


# The packages the library validates references of each observatory with (pyproject.toml pins them).
DATAMODELS = {"jwst": ("stdatamodels",), "roman": ("roman_datamodels", "rad")}


def _datamodels(observatory: str) -> tuple[str, bool, str]:
    from importlib import metadata

    found, missing = [], []
    for package in DATAMODELS[observatory]:
        try:
            found.append(f"{package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            missing.append(package)
    if missing:
        return ("data models", False, f"{', '.join(missing)} not installed: {observatory} references "
                "are not validated against their data models")
    return ("data models", True, f"references validated with {', '.join(found)}")


def trial_rmap_updates(references: list[Path], context: str, report: CertifyReport,
                       sink: LogFn = ignore_log) -> None:
    """Insert `references` into copies of their rmaps of `context` and certify the copies."""
    observatory = utils.file_to_observatory(context)
    pmap = rmap.get_cached_mapping(context)
    with tempfile.TemporaryDirectory(prefix="crds-trial-") as tmp:
        groups: dict[tuple[str, str], list[Path]] = {}
        for path in references:
            res = report.result(path.name)
            with capture(res, sink, strip=(str(path.parent),)):
                instrument, filekind = utils.get_file_properties(observatory, str(path))
                groups.setdefault((instrument, filekind), []).append(path)
        for (instrument, filekind), group in sorted(groups.items()):
            label = f"{instrument} {filekind} rmap update"
            res = report.result(label)
            with capture(res, sink, strip=(tmp, str(group[0].parent))):
                old = pmap.get_imap(instrument).get_rmap(filekind)
                trial = os.path.join(tmp, old.basename)
                refactor.rmap_insert_references(
                    config.locate_mapping(old.basename), trial, [str(p) for p in group],
                    observatory=observatory)
                crds_certify.certify_file(trial, context, observatory=observatory)
