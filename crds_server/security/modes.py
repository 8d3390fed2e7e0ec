"""Private file modes for the data directory (pure Python: the settings import it).

The data directory (HOME) holds the database (session keys, password
hashes), the job store, the secret key and the backups.  Whichever process
creates one of them first (the settings import, `init`, `migrate`, `backup`)
creates it private, so no other local user can read it:

- HOME is 0750: closed to other users; its group (the service's own group)
  may traverse it, so a web server or an archive account added to that group
  can read the file store and the deliveries, never the secrets below.
- run/ and backups/ are 0700, and every file holding a secret is 0600:
  db.sqlite3 (SQLite gives its -wal and -shm journals the database file's
  mode, so the file is created 0600 before SQLite opens it), run/huey.db,
  run/secret_key, every file of a backup.

`create_*` functions never loosen or touch an existing path (the settings run
them in every process); `tighten` is for `init`, which an operator runs to
repair the modes of a data directory made before.
"""

from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Iterable
from pathlib import Path

HOME_MODE = 0o750
DIR_MODE = 0o700
FILE_MODE = 0o600
# SQLite's companions of a database file, created with the database file's mode.
SQLITE_SUFFIXES = ("", "-wal", "-shm", "-journal")


def create_dir(path: Path, mode: int = DIR_MODE) -> Path:
    """Make directory `path` with `mode` unless it exists (missing parents get the umask's mode)."""
    path = Path(path)
    if not path.is_dir():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            path.mkdir(mode)
        except FileExistsError:
            pass  # made by another process meanwhile: keep its mode
        else:
            path.chmod(mode)  # mkdir's mode is filtered by the umask
    return path


def create_file(path: Path) -> Path:
    """Create an empty file `path` with mode 0600 unless it exists (an empty file is an empty SQLite db)."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return path
    os.close(fd)
    return path


def create_database(name: str) -> None:
    """Create the SQLite database file `name` 0600 unless it exists, is in memory or has no directory."""
    if name in ("", ":memory:") or name.startswith("file:") or not Path(name).parent.is_dir():
        return
    create_file(Path(name))


def create_secret(path: Path, nbytes: int = 48) -> bool:
    """Write a new random secret to `path` (mode 0600 from its first byte); False if one exists."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as out:
        out.write(secrets.token_urlsafe(nbytes))
    return True


def sqlite_files(database: Path) -> list[Path]:
    """The database file and the journals SQLite keeps beside it."""
    return [Path(f"{database}{suffix}") for suffix in SQLITE_SUFFIXES]


def private_paths(home: Path, databases: Iterable[Path] = ()) -> list[tuple[Path, int]]:
    """Every path under `home` (and SQLite `databases`) that must stay private, with its widest mode."""
    home = Path(home)
    paths = [(home, HOME_MODE), (home / "run", DIR_MODE), (home / "backups", DIR_MODE),
             (home / "run" / "secret_key", FILE_MODE)]
    for database in databases:
        paths += [(path, FILE_MODE) for path in sqlite_files(database)]
    return paths


def tighten(path: Path, mode: int) -> bool:
    """Remove every permission beyond `mode` from an existing `path`; False if missing or refused."""
    try:
        current = stat.S_IMODE(os.stat(path).st_mode)
        if current & ~mode:
            os.chmod(path, current & mode)
    except (FileNotFoundError, PermissionError):
        return False
    return True


def prepare_home(home: Path) -> None:
    """Create HOME, run/, backups/ and the secret key private, before `init` fills the tree."""
    home = Path(home)
    create_dir(home, HOME_MODE)
    for name in ("run", "backups"):
        create_dir(home / name)
    create_secret(home / "run" / "secret_key")


def tighten_all(paths: Iterable[tuple[Path, int]]) -> list[Path]:
    """Tighten every existing (path, widest mode); returns those whose mode could not be changed."""
    return [Path(path) for path, mode in paths if Path(path).exists() and not tighten(path, mode)]


def tighten_tree(root: Path) -> None:
    """Make every directory under `root` (and `root`) 0700 and every file 0600 (a backup)."""
    for directory, _subdirs, files in os.walk(root):
        os.chmod(directory, DIR_MODE)
        for name in files:
            os.chmod(os.path.join(directory, name), FILE_MODE)


def too_open(paths: Iterable[tuple[Path, int]]) -> list[Path]:
    """Those of the existing (path, widest mode allowed) pairs that grant more than allowed."""
    found = []
    for path, widest in paths:
        try:
            mode = stat.S_IMODE(os.stat(path).st_mode)
        except FileNotFoundError:
            continue
        if mode & ~widest:
            found.append(Path(path))
    return found
