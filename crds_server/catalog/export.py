"""The catalog as an SQLite file (`get_sqlite_db`, `crds sync --fetch-sqlite-db`)."""

from __future__ import annotations

import base64
import os
import sqlite3
import tempfile
import threading
import zlib

from django.conf import settings

from . import contexts, records, versioning
from .models import ContextHistory

_lock = threading.Lock()
_cache: dict = {"version": None, "blob": None}
_COLUMNS = ("name", "blob", "state", "blacklisted", "rejected", "observatory", "instrument",
            "filekind", "type", "derived_from", "sha1sum", "delivery_date", "activation_date",
            "useafter_date", "change_level", "pedigree", "reference_file_type", "size",
            "uploaded_as", "creator_name", "deliverer_user", "deliverer_email", "description",
            "catalog_link", "replaced_by_filename", "comment", "aperture")


def sqlite_db_encoded() -> str:
    """base64(zlib(SQLite file bytes)), cached per catalog version."""
    version = versioning.current()
    with _lock:
        if _cache["version"] == version:
            return _cache["blob"]
    blob = base64.b64encode(zlib.compress(_build())).decode("ascii")
    with _lock:
        _cache.update(version=version, blob=blob)
    return blob


def _build() -> bytes:
    obs = settings.OBSERVATORY
    fd, path = tempfile.mkstemp(suffix=".sqlite3")
    os.close(fd)
    try:
        db = sqlite3.connect(path)
        cols = ", ".join(f"{c} TEXT" for c in _COLUMNS)
        db.execute(f"CREATE TABLE crds_{obs}_catalog (id INTEGER PRIMARY KEY, {cols})")
        rows = [tuple(rec.get(c, "") for c in _COLUMNS) for rec in records.all_records().values()]
        marks = ", ".join("?" for _ in _COLUMNS)
        db.executemany(f"INSERT INTO crds_{obs}_catalog ({', '.join(_COLUMNS)}) VALUES ({marks})", rows)
        db.execute(f"CREATE TABLE crds_{obs}_context_history (id INTEGER PRIMARY KEY, name TEXT, "
                   "start_date TEXT, context TEXT, state TEXT, description TEXT)")
        db.executemany(
            f"INSERT INTO crds_{obs}_context_history (name, start_date, context, state, description) "
            "VALUES (?, ?, ?, ?, ?)",
            [(era.context, contexts.format_date(era.start_date), era.context, "latest", era.description)
             for era in ContextHistory.objects.all()],
        )
        db.commit()
        db.close()
        with open(path, "rb") as f:
            return f.read()
    finally:
        os.unlink(path)
