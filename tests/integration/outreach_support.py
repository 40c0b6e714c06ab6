"""The outreach service's store on the real PostgreSQL, without HTTP or Kafka: a fresh schema per
test, identify's and the measures service's events handed in as their consumer would, and the
use cases (`OutreachHandlers`) called directly on any day."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import asyncpg
import psycopg
import pytest

from services.outreach.adapters.store import OutreachApplication
from services.outreach.commands import OutreachHandlers, take_in_measures_batch
from shared import access_log
from shared.casework.commands import Actor, CaseClock, CaseRuntime, take_in_identify_batch
from shared.contracts.events import (
    FollowUpCompleted,
    FollowUpScheduled,
    SchoolNotificationReceived,
    YouthIdentified,
    YouthLeftScope,
)
from shared.crypto import KEYRING_DDL, TenantKeys
from shared.eventstore import eventsourcing_env
from tests.conftest import RunningInfra

TENANT = "0180"
ANNA = Actor(TENANT, "user:anna")
MASTER_KEY = "integration-master-key-0123456789"
NOW = datetime(2026, 3, 2, 8, tzinfo=UTC)


def envelope(youth: uuid.UUID, tenant: str = TENANT, actor: str = "system:identify") -> Any:
    return {"event_id": uuid.uuid4(), "tenant": tenant, "youth_id": youth, "occurred_at": NOW,
            "recorded_at": NOW, "actor": actor, "correlation_id": uuid.uuid4()}  # fmt: skip


@dataclass
class Outreach:
    application: OutreachApplication
    runtime: CaseRuntime[OutreachApplication]
    schema: str
    pool: asyncpg.Pool
    episodes: dict[uuid.UUID, uuid.UUID] = field(default_factory=dict)
    offsets: dict[str, int] = field(default_factory=dict)

    def on(self, today: date) -> OutreachHandlers:
        """The use cases as they run on `today`."""
        return OutreachHandlers(self.runtime, CaseClock(today))

    def _take(self, topic: str, messages: list[Any]) -> None:
        offset = self.offsets.get(topic, 0) + len(messages)
        self.offsets[topic] = offset
        if topic == "identify":
            take_in_identify_batch(self.application, messages, topic, 0, offset)
        else:
            take_in_measures_batch(self.application, messages, topic, 0, offset)

    def identify(
        self,
        entered_on: date = date(2026, 1, 15),
        identified_on: date | None = None,
        scope_ends_on: date = date(2027, 5, 1),
        tenant: str = TENANT,
    ) -> uuid.UUID:
        """A new youth in scope, as identify reports it; the youth's id."""
        youth, episode = uuid.uuid4(), uuid.uuid4()
        self.episodes[youth] = episode
        self._take("identify", [YouthIdentified(
            **envelope(youth, tenant), scope_episode_id=episode, entered_on=entered_on,
            scope_ends_on=scope_ends_on, rule_version="r", facts={}, identified_on=identified_on,
        )])  # fmt: skip
        return youth

    def leave(self, youth: uuid.UUID, left_on: date, reason: str = "moved_out") -> None:
        self._take("identify", [YouthLeftScope(
            **envelope(youth), scope_episode_id=self.episodes[youth], left_on=left_on,
            reason=reason, rule_version="r",
        )])  # fmt: skip

    def report(self, youth: uuid.UUID, kind: str, on: date, received_on: date) -> None:
        """A school's notification about the youth (a leaver, an absence)."""
        self._take("identify", [SchoolNotificationReceived(
            **envelope(youth), notification_id=uuid.uuid4(), kind=kind, on=on, school_type="GY",
            school_unit="unit-1", received_on=received_on,
        )])  # fmt: skip

    def follow_up(
        self, youth: uuid.UUID, due_on: date, subject: str = "plan_follow_up"
    ) -> uuid.UUID:
        follow_up_id = uuid.uuid4()
        self._take("measures", [FollowUpScheduled(
            **envelope(youth, actor="user:anna"), follow_up_id=follow_up_id, subject=subject,
            due_on=due_on,
        )])  # fmt: skip
        return follow_up_id

    def complete(self, youth: uuid.UUID, follow_up_id: uuid.UUID, on: date) -> None:
        self._take("measures", [FollowUpCompleted(
            **envelope(youth, actor="user:anna"), follow_up_id=follow_up_id, completed_on=on,
        )])  # fmt: skip

    async def row(self, youth: uuid.UUID) -> asyncpg.Record | None:
        return await self.pool.fetchrow(
            f'SELECT * FROM "{self.schema}".cases WHERE youth_id = $1',  # noqa: S608
            youth,
        )


@pytest.fixture
async def outreach(infra: RunningInfra) -> AsyncIterator[Outreach]:
    schema = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(infra.database_url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    application = OutreachApplication(eventsourcing_env(infra.database_url, schema))
    application.tenant_keys = TenantKeys(MASTER_KEY)
    pool = await asyncpg.create_pool(infra.database_url, min_size=1, max_size=4)
    await access_log.create(pool)
    await pool.execute(KEYRING_DDL)
    runtime = CaseRuntime[OutreachApplication]()
    runtime.start(application, pool, schema)
    try:
        yield Outreach(application, runtime, schema, pool)
    finally:
        await pool.close()
        application.close()
        with psycopg.connect(infra.database_url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")
