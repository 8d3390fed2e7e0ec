"""The library's own bestrefs comparison (`crds bestrefs --affected-datasets`), one header at a time.

`crds.bestrefs.BestrefsScript` holds the reprocessing semantics: which types
to look at for a dataset (the diff's affected types that apply to it), the
N/A and NOT FOUND conversions, and which differences count.  This module
builds that script object with the same options the legacy server's cron job
used and feeds it best references computed on the server's loaded contexts,
so the results are the library's, dataset for dataset.
"""

from __future__ import annotations

from typing import Any

from crds.bestrefs.bestrefs import BestrefsScript
from crds.core import utils

from crds_server.catalog.bestrefs import best_references

# max-errors-per-class 0: errors are tracked and summarised, not logged one by one.
_OPTIONS = ["--affected-datasets", "--max-errors-per-class", "0"]


class Comparison:
    """Best references of datasets under `old` and `new`, compared as `crds bestrefs` compares them."""

    def __init__(self, old: str, new: str, affected: dict[str, list[str]]) -> None:
        self.old, self.new = old, new
        self.script = BestrefsScript(["crds.bestrefs", *_OPTIONS, "--old-context", old,
                                      "--new-context", new], reset_log=False)
        self.script.old_context, self.script.new_context = old, new
        self.script.affected_instruments = {i.lower(): set(t) for i, t in affected.items()}

    def changed_types(self, dataset: str, header: dict[str, str]) -> list[str] | None:
        """Sorted filekinds whose best reference changes; None when the library drops the dataset.

        The library drops ("kills") a dataset whose new best references fail,
        and records the failure among its unique errors.
        """
        script = self.script
        instrument = utils.header_to_instrument(header).lower()
        try:
            new_refs = self._bestrefs(instrument, dataset, self.new, header)
            old_refs = self._bestrefs(instrument, dataset, self.old, header)
        except Exception as exc:  # the library logs the dataset as failed and goes on
            script.log_and_track_error(dataset, instrument, "unknown", "Failed processing:", str(exc))
            return None
        updates, killed = script._compare_bestrefs(instrument, dataset, old_refs, new_refs)
        if killed:
            return None
        return sorted({u.filekind for u in updates})

    def _bestrefs(self, instrument: str, dataset: str, context: str, header: dict) -> dict[str, Any]:
        """The library's `get_bestrefs` step, on the server's loaded context."""
        reftypes = self.script.determine_reftypes(instrument, dataset, context, header)
        if reftypes is None:
            return {}
        refs = best_references(context, header, list(reftypes))
        return {key.upper(): value for key, value in refs.items()}

    def errors(self) -> dict[str, int]:
        """{first message of each unique error: how many datasets had it} since the last reset."""
        mixin = self.script.ue_mixin
        return {mixin.messages[key]: count for key, count in mixin.count.items()}

    def reset_errors(self) -> None:
        self.script.clear_error_counts()

    @staticmethod
    def product_id(dataset: str) -> str:
        """The id reprocessing is requested for: the library's product id of a compound id."""
        return BestrefsScript.dataset_to_product_id(None, dataset)
