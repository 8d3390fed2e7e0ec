"""Domain errors of notifications.  Sending failures are logged, never raised."""

from __future__ import annotations


class NotifyError(Exception):
    """Base of every error of the notify app."""


class UnknownNoticeKind(NotifyError):
    """A notice kind with no subject or template: a programming error of the caller."""
