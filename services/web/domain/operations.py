"""The operator's page (drift) and the consortium administrator's (konsortiet), as shown: Swedish
words for the platform's states, the view models, and what the page says when it changed.

Pure: the use case (`commands/operations.py`) reads the platform and the services and hands the
numbers here. Nothing personal is ever given to these views: services, topics, partitions,
counts, times, reasons and kommunkoder.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

SWEDEN = ZoneInfo("Europe/Stockholm")
# The register's retention period where a municipality names none (services/register/domain/
# retention.py DEFAULT_RETENTION_DAYS; a unit test keeps the two the same).
DEFAULT_RETENTION_DAYS = 730

SERVICE_NAMES = {
    "identify": "Identifiering",
    "outreach": "Uppsökande",
    "measures": "Insatser",
    "register": "Registret",
    "connect": "Kopplingar (SS 12000)",
}
# A process's /health as shown: (words, GOV.UK tag colour).
HEALTH = {
    "ok": ("Fungerar", "green"),
    "degraded": ("Har problem", "yellow"),
    "unreachable": ("Svarar inte", "red"),
}
# What the page could not read now, in Swedish.
UNREADABLE = {
    "settings": "Driftsättningens inställningar",
    "lag": "Eftersläpningen i Kafka",
    "dead-letters": "Felkön i Kafka",
    "store": "Utkorgarna, registrets senaste ombyggnad och gallringen",
    "dead-events": "Registrets ej tillämpade händelser",
    "connectors": "Kopplingstjänstens huvudmän",
    "catalogue": "Den gemensamma insatskatalogen",
}
CONNECTOR_STATES = {
    "ok": ("I fas", "green"),
    "syncing": ("Synkroniserar", "turquoise"),
    "first sync": ("Första synkroniseringen", "turquoise"),
    "failing": ("Misslyckas", "red"),
}
CATALOGUE_SOURCES = {
    "standard": "Standard",
    "consortium": "Konsortiets gemensamma",
    "municipality": "Kommunens egen",
}
POLICY_WORDS = {
    "adult_education_keeps_in_scope": "Vuxenutbildning håller kvar i aktivitetsansvaret",
    "feed_sources": "Källor som väntas in",
}


def when(at: datetime | str | None) -> str:
    """A moment in Swedish time, `2026-03-02 kl. 09.15`; a dash for none."""
    if at is None or at == "":
        return "–"
    moment = datetime.fromisoformat(at) if isinstance(at, str) else at
    if moment.tzinfo is not None:
        moment = moment.astimezone(SWEDEN)
    return moment.strftime("%Y-%m-%d kl. %H.%M")


def duration(seconds: float | None) -> str:
    """How long, in Swedish words (`3 min`, `2 tim 5 min`, `4 dygn`)."""
    if seconds is None:
        return "–"
    whole = int(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes = whole // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} tim {minutes} min" if minutes else f"{hours} tim"
    return f"{hours // 24} dygn"


def number(value: int) -> str:
    """A count with the Swedish thin space between thousands: `12 345`."""
    return f"{value:,}".replace(",", "\u00a0")


def counted(value: int, one: str, many: str) -> str:
    """`1 meddelande`, `3 meddelanden`."""
    return f"{number(value)} {one if value == 1 else many}"


@dataclass(frozen=True)
class ServiceHealth:
    service: str
    label: str
    state: str
    colour: str
    problems: list[str] = field(default_factory=list)


def health_shown(service: str, status: str, problems: Sequence[str]) -> ServiceHealth:
    words, colour = HEALTH.get(status, HEALTH["unreachable"])
    return ServiceHealth(
        service, SERVICE_NAMES.get(service, service), words, colour, list(problems)
    )


@dataclass(frozen=True)
class LagRow:
    topic: str
    partition: int
    committed: int | None
    end: int
    lag: int


@dataclass(frozen=True)
class GroupLag:
    service: str
    label: str
    group: str
    rows: list[LagRow]

    @property
    def total(self) -> int:
        return sum(row.lag for row in self.rows)

    @property
    def topics(self) -> list[str]:
        return list(dict.fromkeys(row.topic for row in self.rows))

    @property
    def behind(self) -> list[LagRow]:
        """The partitions the group has not caught up with."""
        return [row for row in self.rows if row.lag]


def groups_of(rows: Sequence[tuple[str, str, LagRow]]) -> list[GroupLag]:
    """(service, group, row) in the order read, as one table per consumer group."""
    found: dict[tuple[str, str], list[LagRow]] = {}
    for service, group, row in rows:
        found.setdefault((service, group), []).append(row)
    return [GroupLag(s, SERVICE_NAMES.get(s, s), g, r) for (s, g), r in found.items()]


@dataclass(frozen=True)
class OutboxRow:
    label: str
    recorded: int
    published: int
    waiting: int


@dataclass(frozen=True)
class DeadLetterRow:
    topic: str
    count: int
    reasons: list[str]


@dataclass(frozen=True)
class DeadEventRow:
    event_id: str
    event_type: str
    reason: str
    dead_at: str
    state: str


def dead_event_shown(raw: Mapping[str, Any]) -> DeadEventRow:
    """One of the register's dead events: its id, type, reason and state (never the youth, the
    payload, or who discarded it and why, which is free text)."""
    if raw.get("discarded_at"):
        state = f"Avfärdad {when(raw['discarded_at'])}"
    elif raw.get("reapplied_at"):
        state = f"Återspelad {when(raw['reapplied_at'])}"
    elif raw.get("parked"):
        state = "Parkerad, väntar på återspelning"
    else:
        state = "Slut på en period som registret aldrig såg"
    return DeadEventRow(
        event_id=str(raw.get("event_id", "")),
        event_type=str(raw.get("event_type", "")),
        reason=str(raw.get("reason", "")),
        dead_at=when(raw.get("dead_at")),
        state=state,
    )


def waiting_replay(raw: Sequence[Mapping[str, Any]]) -> int:
    """Parked events neither re-applied nor discarded: the register still lacks them."""
    return sum(
        1
        for e in raw
        if e.get("parked") and not e.get("reapplied_at") and not e.get("discarded_at")
    )


@dataclass(frozen=True)
class RetentionRow:
    kommunkod: str
    name: str
    days: int
    last: str
    destroyed: int


@dataclass(frozen=True)
class Rebuild:
    version: int | None
    built_at: str
    upgrading: str | None  # the register's /health while it rebuilds


@dataclass(frozen=True)
class ConnectorRow:
    kommunkod: str
    organiser: str
    name: str
    state: str
    colour: str
    last_complete_sync: str
    lag: str
    errors_in_a_row: int
    error: str | None


def connector_shown(raw: Mapping[str, Any]) -> ConnectorRow:
    words, colour = CONNECTOR_STATES.get(str(raw.get("state")), (str(raw.get("state")), "grey"))
    error = raw.get("error") or {}
    return ConnectorRow(
        kommunkod=str(raw.get("tenant", "")),
        organiser=str(raw.get("organiser", "")),
        name=str(raw.get("name") or ""),
        state=words,
        colour=colour,
        last_complete_sync=when(raw.get("last_complete_sync")),
        lag=duration(raw.get("lag_seconds")),
        errors_in_a_row=int(error.get("in_a_row") or 0),
        error=str(error["message"]) if error.get("message") else None,
    )


@dataclass(frozen=True)
class Drift:
    """Everything on the operator's page; None where it could not be read (`unreadable` says
    what, in Swedish); `connectors` None also when no connect service is configured."""

    checked_at: str
    tenant: str
    health: list[ServiceHealth]
    lag: list[GroupLag] | None
    outboxes: list[OutboxRow] | None
    dead_letters: list[DeadLetterRow] | None
    dead_events: list[DeadEventRow] | None
    replay_waiting: int
    retention: list[RetentionRow] | None
    retention_interval: str
    rebuild: Rebuild | None
    connectors: list[ConnectorRow] | None
    connect_configured: bool
    unreadable: list[str] = field(default_factory=list)

    @property
    def behind(self) -> list[tuple[GroupLag, LagRow]]:
        """Every partition some consumer group has not caught up with."""
        return [(group, row) for group in self.lag or [] for row in group.behind]

    @property
    def problems(self) -> list[str]:
        """What needs the operator, in Swedish, for the summary at the top."""
        found = [f"{h.label}: {h.state.lower()}" for h in self.health if h.colour != "green"]
        letters = sum(d.count for d in self.dead_letters or [])
        if letters:
            found.append(f"{counted(letters, 'meddelande', 'meddelanden')} i felköerna")
        if self.replay_waiting:
            waiting = counted(self.replay_waiting, "parkerad händelse", "parkerade händelser")
            found.append(f"{waiting} i registret")
        failing = [c for c in self.connectors or [] if c.colour == "red"]
        if failing:
            found.append(f"{counted(len(failing), 'huvudman', 'huvudmän')} vars synkronisering "
                         "misslyckas")  # fmt: skip
        found.extend(f"{what} kunde inte läsas" for what in self.unreadable)
        return found

    @property
    def key(self) -> str:
        """What the page's announcement compares (the summary, not the moment): a short code,
        nothing personal, carried in the refresh's address."""
        return hashlib.sha256("\n".join(self.problems).encode()).hexdigest()[:12]


def announcement(before: str | None, drift: Drift) -> str:
    """What the polite status says after a refresh: nothing when the summary is as it was."""
    if before is None or before == drift.key:
        return ""
    if not drift.problems:
        return "Läget har ändrats: allt fungerar."
    return f"Läget har ändrats: {'; '.join(drift.problems)}."


@dataclass(frozen=True)
class MemberShown:
    kommunkod: str
    name: str
    days: int
    days_given: bool
    policy: list[tuple[str, str]]


def policy_shown(policy: Mapping[str, Any]) -> list[tuple[str, str]]:
    """A scope policy's overrides as (what, value) in Swedish; none: the national default."""
    shown = []
    for key, value in sorted(policy.items()):
        if isinstance(value, bool):
            said = "Ja" if value else "Nej"
        elif isinstance(value, list | tuple):
            said = ", ".join(str(v) for v in value)
        else:
            said = str(value)
        shown.append((POLICY_WORDS.get(key, key), said))
    return shown


def member_shown(
    kommunkod: str, name: str, policy: Mapping[str, Any], days: int | None
) -> MemberShown:
    return MemberShown(
        kommunkod=kommunkod,
        name=name or "Namn saknas i inställningarna",
        days=days if days is not None else DEFAULT_RETENTION_DAYS,
        days_given=days is not None,
        policy=policy_shown(policy),
    )


@dataclass(frozen=True)
class CatalogueRow:
    code: str
    name: str
    description: str
    provider: str
    source: str
    shared: bool


@dataclass(frozen=True)
class Consortium:
    name: str | None
    members: list[MemberShown] | None  # None: the deployment's settings could not be read
    catalogue: list[CatalogueRow] | None  # None: the measures service did not answer

    @property
    def shared(self) -> int:
        return sum(1 for row in self.catalogue or [] if row.shared)


def catalogue_shown(entries: Sequence[Mapping[str, Any]]) -> list[CatalogueRow]:
    """The catalogue as the consortium administrator's municipality can offer it: the
    consortium's shared entries first, then the standard and the municipality's own."""
    rows = [
        CatalogueRow(
            code=str(e.get("code", "")),
            name=str(e.get("name", "")),
            description=str(e.get("description") or ""),
            provider=str(e.get("provider") or ""),
            source=CATALOGUE_SOURCES.get(str(e.get("source")), str(e.get("source"))),
            shared=e.get("source") == "consortium",
        )
        for e in entries
    ]
    return sorted(rows, key=lambda row: (not row.shared, row.code))
