"""lib.lru: values built once while kept, the least recently used dropped first."""

from __future__ import annotations

from crds_server.lib.lru import LRU


def test_a_kept_value_is_not_built_again_and_the_least_recently_used_goes_first():
    built = []

    def build(key):
        return lambda: built.append(key) or f"value of {key}"

    cache: LRU[str] = LRU(2)
    assert cache.get("a", build("a")) == "value of a"
    cache.get("b", build("b"))
    assert cache.get("a", build("a")) == "value of a"  # kept: not built again; now most recent
    cache.get("c", build("c"))  # evicts b, the least recently used
    cache.get("a", build("a"))
    cache.get("b", build("b"))
    assert built == ["a", "b", "c", "b"]


def test_put_and_find_keep_the_bound_and_the_order_of_use():
    cache: LRU[int] = LRU(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.find("a", -1) == 1  # now the most recently used
    cache.put("c", 3)
    assert cache.find("b", -1) == -1 and cache.find("a", -1) == 1 and cache.find("c", -1) == 3
    cache.clear()
    assert cache.find("a", -1) == -1
