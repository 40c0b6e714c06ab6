"""One connect process of a deployment runs the organisers' loops and watches the delivery
directory: the one holding a PostgreSQL advisory lock on a connection of its own (a process that
dies or loses its database loses the lock with it). Any others stand by and take over within
seconds; each process still answers callbacks and the operator. A callback reaches the loops
through PostgreSQL's NOTIFY, whichever process the organiser's system happened to call."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import structlog

log = structlog.get_logger(__name__)
LOCK = 0x6B61615F636F6E  # "kaa_con": one per database, and a deployment has a database of its own
CHANNEL = "kaa_connect_callbacks"
RECHECK = 5.0


class Leadership:
    def __init__(
        self, dsn: str, *, lock: int = LOCK, channel: str = CHANNEL, recheck: float = RECHECK
    ) -> None:
        self.dsn = dsn
        self.lock = lock
        self.channel = channel
        self.recheck = recheck
        self.held = asyncio.Event()
        self.lost = asyncio.Event()  # set when the leadership goes, cleared when it is taken
        self.callbacks: dict[str, Callable[[], None]] = {}
        self._conn: Any = None

    async def run(self) -> None:
        """Take the lock when it is free and keep it; a lost connection gives it up."""
        while True:
            try:
                await self._hold()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                if self.held.is_set():
                    log.warning("connect: leadership lost", problem=type(exc).__name__)
                await self._drop()
            await asyncio.sleep(self.recheck)

    async def _hold(self) -> None:
        if self._conn is None or self._conn.is_closed():
            await self._drop()
            self._conn = await asyncpg.connect(self.dsn)
            await self._conn.add_listener(self.channel, self._notified)
        if self.held.is_set():
            await self._conn.fetchval("SELECT 1")  # still connected, so still holding it
        elif await self._conn.fetchval("SELECT pg_try_advisory_lock($1)", self.lock):
            self.lost.clear()
            self.held.set()
            log.info("connect: this process runs the organisers and the deliveries")

    async def _drop(self) -> None:
        if self.held.is_set():
            self.lost.set()
        self.held.clear()
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close(timeout=2)

    def leading(self, work: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
        """`work` run while this process holds the leadership: started when it is taken,
        cancelled when it is lost (and started again when it is taken again)."""

        async def led() -> None:
            while True:
                await self.held.wait()
                task = asyncio.ensure_future(work())
                lost = asyncio.ensure_future(self.lost.wait())
                try:
                    done, _ = await asyncio.wait({task, lost}, return_when=asyncio.FIRST_COMPLETED)
                    if task in done:
                        await task  # it ended by itself: its error (if any) is the loop's
                        return
                finally:
                    for pending in (task, lost):
                        pending.cancel()
                    await asyncio.gather(task, lost, return_exceptions=True)
                log.warning("connect: leadership lost; the organisers' work stopped here")

        return led

    async def close(self) -> None:
        await self._drop()

    def _notified(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        wake = self.callbacks.get(payload)
        if self.held.is_set() and wake is not None:
            wake()

    async def notify(self, pool: asyncpg.Pool, tenant: str, organiser: str) -> None:
        """Wake the loop of (tenant, organiser) in whichever process holds the lock."""
        await pool.execute("SELECT pg_notify($1, $2)", self.channel, key(tenant, organiser))


def key(tenant: str, organiser: str) -> str:
    return f"{tenant}/{organiser}"
