"""The per-process context loader and its pickles."""

from __future__ import annotations

import os
import shutil

from crds.core import rmap
from django.conf import settings

from crds_server.catalog import loader


def test_a_pickle_of_other_rules_under_the_same_name_is_never_used(demo_catalog, tmp_path):
    name = demo_catalog.context
    path = settings.FILE_CACHE / "mappings" / "hst" / name
    shutil.copy2(path, tmp_path / name)
    try:
        loader.forget()
        assert loader.get_mapping(name).header.get("description", "") != "other rules, same name"
        pickle = settings.FILE_CACHE / "pickles" / "hst" / f"{name}.pkl"
        assert pickle.exists()
        other = rmap.Mapping.from_file(str(path), ignore_checksum=True)
        other.header["description"] = "other rules, same name"
        other.write(str(path))
        stamp = pickle.stat().st_mtime - 60  # older than the pickle: the time check cannot tell
        os.utime(path, (stamp, stamp))
        loader.forget()
        assert loader.get_mapping(name).header.get("description", "") == "other rules, same name"
    finally:
        shutil.copy2(tmp_path / name, path)
        (settings.FILE_CACHE / "pickles" / "hst" / f"{name}.pkl").unlink(missing_ok=True)
        loader.forget()
