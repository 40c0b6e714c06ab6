"""The person as the identify service knows them, and the scope episodes it opens and closes.

A `Person` aggregate is identified by a keyed hash of the personnummer (never the number itself);
each municipality gets its own random youth id for the person, so two municipalities' registers
cannot be linked through it (DOMAIN.md section 7).
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from eventsourcing.domain import Aggregate, event

from services.identify.scope import (
    Decision,
    EnrolmentFact,
    PersonFacts,
    decide,
    twentieth_birthday,
)
from shared.pseudonym import person_id


class Person(Aggregate):
    @staticmethod
    def create_id(person_key: str) -> uuid.UUID:
        return person_id(person_key)

    @event("Registered")
    def __init__(self, person_key: str) -> None:
        self.person_key = person_key
        self.kommunkod: str | None = None
        self.birth_date: date | None = None
        self.status = "resident"
        self.protected = False
        self.enrolments: list[dict[str, Any]] = []
        self.youth_ids: dict[str, str] = {}
        self.open_episodes: dict[str, str] = {}

    # -- facts from the feeds -------------------------------------------------------------------

    @event("PopulationRecorded")
    def record_population(
        self,
        kommunkod: str,
        birth_date: date,
        protected: bool,
        change_type: str,
        effective_date: date,
        record_id: uuid.UUID,
    ) -> None:
        self.kommunkod = kommunkod
        self.birth_date = birth_date
        self.protected = protected
        if change_type in ("emigrated", "deceased"):
            self.status = change_type
        elif change_type in ("baseline", "moved_in"):
            self.status = "resident"

    @event("EnrolmentsObserved")
    def observe_enrolments(
        self,
        enrolments: list[dict[str, Any]],
        observed_on: date,
        birth_date: date,
        record_id: uuid.UUID,
    ) -> None:
        """Replaces what is known about enrolments: an SS 12000 Person lists all of them."""
        self.enrolments = enrolments
        if self.birth_date is None:
            self.birth_date = birth_date

    # -- scope episodes -------------------------------------------------------------------------

    @event("ScopeEntered")
    def _enter_scope(
        self,
        tenant: str,
        youth_id: str,
        scope_episode_id: str,
        entered_on: date,
        scope_ends_on: date,
        rule_version: str,
        facts: dict[str, str],
        actor: str,
        correlation_id: uuid.UUID,
    ) -> None:
        self.youth_ids[tenant] = youth_id
        self.open_episodes[tenant] = scope_episode_id

    @event("ScopeLeft")
    def _leave_scope(
        self,
        tenant: str,
        youth_id: str,
        scope_episode_id: str,
        left_on: date,
        reason: str,
        rule_version: str,
        facts: dict[str, str],
        actor: str,
        correlation_id: uuid.UUID,
    ) -> None:
        self.open_episodes.pop(tenant, None)

    def facts(self) -> PersonFacts:
        return PersonFacts(
            kommunkod=self.kommunkod,
            birth_date=self.birth_date,
            status=self.status,
            enrolments=tuple(
                EnrolmentFact(
                    school_type=e["school_type"],
                    cancelled=e["cancelled"],
                    start_date=date.fromisoformat(e["start_date"]) if e.get("start_date") else None,
                    end_date=date.fromisoformat(e["end_date"]) if e.get("end_date") else None,
                )
                for e in self.enrolments
            ),
        )

    def reevaluate(
        self, served_tenants: list[str], on: date, *, actor: str, correlation_id: uuid.UUID
    ) -> list[Decision]:
        """Open or close scope episodes in every served municipality the decision concerns."""
        concerned = {t for t in served_tenants if t == self.kommunkod or t in self.open_episodes}
        decisions = []
        facts = self.facts()
        for tenant in sorted(concerned):
            decision = decide(facts, tenant, on)
            decisions.append(decision)
            open_episode = self.open_episodes.get(tenant)
            if decision.in_scope and open_episode is None:
                assert self.birth_date is not None
                self._enter_scope(
                    tenant=tenant,
                    youth_id=self.youth_ids.get(tenant) or str(uuid.uuid4()),
                    scope_episode_id=str(uuid.uuid4()),
                    entered_on=on,
                    scope_ends_on=twentieth_birthday(self.birth_date),
                    rule_version=decision.rule_version,
                    facts=decision.facts,
                    actor=actor,
                    correlation_id=correlation_id,
                )
            elif not decision.in_scope and open_episode is not None:
                self._leave_scope(
                    tenant=tenant,
                    youth_id=self.youth_ids[tenant],
                    scope_episode_id=open_episode,
                    left_on=on,
                    reason=decision.leaving_reason or "registered_in_error",
                    rule_version=decision.rule_version,
                    facts=decision.facts,
                    actor=actor,
                    correlation_id=correlation_id,
                )
        return decisions
