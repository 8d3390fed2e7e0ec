"""Which instruments and types a context change affects: the library's own mapping diff, run on
the contexts this process has already loaded.

`crds.diff.get_affected` reads and parses every mapping of both contexts again from disk (its
differencer passes a path to the loader, which skips the library's cache): most of a run's serial
planning time.  The subclass below changes only where the two mappings come from (the server's
loader, which verified their checksums); the difference itself (`Mapping.difference`) and the
walk that turns it into {instrument: types} stay the library's.
"""

from __future__ import annotations

from crds import diff as crds_diff
from django.conf import settings

from crds_server.catalog import loader


class _LoadedDifferencer(crds_diff.MappingDifferencer):
    def mapping_diffs(self):
        old_map, new_map = loader.get_mapping(self.old_file), loader.get_mapping(self.new_file)
        return old_map.difference(new_map, include_header_diffs=self.include_header_diffs,
                                  recurse_added_deleted=self.recurse_added_deleted)


def affected_types(old: str, new: str) -> dict[str, list[str]]:
    """{instrument (lower case): sorted affected filekinds} of the change `old` -> `new`."""
    differ = _LoadedDifferencer(settings.OBSERVATORY, old, new, include_header_diffs=True,
                                hide_boring_diffs=True)
    return {instrument.lower(): sorted(types) for instrument, types in differ.get_affected().items()}
