"""Prepare a submission: certify, rename, stage, new rules, diffs (feature map S4, S5, S9).

`prepare_submission` is pure domain logic: it reads uploads and the
server's store, writes only into `staging`, and touches no database row.
The caller decides what is taken (`name_taken`, `sha1_known`), streams the
`log` lines, and on confirm moves the staged files into the store.  On any
failure every file it wrote to `staging` is removed again.

The `crds` library does the work: `crds.certify` checks files,
`crds.misc.uniqname`/`crds.hst.locate` name HST references,
`crds.refactoring.refactor` inserts references into rmaps,
`crds.refactoring.newcontext` writes new .imaps and .pmaps, and
`crds.core.rmap` computes checksums, selections and logical diffs.
"""

from __future__ import annotations

import contextlib
import datetime
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from crds import data_file
from crds.core import config, rmap, utils
from crds.refactoring import refactor

from . import naming, rules, synphot
from .certify import CertifyReport, LogFn, certify_files, certify_one, ignore_log
from .errors import SubmissionError
from .metadata import collect_metadata

__all__ = ["Prepared", "prepare_submission", "certify_files", "CertifyReport", "SubmissionError"]

KINDS = ("batch", "references", "mappings")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,127}$")


@dataclass
class Prepared:
    """Everything a prepared submission produced; files are in `staging` until confirmed."""

    kind: str
    derive_from: str
    staging: str
    comparison_context: str = ""  # what uploads are certified against (default: derive_from)
    renamed: dict[str, str] = field(default_factory=dict)
    new_references: list[str] = field(default_factory=list)
    new_mappings: list[str] = field(default_factory=list)
    new_context: str = ""
    replaced_rmaps: dict[str, str] = field(default_factory=dict)
    certify: CertifyReport | None = None
    diffs: list[dict[str, Any]] = field(default_factory=list)
    metadata: dict[str, dict[str, Any]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def new_files(self) -> list[str]:
        return self.new_references + self.new_mappings

    def to_json(self) -> dict[str, Any]:
        """A JSON-serialisable dict (datetimes as ISO strings)."""
        data = asdict(self)
        data["certify"] = self.certify.to_json() if self.certify else None
        data["metadata"] = {
            name: {k: v.isoformat() if isinstance(v, datetime.datetime) else v for k, v in meta.items()}
            for name, meta in self.metadata.items()
        }
        return data


class _Names:
    """Names the catalog has (`name_taken`) plus those chosen in this preparation."""

    def __init__(self, name_taken: Callable[[str], bool]) -> None:
        self.name_taken = name_taken
        self.claimed: set[str] = set()

    def taken(self, name: str) -> bool:
        return name in self.claimed or bool(self.name_taken(name))

    def claim(self, name: str) -> str:
        self.claimed.add(name)
        return name


def prepare_submission(*, files: list[Path], derive_from: str, staging: Path, kind: str,
                       auto_rename: bool, description: str, change_level: str, creator: str,
                       user: str, name_taken: Callable[[str], bool],
                       log: LogFn = ignore_log,
                       sha1_known: Callable[[str], str | None] = lambda sha1: None,
                       compare_old_reference: bool = False,
                       generate_contexts: bool = True, comparison_context: str = "") -> Prepared:
    """Certify and stage `files`, then write the new rules derived from `derive_from`.

    kind "batch" or "references": references, inserted into new rmaps, with
    new imaps and pmap (S4/S5); without `generate_contexts` no rules are
    written (S8, the files stay orphans).
    kind "mappings": hand-edited .rmaps, renamed and put into new imaps and
    pmap (S9); without `generate_contexts` only the rmaps are staged.
    Uploads are certified against `comparison_context` (default `derive_from`),
    as ``crds certify --comparison-context`` does; the new rules against `derive_from`.
    Raises SubmissionError (with `.report` when certify failed) and leaves
    `staging` as it found it.
    """
    files = [Path(f) for f in files]
    staging = Path(staging)
    prepared = Prepared(kind=kind, derive_from=derive_from, staging=str(staging),
                        comparison_context=comparison_context or derive_from)
    meta = dict(description=description, change_level=change_level, creator_name=creator,
                deliverer_user=user)
    try:
        with undone_on_failure(staging):
            _check_request(files, kind, derive_from, generate_contexts)
            rules.load_context(prepared.comparison_context)
            if kind == "mappings":
                _prepare_mappings(prepared, files, _Names(name_taken), log, sha1_known, auto_rename,
                                  generate_contexts)
            else:
                _prepare_references(prepared, files, _Names(name_taken), log, sha1_known, auto_rename,
                                    compare_old_reference, generate_contexts)
            collect_metadata(prepared, meta)
    finally:
        data_file.clear_header_cache()
    log("log_message", f"Prepared {len(prepared.new_files())} new files"
        + (f"; new context {prepared.new_context!r}." if prepared.new_context else "."))
    return prepared


@contextlib.contextmanager
def undone_on_failure(staging: Path) -> Iterator[None]:
    """Create `staging`; on any failure inside, remove what was written to it, then re-raise."""
    staging.mkdir(parents=True, exist_ok=True)
    before = set(staging.iterdir())
    try:
        yield
    except BaseException:
        for path in set(staging.iterdir()) - before:
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
        raise


def _check_request(files: list[Path], kind: str, derive_from: str, generate_contexts: bool = True) -> None:
    if kind not in KINDS:
        raise SubmissionError(f"Unknown submission kind {kind!r}; use one of {', '.join(KINDS)}.")
    if not files:
        raise SubmissionError("No files to submit.")
    names = [f.name for f in files]
    for name in names:
        if names.count(name) > 1:
            raise SubmissionError(f"File {name!r} is submitted twice.")
        if not NAME_RE.match(name):
            raise SubmissionError(f"File name {name!r} is not allowed.")
        mapping = config.is_mapping(name)
        if kind == "mappings" and not mapping:
            raise SubmissionError(f"{name!r} is not a mapping (.rmap, .imap or .pmap).")
        if kind != "mappings" and (mapping or not config.is_reference(name)):
            raise SubmissionError(f"{name!r} is not a reference file.")
    contexts = [name for name in names if not name.endswith(".rmap")]
    if kind == "mappings" and generate_contexts and contexts:
        raise SubmissionError(f"{', '.join(contexts)}: .imap and .pmap files cannot be submitted with "
                              f"Generate Contexts; submit them without it and set the context by hand.")
    rules.load_context(derive_from)


def _certify_or_refuse(prepared: Prepared, files: list[Path], log: LogFn, compare: bool) -> None:
    report = certify_files(files, prepared.comparison_context or prepared.derive_from,
                           compare_old_reference=compare, log=log, check_rmap_updates=False,
                           require_fitsverify=True)
    prepared.certify = report
    _refuse_if_errors(report)


def _refuse_if_errors(report: CertifyReport) -> None:
    errors = [error if name in error else f"{name}: {error}"  # fitsverify's lines name no file
              for name, result in report.files.items() for error in result.errors]
    if errors:
        shown = "; ".join(errors[:5]) + (f"; and {len(errors) - 5} more" if len(errors) > 5 else "")
        raise SubmissionError(f"Certify found {len(errors)} errors: {shown}", report)


def _refuse_duplicates(files: list[Path], sha1_known: Callable[[str], str | None]) -> dict[str, str]:
    """{upload name: sha1sum}; a file identical to a catalogued one or another upload is refused."""
    sums: dict[str, str] = {}
    for path in files:
        sha1 = utils.checksum(str(path))
        twin = next((name for name, other in sums.items() if other == sha1), None)
        if twin:
            raise SubmissionError(f"{path.name!r} is identical to {twin!r} in the same submission.")
        known = sha1_known(sha1)
        if known:
            raise SubmissionError(f"{path.name!r} is identical to {known!r}, already in CRDS "
                                  f"(sha1sum {sha1}).")
        sums[path.name] = sha1
    return sums


def _prepare_references(prepared: Prepared, files: list[Path], names: _Names, log: LogFn,
                        sha1_known: Callable[[str], str | None], auto_rename: bool,
                        compare: bool, generate_contexts: bool) -> None:
    observatory = utils.file_to_observatory(prepared.derive_from)
    _refuse_duplicates(files, sha1_known)
    _certify_or_refuse(prepared, files, log, compare)
    now = datetime.datetime.now(datetime.UTC)
    staged = []
    for path in files:
        if auto_rename:
            name = names.claim(naming.reference_name(path, observatory, names.taken, now))
        elif names.taken(path.name):
            raise SubmissionError(f"{path.name!r} is already in CRDS; rename it or use Auto-Rename.")
        else:
            name = names.claim(path.name)
        staged.append(naming.stage_reference(path, Path(prepared.staging), name, observatory))
        prepared.renamed[path.name] = name
        if name != path.name:
            log("log_message", f"Renamed {path.name!r} -> {name!r}")
    if observatory == "hst" and synphot.is_delivery(staged):
        staged += _synphot(prepared, staged, names, log, now)
    prepared.new_references = [p.name for p in staged]
    if generate_contexts:
        _new_rules_for_references(prepared, staged, names, log)


def _synphot(prepared: Prepared, staged: list[Path], names: _Names, log: LogFn,
             now: datetime.datetime) -> list[Path]:
    """SYNPHOT throughput/thermal tables: new lookup tables (returned) and the integration tests."""
    report = prepared.certify
    assert report is not None
    made = synphot.regenerate_lookups(
        prepared.derive_from, staged, Path(prepared.staging),
        lambda path: names.claim(naming.reference_name(path, "hst", names.taken, now)), report, log)
    synphot.run_integration_tests(prepared.derive_from, staged + made, report, log)
    _refuse_if_errors(report)
    return made


def _new_rules_for_references(prepared: Prepared, staged: list[Path], names: _Names, log: LogFn) -> None:
    staging, report = Path(prepared.staging), prepared.certify
    assert report is not None
    replaced = rules.insert_references(prepared.derive_from, staged, staging, names.taken, report, log)
    for new in replaced.values():
        names.claim(new)
    _refuse_if_errors(report)
    for new in sorted(replaced.values()):
        log("log_message", f"Certifying {new!r} ...")
        certify_one(staging / new, prepared.derive_from, report.result(new), sink=log)
    _refuse_if_errors(report)
    prepared.replaced_rmaps = replaced
    _new_contexts(prepared, names, log)
    _check_selection(prepared, staged, log)


def _prepare_mappings(prepared: Prepared, files: list[Path], names: _Names, log: LogFn,
                      sha1_known: Callable[[str], str | None], auto_rename: bool,
                      generate_contexts: bool) -> None:
    """Hand-edited mappings (S9): rmaps, and without Generate Contexts also imaps and pmaps.

    An .imap or .pmap may name mappings of the catalog or of this submission
    (whose new names it then gets); it is delivered as it is and the edit
    context stays: the operator sets the context by hand (two-phase, O2).
    """
    files = sorted(files, key=lambda p: _map_rank(p.name))
    _refuse_duplicates(files, sha1_known)
    rmaps = [p for p in files if p.suffix == ".rmap"]
    contexts = [p for p in files if p.suffix != ".rmap"]
    _certify_or_refuse(prepared, rmaps, log, compare=False)
    if contexts:
        _certify_contexts(prepared, contexts, {p.name for p in files}, names, log)
    observatory = utils.file_to_observatory(prepared.derive_from)
    pmap = rules.load_context(prepared.derive_from)
    staging = Path(prepared.staging)
    for path in files:
        old = pmap.get_equivalent_mapping(str(path))
        if old is not None:
            old_name = old.basename
        else:
            instrument, filekind = utils.get_file_properties(observatory, str(path))
            old_name = f"{observatory}_{instrument}_{filekind}.rmap"
        if auto_rename:
            name = naming.next_mapping_name(old_name, names.taken)
        elif names.taken(path.name):
            raise SubmissionError(f"{path.name!r} is already in CRDS; rename it or use Auto-Rename.")
        else:
            name = path.name
        names.claim(name)
        _stage_mapping(prepared, path, staging / name, old.basename if old is not None else None, log)
        prepared.renamed[path.name] = name
        if old is not None:
            prepared.replaced_rmaps[old.basename] = name
        prepared.new_mappings.append(name)
    if generate_contexts:
        _new_contexts(prepared, names, log, rmaps=list(prepared.new_mappings))


def _certify_contexts(prepared: Prepared, contexts: list[Path], submitted: set[str], names: _Names,
                      log: LogFn) -> None:
    """Certify hand-edited .imaps/.pmaps; every mapping they name is in CRDS or in this submission."""
    report = prepared.certify
    assert report is not None
    for path in contexts:
        result = report.result(path.name)
        log("log_message", f"Certifying {path.name!r} ...")
        certify_one(path, prepared.derive_from, result, sink=log)
        try:
            named = rules.named_mappings(path)
        except Exception as exc:
            result.errors.append(f"{path.name!r} cannot be read: {exc}")
            continue
        for name in sorted(named - submitted):
            if not names.name_taken(name) or not rules.in_store(name):
                result.errors.append(f"{path.name!r} names {name!r}, which is neither in CRDS nor in "
                                     f"this submission.")
    _refuse_if_errors(report)


def _stage_mapping(prepared: Prepared, upload: Path, target: Path, derived_from: str | None,
                   log: LogFn) -> None:
    """Copy an uploaded mapping to `target`, refreshing a stale checksum, and set name/derived_from.

    An .imap/.pmap naming mappings of this submission is made to name their new names.
    """
    shutil.copyfile(upload, target)
    problem = rules.checksum_problem(target)
    if problem:
        text = f"{upload.name!r} had a stale or missing sha1sum; it was recomputed ({problem})."
        prepared.warnings.append(text)
        log("warning", text)
        rmap.Mapping.from_file(str(target), ignore_checksum=True).write()
    if target.suffix != ".rmap" and rules.rename_selections(target, prepared.renamed):
        log("log_message", f"{target.name!r} now names the new mappings of this submission.")
    refactor.update_derivation(str(target), derived_from)
    if target.name != upload.name:
        log("log_message", f"Renamed {upload.name!r} -> {target.name!r}")


def _new_contexts(prepared: Prepared, names: _Names, log: LogFn, rmaps: list[str] | None = None) -> None:
    """New imaps and pmap for the new rmaps; checksums verified; diffs computed."""
    staging, report = Path(prepared.staging), prepared.certify
    assert report is not None
    new_rmaps = rmaps if rmaps is not None else sorted(prepared.replaced_rmaps.values())
    generated = rules.generate_contexts(prepared.derive_from, new_rmaps, staging, names.taken, report, log)
    _refuse_if_errors(report)
    for new in generated.values():
        names.claim(new)
    prepared.new_context = generated[prepared.derive_from]
    pairs = dict(prepared.replaced_rmaps, **generated)
    prepared.new_mappings = sorted(set(new_rmaps) | set(generated.values()))
    problems = [p for name in prepared.new_mappings if (p := rules.checksum_problem(staging / name))]
    if problems:
        raise SubmissionError("Generated mappings fail their checksum: " + "; ".join(problems))
    with rules.mapping_view(prepared.derive_from, staging, prepared.new_mappings, list(pairs)) as view:
        for old, new in sorted(pairs.items(), key=lambda item: _map_rank(item[1])):
            prepared.diffs.append({
                "old": old, "new": new,
                "logical": rules.logical_diffs(view, old, new),
                "text": rules.text_diff(view / old, view / new),
            })


def _map_rank(name: str) -> tuple[int, str]:
    return ({".rmap": 0, ".imap": 1, ".pmap": 2}[Path(name).suffix], name)


def _check_selection(prepared: Prepared, references: list[Path], log: LogFn) -> None:
    """Warn when the new rmap, or the new context through its new imap, does not select a new
    reference for a header made from the reference's own matching values (HST and JWST alike)."""
    staging = Path(prepared.staging)
    observatory = utils.file_to_observatory(prepared.derive_from)
    replaced = [diff["old"] for diff in prepared.diffs]
    with rules.mapping_view(prepared.derive_from, staging, prepared.new_mappings, replaced) as view:
        for reference in references:
            instrument, filekind = utils.get_file_properties(observatory, str(reference))
            new_rmap = next((new for new in prepared.replaced_rmaps.values()
                             if utils.get_file_properties(observatory, new) == (instrument, filekind)),
                            None)
            if new_rmap is None:
                continue
            try:
                problem = rules.selection_problem(staging / new_rmap, reference)
                if not problem and prepared.new_context:
                    problem = rules.context_selection_problem(view, prepared.new_context, new_rmap,
                                                              reference)
            except Exception as exc:
                problem = f"Could not check that {new_rmap!r} selects {reference.name!r}: {exc}"
            if problem:
                prepared.warnings.append(problem)
                log("warning", problem)
