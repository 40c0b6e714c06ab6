"""Use cases that put a recorded outreach fact right: correct it (the fact recorded again with new
values: a contact attempt, contact established, the youth informed, an occupation, contact
details, an assignment) or withdraw it (it did not happen), with a reason code and an optional
note (at most 300 characters, sealed with the youth's data key). The rules are the case's
(`domain.corrections`); an entry is named by the event id the case view shows, and the new
values are the fact's fields as for recording it (`VALUES`), checked as recording them is.

An entry stays correctable after the youth left scope (the case closed): what was recorded while
they were in scope must stay right for the SCB resubmission and the audit. Recording a new fact
for a youth out of scope stays refused (`commands.OutreachHandlers`).

Who: a caseworker or coordinator of the youth's municipality, except for an assignment
(`CaseAssigned`): it is corrected or withdrawn by whom may assign (`ASSIGNING_ROLES`, as
`PUT /v1/youths/{id}/assignment`), anyone else refused with `NotAllowedToAssign`.

Refusals: `EntryNotFound` (a `CaseNotFound`: the event id is no entry of this youth's case, or the
youth is another municipality's) naming `corrects` / `withdraws`; `CommandRefused` for a bad
reason, note or value (422 naming the field, `values.<name>` for a value), an entry withdrawn or
corrected since (409); `NotAllowedToAssign` (403 naming the field and why). After retention
purged the youth (their data key destroyed), a note or contact details would have to be sealed
with a new key: refused (409 naming `note` / `values`); the record is put right without them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from services.outreach.adapters.outbound import entry_event_id
from services.outreach.adapters.store import OutreachApplication
from services.outreach.domain import OutreachCase
from shared import dates
from shared.casework.commands import Caller, CaseClock, CaseRuntime, record_on_case
from shared.casework.domain import CommandRefused, Why, check_why
from shared.contracts.events import (
    ContactChannel,
    ContactDetails,
    ContactOutcome,
    Correction,
    OccupationTense,
)
from shared.contracts.text import Text

USER = "user:"
PURGED = (
    "the youth's personal data was purged (retention): nothing is sealed for them anew; "
    "put the record right without it"
)
ASSIGNING_ROLES = frozenset({"coordinator"})
"""Who may assign a case (`PUT /v1/youths/{id}/assignment`), and so correct or withdraw an
assignment."""


class NotAllowedToAssign(CommandRefused):
    """An assignment corrected or withdrawn by a caller who may not assign: 403 naming the field
    (`corrects` / `withdraws`) and why. A refusal of the command alone (a `CommandRefused`), so
    the other commands of its group commit go on."""

    def __init__(self, field: str, what: str = "names an assignment") -> None:
        roles = " or ".join(sorted(ASSIGNING_ROLES))
        super().__init__(field, f"{what}: only whom may assign a case ({roles}) does that")


def may_assign(caller: Caller) -> bool:
    """Whether the caller holds a role that assigns cases (a token's principal has `roles`; a
    caller without roles, e.g. a script's `Actor`, does not)."""
    roles: frozenset[str] = getattr(caller, "roles", frozenset())
    return not ASSIGNING_ROLES.isdisjoint(roles)


class AttemptValues(BaseModel):
    model_config = ConfigDict(extra="forbid")
    channel: ContactChannel
    outcome: ContactOutcome
    attempted_at: dates.Instant


class ContactValues(BaseModel):
    model_config = ConfigDict(extra="forbid")
    at: dates.Instant
    channel: ContactChannel


class OccupationValues(BaseModel):
    model_config = ConfigDict(extra="forbid")
    category: Text = Field(max_length=64)
    tense: OccupationTense
    from_date: dates.Day
    to_date: dates.Day | None = None
    confirmed_on: dates.Day | None = Field(default=None, description="Default: the entry's.")


class AssignmentValues(BaseModel):
    """A caseworker is their actor `user:<subject>` (a bare subject is written so); a team is
    its code."""

    model_config = ConfigDict(extra="forbid")
    assignee_kind: Literal["caseworker", "team"]
    assignee: Text = Field(
        min_length=1,
        max_length=120,
        pattern=r"^[A-Za-z0-9_.@:-]+$",
        description="A caseworker: 'user:<subject>' (their token's sub; a bare subject is written "
        "so); a team: its code (letters, digits, '_', '.', '-').",
    )

    @field_validator("assignee")
    @classmethod
    def _one_form(cls, value: str, info: ValidationInfo) -> str:
        kind = info.data.get("assignee_kind")
        if kind == "caseworker":
            subject = value.removeprefix(USER)
            if not subject or subject.startswith(USER):
                raise ValueError("a caseworker is written 'user:<subject>' (their token's sub)")
            return USER + subject
        if kind == "team" and (":" in value or "@" in value):
            raise ValueError(
                "a team is named by its code (letters, digits, '_', '.', '-'); "
                "a caseworker is assigned with assignee_kind 'caseworker'"
            )
        return value


VALUES: Mapping[str, type[BaseModel]] = {
    "ContactAttempted": AttemptValues,
    "ContactEstablished": ContactValues,
    "YouthInformed": ContactValues,
    "OccupationRecorded": OccupationValues,
    "ContactDetailsRecorded": ContactDetails,
    "CaseAssigned": AssignmentValues,
}
"""What a correction of each fact gives in `values`: its fields as for recording it."""


@dataclass(frozen=True)
class Correct:
    youth_id: uuid.UUID
    corrects: uuid.UUID
    reason: str
    values: Mapping[str, Any]
    note: str | None = None


@dataclass(frozen=True)
class Withdraw:
    youth_id: uuid.UUID
    withdraws: uuid.UUID
    reason: str
    note: str | None = None


@dataclass(frozen=True)
class Done:
    """What a correction or withdrawal did: `recorded` False for a retry; `event_id` the
    correction's or withdrawal's own event (the one recorded before, for a retry)."""

    youth_id: uuid.UUID
    recorded: bool
    event_type: str  # of the fact corrected or withdrawn
    event_id: uuid.UUID


def check_who(caller: Caller, kind: str, field: str) -> None:
    """Refuse a caller who may not assign a case an assignment's correction or withdrawal."""
    if kind == "CaseAssigned" and not may_assign(caller):
        raise NotAllowedToAssign(field)


def parsed(kind: str, given: Mapping[str, Any]) -> BaseModel:
    """The values given for a fact of `kind`, or the refusal naming the first field wrong (the
    value never echoed)."""
    try:
        return VALUES[kind].model_validate(dict(given))
    except ValidationError as invalid:
        error = invalid.errors(include_input=False, include_url=False)[0]
        field = ".".join(str(part) for part in error["loc"])
        raise CommandRefused(f"values.{field}" if field else "values", error["msg"]) from None


class OutreachCorrections:
    """Correcting and withdrawing on the outreach service's event store."""

    def __init__(self, runtime: CaseRuntime[OutreachApplication], clock: CaseClock) -> None:
        self.runtime = runtime
        self.clock = clock

    def values(
        self, case: OutreachCase, version: int, kind: str, given: BaseModel
    ) -> dict[str, Any]:
        """The fact's values as its event holds them, dates checked as recording checks them;
        contact details sealed with the youth's data key."""
        v = given.model_dump()
        if kind == "ContactAttempted":
            self.clock.check_past("values.attempted_at", v["attempted_at"])
            return v
        if kind in ("ContactEstablished", "YouthInformed"):
            self.clock.check_past("values.at", v["at"])
            at = "established_at" if kind == "ContactEstablished" else "informed_at"
            return {at: v["at"], "channel": v["channel"]}
        if kind == "OccupationRecorded":
            if v["confirmed_on"] is None:
                v["confirmed_on"] = case.entries[version]["values"]["confirmed_on"]
            self.clock.check_past("values.confirmed_on", v["confirmed_on"])
            return v
        if kind == "ContactDetailsRecorded":
            details = ContactDetails(**v)
            if details.email is None and details.phone is None:
                raise CommandRefused("values.email", "give an e-mail address or a phone number")
            app = self.runtime.application
            if app.purged(case.tenant, case.id):
                raise CommandRefused("values", PURGED, conflict=True)
            sealed, digest = app.seal_contact_details(case.tenant, case.id, details)
            return {"contact_details": sealed, "digest": digest}
        return v

    async def correct(self, caller: Caller, command: Correct) -> Done:
        """Record the fact `corrects` names again with new values; `recorded` False for a retry
        (the same correction recorded)."""
        c = command
        check_why(c.reason, c.note)

        def correct(case: OutreachCase, why: Why) -> tuple[bool, str, int]:
            ids = _ids(case)
            version = case.entry_named(c.corrects, "corrects", ids)
            kind = case.entry_type(version)
            check_who(caller, kind, "corrects")
            values = self.values(case, version, kind, parsed(kind, c.values))
            if case.correct(version, values, why, ids):
                return True, kind, case.version
            return False, kind, case.entries[version]["corrected"]["by"]

        return await self._record(caller, c.youth_id, c.reason, c.note, correct)

    async def withdraw(self, caller: Caller, command: Withdraw) -> Done:
        """Withdraw the fact `withdraws` names (it did not happen); `recorded` False for a retry
        (withdrawn already, for this reason)."""
        c = command
        check_why(c.reason, c.note)

        def withdraw(case: OutreachCase, why: Why) -> tuple[bool, str, int]:
            ids = _ids(case)
            version = case.entry_named(c.withdraws, "withdraws", ids)
            kind = case.entry_type(version)
            check_who(caller, kind, "withdraws")
            if case.withdraw(version, why, ids):
                return True, kind, case.version
            return False, kind, case.entries[version]["withdrawn"]["by"]

        return await self._record(caller, c.youth_id, c.reason, c.note, withdraw)

    async def _record(
        self,
        caller: Caller,
        youth_id: uuid.UUID,
        reason: str,
        note: str | None,
        record: Callable[[OutreachCase, Why], tuple[bool, str, int]],
    ) -> Done:
        app = self.runtime.application
        outcome: list[tuple[bool, str, int]] = []

        def recorded(case: OutreachCase, correlation_id: uuid.UUID) -> bool:
            sealed = None
            if note is not None and app.purged(case.tenant, case.id):
                raise CommandRefused("note", PURGED, conflict=True)
            if note is not None:
                sealer = app.sealer(case.tenant, case.id)
                sealed = sealer.seal(note.encode(), Correction.SEALED_PURPOSE)
            why = Why(reason, sealed, caller.actor, correlation_id, datetime.now(UTC))
            outcome[:] = [record(case, why)]
            return outcome[0][0]

        # Out of scope too: an entry recorded while the youth was in scope stays correctable.
        await record_on_case(
            app, youth_id, caller.tenant, OutreachCase, recorded, in_scope_only=False
        )
        done, kind, version = outcome[0]
        return Done(youth_id, done, kind, entry_event_id(youth_id, version))


def _ids(case: OutreachCase) -> Callable[[int], uuid.UUID]:
    """How the case's entries are named to callers: their public events' ids."""
    return lambda version: entry_event_id(case.id, version)


HIDDEN = frozenset({"contact_details", "digest"})


def _mark(case: OutreachCase, mark: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if mark is None:
        return None
    shown = {k: v for k, v in mark.items() if k not in ("by", "sealed_note")}
    if "by" in mark:
        shown["by"] = entry_event_id(case.id, mark["by"])
    return {**shown, "with_note": mark.get("sealed_note") is not None}


def entries_shown(case: OutreachCase) -> list[dict[str, Any]]:
    """Every fact recorded on the case, corrections too, in the order recorded: its event id and
    type, who recorded it, its values (contact details only as recorded, never shown here), what
    it corrects and why, and whether it was corrected since (`corrected`: by which event, who,
    when, the reason code) or withdrawn (`withdrawn`)."""
    return [
        {
            "event_id": entry_event_id(case.id, version),
            "event_type": entry["event_type"],
            "actor": entry["actor"],
            "values": {k: v for k, v in entry["values"].items() if k not in HIDDEN},
            "corrects": (entry_event_id(case.id, entry["corrects"]) if entry["corrects"] else None),
            "correction": _mark(case, entry["correction"]),
            "corrected": _mark(case, entry["corrected"]),
            "withdrawn": _mark(case, entry["withdrawn"]),
        }
        for version, entry in case.entries.items()
    ]
