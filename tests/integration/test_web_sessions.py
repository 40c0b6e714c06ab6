"""The web application's sessions in the real PostgreSQL: the table alone opens nothing, idle and
absolute timeouts end a session, a sign-out ends it for every process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from services.web.adapters.sessions import SessionStore
from tests.conftest import RunningInfra

TOKEN = "eyJ.a-bearer-token.sig"


@pytest.fixture
async def store(infra: RunningInfra, db_schema: str) -> AsyncIterator[SessionStore]:
    made = await SessionStore.open(
        infra.database_url, idle=timedelta(minutes=30), absolute=timedelta(hours=10),
        schema=db_schema,
    )  # fmt: skip
    yield made
    await made.close()


async def test_a_session_opens_with_its_cookie_only_and_the_table_holds_neither(
    store: SessionStore, db: asyncpg.Connection
) -> None:
    session_id = await store.start("anna", "0180", ["caseworker"], TOKEN)
    found = await store.get(session_id)
    assert found is not None
    assert (found.subject, found.tenant, found.roles, found.token) == (
        "anna", "0180", ("caseworker",), TOKEN,
    )  # fmt: skip
    assert found.actor == "user:anna"
    assert len(found.csrf) >= 40
    [row] = await db.fetch("SELECT * FROM sessions")
    stored = b"".join(bytes(v) if isinstance(v, bytes) else str(v).encode() for v in row.values())
    assert session_id.encode() not in stored
    assert TOKEN.encode() not in stored
    assert await store.get(session_id[:-1] + ("A" if session_id[-1] != "A" else "B")) is None
    assert await store.get("") is None


async def test_idle_and_absolute_timeouts_end_a_session(
    store: SessionStore, db: asyncpg.Connection
) -> None:
    idle = await store.start("anna", "0180", ["caseworker"], TOKEN)
    old = await store.start("bo", "0180", ["caseworker"], TOKEN)
    now = datetime.now(UTC)
    await db.execute("UPDATE sessions SET seen_at = $1 WHERE subject = 'anna'",
                     now - timedelta(minutes=31))  # fmt: skip
    await db.execute("UPDATE sessions SET created_at = $1 WHERE subject = 'bo'",
                     now - timedelta(hours=10, minutes=1))  # fmt: skip
    assert await store.get(idle) is None
    assert await store.get(old) is None
    assert await db.fetchval("SELECT count(*) FROM sessions") == 0, "expired ones are deleted"


async def test_signing_out_ends_the_session_everywhere_and_sweeping_clears_old_ones(
    store: SessionStore, infra: RunningInfra, db_schema: str, db: asyncpg.Connection
) -> None:
    session_id = await store.start("anna", "0180", ["caseworker"], TOKEN)
    other = await SessionStore.open(
        infra.database_url, idle=timedelta(minutes=30), absolute=timedelta(hours=10),
        schema=db_schema,
    )  # fmt: skip
    try:
        assert await other.get(session_id) is not None, "another process serves the session"
        await store.end(session_id)
        assert await other.get(session_id) is None
    finally:
        await other.close()
    await store.start("bo", "0180", ["caseworker"], TOKEN)
    await db.execute("UPDATE sessions SET created_at = now() - interval '11 hours'")
    assert await store.sweep() == 1
