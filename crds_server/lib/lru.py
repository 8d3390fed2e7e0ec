"""A small thread-safe LRU of values built on demand or put: per-process caches and kept answers."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")
_ABSENT: object = object()


class LRU(Generic[V]):
    """At most `size` values, the least recently used dropped first.

    `get(key, build)` returns the kept value or builds it outside the lock (two
    threads may build the same value once each; the last one is kept).
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._values: OrderedDict[Hashable, V] = OrderedDict()

    def get(self, key: Hashable, build: Callable[[], V]) -> V:
        with self._lock:
            if key in self._values:
                self._values.move_to_end(key)
                return self._values[key]
        value = build()
        self.put(key, value)
        return value

    def find(self, key: Hashable, default: V) -> V:
        """The kept value of `key` (now the most recently used), or `default`."""
        with self._lock:
            value = self._values.get(key, _ABSENT)
            if value is _ABSENT:
                return default
            self._values.move_to_end(key)
            return value

    def put(self, key: Hashable, value: V) -> None:
        with self._lock:
            self._values[key] = value
            self._values.move_to_end(key)
            while len(self._values) > self.size:
                self._values.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
