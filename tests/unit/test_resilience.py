"""Background loops ride out the world's failures and give up on a bug that repeats; start-up waits
for the world; a consumer whose stored positions cannot be read applies nothing (fast, no servers:
the real PostgreSQL outage is tests/e2e/test_postgres_outage.py)."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import asyncpg
import psycopg
import pytest
import structlog
from aiokafka import TopicPartition

from shared import loops as loops_module
from shared import resilience
from shared.logs import configure_logging
from shared.loops import GIVE_UP_AFTER, BackgroundLoops
from shared.messaging.consumer import Delivery, ExactlyOnceConsumer, _SeekToStoredPositions
from shared.messaging.failures import is_transient
from shared.resilience import Backoff, Interrupted, failure_kind, until_done


@pytest.fixture
def lines() -> Iterator[io.StringIO]:
    saved_config, root = structlog.get_config(), logging.getLogger()
    saved = (list(root.handlers), root.level)
    stream = io.StringIO()
    configure_logging("unit", "INFO", stream=stream)
    try:
        yield stream
    finally:
        structlog.configure(**saved_config)
        root.handlers[:], root.level = saved


def events(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


@pytest.fixture(autouse=True)
def steady(monkeypatch: pytest.MonkeyPatch) -> None:
    """A loop counts as running steadily after 0.2 s."""
    monkeypatch.setattr(loops_module, "STEADY_SECONDS", 0.2)


def quick() -> Backoff:
    """Pauses of milliseconds."""
    return Backoff(first=0.001, cap=0.004, jitter=0.0)


def test_backoff_doubles_to_its_cap_with_jitter() -> None:
    pause = Backoff(first=0.5, cap=30.0, jitter=0.0)
    assert [pause.next() for _ in range(9)] == [0.5, 1, 2, 4, 8, 16, 30, 30, 30]
    pause.reset()
    assert pause.next() == 0.5
    jittered = Backoff(first=10.0, cap=30.0, jitter=0.2)
    assert all(8.0 <= jittered.next() <= 36.0 for _ in range(20))


async def test_a_loop_failing_for_the_worlds_reasons_is_restarted_and_said_so_once(
    lines: io.StringIO,
) -> None:
    attempts = 0

    async def consumer() -> None:
        nonlocal attempts
        attempts += 1
        if attempts <= 20:
            raise psycopg.OperationalError("connection refused")
        await asyncio.sleep(3600)

    gave_up: list[bool] = []
    loops = BackgroundLoops(backoff=quick, on_give_up=lambda: gave_up.append(True))
    loops.add("feed-consumer", consumer)
    loops.start()
    seen: set[str] = set()
    while attempts <= 20:
        seen.update(loops.loop_problems())
        await asyncio.sleep(0.001)
    assert (
        "feed-consumer: retrying after 10 failures (PostgreSQL unavailable (OperationalError))"
        in seen
    )
    assert loops.loop_problems() == [], "running again: ready, before it ran steadily"
    await asyncio.sleep(0.3)  # runs steadily again
    assert loops.loop_problems() == []
    assert loops.live() is None
    assert gave_up == []
    await loops.stop()
    said = [e["event"] for e in events(lines) if e["logger"] == "shared.loops"]
    assert said == ["background loop waiting; restarting it", "background loop running again"]
    assert "exception" not in events(lines)[0], "no traceback for the world's failure"


async def test_a_loop_failing_for_a_bug_gives_up_and_liveness_turns_false(
    lines: io.StringIO,
) -> None:
    attempts = 0

    async def schedule() -> None:
        nonlocal attempts
        attempts += 1
        raise KeyError("a bug")

    gave_up: list[bool] = []
    loops = BackgroundLoops(backoff=quick, on_give_up=lambda: gave_up.append(True))
    loops.add("scope-schedule", schedule)
    loops.start()
    await asyncio.wait(loops.tasks, timeout=5)
    assert attempts == GIVE_UP_AFTER
    assert gave_up == [True]
    assert (
        loops.live()
        == f"background loop scope-schedule failed {GIVE_UP_AFTER} times in a row (KeyError)"
    )
    assert loops.loop_problems() == [
        f"scope-schedule: gave up after {GIVE_UP_AFTER} failures (KeyError)"
    ]
    logged = [e for e in events(lines) if e["logger"] == "shared.loops"]
    assert [e["level"] for e in logged] == ["error"] * (GIVE_UP_AFTER - 1) + ["critical"]
    assert all("KeyError" in e["exception"] for e in logged), "a bug's traceback each time"


async def test_a_bug_between_steady_runs_never_gives_up() -> None:
    attempts = 0

    async def flaky() -> None:
        nonlocal attempts
        attempts += 1
        await asyncio.sleep(0.25)  # steady (0.2 s) before each failure
        raise KeyError("now and then")

    loops = BackgroundLoops(backoff=quick, on_give_up=lambda: pytest.fail("gave up"))
    loops.add("flaky", flaky)
    loops.start()
    for _ in range(400):
        if attempts > GIVE_UP_AFTER + 1:
            break
        await asyncio.sleep(0.05)
    assert attempts > GIVE_UP_AFTER + 1
    assert loops.live() is None
    await loops.stop()


async def test_a_clean_stop_lets_a_loop_finish_and_cancels_the_others() -> None:
    finished: list[str] = []

    class Relay:
        stopping = False

        def request_stop(self) -> None:
            self.stopping = True

        async def run(self) -> None:
            while not self.stopping:  # noqa: ASYNC110 (as the relay polls)
                await asyncio.sleep(0.01)
            finished.append("relay")

    async def schedule() -> None:
        await asyncio.sleep(3600)

    loops = BackgroundLoops(backoff=quick)
    loops.add("outbox-relay", Relay().run)
    loops.add("schedule", schedule)
    loops.start()
    await asyncio.sleep(0.05)
    await asyncio.wait_for(loops.stop(grace=5.0), 1.0)
    assert finished == ["relay"]
    assert all(task.done() for task in loops.tasks)


async def test_start_up_waits_through_the_worlds_failures_and_raises_a_bug(
    lines: io.StringIO,
) -> None:
    calls = 0

    async def setup() -> str:
        nonlocal calls
        calls += 1
        if calls < 4:
            raise ConnectionRefusedError("refused")
        return "started"

    assert await until_done(setup, "start-up", backoff=quick()) == "started"
    said = [e["event"] for e in events(lines)]
    assert said[0] == "start-up: waiting; a connection failed (ConnectionRefusedError)"
    assert said[1].startswith("start-up: done after waiting")
    assert len(said) == 2, "one line when it starts waiting, one when done"

    async def broken() -> None:
        raise KeyError("a bug")

    with pytest.raises(KeyError):
        await until_done(broken, "start-up", backoff=quick())


def test_a_connection_broken_under_an_operation_is_the_worlds_failure() -> None:
    broken = asyncpg.exceptions._base.InternalClientError(
        "cannot switch to state 15; another operation (2) is in progress"
    )
    assert is_transient(broken), "retried, never parked"


def test_a_failure_is_said_in_words_without_its_message() -> None:
    exc = psycopg.OperationalError("connection to 'Anna' failed")
    assert failure_kind(exc) == "PostgreSQL unavailable (OperationalError)"
    assert failure_kind(ValueError("Anna")) == "ValueError"


class _Positions:
    def __init__(self) -> None:
        self.down = True
        self.applied: list[int] = []

    async def positions(self, topic: str, partitions: Any) -> dict[int, int]:
        if self.down:
            raise psycopg.OperationalError("the database is down")
        return dict.fromkeys(partitions, 5)

    async def apply(self, topic: str, partition: int, items: list[Any], next_offset: int) -> None:
        self.applied.extend(item.delivery.offset for item in items)


class _Consumer:
    def __init__(self) -> None:
        self.seeks: dict[TopicPartition, int] = {}

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.seeks[tp] = offset

    def assignment(self) -> set[TopicPartition]:
        return set(self.seeks)

    def highwater(self, tp: TopicPartition) -> int | None:
        return None


async def test_a_partition_whose_stored_position_cannot_be_read_applies_nothing() -> None:
    sink = _Positions()
    running = ExactlyOnceConsumer[str](
        bootstrap_servers="unused:9", group_id="g", topics=["t"],
        parse=lambda d: (d.value or b"").decode(), sink=sink,
        dead_letters=None, service="test",
    )  # fmt: skip
    running.consumer = _Consumer()
    tp = TopicPartition("t", 0)
    listener = _SeekToStoredPositions(running)  # type: ignore[arg-type]
    await listener.on_partitions_assigned([tp])
    assert isinstance(running.seek_failed, psycopg.OperationalError), "raised in the loop"
    fetched = [Delivery("t", 0, offset, b"k", b"v") for offset in range(3)]
    await running._process(tp, fetched)
    assert sink.applied == [], "records fetched from the group's offset are not applied"
    sink.down = False
    await listener.on_partitions_assigned([tp])
    await running._process(tp, [*fetched, Delivery("t", 0, 5, b"k", b"v")])
    assert sink.applied == [5], "from the stored position on"


async def test_a_loop_waiting_to_retry_tries_at_once_when_woken() -> None:
    attempts = 0

    async def relay() -> None:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise ConnectionRefusedError("refused")
        await asyncio.sleep(3600)

    loops = BackgroundLoops(backoff=lambda: Backoff(first=60.0, jitter=0.0))
    loops.add("outbox-relay", relay)
    loops.start()
    await asyncio.sleep(0.05)
    assert loops.loop_problems() == [
        "outbox-relay: retrying after 1 failure (a connection failed (ConnectionRefusedError))"
    ]
    loops.wake()  # the dependency watch: PostgreSQL is reachable again
    await asyncio.sleep(0.05)
    assert attempts == 2
    assert loops.loop_problems() == []
    await loops.stop()


async def test_a_stop_asked_for_while_start_up_waits_ends_the_wait(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def database_down() -> None:
        raise ConnectionRefusedError("refused")

    waiting = asyncio.create_task(
        until_done(database_down, "start-up", backoff=Backoff(first=60.0, jitter=0.0))
    )
    await asyncio.sleep(0.05)
    monkeypatch.setattr(resilience._Stop, "requested", True)  # what SIGTERM does in `kaa run`
    with pytest.raises(Interrupted):
        await asyncio.wait_for(waiting, 1.0)


async def test_a_start_up_waiting_tries_again_at_once_when_a_dependency_is_back() -> None:
    calls = 0

    async def database() -> str:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionRefusedError("refused")
        return "started"

    waiting = asyncio.create_task(
        until_done(database, "start-up", backoff=Backoff(first=60.0, jitter=0.0))
    )
    await asyncio.sleep(0.05)
    resilience.nudge()  # the dependency watch: PostgreSQL is reachable again
    assert await asyncio.wait_for(waiting, 1.0) == "started"


async def test_a_loop_cancelled_from_within_is_restarted_not_lost() -> None:
    """A library's own cancellation ending a loop is a failure (restarted, counted), never a loop
    gone while readiness still says every loop runs; a stop still cancels it at once."""
    attempts = 0

    async def relay() -> None:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise asyncio.CancelledError  # as asyncio.timeout() inside a library may leave it
        await asyncio.sleep(3600)

    loops = BackgroundLoops(backoff=quick)
    loops.add("outbox-relay", relay)
    loops.start()
    for _ in range(200):
        if attempts >= 2:
            break
        await asyncio.sleep(0.01)
    assert attempts == 2, "the cancelled loop was started again"
    assert loops.live() is None
    await loops.stop()
    assert all(task.done() for task in loops.tasks)
