"""Upload handlers that enforce size limits while the bytes stream in."""

from __future__ import annotations

from django.core.files.uploadhandler import TemporaryFileUploadHandler


class BoundedUploadHandler(TemporaryFileUploadHandler):
    """Placeholder: Django's temporary-file handler."""
