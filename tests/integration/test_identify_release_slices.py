"""Replicas of identify release the persons who waited for their feeds in different slices at once
(`IdentifyCommands.release_pending`, `shared.eventstore.leases.Slices`), on the real PostgreSQL.

Before, every replica read the same first persons due, and all but one failed on the versions
and tried again: the release ran in one replica at a time however many there were.
"""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

from services.identify.adapters.store import RELEASE_SLICES, IdentifyStore
from services.identify.commands import IdentifyCommands
from services.identify.domain.scope import TenantPolicy
from shared import personnummer
from shared.eventstore import eventsourcing_env
from tests.conftest import RunningInfra
from tests.integration.test_feed_order import (
    NOW,
    RNG,
    TENANT,
    TODAY,
    drop_schema,
    new_schema,
    population,
    scope_events,
    watermark,
)

PERSONS = 120
SETTLED = NOW - timedelta(days=1)  # none has waited the settle window


def replica(schema: str, infra: RunningInfra) -> IdentifyCommands:
    """One identify process's handlers on the shared schema (a store, a pool, a lock connection
    of its own); it waits for the population feed only."""
    return IdentifyCommands(
        IdentifyStore(
            eventsourcing_env(infra.database_url, schema), master_key="slices-master-key"
        ),
        pseudonym_key="slices-key",
        served={TENANT: TenantPolicy(feed_sources=("population",))},
    )


@contextlib.contextmanager
def two_replicas(infra: RunningInfra) -> Iterator[tuple[IdentifyCommands, IdentifyCommands]]:
    """Two replicas, PERSONS youths without upper-secondary school held for the population feed's
    watermark, and the watermark taken: every one of them may be released."""
    schema = new_schema(infra)
    first, second = replica(schema, infra), replica(schema, infra)
    try:
        numbers: set[str] = set()
        while len(numbers) < PERSONS:  # (one birth date has a thousand numbers: draw distinct)
            numbers.add(personnummer.generate(date(2009, 2, 2), RNG))
        idle = [population(number) for number in sorted(numbers)]
        first.take_in_feed_batch(idle, "population", 0, PERSONS, TODAY, now=NOW)
        assert first.store.releasable({TENANT: None}, SETTLED, 10_000) == [], "held"
        first.take_in_feed_batch([watermark("population")], "population", 0, PERSONS + 1, TODAY,
                                 now=NOW)  # fmt: skip
        yield first, second
    finally:
        first.store.close()
        second.store.close()
        drop_schema(infra, schema)


def decided_by(app: IdentifyCommands) -> list[uuid.UUID]:
    """Every person the replica tried to decide (a failed attempt too): `_decide` recorded."""
    tried: list[uuid.UUID] = []
    decide = app._decide

    def recording(person_ids: list[uuid.UUID], *args: Any) -> None:
        tried.extend(person_ids)
        decide(person_ids, *args)

    app._decide = recording  # type: ignore[method-assign,assignment]
    return tried


def slice_of(person: uuid.UUID) -> int:
    return person.int * RELEASE_SLICES >> 128


def test_a_slice_one_replica_holds_is_left_to_it(infra: RunningInfra) -> None:
    with two_replicas(infra) as (first, second):
        holding = first.store.release_slices.held_in_turn()
        held = next(holding)
        others = list(second.store.release_slices.held_in_turn())
        assert sorted(others) == sorted(set(range(RELEASE_SLICES)) - {held})

        tried = decided_by(second)
        left = PERSONS - second.release_pending(TODAY, now=NOW)
        assert tried
        assert {slice_of(p) for p in tried} <= set(others)
        pending = first.store.releasable({TENANT: NOW}, SETTLED, 10_000)
        assert {slice_of(p) for p, _, _ in pending} == {held}, "only the held slice still waits"
        assert len(pending) == left

        holding.close()  # the first replica lets its slice go: the second takes it then
        assert second.release_pending(TODAY, now=NOW) == left
        assert first.store.releasable({TENANT: NOW}, SETTLED, 10_000) == []
        entered = [e for e in scope_events(first) if e[1] == "ScopeEntered"]
        assert len(entered) == PERSONS == len({e[0] for e in entered}), "each once"


def test_two_replicas_release_different_persons_at_once(infra: RunningInfra) -> None:
    with two_replicas(infra) as (first, second):
        tried = {app: decided_by(app) for app in (first, second)}
        counts: dict[IdentifyCommands, int] = {first: 0, second: 0}
        start = threading.Barrier(2)

        def release(app: IdentifyCommands) -> None:
            start.wait()
            while (decided := app.release_pending(TODAY, now=NOW, limit=10)) > 0:
                counts[app] += decided

        threads = [threading.Thread(target=release, args=(app,)) for app in (first, second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not any(thread.is_alive() for thread in threads)

        assert not set(tried[first]) & set(tried[second]), "no person tried by both"
        assert counts[first] + counts[second] == PERSONS
        assert len(tried[first]) + len(tried[second]) == PERSONS, "none tried twice"
        entered = [e for e in scope_events(first) if e[1] == "ScopeEntered"]
        assert len(entered) == PERSONS == len({e[0] for e in entered})
