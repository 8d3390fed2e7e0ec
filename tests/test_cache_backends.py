"""Server info is shared through Django's cache: local memory, Redis and memcached."""

from __future__ import annotations

import pytest
from django.core.cache import caches

from crds_server.catalog import serverinfo
from tests.live import port_open

BACKENDS = {
    "locmem": ({"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}, None),
    "redis": ({"BACKEND": "django.core.cache.backends.redis.RedisCache",
               "LOCATION": "redis://127.0.0.1:6379/15"}, 6379),
    "memcached": ({"BACKEND": "django.core.cache.backends.memcached.PyMemcacheCache",
                   "LOCATION": "127.0.0.1:11211"}, 11211),
}


@pytest.fixture(params=sorted(BACKENDS))
def cache_backend(request, settings):
    config, port = BACKENDS[request.param]
    if port and not port_open(port):
        pytest.skip(f"{request.param} is not running on 127.0.0.1:{port}")
    settings.CACHES = {"default": dict(config, KEY_PREFIX="crds-test")}
    caches["default"].clear()
    yield request.param
    caches["default"].clear()


def test_a_second_process_takes_server_info_from_the_shared_cache(
        cache_backend, demo_catalog, monkeypatch):
    first = serverinfo.server_info()
    builds = []
    original = serverinfo._build
    monkeypatch.setattr(serverinfo, "_build", lambda: builds.append(1) or original())
    serverinfo._cache["version"] = None  # as if another worker process asked
    second = serverinfo.server_info()
    assert builds == []
    assert second["download_metadata"] == first["download_metadata"]


def test_server_info_still_answers_when_the_cache_is_down(demo_catalog, settings):
    settings.CACHES = {"default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0"}}  # nothing listens on port 1
    info = serverinfo.server_info()
    assert info["latest_context"] == demo_catalog.context
