"""Turning raw Kafka bytes into a contract model, or into a rejection with a readable reason."""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import TypeVar

from pydantic import TypeAdapter, ValidationError

from shared.contracts.validation import describe
from shared.messaging.consumer import Delivery, Rejected

T = TypeVar("T")


def parser(
    adapter: TypeAdapter[T], served_tenants: Collection[str]
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
