"""Errors of the reprocessing (affected datasets) app."""

from __future__ import annotations


class ReprocessingError(Exception):
    """Base of the app's domain errors."""


class ResultsNotReady(ReprocessingError):
    """No finished affected-datasets run exists for a transition (yet)."""
