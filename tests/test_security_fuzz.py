"""A property-based fuzz of /json/: every generated body gets an HTTP 200 JSON envelope, nothing changes.

3,000 bodies per run, reproducible (derandomized, no example database):
calls of every registered method with plausible parameters chosen by
parameter name from the demo catalog (contexts, file names, dataset ids,
headers, the fuzz pipeline's valid key), one or more of them swapped for
anything (random JSON, huge numbers, deep lists, wrong types, oversized lists
and maps); calls of made-up methods; raw byte garbage; and hostile JSON texts
(NaN, Infinity, 1e400, 5,000-digit integers, deep nesting, lone surrogates,
other encodings, truncations).  Run with `-s` to see the figures.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import time
from collections import Counter

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crds_server.catalog import records
from crds_server.catalog.models import AuditEntry, ContextHistory, ContextPointer, File, RemoteContext
from crds_server.rpc import methods, registry  # noqa: F401  (methods registers them)
from crds_server.security import actions as pipeline_keys
from crds_server.security.models import PipelineKey

pytestmark = pytest.mark.django_db

BODIES = 3000
METHODS = sorted(registry.METHODS)
PATHS = ["/json/", "/json", "/json/{method}/fuzz-14.0.3-{n}/", "/json/%0A", "/json/a%0D%0Ab/", "/json/%00"]
CONTENT_TYPES = ["application/x-www-form-urlencoded", "application/json", "text/plain",
                 "application/octet-stream"]
PIPELINE = "fuzz-pipeline"


def catalog_state() -> dict:
    """What no anonymous call may change: files, pointers, history, audit, keys, remote contexts."""
    files = hashlib.sha256()
    for row in File.objects.order_by("name").values_list("name", "state", "rejected", "blacklisted",
                                                          "sha1sum", "size"):
        files.update(repr(row).encode())
    return {
        "files": (File.objects.count(), files.hexdigest()),
        "pointers": sorted(ContextPointer.objects.values_list("kind", "context")),
        "history": ContextHistory.objects.count(),
        "audit": AuditEntry.objects.count(),
        "keys": sorted(PipelineKey.objects.values_list("pipeline", "digest", "revoked")),
        # A push with the valid key may record (only) its own pipeline's context.
        "remote": sorted(set(RemoteContext.objects.values_list("pipeline", flat=True)) - {PIPELINE}),
    }


def weighted(*choices: tuple[int, st.SearchStrategy]) -> st.SearchStrategy:
    """One of the strategies, picked in proportion to its weight (one_of picks evenly among distinct ones)."""
    return st.sampled_from([s for weight, s in choices for _ in range(weight)]).flatmap(lambda s: s)


class Pools:
    """Strategies drawn from the demo catalog: plausible values by parameter name, and anything."""

    def __init__(self, demo, key: str) -> None:
        self.demo, self.key = demo, key
        self.files = list(File.objects.values_list("name", flat=True)[:40]) + ["x0000000_drk.fits", "a" * 300]
        self.header = demo.datasets[0]["header"]
        contexts = [demo.context, "hst-latest", "hst-edit", "hst-versions", "hst-build", "hst-operational",
                    "hst-acs-latest", "hst-acs-biasfile-latest", "2016-01-01T00:00:00", "hst-2099-01-01",
                    "hst_acs_0001.imap", "hst_0999.pmap", "jwst_0001.pmap", "hst-foo-latest"]
        self.known = (contexts + self.files[:5] + [
            "hst", "jwst", "HST", "latest", "operational", "edit", "*", "*.pmap", "*_bia.fits", "acs",
            "biasfile", "null", "None", "", "0", "-1", key, PIPELINE, demo.datasets[0]["id"],
            demo.datasets[0]["id"].split(":")[0], "1.14.0", "\u0000", "*" * 200, "%s%n", "../../etc"])
        self.anything = self._values()
        self.by_name = self._by_name(contexts)

    def atoms(self) -> st.SearchStrategy:
        others = st.one_of(st.none(), st.booleans(), st.integers(),
                           st.integers(min_value=2**63, max_value=10**300), st.integers(max_value=-2**63),
                           st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=40))
        return weighted((1, st.sampled_from(self.known)), (1, others))

    def _values(self) -> st.SearchStrategy:
        keys = st.one_of(st.sampled_from(sorted(self.header)), st.text(max_size=12))
        nested = st.recursive(self.atoms(), lambda inner: st.one_of(
            st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)), max_leaves=10)
        big_list = st.builds(lambda item, n: [item] * n, self.atoms(), st.sampled_from([257, 1001, 20_001]))
        big_map = st.builds(lambda h, n: {f"D{i}": h for i in range(n)}, self.headers(),
                            st.sampled_from([2, 1001]))
        deep = st.builds(lambda n: json.loads("[" * n + "]" * n), st.integers(1, 40))
        return weighted((6, nested), (2, self.headers()), (1, big_list), (1, big_map), (1, deep))

    def headers(self) -> st.SearchStrategy:
        """The demo header with a few values changed (or keys added)."""
        keys = st.one_of(st.sampled_from(sorted(self.header)), st.text(max_size=12))
        return st.builds(lambda changes: {**self.header, **changes},
                         st.dictionaries(keys, self.atoms(), max_size=3))

    def _by_name(self, contexts: list[str]) -> dict[str, st.SearchStrategy]:
        context = st.sampled_from(contexts)
        observatory = st.sampled_from(["hst", None, "HST", self.demo.context])
        name = st.sampled_from(self.files)
        reftypes = st.one_of(st.none(), st.lists(st.sampled_from(["biasfile", "darkfile", "BIASFILE", "x"]),
                                                 max_size=3))
        ids = st.lists(st.sampled_from([d["id"] for d in self.demo.datasets[:10]] + ["X", "I9ZF01010"]),
                       max_size=4)
        return {
            "context": context, "date_or_context": context, "date": context, "old_context": context,
            "new_context": context, "observatory": observatory, "context_or_observatory": observatory,
            "header": self.headers(),
            "headers": st.dictionaries(st.text(min_size=1, max_size=20), self.headers(), max_size=3),
            "reftypes": reftypes, "dataset_ids": ids, "filename": name, "mapping": name, "reference": name,
            "files": st.one_of(st.none(), st.lists(name, max_size=5)),
            "fields": st.one_of(st.none(), st.lists(st.sampled_from(list(records.FIELDS) + ["nope"]),
                                                    max_size=4)),
            "glob_pattern": st.sampled_from(["*", "*.pmap", "hst_acs_*.rmap", "*.r?d", "[a-z]*", "*" * 17]),
            "calver": st.sampled_from(["1.14.0", "0.0.1", "99"]),
            "master_version": st.sampled_from(["1.14.0", "0.0.1", "a b"]),
            "instrument": st.sampled_from(["acs", "ACS", "wfc3", "foo"]),
            "datasets_since": st.sampled_from([None, "1900-01-01 00:00:00", "2016-01-01T00:00:00", "x"]),
            "key": st.sampled_from([self.key, "no-such-channel", "x" * 128]),
            "kind": st.sampled_from(["latest", "operational", "edit"]),
            "state": st.sampled_from([None, "latest", "edit", "versions", "build", "nope"]),
            "pipeline_name": st.sampled_from([PIPELINE, "nobody"]),
            "since_id": st.one_of(st.sampled_from(["0", 0, None, "-1", "9" * 30]), st.integers()),
            "include_headers": st.booleans(),
        }

    def method_call(self) -> st.SearchStrategy:
        """(method, params): plausible parameters by name, some swapped for anything; sometimes ±1 of them."""

        def for_method(name: str) -> st.SearchStrategy:
            wanted = list(inspect.signature(registry.METHODS[name]).parameters)
            plausible = [self.by_name.get(p, self.anything) for p in wanted]
            slots = [weighted((5, s), (1, self.anything)) for s in plausible]
            exact = st.tuples(*slots).map(list)
            shorter = exact.map(lambda params: params[:-1])
            longer = st.tuples(exact, self.anything).map(lambda pair: pair[0] + [pair[1]])
            return st.tuples(st.just(name), weighted((8, exact), (1, shorter), (1, longer)))

        return st.sampled_from(METHODS).flatmap(for_method)

    def calls(self) -> st.SearchStrategy:
        """JSON texts of calls: mostly registered methods; made-up names; params that are not a list."""
        odd = st.tuples(st.one_of(st.text(max_size=20), self.atoms()),
                        st.one_of(st.lists(self.anything, max_size=4), self.anything))
        method_params = weighted((9, self.method_call()), (1, odd))
        ident = st.one_of(st.text(max_size=60), st.integers(), st.none(), self.anything)
        body = st.builds(lambda mp, extra: {"method": mp[0], "params": mp[1], **extra}, method_params,
                         st.fixed_dictionaries({}, optional={"jsonrpc": st.just("1.0"), "id": ident}))
        return body.map(lambda b: json.dumps(b).encode("utf-8"))

    def hostile(self) -> st.SearchStrategy:
        method = st.sampled_from(METHODS)
        template = st.builds(lambda t, m: t.format(m=m).encode("utf-8", "surrogatepass"),
                             st.sampled_from(HOSTILE), method)
        nested = st.builds(lambda m, n, closed: (f'{{"method": "{m}", "params": ' + "[" * n
                                                 + ("]" * n if closed else "") + ', "id": 1}').encode(),
                           method, st.integers(30, 200_000), st.booleans())
        other_encoding = st.builds(lambda b, enc: b.decode().encode(enc), self.calls(),
                                   st.sampled_from(["utf-16", "utf-32", "latin-1"]))
        truncated = st.builds(lambda b, cut: b[:cut], self.calls(), st.integers(0, 80))
        return st.one_of(template, nested, other_encoding, truncated, st.binary(max_size=300))

    def requests(self) -> st.SearchStrategy:
        """(body, path, content type, method for the path)."""
        body = weighted((4, self.calls()), (1, self.hostile()))
        return st.tuples(body, st.sampled_from(PATHS), st.sampled_from(CONTENT_TYPES),
                         st.sampled_from(METHODS))


HOSTILE = [
    '{{"method": "{m}", "params": [], "id": NaN}}', '{{"method": "{m}", "params": [], "id": Infinity}}',
    '{{"method": "{m}", "params": [], "id": -Infinity}}', '{{"method": "{m}", "params": [], "id": 1e400}}',
    '{{"method": "{m}", "params": [-1e400], "id": 1}}',
    '{{"method": "{m}", "params": [], "id": ' + "9" * 5000 + "}}",
    '{{"method": "{m}", "params": ["\\ud800", "\\udfff"], "id": "\\ud800"}}',
    '{{"method": "{m}", "params": ["hst", "\\ud800"], "id": 1}}', '{{"method": "\ud800", "params": []}}',
    '{{"method": "{m}", "method": "get_server_info", "params": [], "id": 1}}',
    '\ufeff{{"method": "{m}", "params": [], "id": 1}}', '{{"method": "{m}", "params": [], "id": 1}} trailing',
    '{{"method": "{m}", "params": [NaN, Infinity], "id": 1}}', '{{"method": "{m}"',
]


def is_envelope(response) -> str | None:
    """None if `response` is what the client needs (contract §1.3), else what is wrong."""
    if response.status_code != 200:
        return f"HTTP {response.status_code}"
    try:
        reply = json.loads(response.content.decode("utf-8"),
                           parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
    except ValueError as exc:
        return f"not JSON: {exc}"
    if not isinstance(reply, dict) or set(reply) != {"jsonrpc", "id", "result", "error"}:
        return f"not an envelope: {str(reply)[:200]}"
    error = reply["error"]
    if error is not None and (not isinstance(error, dict) or set(error) != {"name", "code", "data", "message"}
                              or not isinstance(error["message"], str)):
        return f"bad error object: {str(error)[:200]}"
    return None


def test_every_generated_body_gets_a_json_envelope_and_changes_nothing(demo_catalog):
    key = pipeline_keys.create_pipeline_key("operator", PIPELINE)
    client = Client(raise_request_exception=False)  # a view exception comes back as a 500, counted
    before = catalog_state()
    sent, statuses, outcomes, bad = 0, Counter(), Counter(), []
    started, answering = time.monotonic(), 0.0

    @settings(max_examples=BODIES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(Pools(demo_catalog, key).requests())
    def one(request) -> None:
        nonlocal sent, answering
        body, path, content_type, method = request
        tick = time.monotonic()
        response = client.post(path.format(method=method, n=sent), data=body, content_type=content_type)
        answering += time.monotonic() - tick
        sent += 1
        statuses[response.status_code] += 1
        problem = is_envelope(response)
        if problem:
            bad.append((problem, body[:200], path))
            return
        error = json.loads(response.content)["error"]
        outcomes["(a result)" if error is None else error["message"][:70] if error["name"] == "OtherError"
                 else error["name"]] += 1

    one()
    fives = sum(n for status, n in statuses.items() if status >= 500)
    print(f"\nJSON-RPC fuzz: {sent} bodies in {time.monotonic() - started:.1f} s ({answering:.1f} s "
          f"answering), {fives} 5xx, statuses {dict(statuses)}; outcomes {outcomes.most_common(20)}")
    assert bad == [], f"{len(bad)} of {sent} answers were not envelopes ({fives} 5xx); first: {bad[:5]}"
    assert catalog_state() == before
    assert outcomes["(a result)"] > sent / 10, "too few calls get past the parameter checks to be a fuzz"
    assert sent >= BODIES * 0.9
