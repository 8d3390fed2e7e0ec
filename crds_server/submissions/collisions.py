"""Edit collision warnings (feature map S6): what confirming a submission could silently undo.

Mappings are tracked by `derived_from` (the old rmaps a submission replaced),
references by their uploaded names, as STScI's server does.  Three cases:
the edit context moved since the submission was derived; another ready
submission, or one confirmed since this one started, derives a new rmap from
the same rmap; or it adds a file of the same uploaded name for the same
instrument.  Someone else's pending work is described, not named (its new
names, submitter and id are shown to its own submitter and operators only).
Forcing past a moved edit context is refused when the changes it would drop
touch an instrument whose lock the submission does not hold, unless an
operator forces it (`dropped_instruments`).
"""

from __future__ import annotations

from typing import Any

from crds.core import config
from django.db.models import Q

from crds_server.catalog import contexts

from .models import Submission

MAX_OTHERS = 500  # ready or recently confirmed submissions compared; there are only ever a few


def collisions(submission: Submission, viewer: Any = None) -> list[str]:
    """The collision warnings of `submission` (empty: none) as `viewer` may read them;
    confirm refuses them unless forced."""
    warnings = _edit_moved(submission)
    mine = submission.result or {}
    rules, uploads = _derivations(mine), _uploads(mine)
    if not rules and not uploads:
        return warnings
    for other in _others(submission):
        theirs = other.result or {}
        shown = _may_see(viewer, other)
        who = (f"submission {other.id} by {other.user.username}, {other.status}" if shown
               else "another submitter's submission, " + other.status)
        their_rules = _derivations(theirs)
        for old in sorted(rules.keys() & their_rules.keys()):
            theirs_named = f"'{their_rules[old]}' ({who})" if shown else f"a new rmap of {who}"
            warnings.append(
                f"'{rules[old]}' and {theirs_named} were both derived from '{old}': "
                f"confirming both loses the changes of one.  Do not confirm unless the collision "
                f"is known to be harmless.")
        their_uploads = _uploads(theirs)
        for key in sorted(uploads.keys() & their_uploads.keys()):
            delivered = f"as '{their_uploads[key]}' " if shown else ""
            warnings.append(f"A file uploaded as '{key[0]}' is also delivered {delivered}({who}); "
                            f"this submission names it '{uploads[key]}'.")
    return warnings


def _may_see(viewer: Any, other: Submission) -> bool:
    from crds_server.accounts.actions import has_role

    return viewer is not None and (viewer.pk == other.user_id or has_role(viewer, "operator"))


def dropped_instruments(submission: Submission) -> set[str]:
    """The instruments whose changes in the current edit context confirming `submission`
    would drop (it derives from an older context), as far as the submission does not hold them."""
    from pathlib import Path

    from crds.core import config

    from .scope import pmap_instruments

    edit = contexts.pointer("edit")
    if not edit or edit in (submission.derive_from, submission.new_context()):
        return set()
    try:
        changed = pmap_instruments(Path(config.locate_mapping(edit)), submission.derive_from)
    except Exception:  # unreadable: assume every instrument is concerned
        return {"(unknown)"}
    return changed - set(submission.instruments)


def _edit_moved(submission: Submission) -> list[str]:
    edit = contexts.pointer("edit")
    if not edit or edit == submission.derive_from or edit == submission.new_context():
        return []
    return [f"The edit context is now '{edit}', not '{submission.derive_from}' this submission was "
            f"derived from: confirming would drop the changes made in '{edit}'. Cancel and "
            f"resubmit to include them, or force the confirmation."]


def _others(submission: Submission):
    since = Q(status=Submission.CONFIRMED, updated__gte=submission.created)
    return (Submission.objects.filter(Q(status=Submission.READY) | since)
            .exclude(pk=submission.pk).exclude(kind="certify")
            .select_related("user").order_by("-updated")[:MAX_OTHERS])


def _derivations(result: dict[str, Any]) -> dict[str, str]:
    """{old rmap or imap: the new mapping derived from it} (pmaps: the edit-moved warning)."""
    return {old: new for old, new in (result.get("replaced_rmaps") or {}).items()
            if not old.endswith(".pmap")}


def _uploads(result: dict[str, Any]) -> dict[tuple[str, str], str]:
    """{(uploaded name, instrument): official name} of the references a submission adds."""
    meta = result.get("metadata") or {}
    return {(up, str((meta.get(new) or {}).get("instrument") or "").lower()): new
            for up, new in (result.get("renamed") or {}).items() if not config.is_mapping(up)}
