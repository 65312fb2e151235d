"""The ``sqlite`` backend: one file shared by every process of one user on one machine.

Stdlib :mod:`sqlite3` in WAL mode (readers never wait for the writer), every read-modify-write
a single ``INSERT ... ON CONFLICT`` statement so it is atomic without explicit transactions.
The folder is created ``0700`` and the file ``0600``: catalogs and cooldowns say which
providers and accounts a user has.

Writes run on one private worker thread, never on the event loop; the caller awaits them with
a bound (:class:`.guard.GuardedStore`), so a locked or slow file costs a spawn at most that
bound, after which the router carries on with its local state. Reads (a few rows by primary
key) run inline on a read-only connection of the calling thread: in WAL mode a reader never
waits for a writer, and its busy timeout (``read_timeout``, 20 ms) bounds the rare cases where
it would, so a read before a model call costs tens of microseconds instead of a thread hop; while the
file has not changed (``PRAGMA data_version``) the rows already read are answered from memory.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import stat
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

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

__all__ = ["SqliteStore", "default_path"]

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS catalogs (key TEXT PRIMARY KEY, body TEXT NOT NULL, expires REAL NOT NULL);
CREATE TABLE IF NOT EXISTS cooldowns (
    identity TEXT NOT NULL, model TEXT NOT NULL, until REAL NOT NULL, reason TEXT NOT NULL,
    PRIMARY KEY (identity, model));
CREATE TABLE IF NOT EXISTS leases (name TEXT PRIMARY KEY, holder TEXT NOT NULL, until REAL NOT NULL);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value REAL NOT NULL, expires REAL NOT NULL);
"""
_SWEEP = (
    "DELETE FROM catalogs WHERE expires <= ?",
    "DELETE FROM cooldowns WHERE until <= ?",
    "DELETE FROM leases WHERE until <= ?",
    "DELETE FROM counters WHERE expires <= ?",
)
_SWEEP_EVERY = 64  # writes between sweeps of expired rows
_MAX_KEYS_PER_READ = 500
_MAX_CACHED_ROWS = 4096


def default_path(amplifier_home: Path) -> Path:
    """``$AMPLIFIER_HOME/cache/model-router/state.db``."""
    return amplifier_home / "cache" / "model-router" / "state.db"


def _private_file(path: Path) -> None:
    """Create the folder 0700 and the file 0600 (before sqlite does, with the umask's mode).

    Only what this creates gets those modes: an existing folder or file named by a setting is
    never re-permissioned. The file must be a regular file (a FIFO or a device would hang or
    mislead sqlite) and is never followed through a symlink.
    """
    folder = path.parent
    if not folder.is_dir():
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(folder, 0o700)
    flags = os.O_RDWR | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags | os.O_CREAT | os.O_EXCL, 0o600)
        created = True
    except FileExistsError:
        fd = os.open(path, flags)
        created = False
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise StoreUnavailable(f"{path} is not a regular file")
        if created:
            os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


class SqliteStore:
    """The state in one sqlite file; open with :meth:`open`, which checks the file is usable."""

    backend = "sqlite"

    def __init__(
        self,
        path: Path,
        *,
        busy_timeout: float = 0.25,
        read_timeout: float = 0.02,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = Path(path)
        self.where = str(self.path)
        self._busy_timeout = busy_timeout
        self._read_timeout = read_timeout
        self._readers = threading.local()
        self._reader_conns: list[sqlite3.Connection] = []
        self._clock = clock
        self._conn: sqlite3.Connection | None = None
        self._writes = 0
        self._closed = False
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="model-router-sqlite")

    @classmethod
    async def open(cls, path: Path, **options: Any) -> SqliteStore:
        """A store on ``path``, created private if missing; :class:`StoreUnavailable` when the
        folder cannot be created, the file is not a sqlite database or it stays locked."""
        store = cls(Path(path), **options)
        try:
            await store._run(store._connect)
        except StoreError:
            await store.close()
            raise
        return store

    # -- thread side ---------------------------------------------------------------------

    def _connect(self) -> None:
        try:
            _private_file(self.path)
        except StoreError:
            raise
        except OSError as exc:
            raise StoreUnavailable(f"cannot create {self.path}: {exc.strerror or exc}") from exc
        conn = sqlite3.connect(self.path, timeout=self._busy_timeout, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.executescript(_SCHEMA)
            conn.execute("SELECT count(*) FROM catalogs").fetchone()
        except BaseException:
            conn.close()
            raise
        self._conn = conn

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreUnavailable(f"{self.path} is not open")
        return self._conn

    def _wrote(self, conn: sqlite3.Connection) -> None:
        self._writes += 1
        if self._writes % _SWEEP_EVERY == 0:
            now = self._clock()
            for statement in _SWEEP:
                conn.execute(statement, (now,))

    def _reader(self) -> sqlite3.Connection:
        conn = getattr(self._readers, "conn", None)
        if conn is None:
            uri = f"{self.path.resolve().as_uri()}?mode=ro"
            conn = sqlite3.connect(uri, uri=True, timeout=self._read_timeout, isolation_level=None,
                                   check_same_thread=False)
            self._readers.conn = conn
            self._reader_conns.append(conn)
        return conn

    async def _read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run a small read inline (module doc); errors become :class:`StoreUnavailable`."""
        if self._closed or self._conn is None:
            raise StoreUnavailable(f"{self.path} is not open")
        try:
            return fn(self._reader())
        except sqlite3.DatabaseError as exc:
            raise StoreUnavailable(f"{self.path}: {exc}") from exc

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        if self._closed:
            raise StoreUnavailable(f"{self.path} is closed")
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, fn, *args)
        except StoreError:
            raise
        except sqlite3.DatabaseError as exc:  # corrupt, locked, read-only, disk full
            raise StoreUnavailable(f"{self.path}: {exc}") from exc
        except (OSError, RuntimeError) as exc:  # RuntimeError: executor shut down
            raise StoreUnavailable(f"{self.path}: {exc}") from exc

    # -- catalogs ------------------------------------------------------------------------

    async def get_catalog(self, key: str) -> StoredCatalog | None:
        def read(conn: sqlite3.Connection) -> StoredCatalog | None:
            row = conn.execute("SELECT body, expires FROM catalogs WHERE key = ?", (key,)).fetchone()
            return None if row is None else decode_catalog(row[0], row[1] - self._clock())

        return await self._read(read)

    async def put_catalog(self, key: str, catalog: StoredCatalog, ttl: float) -> None:
        body = encode_catalog(catalog)

        def write() -> None:
            conn = self._db()
            conn.execute(
                "INSERT INTO catalogs (key, body, expires) VALUES (?, ?, ?) "
                "ON CONFLICT (key) DO UPDATE SET body = excluded.body, expires = excluded.expires",
                (key, body, self._clock() + ttl),
            )
            self._wrote(conn)

        if ttl > 0:
            await self._run(write)

    # -- cooldowns -----------------------------------------------------------------------

    async def get_cooldowns(self, keys: Sequence[CooldownKey]) -> list[StoredCooldown]:
        wanted = [(identity, cooldown_field(model)) for identity, model in keys][:_MAX_KEYS_PER_READ]

        def read(conn: sqlite3.Connection) -> list[StoredCooldown]:
            if not wanted:
                return []
            known = self._unchanged_rows(conn)
            missing = [key for key in wanted if key not in known]
            if missing:
                marks = ",".join("(?, ?)" for _ in missing)
                rows = conn.execute(
                    f"SELECT identity, model, until, reason FROM cooldowns WHERE (identity, model) IN (VALUES {marks})",
                    [part for pair in missing for part in pair],
                ).fetchall()
                known.update(dict.fromkeys(missing))
                known.update({(i, m): (u, short_reason(r)) for i, m, u, r in rows})
            now = self._clock()
            return [
                StoredCooldown(key[0], model_of_field(key[1]), row[0] - now, row[1])
                for key in wanted
                if (row := known.get(key)) is not None and row[0] > now
            ]

        return await self._read(read)

    def _unchanged_rows(self, conn: sqlite3.Connection) -> dict[tuple[str, str], tuple[float, str] | None]:
        """This thread's cooldown rows read since the file last changed (``PRAGMA data_version``
        moves whenever another connection commits): a warm pre-call read asks sqlite one pragma."""
        version = conn.execute("PRAGMA data_version").fetchone()[0]
        local = self._readers
        if getattr(local, "version", None) != version or len(getattr(local, "rows", ())) > _MAX_CACHED_ROWS:
            local.version = version
            local.rows = {}
        return local.rows

    async def put_cooldown(self, identity: str, model: str | None, seconds: float, reason: str) -> None:
        if not seconds > 0:
            return

        def write() -> None:
            conn = self._db()
            conn.execute(
                "INSERT INTO cooldowns (identity, model, until, reason) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (identity, model) DO UPDATE SET until = excluded.until, reason = excluded.reason "
                "WHERE excluded.until > cooldowns.until",
                (identity, cooldown_field(model), self._clock() + seconds, short_reason(reason)),
            )
            self._wrote(conn)

        await self._run(write)

    async def clear_cooldown(self, identity: str, model: str | None) -> None:
        def write() -> None:
            self._db().execute(
                "DELETE FROM cooldowns WHERE identity = ? AND model = ?", (identity, cooldown_field(model))
            )

        await self._run(write)

    # -- leases --------------------------------------------------------------------------

    async def acquire_lease(self, name: str, holder: str, ttl: float) -> bool:
        def write() -> bool:
            now = self._clock()
            row = self._db().execute(
                "INSERT INTO leases (name, holder, until) VALUES (?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until "
                "WHERE leases.until <= ? OR leases.holder = excluded.holder RETURNING holder",
                (name, holder, now + ttl, now),
            ).fetchone()
            return row is not None

        return await self._run(write)

    async def release_lease(self, name: str, holder: str) -> None:
        def write() -> None:
            self._db().execute("DELETE FROM leases WHERE name = ? AND holder = ?", (name, holder))

        await self._run(write)

    # -- counters ------------------------------------------------------------------------

    async def incr(self, name: str, amount: float, ttl: float) -> float:
        def write() -> float:
            now = self._clock()
            conn = self._db()
            row = conn.execute(
                "INSERT INTO counters (name, value, expires) VALUES (?1, ?2, ?3) "
                "ON CONFLICT (name) DO UPDATE SET "
                "value = CASE WHEN counters.expires <= ?4 THEN excluded.value ELSE counters.value + excluded.value END, "
                "expires = CASE WHEN counters.expires <= ?4 THEN excluded.expires ELSE counters.expires END "
                "RETURNING value",
                (name, float(amount), now + ttl, now),
            ).fetchone()
            self._wrote(conn)
            return float(row[0])

        return await self._run(write)

    async def get_counter(self, name: str) -> float:
        def read(conn: sqlite3.Connection) -> float:
            row = conn.execute(
                "SELECT value FROM counters WHERE name = ? AND expires > ?", (name, self._clock())
            ).fetchone()
            return float(row[0]) if row else 0.0

        return await self._read(read)

    # -- lifecycle -----------------------------------------------------------------------

    async def ping(self) -> None:
        def read() -> None:
            if self._conn is None:
                self._connect()
            self._db().execute("SELECT 1 FROM catalogs LIMIT 1").fetchall()

        await self._run(read)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True

        def shut() -> None:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
            for reader in self._reader_conns:
                reader.close()
            self._reader_conns.clear()

        try:
            await asyncio.get_running_loop().run_in_executor(self._executor, shut)
        finally:
            self._executor.shutdown(wait=True)  # idle by now: returns at once, no thread outlives us
