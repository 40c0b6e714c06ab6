"""A consumer parks what it cannot apply and keeps going; the world's failures are retried, not
parked; `kaa up` reports a stopped service and starts it again (fast, no servers: the real
Kafka/PostgreSQL path is tests/e2e/test_poison_events.py)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiokafka import TopicPartition
from aiokafka.errors import MessageSizeTooLargeError

from kaa.supervisor import RESTART_DELAYS, Platform, ServiceProcess, Supervision
from shared.messaging import consumer as consumer_module
from shared.messaging.consumer import Delivery, ExactlyOnceConsumer, Parsed
from shared.messaging.failures import failure_reason, is_transient


class Poison(Exception):
    pass


class FakeSink:
    """Applies batches; a batch holding a message in `poison` fails as a whole (as a database
    transaction does); `down` fails everything like an unreachable database."""

    def __init__(self, poison: set[str], down: int = 0) -> None:
        self.poison = poison
        self.down = down
        self.applied: list[str] = []
        self.position = 0
        self.parked: list[tuple[str, str]] = []

    async def positions(self, topic: str, partitions: Sequence[int]) -> dict[int, int]:
        return {}

    async def apply(
        self, topic: str, partition: int, items: list[Parsed[str]], next_offset: int
    ) -> None:
        if self.down:
            self.down -= 1
            raise ConnectionRefusedError("database down")
        if any(item.message in self.poison for item in items):
            raise Poison("the store refuses 'Anna Andersson' at argument $3")
        self.applied.extend(item.message for item in items)
        self.position = next_offset

    async def park(
        self, topic: str, partition: int, item: Parsed[str], reason: str, next_offset: int
    ) -> None:
        self.parked.append((item.message, reason))
        self.position = next_offset


class FakeProducer:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes | None, dict[str, bytes]]] = []

    async def send_and_wait(self, topic: str, value: bytes | None, key: Any, headers: Any) -> None:
        self.sent.append((topic, value, dict(headers)))


def consumer(sink: FakeSink, producer: FakeProducer) -> ExactlyOnceConsumer[str]:
    return ExactlyOnceConsumer[str](
        bootstrap_servers="unused:9",
        group_id="g",
        topics=["t"],
        parse=lambda d: (d.value or b"").decode(),
        sink=sink,
        dead_letters=producer,
        service="test",
    )


def deliveries(*values: str) -> list[Delivery]:
    return [Delivery("t", 0, offset, b"k", v.encode()) for offset, v in enumerate(values)]


def test_a_failing_batch_is_applied_one_by_one_and_the_culprit_parked() -> None:
    sink, producer = FakeSink({"bad"}), FakeProducer()
    running = consumer(sink, producer)
    asyncio.run(running._process(TopicPartition("t", 0), deliveries("a", "bad", "c", "d")))
    assert sink.applied == ["a", "c", "d"], "the others are applied once"
    assert sink.position == 4
    assert [message for message, _ in sink.parked] == ["bad"]
    [(topic, value, headers)] = producer.sent
    assert (topic, value) == ("t.dlq", b"bad"), "original bytes on the dead-letter topic"
    reason = headers["kaa.dlq.reason"].decode()
    assert reason.startswith("the message could not be applied: Poison")
    assert "Anna" not in reason, "a quoted value is never repeated"
    assert running.parked.count == 1
    assert running.parked.last_reason == reason


def test_the_worlds_failure_is_retried_and_nothing_is_parked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(consumer_module, "RETRY_DELAYS", (0.0, 0.0, 0.0))
    sink, producer = FakeSink(set(), down=2), FakeProducer()
    asyncio.run(consumer(sink, producer)._process(TopicPartition("t", 0), deliveries("a", "b")))
    assert sink.applied == ["a", "b"]
    assert sink.parked == []
    assert producer.sent == []


def test_a_failure_that_lasts_ends_the_loop_without_parking(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(consumer_module, "RETRY_DELAYS", (0.0,))
    sink, producer = FakeSink({"a"}, down=10), FakeProducer()
    with pytest.raises(ConnectionRefusedError):
        asyncio.run(consumer(sink, producer)._process(TopicPartition("t", 0), deliveries("a")))
    assert sink.parked == []
    assert producer.sent == []


def test_a_parser_that_raises_dead_letters_the_message() -> None:
    sink, producer = FakeSink(set()), FakeProducer()
    running = consumer(sink, producer)

    def broken(delivery: Delivery) -> str:
        if delivery.value == b"boom":
            raise KeyError("person")
        return (delivery.value or b"").decode()

    running.parse = broken
    asyncio.run(running._process(TopicPartition("t", 0), deliveries("a", "boom", "c")))
    assert sink.applied == ["a", "c"]
    assert producer.sent[0][2]["kaa.dlq.reason"] == b"message: could not be read (KeyError)"


def _while_handling(first: Exception, second: Exception) -> Exception:
    """`second` raised while `first` was being handled (its __context__)."""
    try:
        try:
            raise first
        except Exception:
            raise second  # noqa: B904
    except Exception as raised:
        return raised


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (ConnectionRefusedError(), True),
        (asyncpg.exceptions.CannotConnectNowError("starting up"), True),
        (asyncpg.exceptions.SerializationError("could not serialize"), True),
        (asyncpg.exceptions.CharacterNotInRepertoireError("invalid byte sequence 0x00"), False),
        (asyncpg.exceptions.RaiseError("a bug"), False),
        (OverflowError("value out of int32 range"), False),
        (KeyError("x"), False),
        (asyncpg.exceptions.UndefinedTableError("no such table"), True),  # the deployment's
        (asyncpg.exceptions.InsufficientPrivilegeError("permission denied"), True),
        (asyncpg.exceptions.UndefinedColumnError("a bug in one statement"), False),
        (MessageSizeTooLargeError(), False),
        (_while_handling(ValueError("bad value"), ConnectionResetError()), True),
    ],
)
def test_which_failures_are_the_worlds(error: Exception, transient: bool) -> None:
    assert is_transient(error) is transient


def test_a_reason_never_carries_the_value() -> None:
    error = asyncpg.exceptions.InvalidTextRepresentationError(
        'invalid input syntax for type date: "19990101-Anna"'
    )
    reason = failure_reason(error, "ContactAttempted")
    assert reason.startswith(
        "ContactAttempted could not be applied: InvalidTextRepresentationError"
    )
    assert "Anna" not in reason
    assert "1999" not in reason


def test_kaa_up_reports_a_stopped_service_and_starts_it_again(tmp_path: Path) -> None:
    log = tmp_path / "register.log"
    log.write_text(
        '{"event": "service started", "level": "info"}\n'
        '{"event": "background loop failed", "level": "error", "loop": "projection"}\n'
        "Traceback (most recent call last):\n  ...\n"
    )
    started: list[str] = []

    class Stopped(ServiceProcess):
        def start(self) -> None:
            started.append(self.name)
            self.process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(5)"])

    proc = Stopped("register", 1, log, {})
    proc.process = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    proc.process.wait()
    other = Stopped("outreach", 2, tmp_path / "outreach.log", {})
    other.process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(5)"])
    platform = Platform(env={}, logs_dir=tmp_path, processes={"register": proc, "outreach": other})
    watch: dict[str, Supervision] = {}
    try:
        said = platform.supervise(watch, now=100.0)
        assert said[0].startswith("register stopped (exit 3): ")
        assert '"background loop failed"' in said[0], "the last error line of its log"
        assert (
            said[1]
            == f"register restarts in {RESTART_DELAYS[0]:.0f} s; the other services keep running"
        )
        assert platform.supervise(watch, now=100.1) == [], "not before the pause"
        assert platform.supervise(watch, now=100.0 + RESTART_DELAYS[0]) == [
            "register started again"
        ]
        assert started == ["register"]
        assert other.running()
    finally:
        for p in (proc, other):
            if p.process is not None:
                p.process.kill()
                p.process.wait()


def test_kaa_up_leaves_a_service_stopped_that_keeps_stopping(tmp_path: Path) -> None:
    class Dies(ServiceProcess):
        def start(self) -> None:
            self.process = subprocess.Popen([sys.executable, "-c", "raise SystemExit(1)"])
            self.process.wait()

    proc = Dies("identify", 1, tmp_path / "identify.log", {})
    proc.start()
    platform = Platform(env={}, logs_dir=tmp_path, processes={"identify": proc})
    watch: dict[str, Supervision] = {}
    now, said = 0.0, []
    for _ in range(40):
        said += platform.supervise(watch, now)
        now += 31.0 if now < 250 else 1.0
    assert watch["identify"].given_up
    assert any("left stopped" in line for line in said)


def test_a_message_too_large_for_the_dead_letter_topic_is_parked_without_its_bytes() -> None:
    class Picky(FakeProducer):
        async def send_and_wait(
            self, topic: str, value: bytes | None, key: Any, headers: Any
        ) -> None:
            if value is not None and len(value) > 10:
                raise MessageSizeTooLargeError()
            await super().send_and_wait(topic, value, key, headers)

    sink, producer = FakeSink({"a-large-bad-one"}), Picky()
    asyncio.run(
        consumer(sink, producer)._process(
            TopicPartition("t", 0), deliveries("a-large-bad-one", "b")
        )
    )
    assert sink.applied == ["b"]
    [(topic, value, headers)] = producer.sent
    assert topic == "t.dlq"
    assert value is None
    assert headers["kaa.dlq.value"].startswith(b"omitted: too large")
    assert headers["kaa.dlq.source.offset"] == b"0", "where the bytes can still be read"


@pytest.mark.parametrize(
    "message",
    [
        'invalid input syntax for type date: "19990101-Anna"',
        "value 'Anna \"O'Brien' is too long",
        "invalid input for query argument $3 in element #2 of executemany() sequence: 'Anna'",
    ],
)
def test_nothing_a_store_quotes_reaches_a_reason(message: str) -> None:
    reason = failure_reason(asyncpg.exceptions.DataError(message), "ContactAttempted")
    assert "Anna" not in reason
    assert "Brien" not in reason
