"""Set-up shared by the benchmarks: the corpus cache, datasets, a fresh server.

Benchmarks are not tests.  They print measurements and ratios against a
baseline measured in the same run and never assert timings.  Every script
skips (exit status 0, with a message) when the corpus at ``../shared/corpus``
is absent.

Environment:

    BENCH_WORKDIR   directory for caches and server homes (default: a new temp
                    dir, removed at exit unless BENCH_KEEP=1).  `run_all.py`
                    sets it so that all benchmarks of one run share one corpus
                    cache and one datasets file.
"""

from __future__ import annotations

import atexit
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus"
RESULTS = REPO / "bench" / "results"
BIN = Path(sys.executable).parent

sys.path.insert(0, str(REPO))
from tests.live import LiveServer, free_port, manage, server_env  # noqa: E402

__all__ = [
    "BIN", "CORPUS", "REPO", "LiveServer", "Report", "corpus_cache", "datasets_file",
    "fmt_rate", "fresh_server", "free_port", "manage", "median", "p95", "require_corpus",
    "server_env", "timed", "workdir",
]


# --------------------------------------------------------------------------- corpus

def require_corpus(bench: str) -> None:
    """Exit cleanly (status 0) with a message when the shared corpus is absent."""
    if not (CORPUS / "make_cache.py").is_file():
        print(f"{bench}: SKIPPED: the corpus {CORPUS} is absent "
              f"(benchmarks need ../shared/corpus next to the repository).")
        sys.exit(0)


_workdir: Path | None = None


def workdir() -> Path:
    """The directory of this run: BENCH_WORKDIR, or a temp dir removed at exit."""
    global _workdir
    if _workdir is None:
        given = os.environ.get("BENCH_WORKDIR")
        if given:
            _workdir = Path(given)
            _workdir.mkdir(parents=True, exist_ok=True)
        else:
            _workdir = Path(tempfile.mkdtemp(prefix="crds-bench-"))
            if os.environ.get("BENCH_KEEP") != "1":
                atexit.register(shutil.rmtree, _workdir, True)
    return _workdir


def corpus_cache() -> Path:
    """The complete corpus cache (built once per work dir, ~10-15 s)."""
    cache = workdir() / "cache"
    stamp = cache / ".complete"
    if not stamp.exists():
        shutil.rmtree(cache, ignore_errors=True)
        step(f"building the corpus cache in {cache}")
        _run([sys.executable, str(CORPUS / "make_cache.py"), str(cache)])
        stamp.write_text("ok\n")
    return cache


def datasets_file(count: int, seed: int = 7) -> Path:
    """`count` synthetic datasets (JSON Lines) for the corpus rules, made once per work dir."""
    out = workdir() / f"datasets-{count}-{seed}.jsonl"
    if not out.exists():
        step(f"making {count} datasets")
        temp = out.with_suffix(".tmp")
        _run([sys.executable, str(CORPUS / "make_datasets.py"), str(corpus_cache()),
              str(count), str(temp), "--seed", str(seed)])
        temp.rename(out)
    return out


def read_datasets(path: Path) -> list[dict[str, Any]]:
    with open(path) as handle:
        return [json.loads(line) for line in handle if line.strip()]


def fresh_server(name: str, datasets: Path | None = None) -> Path:
    """A new CRDS_SERVER_HOME under the work dir with the corpus imported."""
    home = workdir() / name
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    step(f"new server home {home}: init, import-cache" + (", import-datasets" if datasets else ""))
    manage(home, "hst", "init", "--observatory", "hst")
    manage(home, "hst", "import-cache", str(corpus_cache()), "-v", "0")
    if datasets is not None:
        manage(home, "hst", "import-datasets", str(datasets))
    return home


def start_server(home: Path, workers: int = 2) -> LiveServer:
    """`crds-server run --bind 127.0.0.1:PORT --workers N --no-jobs` with the public URL set."""
    server = LiveServer(home, "hst").start(workers=workers)
    atexit.register(server.stop)
    step(f"server {server.url} ({workers} gunicorn workers)")
    return server


def library_env(file_cache: Path) -> dict[str, str]:
    """Environment of an in-process `crds` library in local (serverless) mode on `file_cache`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRDS_")}
    env.update(CRDS_PATH=str(file_cache), CRDS_OBSERVATORY="hst", CRDS_MODE="local",
               CRDS_SERVER_URL="https://crds-serverless-mode.stsci.edu")
    return env


def _run(argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess:
    done = subprocess.run(argv, capture_output=True, text=True, **kwargs)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed:\n{done.stdout}\n{done.stderr}")
    return done


# --------------------------------------------------------------------------- timing

def timed(function, *args, **kwargs) -> tuple[float, Any]:
    start = time.perf_counter()
    value = function(*args, **kwargs)
    return time.perf_counter() - start, value


def median(values: Iterable[float]) -> float:
    return statistics.median(list(values))


def p95(values: Iterable[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def fmt_rate(value: float, unit: str) -> str:
    return f"{value:,.0f} {unit}" if value >= 100 else f"{value:,.1f} {unit}"


def step(message: str) -> None:
    print(f"  .. {message}", flush=True)


# --------------------------------------------------------------------------- report

def busy_fraction(seconds: float = 1.0) -> float:
    """Share of all CPUs busy over `seconds` (from /proc/stat), before the benchmark starts work."""
    def sample() -> tuple[int, int]:
        try:
            fields = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
        except (OSError, ValueError):
            return 0, 0
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
        return sum(fields), idle
    total0, idle0 = sample()
    time.sleep(seconds)
    total1, idle1 = sample()
    return 0.0 if total1 == total0 else 1 - (idle1 - idle0) / (total1 - total0)


def machine() -> str:
    return f"{platform.node()} ({os.cpu_count()} cores, Python {platform.python_version()})"


class Report:
    """The rows of one benchmark: printed as a table and saved as JSON for run_all."""

    def __init__(self, bench: str, title: str) -> None:
        self.bench = bench
        self.title = title
        self.rows: list[dict[str, str]] = []
        self.notes: list[str] = []
        self.busy = busy_fraction()
        print(f"== {bench}: {title}", flush=True)
        print(f"   machine: {machine()}; CPU busy before start: {self.busy:.0%}", flush=True)

    def row(self, metric: str, ours: str, baseline: str = "", ratio: str = "", goal: str = "",
            verdict: str = "") -> None:
        entry = dict(metric=metric, ours=ours, baseline=baseline, ratio=ratio, goal=goal,
                     verdict=verdict)
        self.rows.append(entry)
        print("   " + " | ".join(v for v in entry.values() if v), flush=True)

    def note(self, text: str) -> None:
        self.notes.append(text)
        print(f"   note: {text}", flush=True)

    def table(self) -> str:
        head = ("metric", "ours", "baseline", "ratio", "goal", "verdict")
        cells = [head] + [tuple(r[k] for k in head) for r in self.rows]
        widths = [max(len(c[i]) for c in cells) for i in range(len(head))]
        lines = [f"== {self.bench}: {self.title}"]
        for index, cell in enumerate(cells):
            lines.append("  " + "  ".join(c.ljust(w) for c, w in zip(cell, widths, strict=True)).rstrip())
            if index == 0:
                lines.append("  " + "  ".join("-" * w for w in widths))
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    def save(self) -> None:
        if self.busy > 0.25:
            self.note(f"other work was using {self.busy:.0%} of the CPU when this benchmark started: "
                      f"absolute numbers are low and ratios noisier than on an idle machine")
        RESULTS.mkdir(parents=True, exist_ok=True)
        data = dict(bench=self.bench, title=self.title, rows=self.rows, notes=self.notes,
                    machine=machine(), date=time.strftime("%Y-%m-%d %H:%M:%S"))
        (RESULTS / f"{self.bench}.json").write_text(json.dumps(data, indent=1) + "\n")
        print(self.table(), flush=True)


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"
