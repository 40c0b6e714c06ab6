"""The watched directory's I/O: the files in it, the ledger of loaded contents (PostgreSQL, schema
`connect`) and the publisher (the shared feed adapter: sealed records, then the watermark)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import asyncpg

from services.connect.domain.deliveries import (
    DONE,
    QUARANTINE,
    DeliveryCheck,
    free_name,
    marker_of,
    reason_name,
)
from shared.feed_adapter import FeedAdapter

LEDGER_DDL = """
CREATE SCHEMA IF NOT EXISTS connect;
CREATE TABLE IF NOT EXISTS connect.delivery_files (
    content_hash text PRIMARY KEY,
    feed text NOT NULL,
    directory text NOT NULL,
    file_name text NOT NULL,
    state text NOT NULL CHECK (state IN ('loading', 'loaded', 'quarantined')),
    records integer,
    reason text,
    started_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
);
"""

_READ_BLOCK = 1 << 20


@dataclass(frozen=True)
class Inspection:
    content_hash: str  # sha256 of the bytes, hex
    reason: str | None  # why it cannot be read, or None


@dataclass(frozen=True)
class Earlier:
    """The ledger's row for a content hash."""

    file_name: str
    state: str
    finished_at: datetime | None


class DeliveryDirectory:
    """The watched directory, with `done/` and `quarantine/` in it."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def files(self) -> set[str]:
        """The names of the regular files directly in the directory."""
        with os.scandir(self.path) as entries:
            return {entry.name for entry in entries if entry.is_file(follow_symlinks=False)}

    def inspect(self, name: str) -> Inspection:
        """Hash and check a delivery in one pass (FileNotFoundError / OSError when it cannot)."""
        digest = hashlib.sha256()
        checker = DeliveryCheck()
        with (self.path / name).open("rb") as handle:
            for raw in handle:
                digest.update(raw)
                checker.line(raw.rstrip(b"\r\n"))
        return Inspection(digest.hexdigest(), checker.reason())

    def file(self, name: str) -> Path:
        return self.path / name

    def done(self, name: str) -> str:
        """Move a delivery (and its marker) to done/; returns its name there."""
        return self._move(name, DONE)

    def quarantine(self, name: str, reason: str) -> str | None:
        """Move a delivery (and its marker) to quarantine/ with the reason beside it; its bytes
        stay as they were. Returns its name there (None when it is gone: the reason stays)."""
        target = self.path / QUARANTINE
        target.mkdir(exist_ok=True)
        moved = self._move(name, QUARANTINE) if (self.path / name).exists() else None
        (self.path / marker_of(name)).unlink(missing_ok=True)
        (target / reason_name(moved or free_name(name, self._names(target)))).write_text(
            f"{reason}\n", encoding="utf-8"
        )
        return moved

    def _move(self, name: str, to: str) -> str:
        target = self.path / to
        target.mkdir(exist_ok=True)
        chosen = free_name(name, self._names(target))
        # A hard link never replaces a file that appears in the meantime (rename would).
        try:
            os.link(self.path / name, target / chosen)
        except FileExistsError:
            return self._move(name, to)
        except OSError:  # a file system without hard links
            os.replace(self.path / name, target / chosen)
        else:
            os.unlink(self.path / name)
        (self.path / marker_of(name)).unlink(missing_ok=True)
        return chosen

    @staticmethod
    def _names(directory: Path) -> set[str]:
        with os.scandir(directory) as entries:
            return {entry.name for entry in entries}


class DeliveryLedger:
    """One row per content hash ever delivered: loading (before publishing), loaded (after),
    quarantined. A row still `loading` at the next scan is a load a crash interrupted."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self._ready = False

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[asyncpg.Connection]:
        conn = await asyncpg.connect(self.database_url)
        try:
            if not self._ready:
                await conn.execute(LEDGER_DDL)
                self._ready = True
            yield conn
        finally:
            await conn.close()

    async def claim(
        self, content_hash: str, feed: str, directory: str, name: str
    ) -> Earlier | None:
        """Mark the content `loading` unless it was loaded before; returns the earlier row
        (loaded: skip it; loading: a load that was interrupted; None: new)."""
        async with self._connection() as conn, conn.transaction():
            # Two claims of one content queue here (a row that does not exist yet locks nothing).
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", content_hash)
            row = await conn.fetchrow(
                "SELECT file_name, state, finished_at FROM connect.delivery_files "
                "WHERE content_hash = $1 FOR UPDATE",
                content_hash,
            )
            earlier = Earlier(row["file_name"], row["state"], row["finished_at"]) if row else None
            if earlier is not None and earlier.state == "loaded":
                return earlier
            await conn.execute(
                "INSERT INTO connect.delivery_files (content_hash, feed, directory, file_name, "
                "state) VALUES ($1, $2, $3, $4, 'loading') ON CONFLICT (content_hash) DO UPDATE "
                "SET feed = $2, directory = $3, file_name = $4, state = 'loading', "
                "records = NULL, reason = NULL, started_at = now(), finished_at = NULL",
                content_hash, feed, directory, name,
            )  # fmt: skip
            return earlier

    async def loaded(self, content_hash: str, records: int) -> None:
        async with self._connection() as conn:
            await conn.execute(
                "UPDATE connect.delivery_files SET state = 'loaded', records = $2, "
                "finished_at = now() WHERE content_hash = $1",
                content_hash, records,
            )  # fmt: skip

    async def quarantined(
        self, content_hash: str, feed: str, directory: str, name: str, reason: str
    ) -> None:
        """Note a content that could not be read (a content loaded before stays loaded)."""
        async with self._connection() as conn:
            await conn.execute(
                "INSERT INTO connect.delivery_files (content_hash, feed, directory, file_name, "
                "state, reason, finished_at) VALUES ($1, $2, $3, $4, 'quarantined', $5, now()) "
                "ON CONFLICT (content_hash) DO UPDATE SET file_name = $4, reason = $5, "
                "finished_at = now() WHERE connect.delivery_files.state = 'quarantined'",
                content_hash, feed, directory, name, reason,
            )  # fmt: skip


@dataclass(frozen=True)
class DeliveryPublisher:
    """Publishes a delivery to its feed's topic, sealed, ending with the source's watermark."""

    adapter: FeedAdapter
    topic: str
    source: str

    async def publish(self, path: Path) -> int:
        return await self.adapter.load(path, self.topic, source=self.source)
