"""The cache backend for Redis (CACHES in settings): Django's, keeping one redis-py client per connection pool.

Django's RedisCacheClient builds a new redis.Redis around its pool for every cache call, and each one fills a
table of some 170 response callbacks first: on a login (the throttle's and attack mode's read) that cost more
CPU than the round trip to Redis. A client only holds its pool and that table, and is safe to share between
threads, so the same one serves every call; the pools and their connections are Django's, as before.
"""

from django.core.cache.backends import redis as django_redis


class RedisCacheClient(django_redis.RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(pool)
        if client is None:
            client = self._clients[pool] = self._client(connection_pool=pool)
        return client


class RedisCache(django_redis.RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = RedisCacheClient
