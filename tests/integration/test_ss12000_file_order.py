"""The register must not depend on the order one SS 12000 source's files are loaded in: a file
extracted before a newer one that changed nothing, loaded after it, is stale and changes nothing
(`services/identify/adapters/observations.py`). Before, an observation that changed nothing left
no trace, and the older file ended an enrolment the newer one still listed."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import psycopg

from services.identify.commands import IdentifyCommands
from shared.contracts.feeds import FeedInput, Ss12000FeedMessage
from tests.conftest import RunningInfra
from tests.integration.test_feed_order import (
    NOW,
    OBSERVED,
    TODAY,
    fresh,
    hours_before,
    number,
    pid,
    population,
    school,
    scope_events,
    watermark,
)

STUDENT = number(date(2008, 3, 10))  # compulsory school ended 2024-06-30; GY from 2024-08-20
STARTED = date(2024, 8, 20)
LEFT = date(2025, 12, 15)


class Loads:
    """Feed batches, each on its topic's next offset, each followed by a release; the student's
    population record first, its source complete."""

    def __init__(self, app: IdentifyCommands) -> None:
        self.app, self.offsets = app, dict[str, int]()
        self.load("population", population(STUDENT, at=hours_before(5)), watermark("population"))

    def load(self, topic: str, *messages: FeedInput) -> None:
        self.offsets[topic] = self.offsets.get(topic, 0) + len(messages)
        self.app.take_in_feed_batch(list(messages), topic, 0, self.offsets[topic], TODAY, now=NOW)
        self.app.release_pending(TODAY, now=NOW)


def observed(infra: RunningInfra, app: IdentifyCommands) -> list[tuple[Any, ...]]:
    """`source_observations` as stored: person, source, time."""
    with psycopg.connect(infra.database_url) as conn:
        rows = conn.execute(
            f"SELECT person_id, source, observed_at FROM {app.store.schema}.source_observations"  # noqa: S608
        ).fetchall()
    return [(row[0], row[1], row[2]) for row in rows]


def enrolled(at: datetime) -> Ss12000FeedMessage:
    return school(STUDENT, STARTED, at=at)


def left(at: datetime) -> Ss12000FeedMessage:
    return school(STUDENT, STARTED, LEFT, at=at)


def test_an_older_file_loaded_after_a_newer_one_that_changed_nothing_is_stale(
    infra: RunningInfra,
) -> None:
    with fresh(infra, feed_sources=("population", "ss12000")) as app:
        feeds = Loads(app)
        feeds.load("ss12000", enrolled(hours_before(3)))  # file A lists the enrolment
        newer: list[FeedInput] = [enrolled(hours_before(1)), watermark("ss12000")]
        feeds.load("ss12000", *newer)  # file B lists it again: nothing changes
        assert scope_events(app) == [], "enrolled in upper-secondary school: not in scope"
        assert observed(infra, app) == [(pid(STUDENT), "", hours_before(1))], "B changed nothing"
        app.take_in_feed_batch(newer, "ss12000", 0, 3, TODAY, now=NOW)  # delivered again
        assert observed(infra, app) == [(pid(STUDENT), "", hours_before(1))], "B redelivered"
        feeds.load("ss12000", left(hours_before(2)))  # a file extracted between A and B
        assert scope_events(app) == [], "B, newer, still lists the enrolment"
        feeds.load("ss12000", left(OBSERVED))  # a file newer than B: the enrolment ended
        assert scope_events(app) == [(pid(STUDENT), "ScopeEntered", date(2025, 12, 16), None)]


def test_within_one_batch_the_newest_observation_wins_whatever_their_order(
    infra: RunningInfra,
) -> None:
    with fresh(infra, feed_sources=("population", "ss12000")) as app:
        feeds = Loads(app)
        feeds.load(
            "ss12000",
            enrolled(hours_before(3)),
            enrolled(hours_before(1)),
            left(hours_before(2)),
            watermark("ss12000"),
        )
        assert scope_events(app) == [], "B, the newest, lists the enrolment"
