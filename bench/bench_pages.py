#!/usr/bin/env python3
"""Server time of every web page on the HST corpus catalog, warm.

A fresh server home with the corpus cache and 2,000 datasets imported, a
derived context (its WFC3 DARKFILE rmap drops one reference, as
`tests/web_helpers.derive_context` does) made with `crds-server shell -c`,
then `crds-server run` with ONE sync gunicorn worker, so that every request
lands on the same warm process.  Each page: 2 untimed warm-ups, then the
median (and the largest) of PAGE_CALLS GETs over loopback, each on a new
connection, timed from the request to the last byte of the body.

Baseline: `/health`, the most trivial page (one connection, one Django
request, no template), measured the same way in the same run; each page is
reported as a ratio to it.  Goal: no page above ~300 ms warm.

Environment: BENCH_PAGE_CALLS (default 10).
"""

from __future__ import annotations

import http.client
import json
import os
import re
import sys
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

CALLS = int(os.environ.get("BENCH_PAGE_CALLS", "10"))
WARMUPS = 2
GOAL_MS = 300.0
DERIVE = """
import json, sys
sys.path.insert(0, {repo!r})
from django.conf import settings
from tests.builders import CatalogBuilder
from tests.web_helpers import derive_context
names = derive_context(CatalogBuilder(settings), "hst.pmap", "wfc3", "darkfile", serial="9001")
print("DERIVED " + json.dumps(names))
"""


class Client:
    """GETs and POSTs on new loopback connections, with a cookie jar for the CSRF token."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: str | None = None,
                headers: dict[str, str] | None = None) -> tuple[float, int, bytes]:
        headers = dict(headers or {}, Connection="close")
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        start = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        data = response.read()
        seconds = time.perf_counter() - start
        for value in response.headers.get_all("Set-Cookie") or []:
            key, _, rest = value.partition("=")
            self.cookies[key.strip()] = rest.split(";", 1)[0]
        conn.close()
        return seconds, response.status, data


def csrf_post(client: Client, path: str, fields: dict[str, str]):
    """A function that POSTs `fields` to `path` with a valid CSRF token (taken once)."""
    _, _, page = client.request("GET", path)
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    form = dict(fields, csrfmiddlewaretoken=token.group(1).decode() if token else "")
    body = urllib.parse.urlencode(form)
    headers = {"Content-Type": "application/x-www-form-urlencoded",
               "Referer": f"http://127.0.0.1:{client.port}{path}"}
    return lambda: client.request("POST", path, body=body, headers=headers)


def measure(run) -> tuple[float, float, int, int]:
    """(median s, max s, status, body bytes) of CALLS timed calls after WARMUPS untimed ones."""
    for _ in range(WARMUPS):
        run()
    times, status, size = [], 0, 0
    for _ in range(CALLS):
        seconds, status, body = run()
        times.append(seconds)
        size = len(body)
    return common.median(times), max(times), status, size


def derived_context(home: Path) -> dict:
    out = common.manage(home, "hst", "shell", "-c", DERIVE.format(repo=str(common.REPO)),
                        PYTHONPATH=str(common.REPO))
    line = [x for x in out.splitlines() if x.startswith("DERIVED ")][-1]
    return json.loads(line[len("DERIVED "):])


def largest_rmap(cache: Path) -> tuple[str, str]:
    """(smallest, largest) .rmap of the corpus cache by size."""
    rmaps = sorted((p.stat().st_size, p.name) for p in (cache / "mappings" / "hst").glob("*.rmap"))
    return rmaps[0][1], rmaps[-1][1]


def pages(client: Client, names: dict, small: str, large: str, reference: str,
          header: str, dataset: str) -> list[tuple[str, object]]:
    get = lambda path: (lambda: client.request("GET", path))  # noqa: E731
    return [
        ("/ (home)", get("/")),
        ("/browse/", get("/browse/")),
        ("/browse/?instrument=wfc3&filekind=darkfile", get("/browse/?instrument=wfc3&filekind=darkfile")),
        ("/browse/?name=*dark*&sort=-size&page=3", get("/browse/?name=*dark*&sort=-size&page=3")),
        ("/browse/<reference>", get(f"/browse/{reference}")),
        (f"/browse/{small} (smallest rmap)", get(f"/browse/{small}")),
        (f"/browse/{large} (largest rmap)", get(f"/browse/{large}")),
        (f"/browse/{large}?rules_q=... (filtered)", get(f"/browse/{large}?rules_q=1995-")),
        ("/browse/hst.pmap", get("/browse/hst.pmap")),
        ("/context_history/", get("/context_history/")),
        ("/contexts/", get("/contexts/")),
        ("/context_table/hst.pmap", get("/context_table/hst.pmap")),
        (f"/diff/hst.pmap/{names['pmap']}", get(f"/diff/hst.pmap/{names['pmap']}")),
        ("/bestrefs/ (form)", get("/bestrefs/")),
        ("/bestrefs/ POST pasted header", csrf_post(client, "/bestrefs/", {"context": "hst.pmap",
                                                                           "header": header})),
        ("/bestrefs/?dataset=<id>", get(f"/bestrefs/?context=hst.pmap&dataset={dataset}")),
        ("/bestrefs/?instrument=wfc3", get("/bestrefs/?context=hst.pmap&instrument=wfc3")),
        ("/recent_activity/", get("/recent_activity/")),
        ("/help/", get("/help/")),
        ("/json/ (GET)", get("/json/")),
        ("/affected/", get("/affected/")),
        ("/build_contexts/", get("/build_contexts/")),
        ("/recent_activity/?extension=.pmap", get("/recent_activity/?extension=.pmap")),
        ("/recent_activity/?instrument=wfc3&filekind=darkfile&start=...",
         get("/recent_activity/?instrument=wfc3&filekind=darkfile&start=2000-01-01")),
        ("/browse/?sort=-uploaded_as (uploaded-as, aperture columns)", get("/browse/?sort=-uploaded_as")),
        ("/context_history/?page=1 (timeline)", get("/context_history/?page=1")),
        # #13 webB: the latest references pane is on "/"; one type's references, a reference diff.
        ("/context_table/hst.pmap/wfc3/darkfile", get("/context_table/hst.pmap/wfc3/darkfile")),
        ("/context_table/hst.pmap/wfc3/darkfile?fragment=1",
         get("/context_table/hst.pmap/wfc3/darkfile?fragment=1&boxes=1")),
        ("/context_table/hst.pmap/wfc3/darkfile?q=UVIS&page=2",
         get("/context_table/hst.pmap/wfc3/darkfile?q=UVIS&page=2")),
        (f"/browse/{names['old_rmap']} (lookup patterns: selectors)", get(f"/browse/{names['old_rmap']}")),
        ("/diff/<reference>/<reference> (cached)", get("/diff/{}/{}".format(*two_references(names)))),
        ("/versions/", get("/versions/")),
        ("/display_context_history/ (301)", get("/display_context_history/")),
        ("/static/users_guide/index.html (301)", get("/static/users_guide/index.html")),
        # G3: the listings' search box over text columns and Show N entries.
        ("/browse/?search=dark&show=25", get("/browse/?search=dark&show=25")),
        ("/recent_activity/?extension=*&search=wfc3", get("/recent_activity/?extension=*&search=wfc3")),
        ("/contexts/?search=hst&show=10", get("/contexts/?search=hst&show=10")),
        ("/bestrefs/?context_mode=context_menu&context_menu=hst.pmap (picker)",
         get("/bestrefs/?context_mode=context_menu&context_menu=hst.pmap")),
    ]


OPERATOR = ("bench-operator", "bench-operator-pw")


def operator_pages(client: Client, reference: str) -> list[tuple[str, object]]:
    """Pages of a logged-in operator (logged in here, so the pages above stay anonymous)."""
    csrf_post(client, "/login/", {"username": OPERATOR[0], "password": OPERATOR[1],
                                  "instrument": "none", "next": "/"})()
    get = lambda path: (lambda: client.request("GET", path))  # noqa: E731
    return [
        ("/ (operator)", get("/")),
        ("/pipelines/", get("/pipelines/")),
        ("/set_context/", get("/set_context/")),
        ("/admin/", get("/admin/")),
        ("/admin/catalog/file/", get("/admin/catalog/file/")),
        ("/admin/catalog/file/?instrument__exact=wfc3&q=dark",
         get("/admin/catalog/file/?instrument__exact=wfc3&q=dark")),
        ("/admin/catalog/file/?p=100", get("/admin/catalog/file/?p=100")),
        ("/admin/catalog/file/?q=<reference>", get(f"/admin/catalog/file/?q={reference}")),
        ("/admin/catalog/auditentry/", get("/admin/catalog/auditentry/")),
        ("/server_workflow/", get("/server_workflow/")),
    ]


def two_references(names: dict) -> tuple[str, str]:
    """Two references of the derived context's rmap (sorted), for a reference difference."""
    text = (common.corpus_cache() / "mappings" / "hst" / names["old_rmap"]).read_text()
    found = sorted(set(re.findall(r"'(\w+\.fits)'", text)))
    return found[0], found[1]


def main() -> None:
    common.require_corpus("bench_pages")
    report = common.Report("pages", "web pages on the HST corpus, warm server time")
    datasets = common.datasets_file(2000)
    home = common.fresh_server("pages", datasets=datasets)
    common.step("deriving a context (WFC3 DARKFILE drops one reference)")
    names = derived_context(home)
    small, large = largest_rmap(common.corpus_cache())
    first = common.read_datasets(datasets)[0]
    header = "\n".join(f"{k} = {v}" for k, v in first["header"].items())
    reference = names["dropped"]
    common.manage(home, "hst", "createuser", OPERATOR[0], "--email", "bench@example.org",
                  "--password", OPERATOR[1], "--role", "operator", "--no-token")
    server = common.start_server(home, workers=1)
    client = Client(server.port)
    try:
        health = measure(lambda: client.request("GET", "/health"))
        report.row("/health (baseline)", f"{health[0] * 1000:.1f} ms", "", "1.0x")
        results = []
        anonymous = pages(client, names, small, large, reference, header, first["id"])
        for group in (lambda: anonymous, lambda: operator_pages(client, reference)):
            for label, run in group():  # the operator's pages log in first: after the others
                med, worst, status, size = measure(run)
                results.append((label, med))
                report.row(f"{label} [{status}, {size / 1024:,.0f} KiB]", f"{med * 1000:,.1f} ms",
                           f"max {worst * 1000:,.0f} ms", f"{med / health[0]:,.0f}x /health",
                           f"< {GOAL_MS:.0f} ms", common.verdict(med * 1000 < GOAL_MS))
    finally:
        server.stop()
    slowest = max(results, key=lambda r: r[1])
    over = [label for label, med in results if med * 1000 >= GOAL_MS]
    report.row("slowest page", f"{slowest[1] * 1000:,.1f} ms", slowest[0])
    report.row("pages at or above 300 ms", f"{len(over)} of {len(results)}", ", ".join(over))
    report.note(f"median of {CALLS} GETs after {WARMUPS} warm-ups, each on a new loopback connection, "
                f"to the last byte; 1 sync gunicorn worker; baseline /health measured the same way")
    report.note(f"derived context {names['pmap']} ({names['rmap']}); reference page: {reference}; "
                f"dataset {first['id']}")
    report.save()


if __name__ == "__main__":
    main()
