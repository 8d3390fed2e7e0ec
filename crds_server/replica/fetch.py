"""Downloads into the file store: verified by size and sha1, temp name then rename, in parallel.

A file is written as `.part-<name>` beside its final place and renamed only
once its size and sha1 match what the source's server info announced, so
the store never holds a partial file under a real name.  Until the catalog
rows are committed, clients do not see the new files at all (downloads are
served only for catalogued names).  A file already in place with the right
sha1 is not fetched again, so an interrupted catch-up resumes.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from crds.core import utils as crds_utils

from .errors import ReplicaError

CHUNK = 1 << 20
ATTEMPTS = 3  # per file: a corrupted or interrupted download is retried this many times in all
MAX_WORKERS = 16
# A CRDS file name, never a path: the names come from another server.
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_\-]*(\.[a-z0-9_\-]+)+$")
log = logging.getLogger(__name__)


@dataclass
class Wanted:
    """One file to have in the store: where it goes, where it comes from, what it must be."""

    name: str
    url: str
    path: Path
    size: int
    sha1: str  # '' when the source has none: then only the size is checked


def check_name(name: str) -> str:
    if not isinstance(name, str) or len(name) > 128 or not NAME_RE.match(name):
        raise ReplicaError(f"The source names a file {str(name)[:80]!r}, which is not a CRDS file name.")
    return name


def present(item: Wanted, trusted_sha1: str = "") -> bool:
    """Whether the store already holds the right bytes (`trusted_sha1`: what the catalog says)."""
    try:
        if item.path.stat().st_size != item.size:
            return False
    except FileNotFoundError:
        return False
    if trusted_sha1 and trusted_sha1 == item.sha1:
        return True  # catalogued here with these bytes: no need to read it again
    return not item.sha1 or crds_utils.checksum(str(item.path)) == item.sha1


def fetch_all(items: list[Wanted], *, workers: int, timeout: float,
              tick: Callable[[Wanted], None] | None = None) -> int:
    """Download every item, `workers` at a time; returns the bytes fetched.

    The first file that cannot be fetched (after its retries) stops the lot
    with a ReplicaError; files already renamed into place stay (they are
    resumed, not refetched, by the next run).
    """
    workers = max(1, min(int(workers), MAX_WORKERS))
    fetched = 0
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(fetch_one, item, timeout): item for item in items}
        try:
            for future in as_completed(futures):
                fetched += future.result()
                if tick:
                    tick(futures[future])
        except BaseException:
            for future in futures:
                future.cancel()
            raise
    return fetched


def fetch_one(item: Wanted, timeout: float) -> int:
    """Fetch one file, retrying a failed or corrupted download up to ATTEMPTS times in all."""
    item.path.parent.mkdir(parents=True, exist_ok=True)
    problems = []
    for _attempt in range(ATTEMPTS):
        problem = _attempt_download(item, timeout)
        if problem is None:
            return item.size
        log.warning("replica download refused: %s", problem)
        problems.append(problem)
    raise ReplicaError(f"{item.name} could not be fetched in {ATTEMPTS} attempts: {problems[-1]}")


def _attempt_download(item: Wanted, timeout: float) -> str | None:
    """One try: None when the verified file is in place, else what went wrong."""
    temp = item.path.with_name(f".part-{os.getpid()}-{item.name}")
    digest = hashlib.sha1()
    got = 0
    try:
        request = urllib.request.Request(item.url, headers={"User-Agent": "crds-server-replica"})
        with urllib.request.urlopen(request, timeout=timeout) as response, open(temp, "wb") as out:
            while chunk := response.read(CHUNK):
                got += len(chunk)
                if got > item.size:
                    break  # more bytes than announced: never store an unbounded answer
                digest.update(chunk)
                out.write(chunk)
    except urllib.error.HTTPError as exc:
        temp.unlink(missing_ok=True)
        return f"{item.url} answered HTTP {exc.code}"
    except OSError as exc:
        temp.unlink(missing_ok=True)
        return f"{item.url} failed: {exc}"
    if got != item.size or (item.sha1 and digest.hexdigest() != item.sha1):
        temp.unlink(missing_ok=True)
        return (f"{item.url} sent {got} bytes with sha1 {digest.hexdigest()}, not the announced "
                f"{item.size} bytes with sha1 {item.sha1 or 'none'} (corrupted download refused)")
    os.replace(temp, item.path)
    return None
