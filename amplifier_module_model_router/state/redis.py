"""The ``redis`` backend: one Redis shared by a team's processes on every machine.

Keys live under one namespace (``<namespace>:v1:...``) and expire by themselves (catalog TTL,
cooldown length, lease length, counter lifetime), so a Redis shared with other applications
needs no cleaning. Times come back as Redis's own ``PTTL``: machines whose clocks disagree
still agree on how long a cooldown has left. Read-modify-writes are small Lua scripts (atomic
on the server).

Cooldowns are also *pushed*: the script that sets one publishes it on the namespace's channel
in the same step, and :meth:`RedisStore.listen_cooldowns` delivers what other processes set,
so a subscribed process knows of a 429 elsewhere within a network hop, with no read before its
model calls (:class:`.sync.CooldownSync`).

The asyncio client (``redis`` on PyPI) binds its connections to one event loop, so the store
keeps one client per running loop. It never retries by itself: :class:`.guard.GuardedStore`
decides when to try again, in the background.
"""

from __future__ import annotations

import asyncio
import json
import weakref
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from .base import (
    CooldownKey,
    StoreError,
    StoreUnavailable,
    StoredCatalog,
    StoredCooldown,
    cooldown_field,
    model_of_field,
)
from .codec import decode_catalog, encode_catalog, short_reason

__all__ = ["DEFAULT_NAMESPACE", "RedisStore", "redacted_url"]

DEFAULT_NAMESPACE = "amplifier-model-router"
_MAX_KEYS_PER_READ = 500

# Keep the longer cooldown: PTTL is -2 for a missing key, so a new key is always written; a
# written cooldown is published (ARGV[3]) on the channel (KEYS[2]) in the same atomic step.
_PUT_COOLDOWN = """
local left = redis.call('PTTL', KEYS[1])
if left < tonumber(ARGV[2]) then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  redis.call('PUBLISH', KEYS[2], ARGV[3])
  return 1
end
return 0
"""
_CLEAR_COOLDOWN = """
if redis.call('DEL', KEYS[1]) == 1 then redis.call('PUBLISH', KEYS[2], ARGV[1]) end
return 0
"""
_MAX_MESSAGE_BYTES = 2048
_ACQUIRE = """
local holder = redis.call('GET', KEYS[1])
if (not holder) or holder == ARGV[1] then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
# A counter's lifetime starts when it is created; increments never extend it.
_INCR = """
local value = redis.call('INCRBYFLOAT', KEYS[1], ARGV[1])
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return value
"""


def redacted_url(url: str) -> str:
    """``redis://user:secret@host:6379/0`` -> ``redis://host:6379/0`` (for messages)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value if isinstance(value, str) else None


def _cooldown_message(data: Any) -> StoredCooldown | None:
    """A published cooldown (bounded, checked: the channel is shared input), else None."""
    if not isinstance(data, (bytes, str)) or len(data) > _MAX_MESSAGE_BYTES:
        return None
    try:
        body = json.loads(data)
    except ValueError:
        return None
    if not isinstance(body, dict) or not isinstance(body.get("i"), str) or not isinstance(body.get("m"), str):
        return None
    if body.get("clear") is True:
        return StoredCooldown(body["i"], model_of_field(body["m"]), 0.0)
    seconds = body.get("s")
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 < seconds < 10**7:
        return None
    return StoredCooldown(body["i"], model_of_field(body["m"]), float(seconds), short_reason(body.get("r")))


class RedisStore:
    """The state in Redis at ``url``, keys under ``namespace``."""

    backend = "redis"

    def __init__(
        self,
        url: str,
        *,
        namespace: str = DEFAULT_NAMESPACE,
        connect_timeout: float = 0.5,
        op_timeout: float = 0.5,
    ) -> None:
        try:
            import redis.asyncio  # noqa: F401  (fail here, not at the first spawn)
        except ImportError as exc:  # pragma: no cover - a dependency of the package
            raise StoreUnavailable("the redis backend needs the 'redis' package") from exc
        self.url = url
        self.where = redacted_url(url)
        self.prefix = f"{namespace}:v1:"
        self.channel = f"{self.prefix}cooldowns"
        self._connect_timeout = connect_timeout
        self._op_timeout = op_timeout
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = weakref.WeakKeyDictionary()
        self._scripts: dict[tuple[int, str], Any] = {}
        self._closed = False

    # -- plumbing ------------------------------------------------------------------------

    def _client(self) -> Any:
        if self._closed:
            raise StoreUnavailable(f"{self.where} is closed")
        import redis.asyncio as aioredis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            # A blocking pool: a burst of calls waits (bounded) for a connection instead of failing.
            pool = aioredis.BlockingConnectionPool.from_url(
                self.url,
                max_connections=16,
                timeout=self._op_timeout,
                socket_connect_timeout=self._connect_timeout,
                socket_timeout=self._op_timeout,
                retry=Retry(NoBackoff(), 0),
            )
            client = aioredis.Redis(connection_pool=pool)
            self._clients[loop] = client
        return client

    def _script(self, source: str) -> Any:
        client = self._client()
        key = (id(client), source)
        script = self._scripts.get(key)
        if script is None:
            script = self._scripts[key] = client.register_script(source)
        return script

    async def _call(self, coro_fn: Any) -> Any:
        from redis.exceptions import RedisError

        try:
            return await coro_fn()
        except StoreError:
            raise
        except (RedisError, OSError) as exc:
            raise StoreUnavailable(f"redis at {self.where}: {type(exc).__name__}: {exc}") from exc

    def _key(self, kind: str, name: str) -> str:
        return f"{self.prefix}{kind}:{name}"

    def _cooldown_key(self, identity: str, model: str | None) -> str:
        return self._key("cd", f"{identity}|{cooldown_field(model)}")

    # -- catalogs ------------------------------------------------------------------------

    async def get_catalog(self, key: str) -> StoredCatalog | None:
        async def go() -> StoredCatalog | None:
            pipe = self._client().pipeline(transaction=False)
            name = self._key("cat", key)
            pipe.get(name)
            pipe.pttl(name)
            body, left = await pipe.execute()
            return None if body is None else decode_catalog(body, (left or 0) / 1000)

        return await self._call(go)

    async def put_catalog(self, key: str, catalog: StoredCatalog, ttl: float) -> None:
        if ttl > 0:
            body = encode_catalog(catalog)
            await self._call(lambda: self._client().set(self._key("cat", key), body, px=_ms(ttl)))

    # -- cooldowns -----------------------------------------------------------------------

    async def get_cooldowns(self, keys: Sequence[CooldownKey]) -> list[StoredCooldown]:
        wanted = list(keys)[:_MAX_KEYS_PER_READ]

        async def go() -> list[StoredCooldown]:
            if not wanted:
                return []
            pipe = self._client().pipeline(transaction=False)
            for identity, model in wanted:
                name = self._cooldown_key(identity, model)
                pipe.get(name)
                pipe.pttl(name)
            answers = await pipe.execute()
            found: list[StoredCooldown] = []
            for (identity, model), reason, left in zip(wanted, answers[::2], answers[1::2], strict=True):
                if reason is not None and isinstance(left, int) and left > 0:
                    found.append(StoredCooldown(identity, model, left / 1000, short_reason(_text(reason))))
            return found

        return await self._call(go)

    async def put_cooldown(self, identity: str, model: str | None, seconds: float, reason: str) -> None:
        if seconds > 0:
            name = self._cooldown_key(identity, model)
            reason = short_reason(reason)
            message = json.dumps({"i": identity, "m": cooldown_field(model), "s": seconds, "r": reason})
            await self._call(
                lambda: self._script(_PUT_COOLDOWN)(keys=[name, self.channel], args=[reason, _ms(seconds), message])
            )

    async def clear_cooldown(self, identity: str, model: str | None) -> None:
        name = self._cooldown_key(identity, model)
        message = json.dumps({"i": identity, "m": cooldown_field(model), "clear": True})
        await self._call(lambda: self._script(_CLEAR_COOLDOWN)(keys=[name, self.channel], args=[message]))

    async def listen_cooldowns(
        self, on_change: Callable[[StoredCooldown], None], on_ready: Callable[[], None]
    ) -> None:
        """Deliver every cooldown set or cleared (``remaining`` 0) by any process, until the
        connection fails (:class:`StoreUnavailable`) or the caller cancels. ``on_ready`` runs
        once the subscription is confirmed: cooldowns set before it must be read."""
        from redis.exceptions import RedisError

        pubsub = self._client().pubsub()
        try:
            async with asyncio.timeout(self._op_timeout):
                await pubsub.subscribe(self.channel)
                while await pubsub.get_message(timeout=self._op_timeout) is None:
                    pass  # the subscribe confirmation
            on_ready()
            while True:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=5.0)
                if message is not None and message.get("type") == "message":
                    change = _cooldown_message(message.get("data"))
                    if change is not None:
                        on_change(change)
        except (RedisError, OSError, TimeoutError) as exc:
            raise StoreUnavailable(f"redis at {self.where}: subscription lost: {type(exc).__name__}: {exc}") from exc
        finally:
            try:
                await pubsub.aclose()
            except Exception:  # a broken connection must not mask the reason
                pass

    # -- leases --------------------------------------------------------------------------

    async def acquire_lease(self, name: str, holder: str, ttl: float) -> bool:
        key = self._key("lease", name)
        won = await self._call(lambda: self._script(_ACQUIRE)(keys=[key], args=[holder, _ms(ttl)]))
        return bool(won)

    async def release_lease(self, name: str, holder: str) -> None:
        key = self._key("lease", name)
        await self._call(lambda: self._script(_RELEASE)(keys=[key], args=[holder]))

    # -- counters ------------------------------------------------------------------------

    async def incr(self, name: str, amount: float, ttl: float) -> float:
        key = self._key("ctr", name)
        value = await self._call(lambda: self._script(_INCR)(keys=[key], args=[repr(float(amount)), _ms(ttl)]))
        return float(_text(value) or 0.0)

    async def get_counter(self, name: str) -> float:
        value = await self._call(lambda: self._client().get(self._key("ctr", name)))
        try:
            return float(_text(value) or 0.0)
        except ValueError:
            return 0.0

    # -- lifecycle -----------------------------------------------------------------------

    async def ping(self) -> None:
        await self._call(lambda: self._client().ping())

    async def close(self) -> None:
        """Close the client of the running loop; clients of other loops are dropped."""
        self._closed = True
        clients, self._clients = dict(self._clients), weakref.WeakKeyDictionary()
        self._scripts.clear()
        loop = asyncio.get_running_loop()
        client = clients.get(loop)
        if client is not None:
            try:
                await client.aclose(close_connection_pool=True)
            except Exception:  # closing a broken connection must not raise
                pass
