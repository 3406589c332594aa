"""The Redis cache backend (web/cache.py): Django's, with one redis-py client per pool instead of one per call."""

import pytest
from django.conf import settings
from django.core.cache import cache

pytestmark = pytest.mark.skipif(
    not settings.CACHES["default"]["BACKEND"].endswith("web.cache.RedisCache"), reason="needs CACHE_URL (Redis)"
)


def test_every_call_gets_the_same_client_and_the_cache_works():
    client = cache._cache.get_client(write=True)
    assert cache._cache.get_client("a") is client is cache._cache.get_client("b", write=True)

    cache.set("web-cache-test", {"n": 1}, timeout=30)
    cache.add("web-cache-test-count", 0, timeout=30)
    cache.incr("web-cache-test-count")
    assert cache.get_many(["web-cache-test", "web-cache-test-count"]) == {
        "web-cache-test": {"n": 1},
        "web-cache-test-count": 1,
    }
    cache.delete_many(["web-cache-test", "web-cache-test-count"])
    assert cache._cache.get_client() is client
