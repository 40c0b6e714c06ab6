"""The SCB half-year report built from a register on the database (no Kafka, no processes).

The golden half-year (`tests/golden/README.md`) is applied by the register's projection to a
register in the test's own schema; the report read back from it must be the golden file byte for
byte, from one snapshot, with every identity it opened in the access log. The export log is a fixed
schema (`register_exports`, not a projection), so its tests run on a database of their own.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from services.register.adapters import export_log
from services.register.adapters.database import create_pool, create_tables
from services.register.commands import scb
from services.register.domain.period import half_year
from shared import access_log
from tests.conftest import RunningInfra
from tests.integration.scb_support import TENANT, HalfYear, golden_half_year

GOLDEN = Path(__file__).parent.parent / "golden" / "scb-0180-2026H1.txt"
H1 = half_year("2026H1")
CLOSED = date(2026, 7, 15)  # the half-year has closed


async def prepared(pool: asyncpg.Pool, schema: str) -> asyncpg.Pool:
    await create_tables(pool, schema)
    await export_log.create_export_log(pool)
    async with pool.acquire() as conn:
        await access_log.create(conn)
    return pool


@pytest.fixture
async def register(infra: RunningInfra, db_schema: str) -> AsyncIterator[asyncpg.Pool]:
    """A register in this test's own schema."""
    pool = await create_pool(infra.database_url, db_schema, min_size=1, max_size=2)
    try:
        yield await prepared(pool, db_schema)
    finally:
        await pool.close()


@pytest.fixture
async def own_database(infra: RunningInfra) -> AsyncIterator[asyncpg.Pool]:
    """A register and an export log in a database of their own, dropped afterwards."""
    database = f"scb_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(infra.database_url)
    await admin.execute(f'CREATE DATABASE "{database}"')
    url = urlunsplit(urlsplit(infra.database_url)._replace(path=f"/{database}"))
    pool = await create_pool(url, min_size=1, max_size=2)
    try:
        yield await prepared(pool, "register")
    finally:
        await pool.close()
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.close()


async def scripted(pool: asyncpg.Pool) -> tuple[HalfYear, list[uuid.UUID]]:
    script = HalfYear()
    named = golden_half_year(script)
    await script.apply(pool)
    return script, named


async def test_the_register_gives_the_golden_file(register: asyncpg.Pool) -> None:
    script, _ = await scripted(register)
    report = await scb.build(register, script.keys, TENANT, H1, CLOSED)
    assert report.content == GOLDEN.read_bytes()
    assert report.youths == 3, "D left before the half-year, E came after it"
    assert report.records == {"1": 3, "2": 2, "3": 2, "4": 1, "5": 2}
    assert report.errors == []
    assert [(f.field, f.block, f.problem) for f in report.warnings] == [
        ("measure_type", 3,
         "'own_mentoring' has no code of its own in scb-report 2026-1; reported as 90"),
    ]  # fmt: skip
    again = await scb.build(register, script.keys, TENANT, H1, CLOSED)
    assert again.content == report.content, "the same register gives the same bytes"


async def test_the_report_names_the_events_it_was_built_from(register: asyncpg.Pool) -> None:
    script, _ = await scripted(register)
    report = await scb.build(register, script.keys, TENANT, H1, CLOSED)
    assert report.event_range.tenant_events == script.applied == 20
    assert report.event_range.positions == {
        "kaa.identify.events.v1/0": 9, "kaa.outreach.events.v1/0": 4,
        "kaa.measures.events.v1/0": 7,
    }  # fmt: skip
    assert report.event_range.last_recorded_at == "2026-07-05T00:00:00+00:00"
    other = await scb.build(register, script.keys, "0181", H1, CLOSED)
    assert (other.youths, other.event_range.tenant_events) == (0, 0), "one municipality only"


async def test_every_youth_named_is_in_the_access_log(register: asyncpg.Pool) -> None:
    script, named = await scripted(register)
    reader = access_log.Access(TENANT, "user:coordinator1", "scb-report", "SCB check 2026H1",
                               "register")  # fmt: skip
    report = await scb.build(register, script.keys, TENANT, H1, CLOSED, reader)
    assert sorted(report.named) == sorted(named)
    async with register.acquire() as conn:
        for youth in named:
            _, entries = await access_log.entries(conn, TENANT, youth)
            assert [(e["what"], e["actor"], e["purpose"]) for e in entries] == [
                ("SCB check 2026H1", "user:coordinator1", "scb-report")
            ]


async def test_a_youth_no_population_record_named_is_an_error(register: asyncpg.Pool) -> None:
    script, _ = await scripted(register)
    unnamed = uuid.uuid4()
    script.identified(unnamed, "2026-03-01", None, None)
    await script.apply(register)
    report = await scb.build(register, script.keys, TENANT, H1, CLOSED)
    assert [(f.youth_id, f.field, f.problem) for f in report.errors] == [
        (unnamed, "personnummer", "no population record has named this youth")
    ]
    assert report.content == GOLDEN.read_bytes(), "the unnamed youth has no line"
    assert unnamed not in report.named


async def test_an_export_is_recorded_and_a_later_one_supersedes_it(
    own_database: asyncpg.Pool,
) -> None:
    pool = own_database
    script, _ = await scripted(pool)
    report = await scb.build(pool, script.keys, TENANT, H1, CLOSED)
    first = await scb.record_export(pool, report, "user:coordinator1", False)
    second = await scb.record_export(pool, report, "cli:ops", True)
    assert (first["sequence"], first["supersedes"]) == (1, None)
    assert (second["sequence"], second["supersedes"]) == (2, first["export_id"])
    assert second["content_sha256"] == report.content_hash
    assert (second["bytes"], second["youths"], second["warnings"]) == (len(report.content), 3, 1)
    history = await scb.history(pool, script.keys, TENANT, H1, CLOSED)
    assert [(x["sequence"], x["superseded"], x["forced"], x["actor"])
            for x in history["exports"]] == [
        (1, True, False, "user:coordinator1"), (2, False, True, "cli:ops")
    ]  # fmt: skip
    assert history["exports"][1]["event_range"] == report.event_range.as_dict()
    assert history["needs_resubmission"] is False
    assert history["register_changed_since_last_export"] is False
    assert (await export_log.entries(pool, TENANT, "2026H2")) == []


async def test_a_correction_after_the_period_closed_needs_resubmission(
    own_database: asyncpg.Pool,
) -> None:
    pool = own_database
    script, (a, *_) = await scripted(pool)
    report = await scb.build(pool, script.keys, TENANT, H1, CLOSED)
    await scb.record_export(pool, report, "user:coordinator1", False)
    script.contact(a, "2026-03-10")
    await script.apply(pool)
    history = await scb.history(pool, script.keys, TENANT, H1, CLOSED)
    assert history["register_changed_since_last_export"] is True
    assert history["needs_resubmission"] is True
    assert history["current_content_sha256"] != report.content_hash
    still_open = await scb.history(pool, script.keys, TENANT, H1, date(2026, 6, 30))
    assert still_open["needs_resubmission"] is False, "the half-year has not closed"
    assert await scb.resubmissions(pool, script.keys, TENANT, CLOSED) == [
        {"period": "2026H1", "files": 1, "needs_resubmission": True,
         "register_changed_since_last_export": True}
    ]  # fmt: skip


async def test_a_period_without_a_file(own_database: asyncpg.Pool) -> None:
    script, _ = await scripted(own_database)
    assert await scb.history(own_database, script.keys, TENANT, H1, CLOSED) == {
        "tenant": TENANT, "period": "2026H1", "exports": [], "needs_resubmission": False,
        "not_yet_submitted": True,
    }  # fmt: skip
    assert await scb.resubmissions(own_database, script.keys, TENANT, CLOSED) == []


async def test_an_entry_is_read_against_its_contract(own_database: asyncpg.Pool) -> None:
    """A row from before the payload carried its version reads as version 1; a payload that breaks
    the contract is refused on read, naming the field."""
    export_id = uuid.uuid4()
    old = {
        "export_id": str(export_id), "content_sha256": "0" * 64, "bytes": 40, "youths": 1,
        "records": {"1": 1, "2": 0, "3": 0, "4": 0, "5": 0}, "code_list_version": "2026-1",
        "file_format": "KAA-SCB;1", "forced": False, "errors": 0, "warnings": 0,
        "supersedes": None,
        "event_range": {"positions": {}, "tenant_events": 1, "last_recorded_at": None},
    }  # fmt: skip
    insert = (
        "INSERT INTO register_exports.events (event_id, event_type, tenant, period, actor, "
        "payload) VALUES ($1, 'ScbExportGenerated', $2, $3, 'user:x', $4::jsonb)"
    )
    await own_database.execute(insert, export_id, TENANT, "2025H2", json.dumps(old))
    [entry] = await export_log.entries(own_database, TENANT, "2025H2")
    assert entry.event.schema_version == 1
    assert entry.view()["export_id"] == str(export_id)
    await own_database.execute(
        insert, uuid.uuid4(), TENANT, "2025H1", json.dumps(old | {"bytes": -1})
    )
    with pytest.raises(export_log.ExportLogError) as refused:
        await export_log.entries(own_database, TENANT, "2025H1")
    assert str(refused.value).endswith(": bytes: Input should be greater than or equal to 0")
    assert "-1" not in str(refused.value), "the stored value is not echoed"
