#!/usr/bin/env python3
"""`get_file_info_map` over the whole catalog (~18,700 records).

Two calls, each on a freshly started server (2 workers):

- `get_file_info_map("hst", null, null)`: every record, every field;
- `get_file_info_map("hst", null, [blacklisted, rejected, sha1sum, size, state])`:
  the field set `crds sync --check-files` asks for (the client sorts it).

Cold: the first call after the server starts.  Warm: median (and p95) of
CALLS calls after every worker has answered once (goal: warm < 100 ms).
Baseline: `json.dumps` of the same (decoded) data in-process, and, since
the server must send maps of more than 1,000 entries `crds_encoded`
(gzip + base64), `json.dumps` + that encoding in-process too.

Environment: BENCH_CALLS (default 15).
"""

from __future__ import annotations

import base64
import gzip
import http.client
import json
import os
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

CALLS = int(os.environ.get("BENCH_CALLS", "15"))
SYNC_FIELDS = ["blacklisted", "rejected", "sha1sum", "size", "state"]


def call(port: int, params: list) -> tuple[float, object, int]:
    """(seconds, result, response bytes) of one call on a new connection, as the client does."""
    body = json.dumps({"jsonrpc": "1.0", "method": "get_file_info_map", "params": params, "id": "1"})
    start = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    conn.request("POST", "/json/get_file_info_map/1/", body=body,
                 headers={"Content-Type": "application/json", "Connection": "close"})
    raw = conn.getresponse().read()
    reply = json.loads(raw)
    seconds = time.perf_counter() - start
    conn.close()
    if reply.get("error"):
        raise RuntimeError(reply["error"])
    return seconds, reply["result"], len(raw)


def decode(result):
    if isinstance(result, dict) and result.get("crds_encoded") == "1.0":
        return json.loads(gzip.decompress(base64.b64decode(result["crds_payload"])))
    return result


def encode(obj) -> dict:
    payload = gzip.compress(json.dumps(obj).encode("utf-8"), compresslevel=6)
    return {"crds_encoded": "1.0", "crds_payload": base64.b64encode(payload).decode("ascii")}


def in_process(function, data, runs: int = 5) -> float:
    return common.median(common.timed(function, data)[0] for _ in range(runs))


def measure(report: common.Report, home: Path, label: str, params: list) -> None:
    server = common.start_server(home, workers=2)
    try:
        cold, result, size = call(server.port, params)
        # Warm every worker: concurrent calls land on different workers.
        for _ in range(2):
            threads = [threading.Thread(target=call, args=(server.port, params)) for _ in range(2)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        warm = [call(server.port, params)[0] for _ in range(CALLS)]
    finally:
        server.stop()
    data = decode(result)
    dumps = in_process(json.dumps, data)
    dumps_encoded = in_process(lambda d: json.dumps(encode(d)), data)
    med, tail = common.median(warm), common.p95(warm)
    report.row(f"{label}: cold, first call after start", f"{cold * 1000:,.0f} ms")
    report.row(f"{label}: warm median", f"{med * 1000:,.0f} ms", f"{dumps * 1000:,.0f} ms json.dumps",
               f"{med / dumps:.1f}x", "< 100 ms", common.verdict(med < 0.1))
    report.row(f"{label}: warm median vs dumps+gzip+base64", f"{med * 1000:,.0f} ms",
               f"{dumps_encoded * 1000:,.0f} ms", f"{med / dumps_encoded:.1f}x", "(info)")
    report.row(f"{label}: warm p95", f"{tail * 1000:,.0f} ms")
    report.note(f"{label}: {len(data):,} records, {size / 1e6:.1f} MB on the wire "
                f"({len(json.dumps(data)) / 1e6:.1f} MB of JSON before crds_encode)")


def main() -> None:
    common.require_corpus("bench_file_info_map")
    report = common.Report("file_info_map", "get_file_info_map over the whole catalog")
    home = common.fresh_server("file_info_map")
    measure(report, home, "all fields", ["hst", None, None])
    measure(report, home, "sync fields", ["hst", None, SYNC_FIELDS])
    report.note(f"warm = median of {CALLS} sequential calls, each on a new connection (as the "
                f"client's urllib does), timed to the parsed JSON-RPC reply; 2 gunicorn workers")
    report.save()


if __name__ == "__main__":
    main()
