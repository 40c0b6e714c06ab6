"""What the register adds for the inspector's pages (issue 19), on the real PostgreSQL: the access
log searched by reader (`actor`), and each youth's current occupation as the register holds it
(what the audit replay's rows carry, so an inspector sees the value before a correction)."""

from __future__ import annotations

import uuid
from datetime import date

import asyncpg

from services.register.adapters import readmodel
from shared import access_log

TENANT = "9911"  # a municipality of its own: the access log is one table for every test


async def test_the_access_log_is_searched_by_reader(db: asyncpg.Connection) -> None:
    await access_log.create(db)
    youth, other = uuid.uuid4(), uuid.uuid4()
    reader = f"user:greta-{uuid.uuid4().hex[:8]}"
    for actor, youths in ((reader, [youth, other]), ("user:anna", [youth])):
        reading = access_log.Access(TENANT, actor, "audit-replay", "register as of x", "register")
        await access_log.record(db, reading, youths)
    total, items = await access_log.entries(db, TENANT, actor=reader)
    assert total == 2
    assert {row["actor"] for row in items} == {reader}
    total, items = await access_log.entries(db, TENANT, youth, actor=reader, limit=1)
    assert total == 1
    assert [row["youth_id"] for row in items] == [youth]
    everyone, _ = await access_log.entries(db, TENANT, youth)
    assert everyone >= 2


async def test_each_youths_current_occupation_is_the_latest_confirmed(
    register: asyncpg.Pool,
) -> None:
    youth, planned_only = uuid.uuid4(), uuid.uuid4()
    rows = [
        (youth, "work", "current", date(2026, 1, 1), date(2026, 2, 1)),
        (youth, "studies_komvux", "current", date(2026, 2, 1), date(2026, 2, 19)),
        (youth, "internship", "planned", date(2026, 4, 1), date(2026, 2, 20)),
        (planned_only, "internship", "planned", date(2026, 4, 1), date(2026, 2, 20)),
    ]
    await register.executemany(
        "INSERT INTO occupations (event_id, tenant, youth_id, occupation_id, category,"
        " code_list_version, tense, from_date, confirmed_on, actor)"
        " VALUES ($1, $2, $3, $4, $5, '1', $6, $7, $8, 'user:anna')",
        [(uuid.uuid4(), TENANT, y, uuid.uuid4(), c, t, f, o) for y, c, t, f, o in rows],
    )
    assert await readmodel.occupations_now(register, TENANT) == {youth: "studies_komvux"}
