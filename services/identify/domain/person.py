"""The person as the identify service knows them, and the scope episodes it opens and closes.

A `Person` aggregate is identified by a keyed hash of the personnummer (never the number itself);
each municipality gets its own random youth id for the person, so two municipalities' registers
cannot be linked through it (DOMAIN.md section 7). The aggregate keeps the facts as histories (a
population record is a fact from its effective date on), so a record that arrives late or out of
order lands in its place instead of overwriting newer facts; the scope engine decides from them.

Facts are dated by what they say, never by when an extract was taken: a baseline extract says where
a person is folkbokförd as of its date, so the person counts as folkbokförd there from the day the
record names (`registered_in_municipality_on`, as Navet gives it) or, without it, since before
anything else known about them. A school notification is a fact for the municipality it was sent
to only: a reporter can never change what another municipality's register decides.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any

from eventsourcing.domain import Aggregate, event

from services.identify.domain.episodes import Enter, next_evaluation, scope_changes
from services.identify.domain.in_error import (
    IN_ERROR,
    EpisodeRecord,
    episode_to_mark,
    without_marked,
)
from services.identify.domain.records import (
    EnrolmentRecord,
    Episode,
    FactsCache,
    Notified,
    Registration,
    adds_to,
    after_notification,
    cached_facts,
    holds,
    is_repeat,
    newer_observation,
    observation,
    registration,
)
from services.identify.domain.scope import Completion, Decision, TenantPolicy, YouthFacts
from services.identify.domain.triggers import trigger
from shared.pseudonym import person_id

STATUS_BY_CHANGE = {"emigrated": "emigrated", "deceased": "deceased"}
# The topics the events are stored under: they name the module the aggregate lived in when the
# first events were stored, and must never change (stored events are found again by them).
TOPIC = "services.identify.domain:Person"


class Person(Aggregate):
    TOPIC = TOPIC

    class Created(Aggregate.Created):  # never recorded (`Registered` creates a person)
        TOPIC = f"{TOPIC}.Created"

    @staticmethod
    def create_id(person_key: str) -> uuid.UUID:
        return person_id(person_key)

    @event("Registered", topic=f"{TOPIC}.Registered")
    def __init__(self, person_key: str) -> None:
        self.person_key = person_key
        self.birth_date: date | None = None
        self.registered_in_sweden_on: date | None = None
        self.protected = False
        self.registrations: tuple[Registration, ...] = ()  # sorted by effective date
        self.enrolments: tuple[EnrolmentRecord, ...] = ()
        self.enrolments_observed: dict[str, datetime] = {}  # per source ("": the feed's files)
        self.completions: tuple[Completion, ...] = ()
        # Per "<tenant>/<notification id>": what the notification said (a repeat adds nothing,
        # the same id for something else is refused).
        self.notifications: dict[str, Notified] = {}
        self.notification_ids: list[str] = []
        self.youth_ids: dict[str, str] = {}
        self.open_episodes: dict[str, str] = {}
        # Per municipality: every episode, in order.
        self.episodes: dict[str, tuple[Episode, ...]] = {}
        # Per municipality: the personal details it received, sealed with the youth's data key,
        # and a keyed digest of them (to see a change without opening them).
        self.personal_details: dict[str, str] = {}
        self.details_digests: dict[str, str] = {}
        # Every scope episode by id (`in_error.py`: which one a coordinator may mark).
        self.scope_episodes: dict[str, EpisodeRecord] = {}
        # Per municipality: the facts an episode was marked registered in error on (none re-opens
        # on those same facts; a changed fact is decided afresh).
        self.in_error_on: dict[str, YouthFacts | None] = {}

    # -- facts from the feeds -------------------------------------------------------------------

    def record_population(
        self,
        *,
        kommunkod: str,
        birth_date: date,
        protected: bool,
        change_type: str,
        effective_date: date,
        observed_at: datetime,
        registered_in_sweden_on: date | None,
        record_id: uuid.UUID,
        tenant: str,
        details_digest: str,
        seal: Callable[[uuid.UUID], str],
        registered_in_municipality_on: date | None = None,
    ) -> bool:
        """Record a population register fact; False when it adds nothing (a repeat or stale).

        The personal details the record carries are kept per receiving municipality, sealed by
        `seal` with the key of the youth id the person has (or now gets) there."""
        status = STATUS_BY_CHANGE.get(change_type, "resident")
        details_changed = self.details_digests.get(tenant) != details_digest
        if not adds_to(self.registrations, details_changed, registration(
            kommunkod, status, change_type, effective_date, observed_at,
            registered_in_municipality_on,
        )):  # fmt: skip
            return False
        youth_id = self.youth_ids.get(tenant) or str(uuid.uuid4())
        sealed = seal(uuid.UUID(youth_id))
        trigger(self, "_population_recorded",
            kommunkod, status, birth_date, protected, change_type, effective_date, observed_at,
            registered_in_sweden_on, record_id, tenant, youth_id, sealed, details_digest,
            registered_in_municipality_on,
        )  # fmt: skip
        if details_changed and tenant in self.open_episodes:
            # The municipality already has the youth in scope (entered perhaps on another
            # municipality's report of a move): it receives the details it now holds.
            trigger(self, "_details_announced", tenant, youth_id, sealed, record_id)
        return True

    @event("DetailsAnnounced", topic=f"{TOPIC}.DetailsAnnounced")
    def _details_announced(
        self, tenant: str, youth_id: str, personal_details: str, record_id: uuid.UUID
    ) -> None:
        pass

    @event("PopulationRecorded", topic=f"{TOPIC}.PopulationRecorded")
    def _population_recorded(
        self,
        kommunkod: str,
        status: str,
        birth_date: date,
        protected: bool,
        change_type: str,
        effective_date: date,
        observed_at: datetime,
        registered_in_sweden_on: date | None,
        record_id: uuid.UUID,
        tenant: str | None = None,
        youth_id: str | None = None,
        personal_details: str | None = None,
        details_digest: str | None = None,
        registered_in_municipality_on: date | None = None,
    ) -> None:
        if tenant is not None and youth_id is not None:
            self.youth_ids.setdefault(tenant, youth_id)
            if personal_details is not None and details_digest is not None:
                self.personal_details[tenant] = personal_details
                self.details_digests[tenant] = details_digest
        recorded = registration(
            kommunkod, status, change_type, effective_date, observed_at,
            registered_in_municipality_on,
        )  # fmt: skip
        self.registrations = tuple(
            sorted(
                (*(r for r in self.registrations if r.since != effective_date), recorded),
                key=lambda r: r.since,
            )
        )
        self.birth_date = birth_date
        self.protected = protected
        if registered_in_sweden_on is not None:
            self.registered_in_sweden_on = registered_in_sweden_on

    def observe_enrolments(
        self, enrolments: Sequence[EnrolmentRecord], observed_at: datetime, observed_on: date,
        birth_date: date, source: str | None = None,
    ) -> bool:  # fmt: skip
        """Replace `source`'s enrolments by its newer SS 12000 observation (`observation`)."""
        merged = newer_observation(self.enrolments_observed, source, observed_at) and observation(
            self.enrolments, enrolments, observed_on, source
        )
        if not merged:
            return False
        listed = [e.as_event() for e in merged]
        if source is None:  # the feed's files: stored as before there were organisers
            trigger(self, "_enrolments_observed", listed, observed_at, birth_date)
        else:
            trigger(self, "_organiser_observed", listed, observed_at, birth_date, source)
        return True

    @event("EnrolmentsObserved", topic=f"{TOPIC}.EnrolmentsObserved")
    def _enrolments_observed(
        self, enrolments: Any, observed_at: datetime, birth_date: date
    ) -> None:
        self._observed(enrolments, observed_at, birth_date, "")

    @event("OrganiserEnrolmentsObserved", topic=f"{TOPIC}.OrganiserEnrolmentsObserved")
    def _organiser_observed(self, enrolments: Any, at: datetime, born: date, source: str) -> None:
        self._observed(enrolments, at, born, source)

    def _observed(self, enrolments: Any, at: datetime, birth_date: date, source: str) -> None:
        self.enrolments = tuple(EnrolmentRecord.from_event(e) for e in enrolments)
        self.enrolments_observed[source] = at
        self.birth_date = self.birth_date or birth_date

    def record_completion(
        self, kind: str, completed_on: date, birth_date: date, record_id: uuid.UUID
    ) -> bool:
        if Completion(kind, completed_on) in self.completions:  # type: ignore[arg-type]
            return False
        trigger(self, "_completion_recorded", kind, completed_on, birth_date, record_id)
        return True

    @event("CompletionRecorded", topic=f"{TOPIC}.CompletionRecorded")
    def _completion_recorded(
        self, kind: str, completed_on: date, birth_date: date, record_id: uuid.UUID
    ) -> None:
        self.completions = (*self.completions, Completion(kind, completed_on))  # type: ignore[arg-type]
        self.birth_date = self.birth_date or birth_date

    def record_school_notification(
        self, *, notification_id: uuid.UUID, tenant: str, kind: str, on: date, school_type: str,
        school_unit: str, birth_date: date, reported_by: str, received_on: date | None = None,
        reporting_organisation: str | None = None, correlation_id: uuid.UUID | None = None,
    ) -> bool:  # fmt: skip
        """A school's notification (skollagen 15 kap. 15 §) to the municipality `tenant`: started,
        left, or absent. False when it was recorded already (a repeat); `NotificationIdTaken` when
        its id names a different notification of this person (another reporter's, or other content).
        """
        said = Notified(tenant, kind, on, school_type, school_unit)
        if is_repeat(self.notifications, self.notification_ids, str(notification_id), said):
            return False
        youth_id = self.youth_ids.get(tenant) or str(uuid.uuid4())
        self._school_notification_received(
            str(notification_id), tenant, youth_id, kind, on, school_type, school_unit, birth_date,
            reported_by, received_on, reporting_organisation, correlation_id,
        )  # fmt: skip
        return True

    @event("SchoolNotificationReceived", topic=f"{TOPIC}.SchoolNotificationReceived")
    def _school_notification_received(
        self,
        notification_id: str,
        tenant: str,
        youth_id: str,
        kind: str,
        on: date,
        school_type: str,
        school_unit: str,
        birth_date: date,
        reported_by: str,
        received_on: date | None = None,
        reporting_organisation: str | None = None,
        correlation_id: uuid.UUID | None = None,  # the request's (absent in older events)
    ) -> None:
        said = Notified(tenant, kind, on, school_type, school_unit)
        self.notification_ids.append(notification_id)
        self.notifications[f"{tenant}/{notification_id}"] = said
        self.youth_ids.setdefault(tenant, youth_id)
        if self.birth_date is None:
            self.birth_date = birth_date
        # What a notification says counts for the municipality it was sent to, and only for it.
        self.enrolments = after_notification(self.enrolments, said)

    # -- scope episodes -------------------------------------------------------------------------

    @event("ScopeEntered", topic=f"{TOPIC}.ScopeEntered")
    def _enter_scope(
        self, tenant: str, youth_id: str, scope_episode_id: str, entered_on: date,
        scope_ends_on: date, rule_version: str, facts: dict[str, str], actor: str,
        correlation_id: uuid.UUID, school_background: str | None = None,
        personal_details: str | None = None, identified_on: date | None = None,
    ) -> None:  # fmt: skip
        self.youth_ids[tenant] = youth_id
        self.open_episodes[tenant] = scope_episode_id
        self.episodes[tenant] = (*self.episodes.get(tenant, ()), Episode(entered_on))
        self.scope_episodes[scope_episode_id] = EpisodeRecord(
            tenant, youth_id, scope_episode_id, entered_on, rule_version
        )

    @event("ScopeLeft", topic=f"{TOPIC}.ScopeLeft")
    def _leave_scope(
        self, tenant: str, youth_id: str, scope_episode_id: str, left_on: date, reason: str,
        rule_version: str, facts: dict[str, str], actor: str, correlation_id: uuid.UUID,
    ) -> None:  # fmt: skip
        self.open_episodes.pop(tenant, None)
        self._close_span(tenant, left_on)
        if (kept := self.scope_episodes.get(scope_episode_id)) is not None:
            self.scope_episodes[scope_episode_id] = kept.left(left_on, reason)

    def mark_registered_in_error(
        self, tenant: str, youth_id: str, scope_episode_id: str, reason: str, *, actor: str,
        correlation_id: uuid.UUID, sealed_note: str | None = None,
    ) -> EpisodeRecord:  # fmt: skip
        """A coordinator of `tenant` says the episode should never have been recorded: it ends
        registered in error as of the day it began (`in_error.episode_to_mark` refuses others)."""
        episode = episode_to_mark(self.scope_episodes, tenant, youth_id, scope_episode_id)
        self._registered_in_error(
            tenant, youth_id, scope_episode_id, episode.entered_on, episode.rule_version, reason,
            actor, correlation_id, sealed_note,
        )  # fmt: skip
        return self.scope_episodes[scope_episode_id]

    @event("RegisteredInError", topic=f"{TOPIC}.RegisteredInError")
    def _registered_in_error(
        self, tenant: str, youth_id: str, scope_episode_id: str, entered_on: date,
        rule_version: str, reason: str, actor: str, correlation_id: uuid.UUID,
        sealed_note: str | None = None,
    ) -> None:  # fmt: skip
        marked = self.scope_episodes[scope_episode_id].left(entered_on, IN_ERROR)
        self.scope_episodes[scope_episode_id] = marked
        if self.open_episodes.get(tenant) == scope_episode_id:
            # No episode re-opens on the facts it was open on (an ended one holds nothing back).
            self.in_error_on[tenant] = self.facts(tenant)
            del self.open_episodes[tenant]
            self._close_span(tenant, entered_on)

    def _close_span(self, tenant: str, left_on: date) -> None:
        spans = self.episodes.get(tenant, ())
        if spans and spans[-1].left_on is None:
            self.episodes[tenant] = (*spans[:-1], Episode(spans[-1].entered_on, left_on))

    def facts(self, tenant: str | None = None) -> YouthFacts | None:
        """The facts as the scope engine takes them for the municipality `tenant` (school
        notifications sent to it count; those sent elsewhere do not); without a tenant, the facts
        of the feeds alone. Kept while the facts they are built from stay the same (`FactsCache`)."""
        if self.birth_date is None:
            return None
        inputs = (self.birth_date, self.registrations, self.enrolments, self.completions,
                  self.registered_in_sweden_on)  # fmt: skip
        # (The name is the one tests and `facts.compact` know; dropping it is always safe.)
        cache: FactsCache | None = getattr(self, "_facts_at_version", None)
        if cache is None or not holds(cache, inputs):
            cache = (inputs, {})
            self._facts_at_version = cache
        return cached_facts(cache, tenant)

    def reevaluate(
        self,
        served: dict[str, TenantPolicy],
        on: date,
        *,
        actor: str,
        correlation_id: uuid.UUID,
        go_live: dict[str, date] | None = None,
    ) -> list[Decision]:
        """Open or close scope episodes in every served municipality the decision concerns
        (`episodes.scope_changes`; with `go_live`, episodes found late are recorded too)."""
        decisions, steps = scope_changes(
            self.facts, served, on, set(self.open_episodes), self.episodes, go_live
        )
        for step in without_marked(steps, self.in_error_on, self.facts):
            tenant, decision = step.tenant, step.decision
            if isinstance(step, Enter):  # (`trigger`: the library's event, made cheaper)
                trigger(self, "_enter_scope",
                    tenant=tenant, youth_id=self.youth_ids.get(tenant) or str(uuid.uuid4()),
                    scope_episode_id=str(uuid.uuid4()), entered_on=step.entered_on,
                    scope_ends_on=step.scope_ends_on, rule_version=decision.rule_version,
                    facts=decision.facts, actor=actor, correlation_id=correlation_id,
                    school_background=step.school_background,
                    personal_details=self.personal_details.get(tenant), identified_on=on,
                )  # fmt: skip
            else:
                trigger(self, "_leave_scope",
                    tenant=tenant, youth_id=self.youth_ids[tenant],
                    scope_episode_id=self.open_episodes[tenant], left_on=step.left_on,
                    reason=step.reason, rule_version=decision.rule_version, facts=decision.facts,
                    actor=actor, correlation_id=correlation_id,
                )  # fmt: skip
        return decisions

    def next_evaluation(self, served: dict[str, TenantPolicy], after: date) -> date | None:
        """When time alone may change this person's scope in any served municipality: one they
        are, were or will be folkbokförd in, or one that knows them (a youth id, an open
        episode). In any other the scope rule cannot take them in, and a consortium of the whole
        country would otherwise work out, and keep, 290 municipalities' facts for every person."""
        if self.birth_date is None:
            return None
        where = {r.kommunkod for r in self.registrations} | set(self.youth_ids)
        where |= set(self.open_episodes)
        return next_evaluation(self.facts, {t: served[t] for t in where if t in served}, after)
