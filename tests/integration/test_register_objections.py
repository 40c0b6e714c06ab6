"""A youth's objection corrected or withdrawn in the register, on the database (no Kafka, no
processes): a corrected objection stands in place of the one it names (not beside it), a withdrawn
one goes with its corrections; `entry_corrections` says who did what and why; the audit replay
shows the objection as recorded then; a register projected afresh is the same as the live one.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg

from services.register.adapters import readmodel
from services.register.adapters.archive import drop_schema, project_archive
from services.register.commands.rebuild import verify
from services.register.commands.replay import replay
from shared.contracts.events import AnyEvent, ObjectionRecorded
from shared.contracts.topics import MEASURES_EVENTS
from tests.conftest import RunningInfra
from tests.integration.test_register_corrections import (
    TENANT,
    Youth,
    fixing,
    identified_youth,
    rows,
)
from tests.integration.test_register_projection import Partition
from tests.integration.test_register_unknown_entries import consume


def objected(youth: Youth, day: int, corrects: AnyEvent | None = None) -> ObjectionRecorded:
    return ObjectionRecorded(**youth.envelope(), objected_on=date(2026, 3, day),
                             **fixing(corrects, "wrong_date"))  # fmt: skip


async def objections(register: asyncpg.Pool, youth: Youth) -> list[dict[str, Any]]:
    return await rows(register, "SELECT event_id, objected_on FROM objections"
                      " WHERE youth_id = $1 ORDER BY objected_on", youth.id)  # fmt: skip


async def test_a_corrected_objection_stands_in_place_of_the_one_it_names(
    register: asyncpg.Pool,
) -> None:
    youth, _ = await identified_youth(register)
    measures = Partition(register, MEASURES_EVENTS)
    wrong = objected(youth, 2)
    await measures.apply([wrong])
    fixed = objected(youth, 12, corrects=wrong)
    await measures.apply([fixed])
    again = objected(youth, 13, corrects=fixed)  # a correction of the correction
    await measures.apply([again])
    assert await objections(register, youth) == [
        {"event_id": again.event_id, "objected_on": date(2026, 3, 13)}
    ]
    kept = await rows(register, "SELECT event_id, kind, target_event_id, target_event_type,"
                      " reason FROM entry_corrections ORDER BY recorded_at")  # fmt: skip
    assert kept == [
        {"event_id": fixed.event_id, "kind": "corrected", "target_event_id": wrong.event_id,
         "target_event_type": "ObjectionRecorded", "reason": "wrong_date"},
        {"event_id": again.event_id, "kind": "corrected", "target_event_id": fixed.event_id,
         "target_event_type": "ObjectionRecorded", "reason": "wrong_date"},
    ]  # fmt: skip
    shown = await readmodel.youth_timeline(register, TENANT, youth.id)
    assert shown is not None
    assert [o["objected_on"] for o in shown["objections"]] == [date(2026, 3, 13)]


async def test_a_withdrawn_objection_goes_with_its_corrections(register: asyncpg.Pool) -> None:
    youth, _ = await identified_youth(register)
    measures = Partition(register, MEASURES_EVENTS)
    first, other = objected(youth, 2), objected(youth, 5)
    fixed = objected(youth, 3, corrects=first)
    # Recorded, corrected and withdrawn in one batch: the withdrawal applies after the rest.
    await measures.apply([first, other, fixed, youth.withdrawn(first)])
    assert await objections(register, youth) == [
        {"event_id": other.event_id, "objected_on": date(2026, 3, 5)}
    ]
    await measures.apply([youth.withdrawn(other)])
    assert await objections(register, youth) == []
    assert await register.fetchval("SELECT count(*) FROM dead_events") == 0, "none parked"
    shown = await readmodel.youth_timeline(register, TENANT, youth.id)
    assert shown is not None
    assert [(c["kind"], c["target_event_id"], c["target_event_type"], c["actor"])
            for c in shown["corrections"]] == [
        ("corrected", first.event_id, "ObjectionRecorded", "user:anna"),
        ("withdrawn", first.event_id, "ObjectionRecorded", "user:bertil"),
        ("withdrawn", other.event_id, "ObjectionRecorded", "user:bertil"),
    ]  # fmt: skip


async def test_the_replay_shows_the_objection_as_recorded_then_and_afresh_equals_live(
    infra: RunningInfra, register: asyncpg.Pool, db_schema: str
) -> None:
    youth, _ = await identified_youth(register)
    measures = Partition(register, MEASURES_EVENTS)
    wrong, other = objected(youth, 2), objected(youth, 4)
    fixed = objected(youth, 12, corrects=wrong)
    withdrawal = youth.withdrawn(other)
    for event in (wrong, other, fixed, withdrawal):  # one by one in the live register
        await measures.apply([event])
    now = datetime.now(UTC)

    async def as_of(instant: datetime) -> dict[str, Any]:
        shown = await replay(infra.database_url, TENANT, instant, now, youth.id,
                             archive_schema=db_schema)  # fmt: skip
        return dict(shown["youth"])

    before = await as_of(fixed.recorded_at - timedelta(seconds=1))
    assert [o["objected_on"] for o in before["objections"]] == [date(2026, 3, 2), date(2026, 3, 4)]
    assert before["corrections"] == []
    after = await as_of(now)
    assert [o["objected_on"] for o in after["objections"]] == [date(2026, 3, 12)]
    assert [(c["kind"], c["actor"], c["reason"]) for c in after["corrections"]] == [
        ("corrected", "user:anna", "wrong_date"),
        ("withdrawn", "user:bertil", "did_not_happen"),
    ]
    other_schema = f"{db_schema}_afresh"  # the archive in big batches
    try:
        await project_archive(infra.database_url, TENANT, datetime.now(UTC), other_schema,
                              archive_schema=db_schema)  # fmt: skip
        assert await verify(infra.database_url, db_schema, other_schema) == {}
    finally:
        await drop_schema(infra.database_url, other_schema)


async def test_an_objection_correction_naming_none_is_parked_not_added(
    register: asyncpg.Pool,
) -> None:
    youth, _ = await identified_youth(register)
    stranger = objected(Youth(), 2)  # another youth's objection, never in this youth's register
    await consume(Partition(register, MEASURES_EVENTS), [objected(youth, 3, corrects=stranger)])
    assert await objections(register, youth) == []
    reason = await register.fetchval("SELECT reason FROM dead_events")
    assert reason.endswith("corrects: no such entry of this youth in the register")
