"""The register's rows an SCB report is built from, as plain typed records.

The adapter (`services/register/adapters/scb_queries.py`) fetches them for a municipality and a
half-year from one consistent snapshot; the report (`report.build_report`) is a function of them.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

IdentityState = Literal["open", "missing", "redacted", "tampered"]


@dataclass(frozen=True)
class Episode:
    """A scope episode that overlaps the half-year."""

    youth_id: uuid.UUID
    scope_episode_id: uuid.UUID
    entered_on: date
    left_on: date | None = None
    left_reason: str | None = None
    school_background: str | None = None


@dataclass(frozen=True)
class ContactDay:
    """A day in the half-year the youth was reached or contact was established."""

    youth_id: uuid.UUID
    day: date


@dataclass(frozen=True)
class Occupation:
    """A current occupation the register holds (whatever its dates)."""

    youth_id: uuid.UUID
    category: str
    from_date: date
    to_date: date | None
    confirmed_on: date
    event_id: uuid.UUID


@dataclass(frozen=True)
class Measure:
    """A measure that started or ended in the half-year."""

    youth_id: uuid.UUID
    measure_id: uuid.UUID
    measure_type: str
    started_on: date | None
    ended_on: date | None = None
    occupation_after: str | None = None


@dataclass(frozen=True)
class Named:
    """Who a youth is, as far as the report needs: the identity's state and, when open, the
    personnummer (or samordningsnummer)."""

    state: IdentityState
    personnummer: str | None = None


@dataclass(frozen=True)
class EventRange:
    """The events a report was built from: the register's consumer positions and how many of the
    municipality's events it had applied, until when."""

    positions: Mapping[str, int] = field(default_factory=dict)
    tenant_events: int = 0
    last_recorded_at: str | None = None  # ISO 8601

    def as_dict(self) -> dict[str, Any]:
        return {
            "positions": dict(self.positions),
            "tenant_events": self.tenant_events,
            "last_recorded_at": self.last_recorded_at,
        }


@dataclass(frozen=True)
class ScbRows:
    """Everything the report of one municipality and half-year is built from."""

    episodes: tuple[Episode, ...] = ()
    contacts: tuple[ContactDay, ...] = ()
    occupations: tuple[Occupation, ...] = ()
    measures: tuple[Measure, ...] = ()
    names: Mapping[uuid.UUID, Named] = field(default_factory=dict)
    event_range: EventRange = field(default_factory=EventRange)


@dataclass(frozen=True)
class YouthRows:
    """One youth's rows (episodes oldest first; at least one)."""

    youth_id: uuid.UUID
    episodes: tuple[Episode, ...]
    contacts: tuple[ContactDay, ...] = ()
    occupations: tuple[Occupation, ...] = ()
    measures: tuple[Measure, ...] = ()


def by_youth(rows: ScbRows) -> list[YouthRows]:
    """The rows of each youth with an episode, by youth id; episodes by entry date."""
    grouped: dict[uuid.UUID, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
    for kind, found in (
        ("episodes", rows.episodes),
        ("contacts", rows.contacts),
        ("occupations", rows.occupations),
        ("measures", rows.measures),
    ):
        for row in found:
            grouped[row.youth_id][kind].append(row)
    return [
        YouthRows(
            youth,
            tuple(sorted(held["episodes"], key=lambda e: (e.entered_on, e.scope_episode_id))),
            tuple(held["contacts"]),
            tuple(held["occupations"]),
            tuple(held["measures"]),
        )
        for youth, held in sorted(grouped.items())
        if held["episodes"]
    ]
