"""Archive dataset parameters: bulk import and the lookups behind the dataset RPCs."""

from __future__ import annotations

import datetime
import json
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.db import models, transaction

from . import placing
from .errors import DatasetError, UnplacedDataset
from .models import Dataset

CHUNK = 500
_DATE_KEYS = (("DATE-OBS", "TIME-OBS"), ("META.OBSERVATION.DATE", "META.OBSERVATION.TIME"))


def split_id(ident: str) -> tuple[str, str]:
    """'PRODUCT:EXPOSURE' -> both halves; a plain id is its own product and exposure."""
    ident = ident.strip().upper()
    if ident.count(":") > 1 or not ident or len(ident) > 257:
        raise DatasetError(f"Invalid dataset id '{ident}'.")
    product, _, exposure = ident.partition(":")
    return product, exposure or product


def observation_date(header: dict[str, str]) -> datetime.datetime | None:
    for date_key, time_key in _DATE_KEYS:
        if header.get(date_key):
            text = f"{header[date_key][:10]} {header.get(time_key, '00:00:00')[:8]}"
            try:
                stamp = datetime.datetime.strptime(text, "%Y-%m-%d %H:%M:%S")
            except ValueError:
                return None
            return stamp.replace(tzinfo=datetime.UTC)
    return None


def import_datasets(path: Path, batch: int = 5000) -> int:
    """Bulk-load a JSON Lines file of {"id", "instrument", "header"}; returns rows added.

    Ids already present are replaced, so re-importing a file is harmless.
    """
    added = 0
    with open(path, encoding="utf-8") as lines, transaction.atomic():
        for rows in _batches(_parse(lines, path), batch):
            keys = [(r.product, r.exposure) for r in rows]
            _delete_existing(keys)
            Dataset.objects.bulk_create(rows, batch_size=batch)
            added += len(rows)
    return added


def _parse(lines: Any, path: Path) -> Iterator[Dataset]:
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            header = {str(k).upper(): str(v) for k, v in entry["header"].items()}
            product, exposure = split_id(str(entry["id"]))
            instrument = str(entry.get("instrument") or header.get("INSTRUME", "")).upper()
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise DatasetError(f"{path}:{number}: not a dataset line ({exc}).") from exc
        yield Dataset(product=product, exposure=exposure, instrument=instrument,
                      date=observation_date(header), header=header)


def _batches(items: Iterator[Dataset], size: int) -> Iterator[list[Dataset]]:
    batch: list[Dataset] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _delete_existing(keys: list[tuple[str, str]]) -> None:
    products = {p for p, _ in keys}
    wanted = set(keys)
    stale = [pk for pk, p, e in Dataset.objects.filter(product__in=products)
             .values_list("pk", "product", "exposure") if (p, e) in wanted]
    Dataset.objects.filter(pk__in=stale).delete()


def dataset_ids(instrument: str, since: datetime.datetime | None) -> list[str]:
    """Compound ids of every dataset of `instrument` observed since `since`."""
    rows = Dataset.objects.filter(instrument=instrument.upper())
    if since is not None:
        rows = rows.filter(date__gte=since)
    return [f"{p}:{e}" for p, e in rows.values_list("product", "exposure")]


def answer_headers(ids: list[str], since: datetime.datetime | None = None) -> dict[str, dict | str]:
    """{compound id: header or "NOT FOUND ..."} for product, exposure or compound ids (any case,
    JWST ``_`` forms too), as `get_dataset_headers_by_id` answers; a product gives all its exposures.

    Each id is answered on its own: an id of a known instrument without a
    dataset gets a string; only an id whose instrument cannot be determined
    at all fails the call (UnplacedDataset, contract §2.4).
    """
    found, missing = find_headers(ids, since)
    answers: dict[str, dict | str] = dict(found)
    for ident in missing:
        if placing.instrument_of(ident) is None or ident.count(":") > 1:
            raise UnplacedDataset(ident)
        product, _, exposure = ident.partition(":")
        answers[f"{product}:{exposure or product}"] = f"NOT FOUND dataset ID does not exist '{ident}'"
    return answers


def find_headers(ids: list[str], since: datetime.datetime | None = None
                 ) -> tuple[dict[str, dict], list[str]]:
    """({compound id: header}, [ids matching no dataset]) for product, exposure or compound ids.

    Datasets observed before `since` are left out, but their ids still count as known.
    """
    found: dict[str, dict] = {}
    missing: list[str] = []
    for start in range(0, len(ids), CHUNK):
        chunk = [_split_or_none(str(i)) for i in ids[start:start + CHUNK]]
        missing += [placing.normalize(str(i)) for i, c in zip(ids[start:start + CHUNK], chunk, strict=True)
                    if c is None]
        for ident, rows in _lookup([c for c in chunk if c is not None], since).items():
            if rows is None:
                missing.append(ident)
            else:
                found.update(rows)
    return found, missing


def _split_or_none(ident: str) -> tuple[str, str] | None:
    """The two halves of a normalised id, or None for an id no dataset can have (e.g. 'A:B:C')."""
    try:
        return split_id(placing.normalize(ident))
    except DatasetError:
        return None


def _lookup(chunk: list[tuple[str, str]], since: datetime.datetime | None
            ) -> dict[str, dict[str, dict] | None]:
    """{id: {compound id: header} observed since `since`, or None if no dataset has that id}."""
    names = {p for p, _ in chunk} | {e for _, e in chunk}
    rows = Dataset.objects.filter(models.Q(product__in=names) | models.Q(exposure__in=names))
    by_product: dict[str, list[tuple]] = defaultdict(list)
    by_exposure: dict[str, list[tuple]] = defaultdict(list)
    for row in rows.values_list("product", "exposure", "date", "header"):
        by_product[row[0]].append(row)
        by_exposure[row[1]].append(row)
    results: dict[str, dict[str, dict] | None] = {}
    for product, exposure in chunk:
        ident = product if product == exposure else f"{product}:{exposure}"
        # A plain id is a product (all its exposures) or an exposure.
        matched = [r for r in by_product[product] if product == exposure or r[1] == exposure]
        matched += by_exposure[exposure]
        results[ident] = {
            f"{p}:{e}": h for p, e, d, h in matched if since is None or (d is not None and d >= since)
        } if matched else None
    return results
