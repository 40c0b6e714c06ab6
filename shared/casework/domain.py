"""The youth case as outreach and measures both keep it: which municipality, whether in scope now.

Both services learn scope from identify's `YouthIdentified` / `YouthLeftScope` and refuse work on a
youth who is not in their municipality's scope. The case is looked up by youth id and checked against
the caller's tenant, and a youth of another municipality is reported as not found (its existence is
not disclosed).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, get_args

from eventsourcing.domain import Aggregate, event

from shared import dates
from shared.contracts.events import (
    CorrectionReasonCode,
    SchoolNotificationReceived,
    YouthIdentified,
    YouthLeftScope,
)
from shared.contracts.events.corrections import NOTE_MAX_LENGTH

# Identify's events a youth case takes in (`ScopedYouthCase.on_identify_event`); others pass by.
IDENTIFY_INPUTS = (YouthIdentified, YouthLeftScope, SchoolNotificationReceived)


class CaseNotFound(LookupError):
    """No such youth in the caller's municipality."""


class NotInScope(RuntimeError):
    """The youth is known but not in the municipality's activity responsibility now."""


class CommandRefused(ValueError):
    """A command the domain refuses before anything is recorded: the field and the reason.

    `conflict` marks a refusal because of the case's state (a transition that is not allowed,
    409) rather than because of the input itself (422).
    """

    def __init__(self, field: str, reason: str, *, conflict: bool = False) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
        self.conflict = conflict


CORRECTION_REASONS = frozenset(get_args(CorrectionReasonCode))


@dataclass(frozen=True)
class Why:
    """Why, by whom and when an entry of a case is corrected or withdrawn (outreach's and
    measures'): a reason code and the note sealed with the youth's data key (purpose
    `Correction.SEALED_PURPOSE`), or None."""

    reason: str
    sealed_note: str | None
    actor: str
    correlation_id: uuid.UUID
    at: datetime

    def __post_init__(self) -> None:
        if self.reason not in CORRECTION_REASONS:
            raise CommandRefused("reason", "unknown code (the reasons for a correction)")


def check_why(reason: str, note: str | None) -> None:
    """Refuse an unknown reason code or a note over the cap (naming the field, not the value),
    before anything is sealed or recorded."""
    if reason not in CORRECTION_REASONS:
        raise CommandRefused("reason", "unknown code (the reasons for a correction)")
    if note is not None and len(note) > NOTE_MAX_LENGTH:
        raise CommandRefused("note", f"is longer than {NOTE_MAX_LENGTH} characters")


REFUSALS: tuple[type[BaseException], ...] = (
    CaseNotFound,
    NotInScope,
    CommandRefused,
    dates.ImplausibleDate,
)


class ScopedYouthCase(Aggregate):
    """Base of a service's case aggregate. A subclass declares its creation event, calling
    `_start_case`, because the library derives each aggregate class's created event from that
    class's own `__init__`:

        @event("Opened")
        def __init__(self, youth_id: uuid.UUID, tenant: str) -> None:
            self._start_case(tenant)
    """

    @classmethod
    def open(cls, youth_id: uuid.UUID, tenant: str) -> ScopedYouthCase:
        return cls(youth_id=youth_id, tenant=tenant)  # type: ignore[call-arg]

    @staticmethod
    def create_id(youth_id: uuid.UUID, tenant: str) -> uuid.UUID:
        return youth_id

    def _start_case(self, tenant: str) -> None:
        # Plain attributes: class-level annotations would become fields of the created event.
        self.tenant: str = tenant
        self.open_episode: str | None = None
        self.closed_episodes: list[str] = []
        self.entered_on: date | None = None
        # The day identify recorded the episode: when the municipality could know of it.
        self.identified_on: date | None = None
        self.scope_ends_on: date | None = None
        self.left_on: date | None = None
        self.left_reason: str | None = None

    @property
    def in_scope(self) -> bool:
        return self.open_episode is not None

    @property
    def born_on_or_after(self) -> date | None:
        """The earliest day the youth can have been born: 20 years before scope ends at the latest
        (the 20th birthday; a leap-day child's falls on 28 February)."""
        ends = self.scope_ends_on
        return None if ends is None else ends.replace(year=ends.year - 20)

    def check_date(
        self,
        field: str,
        value: date | datetime | None,
        *,
        today: date | None = None,
        since_law: bool = True,
    ) -> None:
        """Refuse a date about the youth that cannot be true (`shared.dates`): before 1900, before
        2015-01-01 (`since_law`), before the youth was born, after `today` when given."""
        dates.check(field, value, today=today, born=self.born_on_or_after, since_law=since_law)

    def on_identify_event(self, message: Any) -> None:
        """Take in one of identify's events (scope opened or closed, a school notification)."""
        if isinstance(message, YouthIdentified):
            self.on_identified(message)
        elif isinstance(message, YouthLeftScope):
            self.on_left_scope(message)
        elif isinstance(message, SchoolNotificationReceived):
            self.on_school_notification(message)

    def on_identified(self, message: YouthIdentified) -> None:
        episode = str(message.scope_episode_id)
        if episode != self.open_episode and episode not in self.closed_episodes:
            self._scope_opened(
                episode,
                message.entered_on,
                message.event_id,
                message.scope_ends_on,
                message.identified_on,
            )

    def on_left_scope(self, message: YouthLeftScope) -> None:
        episode = str(message.scope_episode_id)
        if episode not in self.closed_episodes:
            self._scope_closed(episode, message.left_on, message.reason, message.event_id)

    def on_school_notification(self, message: SchoolNotificationReceived) -> None:
        """A school's notification about the youth; what it means is the subclass's business."""

    @event("ScopeOpened")
    def _scope_opened(
        self,
        scope_episode_id: str,
        entered_on: date,
        cause: uuid.UUID,
        scope_ends_on: date | None = None,
        identified_on: date | None = None,
    ) -> None:
        self.open_episode = scope_episode_id
        self.entered_on = entered_on
        self.identified_on = identified_on
        self.scope_ends_on = scope_ends_on
        self.left_on = None
        self.left_reason = None
        self.scope_opened()

    def scope_opened(self) -> None:
        """Hook: a new scope episode began (state only; runs inside the event's apply)."""

    @event("ScopeClosed")
    def _scope_closed(
        self, scope_episode_id: str, left_on: date, reason: str, cause: uuid.UUID
    ) -> None:
        self.closed_episodes.append(scope_episode_id)
        if self.open_episode == scope_episode_id:
            self.open_episode = None
            self.left_on = left_on
            self.left_reason = reason

    def check_tenant(self, tenant: str) -> None:
        if tenant != self.tenant:
            raise CaseNotFound

    def check_in_scope(self) -> None:
        if not self.in_scope:
            raise NotInScope


_RULES_NAMESPACE = uuid.UUID("5b0f3c1e-8a57-4d2b-9c1a-6f0e2d7b4a93")


def rules_id(tenant: str) -> uuid.UUID:
    """The id of the municipality's `TenantRules` aggregate."""
    return uuid.uuid5(_RULES_NAMESPACE, tenant)


RULES_TOPIC = "shared.cases:TenantRules"
"""Stored events name their aggregate by topic: the rules were first recorded when this class
lived in `shared/cases.py`, and keep that topic wherever the class lives (reading and writing)."""


class TenantRules(Aggregate):
    """A municipality's own time rules for casework (no statutory day limits exist; DOMAIN.md
    section 4), set by its coordinators. Every change is an event: the rules in force on any
    past day can be shown."""

    TOPIC = RULES_TOPIC

    class Created(Aggregate.Created):  # never recorded (`Configured` creates the rules)
        TOPIC = f"{RULES_TOPIC}.Created"

    @staticmethod
    def create_id(tenant: str, rules: dict[str, int], actor: str) -> uuid.UUID:
        return rules_id(tenant)

    @event("Configured", topic=f"{RULES_TOPIC}.Configured")
    def __init__(self, tenant: str, rules: dict[str, int], actor: str) -> None:
        self.tenant = tenant
        self.rules = dict(rules)

    @event("Reconfigured", topic=f"{RULES_TOPIC}.Reconfigured")
    def reconfigure(self, rules: dict[str, int], actor: str) -> None:
        self.rules = {**self.rules, **rules}


@dataclass(frozen=True)
class Rule:
    default: int
    minimum: int
    maximum: int
    description: str
