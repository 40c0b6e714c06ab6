"""The register must not depend on the order the feed topics are read in (issue: feeds in any order).

One municipality's facts are delivered across the three feed topics, each followed by its
watermark, in arbitrary interleavings and batch sizes; identify on the real PostgreSQL must open
and close the same scope episodes every time. On the old code (each record decided as it was
read) the youth who left compulsory school in June 2024 and started a national programme in
August got an episode 2024-07-01 → 2024-08-20 when the population feed was read first, and none
when SS 12000 was.
"""

from __future__ import annotations

import contextlib
import random
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.identify.adapters.pending import WatermarkRefused, Watermarks
from services.identify.adapters.store import IdentifyStore
from services.identify.commands import IdentifyCommands
from services.identify.domain.scope import TenantPolicy
from shared import personnummer
from shared.contracts.feeds import (
    CivicNo,
    CompletionFeedMessage,
    CompletionRecord,
    Enrolment,
    FeedInput,
    FeedWatermark,
    ObjectReference,
    PopulationFeedMessage,
    PopulationRecord,
    Ss12000FeedMessage,
    Ss12000Person,
)
from shared.eventstore import eventsourcing_env
from shared.pseudonym import person_id, person_key
from tests.conftest import RunningInfra

TENANT = "0180"
TODAY = date(2026, 3, 2)
NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)
OBSERVED = datetime(2026, 3, 1, 6, tzinfo=UTC)
SOURCES = ("population", "ss12000", "completions")
RNG = random.Random(14)


def number(born: date) -> str:
    return personnummer.generate(born, RNG)


# The persons: the youth, a dropout, a mover, a graduate, a youth elsewhere, one idle.
SUMMER = number(date(2008, 3, 10))  # compulsory school ended 2024-06-30; GY from 2024-08-20
DROPOUT = number(date(2008, 9, 1))  # GY ended 2025-12-15
MOVER = number(date(2008, 5, 5))  # idle, moved to Göteborg 2026-02-01
GRADUATE = number(date(2006, 4, 4))  # gymnasieexamen 2025-06-10
ELSEWHERE = number(date(2008, 1, 1))  # enrolled here, folkbokförd in another municipality
IDLE = number(date(2009, 2, 2))  # never started upper-secondary school


def population(
    who: str,
    *,
    change: str = "baseline",
    kommun: str = TENANT,
    effective: date = date(2026, 3, 1),
    at: datetime = OBSERVED,
) -> PopulationFeedMessage:
    return PopulationFeedMessage(
        record_id=uuid.uuid4(), tenant=TENANT, observed_at=at,
        record=PopulationRecord(
            personnummer=who, given_name="A", family_name="B", kommunkod=kommun,
            birth_date=personnummer.birth_date(who), change_type=change, effective_date=effective,
        ),
    )  # fmt: skip


def school(
    who: str, start: date, end: date | None = None, at: datetime = OBSERVED
) -> Ss12000FeedMessage:
    return Ss12000FeedMessage(
        record_id=uuid.uuid4(), tenant=TENANT, observed_at=at,
        person=Ss12000Person(
            id=str(uuid.uuid4()), civicNo=CivicNo(value=who),
            enrolments=[Enrolment(enroledAt=ObjectReference(id="unit-1"), schoolType="GY",
                                  startDate=start, endDate=end)],
        ),
    )  # fmt: skip


def completion(who: str, on: date, at: datetime = OBSERVED) -> CompletionFeedMessage:
    return CompletionFeedMessage(
        record_id=uuid.uuid4(),
        tenant=TENANT,
        observed_at=at,
        completion=CompletionRecord(
            personnummer=who, kind="gymnasieexamen", completed_on=on, source="betygsdatabasen"
        ),
    )


def watermark(source: str) -> FeedWatermark:
    return FeedWatermark(
        watermark_id=uuid.uuid4(), tenant=TENANT, source=source, complete_up_to=OBSERVED,
        partitions=1,
    )  # fmt: skip


def hours_before(n: float) -> datetime:
    return OBSERVED - timedelta(hours=n)


# Each source's records observed at their own times; its watermark says complete up to its
# extraction (OBSERVED). The dropout's school first says enrolled, then (later) that it ended.
STREAMS: dict[str, list[FeedInput]] = {
    "population": [
        population(SUMMER, at=hours_before(5)), population(DROPOUT, at=hours_before(5)),
        population(MOVER, effective=date(2026, 1, 1), at=hours_before(5)),
        population(GRADUATE, at=hours_before(5)), population(IDLE, at=hours_before(4)),
        population(MOVER, change="moved_out", kommun="1480", effective=date(2026, 2, 1)),
        watermark("population"),
    ],
    "ss12000": [
        school(SUMMER, date(2024, 8, 20), at=hours_before(3)),
        school(DROPOUT, date(2024, 8, 20), at=hours_before(3)),
        school(ELSEWHERE, date(2024, 8, 20), at=hours_before(3)),
        school(GRADUATE, date(2022, 8, 20), date(2025, 6, 10), at=hours_before(3)),
        school(DROPOUT, date(2024, 8, 20), date(2025, 12, 15), at=hours_before(1)),
        watermark("ss12000"),
    ],
    "completions": [
        completion(GRADUATE, date(2025, 6, 10), at=hours_before(24)), watermark("completions")
    ],
}  # fmt: skip


def pid(who: str) -> uuid.UUID:
    return person_id(person_key(who, "feed-order-key"))


def new_schema(infra: RunningInfra) -> str:
    name = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(infra.database_url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
    return name


def drop_schema(infra: RunningInfra, name: str) -> None:
    with psycopg.connect(infra.database_url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {name} CASCADE")


@contextlib.contextmanager
def fresh(infra: RunningInfra, **policy: Any) -> Iterator[IdentifyCommands]:
    """Identify on a schema of its own, dropped afterwards; `policy` overrides the municipality's
    (by default it waits for all three sources)."""
    schema = new_schema(infra)
    app = IdentifyCommands(
        IdentifyStore(
            eventsourcing_env(infra.database_url, schema), master_key="feed-order-master-key"
        ),
        pseudonym_key="feed-order-key",
        served={TENANT: TenantPolicy(**({"feed_sources": SOURCES} | policy))},
    )
    try:
        yield app
    finally:
        app.store.close()
        drop_schema(infra, schema)


def scope_events(app: IdentifyCommands) -> list[tuple[Any, ...]]:
    """The scope episodes opened and closed, per person, without the random ids."""
    out = []
    for stored in app.store.recorder.select_notifications(start=1, limit=10_000):
        event: Any = app.store.mapper.to_domain_event(stored)
        kind = type(event).__name__
        if kind == "ScopeEntered":
            out.append((event.originator_id, kind, event.entered_on, None))
        elif kind == "ScopeLeft":
            out.append((event.originator_id, kind, event.left_on, event.reason))
    return sorted(out, key=repr)


def deliver(app: IdentifyCommands, order: list[tuple[str, int]]) -> list[tuple[Any, ...]]:
    """Deliver (stream, batch size) steps; the release runs after every batch, as its loop may."""
    offsets = dict.fromkeys(STREAMS, 0)
    for stream, size in order:
        start = offsets[stream]
        batch = STREAMS[stream][start : start + size]
        if not batch:
            continue
        offsets[stream] = start + len(batch)
        app.take_in_feed_batch(batch, stream, 0, offsets[stream], TODAY, now=NOW)
        app.release_pending(TODAY, now=NOW)
    for stream, at in offsets.items():  # whatever the drawn order left
        if at < len(STREAMS[stream]):
            app.take_in_feed_batch(STREAMS[stream][at:], stream, 0, len(STREAMS[stream]), TODAY,
                                   now=NOW)  # fmt: skip
            app.release_pending(TODAY, now=NOW)
    return scope_events(app)


def in_source_order() -> list[tuple[str, int]]:
    return [(stream, len(messages)) for stream, messages in STREAMS.items()]


@pytest.fixture(scope="module")
def expected(infra: RunningInfra) -> list[tuple[Any, ...]]:
    with fresh(infra) as app:
        events = deliver(app, in_source_order())
        # What the law says on 2026-03-02, whatever the order: the dropout and the idle youth
        # are in scope; the summer youth, the mover, the graduate and the one elsewhere are not.
        assert events == sorted(
            [
                (pid(DROPOUT), "ScopeEntered", date(2025, 12, 16), None),
                (pid(IDLE), "ScopeEntered", date(2025, 7, 1), None),
            ],
            key=repr,
        )
        return events


steps = st.lists(
    st.tuples(st.sampled_from(sorted(STREAMS)), st.integers(min_value=1, max_value=4)),
    min_size=1,
    max_size=16,
)


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(order=steps)
def test_any_interleaving_of_the_feeds_gives_the_same_episodes(
    infra: RunningInfra, expected: list[tuple[Any, ...]], order: list[tuple[str, int]]
) -> None:
    with fresh(infra) as app:
        assert deliver(app, order) == expected


def test_population_first_no_longer_opens_an_episode_nobody_could_act_on(
    infra: RunningInfra, expected: list[tuple[Any, ...]]
) -> None:
    """The issue's two orders, named: population before SS 12000 and the reverse."""
    for first in ("population", "ss12000"):
        with fresh(infra) as app:
            order = [(first, 99), *((s, 99) for s in STREAMS if s != first)]
            assert deliver(app, order) == expected, first


def test_a_silent_source_holds_a_person_only_for_the_settle_window(infra: RunningInfra) -> None:
    with fresh(infra) as app:
        app.take_in_feed_batch(STREAMS["population"], "population", 0, 7, TODAY, now=NOW)
        assert app.release_pending(TODAY, now=NOW) == 0, "ss12000 and completions are silent"
        assert scope_events(app) == []
        waiting = app.waiting(pid(IDLE), TENANT)
        assert waiting is not None
        assert waiting.waiting_for == ["ss12000", "completions"]
        assert app.run_schedule(date(2026, 12, 31)) == 0, "the schedule leaves pending persons"
        later = NOW + timedelta(days=1)
        assert app.release_pending(TODAY, now=later) == 5, "decided once the window has passed"
        # On the population alone: all but the mover are in scope (nothing says otherwise).
        assert [e[1] for e in scope_events(app)] == ["ScopeEntered"] * 4
        assert app.release_pending(TODAY, now=later) == 0, "and only once"


def test_a_municipality_without_ss12000_is_decided_on_its_population_watermark(
    infra: RunningInfra,
) -> None:
    with fresh(infra, feed_sources=("population",)) as app:
        app.take_in_feed_batch(STREAMS["population"][:-1], "population", 0, 6, TODAY, now=NOW)
        assert scope_events(app) == []
        assert app.release_pending(TODAY, now=NOW) == 0
        app.take_in_feed_batch(STREAMS["population"][-1:], "population", 0, 7, TODAY, now=NOW)
        assert app.release_pending(TODAY, now=NOW) == 5
        assert [e[1] for e in scope_events(app)] == ["ScopeEntered"] * 4
        # Once complete, a record the watermark covers is decided as it is read.
        late = population(number(date(2009, 6, 6)))
        app.take_in_feed_batch([late], "population", 0, 8, TODAY, now=NOW)
        assert app.release_pending(TODAY, now=NOW) == 0
        assert [e[1] for e in scope_events(app)] == ["ScopeEntered"] * 5


def test_watermarks_refuse_going_backwards_and_wait_for_every_partition() -> None:
    marks = Watermarks()
    first = FeedWatermark(
        watermark_id=uuid.uuid4(), tenant=TENANT, source="population",
        complete_up_to=OBSERVED, partitions=2,
    )  # fmt: skip
    assert marks.take(first, 0)
    assert marks.complete(TENANT, ["population"]) is None, "partition 1 has not reported"
    assert marks.take(first, 1)
    assert marks.complete(TENANT, ["population"]) == OBSERVED
    assert not marks.take(first, 1), "a repeat says nothing new"
    earlier = first.model_copy(update={"complete_up_to": OBSERVED - timedelta(hours=1)})
    with pytest.raises(WatermarkRefused, match="complete_up_to"):
        marks.take(earlier, 0)
    with pytest.raises(WatermarkRefused, match="partitions"):
        marks.take(first, 2)
    assert marks.complete(TENANT, ["population", "ss12000"]) is None
    assert marks.waiting_for(TENANT, ["population", "ss12000"], OBSERVED) == ["ss12000"]


def test_an_episode_found_late_after_go_live_is_recorded_with_its_real_dates(
    infra: RunningInfra,
) -> None:
    """Go-live 2026-01-01. A youth out of compulsory school since 2025-07-01 started a national
    programme on 2026-02-01, and kaa learns both on 2026-03-02: the episode happened after go-live,
    so it is recorded, entered and left with its real dates. One whose episode ended before
    go-live gets none."""
    late, before = number(date(2009, 2, 2)), number(date(2009, 3, 3))
    with fresh(infra, go_live=date(2026, 1, 1), feed_sources=SOURCES[:2]) as app:
        assert app.start_go_live(TODAY) == {TENANT: date(2026, 1, 1)}
        batch: list[FeedInput] = [
            population(late), school(late, date(2026, 2, 1)),
            population(before), school(before, date(2025, 12, 1)),
            watermark("population"), watermark("ss12000"),
        ]  # fmt: skip
        app.take_in_feed_batch(batch, "feeds", 0, 6, TODAY, now=NOW)
        assert app.release_pending(TODAY, now=NOW) == 2
        assert scope_events(app) == [
            (pid(late), "ScopeEntered", date(2025, 7, 1), None),
            (pid(late), "ScopeLeft", date(2026, 2, 1), "enrolled"),
        ]
        [entered] = [
            e for e in (app.store.mapper.to_domain_event(n) for n in
                        app.store.recorder.select_notifications(start=1, limit=100))
            if type(e).__name__ == "ScopeEntered"
        ]  # fmt: skip
        assert entered.identified_on == TODAY  # type: ignore[attr-defined]
        # Seen again (a repeat, the schedule): nothing more.
        app.take_in_feed_batch([population(late, effective=date(2026, 3, 2))], "feeds", 0, 7,
                               TODAY, now=NOW)  # fmt: skip
        app.release_pending(TODAY, now=NOW)
        app.run_schedule(date(2026, 12, 31))
        assert len(scope_events(app)) == 2


def test_without_a_go_live_setting_the_first_run_is_the_go_live(infra: RunningInfra) -> None:
    with fresh(infra) as app:
        assert app.start_go_live(TODAY) == {TENANT: TODAY}
        assert app.start_go_live(TODAY + timedelta(days=30)) == {TENANT: TODAY}, "kept"


def test_a_watermark_is_checked_against_its_topic_and_the_clock() -> None:
    marks = Watermarks()
    marker = FeedWatermark(
        watermark_id=uuid.uuid4(), tenant=TENANT, source="ss12000",
        complete_up_to=OBSERVED, partitions=3,
    )  # fmt: skip
    with pytest.raises(WatermarkRefused, match="partitions: the topic has 6"):
        marks.take(marker, 0, feed="ss12000", partitions=6, now=NOW)
    with pytest.raises(WatermarkRefused, match="source: a marker on the population topic"):
        marks.take(marker, 0, feed="population", partitions=3, now=NOW)
    with pytest.raises(WatermarkRefused, match="complete_up_to: lies in the future"):
        marks.take(marker, 0, feed="ss12000", partitions=3, now=OBSERVED - timedelta(days=1))
    organiser = marker.model_copy(update={"source": "ss12000:friskolan"})
    assert marks.take(organiser, 0, feed="ss12000", partitions=3, now=NOW), "an organiser's own"
    assert marks.take(marker, 0, feed="ss12000", partitions=3, now=NOW)
    assert marks.marks == {
        (TENANT, "ss12000:friskolan"): {0: (3, OBSERVED)},
        (TENANT, "ss12000"): {0: (3, OBSERVED)},
    }, "nothing refused was taken"


def test_a_record_observed_far_ahead_waits_and_is_explained_without_failing(
    infra: RunningInfra,
) -> None:
    """An `observed_at` at the end of year 9999 west of Greenwich is past year 10,000 in UTC: the
    person waits (no watermark may claim the future) and explaining them must not fail."""
    ahead = datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-5)))
    with fresh(infra) as app:
        app.take_in_feed_batch([population(IDLE, at=ahead)], "population", 0, 1, TODAY, now=NOW)
        waiting = app.waiting(pid(IDLE), TENANT)
        assert waiting is not None
        assert waiting.facts_observed_at <= NOW + timedelta(hours=1)
        assert app.release_pending(TODAY, now=NOW) == 0
        assert app.release_pending(TODAY, now=NOW + timedelta(days=1)) == 1, "the settle window"
