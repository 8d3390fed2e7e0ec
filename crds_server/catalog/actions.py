"""Catalog actions: verbs that change context pointers, bad-file flags and pipeline reports."""

from __future__ import annotations

from crds.core import config as crds_config
from django.db import transaction
from django.utils import timezone

from crds_server.lib import plaintext
from crds_server.replica.guard import refuse_if_replica
from crds_server.security import actions as pipeline_keys

from . import activation, badfiles, contexts, versioning
from .errors import BadContextError, NotArchivedError, UnknownContextError
from .models import AuditEntry, BuildContext, ContextHistory, ContextPointer, File, RemoteContext

KINDS = ("latest", "edit", "build", "versions")


# Reasons and descriptions: the characters submission descriptions allow (features.md O1).


def set_context(user: str, context: str, kind: str, reason: str, calver: str | None = None,
                expected: str | None = None, force: bool = False, banner: bool = True) -> str:
    """Make `context` the server's `kind` context; returns the previous one.

    Latest changes are appended to the context history.  A bad context can
    never become latest (the latest context contains no known-bad files),
    nor can one naming files the archive does not hold yet, unless `force`
    (the audit entry then lists them).  The new latest .pmap takes the state
    `latest` and its never-active files their activation date; the previous
    one goes back to its delivery's state.  With `expected` (what the
    operator reviewed the change against), the move is refused if someone
    else moved the pointer meanwhile.  A build context moves the home page
    banner (the pipeline build context) only with `banner`, and only
    forward: to a calibration version no older than the banner's.
    """
    refuse_if_replica(BadContextError)
    kind = contexts.TAGS.get(kind, kind)
    if kind not in KINDS:
        raise BadContextError(f"Unknown context kind '{kind}'; use one of {', '.join(KINDS)}.")
    reason = check_reason(reason)
    row = _require_pmap(context)
    if row.is_bad() and kind in ("latest", "build"):
        raise BadContextError(f"Context '{context}' is marked bad and cannot become {kind}.")
    names, waiting = _latest_files(context, force) if kind == "latest" else (set(), [])
    with transaction.atomic():
        shown = contexts.newest_build() if kind == "build" else ("", "")
        old = _move_build(context, calver, expected) if kind == "build" \
            else _move_pointer(kind, context, expected)
        placed = _place_banner(shown, calver or "", context, banner) if kind == "build" else ""
        if kind == "latest":
            now = timezone.now()
            ContextHistory.objects.create(start_date=now, context=context, description=reason, user=user)
            activation.activate(context, names, now)
        AuditEntry.objects.create(
            user=user, action="set context", filename=context, why=reason,
            details=f"{kind} context changed from '{old or ''}' to '{context}'"
            + (f" for calibration version {calver}" if calver else "") + placed
            + (f"; forced with {len(waiting)} file(s) not archived: {_listed(waiting)}" if waiting else ""),
        )
        versioning.bump()
    return old or ""


def _latest_files(context: str, force: bool) -> tuple[set[str], list[str]]:
    """(every file `context` names, those not archived yet); refused if some are, unless `force`."""
    names = activation.closure(context)
    spoiled = activation.bad(names)
    if spoiled:  # never forced: mark them OK first if they are not bad after all
        raise BadContextError(f"Context '{context}' names {len(spoiled)} bad file(s): {_listed(spoiled)}; "
                              "a bad file can never be in the latest context.")
    waiting = activation.unarchived(names)
    if waiting and not force:
        raise NotArchivedError(
            f"Context '{context}' names {len(waiting)} file(s) the archive does not hold yet: "
            f"{_listed(waiting)}.  Wait for the archive, or force the change.")
    return names, waiting


def _move_pointer(kind: str, context: str, expected: str | None) -> str | None:
    old = (ContextPointer.objects.select_for_update().filter(kind=kind)
           .values_list("context", flat=True).first())
    _check_expected(kind, old, expected)
    ContextPointer.objects.update_or_create(kind=kind, defaults={"context": context})
    return old


def check_reason(reason: object, action: str = "change a context") -> str:
    """The reason for a change, stripped: required, bounded, in the characters of descriptions."""
    text = reason.strip() if isinstance(reason, str) else ""
    if not text:
        raise BadContextError(f"A reason is required to {action}.")
    refused = plaintext.problem(text, "reason")
    if refused:
        raise BadContextError(refused)
    return text


def _listed(items: list[str], shown: int = 10) -> str:
    more = len(items) - shown
    return ", ".join(items[:shown]) + (f" and {more} more" if more > 0 else "")


def _move_build(context: str, calver: str | None, expected: str | None) -> str | None:
    if not calver:
        raise BadContextError("A build context needs --calver (calibration software version).")
    contexts.version_key(calver)
    old = (BuildContext.objects.select_for_update().filter(calver=calver)
           .values_list("context", flat=True).first())
    _check_expected("build", old, expected)
    BuildContext.objects.update_or_create(calver=calver, defaults={"context": context})
    return old


def _place_banner(shown: tuple[str, str], calver: str, context: str, update: bool) -> str:
    """Move the banner to `context` if asked and `calver` is not older than the banner's version;
    otherwise keep the banner where it was (`shown`).  Returns what the audit should say."""
    if update and (not shown[0] or contexts.version_key(calver) >= contexts.version_key(shown[0])):
        ContextPointer.objects.update_or_create(kind="build", defaults={"context": context})
        return "; home page banner updated"
    if not shown[1]:
        return "; the home page banner shows it, the first build context"
    ContextPointer.objects.update_or_create(kind="build", defaults={"context": shown[1]})
    why = f"calibration version {shown[0]} is newer" if update else "not asked to update it"
    return f"; home page banner kept at {shown[1]} ({why})"


def _check_expected(kind: str, old: str | None, expected: str | None) -> None:
    if expected is not None and (old or "") != expected:
        raise BadContextError(f"The {kind} context changed to '{old or ''}' since your preview: "
                              f"check the difference again.")


def _require_pmap(context: str) -> File:
    if not isinstance(context, str) or not context.endswith(".pmap") or not crds_config.is_mapping(context):
        raise BadContextError(f"'{context}' is not a pipeline context (.pmap) name.")
    row = File.objects.public().filter(name=context, type=File.MAPPING).first()
    if row is None:  # pending contexts (of unconfirmed submissions) are unknown until confirmed
        raise UnknownContextError(f"Unknown context '{context}'.")
    return row


def push_remote_context(observatory: str, kind: str, key: str, context: str) -> str:
    """Record the context a pipeline's cache reports after `crds sync --push-context KEY`.

    The key is the pipeline's secret, made by `crds-server pipeline-key create`:
    it names the pipeline (one indexed lookup), and unknown or revoked keys are
    refused before anything else is looked at.  Each pipeline has one row,
    read back by name with `get_remote_context`.  Returns the pipeline name.
    """
    pipeline = pipeline_keys.pipeline_for_key(key)
    if kind not in ("latest", "operational"):
        raise BadContextError(f"Unknown remote context kind '{kind}'; expected 'latest'.")
    _require_pmap(context)
    RemoteContext.objects.update_or_create(
        pipeline=pipeline, defaults={"context": context, "key_hash": pipeline_keys.digest(key)})
    return pipeline


def get_remote_context(pipeline: str) -> str:
    """The context last pushed for pipeline `pipeline` (by name: names are public, keys secret)."""
    row = RemoteContext.objects.filter(pipeline=pipeline).first()
    if row is None:
        raise UnknownContextError(f"No context has been reported for pipeline '{pipeline}'.")
    return row.context


def mark_bad(user: str, names: list[str], reason: str, kind: str | None = None,
             force: bool = False) -> badfiles.BadPlan:
    """Mark files bad: references are rejected, mappings blacklisted with every mapping containing them.

    `kind` "rejected" flags only the named files; "blacklisted" spreads for
    any file; None picks per file.  Files of the latest context are refused
    unless `force` (the latest context must stay clean).  Returns what changed.
    """
    refuse_if_replica(BadContextError)
    _require_reason(reason)
    with transaction.atomic():
        plan = badfiles.plan_bad(names, kind)
        if not force:
            badfiles.refuse_latest(plan)
        return _apply(user, plan, True, reason)


def mark_ok(user: str, names: list[str], reason: str) -> badfiles.BadPlan:
    """Clear the bad flags of files, and the blacklist of every mapping only they tainted."""
    refuse_if_replica(BadContextError)
    _require_reason(reason)
    with transaction.atomic():
        plan = badfiles.plan_ok(names)
        return _apply(user, plan, False, reason)


def _apply(user: str, plan: badfiles.BadPlan, bad: bool, reason: str) -> badfiles.BadPlan:
    """Set the planned flags to `bad` (conditional updates), audit each file changed, bump."""
    done = badfiles.BadPlan(
        rejected=_flag(plan.rejected, "rejected", bad),
        blacklisted=_flag(plan.blacklisted, "blacklisted", bad))
    done.spread = [n for n in plan.spread if n in done.blacklisted]
    action = "mark bad" if bad else "mark ok"
    for name in plan.names():
        if name in done.rejected or name in done.blacklisted:
            AuditEntry.objects.create(user=user, action=action, filename=name, why=reason,
                                      details=_flag_details(name, done, cleared=not bad))
    if done.names():
        versioning.bump()
    return done


def _require_reason(reason: str) -> None:
    check_reason(reason, "mark files bad or OK")


def _flag(names: list[str], flag: str, value: bool) -> list[str]:
    """Set `flag` on each file whose flag differs; returns the names that changed."""
    return [n for n in names if File.objects.filter(name=n, **{flag: not value}).update(**{flag: value})]


def _flag_details(name: str, done: badfiles.BadPlan, cleared: bool = False) -> str:
    flags = [f for f, names in (("rejected", done.rejected), ("blacklisted", done.blacklisted))
             if name in names]
    verb = "no longer " if cleared else ""
    why = " (contains a blacklisted file)" if name in done.spread else ""
    return f"{verb}{' and '.join(flags)}{why}"
