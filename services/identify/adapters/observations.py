"""When each SS 12000 source last observed a person, where the person's events do not say it.

An observation that changes nothing records no event (a daily full extract would otherwise make an
event per student per day), so a person's events know a source's last observation that changed
something. Without more, a source's older file loaded after a newer one that changed nothing was
taken as newer than what was known and overwrote it: file A (t1) lists an enrolment, file B (t2)
lists it again, a late file (t1.5) without it ended the enrolment although B, newer, still had it.

`source_observations` keeps, per person and source, the time of the newest observation that changed
nothing (one row each, written in the batch's transaction with its position); a record of the
source observed no later than it, or than the person's events say, is stale and changes nothing.
The row holds no direct identifier: the person's pseudonymous id (personal data all the same,
pseudonymised, kept as long as the person's events), the organiser's id and a time.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from psycopg import sql

from services.identify.adapters.pending import statement
from shared.contracts.feeds import FeedMessage, Ss12000FeedMessage

DDL = (
    "CREATE TABLE IF NOT EXISTS {schema}.source_observations (person_id uuid, source text, "
    "observed_at timestamptz NOT NULL, PRIMARY KEY (person_id, source))",
)
SELECT = """
SELECT o.person_id, o.source, o.observed_at FROM {schema}.source_observations o
JOIN unnest(%b::uuid[], %b::text[]) AS w(person_id, source)
  ON o.person_id = w.person_id AND o.source = w.source
"""
UPSERT = """
INSERT INTO {schema}.source_observations (person_id, source, observed_at)
SELECT * FROM unnest(%b::uuid[], %b::text[], %b::timestamptz[])
ON CONFLICT (person_id, source) DO UPDATE SET
    observed_at = GREATEST({schema}.source_observations.observed_at, EXCLUDED.observed_at)
"""

Key = tuple[uuid.UUID, str]


def source_key(source: str | None) -> str:
    """A source's key: the organiser's id, "" for the feed's files (before there were organisers),
    as the person's events key it."""
    return source or ""


@dataclass
class SourceObservations:
    """A feed batch's view of `source_observations`: the rows read for its persons, and the
    observations it saw that changed nothing (written with its events)."""

    known: dict[Key, datetime] = field(default_factory=dict)
    seen: dict[Key, datetime] = field(default_factory=dict)

    def last(self, person: uuid.UUID, source: str | None) -> datetime | None:
        key = (person, source_key(source))
        return self.seen.get(key) or self.known.get(key)

    def saw(self, person: uuid.UUID, source: str | None, at: datetime) -> None:
        """An observation newer than the person's events say that changed nothing."""
        key = (person, source_key(source))
        last = self.last(person, source)
        if last is None or at > last:
            self.seen[key] = at

    def statements(self, schema: str) -> list[tuple[sql.Composed, list[tuple[Any, ...]]]]:
        if not self.seen:
            return []
        keys = list(self.seen)
        rows = ([k[0] for k in keys], [k[1] for k in keys], list(self.seen.values()))
        return [(statement(UPSERT, schema), [rows])]


def ss12000_keys(
    ids: Sequence[uuid.UUID], messages: Sequence[FeedMessage], held: Mapping[uuid.UUID, Any]
) -> list[Key]:
    """The (person, source) pairs of a batch's SS 12000 records whose person is known already
    (`held`: the batch's persons loaded, None for one not found); a new person has no row."""
    return [
        (pid, source_key(m.source))
        for pid, m in zip(ids, messages, strict=True)
        if isinstance(m, Ss12000FeedMessage) and held.get(pid) is not None
    ]


def select_statement(schema: str) -> sql.Composed:
    return statement(SELECT, schema)


def select_arguments(keys: Iterable[Key]) -> tuple[list[uuid.UUID], list[str]]:
    wanted = sorted(set(keys))
    return [k[0] for k in wanted], [k[1] for k in wanted]
