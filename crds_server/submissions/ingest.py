"""The per-user ingest area: files uploaded (or copied in by hand) before a submission.

Each user has a directory ``SERVER_FILES/ingest/<username>``; whatever plain
file sits there is what the user's next submission delivers (contract §5.4).
Chunked uploads (contract §5.3) are put together in the hidden directory
``.partial`` and renamed into place only when their last byte arrives, so a
half-uploaded file is never listed or submitted.  Nothing here holds a
whole file in memory.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import secrets
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.contrib.auth.models import User

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,127}$")
PARTIAL = ".partial"
# Listing gives a sha1 only for files this small: hashing is cheap there.
SHA1_MAX_BYTES = 8 * 1024 * 1024
_RANGE = re.compile(r"^\s*bytes\s+(\d+)-(\d+)/(\d+)\s*$")
_BLOCK = 1024 * 1024

ContentRange = tuple[int, int, int]


class IngestError(Exception):
    """An upload, listing or deletion the ingest area refuses."""


class UploadTooLarge(IngestError):
    """A file larger than settings.UPLOAD_MAX_BYTES."""


class NotInIngest(IngestError):
    """No such file in the user's ingest area."""


def ingest_dir(user: User, create: bool = False) -> Path:
    """The ingest directory of `user` (made on demand when `create`)."""
    name = user.username
    if not name or "/" in name or "\0" in name or name in (".", ".."):
        raise IngestError(f"User name {name!r} cannot name an ingest directory.")
    root = Path(settings.SERVER_FILES) / "ingest"
    path = root / name
    if create:
        (path / PARTIAL).mkdir(parents=True, exist_ok=True)
    return path


def check_name(name: str) -> str:
    """`name` if it is a plain file name of the ingest area; IngestError otherwise."""
    if not isinstance(name, str) or not NAME.match(name) or ".." in name:
        raise IngestError(
            f"Bad file name {name!r}: use 1-128 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit, with no '..'."
        )
    return name


def _path(user: User, name: str, create: bool = False) -> Path:
    folder = ingest_dir(user, create)
    path = folder / check_name(name)
    if path.parent != folder:  # belt and braces: the name pattern already forbids this
        raise IngestError(f"File name {name!r} escapes the ingest directory.")
    return path


def list_files(user: User) -> list[dict[str, Any]]:
    """Every complete file of the user's ingest area, sorted by name (jQuery-File-Upload shape)."""
    folder = ingest_dir(user)
    if not folder.is_dir():
        return []
    return [_entry(path) for path in _complete_files(folder)]


def ingest_paths(user: User) -> list[Path]:
    """The paths of the files the user's next submission delivers."""
    folder = ingest_dir(user)
    return list(_complete_files(folder)) if folder.is_dir() else []


def _complete_files(folder: Path) -> Iterator[Path]:
    for path in sorted(folder.iterdir()):
        if not path.name.startswith(".") and path.is_file():
            yield path


def _entry(path: Path) -> dict[str, Any]:
    size = path.stat().st_size
    entry: dict[str, Any] = {"name": path.name, "size": size,
                             "deleteUrl": f"/upload/delete/{path.name}", "deleteType": "GET"}
    if size <= SHA1_MAX_BYTES:
        entry["sha1"] = _sha1(path)
    return entry


def _sha1(path: Path) -> str:
    digest = hashlib.sha1()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(_BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def delete_file(user: User, name: str) -> None:
    """Remove `name` (and any unfinished upload of it) from the user's ingest area."""
    path = _path(user, name)
    removed = False
    for candidate in (path, _data_path(path), _meta_path(path)):
        with contextlib.suppress(FileNotFoundError):
            candidate.unlink()
            removed = True
    if not removed:
        raise NotInIngest(f"'{name}' is not in your ingest area.")


def parse_content_range(header: str | None) -> ContentRange | None:
    """`bytes START-END/TOTAL` (inclusive END) as (start, end, total); None without a header."""
    if not header:
        return None
    match = _RANGE.match(header)
    if not match:
        raise IngestError(f"Bad Content-Range {header!r}: expected 'bytes START-END/TOTAL'.")
    start, end, total = (int(group) for group in match.groups())
    if not start <= end < total:
        raise IngestError(f"Bad Content-Range {header!r}: need START <= END < TOTAL.")
    return start, end, total


def receive_chunk(user: User, name: str, data: Any, content_range: ContentRange | None) -> dict[str, Any]:
    """Store one upload piece of `name`; returns its listing entry (complete or not).

    `data` is an UploadedFile, a binary stream or an iterable of bytes.
    Without `content_range` the data is the whole file.  With it, pieces must
    arrive in order: START equals the bytes already received, or repeats the
    last piece exactly (accepted again), or is 0 (a fresh start).
    """
    path = _path(user, name, create=True)
    if content_range is None:
        _write_whole(path, _blocks(data))
        return _entry(path)
    start, end, total = content_range
    _check_size(total)
    if start > 0 and not _data_path(path).exists() and _is_repeat_of_last(path, content_range):
        return _entry(path)
    return _append_piece(path, _blocks(data), content_range)


def _check_size(size: int) -> None:
    if size > settings.UPLOAD_MAX_BYTES:
        raise UploadTooLarge(
            f"File of {size} bytes exceeds the upload limit of {settings.UPLOAD_MAX_BYTES} bytes.")


def _blocks(data: Any) -> Iterable[bytes]:
    if hasattr(data, "chunks"):
        return data.chunks(_BLOCK)
    if hasattr(data, "read"):
        return iter(lambda: data.read(_BLOCK), b"")
    return data


def _data_path(path: Path) -> Path:
    return path.parent / PARTIAL / f"{path.name}.part"


def _meta_path(path: Path) -> Path:
    return path.parent / PARTIAL / f"{path.name}.meta"


def _write_whole(path: Path, blocks: Iterable[bytes]) -> None:
    temp = path.parent / PARTIAL / f"{path.name}.{secrets.token_hex(6)}.tmp"
    try:
        with temp.open("wb") as stream:
            _check_size(_copy(blocks, stream, settings.UPLOAD_MAX_BYTES))
        temp.replace(path)
    finally:
        temp.unlink(missing_ok=True)
    # A whole upload supersedes any unfinished chunked one of the same name.
    _data_path(path).unlink(missing_ok=True)
    _meta_path(path).unlink(missing_ok=True)


def _copy(blocks: Iterable[bytes], stream: IO[bytes], limit: int) -> int:
    """Write `blocks` to `stream`; stops before the first block going past `limit`."""
    written = 0
    for block in blocks:
        written += len(block)
        if written > limit:
            return written
        stream.write(block)
    return written


def _is_repeat_of_last(path: Path, content_range: ContentRange) -> bool:
    """The final piece sent again after the file was completed: nothing to do."""
    start, end, total = content_range
    return end == total - 1 and path.is_file() and path.stat().st_size == total


def _append_piece(path: Path, blocks: Iterable[bytes], content_range: ContentRange) -> dict[str, Any]:
    start, end, total = content_range
    data_path = _data_path(path)
    with data_path.open("a+b") as stream:
        fcntl.flock(stream, fcntl.LOCK_EX)  # one piece of one file at a time
        meta = _read_meta(path) if start > 0 else {"total": total, "received": 0, "last_start": 0}
        start_at = _resume_offset(path.name, meta, content_range)
        stream.truncate(start_at)
        written = _copy(blocks, stream, end - start + 1)
        if written != end - start + 1:  # the meta file still says what was received
            stream.truncate(start_at)
            raise IngestError(
                f"Piece {start}-{end} of '{path.name}' carried {written} bytes, not {end - start + 1}.")
        stream.flush()
        if end + 1 == total:
            data_path.replace(path)
            _meta_path(path).unlink(missing_ok=True)
            return _entry(path)
        _write_meta(path, {"total": total, "received": end + 1, "last_start": start})
    return {"name": path.name, "size": end + 1, "deleteUrl": f"/upload/delete/{path.name}",
            "deleteType": "GET"}


def _resume_offset(name: str, meta: dict[str, int], content_range: ContentRange) -> int:
    """Where piece `content_range` goes, or IngestError for gaps, overlaps and changed totals."""
    start, end, total = content_range
    if meta["total"] != total:
        raise IngestError(f"Upload of '{name}' changed its total size from {meta['total']} to {total}.")
    if start == meta["received"]:
        return start
    if start == meta["last_start"] and end + 1 == meta["received"]:
        return start  # the last piece again: rewrite it
    raise IngestError(
        f"Piece {start}-{end} of '{name}' does not follow the {meta['received']} bytes received; "
        "upload the file again from the start.")


def _read_meta(path: Path) -> dict[str, int]:
    try:
        return json.loads(_meta_path(path).read_text())
    except (FileNotFoundError, ValueError):
        raise IngestError(
            f"No upload of '{path.name}' is in progress; upload the file again from the start."
        ) from None


def _write_meta(path: Path, meta: dict[str, int]) -> None:
    temp = path.parent / PARTIAL / f"{path.name}.{secrets.token_hex(6)}.metatmp"
    temp.write_text(json.dumps(meta))
    os.replace(temp, _meta_path(path))
