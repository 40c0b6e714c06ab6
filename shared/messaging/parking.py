"""What a consumer does with a message it cannot apply: apply its batch one message at a time, park
the one that fails on its own, and publish a bad message to the dead-letter topic.

A message is parked by publishing it to the topic's dead-letter topic with its original bytes and
the reason, and handing it to the sink's `park(topic, partition, item, reason, next_offset)` where
it has one (the register keeps it to re-apply after a fix); the position moves past it. A failure
that is the world's (the database or broker unreachable, a serialization failure) is not the
message's: it is raised to be retried, never parked (`failures.py`).

A batch's log lines carry its events' `correlation_id` and `event_type` (`correlation_ids` and
`event_types` when it holds several) and its first and last offset (`traced`).
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.errors import MessageSizeTooLargeError

from shared import metrics
from shared.contracts.topics import dead_letter_topic
from shared.messaging.failures import failure_reason, is_transient

if TYPE_CHECKING:
    from shared.messaging.consumer import BatchSink, Delivery, Parsed

log = structlog.get_logger(__name__)

T = TypeVar("T")

# A batch's log lines name at most this many distinct correlation ids (and how many they left out).
MAX_TRACED = 50


@dataclass
class ParkedCount:
    """What a consumer parked since its process started: for /health and the operator."""

    count: int = 0
    last_reason: str | None = None


@functools.cache
def _may_carry(kind: Any, name: str) -> bool:
    """Whether a message of `kind` can have the attribute `name`. Asking a pydantic model for a
    field it does not have goes through its `__getattr__` and an exception: twice per message of
    every batch of a feed (which carries neither an event type nor a correlation id)."""
    fields = getattr(kind, "model_fields", None)
    return fields is None or name in fields or hasattr(kind, name)


def _attribute(message: Any, name: str) -> Any:
    kind: Any = type(message)
    return getattr(message, name, None) if _may_carry(kind, name) else None


def event_type_of(item: Parsed[Any]) -> str:
    """The event type a log line and the metrics name for a parsed message (its class's name
    when it carries none)."""
    return str(_attribute(item.message, "event_type") or type(item.message).__name__)


def traced(items: Sequence[Parsed[Any]]) -> dict[str, Any]:
    """What a batch's log lines carry about its events: their correlation ids and types (ids and
    codes only); one message's as `correlation_id` and `event_type`."""
    ids = dict.fromkeys(
        str(found)
        for found in (_attribute(item.message, "correlation_id") for item in items)
        if found is not None
    )
    kinds = Counter(event_type_of(item) for item in items)
    fields: dict[str, Any] = {}
    if items:
        fields["offset"] = items[0].delivery.offset
    if len(items) > 1:
        fields["last_offset"] = items[-1].delivery.offset
    if len(kinds) == 1 and len(items) == 1:
        fields["event_type"] = next(iter(kinds))
    elif kinds:
        fields["event_types"] = dict(kinds)
    if len(ids) == 1:
        fields["correlation_id"] = next(iter(ids))
    elif ids:
        fields["correlation_ids"] = list(ids)[:MAX_TRACED]
        if len(ids) > MAX_TRACED:
            fields["correlation_ids_left_out"] = len(ids) - MAX_TRACED
    return fields


async def apply_isolated(
    sink: BatchSink[T],
    topic: str,
    partition: int,
    items: list[Parsed[T]],
    next_offset: int,
    park: Callable[[Parsed[T], str], Awaitable[None]],
) -> None:
    """Apply `items` one at a time, each with its own position; `park(item, reason)` each that
    fails on its own (not because the world did: that raises). The others are applied once (a
    sink ignores what it already applied), and the position ends at `next_offset`."""
    for item in items:
        with structlog.contextvars.bound_contextvars(**traced([item])):
            try:
                await sink.apply(topic, partition, [item], item.delivery.offset + 1)
            except Exception as exc:
                if is_transient(exc):
                    raise
                what = getattr(item.message, "event_type", None) or "the message"
                await park(item, failure_reason(exc, str(what)))
    await sink.apply(topic, partition, [], next_offset)


class Parking(Generic[T]):
    """A consumer's dead-letter topics and its sink's record of what it parked."""

    def __init__(self, sink: BatchSink[T], dead_letters: AIOKafkaProducer, service: str) -> None:
        self.sink = sink
        self.dead_letters = dead_letters
        self.service = service
        self.parked = ParkedCount()
        # The offsets parked since the consumer last cleared it (the batch being applied).
        self.parked_offsets: set[int] = set()

    async def park(self, topic: str, partition: int, item: Parsed[T], reason: str) -> None:
        """Park a message the sink cannot apply: dead-letter topic first (its bytes and reason,
        acknowledged), then the sink's own record of it with the position past it."""
        await self.dead_letter(item.delivery, reason)
        next_offset = item.delivery.offset + 1
        park = getattr(self.sink, "park", None)
        try:
            if park is not None:
                await park(topic, partition, item, reason, next_offset)
            else:
                await self.sink.apply(topic, partition, [], next_offset)
        except Exception as exc:
            if is_transient(exc):
                raise
            # Keeping it failed too: the dead-letter topic has it; the line goes on.
            log.error("keeping a parked message failed; it is on the dead-letter topic",
                      topic=topic, partition=partition, offset=item.delivery.offset,
                      error=type(exc).__name__)  # fmt: skip
            await self.sink.apply(topic, partition, [], next_offset)
        self.parked.count += 1
        self.parked.last_reason = reason
        self.parked_offsets.add(item.delivery.offset)
        log.warning("message parked", reason=reason, **traced([item]))

    async def dead_letter(self, delivery: Delivery, reason: str) -> None:
        """Publish a message to its topic's dead-letter topic as it arrived, with the reason and
        where it came from in headers; returns once the broker acknowledged it."""
        headers = [
            ("kaa.dlq.reason", reason.encode()[:2000]),
            ("kaa.dlq.source.topic", delivery.topic.encode()),
            ("kaa.dlq.source.partition", str(delivery.partition).encode()),
            ("kaa.dlq.source.offset", str(delivery.offset).encode()),
            ("kaa.dlq.service", self.service.encode()),
        ]
        # Original key and value bytes, untouched: an operator can fix and replay them.
        try:
            await self.dead_letters.send_and_wait(
                dead_letter_topic(delivery.topic),
                value=delivery.value,
                key=delivery.key,
                headers=headers,
            )
        except MessageSizeTooLargeError:
            # With the headers it no longer fits: the bytes stay where they were read (the
            # source topic and offset the headers name).
            await self.dead_letters.send_and_wait(
                dead_letter_topic(delivery.topic),
                value=None,
                key=delivery.key,
                headers=[*headers, ("kaa.dlq.value", b"omitted: too large; read it at the source")],
            )
        metrics.dead_letter(delivery.topic, reason)
        log.warning(
            "message dead-lettered",
            topic=delivery.topic,
            partition=delivery.partition,
            offset=delivery.offset,
            reason=reason,
        )
