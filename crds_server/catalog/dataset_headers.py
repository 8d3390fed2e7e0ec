"""The primary header of a dataset file someone uploads for best references.

Only the primary header is read (astropy reads no data), and the file itself is
never kept: the caller hands over Django's upload, which is deleted with the request.
"""

from __future__ import annotations

from typing import IO

from astropy.io import fits

from .headers import HeaderSyntaxError

UPLOAD_MAX_BYTES = 512 * 1024 * 1024
MAX_CARDS = 5000
SKIPPED = ("", "COMMENT", "HISTORY")


def primary_header(stream: IO[bytes], size: int) -> dict[str, str]:
    """{KEYWORD: value} of the primary HDU of the FITS file in `stream` (HeaderSyntaxError if not)."""
    if size > UPLOAD_MAX_BYTES:
        raise HeaderSyntaxError(f"The file is {size:,} bytes; datasets up to {UPLOAD_MAX_BYTES:,} bytes "
                                f"are read here (or paste its header).")
    try:
        stream.seek(0)
        header = fits.Header.fromfile(stream, endcard=True, padding=False)
    except Exception as exc:  # astropy raises OSError, ValueError, ... on a file that is not FITS
        raise HeaderSyntaxError(f"Not a FITS file, or its primary header is unreadable: {exc}") from exc
    found: dict[str, str] = {}
    for card in list(header.cards)[:MAX_CARDS]:
        if card.keyword not in SKIPPED:
            found[card.keyword.upper()] = str(card.value).strip()
    if not found:
        raise HeaderSyntaxError("The file's primary header has no keywords.")
    return found
