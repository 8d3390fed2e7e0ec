"""E-mail notices about submissions and deliveries, to the submitter and the notify list.

Every notice is one message with a text body and an HTML alternative,
rendered from `notify/notice.txt` and `notify/notice.html` (autoescaped).
Mail trouble is logged and never stops the caller's work.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from . import addresses, links
from .errors import UnknownNoticeKind

log = logging.getLogger(__name__)

# kind -> (subject, opening sentence); {username} is filled in.
NOTICES = {
    "started": ("Submission started", "{username}'s submission has started."),
    "ready": ("Submission ready", "{username}'s submission is ready: review the results, "
              "then confirm or cancel it."),
    "confirmed": ("Submission confirmed", "{username}'s submission was confirmed: its files are "
                  "official and on their way to the archive."),
    "cancelled": ("Submission cancelled", "{username}'s submission was cancelled: nothing was "
                  "added to the catalog."),
    "failed": ("Submission failed", "{username}'s submission failed: nothing was added to the "
               "catalog."),
    "delivered": ("Files delivered", "Files confirmed by {username} were delivered to the archive."),
    "archived": ("Delivery archived", "The archive has archived the files delivered by {username}."),
    "archiving-failed": ("Archiving failed", "The archive could not archive the files delivered "
                         "by {username}: an operator should look into it, then run "
                         "crds-server redeliver."),
    "affected": ("Affected datasets", "The datasets affected by a change of the latest context "
                 "have been computed."),
    "ops-report": ("Operations report", "The server's scheduled checks ran."),
    "job-failed": ("Scheduled job failed", "A scheduled job of the server failed; it runs again "
                   "at its next time."),
}


def send_notice(kind: str, *, user_email: str, username: str, subject_detail: str,
                context: dict[str, Any]) -> int:
    """Mail a `kind` notice to the submitter, the submission's other_email addresses (ReDCaT)
    and settings.NOTIFY_LIST; returns the number of recipients reached.

    `context` may carry description, files ({old: new}, (old, new) pairs or
    names), new_context, result_url (or url), log_url, errors (or error) and
    catalog.  Sending failures are logged and give 0; an unknown kind raises.
    """
    if kind not in NOTICES:
        raise UnknownNoticeKind(f"Unknown notice kind '{kind}'.")
    others = _other_addresses(context)
    recipients = list(dict.fromkeys(a for a in [user_email, *others, *settings.NOTIFY_LIST] if a))
    if not recipients:
        log.info("The %s notice about %s has no recipient.", kind, subject_detail)
        return 0
    try:
        message = _message(kind, recipients, username, subject_detail, context)
        return len(recipients) if message.send() else 0
    except Exception:
        log.exception("The %s notice about %s could not be sent to %s.", kind, subject_detail,
                      ", ".join(recipients))
        return 0


def _other_addresses(context: dict[str, Any]) -> list[str]:
    """The other_email addresses a ReDCaT submitter asked to be told (checked at submit)."""
    extra = getattr(context.get("submission"), "extra", None) or {}
    return addresses.lenient(str(extra.get("other_email") or ""))


def subject(kind: str, detail: str) -> str:
    """`[CRDS hst dev] Submission confirmed: hst_0002.pmap` (one line, as headers must be)."""
    detail = " ".join(str(detail).split())[:120]
    title = NOTICES[kind][0]
    return f"[CRDS {settings.OBSERVATORY} {settings.USECASE}] {title}" + (f": {detail}" if detail else "")


def _message(kind: str, recipients: list[str], username: str, detail: str,
             context: dict[str, Any]) -> EmailMultiAlternatives:
    values = {**context, **_normalized(context), "kind": kind, "username": username,
              "intro": NOTICES[kind][1].format(username=username or "A user"),
              "observatory": settings.OBSERVATORY, "usecase": settings.USECASE,
              "server_url": settings.PUBLIC_URL}
    values, dropped = links.without_unreachable(values)
    if dropped:
        log.warning("The %s notice leaves out links to this machine (%s): no public URL is "
                    "configured for this process.", kind, ", ".join(dropped))
    message = EmailMultiAlternatives(
        subject(kind, detail), render_to_string("notify/notice.txt", values),
        settings.DEFAULT_FROM_EMAIL, recipients)
    message.attach_alternative(render_to_string("notify/notice.html", values), "text/html")
    return message


def _normalized(context: dict[str, Any]) -> dict[str, Any]:
    """The template's fields from the caller's loosely shaped context."""
    files = context.get("files") or []
    if isinstance(files, dict):
        pairs = [(str(old), str(new)) for old, new in files.items()]
    else:
        pairs = [(str(f), str(f)) if isinstance(f, str) else (str(f[0]), str(f[1])) for f in files]
    errors = context.get("errors") or ([context["error"]] if context.get("error") else [])
    return {"files": pairs, "errors": [str(e) for e in errors],
            "result_url": context.get("result_url") or context.get("url") or "",
            "description": str(context.get("description") or "")}
