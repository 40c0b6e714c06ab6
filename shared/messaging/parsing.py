"""Turning raw Kafka bytes into a contract model, or into a rejection with a readable reason."""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any, Protocol, TypeVar

from pydantic import ValidationError

from shared.contracts.events import AnyEvent, topic_adapter
from shared.contracts.validation import FastJson, describe
from shared.messaging.consumer import Delivery, Rejected

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


class JsonValidator(Protocol[T_co]):
    """What parses a message: a `TypeAdapter`, or a `FastJson` of one."""

    def validate_json(self, data: bytes) -> T_co: ...


def event_parser(
    topics: Collection[str], namespace: str, served_tenants: Collection[str]
) -> Callable[[Delivery], AnyEvent | Rejected]:
    """Parse an integration event with the events declared for the topic it was read from
    (`contracts.events.EVENTS_BY_TOPIC`); reject as `parser` does."""
    by_topic: dict[str, Callable[[Delivery], AnyEvent | Rejected]] = {}
    for topic in topics:
        # The text checks in Rust (`FastJson`): the same values, the same refusals.
        adapter: FastJson[Any] = FastJson(topic_adapter(topic))
        by_topic[f"{namespace}{topic}"] = parser(adapter, served_tenants)

    def parse(delivery: Delivery) -> AnyEvent | Rejected:
        chosen = by_topic.get(delivery.topic)
        if chosen is None:
            return Rejected("message: read from a topic this consumer does not subscribe to")
        return chosen(delivery)

    return parse


def parser(
    adapter: JsonValidator[T], served_tenants: Collection[str]
) -> Callable[[Delivery], T | Rejected]:
    """Parse a message with `adapter`; reject non-JSON, schema failures and unserved tenants."""
    served = frozenset(served_tenants)

    def parse(delivery: Delivery) -> T | Rejected:
        if delivery.value is None:
            return Rejected("message: empty value")
        try:
            # pydantic reads the JSON itself: one pass, no intermediate Python objects.
            message = adapter.validate_json(delivery.value)
        except ValidationError as exc:
            errors = exc.errors(include_input=False)
            if errors and errors[0]["type"] == "json_invalid":
                return Rejected(f"message: not JSON ({errors[0]['msg']})")
            return Rejected(describe(exc))
        tenant = getattr(message, "tenant", None)
        if tenant not in served:
            return Rejected(f"tenant: {tenant} is not a municipality served by this deployment")
        return message

    return parse
