"""New rules for a submission, written by the `crds` library into a staging directory.

The library finds mappings by name in its cache (CRDS_PATH, the server's
file store) unless given full paths, which it then uses as they are.  So
old rules are always read from the store by name, and every new file is
named by its full staging path: `rmap_insert_references` reads the old
rmap from the store and writes the new one to staging, and
`generate_new_contexts` copies the old .imap/.pmap from the store to their
new staging names before editing them there.  Nothing is written to the
store.

To difference a new context with its predecessor (the library's diffs
recurse into changed .imaps and .rmaps), a private *view* directory holds
symbolic links to the old mappings involved in the store and to the new
ones in staging, and both
old and new mappings are loaded with ``path=view`` (`rmap.load_mapping`).
The view is deleted afterwards; it is never seen by the library's caches
(``load_mapping`` does not cache).
"""

from __future__ import annotations

import contextlib
import difflib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from crds import diff as crds_diff
from crds.core import config, rmap, utils
from crds.refactoring import newcontext, refactor

from .certify import CertifyReport, LogFn, capture, ignore_log
from .errors import SubmissionError
from .naming import Taken, next_mapping_name


def load_context(context: str) -> Any:
    """The loaded .pmap `context` from the store (the library's cache)."""
    if not context.endswith(".pmap"):
        raise SubmissionError(f"Derive-from context {context!r} is not a .pmap.")
    try:
        return rmap.get_cached_mapping(context)
    except Exception as exc:
        raise SubmissionError(f"Derive-from context {context!r} cannot be loaded: {exc}") from exc


def governing_rmap(pmap: Any, instrument: str, filekind: str) -> Any:
    """The rmap of `pmap` for (instrument, filekind); SubmissionError if there is none."""
    try:
        found = pmap.get_imap(instrument).get_rmap(filekind)
    except Exception as exc:
        raise SubmissionError(
            f"Context {pmap.basename!r} has no rules for {instrument} {filekind}: {exc}. "
            f"Submit a new rmap first (mappings submission)."
        ) from exc
    if isinstance(found, str):  # N/A or OMIT
        raise SubmissionError(f"{instrument} {filekind} is {found} in {pmap.basename!r}.")
    return found


def insert_references(context: str, references: list[Path], staging: Path, taken: Taken,
                      report: CertifyReport, sink: LogFn = ignore_log) -> dict[str, str]:
    """Insert staged `references` into new rmaps in `staging`; return {old rmap: new rmap}.

    Library messages (inserting, identical match cases) go to the report
    under the new rmap's name; errors there mean the update is unusable.
    """
    observatory = utils.file_to_observatory(context)
    pmap = load_context(context)
    groups = utils.organize_files(observatory, [str(p) for p in references])
    replaced: dict[str, str] = {}
    for (instrument, filekind), group in sorted(groups.items()):
        old = governing_rmap(pmap, instrument, filekind)
        sink("log_message", f"Resolved old rmap {old.basename!r} for {instrument} {filekind}.")
        new_name = next_mapping_name(old.basename, taken)
        new_path = staging / new_name
        with capture(report.result(new_name), sink, strip=(str(staging),)):
            refactor.rmap_insert_references(config.locate_mapping(old.basename), str(new_path), group,
                                            observatory=observatory)
            refactor.update_derivation(str(new_path), old.basename)
        sink("log_message", f"Generated {new_name!r} from {old.basename!r}.")
        replaced[old.basename] = new_name
    return replaced


def generate_contexts(context: str, new_rmaps: list[str], staging: Path, taken: Taken,
                      report: CertifyReport, sink: LogFn = ignore_log) -> dict[str, str]:
    """Write new .imaps and a new .pmap using `new_rmaps` (in staging); return {old: new}."""
    updates = newcontext.get_update_map(context, [str(staging / name) for name in new_rmaps])
    names = {context: str(staging / next_mapping_name(context, taken))}
    for imap in sorted(updates):
        names[imap] = str(staging / next_mapping_name(os.path.basename(imap), taken))
    pmap_result = report.result(Path(names[context]).name)
    with capture(pmap_result, sink, strip=(str(staging),)):
        newcontext.generate_new_contexts(context, updates, names)
        for old, new in sorted(names.items()):
            refactor.update_derivation(new, os.path.basename(old))
    generated = {os.path.basename(old): Path(new).name for old, new in names.items()}
    for old, new in sorted(generated.items(), key=lambda item: item[1].endswith(".pmap")):
        sink("log_message", f"Generated {new!r} from {old!r}.")
    return generated


@contextlib.contextmanager
def mapping_view(context: str, staging: Path, new_mappings: list[str], replaced: list[str]) -> Iterator[Path]:
    """A temporary directory linking the mappings that diffs of `replaced` -> new will load.

    Those are the old .pmap, every .imap it names, the rmaps named by each
    replaced .imap (all from the store), and `new_mappings` (from staging).
    Names are read from the raw selectors, so nothing else is loaded.
    """
    pmap = load_context(context)
    needed = {context} | {name for name in pmap.selector.values() if config.is_mapping(name)}
    for imap in (name for name in replaced if name.endswith(".imap")):
        needed |= {n for n in rmap.get_cached_mapping(imap).selector.values() if config.is_mapping(n)}
    with tempfile.TemporaryDirectory(prefix="crds-view-") as tmp:
        view = Path(tmp)
        for name in needed - set(new_mappings):
            os.symlink(config.locate_mapping(name), view / name)
        for name in new_mappings:
            os.symlink((staging / name).resolve(), view / name)
        yield view


def logical_diffs(view: Path, old: str, new: str) -> list[dict[str, Any]]:
    """The library's logical differences between mappings `old` and `new`, both read from `view`."""
    old_map = rmap.load_mapping(old, path=str(view), ignore_checksum=True)
    new_map = rmap.load_mapping(new, path=str(view), ignore_checksum=True)
    prefix = str(view) + "/"
    rows = []
    for difference in old_map.difference(new_map):
        simple = crds_diff.unquote_diff(difference)
        text = str(tuple(simple)).replace(prefix, "")
        steps = [tuple(str(part).replace(prefix, "") for part in step) if isinstance(step, tuple)
                 else str(step).replace(prefix, "") for step in simple]
        rows.append({"action": crds_diff.diff_action(difference), "steps": steps, "text": text})
    return rows


def text_diff(old_path: Path, new_path: Path) -> str:
    """A unified diff of two mapping files, named by their basenames."""
    old_lines = old_path.read_text().splitlines(keepends=True)
    new_lines = new_path.read_text().splitlines(keepends=True)
    return "".join(difflib.unified_diff(old_lines, new_lines, old_path.name, new_path.name))


def selection_problem(rmap_path: Path, reference: Path) -> str | None:
    """None if the rmap at `rmap_path` selects `reference` for a header made from the
    reference's own matching values (USEAFTER as the observation date), else why not."""
    mapping = rmap.load_mapping(str(rmap_path), ignore_checksum=True)
    if mapping.get_hook("rmap_update_headers", None):
        return None  # the header varies by type-specific hooks; no cheap check
    header = mapping.get_refactor_header(str(reference))
    chosen = mapping.get_best_ref(header)
    if chosen == reference.name:
        return None
    return (f"{rmap_path.name!r} selects {chosen!r}, not {reference.name!r}, for the "
            f"matching values of {reference.name!r}; an existing case may shadow it.")


def checksum_problem(path: Path) -> str | None:
    """None if the mapping at `path` loads with a correct embedded sha1sum, else the error."""
    try:
        rmap.Mapping.from_file(str(path))
    except Exception as exc:
        return f"{path.name!r}: {exc}"
    return None


def named_mappings(path: Path) -> set[str]:
    """The mappings an .imap or .pmap file names in its selector (raw values, nothing loaded)."""
    mapping = rmap.Mapping.from_file(str(path), ignore_checksum=True)
    return {str(value) for value in mapping.selector.values() if config.is_mapping(str(value))}


def in_store(name: str) -> bool:
    """Whether the mapping `name` has its bytes in the server's store (the library's cache)."""
    try:
        return os.path.exists(config.locate_mapping(name))
    except Exception:
        return False


def rename_selections(path: Path, renamed: dict[str, str]) -> bool:
    """Make the .imap/.pmap at `path` name `renamed[old]` wherever it names `old`; rewrite
    it (with a fresh checksum) when anything changed."""
    mapping = rmap.Mapping.from_file(str(path), ignore_checksum=True)
    changed = False
    for key, value in list(mapping.selector.items()):
        if str(value) in renamed and renamed[str(value)] != str(value):
            mapping.selector[key] = renamed[str(value)]
            changed = True
    if changed:
        mapping.write(str(path))
    return changed


def rmaps_naming(context: str, references: list[str]) -> dict[str, list[str]]:
    """{rmap of `context`: the `references` it names}; a reference named by none is left out."""
    pmap = load_context(context)
    wanted, found = set(references), {}
    for imap in pmap.selections.normal_values():
        for mapping in imap.selections.normal_values():
            named = sorted(wanted & set(mapping.reference_names()))
            if named:
                found[mapping.basename] = named
    return found


def delete_references(context: str, references: list[str], staging: Path, taken: Taken,
                      report: CertifyReport, sink: LogFn = ignore_log) -> dict[str, str]:
    """Write new rmaps in `staging` without `references` (S10); return {old rmap: new rmap}."""
    replaced: dict[str, str] = {}
    for old, group in sorted(rmaps_naming(context, references).items()):
        new_name = next_mapping_name(old, taken)
        new_path = staging / new_name
        with capture(report.result(new_name), sink, strip=(str(staging),)):
            refactor.rmap_delete_references(config.locate_mapping(old), str(new_path), group)
            refactor.update_derivation(str(new_path), old)
        sink("log_message", f"Generated {new_name!r} from {old!r} without {', '.join(group)}.")
        replaced[old] = new_name
    return replaced


def context_selection_problem(view: Path, context: str, rmap_name: str, reference: Path) -> str | None:
    """None if the new context `context` (loaded from `view`) selects `reference` for a header
    made from the reference's own matching values, as its new rmap `rmap_name` does; else why not."""
    new_rmap = rmap.load_mapping(rmap_name, path=str(view), ignore_checksum=True)
    if new_rmap.get_hook("rmap_update_headers", None):
        return None  # the header varies by type-specific hooks; no cheap check
    pmap = rmap.load_mapping(context, path=str(view), ignore_checksum=True)
    header = dict(new_rmap.get_refactor_header(str(reference)))
    header[pmap.instrument_key] = new_rmap.instrument.upper()
    filekind = new_rmap.filekind.lower()
    chosen = pmap.get_best_references(header, include=[filekind]).get(filekind)
    if chosen == reference.name:
        return None
    return (f"The new context {context!r} selects {chosen!r}, not {reference.name!r}, for the "
            f"matching values of {reference.name!r}, although {rmap_name!r} does.")
