"""Domain errors of submissions.  The class name leads every RPC error message."""

from __future__ import annotations

from typing import Any


class SubmissionError(Exception):
    """A submission that cannot go on; `report` holds the certify results when they caused it."""

    def __init__(self, message: str, report: Any = None) -> None:
        super().__init__(message)
        self.report = report


class ReplicaRefusal(SubmissionError):
    """A submission to a read-only replica: it must be made on the replica's source."""
