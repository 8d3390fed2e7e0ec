"""Demo cache and datasets: the public entry points writing a whole cache and its dataset parameters."""

from __future__ import annotations

from pathlib import Path

from .files import write_reference
from .rules import DemoReference, context_text, imap_key, plan_references, rmap_text, write_mapping
from .specs import TypeRule, instrument_profiles, type_rules


def build_demo_cache(out_dir: Path, observatory: str, refs_per_type: int = 2) -> str:
    """Write a small, valid CRDS cache for `observatory` under `out_dir`.

    Layout: ``mappings/<obs>/`` and flat ``references/<obs>/``.  Returns the
    name of the .pmap.  Files are written by path, so this does not depend on
    CRDS_PATH; to load the result with the library, point CRDS_PATH at
    `out_dir` or import it into a cache.
    """
    observatory = observatory.lower()
    map_dir = Path(out_dir) / "mappings" / observatory
    ref_dir = Path(out_dir) / "references" / observatory
    map_dir.mkdir(parents=True, exist_ok=True)
    ref_dir.mkdir(parents=True, exist_ok=True)
    imaps = {}
    serial = 0
    for instrument, rules in type_rules(observatory).items():
        profiles = instrument_profiles(observatory, rules, refs_per_type)
        rmaps = {}
        for rule in rules:
            refs = plan_references(observatory, rule, profiles, serial)
            serial += len(refs)
            key = imap_key(observatory, rule.filekind)
            rmaps[key] = _write_rmap(map_dir, ref_dir, observatory, rule, refs)
        imaps[instrument.upper()] = _write_context(map_dir, observatory, instrument, rmaps)
    return _write_context(map_dir, observatory, None, imaps)


def _write_rmap(
    map_dir: Path, ref_dir: Path, observatory: str, rule: TypeRule, refs: list[DemoReference]
) -> str:
    """Write one type's references and its .rmap; return the rmap name."""
    for ref in refs:
        write_reference(ref_dir, observatory, ref)
    name = f"{observatory}_{rule.instrument}_{rule.filekind}_0001.rmap"
    write_mapping(map_dir / name, rmap_text(observatory, rule, name, refs))
    return name


def _write_context(
    map_dir: Path, observatory: str, instrument: str | None, selections: dict
) -> str:
    """Write the .imap of `instrument` (or the .pmap if None); return its name."""
    stem = f"{observatory}_{instrument}" if instrument else observatory
    name = f"{stem}_0001.{'imap' if instrument else 'pmap'}"
    write_mapping(map_dir / name, context_text(observatory, name, instrument, selections))
    return name
