"""The backfill of letters' names and addresses as a rule, on fakes: only youths in scope without
details are filled, from every event that carries theirs; it runs once per store; a store with
nothing missing is marked done without reading identify's events; progress names no youth."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any

from structlog.testing import capture_logs

from services.outreach.adapters.identify_topic import Progress
from services.outreach.commands.backfill import backfill_identities
from shared.contracts.events import PersonalDetailsRecorded, YouthIdentified

TENANT = "0180"
NOW = datetime(2026, 3, 2, 8, tzinfo=UTC)


def envelope(youth: uuid.UUID) -> dict[str, Any]:
    return {"event_id": uuid.uuid4(), "tenant": TENANT, "youth_id": youth, "occurred_at": NOW,
            "recorded_at": NOW, "actor": "system:identify", "correlation_id": uuid.uuid4()}  # fmt: skip


def identified(youth: uuid.UUID, details: str | None) -> YouthIdentified:
    return YouthIdentified(
        **envelope(youth), scope_episode_id=uuid.uuid4(), entered_on=date(2026, 1, 15),
        scope_ends_on=date(2027, 5, 1), rule_version="r", facts={}, personal_details=details,
    )  # fmt: skip


class Store:
    def __init__(self, without: set[tuple[str, uuid.UUID]], done: bool = False) -> None:
        self.without = without
        self.marked: tuple[int, int] | None = (0, 0) if done else None
        self.rows: list[tuple[str, uuid.UUID, str, datetime]] = []

    def done(self) -> bool:
        return self.marked is not None

    def without_details(self) -> set[tuple[str, uuid.UUID]]:
        return set(self.without)

    def fill(self, found: list[tuple[str, uuid.UUID, str, datetime]]) -> None:
        self.rows.extend(found)

    def mark_done(self, youths_without: int, filled: int) -> None:
        self.marked = (youths_without, filled)


class Topic:
    def __init__(self, *batches: list[Any]) -> None:
        self.batches = batches
        self.reads = 0

    async def read_through(self) -> AsyncIterator[tuple[list[Any], Progress]]:
        self.reads += 1
        total = sum(len(b) for b in self.batches)
        read = 0
        for batch in self.batches:
            read += len(batch)
            yield batch, Progress(read, total)


def test_only_youths_in_scope_without_details_are_filled_once() -> None:
    missing, known, unknown = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    store = Store({(TENANT, missing), (TENANT, unknown)})
    topic = Topic(
        [identified(missing, "sealed-1"), identified(known, "sealed-2")],
        [identified(unknown, None),
         PersonalDetailsRecorded(**envelope(missing), personal_details="sealed-3")],
    )  # fmt: skip
    with capture_logs() as logged:
        filled = asyncio.run(backfill_identities(store, topic, log_every=0.0))
    assert filled == 1
    assert [(y, sealed) for _, y, sealed, _ in store.rows] == [
        (missing, "sealed-1"), (missing, "sealed-3"),
    ]  # fmt: skip
    assert store.marked == (2, 1)
    said = json.dumps(logged, default=str)
    assert all(str(y) not in said for y in (missing, known, unknown))
    assert "sealed" not in said
    assert [e.get("read") for e in logged if "read" in e] == [2, 4]
    assert asyncio.run(backfill_identities(store, topic)) is None
    assert topic.reads == 1


def test_a_store_with_nothing_missing_is_marked_done_without_reading() -> None:
    store, topic = Store(set()), Topic([identified(uuid.uuid4(), "sealed")])
    assert asyncio.run(backfill_identities(store, topic)) == 0
    assert (store.marked, topic.reads) == ((0, 0), 0)
