"""The register's database for reading who youths are (`commands/identity.py`, `commands/names.py`):
a fresh schema per test with the access log, youths identified with sealed details and their data
keys in the keyring, and what the access log holds about them."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import asyncpg
import pytest

from services.register.adapters.database import create_pool, create_tables
from services.register.adapters.projection.handlers import apply_events
from services.register.commands.identity import PROTECTED_GRANT
from shared import access_log
from shared.auth import Principal
from shared.contracts.events import PersonalDetails, YouthIdentified
from shared.crypto import TenantKeys, new_data_key, seal
from tests.conftest import RunningInfra

TENANT = "0180"
KEYS = TenantKeys("register-test-master-key-0123456789")
READER = Principal(subject="anna", tenant=TENANT, roles=frozenset({"caseworker"}))
GRANTED = Principal(subject="berit", tenant=TENANT, roles=frozenset({"caseworker"}),
                    grants=frozenset({PROTECTED_GRANT}))  # fmt: skip


class Register:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool, self.youths = pool, list[uuid.UUID]()

    async def youth(
        self, details: PersonalDetails, tenant: str = TENANT, key_of: uuid.UUID | None = None
    ) -> uuid.UUID:
        """A youth identified with sealed details; their data key in the keyring (wrapped for
        `key_of` instead: a key that fails authentication)."""
        youth, key = uuid.uuid4(), new_data_key()
        when = datetime(2026, 1, 5, 9, tzinfo=UTC)
        sealed = seal(key, details.model_dump_json().encode(), tenant, youth,
                      PersonalDetails.PURPOSE)  # fmt: skip
        event = YouthIdentified(
            event_id=uuid.uuid4(), tenant=tenant, youth_id=youth, occurred_at=when,
            recorded_at=when, actor="system:identify", correlation_id=uuid.uuid4(),
            scope_episode_id=uuid.uuid4(), entered_on=date(2026, 1, 5),
            scope_ends_on=date(2028, 1, 1), rule_version="kaa-2018-07-01", facts={},
            personal_details=sealed,
        )  # fmt: skip
        async with self.pool.acquire() as conn, conn.transaction():
            await apply_events(conn, [event])
        await self.pool.execute(
            "INSERT INTO keyring.youth_keys (tenant, youth_id, wrapped) VALUES ($1, $2, $3)",
            tenant, youth, KEYS.wrap(tenant, key_of or youth, key),
        )  # fmt: skip
        self.youths.append(youth)
        return youth

    async def purge(self, youth: uuid.UUID) -> None:
        await self.pool.execute("UPDATE youths SET purged_at = now() WHERE youth_id = $1", youth)
        await self.pool.execute("DELETE FROM keyring.youth_keys WHERE youth_id = $1", youth)

    async def logged(self, youths: list[uuid.UUID]) -> list[tuple[uuid.UUID, str, str, str]]:
        """The access log's entries about the youths, in order: youth, actor, purpose, what."""
        rows = await self.pool.fetch(
            "SELECT youth_id, actor, purpose, what FROM access_log.entries "
            "WHERE youth_id = ANY($1) ORDER BY position",
            youths,
        )
        return [(r["youth_id"], r["actor"], r["purpose"], r["what"]) for r in rows]


@pytest.fixture
async def register(infra: RunningInfra, db_schema: str) -> AsyncIterator[Register]:
    pool = await create_pool(infra.database_url, db_schema, min_size=1, max_size=2)
    await create_tables(pool, db_schema)
    await access_log.create(pool)
    made = Register(pool)
    try:
        yield made
    finally:
        await pool.execute("DELETE FROM keyring.youth_keys WHERE youth_id = ANY($1)", made.youths)
        await pool.close()


def person(
    given: str = "Vera", personnummer: str = "200801012384", protected: bool = False
) -> PersonalDetails:
    return PersonalDetails(personnummer=personnummer, given_name=given, family_name="Ek",
                           street="Storgatan 1", postal_code="11122", city="Stockholm",
                           protected=protected)  # fmt: skip
