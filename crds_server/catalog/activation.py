"""What making a context latest does to the catalog: the archive check, file states, activation dates.

Invariants kept here (features.md O1, section 2; contract §6.4):

- a context becomes latest only when every file it names is archived
  (DMS-535), unless the operator forces it;
- the latest .pmap's catalog state is `latest`, and it is the only row in
  that state; the .pmap it replaces goes back to the state its delivery has
  reached (`archived` for imported files, or for files whose delivery the
  archive finished while they were latest);
- every file of a context gets its `activation_date` the first time that
  context becomes latest, and keeps it (a reversion does not re-date it).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from pathlib import PurePath

from django.db.models import Q

from crds_server.deliveries.models import Delivery

from . import loader
from .errors import BadContextError, CatalogError
from .models import File

LATEST = "latest"
# Rows in these states are the current (or, from older imports, former) latest pmap.
LATEST_STATES = (LATEST, "operational")
# Archived, in the sense of DMS-535: the archive holds the file.
ARCHIVED_STATES = ("archived", *LATEST_STATES)
_CHUNK = 500  # names per IN (...) query


def closure(pmap: str) -> set[str]:
    """Every file the context names: its mappings, itself included, and its references."""
    try:
        mapping = loader.get_mapping(pmap)
    except CatalogError as exc:
        raise BadContextError(f"Context '{pmap}' cannot be read by the rules library: {exc}") from exc
    references = {n for n in mapping.reference_names()
                  if n.upper() not in ("N/A", "OMIT") and "NOT FOUND" not in n.upper()}
    return set(mapping.mapping_names()) | references


def unarchived(names: Iterable[str]) -> list[str]:
    """The files of `names` the archive does not hold yet, as 'name (state)', sorted.

    One query for the few rows not archived and one for the catalogued names,
    rather than an IN list of the ~15,000 names of an HST context.
    """
    names = set(names)
    waiting = dict(File.objects.exclude(state__in=ARCHIVED_STATES).values_list("name", "state"))
    known = set(File.objects.values_list("name", flat=True))
    return sorted([f"{name} ({waiting[name]})" for name in names if name in waiting]
                  + [f"{name} (not in the catalog)" for name in names - known])


def bad(names: Iterable[str]) -> list[str]:
    """The files of `names` marked rejected or blacklisted, as 'name (flag)', sorted (one query
    for the few bad rows)."""
    names = set(names)
    rows = File.objects.filter(Q(rejected=True) | Q(blacklisted=True)) \
        .values_list("name", "rejected")
    return sorted(f"{name} ({'rejected' if rejected else 'blacklisted'})"
                  for name, rejected in rows if name in names)


def activate(pmap: str, names: set[str], now: datetime.datetime) -> None:
    """Make `pmap` the one `latest` row and date the files of `names` never active before."""
    for name, link in File.objects.filter(state__in=LATEST_STATES).exclude(name=pmap) \
            .values_list("name", "catalog_link"):
        File.objects.filter(name=name, state__in=LATEST_STATES).update(state=resting_state(link))
    File.objects.filter(name=pmap).exclude(state=LATEST).update(state=LATEST)
    fresh = sorted(names & set(File.objects.filter(activation_date__isnull=True)
                               .values_list("name", flat=True)))
    for start in range(0, len(fresh), _CHUNK):
        File.objects.filter(name__in=fresh[start:start + _CHUNK], activation_date__isnull=True) \
            .update(activation_date=now)


def resting_state(catalog_link: str) -> str:
    """The state a file leaving latest goes back to: that of its delivery, else `archived`."""
    if not catalog_link:
        return "archived"
    state = Delivery.objects.filter(catalog=PurePath(catalog_link).name) \
        .values_list("state", flat=True).first()
    return state or "archived"
