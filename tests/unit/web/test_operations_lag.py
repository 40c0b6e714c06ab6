"""The numbers the operator's page reads of Kafka and the outboxes (`shared/messaging/lag.py`):
a partition's lag, and the outbox read refusing a service that has no relay."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from shared.messaging.lag import RELAYING, OutboxLag, PartitionLag, outbox_lag


def test_a_partition_without_a_commit_has_all_of_it_before_it() -> None:
    assert PartitionLag("register", "kaa.register", "t", 0, None, 7).lag == 7
    assert PartitionLag("register", "kaa.register", "t", 0, 5, 7).lag == 2
    assert PartitionLag("register", "kaa.register", "t", 0, 9, 7).lag == 0  # never negative


class Connection:
    """Answers the outbox reads from a script: identify's tables exist, outreach's do not."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def fetchval(self, query: str, *args: Any) -> Any:
        self.asked.append(query)
        if "to_regclass" in query:
            return args[0].startswith("identify.")
        if "count(*)" in query:
            return 14
        return 600 if "tracking" in query else 614


def test_the_outbox_lag_is_read_from_the_relays_position_and_skips_a_missing_store() -> None:
    connection = Connection()
    found = asyncio.run(outbox_lag(connection, ["identify", "outreach"]))  # type: ignore[arg-type]
    assert found == [OutboxLag("identify", 614, 600, 14)]
    assert all('"identify"' in q or "to_regclass" in q for q in connection.asked)


def test_only_the_relaying_services_are_read() -> None:
    assert set(RELAYING) == {"identify", "outreach", "measures"}
    with pytest.raises(ValueError, match="services: 'register' has no outbox relay"):
        asyncio.run(outbox_lag(Connection(), ["register"]))  # type: ignore[arg-type]
