"""Reading who a youth is (`commands/identity.py`), on the database: the record opened from the
sealed details, the address withheld under skyddad folkbokföring and the record only with the
grant, tampered details refused; every read, and every refused one, in the access log.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import asyncpg
import pytest

from services.register.adapters.database import create_pool, create_tables
from services.register.adapters.projection.handlers import apply_events
from services.register.commands.identity import (
    PROTECTED_GRANT,
    Address,
    NoSuchYouth,
    ProtectedIdentity,
    TamperedIdentity,
    YouthIdentity,
    read_identity,
)
from shared import access_log
from shared.auth import Principal
from shared.contracts.events import PersonalDetails, YouthIdentified
from shared.crypto import TenantKeys, new_data_key, seal
from tests.conftest import RunningInfra

TENANT = "0180"
KEYS = TenantKeys("identity-test-master-key-0123456789")
READER = Principal(subject="anna", tenant=TENANT, roles=frozenset({"caseworker"}))
GRANTED = Principal(subject="berit", tenant=TENANT, roles=frozenset({"caseworker"}),
                    grants=frozenset({PROTECTED_GRANT}))  # fmt: skip


class Register:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool, self.youths = pool, list[uuid.UUID]()

    async def youth(self, details: PersonalDetails, key_of: uuid.UUID | None = None) -> uuid.UUID:
        """A youth identified with sealed details; their data key in the keyring (wrapped for
        `key_of` instead: a key that fails authentication)."""
        youth, key = uuid.uuid4(), new_data_key()
        when = datetime(2026, 3, 2, 9, tzinfo=UTC)
        sealed = seal(key, details.model_dump_json().encode(), TENANT, youth,
                      PersonalDetails.PURPOSE)  # fmt: skip
        event = YouthIdentified(
            event_id=uuid.uuid4(), tenant=TENANT, youth_id=youth, occurred_at=when,
            recorded_at=when, actor="system:identify", correlation_id=uuid.uuid4(),
            scope_episode_id=uuid.uuid4(), entered_on=date(2026, 1, 5),
            scope_ends_on=date(2028, 1, 1), rule_version="kaa-2018-07-01", facts={},
            personal_details=sealed,
        )  # fmt: skip
        async with self.pool.acquire() as conn, conn.transaction():
            await apply_events(conn, [event])
        await self.pool.execute(
            "INSERT INTO keyring.youth_keys (tenant, youth_id, wrapped) VALUES ($1, $2, $3)",
            TENANT, youth, KEYS.wrap(TENANT, key_of or youth, key),
        )  # fmt: skip
        self.youths.append(youth)
        return youth

    async def logged(self, youth: uuid.UUID) -> list[tuple[str, str, str]]:
        rows = await self.pool.fetch(
            "SELECT actor, purpose, what FROM access_log.entries WHERE youth_id = $1 "
            "ORDER BY position",
            youth,
        )
        return [(row["actor"], row["purpose"], row["what"]) for row in rows]


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


def person(protected: bool = False) -> PersonalDetails:
    return PersonalDetails(personnummer="200801012384", given_name="Vera", family_name="Ek",
                           street="Storgatan 1", postal_code="11122", city="Stockholm",
                           protected=protected)  # fmt: skip


async def test_an_identity_is_opened_and_its_read_logged(register: Register) -> None:
    youth = await register.youth(person())
    found = await read_identity(register.pool, KEYS, READER, youth, "identity")
    assert found == YouthIdentity(
        youth, "open", personnummer="200801012384", given_name="Vera", family_name="Ek",
        address=Address("Storgatan 1", "11122", "Stockholm"),
    )  # fmt: skip
    assert await register.logged(youth) == [("user:anna", "identity", "identity (open)")]


async def test_a_youth_the_register_does_not_hold_is_refused_and_nothing_logged(
    register: Register,
) -> None:
    stranger = uuid.uuid4()
    with pytest.raises(NoSuchYouth) as refused:
        await read_identity(register.pool, KEYS, READER, stranger, "casework")
    assert str(refused.value) == "youth_id: no such youth in your municipality"
    assert await register.logged(stranger) == []


async def test_a_protected_identity_needs_the_grant_and_never_shows_the_address(
    register: Register,
) -> None:
    youth = await register.youth(person(protected=True))
    with pytest.raises(ProtectedIdentity) as refused:
        await read_identity(register.pool, KEYS, READER, youth, "casework")
    assert refused.value.field == "youth_id"
    assert PROTECTED_GRANT in refused.value.reason
    found = await read_identity(register.pool, KEYS, GRANTED, youth, "casework")
    assert (found.personnummer, found.address, found.protected) == ("200801012384", None, True)
    assert await register.logged(youth) == [
        ("user:anna", "casework", "identity refused: protected"),
        ("user:berit", "casework", "identity (open)"),
    ]


async def test_details_that_fail_authentication_are_refused_and_the_incident_logged(
    register: Register,
) -> None:
    youth = await register.youth(person(), key_of=uuid.uuid4())
    with pytest.raises(TamperedIdentity) as refused:
        await read_identity(register.pool, KEYS, GRANTED, youth, "casework")
    assert refused.value.field == "personal_details"
    assert "200801012384" not in str(refused.value)
    assert "Vera" not in str(refused.value)
    assert await register.logged(youth) == [
        ("user:berit", "casework", "identity refused: tampered"),
    ]
