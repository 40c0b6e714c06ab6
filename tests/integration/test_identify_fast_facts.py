"""identify's faster fact path (issue 21) gives exactly what the per-record path gave.

A generated municipality is fed twice on the real PostgreSQL, batch by batch with its watermarks,
then a day of changes (moves away, new addresses): once through the library's per-event machinery
with every fact stored in a row of its own (the path before), once through the fast triggers with a
save's facts stored as one `FactsRecorded` (`services/identify/domain/triggers.py`, `facts.py`).
The public events the relay would publish are the same — types, ids, episodes, facts, dates, the
personal details each carries — with the two runs' random youth and episode ids in one-to-one
correspondence; every person read back from the store is the same person; the store holds fewer
rows.
"""

from __future__ import annotations

import contextlib
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from eventsourcing.persistence import IntegrityError
from psycopg import sql
from pydantic import TypeAdapter

from kaa.dev.synthetic_feeds import generate
from services.identify.adapters.outbound import to_integration_event
from services.identify.adapters.store import IdentifyStore
from services.identify.commands import IdentifyCommands
from services.identify.domain import Person, triggers
from services.identify.domain.scope import TenantPolicy
from shared.contracts.envelope import IntegrationEvent
from shared.contracts.events import PersonalDetails
from shared.contracts.feeds import (
    FeedInput,
    FeedWatermark,
    PopulationFeedMessage,
    Ss12000FeedMessage,
)
from shared.crypto import open_sealed
from shared.eventstore import eventsourcing_env
from tests.conftest import RunningInfra

TENANT = "0180"
TODAY = date(2026, 12, 1)
NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
SOURCES = ("population", "ss12000")


def loads(tmp: Path) -> list[list[tuple[str, list[FeedInput]]]]:
    """Day one (SS 12000 then the population register, 300 persons) and day two (a third of the
    persons move away, a third get a new address), each source ending with its watermarks."""
    feeds = generate(300, TENANT, seed=21, out=tmp, today=TODAY)
    school: list[Ss12000FeedMessage] = [TypeAdapter(Ss12000FeedMessage).validate_json(line)
              for line in feeds.ss12000.read_bytes().splitlines()]  # fmt: skip
    people: list[PopulationFeedMessage] = [TypeAdapter(PopulationFeedMessage).validate_json(line)
              for line in feeds.population.read_bytes().splitlines()]  # fmt: skip
    first = max([m.observed_at for m in school] + [m.observed_at for m in people])
    later = first + timedelta(days=1)
    changes: list[FeedInput] = []
    for n, message in enumerate(m for m in people if m.record.change_type == "baseline"):
        if n % 3 == 0:
            record = message.record.model_copy(
                update={"kommunkod": "1480", "change_type": "moved_out",
                        "effective_date": TODAY, "registered_in_municipality_on": None})  # fmt: skip
        elif n % 3 == 1 and message.record.address is not None:
            address = message.record.address.model_copy(update={"street": f"Nygatan {n}"})
            record = message.record.model_copy(
                update={"address": address, "change_type": "address_changed",
                        "effective_date": TODAY})  # fmt: skip
        else:
            continue
        changes.append(message.model_copy(update={"record": record, "observed_at": later,
                                                  "record_id": uuid.uuid4()}))  # fmt: skip
    return [
        [("ss", [*school, mark("ss12000", first)]), ("pop", [*people, mark("population", first)])],
        [("pop", changes), ("ss", [mark("ss12000", later)]), ("pop", [mark("population", later)])],
    ]


def mark(source: str, at: datetime) -> FeedWatermark:
    return FeedWatermark(watermark_id=uuid.uuid4(), tenant=TENANT, source=source,
                         complete_up_to=at, partitions=1)  # fmt: skip


@contextlib.contextmanager
def identify(infra: RunningInfra, *, fast: bool) -> Iterator[IdentifyCommands]:
    schema = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(infra.database_url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    store = IdentifyStore(eventsourcing_env(infra.database_url, schema),
                          master_key="fast-facts-master-key", compact_facts=fast)  # fmt: skip
    app = IdentifyCommands(store, pseudonym_key="fast-facts-key",
                           served={TENANT: TenantPolicy(feed_sources=SOURCES)})  # fmt: skip
    triggers.FAST = fast
    try:
        yield app
    finally:
        triggers.FAST = True
        store.close()
        with psycopg.connect(infra.database_url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def feed(app: IdentifyCommands, days: Sequence[list[tuple[str, list[FeedInput]]]]) -> None:
    """Batches of 100 as the consumer takes them, the release after each batch, a day apart."""
    offsets: dict[str, int] = {}
    for day, loads_of_day in enumerate(days):
        now, today = NOW + timedelta(days=day), TODAY + timedelta(days=day)
        for topic, messages in loads_of_day:
            for start in range(0, len(messages), 100):
                batch = messages[start : start + 100]
                offsets[topic] = offsets.get(topic, 0) + len(batch)
                app.take_in_feed_batch(batch, topic, 0, offsets[topic], today, now=now)
                while app.release_pending(today, now=now) == 2000:
                    pass


def public(app: IdentifyCommands) -> list[dict[str, Any]]:
    """The events the relay would publish, with their personal details opened, each with its
    person and its place among theirs."""
    store, out, made = app.store, [], Counter[Any]()
    for stored in store.recorder.select_notifications(start=1, limit=100_000):
        mapped = to_integration_event(store.mapper.to_domain_event(stored))
        events = [mapped] if isinstance(mapped, IntegrationEvent) else mapped or []
        for event in events:
            # Which person's how-manieth public event: the same in both runs.
            made[stored.originator_id] += 1
            data: dict[str, Any] = {"person": stored.originator_id, "n": made[stored.originator_id]}
            data |= event.model_dump()
            sealed = data.pop("personal_details", None)
            if sealed is not None:
                store.load_data_keys([(data["tenant"], data["youth_id"])])
                key = store.batch_keys[(data["tenant"], data["youth_id"])]
                data["personal_details"] = open_sealed(
                    key, sealed, data["tenant"], data["youth_id"], PersonalDetails.PURPOSE
                )
            out.append(data)
    return out


def same_ids(before: list[dict[str, Any]], now: list[dict[str, Any]], field: str) -> None:
    """The field's random ids correspond one to one; then each side's are replaced by one name."""
    pairs = {(b[field], n[field]) for b, n in zip(before, now, strict=True) if field in b}
    assert len({b for b, _ in pairs}) == len({n for _, n in pairs}) == len(pairs)
    for b, n in zip(before, now, strict=True):
        if field in b:
            b[field] = n[field] = f"{field}-{sorted(pairs, key=str).index((b[field], n[field]))}"


def persons(infra: RunningInfra, app: IdentifyCommands) -> dict[uuid.UUID, dict[str, Any]]:
    """Every person read back by a store that never held them, without their random ids,
    sealed details (compared opened, in the public events) and version (fewer events now)."""
    schema = app.store.schema
    with psycopg.connect(infra.database_url) as conn:
        ids = [r[0] for r in conn.execute(sql.SQL("SELECT DISTINCT originator_id FROM {}").format(
            sql.Identifier(schema, "identifyapplication_events")))]  # fmt: skip
    reader = IdentifyStore(
        eventsourcing_env(infra.database_url, schema), master_key="fast-facts-master-key"
    )
    try:
        cache: dict[uuid.UUID, Any] = {}
        reader.preload(ids, cache)
    finally:
        reader.close()
    out = {}
    for person_id, person in cache.items():
        known = {k: v for k, v in vars(person).items()
                 if k not in ("_pending_events", "_created_on", "_modified_on", "personal_details",
                              "_facts_at_version", "youth_ids", "open_episodes", "scope_episodes",
                              "_version")}  # fmt: skip
        known["youth_ids"] = sorted(person.youth_ids)
        known["open_episodes"] = sorted(person.open_episodes)
        known["scope_episodes"] = sorted(
            (e.tenant, e.entered_on, e.rule_version, e.left_on, e.left_reason)
            for e in person.scope_episodes.values()
        )
        known["personal_details"] = sorted(person.personal_details)
        out[person_id] = known
    return out


def stored_rows(infra: RunningInfra, app: IdentifyCommands) -> tuple[int, int]:
    """How many events are stored, and how many persons' versions have a gap (none may: a
    writer on a stale version must fail on the next one)."""
    with psycopg.connect(infra.database_url) as conn:
        row = conn.execute(
            sql.SQL(
                "SELECT sum(n), count(*) FILTER (WHERE n <> top) FROM (SELECT count(*) AS n, "
                "max(originator_version) AS top FROM {} GROUP BY originator_id) p"
            ).format(sql.Identifier(app.store.schema, "identifyapplication_events"))
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def test_the_fast_path_publishes_and_stores_what_the_per_record_path_did(
    infra: RunningInfra, tmp_path: Path
) -> None:
    days = loads(tmp_path)
    outcome = {}
    for fast in (False, True):
        with identify(infra, fast=fast) as app:
            feed(app, days)
            events = sorted(public(app), key=lambda e: (str(e["person"]), e["n"]))
            outcome[fast] = (events, persons(infra, app), stored_rows(infra, app))
    (before, persons_before, (rows_before, gaps_before)) = outcome[False]
    (now, persons_now, (rows_now, gaps_now)) = outcome[True]
    assert len(before) == len(now) > 50
    kinds = {"YouthIdentified", "YouthLeftScope", "PersonalDetailsRecorded"}
    assert {e["event_type"] for e in now} == kinds
    for field in ("event_id", "youth_id", "scope_episode_id"):
        same_ids(before, now, field)
    for event in (*before, *now):  # when it was recorded; the release round's id
        for varying in ("recorded_at", "correlation_id", "causation_id"):
            event.pop(varying, None)
        if event["event_type"] == "PersonalDetailsRecorded":
            event.pop("occurred_at")  # the time the details were recorded
    assert before == now
    assert persons_before == persons_now
    assert len(persons_now) == 300
    assert rows_now < rows_before * 0.8
    assert gaps_before == gaps_now == 0


BORN = date(2007, 5, 1)


def read_afresh(infra: RunningInfra, schema: str, person_id: uuid.UUID) -> Any:
    """The person as a store that never held them reads them from the events."""
    reader = IdentifyStore(eventsourcing_env(infra.database_url, schema),
                           master_key="fast-facts-master-key")  # fmt: skip
    try:
        found: dict[uuid.UUID, Any] = {}
        reader.preload([person_id], found)
        return found[person_id]
    finally:
        reader.close()


def population(person: Person, change: str, digest: str) -> None:
    """A population record of the person (born BORN), as the feed would have it."""
    person.record_population(
        kommunkod=TENANT, birth_date=BORN, protected=False, change_type=change,
        effective_date=TODAY, observed_at=NOW, registered_in_sweden_on=None,
        record_id=uuid.uuid4(), tenant=TENANT, details_digest=digest, seal=lambda _: "s",
    )  # fmt: skip


def test_a_writer_on_a_stale_version_fails_whether_it_saves_one_fact_or_several(
    infra: RunningInfra,
) -> None:
    """Two replicas hold the same person; one saves two facts (one `FactsRecorded`), the other,
    on the version it read before, one fact: the second must fail on its version and leave the
    person as the first saved them. Had the held facts kept the version of their last, the lone
    event would have landed on the version in between and the person could not be read again."""
    born, key = BORN, "stale-writer-key"
    with identify(infra, fast=True) as first:
        first.store.save_tracked([first.store.person(key, {})], None, 0, 0)
        other = IdentifyStore(eventsourcing_env(infra.database_url, first.store.schema),
                              master_key="fast-facts-master-key")  # fmt: skip
        try:
            mine, theirs = first.store.person(key, {}), other.person(key, {})
            assert mine.version == theirs.version == 1
            population(mine, "baseline", "d1")
            population(mine, "address_changed", "d2")
            first.store.save_tracked([mine], None, 0, 0)
            theirs.record_completion("studiebevis", date(2026, 6, 1), born, uuid.uuid4())
            with pytest.raises(IntegrityError):
                other.save_tracked([theirs], None, 0, 0)
        finally:
            other.close()
        stored = read_afresh(infra, first.store.schema, mine.id)
        assert stored.version == 2
        assert stored.completions == ()
        assert stored.registrations == mine.registrations


def test_a_replica_holding_the_person_takes_the_facts_saved_since_where_it_holds_them(
    infra: RunningInfra,
) -> None:
    """A batch's load brings a person held in memory up to date with what another replica saved
    since (one `FactsRecorded` holding two facts): applied to the very object held, the same
    person a store that never held them reads."""
    key = "catch-up-key"
    with identify(infra, fast=True) as first:
        held = first.store.person(key, {})
        first.store.save_tracked([held], None, 0, 0)  # held in first's memory from here on
        other = IdentifyStore(eventsourcing_env(infra.database_url, first.store.schema),
                              master_key="fast-facts-master-key")  # fmt: skip
        try:
            theirs = other.person(key, {})
            population(theirs, "baseline", "d1")
            population(theirs, "address_changed", "d2")
            other.save_tracked([theirs], None, 0, 0)
        finally:
            other.close()
        cache: dict[uuid.UUID, Any] = {}
        first.store.preload([held.id], cache, verify=True)
        fresh = read_afresh(infra, first.store.schema, held.id)
    assert cache[held.id] is held
    assert held.version == fresh.version == theirs.version == 2
    assert held.registrations == fresh.registrations == theirs.registrations
    assert [r.change_type for r in held.registrations] == ["address_changed"]  # the later fact
    assert held.details_digests == fresh.details_digests == {TENANT: "d2"}
