"""Dataset parameter methods, served from the archive parameters imported into the server."""

from __future__ import annotations

import datetime
from typing import Any

from crds_server.catalog.contexts import parse_date
from crds_server.datasets import actions as datasets
from crds_server.datasets.errors import UnplacedDataset
from crds_server.rpc.registry import InvalidParameters, RpcError, method
from crds_server.security import limits

from .common import check_list, check_string, resolve


def _since(value: Any) -> datetime.datetime | None:
    if value in (None, "", "null", "none", "None"):
        return None
    return parse_date(check_string(value, "datasets_since", 40))


@method
def get_dataset_ids(context: str, instrument: str, datasets_since: str | None = None) -> list[str]:
    """Compound ids (PRODUCT:EXPOSURE) of an instrument's datasets observed since a date."""
    resolve(context)
    return datasets.dataset_ids(check_string(instrument, "instrument", 32), _since(datasets_since))


@method
def get_dataset_headers_by_id(context: str, dataset_ids: list[str],
                              datasets_since: str | None = None) -> dict:
    """{compound id: header or "NOT FOUND ..."} for product, exposure or compound ids.

    Ids may be in any case and JWST ids in the ``…_00001_nrca1`` form.  An id of
    a known instrument without a dataset is answered by a string; an id whose
    instrument cannot be determined fails the call with
    ``OtherError: Can't determine instrument for dataset '<ID>'``.
    """
    resolve(context)
    ids = check_list(dataset_ids, "dataset_ids")
    # Not max_headers_per_rpc: `bestrefs --datasets` and `sync --dataset-ids` send every id at once.
    limits.check_count("dataset ids", ids, "max_dataset_ids_per_rpc")
    if not all(isinstance(i, str) and 0 < len(i) <= 257 for i in ids):
        raise InvalidParameters("dataset_ids must be strings of 1 to 257 characters.")
    try:
        return datasets.answer_headers(ids, _since(datasets_since))
    except UnplacedDataset as exc:  # the client's wording and class (contract §1.3, §2.4)
        raise RpcError(str(exc)) from exc
