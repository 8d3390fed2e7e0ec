"""The fast import writes the same rows as the straightforward one, row for row.

The straightforward import is today's code with its fast parts switched back
to what they replaced: astropy parses the whole header, the file is stat'ed
and checksummed by the `crds` library apart from its header read, rows are
made with keyword arguments and go through Django's `bulk_create`, and the
latest context's files come from the context loaded by the library.  Both
import the demo cache (FITS and GEIS references, a full context) into an empty
catalog; their rows are compared field for field, in insertion order, the
import time in the activation dates aside.  bench/bench_import.py makes the
same comparison on the whole corpus.
"""

from __future__ import annotations

import shutil
import warnings

import pytest
from astropy.io import fits
from crds.core import utils

from crds_server.catalog import activation, import_rows, importer
from crds_server.catalog.importer import import_cache
from crds_server.catalog.models import AuditEntry, CacheImport, ContextHistory, ContextPointer, File


@pytest.fixture
def cache(demo_cache, tmp_path):
    copy = tmp_path / "cache"
    shutil.copytree(demo_cache.path, copy)
    return copy


def _whole_header(text, keywords):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        header = fits.Header.fromstring(text)
    return {key: header[key] for key in keywords if key in header}


def _straightforward(monkeypatch):
    monkeypatch.setattr(import_rows.fitscards, "values", _whole_header)
    monkeypatch.setattr(import_rows, "read_file", lambda path, keep: (
        path.stat(), utils.checksum(str(path)), path.read_bytes()[:keep]))
    monkeypatch.setattr(import_rows, "_file", lambda **values: File(**values))
    monkeypatch.setattr(importer.bulk, "insert_rows",
                        lambda model, rows: model.objects.bulk_create(rows, batch_size=2000))
    monkeypatch.setattr(importer, "_closure", lambda pmap, children: activation.closure(pmap))


def _rows():
    fields = [f.attname for f in File._meta.concrete_fields if f.attname != "id"]
    rows = [list(r) for r in File.objects.order_by("id").values_list(*fields)]
    dated = fields.index("activation_date")
    stamps = sorted({r[dated] for r in rows if r[dated] is not None})
    for row in rows:  # the import's own time: the same moment, or none, in both
        row[dated] = None if row[dated] is None else stamps.index(row[dated])
    return fields, rows


def _clear():
    for model in (File, ContextHistory, ContextPointer, CacheImport, AuditEntry):
        model.objects.all().delete()


def test_the_fast_import_writes_the_rows_of_the_straightforward_one(db, cache, monkeypatch):
    fast = import_cache(cache)
    fields, fast_rows = _rows()
    _clear()
    with monkeypatch.context() as patch:
        _straightforward(patch)
        slow = import_cache(cache)
    _, slow_rows = _rows()
    assert (fast.mappings_added, fast.references_added) == (slow.mappings_added, slow.references_added)
    assert len(fast_rows) == len(slow_rows) > 100
    for one, other in zip(fast_rows, slow_rows, strict=True):
        assert dict(zip(fields, one, strict=True)) == dict(zip(fields, other, strict=True))
    assert {r[fields.index("name")] for r in fast_rows if r[fields.index("pedigree")]}  # headers were read
