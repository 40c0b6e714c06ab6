"""Correcting and withdrawing what a caseworker recorded on an outreach case (a contact attempt,
contact established, the youth informed, an occupation, contact details, an assignment), as the
corrections contract says (`shared/contracts/events/corrections.py`).

Every such fact is an entry, known by the version of the event that recorded it (callers know it
by the event id made from that version: `EntryIds`). A correction records the fact again with new
values and takes its place (it keeps the entity's id: the attempt's, the occupation's); a
withdrawal takes it out. Nothing is forgotten: every entry stays, marked corrected (by which
entry, who, when, why) or withdrawn. What the case shows (the last attempt, the contact clock,
the occupations, who holds the case) is worked out again from the entries that stand (`refold`).

Rules: the entry named must be this youth's (`EntryNotFound`, 404 naming the field); a correction
names the latest version of the fact (one corrected since: 409 naming the newer event id); a
withdrawn entry cannot be corrected or withdrawn again (409); new values are checked as recording
them would be (422 naming the field). The same request again (the same values, the same reason)
is a retry: nothing new is recorded.

`Corrections` holds the case's commands; the events they record are the case's own
(`OutreachCase.EntryCorrected`, `EntryWithdrawn`), so their stored topics name it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from shared.casework.domain import CaseNotFound, CommandRefused, Why
from shared.codelists import code_list

EntryIds = Callable[[int], uuid.UUID]
"""An entry's version → the event id callers know it by (the public event's id)."""


KEPT: Mapping[str, tuple[str, ...]] = {
    "ContactAttempted": ("contact_attempt_id",),
    "ContactEstablished": ("contact_id",),
    "YouthInformed": ("information_id",),
    "OccupationRecorded": ("occupation_id",),
    "ContactDetailsRecorded": (),
    "CaseAssigned": ("previous_assignee",),
}
"""The facts that are entries, and what a correction of each keeps of the entry (its ids)."""

OCCUPATION_KEYS = (
    "occupation_id", "category", "code_list_version", "tense", "from_date", "to_date",
    "confirmed_on",
)  # fmt: skip
UNCOMPARED = frozenset({"contact_details"})  # sealed anew each time: compared by their digest


class EntryNotFound(CaseNotFound):
    """The event id named is no entry of this youth's outreach case: 404 naming the field
    (`corrects`, `withdraws`)."""

    def __init__(self, field: str) -> None:
        super().__init__(f"{field}: no such entry of this youth's outreach case")
        self.field = field


def check_occupation(
    category: str,
    tense: str,
    from_date: date,
    to_date: date | None,
    confirmed_on: date,
    prefix: str = "",
) -> str:
    """Refuse an occupation that does not add up (naming `prefix` + the field); the version of
    the occupation code list on the day it was confirmed."""
    codes = code_list("occupation", on=confirmed_on)
    if category not in codes.codes:
        raise CommandRefused(
            f"{prefix}category",
            f"unknown occupation code (code list {codes.name} version {codes.version})",
        )
    if to_date is not None and to_date < from_date:
        raise CommandRefused(f"{prefix}to_date", "is before from_date")
    if tense == "previous" and (to_date is None or to_date > confirmed_on):
        raise CommandRefused(f"{prefix}to_date", "a previous occupation has ended by confirmed_on")
    if tense == "current" and (
        from_date > confirmed_on or (to_date is not None and to_date < confirmed_on)
    ):
        raise CommandRefused(f"{prefix}from_date", "a current occupation includes confirmed_on")
    if tense == "planned" and from_date <= confirmed_on:
        raise CommandRefused(f"{prefix}from_date", "a planned occupation starts after confirmed_on")
    return codes.version


def compared(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if k not in UNCOMPARED}


class Corrections:
    """The entries of the case and the commands that correct or withdraw one (mixed into
    `OutreachCase`)."""

    if TYPE_CHECKING:
        tenant: str
        version: int
        entries: dict[int, dict[str, Any]]
        clock: dict[str, Any] | None
        clock_since: int
        last_attempt_on: date | None
        last_attempt_outcome: str | None
        last_contact_on: date | None
        informed_on: date | None
        occupations: list[dict[str, Any]]
        assignee_kind: str | None
        assignee: str | None
        contact_details_digest: str | None

        def check_date(
            self,
            field: str,
            value: date | datetime | None,
            *,
            today: date | None = None,
            since_law: bool = True,
        ) -> None: ...

        def _stop_clock(self, on: date, contact: bool) -> None: ...

        def _entry_corrected(
            self, tenant: str, corrects: int, event_type: str, values: dict[str, Any],
            actor: str, correlation_id: uuid.UUID, reason: str, sealed_note: str | None,
            corrected_at: datetime,
        ) -> None: ...  # fmt: skip

        def _entry_withdrawn(
            self, tenant: str, withdraws: int, withdrawn_event_type: str, actor: str,
            correlation_id: uuid.UUID, reason: str, sealed_note: str | None,
            withdrawn_at: datetime,
        ) -> None: ...  # fmt: skip

    # -- applying what was recorded (inside an event's apply: its version is the next) ---------

    def _entered(
        self,
        event_type: str,
        actor: str,
        values: Mapping[str, Any],
        corrects: int | None = None,
        why: Mapping[str, Any] | None = None,
    ) -> None:
        version = self.version + 1
        self.entries[version] = {
            "version": version, "event_type": event_type, "actor": actor, "values": dict(values),
            "corrects": corrects, "correction": dict(why) if why else None, "corrected": None,
            "withdrawn": None,
        }  # fmt: skip
        if corrects is not None and why is not None:
            self.entries[corrects]["corrected"] = {"by": version, "actor": actor, **why}
            self.refold()

    def _withdrawn(self, withdraws: int, actor: str, why: Mapping[str, Any]) -> None:
        self.entries[withdraws]["withdrawn"] = {"by": self.version + 1, "actor": actor, **why}
        self.refold()

    def standing(self) -> Iterator[tuple[int, dict[str, Any]]]:
        """Each fact as it stands (the latest of its corrections), at the place it was first
        recorded, with that first version; withdrawn ones left out."""
        for version, entry in self.entries.items():
            if entry["corrects"] is not None:
                continue
            latest = entry
            while latest["corrected"] is not None:
                latest = self.entries[latest["corrected"]["by"]]
            if latest["withdrawn"] is None:
                yield version, latest

    def originals(self, event_type: str) -> list[dict[str, Any]]:
        """The values each fact of the type was first recorded with (withdrawn ones too): what a
        retry of the recording compares with."""
        return [
            e["values"]
            for e in self.entries.values()
            if e["event_type"] == event_type and e["corrects"] is None
        ]

    def refold(self) -> None:
        """What the case shows, worked out again from the facts that stand, in the order they
        were first recorded; the contact clock stopped by the attempts and contacts recorded
        since it started."""
        self.last_attempt_on = self.last_attempt_outcome = self.last_contact_on = None
        self.informed_on = self.assignee_kind = self.assignee = None
        self.contact_details_digest = None
        self.occupations = []
        clock = self.clock
        if clock is not None:
            clock["first_attempt_on"] = clock["first_contact_on"] = None
        since = self.clock_since
        for first, entry in self.standing():
            kind, values = entry["event_type"], entry["values"]
            if kind == "ContactAttempted":
                on, reached = values["attempted_at"].date(), values["outcome"] == "reached"
                if self.last_attempt_on is None or on >= self.last_attempt_on:
                    self.last_attempt_on, self.last_attempt_outcome = on, values["outcome"]
                if reached:
                    self.last_contact_on = max(on, self.last_contact_on or on)
                if first > since:
                    self._stop_clock(on, contact=reached)
            elif kind == "ContactEstablished":
                on = values["established_at"].date()
                self.last_contact_on = max(on, self.last_contact_on or on)
                if first > since:
                    self._stop_clock(on, contact=True)
            elif kind == "YouthInformed":
                self.informed_on = values["informed_at"].date()
            elif kind == "OccupationRecorded":
                self.occupations.append({k: values[k] for k in OCCUPATION_KEYS})
            elif kind == "ContactDetailsRecorded":
                self.contact_details_digest = values["digest"]
            elif kind == "CaseAssigned":
                self.assignee_kind, self.assignee = values["assignee_kind"], values["assignee"]

    # -- deciding: the refusals, before anything is recorded -----------------------------------

    def entry_named(self, event_id: uuid.UUID, field: str, ids: EntryIds) -> int:
        """The version of the entry `event_id` names; else `EntryNotFound` naming `field`."""
        for version in self.entries:
            if ids(version) == event_id:
                return version
        raise EntryNotFound(field)

    def entry_type(self, version: int) -> str:
        return str(self.entries[version]["event_type"])

    def correct(self, corrects: int, values: Mapping[str, Any], why: Why, ids: EntryIds) -> bool:
        """Record the fact `corrects` names again with new `values` (as the entry's event holds
        them, its ids aside: those it keeps); False for a retry."""
        entry = self.entries[corrects]
        kind = entry["event_type"]
        full = {**{k: entry["values"][k] for k in KEPT[kind]}, **values}
        if kind == "OccupationRecorded":
            full["code_list_version"] = check_occupation(
                full["category"], full["tense"], full["from_date"], full["to_date"],
                full["confirmed_on"], "values.",
            )  # fmt: skip
        done = entry["corrected"]
        if self._same(done, why.reason) and compared(self.entries[done["by"]]["values"]) == (
            compared(full)
        ):
            return False
        self._check_standing(corrects, "corrects", ids)
        for name, value in values.items():
            if isinstance(value, date):
                self.check_date(f"values.{_named(name)}", value)
        self._entry_corrected(
            self.tenant, corrects, kind, full, why.actor, why.correlation_id, why.reason,
            why.sealed_note, why.at,
        )  # fmt: skip
        return True

    def withdraw(self, withdraws: int, why: Why, ids: EntryIds) -> bool:
        """Withdraw the fact `withdraws` names: it did not happen. False for a retry."""
        entry = self.entries[withdraws]
        if self._same(entry["withdrawn"], why.reason):
            return False
        self._check_standing(withdraws, "withdraws", ids)
        self._entry_withdrawn(
            self.tenant, withdraws, entry["event_type"], why.actor, why.correlation_id,
            why.reason, why.sealed_note, why.at,
        )  # fmt: skip
        return True

    @staticmethod
    def _same(done: Mapping[str, Any] | None, reason: str) -> bool:
        return done is not None and done["reason"] == reason

    def _check_standing(self, version: int, field: str, ids: EntryIds) -> None:
        """Refuse (409) naming an entry withdrawn, or one corrected since (name the latest)."""
        entry = self.entries[version]
        if entry["withdrawn"] is not None:
            raise CommandRefused(field, "names an entry that was withdrawn", conflict=True)
        if entry["corrected"] is not None:
            latest = ids(entry["corrected"]["by"])
            raise CommandRefused(
                field, f"names an entry corrected since by {latest}; name the latest", conflict=True
            )


_REQUEST_NAMES = {"established_at": "at", "informed_at": "at"}


def _named(name: str) -> str:
    """A value's name as a request gives it (contact and information: `at`)."""
    return _REQUEST_NAMES.get(name, name)
