"""The library's own bestrefs comparison (`crds bestrefs --affected-datasets`), one header at a time.

`crds.bestrefs.BestrefsScript` holds the reprocessing semantics: which types
to look at for a dataset (the diff's affected types that apply to it), the
N/A and NOT FOUND conversions, and which differences count.  This module
builds that script object with the same options the legacy server's cron job
used and feeds it best references computed on the server's loaded contexts,
so the results are the library's, dataset for dataset.

The library compares a dataset's old and new references type by type, each
type on its own (`_compare_bestrefs`).  Many datasets bring the same (old,
new) pair for a type, so each type's outcome is kept per pair (in this
process, for every run: the options never change), unless the library
tracked an error for it: errors name their dataset and are counted
per dataset, so those pairs are compared again for every dataset.
"""

from __future__ import annotations

from typing import Any

from crds.bestrefs.bestrefs import BestrefsScript
from crds.core import utils

from crds_server.catalog.bestrefs import conditioned_best_references

# max-errors-per-class 0: errors are tracked and summarised, not logged one by one.
_OPTIONS = ["--affected-datasets", "--max-errors-per-class", "0"]
_ABSENT = object()  # a type one side's references do not have
OUTCOMES_SIZE = 100_000
# (instrument, type, old, new) -> (updated, killed): the options are the same for every run,
# so the outcomes hold across chunks and runs of this process (emptied when full).
_outcomes: dict[tuple, tuple[bool, bool]] = {}


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
            conditioned = utils.condition_header(header)
            new_refs = self._bestrefs(instrument, dataset, self.new, header, conditioned)
            old_refs = self._bestrefs(instrument, dataset, self.old, header, conditioned)
        except Exception as exc:  # the library logs the dataset as failed and goes on
            script.log_and_track_error(dataset, instrument, "unknown", "Failed processing:", str(exc))
            return None
        changed, killed = [], False
        for kind in sorted(set(old_refs) | set(new_refs)):
            updated, dropped = self._outcome(instrument, dataset, kind, old_refs, new_refs)
            killed = killed or dropped
            if updated:
                changed.append(kind.lower())
        return None if killed else sorted(set(changed))

    def _outcome(self, instrument: str, dataset: str, kind: str, old_refs: dict, new_refs: dict
                 ) -> tuple[bool, bool]:
        """(updated, killed) of one type: the library's comparison of that type alone."""
        pair = (instrument, kind, old_refs.get(kind, _ABSENT), new_refs.get(kind, _ABSENT))
        outcome = _outcomes.get(pair)
        if outcome is None:
            tracked = self.script.ue_mixin.tracked_errors
            old_one = {kind: old_refs[kind]} if kind in old_refs else {}
            new_one = {kind: new_refs[kind]} if kind in new_refs else {}
            updates, kills = self.script._compare_bestrefs(instrument, dataset, old_one, new_one)
            outcome = (bool(updates), bool(kills))
            if self.script.ue_mixin.tracked_errors == tracked:
                if len(_outcomes) >= OUTCOMES_SIZE:
                    _outcomes.clear()
                _outcomes[pair] = outcome
        return outcome

    def _bestrefs(self, instrument: str, dataset: str, context: str, header: dict,
                  conditioned: dict) -> dict[str, Any]:
        """The library's `get_bestrefs` step, on the server's loaded context."""
        reftypes = self.script.determine_reftypes(instrument, dataset, context, header)
        if reftypes is None:
            return {}
        refs = conditioned_best_references(context, conditioned, list(reftypes))
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
