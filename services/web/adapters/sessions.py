"""Signed-in sessions, kept in the web application's own schema (`web`) so that any of its
processes serves any session, and a sign-out ends it everywhere.

The browser holds only a random session id (a cookie). The table holds its SHA-256, never the id
itself, and the user's bearer token sealed with a key derived from the id (AES-GCM): the table alone
opens no session and calls no service. Idle and absolute timeouts are checked on every request.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg
import jwt

from services.web.adapters.sealing import SealingKey

SCHEMA_DDL = """
SELECT pg_advisory_xact_lock(hashtext('kaa.ddl'));
CREATE SCHEMA IF NOT EXISTS {schema};
CREATE TABLE IF NOT EXISTS {schema}.sessions (
    id_hash bytea PRIMARY KEY,
    subject text NOT NULL,
    tenant char(4) NOT NULL,
    roles text[] NOT NULL,
    token_sealed bytea NOT NULL,
    csrf text NOT NULL,
    created_at timestamptz NOT NULL,
    seen_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_created ON {schema}.sessions (created_at);
-- When the user's token expires: the session ends then, if before its absolute end.
ALTER TABLE {schema}.sessions ADD COLUMN IF NOT EXISTS token_expires_at timestamptz;
"""
SCHEMA = "web"
SEEN_EVERY = timedelta(seconds=60)  # how often a busy session's `seen_at` is written


@dataclass(frozen=True)
class Session:
    """A signed-in user as the pages need them: who, for which municipality, in which roles,
    the token the services are called with, and the form token (CSRF) of the session."""

    subject: str
    tenant: str
    roles: tuple[str, ...]
    token: str
    csrf: str
    created_at: datetime
    seen_at: datetime

    @property
    def actor(self) -> str:
        return f"user:{self.subject}"


def token_expiry(token: str) -> datetime | None:
    """When a bearer token expires (its `exp`, read without verifying: the services verify it;
    here it only ends the session no later than the token can be used)."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    exp = claims.get("exp")
    return datetime.fromtimestamp(exp, UTC) if isinstance(exp, int | float) else None


def _hash(session_id: str) -> bytes:
    return hashlib.sha256(session_id.encode()).digest()


def _key(session_id: str) -> SealingKey:
    return SealingKey(session_id.encode(), b"kaa-web-session")


class SessionStore:
    def __init__(
        self, pool: asyncpg.Pool, *, idle: timedelta, absolute: timedelta, schema: str = SCHEMA
    ) -> None:
        if not schema.isidentifier():
            raise ValueError("schema: not an identifier")
        self.pool, self.idle, self.absolute, self.schema = pool, idle, absolute, schema

    @classmethod
    async def open(
        cls, database_url: str, *, idle: timedelta, absolute: timedelta, schema: str = SCHEMA
    ) -> SessionStore:
        pool = await asyncpg.create_pool(database_url, min_size=1, max_size=8)
        store = cls(pool, idle=idle, absolute=absolute, schema=schema)
        try:
            async with pool.acquire() as conn, conn.transaction():
                await conn.execute(store.sql(SCHEMA_DDL))
        except BaseException:
            await pool.close()  # a start-up tried again opens a pool of its own
            raise
        return store

    def sql(self, statement: str) -> str:
        """A statement on this store's schema (an identifier, checked when the store was made)."""
        return statement.replace("{schema}", self.schema)

    async def close(self) -> None:
        await self.pool.close()

    async def start(self, subject: str, tenant: str, roles: list[str], token: str) -> str:
        """A new session; returns its id, for the cookie (and nowhere else)."""
        session_id = secrets.token_urlsafe(32)
        sealed = _key(session_id).seal(token.encode(), _hash(session_id))
        now = datetime.now(UTC)
        await self.pool.execute(
            self.sql("INSERT INTO {schema}.sessions (id_hash, subject, tenant, roles, "
                     "token_sealed, csrf, created_at, seen_at, token_expires_at) "
                     "VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8)"),
            _hash(session_id), subject, tenant, roles, sealed, secrets.token_urlsafe(32), now,
            token_expiry(token),
        )  # fmt: skip
        return session_id

    async def get(self, session_id: str, *, touch: bool = True) -> Session | None:
        """The session of a cookie, or None (unknown, idle too long, past its absolute end or
        its token's expiry;
        an expired one is deleted). `touch=False` reads it without counting as activity (the
        live updates' stream checks the session so, and keeps no session alive)."""
        if not session_id or len(session_id) > 100:
            return None
        row = await self.pool.fetchrow(
            self.sql("SELECT * FROM {schema}.sessions WHERE id_hash = $1"), _hash(session_id)
        )
        if row is None:
            return None
        now = datetime.now(UTC)
        expires = row["token_expires_at"]
        if (now - row["seen_at"] > self.idle or now - row["created_at"] > self.absolute
                or (expires is not None and now >= expires)):  # fmt: skip
            await self.end(session_id)
            return None
        sealed = bytes(row["token_sealed"])
        token = _key(session_id).open(sealed, _hash(session_id)).decode()
        if touch and now - row["seen_at"] > SEEN_EVERY:
            await self.pool.execute(
                self.sql("UPDATE {schema}.sessions SET seen_at = $2 WHERE id_hash = $1"),
                _hash(session_id),
                now,
            )
        return Session(row["subject"], row["tenant"], tuple(row["roles"]), token, row["csrf"],
                       row["created_at"], row["seen_at"])  # fmt: skip

    async def end(self, session_id: str) -> None:
        await self.pool.execute(
            self.sql("DELETE FROM {schema}.sessions WHERE id_hash = $1"), _hash(session_id)
        )

    async def sweep(self) -> int:
        """Delete every session past its absolute end; how many."""
        cutoff = datetime.now(UTC) - self.absolute
        done = await self.pool.execute(
            self.sql("DELETE FROM {schema}.sessions WHERE created_at < $1"), cutoff
        )
        return int(done.split()[-1])
