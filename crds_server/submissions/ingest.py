"""The per-user ingest area: files uploaded (or copied in by hand) before a submission.

Each user has a directory ``SERVER_FILES/ingest/<username>``; whatever plain
file sits there is what the user's next submission delivers (contract §5.4).
Chunked uploads (contract §5.3) are put together in the hidden directory
``.partial`` and renamed into place only when their last byte arrives, so a
half-uploaded file is never listed or submitted.  Nothing here holds a
whole file in memory.

Concurrency: every change to one name (a whole upload's rename into place,
each piece appended, a completion, a deletion) happens under an exclusive
``flock`` of ``.partial/<name>.lock``, a file that is never renamed, so two
requests cannot both hold it (see `_name_lock`).  Data files are opened only
under that lock: a piece can never write into a file another request has
just renamed into place.  Whole uploads stream into their own temporary file
first and take the lock only for the rename.
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
# At most 19 digits (9.9e18 bytes): longer numbers are refused before int() (whose
# 4,300-digit limit would raise ValueError) and are no size anyone uploads.
_RANGE = re.compile(r"^\s*bytes\s+(\d{1,19})-(\d{1,19})/(\d{1,19})\s*$")
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
    entries = []
    for path in _complete_files(folder):
        with contextlib.suppress(FileNotFoundError):  # deleted or submitted while we list
            entries.append(_entry(path))
    return entries


def ingest_paths(user: User) -> list[Path]:
    """The paths of the files the user's next submission delivers."""
    folder = ingest_dir(user)
    return list(_complete_files(folder)) if folder.is_dir() else []


def _complete_files(folder: Path) -> Iterator[Path]:
    for path in sorted(folder.iterdir()):
        if not path.name.startswith(".") and path.is_file():
            yield path


def _entry(path: Path) -> dict[str, Any]:
    """The listing entry of `path`; size and sha1 come from one open file, even if it is replaced."""
    with path.open("rb") as stream:
        size = os.fstat(stream.fileno()).st_size
        entry: dict[str, Any] = {"name": path.name, "size": size,
                                 "deleteUrl": f"/upload/delete/{path.name}", "deleteType": "GET"}
        if size <= SHA1_MAX_BYTES:
            entry["sha1"] = _sha1(stream)
    return entry


def _sha1(stream: IO[bytes]) -> str:
    digest = hashlib.sha1()
    for block in iter(lambda: stream.read(_BLOCK), b""):
        digest.update(block)
    return digest.hexdigest()


@contextlib.contextmanager
def _name_lock(path: Path) -> Iterator[None]:
    """Hold the exclusive lock of one name of the ingest area for the block.

    The lock is a flock of `.partial/<name>.lock`.  That file is never renamed;
    its holder removes it when no unfinished upload of the name is left, so a
    waiter that then gets the flock of the removed file sees that the path no
    longer names it, and takes the lock again on whatever file the path names.
    """
    lock_path = path.parent / PARTIAL / f"{path.name}.lock"
    while True:
        lock = lock_path.open("ab")
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if _names(lock_path, lock):
            break
        lock.close()
    try:
        yield
    finally:
        if not _data_path(path).exists() and not _meta_path(path).exists():
            lock_path.unlink(missing_ok=True)
        lock.close()


def _names(path: Path, stream: IO[bytes]) -> bool:
    """Whether `path` still names the open file `stream`."""
    try:
        return os.path.samestat(os.stat(path), os.fstat(stream.fileno()))
    except FileNotFoundError:
        return False


def delete_file(user: User, name: str) -> None:
    """Remove `name` (and any unfinished upload of it) from the user's ingest area."""
    path = _path(user, name)
    if not path.parent.is_dir():
        raise NotInIngest(f"'{name}' is not in your ingest area.")
    (path.parent / PARTIAL).mkdir(exist_ok=True)
    with _name_lock(path):
        removed = _remove(path, _data_path(path), _meta_path(path))
    if not removed:
        raise NotInIngest(f"'{name}' is not in your ingest area.")


def _remove(*paths: Path) -> bool:
    """Unlink every path that exists; whether any did."""
    removed = False
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            removed = True
    return removed


def parse_content_range(header: str | None) -> ContentRange | None:
    """`bytes START-END/TOTAL` (inclusive END) as (start, end, total); None without a header."""
    if not header:
        return None
    match = _RANGE.match(header)
    if not match:
        raise IngestError(f"Bad Content-Range {header[:80]!r}: expected 'bytes START-END/TOTAL' "
                          "with numbers of at most 19 digits.")
    start, end, total = (int(group) for group in match.groups())
    if not start <= end < total:
        raise IngestError(f"Bad Content-Range {header!r}: need START <= END < TOTAL.")
    return start, end, total


def receive_chunk(user: User, name: str, data: Any, content_range: ContentRange | None) -> dict[str, Any]:
    """Store one upload piece of `name`; returns its listing entry (complete or not).

    `data` is an UploadedFile, a binary stream or an iterable of bytes.
    Without `content_range` the data is the whole file.  With it, pieces must
    arrive in order: START equals the bytes already received, or repeats the
    last piece exactly (accepted again), or is 0 (a fresh start, abandoning
    any unfinished upload of the name).  Uploads of one name racing each
    other leave one of them complete (or none), never a piece or a prefix;
    only two chunked uploads of the very same size, interleaving piece by
    piece, cannot be told apart (the protocol carries no upload id).
    """
    path = _path(user, name, create=True)
    if content_range is None:
        return _write_whole(path, _blocks(data))
    _check_size(content_range[2])
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


def _write_whole(path: Path, blocks: Iterable[bytes]) -> dict[str, Any]:
    """Stream into a temporary file of this request, then rename it into place under the lock."""
    temp = path.parent / PARTIAL / f"{path.name}.{secrets.token_hex(6)}.tmp"
    try:
        with temp.open("wb") as stream:
            _check_size(_copy(blocks, stream, settings.UPLOAD_MAX_BYTES))
        with _name_lock(path):
            temp.replace(path)
            # A whole upload supersedes any unfinished chunked one of the same name.
            _remove(_data_path(path), _meta_path(path))
            return _entry(path)
    finally:
        temp.unlink(missing_ok=True)


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
    """Write one piece under the name's lock; the last one renames the whole file into place."""
    start, end, total = content_range
    with _name_lock(path):
        if start > 0 and not _data_path(path).exists() and _is_repeat_of_last(path, content_range):
            return _entry(path)
        meta = _read_meta(path) if start > 0 else _fresh_start(path, total)
        start_at = _resume_offset(path.name, meta, content_range)
        with _open_data(path, start_at) as stream:
            _write_piece(path, stream, blocks, start_at, end - start + 1)
        if end + 1 == total:
            _data_path(path).replace(path)
            _meta_path(path).unlink(missing_ok=True)
            return _entry(path)
        _write_meta(path, {"total": total, "received": end + 1, "last_start": start})
    return {"name": path.name, "size": end + 1, "deleteUrl": f"/upload/delete/{path.name}",
            "deleteType": "GET"}


def _fresh_start(path: Path, total: int) -> dict[str, int]:
    """Piece 0: whatever unfinished upload of the name there was is abandoned."""
    _meta_path(path).unlink(missing_ok=True)
    return {"total": total, "received": 0, "last_start": 0}


def _open_data(path: Path, start_at: int) -> IO[bytes]:
    """The partial file, positioned at `start_at` and cut there (held lock required)."""
    if start_at == 0:
        return _data_path(path).open("wb")
    try:
        stream = _data_path(path).open("r+b")
    except FileNotFoundError:
        raise IngestError(
            f"The unfinished upload of '{path.name}' is gone; upload the file again from the start."
        ) from None
    if os.fstat(stream.fileno()).st_size < start_at:
        stream.close()
        raise IngestError(
            f"The unfinished upload of '{path.name}' is shorter than recorded; upload it again.")
    stream.seek(start_at)
    stream.truncate(start_at)
    return stream


def _write_piece(path: Path, stream: IO[bytes], blocks: Iterable[bytes], start_at: int, size: int) -> None:
    """Write a piece of exactly `size` bytes; a short or long one is undone and refused."""
    written = _copy(blocks, stream, size)
    if written != size:  # the meta file still says what was received
        stream.truncate(start_at)
        if start_at == 0:
            _data_path(path).unlink()  # nothing was received: leave no partial file
        raise IngestError(f"Piece {start_at}-{start_at + size - 1} of '{path.name}' carried {written} "
                          f"bytes, not {size}.")
    stream.flush()


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
