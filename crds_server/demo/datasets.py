"""Demo dataset parameters: headers made from the demo rules, so best references select demo files."""

from __future__ import annotations

from pathlib import Path

from .specs import STYLES, TypeRule, instrument_profiles, observation_time, switch_values, type_rules

#: HST instrument letter of dataset ids (first character).
HST_ID_CHAR = {"acs": "J", "cos": "L", "nicmos": "N", "stis": "O", "wfc3": "I", "wfpc2": "U"}


#: Dataset keywords read by the library's per-type header hooks (HST) or by
#: version selectors (JWST), not named by any rmap parkey.
DATASET_EXTRAS = {
    "hst": {"NUMCOLS": "1062", "NUMROWS": "1044", "SUBARRAY": "F"},
    "jwst": {"META.CALIBRATION_SOFTWARE_VERSION": "9.0.0"},
}


def demo_datasets(out_dir: Path, observatory: str, count: int = 40) -> list[dict]:
    """Return `count` dataset parameter sets that select the demo references.

    Each is ``{"id": ..., "instrument": "ACS", "header": {KEY: "value"}}``.
    The headers are built from the same profiles as the demo rules (which
    only depend on the installed specs), so `out_dir` is not read; it is
    accepted for symmetry with `build_demo_cache`.
    """
    observatory = observatory.lower()
    style = STYLES[observatory]
    all_rules = type_rules(observatory)
    instruments = [i for i in all_rules if i not in style.dataset_instruments_excluded]
    profiles = {i: instrument_profiles(observatory, all_rules[i], 2) for i in instruments}
    datasets = []
    for number in range(count):
        instrument = instruments[number % len(instruments)]
        index = (number // len(instruments)) % len(profiles[instrument])
        profile = profiles[instrument][index]
        header = _dataset_header(observatory, instrument, all_rules[instrument], profile, index)
        dataset_id = _dataset_id(observatory, instrument, number, header)
        datasets.append({"id": dataset_id, "instrument": instrument.upper(), "header": header})
    return datasets


def _dataset_header(
    observatory: str, instrument: str, rules: list[TypeRule], profile: dict[str, str], index: int
) -> dict[str, str]:
    """Upper-case keys, string values: profile, switches, instrument and time."""
    style = STYLES[observatory]
    header = {key: value for key, value in profile.items()}
    header.update(switch_values(rules))
    header[style.instrument_key] = instrument.upper()
    when = observation_time(observatory, index)
    if len(style.date_keys) == 2:
        header[style.date_keys[0]] = when.strftime("%Y-%m-%d")
        header[style.date_keys[1]] = when.strftime("%H:%M:%S")
    else:
        header[style.date_keys[0]] = when.strftime("%Y-%m-%dT%H:%M:%S")
    for key, value in DATASET_EXTRAS.get(observatory, {}).items():
        header.setdefault(key, value)
    return dict(sorted(header.items()))


def _dataset_id(observatory: str, instrument: str, number: int, header: dict[str, str]) -> str:
    """HST ``<product>:<exposure>``; JWST ``<exposure>.<detector>`` twice."""
    if observatory == "hst":
        char = HST_ID_CHAR.get(instrument, "X")
        return f"{char}D{number:04d}010:{char}D{number:04d}ABQ"
    if observatory == "jwst":
        detector = header.get("META.INSTRUMENT.DETECTOR", instrument.upper())
        detector = detector if detector != "N/A" else instrument.upper()
        exposure = f"JW{1234 + number:05d}001001_02101_00001.{detector}"
        return f"{exposure}:{exposure}"
    return f"R{number:04d}_{instrument.upper()}"
