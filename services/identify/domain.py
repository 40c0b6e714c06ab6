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
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from eventsourcing.domain import Aggregate, event

from services.identify.scope import (
    Completion,
    Decision,
    Enrolment,
    Residence,
    TenantPolicy,
    YouthFacts,
    closed_periods,
    decide,
    next_change,
    school_background,
    status_since,
    twentieth_birthday,
)
from shared.pseudonym import person_id

STATUS_BY_CHANGE = {"emigrated": "emigrated", "deceased": "deceased"}
# Records that describe a state (where the person lives now), not an arrival on their date.
STATE_RECORDS = frozenset({"baseline", "address_changed", "protection_changed"})


class NotificationIdTaken(ValueError):
    """A school notification's client-chosen id already names a different notification."""

    field = "notification_id"
    reason = "already used for a different notification; choose a new id"


class Person(Aggregate):
    @staticmethod
    def create_id(person_key: str) -> uuid.UUID:
        return person_id(person_key)

    @event("Registered")
    def __init__(self, person_key: str) -> None:
        self.person_key = person_key
        self.birth_date: date | None = None
        self.registered_in_sweden_on: date | None = None
        self.protected = False
        self.residences: list[dict[str, Any]] = []
        self.enrolments: list[dict[str, Any]] = []
        self.enrolments_observed_at: datetime | None = None
        self.completions: list[dict[str, Any]] = []
        self.notification_ids: list[str] = []
        # Per "<tenant>/<notification id>": what the notification said (a repeat adds nothing,
        # the same id for something else is refused).
        self.notifications: dict[str, list[str]] = {}
        self.youth_ids: dict[str, str] = {}
        self.open_episodes: dict[str, str] = {}
        # Per municipality: every episode as [entered_on, left_on or None], in order.
        self.episodes: dict[str, list[list[str | None]]] = {}
        # Per municipality: the personal details it received, sealed with the youth's data key,
        # and a keyed digest of them (to see a change without opening them).
        self.personal_details: dict[str, str] = {}
        self.details_digests: dict[str, str] = {}

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
        start = (
            registered_in_municipality_on.isoformat()
            if registered_in_municipality_on is not None and status == "resident"
            else None
        )
        for known in self.residences:
            if known["since"] == effective_date.isoformat():
                same = (known["kommunkod"], known["status"], known.get("from")) == (
                    kommunkod,
                    status,
                    start,
                )
                # Same effective date: the later observation wins (on a tie, the later delivery).
                newer = datetime.fromisoformat(known["observed_at"]) > observed_at
                if newer or (same and not details_changed):
                    return False
        youth_id = self.youth_ids.get(tenant) or str(uuid.uuid4())
        sealed = seal(uuid.UUID(youth_id))
        self._population_recorded(
            kommunkod, status, birth_date, protected, change_type, effective_date, observed_at,
            registered_in_sweden_on, record_id, tenant, youth_id, sealed, details_digest,
            registered_in_municipality_on,
        )  # fmt: skip
        if details_changed and tenant in self.open_episodes:
            # The municipality already has the youth in scope (entered perhaps on another
            # municipality's report of a move): it receives the details it now holds.
            self._details_announced(tenant, youth_id, sealed, record_id)
        return True

    @event("DetailsAnnounced")
    def _details_announced(
        self, tenant: str, youth_id: str, personal_details: str, record_id: uuid.UUID
    ) -> None:
        pass

    @event("PopulationRecorded")
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
        since = effective_date.isoformat()
        self.residences = [r for r in self.residences if r["since"] != since]
        self.residences.append(
            {
                "since": since,
                "kommunkod": kommunkod,
                "status": status,
                "observed_at": observed_at.isoformat(),
                "change_type": change_type,
                "from": (
                    registered_in_municipality_on.isoformat()
                    if registered_in_municipality_on is not None and status == "resident"
                    else None
                ),
            }
        )
        self.residences.sort(key=lambda r: r["since"])
        self.birth_date = birth_date
        self.protected = protected
        if registered_in_sweden_on is not None:
            self.registered_in_sweden_on = registered_in_sweden_on

    def observe_enrolments(
        self,
        enrolments: list[dict[str, Any]],
        observed_at: datetime,
        observed_on: date,
        birth_date: date,
    ) -> bool:
        """Replace the known enrolments with an SS 12000 observation (a Person lists all of them).

        An observation older than the last one is ignored; one that lists the same enrolments
        adds nothing. An undated enrolment keeps the day it was first observed.
        """
        if self.enrolments_observed_at is not None and observed_at <= self.enrolments_observed_at:
            return False
        first_seen = {_enrolment_key(e): e.get("observed_on") for e in self.enrolments}
        merged = [
            {**e, "observed_on": first_seen.get(_enrolment_key(e)) or observed_on.isoformat()}
            for e in enrolments
        ]
        if sorted(map(_enrolment_key, merged)) == sorted(map(_enrolment_key, self.enrolments)):
            return False
        self._enrolments_observed(merged, observed_at, birth_date)
        return True

    @event("EnrolmentsObserved")
    def _enrolments_observed(
        self, enrolments: list[dict[str, Any]], observed_at: datetime, birth_date: date
    ) -> None:
        self.enrolments = enrolments
        self.enrolments_observed_at = observed_at
        if self.birth_date is None:
            self.birth_date = birth_date

    def record_completion(
        self, kind: str, completed_on: date, birth_date: date, record_id: uuid.UUID
    ) -> bool:
        if any(
            c["kind"] == kind and c["completed_on"] == completed_on.isoformat()
            for c in self.completions
        ):
            return False
        self._completion_recorded(kind, completed_on, birth_date, record_id)
        return True

    @event("CompletionRecorded")
    def _completion_recorded(
        self, kind: str, completed_on: date, birth_date: date, record_id: uuid.UUID
    ) -> None:
        self.completions.append({"kind": kind, "completed_on": completed_on.isoformat()})
        if self.birth_date is None:
            self.birth_date = birth_date

    def record_school_notification(
        self,
        *,
        notification_id: uuid.UUID,
        tenant: str,
        kind: str,
        on: date,
        school_type: str,
        school_unit: str,
        birth_date: date,
        reported_by: str,
        received_on: date | None = None,
        reporting_organisation: str | None = None,
        correlation_id: uuid.UUID | None = None,
    ) -> bool:
        """A school's notification (skollagen 15 kap. 15 §) to the municipality `tenant`: started,
        left, or absent. False when it was recorded already (a repeat); `NotificationIdTaken` when
        its id names a different notification of this person (another reporter's, or other content).
        """
        said = [tenant, kind, on.isoformat(), school_type, school_unit]
        known = self.notifications.get(f"{tenant}/{notification_id}")
        if known is not None:
            if known == said:
                return False
            raise NotificationIdTaken(NotificationIdTaken.reason)
        if str(notification_id) in self.notification_ids:
            raise NotificationIdTaken(NotificationIdTaken.reason)
        youth_id = self.youth_ids.get(tenant) or str(uuid.uuid4())
        self._school_notification_received(
            str(notification_id),
            tenant,
            youth_id,
            kind,
            on,
            school_type,
            school_unit,
            birth_date,
            reported_by,
            received_on,
            reporting_organisation,
            correlation_id,
        )
        return True

    @event("SchoolNotificationReceived")
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
        self.notification_ids.append(notification_id)
        self.notifications[f"{tenant}/{notification_id}"] = [
            tenant, kind, on.isoformat(), school_type, school_unit,
        ]  # fmt: skip
        self.youth_ids.setdefault(tenant, youth_id)
        if self.birth_date is None:
            self.birth_date = birth_date
        # What a notification says counts for the municipality it was sent to, and only for it.
        if kind == "started":
            self.enrolments.append(
                {"school_type": school_type, "school_unit": school_unit, "cancelled": False,
                 "start_date": on.isoformat(), "end_date": None, "observed_on": on.isoformat(),
                 "education_code": None, "notified_to": tenant}
            )  # fmt: skip
        elif kind == "left":
            # The student's enrolments of that school type end the day before they left.
            ended = date.fromordinal(on.toordinal() - 1).isoformat()
            for enrolment in self.enrolments:
                if enrolment["school_type"] != school_type or enrolment.get("end_date"):
                    continue
                if enrolment.get("notified_to") == tenant:
                    enrolment["end_date"] = ended
                elif enrolment.get("notified_to") is None:
                    left = dict(enrolment.get("left_notified") or {})
                    left.setdefault(tenant, ended)
                    enrolment["left_notified"] = left

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
        school_background: str | None = None,
        personal_details: str | None = None,
        identified_on: date | None = None,
    ) -> None:
        self.youth_ids[tenant] = youth_id
        self.open_episodes[tenant] = scope_episode_id
        self.episodes.setdefault(tenant, []).append([entered_on.isoformat(), None])

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
        spans = self.episodes.get(tenant)
        if spans and spans[-1][1] is None:
            spans[-1][1] = left_on.isoformat()

    def facts(self, tenant: str | None = None) -> YouthFacts | None:
        """The facts as the scope engine takes them for the municipality `tenant` (school
        notifications sent to it count; those sent elsewhere do not); without a tenant, the facts
        of the feeds alone. Kept until the next event changes them."""
        cached: tuple[int, dict[str | None, YouthFacts | None]] | None = getattr(
            self, "_facts_at_version", None
        )
        if cached is None or cached[0] != self.version:
            cached = (self.version, {})
            self._facts_at_version = cached
        if tenant not in cached[1]:
            cached[1][tenant] = self._facts(tenant)
        return cached[1][tenant]

    def _facts(self, tenant: str | None) -> YouthFacts | None:
        if self.birth_date is None:
            return None
        return YouthFacts(
            birth_date=self.birth_date,
            residences=self._residences(self.birth_date),
            enrolments=tuple(
                _enrolment(e, tenant)
                for e in self.enrolments
                if e.get("notified_to") is None or e.get("notified_to") == tenant
            ),
            completions=tuple(
                Completion(c["kind"], date.fromisoformat(c["completed_on"]))
                for c in self.completions
            ),
            registered_in_sweden_on=self.registered_in_sweden_on,
        )

    def _residences(self, birth_date: date) -> tuple[Residence, ...]:
        """Folkbokföring as a history, each residence from the day the facts give.

        A move is dated by its effective date. A record that describes a state (a baseline
        extract, an address or protection change) counts from the day it says the person became
        folkbokförd in the municipality; without that day, from birth when nothing earlier is
        known (the extract does not say they arrived on its date), else from its own date, the
        latest the change can have happened.
        """
        out: list[Residence] = []
        previous: date | None = None
        for r in self.residences:  # sorted by effective date
            since = date.fromisoformat(r["since"])
            start = since
            if r.get("from"):
                start = min(date.fromisoformat(r["from"]), since)
            elif r["status"] == "resident" and r.get("change_type") in STATE_RECORDS:
                start = birth_date if previous is None else since
            if previous is not None and start <= previous:
                start = previous + timedelta(days=1)  # never before the record it follows
            start = min(start, since)
            out.append(Residence(start, r["kommunkod"], r["status"]))
            previous = start
        return tuple(out)

    def reevaluate(
        self,
        served: dict[str, TenantPolicy],
        on: date,
        *,
        actor: str,
        correlation_id: uuid.UUID,
        go_live: dict[str, date] | None = None,
    ) -> list[Decision]:
        """Open or close scope episodes in every served municipality the decision concerns.

        With `go_live` (per municipality, the day it started using kaa): an episode the facts
        show began and ended since then, which no recorded episode covers (facts that arrived
        late), is recorded with its real dates, entered and left at once."""
        base = self.facts()
        if base is None:
            return []
        residence = base.residence_on(on)
        concerned = {
            t for t in served if (residence and residence.kommunkod == t) or t in self.open_episodes
        }
        if go_live:  # a municipality the youth lived in since its go-live may have a history
            concerned |= {r.kommunkod for r in base.residences if r.kommunkod in go_live}
        decisions = []
        for tenant in sorted(concerned):
            policy = served[tenant]
            facts = self.facts(tenant)
            assert facts is not None
            started = (go_live or {}).get(tenant)
            if started is not None and started < on:
                self._record_late_episodes(
                    tenant, facts, started, on, policy, actor, correlation_id
                )
            decision = decide(facts, tenant, on, policy)
            decisions.append(decision)
            open_episode = self.open_episodes.get(tenant)
            if decision.in_scope and open_episode is None:
                entered_on = status_since(facts, tenant, on, policy)
                self._enter_scope(
                    tenant=tenant,
                    youth_id=self.youth_ids.get(tenant) or str(uuid.uuid4()),
                    scope_episode_id=str(uuid.uuid4()),
                    entered_on=entered_on,
                    scope_ends_on=twentieth_birthday(facts.birth_date),
                    rule_version=decision.rule_version,
                    facts=decision.facts,
                    actor=actor,
                    correlation_id=correlation_id,
                    school_background=school_background(facts, entered_on),
                    personal_details=self.personal_details.get(tenant),
                    identified_on=on,
                )
            elif not decision.in_scope and open_episode is not None:
                self._leave_scope(
                    tenant=tenant,
                    youth_id=self.youth_ids[tenant],
                    scope_episode_id=open_episode,
                    left_on=status_since(facts, tenant, on, policy),
                    reason=decision.leaving_reason or "registered_in_error",
                    rule_version=decision.rule_version,
                    facts=decision.facts,
                    actor=actor,
                    correlation_id=correlation_id,
                )
        return decisions

    def _record_late_episodes(
        self,
        tenant: str,
        facts: YouthFacts,
        go_live: date,
        on: date,
        policy: TenantPolicy,
        actor: str,
        correlation_id: uuid.UUID,
    ) -> None:
        if tenant in self.open_episodes:
            return  # the open episode is decided below; a gap inside it is not a new one
        recorded = [
            (date.fromisoformat(str(a)), date.fromisoformat(b) if b else date.max)
            for a, b in self.episodes.get(tenant, [])
        ]
        for entered_on, left_on, reason in closed_periods(facts, tenant, go_live, on, policy):
            if left_on <= go_live or any(
                entered_on < until and start < left_on for start, until in recorded
            ):
                continue
            youth_id = self.youth_ids.get(tenant) or str(uuid.uuid4())
            episode = str(uuid.uuid4())
            self._enter_scope(
                tenant=tenant, youth_id=youth_id, scope_episode_id=episode,
                entered_on=entered_on, scope_ends_on=twentieth_birthday(facts.birth_date),
                rule_version=decide(facts, tenant, entered_on, policy).rule_version,
                facts=decide(facts, tenant, entered_on, policy).facts, actor=actor,
                correlation_id=correlation_id, school_background=school_background(facts, entered_on),
                personal_details=self.personal_details.get(tenant), identified_on=on,
            )  # fmt: skip
            left = decide(facts, tenant, left_on, policy)
            self._leave_scope(
                tenant=tenant, youth_id=youth_id, scope_episode_id=episode, left_on=left_on,
                reason=reason, rule_version=left.rule_version, facts=left.facts, actor=actor,
                correlation_id=correlation_id,
            )  # fmt: skip

    def next_evaluation(self, served: dict[str, TenantPolicy], after: date) -> date | None:
        """When time alone may change this person's scope in any served municipality."""
        if self.birth_date is None:
            return None
        dates = []
        for tenant, policy in served.items():
            facts = self.facts(tenant)
            change = next_change(facts, after, policy) if facts is not None else None
            if change is not None:
                dates.append(change)
        return min(dates, default=None)


def _enrolment_key(e: dict[str, Any]) -> tuple[str, ...]:
    return tuple(
        str(e.get(k) or "")
        for k in (
            "school_type",
            "school_unit",
            "education_code",
            "cancelled",
            "start_date",
            "end_date",
        )
    )


def _enrolment(e: dict[str, Any], tenant: str | None = None) -> Enrolment:
    def day(key: str) -> date | None:
        value = e.get(key)
        return date.fromisoformat(value) if value else None

    end_date = day("end_date")
    left = (e.get("left_notified") or {}).get(tenant) if tenant is not None else None
    if end_date is None and left:
        end_date = date.fromisoformat(left)  # the school told this municipality it ended
    return Enrolment(
        school_type=e["school_type"],
        cancelled=bool(e.get("cancelled")),
        start_date=day("start_date"),
        end_date=end_date,
        observed_on=day("observed_on"),
        education_code=e.get("education_code"),
    )
