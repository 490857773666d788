"""Django's Redis cache, keeping one client per connection pool.

Django's own client builds a new ``redis.Redis`` for every cache call, and each one fills a
table of a few hundred response callbacks: on a cached page (session, user, ...) that was a
large share of the request. A client is safe to share; the pool hands out connections.
"""

from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from django.utils.functional import cached_property


class ReusedRedisCacheClient(RedisCacheClient):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, object] = {}

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            pool = self._get_connection_pool(write)
            client = self._clients[index] = self._client(connection_pool=pool)
        return client


class ReusedClientRedisCache(RedisCache):
    @cached_property
    def _cache(self) -> ReusedRedisCacheClient:
        return ReusedRedisCacheClient(self._servers, **self._options)
