"""The youth case as outreach and measures both keep it: which municipality, whether in scope now.

Both services learn scope from identify's `YouthIdentified` / `YouthLeftScope` and refuse work on a
youth who is not in their municipality's scope. The case is looked up by youth id and checked against
the caller's tenant, and a youth of another municipality is reported as not found (its existence is
not disclosed).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar, cast

from eventsourcing.domain import Aggregate, event

from shared.contracts.events import YouthIdentified, YouthLeftScope
from shared.eventstore import KafkaFedApplication


class CaseNotFound(LookupError):
    """No such youth in the caller's municipality."""


class NotInScope(RuntimeError):
    """The youth is known but not in the municipality's activity responsibility now."""


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

    @property
    def in_scope(self) -> bool:
        return self.open_episode is not None

    def on_identified(self, message: YouthIdentified) -> None:
        episode = str(message.scope_episode_id)
        if episode != self.open_episode and episode not in self.closed_episodes:
            self._scope_opened(episode, message.entered_on, message.event_id)

    def on_left_scope(self, message: YouthLeftScope) -> None:
        episode = str(message.scope_episode_id)
        if episode not in self.closed_episodes:
            self._scope_closed(episode, message.left_on, message.reason, message.event_id)

    @event("ScopeOpened")
    def _scope_opened(self, scope_episode_id: str, entered_on: date, cause: uuid.UUID) -> None:
        self.open_episode = scope_episode_id

    @event("ScopeClosed")
    def _scope_closed(
        self, scope_episode_id: str, left_on: date, reason: str, cause: uuid.UUID
    ) -> None:
        self.closed_episodes.append(scope_episode_id)
        if self.open_episode == scope_episode_id:
            self.open_episode = None

    def check_tenant(self, tenant: str) -> None:
        if tenant != self.tenant:
            raise CaseNotFound

    def check_in_scope(self) -> None:
        if not self.in_scope:
            raise NotInScope


C = TypeVar("C", bound=ScopedYouthCase)
R = TypeVar("R")


class CaseApplication(KafkaFedApplication):
    """An event store of youth cases, fed with identify's events, commanded over HTTP."""

    case_class: type[ScopedYouthCase] = ScopedYouthCase

    def take_in_identify_batch(
        self, messages: list[Any], topic: str, partition: int, next_offset: int
    ) -> None:
        self.retrying_tracked(
            lambda: self._apply_identify_batch(messages, topic, partition, next_offset),
            topic,
            partition,
            next_offset,
        )

    def _apply_identify_batch(
        self, messages: list[Any], topic: str, partition: int, next_offset: int
    ) -> None:
        # Other identify events (school notifications) do not change a case's scope.
        scope_messages = [m for m in messages if isinstance(m, YouthIdentified | YouthLeftScope)]
        cache: dict[uuid.UUID, ScopedYouthCase] = {}
        self.preload((m.youth_id for m in scope_messages), cache)
        for message in scope_messages:
            case: ScopedYouthCase | None = self.get_or_none(message.youth_id, cache)
            if case is None:
                case = self.case_class.open(message.youth_id, message.tenant)
                cache[message.youth_id] = case
            if isinstance(message, YouthIdentified):
                case.on_identified(message)
            elif isinstance(message, YouthLeftScope):
                case.on_left_scope(message)
        self.save_tracked(cache.values(), topic, partition, next_offset)

    def command(self, youth_id: uuid.UUID, tenant: str, action: Callable[[Any], R]) -> R:
        """Load the case, check tenant and scope, run `action`, save; retried on a concurrent write."""

        def work() -> R:
            case: ScopedYouthCase | None = self.get_or_none(youth_id, {})
            if case is None:
                raise CaseNotFound
            case.check_tenant(tenant)
            case.check_in_scope()
            result = action(case)
            self.save_tracked([case], None, 0, 0)
            return result

        return cast(R, self.retrying(work, refusals=(CaseNotFound, NotInScope)))
