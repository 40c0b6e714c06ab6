"""Turning raw Kafka bytes into a contract model, or into a rejection with a readable reason."""

from __future__ import annotations

import json
from collections.abc import Callable, Collection
from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError

from shared.contracts.validation import describe
from shared.messaging.consumer import Delivery, Rejected

T = TypeVar("T")


def parser(
    adapter: TypeAdapter[T], served_tenants: Collection[str]
) -> Callable[[Delivery], T | Rejected]:
    """Parse a message with `adapter`; reject non-JSON, schema failures and unserved tenants."""

    def parse(delivery: Delivery) -> T | Rejected:
        if delivery.value is None:
            return Rejected("message: empty value")
        try:
            data: Any = json.loads(delivery.value)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            return Rejected(
                f"message: not JSON ({type(exc).__name__} at position {getattr(exc, 'pos', '?')})"
            )
        try:
            message = adapter.validate_python(data)
        except ValidationError as exc:
            return Rejected(describe(exc))
        tenant = getattr(message, "tenant", None)
        if tenant not in served_tenants:
            return Rejected(f"tenant: {tenant} is not a municipality served by this deployment")
        return message

    return parse
