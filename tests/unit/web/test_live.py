"""Live updates, in process: what a message on a live topic says (a bad one is a reason, never its
content), a signal reaching its municipality's streams only, a page that does not read dropped, an
identify event held until outreach and the register read past it, and one open page's stream
(coalesced events, heartbeats, the end of the session)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncGenerator
from datetime import UTC, datetime

import pytest
from aiokafka import TopicPartition

from services.web.adapters import live
from services.web.adapters.live import RESYNC, Gate, LiveHub, LiveSubscriber, Reader, Signal
from services.web.entrypoints import live as stream
from shared.contracts.events import CaseAssigned
from shared.contracts.topics import IDENTIFY_EVENTS, OUTREACH_EVENTS

PREFIX = "probe."
YOUTH = uuid.uuid4()


def assigned(tenant: str = "0180") -> bytes:
    now = datetime(2026, 3, 2, 9, tzinfo=UTC)
    return CaseAssigned(event_id=uuid.uuid4(), tenant=tenant, youth_id=YOUTH, occurred_at=now,
                        recorded_at=now, actor="user:anna", correlation_id=uuid.uuid4(),
                        assignee_kind="team", assignee="north").to_bytes()  # fmt: skip


def test_a_message_is_the_tenant_and_youth_or_a_reason_without_its_content() -> None:
    reader = Reader(PREFIX, ["0180"])
    outreach = f"{PREFIX}{OUTREACH_EVENTS}"
    assert reader.read(outreach, assigned()) == Signal("0180", str(YOUTH))
    assert str(reader.read(outreach, b"200801011230 is no event")).startswith(
        "message: Invalid JSON"
    )
    assert "200801011230" not in str(reader.read(outreach, b"200801011230 is no event"))
    unknown = json.dumps({**json.loads(assigned()), "event_type": "SomethingNew"}).encode()
    assert "event_type" in str(reader.read(outreach, unknown))
    assert reader.read(outreach, assigned("1480")) == (
        "tenant: not a municipality served by this deployment"
    )
    assert reader.read(outreach, None) == "message: empty value"
    assert str(reader.read(OUTREACH_EVENTS, assigned())).startswith("message: read from a topic")


def test_a_signal_reaches_its_municipalitys_streams_only_and_a_resync_all() -> None:
    hub = LiveHub()
    ours, theirs = hub.connect("0180"), hub.connect("1480")
    hub.publish(Signal("0180", "y"))
    assert ours.queue.get_nowait() == Signal("0180", "y")
    assert theirs.queue.empty()
    hub.publish(RESYNC)
    assert ours.queue.get_nowait() == theirs.queue.get_nowait() == RESYNC
    hub.disconnect(ours)
    hub.disconnect(theirs)
    assert hub.by_tenant == {}


def test_a_page_that_does_not_read_is_dropped_and_the_others_go_on() -> None:
    hub = LiveHub()
    slow, other = hub.connect("0180"), hub.connect("0180")
    for n in range(live.QUEUE_SIZE):
        hub.publish(Signal("0180", str(n)))
        other.queue.get_nowait()
    hub.publish(Signal("0180", "one too many"))
    assert slow.dropped
    assert not other.dropped
    assert hub.connections == 1
    assert hub.dropped == 1
    assert other.queue.get_nowait() == Signal("0180", "one too many")
    hub.publish(Signal("0180", "next"))
    assert other.queue.get_nowait() == Signal("0180", "next")


def test_connections_are_bounded() -> None:
    hub = LiveHub(max_connections=1)
    hub.connect("0180")
    try:
        hub.connect("0180")
    except live.TooManyConnections:
        return
    raise AssertionError("a second connection was taken")


def test_an_identify_event_waits_until_outreach_and_the_register_read_past_it() -> None:
    hub = LiveHub()
    page = hub.connect("0180")
    tp = TopicPartition(f"{PREFIX}{IDENTIFY_EVENTS}", 2)
    offsets = {"probe.kaa.outreach": 8, "probe.kaa.register": 7}
    asked: list[str] = []

    async def committed(group: str, partitions: list[TopicPartition]) -> dict[TopicPartition, int]:
        asked.append(group)
        return {tp: offsets[group]}

    gate = Gate(hub, PREFIX, committed)
    gate.hold(Signal("0180", "y"), tp, offset=7, now=0.0)
    asyncio.run(gate.release(now=0.1))
    assert page.queue.empty()  # the register has not read offset 7 yet
    assert sorted(asked) == ["probe.kaa.outreach", "probe.kaa.register"]
    offsets["probe.kaa.register"] = 8
    asyncio.run(gate.release(now=0.2))
    assert page.queue.get_nowait() == Signal("0180", "y")
    assert gate.held == []


def test_a_held_signal_goes_out_after_the_time_limit_even_when_kafka_does_not_answer() -> None:
    hub = LiveHub()
    page = hub.connect("0180")

    async def unreachable(
        group: str, partitions: list[TopicPartition]
    ) -> dict[TopicPartition, int]:
        raise ConnectionError("no broker")

    gate = Gate(hub, PREFIX, unreachable)
    gate.hold(Signal("0180", "y"), TopicPartition(f"{PREFIX}{IDENTIFY_EVENTS}", 0), 3, now=0.0)
    asyncio.run(gate.release(now=1.0))
    assert page.queue.empty()
    asyncio.run(gate.release(now=live.GATE_SECONDS))
    assert page.queue.get_nowait() == Signal("0180", "y")


def test_the_subscriber_skips_a_bad_message_and_passes_outreach_events_at_once() -> None:
    hub = LiveHub()
    page = hub.connect("0180")
    subscriber = LiveSubscriber("127.0.0.1:1", PREFIX, ["0180"], hub)
    assert subscriber.group_id.startswith("probe.kaa.web.live.")
    assert subscriber.group_id != LiveSubscriber("127.0.0.1:1", PREFIX, ["0180"], hub).group_id
    outreach = TopicPartition(f"{PREFIX}{OUTREACH_EVENTS}", 0)
    subscriber.take(outreach, 1, b"garbage", now=0.0)
    subscriber.take(outreach, 2, assigned(), now=0.0)
    assert subscriber.skipped == 1
    assert page.queue.get_nowait() == Signal("0180", str(YOUTH))
    subscriber.take(TopicPartition(f"{PREFIX}{IDENTIFY_EVENTS}", 0), 3, b"{}", now=0.0)
    assert subscriber.skipped == 2
    assert subscriber.gate.held == []


async def first_lines(lines: AsyncGenerator[str, None], count: int) -> list[str]:
    got = []
    async for line in lines:
        got.append(line)
        if len(got) == count:
            break
    return got


def test_a_stream_sends_changes_close_together_as_one_event_then_heartbeats(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(stream, "HEARTBEAT_SECONDS", 0.05)

    async def scenario() -> tuple[list[str], int]:
        hub = LiveHub()
        page = hub.connect("0180")
        for youth in ("b", "a", "b"):
            hub.publish(Signal("0180", youth))

        async def signed_in() -> bool:
            return True

        lines = stream.events(hub, page, signed_in)
        got = await first_lines(lines, 3)
        await lines.aclose()  # the page went away
        return got, hub.connections

    got, left = asyncio.run(scenario())
    assert got == [
        "retry: 5000\n\n",
        'event: worklists\ndata: {"youths": ["a", "b"]}\n\n',
        ": \n\n",
    ]
    assert left == 0  # its queue went with it


def test_a_stream_ends_when_the_session_does(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stream, "HEARTBEAT_SECONDS", 0.05)

    async def scenario() -> list[str]:
        hub = LiveHub()

        async def signed_out() -> bool:
            return False

        return [line async for line in stream.events(hub, hub.connect("0180"), signed_out)]

    assert asyncio.run(scenario()) == ["retry: 5000\n\n"]


def test_a_busy_stream_still_ends_when_the_session_does(monkeypatch: pytest.MonkeyPatch) -> None:
    # Before: the session was checked only after a quiet heartbeat, so a busy municipality's
    # changes kept reaching a page whose user had signed out.
    monkeypatch.setattr(stream, "HEARTBEAT_SECONDS", 0.05)
    monkeypatch.setattr(stream, "MIN_GAP_SECONDS", 0.0)
    monkeypatch.setattr(stream, "COALESCE_SECONDS", 0.02)

    async def scenario() -> list[str]:
        hub = LiveHub()
        page = hub.connect("0180")
        checks: list[bool] = []

        async def signed_in_once() -> bool:
            checks.append(True)
            return False  # signed out by now

        async def busy() -> None:
            for n in range(200):
                hub.publish(Signal("0180", f"youth-{n}"))
                await asyncio.sleep(0.01)

        feeding = asyncio.create_task(busy())
        got = [line async for line in stream.events(hub, page, signed_in_once)]
        feeding.cancel()
        assert checks, "the session was checked"
        return got

    got = asyncio.run(scenario())
    assert len(got) < 10, "the stream ended soon after the session did"
