"""Two identify replicas on one store, as their consumer group shares the feed partitions out: each
releases the persons its own partitions held, and a watermark the other replica took starts its
release (`IdentifyCommands.watermarks_moved`, which the release loop asks every second)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from datetime import date

import psycopg

from services.identify.adapters.store import IdentifyStore
from services.identify.commands import IdentifyCommands
from services.identify.domain.scope import TenantPolicy
from shared.contracts.feeds import FeedWatermark
from shared.eventstore import eventsourcing_env
from shared.pseudonym import person_id, person_key
from tests.conftest import RunningInfra
from tests.integration.test_feed_order import NOW, OBSERVED, TENANT, TODAY, number, population

KEY = "feed-order-key"


@contextlib.contextmanager
def replicas(infra: RunningInfra) -> Iterator[tuple[IdentifyCommands, IdentifyCommands]]:
    """Two replicas of identify (a store each) on one schema, waiting for the population feed."""
    schema = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(infra.database_url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    apps = [
        IdentifyCommands(
            IdentifyStore(
                eventsourcing_env(infra.database_url, schema), master_key="release-replicas-master"
            ),
            pseudonym_key=KEY,
            served={TENANT: TenantPolicy(feed_sources=("population",))},
        )
        for _ in range(2)
    ]
    try:
        yield apps[0], apps[1]
    finally:
        for app in apps:
            app.store.close()
        with psycopg.connect(infra.database_url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def marker() -> FeedWatermark:
    return FeedWatermark(watermark_id=uuid.uuid4(), tenant=TENANT, source="population",
                         complete_up_to=OBSERVED, partitions=2)  # fmt: skip


def decided(app: IdentifyCommands) -> list[uuid.UUID]:
    """The persons whose scope was decided (those entering scope, here all of them), once per
    decision: the replicas share one store, so either one's view is all of them."""
    return sorted(
        uuid.UUID(str(stored.originator_id))
        for stored in app.store.recorder.select_notifications(start=1, limit=10_000)
        if stored.topic.endswith("ScopeEntered")
    )


def test_each_replica_releases_its_own_partitions_persons_on_the_others_watermark(
    infra: RunningInfra,
) -> None:
    first, second = replicas_persons = (
        [number(date(2009, 2, n)) for n in (1, 2, 3)],
        [number(date(2009, 3, n)) for n in (1, 2, 3)],
    )
    with replicas(infra) as (a, b):
        # Replica a reads partition 0 (its half and its marker), b partition 1.
        a.take_in_feed_batch([*map(population, first), marker()], "population", 0, 4, TODAY,
                             now=NOW)  # fmt: skip
        assert a.release_pending(TODAY, now=NOW, partitions={0}) == 0, "partition 1 not complete"
        assert not a.watermarks_moved(), "its own marker: the round read it"
        b.take_in_feed_batch([*map(population, second), marker()], "population", 1, 4, TODAY,
                             now=NOW)  # fmt: skip
        # b took the last marker and releases at once; a learns of it at its next look.
        assert a.watermarks_moved(), "b's marker completed the feed"
        assert a.release_pending(TODAY, now=NOW, partitions={0}) == 3
        assert decided(a) == sorted(person_id(person_key(n, KEY)) for n in first), "a's, not b's"
        assert not a.watermarks_moved(), "nothing new since its round"
        assert b.release_pending(TODAY, now=NOW, partitions={1}) == 3
        assert a.release_pending(TODAY, now=NOW, partitions={0}) == 0, "each person once"
        every = sorted(person_id(person_key(n, KEY)) for half in replicas_persons for n in half)
        assert decided(b) == every, "b then decided its own: every person once"
