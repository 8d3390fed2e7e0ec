"""Edit collision warnings (feature map S6): what confirming a submission could silently undo.

Mappings are tracked by `derived_from` (the old rmaps a submission replaced),
references by their uploaded names, as STScI's server does.  Three cases:
the edit context moved since the submission was derived; another ready
submission, or one confirmed since this one started, derives a new rmap from
the same rmap; or it adds a file of the same uploaded name.
"""

from __future__ import annotations

from typing import Any

from crds.core import config
from django.db.models import Q

from crds_server.catalog import contexts

from .models import Submission

MAX_OTHERS = 500  # ready or recently confirmed submissions compared; there are only ever a few


def collisions(submission: Submission) -> list[str]:
    """The collision warnings of `submission` (empty: none); confirm refuses them unless forced."""
    warnings = _edit_moved(submission)
    mine = submission.result or {}
    rules, uploads = _derivations(mine), _uploads(mine)
    if not rules and not uploads:
        return warnings
    for other in _others(submission):
        theirs = other.result or {}
        who = f"submission {other.id} by {other.user.username}, {other.status}"
        their_rules = _derivations(theirs)
        for old in sorted(rules.keys() & their_rules.keys()):
            warnings.append(
                f"'{rules[old]}' and '{their_rules[old]}' ({who}) were both derived from '{old}': "
                f"confirming both loses the changes of one.  Do not confirm unless the collision "
                f"is known to be harmless.")
        their_uploads = _uploads(theirs)
        for name in sorted(uploads.keys() & their_uploads.keys()):
            warnings.append(f"A file uploaded as '{name}' is also delivered as '{their_uploads[name]}' "
                            f"({who}); this submission names it '{uploads[name]}'.")
    return warnings


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


def _uploads(result: dict[str, Any]) -> dict[str, str]:
    """{uploaded name: official name} of the references a submission adds."""
    return {up: new for up, new in (result.get("renamed") or {}).items() if not config.is_mapping(up)}
