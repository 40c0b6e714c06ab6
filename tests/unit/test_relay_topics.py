"""The outbox relay says so when it skips a published class's events filed under an old topic."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest
from eventsourcing.utils import get_topic, register_topic
from structlog.testing import capture_logs

from services.outreach.domain import OutreachCase
from shared.messaging.relay import OutboxRelay

ATTEMPTED: type[Any] = OutreachCase.ContactAttempted  # type: ignore[attr-defined]
OPENED: type[Any] = OutreachCase.ScopeOpened  # type: ignore[attr-defined]


def relay(*published: type[Any]) -> Any:
    return SimpleNamespace(relayed={get_topic(cls) for cls in published}, skipped_topics=set())


def test_a_published_class_under_an_old_topic_is_an_error_logged_once() -> None:
    attempted = ATTEMPTED
    register_topic("services.outreach.old:OutreachCase.ContactAttempted", attempted)
    fake = relay(attempted)
    with capture_logs() as logs:
        OutboxRelay.check_skipped(fake, "services.outreach.old:OutreachCase.ContactAttempted")
        OutboxRelay.check_skipped(fake, "services.outreach.old:OutreachCase.ContactAttempted")
    assert [entry["log_level"] for entry in logs] == ["error"]
    assert logs[0]["topic"] == get_topic(attempted)


def test_a_class_the_relay_does_not_publish_is_skipped_quietly() -> None:
    fake = relay(ATTEMPTED)
    with capture_logs() as logs:
        OutboxRelay.check_skipped(fake, get_topic(OPENED))
        OutboxRelay.check_skipped(fake, "no.such.module:Nothing")
    assert logs == []


class Paced:
    """A relay's loop around a stand-in for its batches: (position, whether the batch was full),
    then None (nothing new: the relay is stopped there)."""

    def __init__(self, batches: list[tuple[int, bool] | None]) -> None:
        self.batches = iter(batches)
        self.stopping = False
        self.standby_interval = 1e9
        self.poll_interval = 0.05
        self.gather_interval = 0.02
        self.last_batch_full = False
        self.service = "test"

    def position(self) -> int:
        return 0

    async def publish_after(self, position: int) -> int | None:
        batch = next(self.batches)
        if batch is None:
            self.stopping = True
            return None
        self.last_batch_full = batch[1]
        return batch[0]

    async def _measure_lag(self, position: int) -> None:
        return None


async def test_after_a_batch_that_was_not_full_the_relay_lets_events_gather(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr(asyncio, "sleep", sleep)
    paced = Paced([(2000, True), (4000, True), (4003, False), (4004, False), None])
    await OutboxRelay._lead(paced, SimpleNamespace(held=lambda: True))  # type: ignore[arg-type]

    # A backlog is published batch after batch; a trickle waits the gathering interval; nothing
    # new waits the poll interval.
    assert slept == [0.02, 0.02, 0.05]


class Outbox:
    """A relay's outbox of `stored` events, none of a published kind (each skipped)."""

    def __init__(self, stored: int, batch_size: int) -> None:
        self.recorder = self
        self.rows = [
            SimpleNamespace(id=n, topic="not.published:Event") for n in range(1, stored + 1)
        ]
        self.batch_size = batch_size
        self.relayed: set[str] = set()
        self.last_batch_full = False
        self.published = 0
        self.service = "test"
        self.tracked: list[int] = []

    def select_relay_batch(self, after: int, limit: int, topics: Any) -> list[Any]:
        return [row for row in self.rows if row.id > after][:limit]

    def insert_tracking(self, tracking: Any) -> None:
        self.tracked.append(tracking.notification_id)

    def check_skipped(self, topic: str) -> None:
        return None


async def test_a_batch_is_full_when_it_holds_as_many_events_as_the_relay_reads_at_once() -> None:
    outbox = Outbox(stored=5, batch_size=2)
    positions = []
    fullness = []
    position = 0
    while (moved := await OutboxRelay.publish_after(outbox, position)) is not None:  # type: ignore[arg-type]
        position = moved
        positions.append(position)
        fullness.append(outbox.last_batch_full)
    assert positions == [2, 4, 5]
    assert fullness == [True, True, False]
    assert outbox.tracked == [2, 4, 5]
    assert outbox.last_batch_full is False  # nothing new: not full either
