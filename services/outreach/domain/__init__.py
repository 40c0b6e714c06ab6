"""The outreach case: the caseworker's contact work with a youth (DOMAIN.md sections 3, 4 and 8).

Contact attempts over a channel with an outcome, contact established, the youth informed about the
offer, occupations (previous, current, planned) coded in a versioned code list, and who owns the
case. Nothing is overwritten: every fact is an event, a correction is a new fact.

The contact clock (Skolverket's advice: contact "as soon as possible") measures the municipality's
response, so it starts when the municipality could know: the day identify recorded the scope
episode (the episode keeps its legal entry date, which may lie long before, e.g. a youth found in
a first population extract), or the day a school's notification of a leaver or absence arrived
while no clock is running. The first contact attempt and the first contact on or after the day
the clock's event happened (the entry, the notification's day) stop it. Worklists and clock
figures are read from the case's summary row, written in the same transaction as its events.

A client-chosen id (contact attempt, contact, information, occupation) records a fact once: the
same id with the same content again is a retry (nothing new), with other content a conflict.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from eventsourcing.domain import event

from services.outreach.domain.clock import new_clock
from services.outreach.domain.corrections import Corrections, check_occupation
from shared.casework.domain import CommandRefused, ScopedYouthCase
from shared.contracts.events import SchoolNotificationReceived


class OutreachCase(Corrections, ScopedYouthCase):
    @event("Opened")
    def __init__(self, youth_id: uuid.UUID, tenant: str) -> None:
        self._start_case(tenant)
        self.contact_attempt_ids: tuple[str, ...] = ()
        self.last_attempt_on: date | None = None
        self.last_attempt_outcome: str | None = None
        self.last_contact_on: date | None = None
        self.informed_on: date | None = None
        self.occupations: list[dict[str, Any]] = []
        self.assignee_kind: str | None = None
        self.assignee: str | None = None
        self.notification_ids: tuple[str, ...] = ()
        self.contact_details_digest: str | None = None
        self.clock: dict[str, Any] | None = None
        self.clock_since = 0  # the version of the event that started it
        # What each client-chosen id recorded ("attempt/<id>", "contact/<id>", "information/<id>").
        self.recorded_ids: dict[str, list[str]] = {}
        # Every fact a caseworker recorded, by its event's version, to correct or withdraw.
        self.entries: dict[int, dict[str, Any]] = {}

    # -- the contact clock ----------------------------------------------------------------------

    def scope_opened(self) -> None:
        assert self.entered_on is not None
        known = self.identified_on or self.entered_on  # events from before it was named
        self.clock = new_clock(max(known, self.entered_on), "scope_entry", self.entered_on)
        self.clock_since = self.version + 1  # attempts recorded after it stop it

    def on_school_notification(self, message: SchoolNotificationReceived) -> None:
        if str(message.notification_id) in self.notification_ids:
            return
        starts_clock = (
            message.kind in ("left", "absence")
            and self.in_scope
            and (self.clock is None or self.clock["first_attempt_on"] is not None)
        )
        self._school_notification_noted(
            str(message.notification_id), message.kind, message.on, starts_clock, message.event_id,
            message.received_on,
        )  # fmt: skip

    @event("SchoolNotificationNoted")
    def _school_notification_noted(
        self,
        notification_id: str,
        kind: str,
        on: date,
        starts_clock: bool,
        cause: uuid.UUID,
        received_on: date | None = None,
    ) -> None:
        self.notification_ids = (*self.notification_ids, notification_id)
        if starts_clock:
            self.clock = new_clock(max(received_on or on, on), "school_notification", on)
            self.clock_since = self.version + 1

    def _stop_clock(self, on: date, contact: bool) -> None:
        clock = self.clock
        if clock is None or on < clock.get("event_on", clock["from"]):
            return
        if clock["first_attempt_on"] is None:
            clock["first_attempt_on"] = on
        if contact and clock["first_contact_on"] is None:
            clock["first_contact_on"] = on

    # -- commands -------------------------------------------------------------------------------

    def attempt_contact(
        self,
        contact_attempt_id: uuid.UUID,
        channel: str,
        outcome: str,
        attempted_at: datetime,
        actor: str,
        correlation_id: uuid.UUID,
    ) -> bool:
        """Record a contact attempt; False when this attempt id was already recorded with the same
        content (a retry); refused (409) when the id was recorded with other content."""
        self.check_date("attempted_at", attempted_at)
        said = [channel, outcome, _instant(attempted_at)]
        if self._seen("attempt", contact_attempt_id, said, "contact_attempt_id"):
            return False
        self._contact_attempted(
            self.tenant,
            str(contact_attempt_id),
            channel,
            outcome,
            attempted_at,
            actor,
            correlation_id,
        )
        return True

    @event("ContactAttempted")
    def _contact_attempted(
        self,
        tenant: str,
        contact_attempt_id: str,
        channel: str,
        outcome: str,
        attempted_at: datetime,
        actor: str,
        correlation_id: uuid.UUID,
    ) -> None:
        self.contact_attempt_ids = (*self.contact_attempt_ids, contact_attempt_id)
        self._entered("ContactAttempted", actor, {"contact_attempt_id": contact_attempt_id,
                      "channel": channel, "outcome": outcome, "attempted_at": attempted_at})  # fmt: skip
        self.recorded_ids[f"attempt/{contact_attempt_id}"] = [
            channel, outcome, _instant(attempted_at),
        ]  # fmt: skip
        on = attempted_at.date()
        if self.last_attempt_on is None or on >= self.last_attempt_on:
            self.last_attempt_on = on
            self.last_attempt_outcome = outcome
        if outcome == "reached":
            self.last_contact_on = max(on, self.last_contact_on or on)
        self._stop_clock(on, contact=outcome == "reached")

    def establish_contact(
        self,
        established_at: datetime,
        channel: str,
        actor: str,
        correlation_id: uuid.UUID,
        contact_id: uuid.UUID | None = None,
    ) -> bool:
        """Contact established; False when `contact_id` was recorded with the same content."""
        self.check_date("at", established_at)
        said = [channel, _instant(established_at)]
        if contact_id is not None and self._seen("contact", contact_id, said, "contact_id"):
            return False
        self._contact_established(
            self.tenant, established_at, channel, actor, correlation_id,
            str(contact_id) if contact_id else None,
        )  # fmt: skip
        return True

    @event("ContactEstablished")
    def _contact_established(
        self,
        tenant: str,
        established_at: datetime,
        channel: str,
        actor: str,
        correlation_id: uuid.UUID,
        contact_id: str | None = None,
    ) -> None:
        if contact_id is not None:
            self.recorded_ids[f"contact/{contact_id}"] = [channel, _instant(established_at)]
        self._entered("ContactEstablished", actor, {"established_at": established_at,
                      "channel": channel, "contact_id": contact_id})  # fmt: skip
        on = established_at.date()
        self.last_contact_on = max(on, self.last_contact_on or on)
        self._stop_clock(on, contact=True)

    def inform(
        self,
        informed_at: datetime,
        channel: str,
        actor: str,
        correlation_id: uuid.UUID,
        information_id: uuid.UUID | None = None,
    ) -> bool:
        """The youth informed; False when `information_id` was recorded with the same content."""
        self.check_date("at", informed_at)
        said = [channel, _instant(informed_at)]
        if information_id is not None and self._seen(
            "information", information_id, said, "information_id"
        ):
            return False
        self._youth_informed(
            self.tenant, informed_at, channel, actor, correlation_id,
            str(information_id) if information_id else None,
        )  # fmt: skip
        return True

    @event("YouthInformed")
    def _youth_informed(
        self,
        tenant: str,
        informed_at: datetime,
        channel: str,
        actor: str,
        correlation_id: uuid.UUID,
        information_id: str | None = None,
    ) -> None:
        if information_id is not None:
            self.recorded_ids[f"information/{information_id}"] = [channel, _instant(informed_at)]
        self.informed_on = informed_at.date()
        self._entered("YouthInformed", actor, {"informed_at": informed_at, "channel": channel,
                      "information_id": information_id})  # fmt: skip

    def record_occupation(
        self,
        *,
        occupation_id: uuid.UUID,
        category: str,
        tense: str,
        from_date: date,
        to_date: date | None,
        confirmed_on: date,
        actor: str,
        correlation_id: uuid.UUID,
        confirmed_on_given: bool = True,
    ) -> bool:
        """Record what the youth does, did or will do; False when this id was already recorded
        with the same content, refused (409) when with other content. A `confirmed_on` the
        client left to its default (today) is not part of the content: a retry the next day is
        the same request."""
        self.check_date("from_date", from_date)
        self.check_date("to_date", to_date)
        self.check_date("confirmed_on", confirmed_on)
        for known in self.originals("OccupationRecorded"):
            if known["occupation_id"] == str(occupation_id):
                same = [known[k] for k in ("category", "tense", "from_date", "to_date")] == [
                    category, tense, from_date, to_date,
                ]  # fmt: skip
                if not same or (confirmed_on_given and known["confirmed_on"] != confirmed_on):
                    raise CommandRefused("occupation_id", TAKEN, conflict=True)
                return False
        codes = check_occupation(category, tense, from_date, to_date, confirmed_on)
        self._occupation_recorded(
            self.tenant, str(occupation_id), category, codes, tense, from_date, to_date, confirmed_on,
            actor, correlation_id,
        )  # fmt: skip
        return True

    @event("OccupationRecorded")
    def _occupation_recorded(
        self,
        tenant: str,
        occupation_id: str,
        category: str,
        code_list_version: str,
        tense: str,
        from_date: date,
        to_date: date | None,
        confirmed_on: date,
        actor: str,
        correlation_id: uuid.UUID,
    ) -> None:
        values = {
            "occupation_id": occupation_id, "category": category,
            "code_list_version": code_list_version, "tense": tense, "from_date": from_date,
            "to_date": to_date, "confirmed_on": confirmed_on,
        }  # fmt: skip
        self.occupations.append(dict(values))
        self._entered("OccupationRecorded", actor, values)

    def record_contact_details(
        self, sealed: str, digest: str, actor: str, correlation_id: uuid.UUID
    ) -> bool:
        """How to reach the youth, sealed; False when the same details are already recorded
        (compared by a digest keyed with the youth's own data key)."""
        if getattr(self, "contact_details_digest", None) == digest:
            return False
        self._contact_details_recorded(self.tenant, sealed, digest, actor, correlation_id)
        return True

    @event("ContactDetailsRecorded")
    def _contact_details_recorded(
        self, tenant: str, contact_details: str, digest: str, actor: str, correlation_id: uuid.UUID
    ) -> None:
        self.contact_details_digest = digest
        self._entered("ContactDetailsRecorded", actor,
                      {"contact_details": contact_details, "digest": digest})  # fmt: skip

    def assign(
        self, assignee_kind: str, assignee: str, actor: str, correlation_id: uuid.UUID
    ) -> bool:
        """Give the case to a caseworker or a team; False when it already is theirs."""
        if (self.assignee_kind, self.assignee) == (assignee_kind, assignee):
            return False
        self._case_assigned(
            self.tenant, assignee_kind, assignee, self.assignee, actor, correlation_id
        )
        return True

    @event("CaseAssigned")
    def _case_assigned(
        self,
        tenant: str,
        assignee_kind: str,
        assignee: str,
        previous_assignee: str | None,
        actor: str,
        correlation_id: uuid.UUID,
    ) -> None:
        self.assignee_kind = assignee_kind
        self.assignee = assignee
        self._entered("CaseAssigned", actor, {"assignee_kind": assignee_kind,
                      "assignee": assignee, "previous_assignee": previous_assignee})  # fmt: skip

    # -- corrections and withdrawals (the commands: `Corrections`) ------------------------------

    @event("EntryCorrected")
    def _entry_corrected(
        self, tenant: str, corrects: int, event_type: str, values: dict[str, Any], actor: str,
        correlation_id: uuid.UUID, reason: str, sealed_note: str | None, corrected_at: datetime,
    ) -> None:  # fmt: skip
        why = {"reason": reason, "sealed_note": sealed_note, "at": corrected_at}
        self._entered(event_type, actor, values, corrects, why)

    @event("EntryWithdrawn")
    def _entry_withdrawn(
        self, tenant: str, withdraws: int, withdrawn_event_type: str, actor: str,
        correlation_id: uuid.UUID, reason: str, sealed_note: str | None, withdrawn_at: datetime,
    ) -> None:  # fmt: skip
        self._withdrawn(withdraws, actor, {"reason": reason, "sealed_note": sealed_note,
                                           "at": withdrawn_at})  # fmt: skip

    def _seen(self, kind: str, client_id: uuid.UUID, said: list[str], field: str) -> bool:
        """True when this client id recorded the same already; refused when something else."""
        known = self.recorded_ids.get(f"{kind}/{client_id}")
        if known is None:
            return False
        if known != said:
            raise CommandRefused(field, TAKEN, conflict=True)
        return True

    # -- what the case view and the worklists read ----------------------------------------------

    def current_occupation(self) -> dict[str, Any] | None:
        """The latest confirmed occupation that is current (None: unknown)."""
        current = [o for o in self.occupations if o["tense"] == "current"]
        return max(current, key=lambda o: (o["confirmed_on"], o["from_date"]), default=None)


TAKEN = "already used for different content; choose a new id"


def _instant(at: datetime) -> str:
    return at.astimezone(UTC).isoformat()
