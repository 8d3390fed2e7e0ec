"""Upload handlers that enforce size limits while the bytes stream in.

Django gives every file part of a multipart body to the handlers of
settings.FILE_UPLOAD_HANDLERS; this one is Django's temporary-file handler
(files land in FILE_UPLOAD_TEMP_DIR) with three rules added:

- only an authenticated submitter may send files: anyone else's first file
  part stops the upload before its temporary file exists;
- a file stops the upload as soon as it passes UPLOAD_MAX_BYTES, and the
  request as soon as its files together pass `request_limit()`, whatever the
  Content-Length said (or if there was none);
- a stopped upload deletes its temporary file at once and reads no further
  (StopUpload with connection_reset), and says why in `refusal`, which the
  request guard (security/middleware.py) turns into the answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NoReturn

from django.conf import settings
from django.core.files.uploadhandler import StopUpload, TemporaryFileUploadHandler
from django.http import HttpRequest, QueryDict
from django.utils.datastructures import MultiValueDict

from crds_server.accounts.actions import has_role

# Room for the form fields, part headers and boundaries around the files of one request.
MULTIPART_OVERHEAD = 1024 * 1024


def file_limit() -> int:
    """The largest file one upload may carry."""
    return int(settings.UPLOAD_MAX_BYTES)


def request_limit() -> int:
    """The largest multipart body a submitter may send: one file at the limit plus its form."""
    return file_limit() + MULTIPART_OVERHEAD


@dataclass(frozen=True)
class Refusal:
    """Why an upload was stopped: the HTTP status to answer with and a message for the user."""

    status: int
    message: str


def uploader_refusal(request: HttpRequest) -> Refusal | None:
    """Why `request`'s user may not send files (401 anonymous, 403 not a submitter), or None."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return Refusal(401, "Log in first (/login/): only a logged-in submitter may upload files.")
    if not has_role(user, "submitter"):
        return Refusal(403, f"User '{user.username}' may not upload files.")
    return None


class BoundedUploadHandler(TemporaryFileUploadHandler):
    """Django's temporary-file handler, stopped as soon as a file or the request passes its limit."""

    def __init__(self, request: HttpRequest | None = None) -> None:
        super().__init__(request)
        self.refusal: Refusal | None = None
        self.received = 0  # file bytes of the whole request so far

    def handle_raw_input(self, input_data: Any, META: dict, content_length: int, boundary: bytes,
                         encoding: str | None = None) -> tuple[QueryDict, MultiValueDict] | None:
        """Refuse a declared length over the request limit without reading (the guard does too)."""
        if content_length > request_limit():
            self.refusal = Refusal(413, f"Upload of {content_length} bytes exceeds the limit of "
                                        f"{request_limit()} bytes per request.")
            return QueryDict(encoding=encoding), MultiValueDict()
        return None

    def new_file(self, field_name: str, file_name: str, *args: Any, **kwargs: Any) -> None:
        """Open the temporary file, unless this user may not upload files at all."""
        self.file_name = file_name
        refusal = uploader_refusal(self.request) if self.request is not None else None
        if refusal:
            self._stop(refusal)
        super().new_file(field_name, file_name, *args, **kwargs)

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        """Count the bytes, stop past a limit, else write them to the temporary file."""
        self.received += len(raw_data)
        if start + len(raw_data) > file_limit():
            self._stop(Refusal(413, f"File '{self.file_name}' exceeds the upload limit of "
                                    f"{file_limit()} bytes."))
        if self.received > request_limit():
            self._stop(Refusal(413, f"The files of this request exceed the limit of {request_limit()} "
                                    "bytes per request."))
        return super().receive_data_chunk(raw_data, start)

    def _stop(self, refusal: Refusal) -> NoReturn:
        """Delete the temporary file now and end the parse without reading the rest of the body."""
        self.refusal = refusal
        self.upload_interrupted()
        raise StopUpload(connection_reset=True)
