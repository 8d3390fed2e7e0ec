"""Affected datasets over 100,000 synthetic datasets for a one-type change (not a test).

Times `crds-server affected --wait` with 1 and with 2 consumer processes sharing
the chunks, against the crds library's own bestrefs comparison of the two
contexts on the same headers in one process, and prints the ratios.

    .venv/bin/python bench/bench_affected.py [COUNT]
"""

from __future__ import annotations

import subprocess
import sys
import time

from common import (
    BIN,
    REPO,
    corpus_cache,
    datasets_file,
    fresh_server,
    library_env,
    manage,
    require_corpus,
    server_env,
)

INSTRUMENT, FILEKIND = "wfc3", "darkfile"
DERIVE = """
import django
django.setup()
from django.conf import settings
from crds_server.catalog import contexts
from tests.builders import CatalogBuilder
from tests.web_helpers import derive_context
old = contexts.pointer("latest")
print(old, derive_context(CatalogBuilder(settings), old, "{i}", "{k}", serial="9999")["pmap"])
"""
RESET = "from crds_server.reprocessing.models import AffectedRun; AffectedRun.objects.all().delete()"


def consumers(home, count: int) -> float:
    manage(home, "hst", "shell", "-c", RESET)
    manage(home, "hst", "affected")  # plan once, so the timed processes only compute
    start = time.perf_counter()
    procs = [subprocess.Popen([str(BIN / "crds-server"), "affected", "--wait"], env=server_env(home, "hst"),
                              stdout=subprocess.PIPE, text=True) for _ in range(count)]
    outputs = [p.communicate()[0] for p in procs]
    seconds = time.perf_counter() - start
    print(f"  {count} consumer(s): {seconds:.1f} s; {outputs[0].strip()}")
    return seconds


def main() -> None:
    require_corpus("bench_affected")
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    corpus_cache()
    data = datasets_file(count)
    home = fresh_server(f"affected-{count}", data)
    env = server_env(home, "hst", DJANGO_SETTINGS_MODULE="crds_server.settings", PYTHONPATH=str(REPO))
    derived = subprocess.run([str(BIN / "python"), "-c", DERIVE.format(i=INSTRUMENT, k=FILEKIND)],
                             env=env, capture_output=True, text=True, check=True, cwd=REPO)
    old, new = derived.stdout.split()[-2:]
    manage(home, "hst", "set-context", new, "--kind", "latest", "--reason", "bench")
    print(f"bench_affected: {count} datasets, {old} -> {new} ({INSTRUMENT} {FILEKIND} changed)")
    # The library in local mode reads config/hst/server_config: publish the store onto itself
    # (every file is already there, so only the configuration is written).
    manage(home, "hst", "publish", "--to", str(home / "file_cache"))
    library = subprocess.run([sys.executable, str(REPO / "bench" / "_affected_library.py"), old, new,
                              INSTRUMENT, str(data)], env=library_env(home / "file_cache"),
                             capture_output=True, text=True)
    if library.returncode != 0:
        sys.exit(f"the library baseline failed:\n{library.stderr[-3000:]}")
    base, affected, compared = library.stdout.split()[-3:]
    base = float(base)
    print(f"  library in-process: {base:.1f} s for {compared} {INSTRUMENT} datasets, {affected} affected")
    one = consumers(home, 1)
    two = consumers(home, 2)
    print(f"  ratio library/1 consumer {base / one:.2f}, library/2 consumers {base / two:.2f}, "
          f"speed-up 2 vs 1 consumer {one / two:.2f}")


if __name__ == "__main__":
    main()
