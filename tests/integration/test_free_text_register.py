"""The register keeps caseworkers' free text only sealed, opens it for the views, and shreds it with
the youth's other personal data, whichever topic it reads first (issue 14, section 4).

The retention topic and the measures topic are read concurrently (and a rebuild reads them in any
order): a plan revision applied after the youth's `PersonalDataPurged` keeps no text either, so
both orders give the same register (content hash).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any

import asyncpg
import pytest

from services.register.adapters import readmodel
from services.register.adapters.database import create_pool, create_tables
from services.register.adapters.fingerprint import content_hashes
from services.register.adapters.projection.handlers import apply_events
from shared.contracts.events import (
    AnyEvent,
    EffortText,
    IndividualPlanRevised,
    MeasureOffered,
    PersonalDataPurged,
    PlanEffort,
    PlanMapping,
    PlanText,
    YouthIdentified,
)
from shared.crypto import TenantKeys, new_data_key, seal
from tests.conftest import RunningInfra

TENANT = "0180"
KEYS = TenantKeys("integration-master-key-0123456789")
GOAL, ITEM, EFFORT, CONTENT = (
    "MålMarkörVide",
    "KartMarkörSälg",
    "InsatsMarkörHägg",
    "InnehållMarkör",
)


def envelope(youth: uuid.UUID, day: date) -> dict[str, Any]:
    when = datetime(day.year, day.month, day.day, 9, tzinfo=UTC)
    return {
        "event_id": uuid.uuid4(), "tenant": TENANT, "youth_id": youth, "occurred_at": when,
        "recorded_at": when, "actor": "user:anna", "correlation_id": uuid.uuid4(),
    }  # fmt: skip


def casework(youth: uuid.UUID, key: bytes) -> list[AnyEvent]:
    """A youth's identification, a plan revision and a measure offer with sealed words."""
    text = PlanText(goal=GOAL, mapping=PlanMapping(goals=[ITEM]),
                    efforts=[EffortText(description=EFFORT)])  # fmt: skip
    return [
        YouthIdentified(
            **envelope(youth, date(2024, 1, 8)), scope_episode_id=uuid.uuid4(),
            entered_on=date(2024, 1, 8), scope_ends_on=date(2026, 1, 1),
            rule_version="kaa-2018-07-01", facts={},
        ),
        IndividualPlanRevised(
            **envelope(youth, date(2024, 2, 1)), revision=1, valid_from=date(2024, 2, 1),
            efforts=[PlanEffort(effort_id=uuid.uuid4(), responsible="youth",
                                start_date=date(2024, 2, 5))],
            sealed_text=seal(key, text.model_dump_json().encode(), TENANT, youth,
                             PlanText.PURPOSE),
        ),
        MeasureOffered(
            **envelope(youth, date(2024, 2, 2)), measure_id=uuid.uuid4(),
            measure_type="internship", offered_on=date(2024, 2, 2),
            sealed_content=seal(key, CONTENT.encode(), TENANT, youth,
                                MeasureOffered.CONTENT_PURPOSE),
        ),
    ]  # fmt: skip


def purged(youth: uuid.UUID) -> PersonalDataPurged:
    return PersonalDataPurged(
        **envelope(youth, date(2026, 7, 1)), left_on=date(2024, 5, 1), retention_days=730
    )


@pytest.fixture
async def registers(
    infra: RunningInfra,
) -> AsyncIterator[tuple[str, list[str], asyncpg.Pool, asyncpg.Pool]]:
    names = [f"test_{uuid.uuid4().hex[:12]}" for _ in range(2)]
    pools = []
    for name in names:
        pool = await create_pool(infra.database_url, name, min_size=1, max_size=2)
        await create_tables(pool, name)
        pools.append(pool)
    try:
        yield infra.database_url, names, pools[0], pools[1]
    finally:
        for pool, name in zip(pools, names, strict=True):
            await pool.execute(f'DROP SCHEMA "{name}" CASCADE')
            await pool.close()


async def apply(pool: asyncpg.Pool, *batches: list[AnyEvent]) -> None:
    for batch in batches:  # each a batch of its own, as one topic's would be
        async with pool.acquire() as conn, conn.transaction():
            await apply_events(conn, batch)


async def held_text(pool: asyncpg.Pool) -> list[Any]:
    rows = await pool.fetch(
        "SELECT goal, sealed_text, mapping::text, efforts::text FROM plan_revisions "
        "UNION ALL SELECT sealed_content, NULL, NULL, NULL FROM measures"
    )
    return [value for row in rows for value in row.values() if value is not None]


async def test_free_text_is_kept_sealed_opened_for_the_view_and_shredded_in_either_order(
    registers: tuple[str, list[str], asyncpg.Pool, asyncpg.Pool],
) -> None:
    database_url, names, first, second = registers
    youth, key = uuid.uuid4(), new_data_key()
    events = casework(youth, key)
    await apply(first, events[:1], events[1:])
    stored = " ".join(map(str, await held_text(first)))
    assert "kaa1." in stored, "held, sealed"
    for word in (GOAL, ITEM, EFFORT, CONTENT):
        assert word not in stored

    # The view opens it with the youth's key as the keyring holds it.
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            "INSERT INTO keyring.youth_keys (tenant, youth_id, wrapped) VALUES ($1, $2, $3)",
            TENANT, youth, KEYS.wrap(TENANT, youth, key),
        )  # fmt: skip
        timeline = await readmodel.youth_timeline(first, TENANT, youth)
        assert timeline is not None
        shown = await readmodel.open_free_text(first, KEYS, TENANT, youth, timeline)
        [revision], [measure] = shown["plan_revisions"], shown["measures"]
        assert (revision["text"], revision["goal"], revision["mapping"]["goals"]) == (
            "open", GOAL, [ITEM]
        )  # fmt: skip
        assert revision["efforts"][0]["description"] == EFFORT
        assert "sealed_text" not in revision
        assert (measure["text"], measure["content"]) == ("open", CONTENT)
        assert "sealed_content" not in measure
        # Retention destroys the key: the view says so, it does not fail.
        await conn.execute("DELETE FROM keyring.youth_keys WHERE youth_id = $1", youth)
        timeline = await readmodel.youth_timeline(first, TENANT, youth)
        assert timeline is not None
        shown = await readmodel.open_free_text(first, KEYS, TENANT, youth, timeline)
        assert (shown["plan_revisions"][0]["text"], shown["plan_revisions"][0]["goal"]) == (
            "redacted", None
        )  # fmt: skip
        assert (shown["measures"][0]["text"], shown["measures"][0]["content"]) == ("redacted", None)
    finally:
        await conn.close()

    # The purge deletes the sealed text; the purge read before the casework keeps none either.
    await apply(first, [purged(youth)])
    gone = purged(youth)
    await apply(second, events[:1], [gone], events[1:])
    for pool in (first, second):
        assert all("kaa1." not in str(v) for v in await held_text(pool))
        timeline = await readmodel.youth_timeline(pool, TENANT, youth)
        assert timeline is not None
        shown = await readmodel.open_free_text(pool, KEYS, TENANT, youth, timeline)
        assert shown["personal_data"] == "purged"
        assert [r["text"] for r in shown["plan_revisions"]] == ["redacted"]
        assert [(m["text"], m["content"]) for m in shown["measures"]] == [("redacted", None)]
        assert shown["plan_revisions"][0]["efforts"][0]["start_date"] == "2024-02-05"
    assert await content_hashes(database_url, names[0]) == await content_hashes(
        database_url, names[1]
    ), "the same register whichever topic was read first"
