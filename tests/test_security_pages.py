"""A fuzz of every GET page: hostile path parameters and query strings never give a 5xx.

Every URL pattern of `crds_server/urls.py` (admin included) is enumerated, its
path parameters filled with hostile values (very long strings, `../`, NUL and
newline, unicode, 5,000-digit numbers, glob bombs), one at a time while the
others keep a plausible value, and every page gets hostile values for the query
parameters its view reads.  The list is deterministic, so a failure names the
exact request that reproduces it.  It runs against the demo catalog as an
anonymous visitor and as a logged-in submitter, and the catalog is unchanged after.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RoutePattern

from crds_server.catalog import contexts
from crds_server.catalog.models import File
from tests.submitting import persona

HOSTILE = [
    "", " ", "x" * 5000, "9" * 5000, "-1", "0", "1e400", "NaN", "..", "../../../../etc/passwd",
    "..\\..\\win.ini", "a/b", "\x00", "a\x00b.rmap", "\n", "a\r\nSet-Cookie: x=y", "é", "☃.pmap", "😀",
    "\ud7ff\ufffe", "*" * 30 + "X", "?" * 30, "*a" * 40, "*a" * 8 + "X", "?*" * 4 + "X",
    "%", "%00", "_", "\\", "<script>alert(1)</script>",
    "' OR '1'='1", "%s%n", "hst_0001.pmap.pkl", "2024-13-45", "9999-12-31", "0000-00-00",
]

BROWSE = ["instrument", "filekind", "state", "kind", "name", "extension", "bad", "start", "stop", "sort",
          "page"]
# The query parameters each view reads (from the views); other pages get GENERIC all at once.
PAGE_PARAMS = {
    "web-browse": BROWSE,
    "web-file-details": ["text", "rules_q", "rules_page"],
    "web-context-history": ["page"],
    "web-contexts": ["page"],
    "web-diff-form": ["context", "old", "new"],
    "web-recent-activity": ["action", "user", "filename", "extension", "instrument", "filekind", "start",
                            "stop", "page"],
    "web-bestrefs": ["context", "instrument", "dataset", "header", "go", "sel-DETECTOR", "val-DETECTOR"],
    "web-affected-run": ["format"],
    "web-login": ["next"],
}
GENERIC = ["page", "sort", "name", "next", "format", "text", "context", "old", "new", "q"]
# The other parameters' values while one is hostile, so that the view goes past its first check.
BASE_QUERY = {
    "web-diff-form": {"old": "{pmap}", "new": "{rmap}"},
    "web-bestrefs": {"context": "{pmap}", "instrument": "acs", "go": "1"},
    "web-file-details": {"text": "", "rules_q": "dark"},
}

_GROUP = re.compile(r"\(\?P<(\w+)>([^()]*)\)")
_CONVERTER = re.compile(r"<(?:\w+:)?(\w+)>")


def _routes(resolver: URLResolver, prefix: str = "", namespace: str = "") -> Iterator[tuple[str, str]]:
    """(name, URL template with {param} holes) of every pattern under `resolver`."""
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _routes(entry, prefix + _template(entry.pattern), inner)
        elif isinstance(entry, URLPattern):
            yield f"{namespace}{entry.name or '(unnamed)'}", prefix + _template(entry.pattern)


def _template(pattern) -> str:
    text = str(pattern)
    if isinstance(pattern, RoutePattern):
        return _CONVERTER.sub(r"{\1}", text)
    text = _GROUP.sub(r"{\1}", text).replace(r"[\s\S]+", "{rest}").replace("/?", "/")
    text = text.replace("^", "").replace("$", "")
    assert not re.search(r"[\\\[\]()*+?|]", text), f"a URL pattern this fuzz cannot fill: {pattern}"
    return text


@pytest.fixture
def plausible(demo_catalog) -> dict[str, list[str]]:
    """Values of each path parameter that reach the view (the fuzz varies one parameter at a time)."""
    rmap = File.objects.filter(name__endswith=".rmap").order_by("name").first().name
    reference = File.objects.references().order_by("name").first().name
    pmap = demo_catalog.context
    return {"kind": ["mappings", "references", "config", "pickles"], "observatory": ["hst"],
            "name": [rmap, reference, pmap, "server_config", f"{pmap}.pkl"], "pmap": [pmap],
            "old": [pmap, rmap], "new": [pmap, rmap], "username": ["homer"],
            "results_id": ["00000000-0000-0000-0000-000000000000"], "app_label": ["auth", "axes"],
            "object_id": ["1"], "content_type_id": ["1"], "id": ["1"], "url": ["nothing"],
            "rest": ["method"]}


def _encodings(value: str) -> set[str]:
    """A value as one path segment, and as it would be typed (slashes kept)."""
    return {quote(value, safe=""), quote(value, safe="/")}


def path_requests(plausible: dict[str, list[str]]) -> list[tuple[str, str]]:
    """(name, path) of every pattern: plausible values, then each parameter over HOSTILE."""
    requests = []
    for name, template in _routes(get_resolver()):
        params = re.findall(r"{(\w+)}", template)
        base = {p: quote(plausible.get(p, ["x"])[0], safe="") for p in params}
        requests.append((name, "/" + template.format(**base)))
        for param in params:
            for value in plausible.get(param, []) + HOSTILE:
                for encoded in _encodings(value):
                    requests.append((name, "/" + template.format(**dict(base, **{param: encoded}))))
    return requests


def query_requests(plausible: dict[str, list[str]]) -> list[tuple[str, str, dict]]:
    """(name, path, query) for every page: each of its parameters over HOSTILE, others unset."""
    requests = []
    for name, template in _routes(get_resolver()):
        params = re.findall(r"{(\w+)}", template)
        path = "/" + template.format(**{p: quote(plausible.get(p, ["x"])[0], safe="") for p in params})
        if name in PAGE_PARAMS:
            base = {k: v.format(pmap=plausible["pmap"][0], rmap=plausible["old"][1])
                    for k, v in BASE_QUERY.get(name, {}).items()}
            for key in PAGE_PARAMS[name]:
                requests += [(name, path, dict(base, **{key: value})) for value in HOSTILE]
            requests.append((name, path, {"context": HOSTILE[:4], "old": HOSTILE[2], "new": HOSTILE[5]}))
        elif not name.startswith("admin:"):
            requests += [(name, path, {key: value for key in GENERIC}) for value in HOSTILE]
    return requests


def _catalog_state() -> tuple:
    rows = File.objects.order_by("name").values_list("name", "state", "rejected", "blacklisted")
    return list(rows), [contexts.pointer(kind) for kind in ("latest", "edit", "build")]


def _fuzz(client: Client, plausible: dict, relogin=None) -> tuple[int, list[str]]:
    """Send every request; (how many were sent, the 5xx or unexpected answers as reproducible lines)."""
    failures, sent = [], 0
    for name, path in path_requests(plausible):
        sent += 1
        status = client.get(path).status_code
        if not 200 <= status < 500:
            failures.append(f"{status} GET {path} ({name})")
        if relogin and name in ("web-logout", "admin:logout"):
            relogin()
    for name, path, query in query_requests(plausible):
        sent += 1
        status = client.get(path, query).status_code
        if not 200 <= status < 500:
            failures.append(f"{status} GET {path} {query!r} ({name})")
        if relogin and name in ("web-logout", "admin:logout"):
            relogin()
    return sent, failures


def test_every_url_pattern_is_filled_by_the_fuzz(plausible):
    names = [name for name, _ in _routes(get_resolver())]
    assert {"web-browse", "web-diff", "web-unchecked-get", "web-display-result", "admin:index"} <= set(names)
    assert len(path_requests(plausible)) > len(names) * 5


def test_no_hostile_path_or_query_gives_a_5xx_to_an_anonymous_visitor(demo_catalog, plausible):
    before = _catalog_state()
    sent, failures = _fuzz(Client(raise_request_exception=False), plausible)
    print(f"anonymous fuzz: {sent} requests, {len(failures)} answers outside 2xx-4xx")
    assert not failures, "\n".join(failures)
    assert _catalog_state() == before


def test_no_hostile_path_or_query_gives_a_5xx_to_a_logged_in_submitter(demo_catalog, plausible):
    homer = persona("homer", instrument="acs")
    client = Client(raise_request_exception=False)
    client.force_login(homer)
    before = _catalog_state()
    sent, failures = _fuzz(client, plausible, relogin=lambda: client.force_login(homer))
    print(f"submitter fuzz: {sent} requests, {len(failures)} answers outside 2xx-4xx")
    assert not failures, "\n".join(failures)
    assert _catalog_state() == before
