"""Redis clients for the service. redis-py's asyncio pool raises "Too many connections" past 100
commands in flight; under a thousand streams a command should wait its turn instead."""

from __future__ import annotations

from redis.asyncio import BlockingConnectionPool, Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

# What a Redis restart or failover looks like to a client: worth waiting out and retrying.
REDIS_OUTAGES = (RedisConnectionError, RedisTimeoutError, OSError)
# The namespace of a deployment that names none (STORYSTREAM_REDIS_NAMESPACE).
DEFAULT_REDIS_NAMESPACE = "storystream"
POOL_CONNECTIONS = 64
POOL_WAIT_SECONDS = 20.0


def redis_key(namespace: str, *parts: str) -> str:
    """A Redis key (or the prefix of a family of keys) in a deployment's namespace:
    `redis_key("storystream", "run", "")` is "storystream:run:"."""
    return ":".join((namespace, *parts))


def pooled_client(url: str, max_connections: int = POOL_CONNECTIONS) -> Redis:
    """A client whose commands wait (up to POOL_WAIT_SECONDS) for one of `max_connections`."""
    pool = BlockingConnectionPool.from_url(
        url, max_connections=max_connections, timeout=POOL_WAIT_SECONDS
    )
    return Redis(connection_pool=pool)


def dedicated_client(url: str) -> Redis:
    """A client on one connection of its own, for a command that blocks (XREAD BLOCK)."""
    return Redis.from_url(url, single_connection_client=True)
