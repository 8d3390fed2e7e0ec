"""Delete References (S10) and Add References (S11): new rules for references already in CRDS.

No file is uploaded: the submitter names catalogued references.  The `crds`
library writes the new rmaps (`crds.refactoring.refactor.rmap_delete_references`
and `rmap_insert_references`, reading the references from the store), then the
new imaps and pmap (`newcontext`), exactly as for uploaded references; the
result is a `Prepared` like any other, so confirm, cancel, delivery and mails
are the one state machine's.  Like `prepare_submission` this touches no row.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from crds.core import config, utils

from . import rules
from .certify import CertifyReport, LogFn, certify_one, ignore_log
from .errors import SubmissionError
from .metadata import collect_metadata
from .processing import (
    Prepared,
    _check_selection,
    _Names,
    _new_contexts,
    _refuse_if_errors,
    undone_on_failure,
)

KINDS = ("delete", "add")


def prepare_edit(*, kind: str, names: list[str], derive_from: str, staging: Path, description: str,
                 change_level: str, creator: str, user: str, name_taken: Callable[[str], bool],
                 log: LogFn = ignore_log) -> Prepared:
    """New rmaps of `derive_from` without (kind "delete") or with (kind "add") the references
    `names`, new imaps and pmap, certified and differenced in `staging`.

    A reference to delete must be in `derive_from`; one to add must not be.
    Raises SubmissionError and leaves `staging` as it found it.
    """
    if kind not in KINDS:
        raise SubmissionError(f"Unknown kind {kind!r}; use one of {', '.join(KINDS)}.")
    if not names:
        raise SubmissionError("No references named.")
    staging = Path(staging)
    prepared = Prepared(kind=kind, derive_from=derive_from, staging=str(staging))
    prepared.certify = CertifyReport(derive_from)
    meta = dict(description=description, change_level=change_level, creator_name=creator,
                deliverer_user=user)
    with undone_on_failure(staging):
        _edit(prepared, kind, names, _Names(name_taken), log)
        collect_metadata(prepared, meta)
    log("log_message", f"Prepared {len(prepared.new_files())} new rules; new context "
        f"{prepared.new_context!r}.")
    return prepared


def _edit(prepared: Prepared, kind: str, names: list[str], taken: _Names, log: LogFn) -> None:
    context, staging, report = prepared.derive_from, Path(prepared.staging), prepared.certify
    assert report is not None
    in_context = set(rules.load_context(context).reference_names())
    if kind == "delete":
        absent = [name for name in names if name not in in_context]
        if absent:
            raise SubmissionError(f"Not in {context!r}, so nothing to delete: {', '.join(absent)}.")
        replaced = rules.delete_references(context, names, staging, taken.taken, report, log)
        paths: list[Path] = []
    else:
        present = [name for name in names if name in in_context]
        if present:
            raise SubmissionError(f"Already in {context!r}: {', '.join(present)}.")
        observatory = utils.file_to_observatory(context)
        paths = [Path(config.locate_file(name, observatory)) for name in names]
        replaced = rules.insert_references(context, paths, staging, taken.taken, report, log)
    for new in replaced.values():
        taken.claim(new)
    _refuse_if_errors(report)
    for new in sorted(replaced.values()):
        log("log_message", f"Certifying {new!r} ...")
        certify_one(staging / new, context, report.result(new), sink=log)
    _refuse_if_errors(report)
    prepared.replaced_rmaps = replaced
    _new_contexts(prepared, taken, log)
    if kind == "delete":
        _check_gone(prepared, names)
    else:
        _check_selection(prepared, paths, log)


def _check_gone(prepared: Prepared, names: list[str]) -> None:
    """No new rmap names a deleted reference (the library checks it too; this is the server's word)."""
    from crds.core import rmap

    staging = Path(prepared.staging)
    for new in prepared.replaced_rmaps.values():
        mapping = rmap.load_mapping(str(staging / new), ignore_checksum=True)
        still = sorted(set(names) & set(mapping.reference_names()))
        if still:
            raise SubmissionError(f"{new!r} still names {', '.join(still)}.")
