"""Names on a list (`commands/names.py`) on the database: one page of youths' names and ages, one
access log entry per youth shown, a protected name only with the grant, a purged youth as purged,
another municipality's youth the same "not found" as an unknown one and nothing logged for either;
more than a page refused before anything is read or logged.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import asyncpg
import pytest

from services.register.adapters.database import create_pool, create_tables
from services.register.adapters.projection.handlers import apply_events
from services.register.commands.identity import PROTECTED_GRANT
from services.register.commands.names import PAGE_SIZE, Name, NamesRefused, read_names
from shared import access_log
from shared.auth import Principal
from shared.contracts.events import PersonalDetails, YouthIdentified
from shared.crypto import TenantKeys, new_data_key, seal
from tests.conftest import RunningInfra

TENANT, OTHER = "0180", "0181"
TODAY = date(2026, 3, 2)
KEYS = TenantKeys("names-test-master-key-0123456789")
READER = Principal(subject="anna", tenant=TENANT, roles=frozenset({"caseworker"}))
GRANTED = Principal(subject="berit", tenant=TENANT, roles=frozenset({"caseworker"}),
                    grants=frozenset({PROTECTED_GRANT}))  # fmt: skip


class Register:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool, self.youths = pool, list[uuid.UUID]()

    async def youth(self, details: PersonalDetails, tenant: str = TENANT) -> uuid.UUID:
        """A youth identified with sealed details, their data key in the keyring."""
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
            tenant, youth, KEYS.wrap(tenant, youth, key),
        )  # fmt: skip
        self.youths.append(youth)
        return youth

    async def purge(self, youth: uuid.UUID) -> None:
        await self.pool.execute("UPDATE youths SET purged_at = now() WHERE youth_id = $1", youth)
        await self.pool.execute("DELETE FROM keyring.youth_keys WHERE youth_id = $1", youth)

    async def logged(self, youths: list[uuid.UUID]) -> list[tuple[uuid.UUID, str, str, str]]:
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


def person(given: str, pnr: str, protected: bool = False) -> PersonalDetails:
    return PersonalDetails(personnummer=pnr, given_name=given, family_name="Ek",
                           street="Storgatan 1", postal_code="11122", city="Stockholm",
                           protected=protected)  # fmt: skip


async def test_a_page_of_names_logs_one_entry_per_youth_shown(register: Register) -> None:
    vera = await register.youth(person("Vera", "200803022384"))
    olle = await register.youth(person("Olle", "200803032383"))
    hidden = await register.youth(person("Hemlig", "200801012384", protected=True))
    gone = await register.youth(person("Borta", "200801012384"))
    await register.purge(gone)
    elsewhere = await register.youth(person("Annan", "200801012384"), tenant=OTHER)
    unknown = uuid.uuid4()
    asked = [olle, unknown, vera, hidden, elsewhere, gone, vera]
    found = await read_names(register.pool, KEYS, READER, asked, "casework", TODAY)
    assert found.items == [
        Name(olle, "open", "Olle", "Ek", 17),
        Name(vera, "open", "Vera", "Ek", 18),
        Name(hidden, "protected", protected=True),
        Name(gone, "purged"),
    ]
    assert found.not_found == [unknown, elsewhere]  # another municipality's: as unknown
    assert "2008" not in repr(found)
    assert "Storgatan" not in repr(found)
    assert await register.logged(asked) == [
        (olle, "user:anna", "casework", "names (open)"),
        (vera, "user:anna", "casework", "names (open)"),
        (hidden, "user:anna", "casework", "names (protected)"),
        (gone, "user:anna", "casework", "names (purged)"),
    ]


async def test_a_protected_name_is_opened_with_the_grant_and_its_read_logged(
    register: Register,
) -> None:
    hidden = await register.youth(person("Hemlig", "200803022384", protected=True))
    found = await read_names(register.pool, KEYS, GRANTED, [hidden], "register", TODAY)
    assert found.items == [Name(hidden, "open", "Hemlig", "Ek", 18, protected=True)]
    assert await register.logged([hidden]) == [(hidden, "user:berit", "register", "names (open)")]


async def test_more_than_a_page_is_refused_before_anything_is_read_or_logged(
    register: Register,
) -> None:
    vera = await register.youth(person("Vera", "200803022384"))
    page = [vera, *(uuid.uuid4() for _ in range(PAGE_SIZE))]
    with pytest.raises(NamesRefused) as refused:
        await read_names(register.pool, KEYS, READER, page, "casework", TODAY)
    assert refused.value.field == "youth_ids"
    with pytest.raises(NamesRefused) as refused:
        await read_names(register.pool, KEYS, READER, [vera], "worklist-x", TODAY)
    assert refused.value.field == "purpose"
    assert await register.logged([vera]) == []
    full = await read_names(register.pool, KEYS, READER, page[:PAGE_SIZE], "casework", TODAY)
    assert [item.youth_id for item in full.items] == [vera]
    assert len(full.not_found) == PAGE_SIZE - 1
    assert await register.logged([vera]) == [(vera, "user:anna", "casework", "names (open)")]
