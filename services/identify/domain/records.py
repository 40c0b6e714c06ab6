"""What the `Person` aggregate keeps: typed records of the facts the feeds and schools told it.

The aggregate's state is made of these frozen records (dates as `date`, never strings). Its events
keep the form they were stored in (an SS 12000 observation's enrolments are a list of dicts with
ISO dates): `EnrolmentRecord.from_event` and `as_event` translate, so events stored before the
records existed replay to the same state. `youth_facts` turns the records into what the scope
engine takes for one municipality.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from services.identify.domain.scope import (
    Completion,
    Enrolment,
    Residence,
    ResidenceStatus,
    YouthFacts,
)

# Records that describe a state (where the person lives now), not an arrival on their date.
STATE_RECORDS = frozenset({"baseline", "address_changed", "protection_changed"})


@dataclass(frozen=True, slots=True)
class Registration:
    """A population record as known: folkbokföring from its effective date `since`.

    `registered_from` is the day the record says the person became folkbokförd in the
    municipality (Navet's `registered_in_municipality_on`), kept for a resident only."""

    since: date
    kommunkod: str
    status: ResidenceStatus
    observed_at: datetime
    change_type: str
    registered_from: date | None = None


@dataclass(frozen=True, slots=True)
class EnrolmentRecord:
    """An enrolment as known: observed in SS 12000, or told by a school's notification.

    `observed_on` is the day it was first observed (an undated enrolment counts from it);
    `notified_to` names the municipality a school's "started" notification was sent to (None: from
    the SS 12000 feed); `left_notified` holds, per municipality, the end a "left" notification sent
    to it gave an enrolment of the feed (that municipality alone counts it)."""

    school_type: str
    school_unit: str
    cancelled: bool = False
    start_date: date | None = None
    end_date: date | None = None
    education_code: str | None = None
    observed_on: date | None = None
    notified_to: str | None = None
    left_notified: tuple[tuple[str, date], ...] = ()
    source: str | None = None  # the SS 12000 organiser's source (None: the `ss12000` feed's files)

    @property
    def identity(self) -> tuple[str, str, date | None]:
        """Which enrolment it is, whatever its end, cancel flag or education code says."""
        return (self.school_type, self.school_unit, self.start_date)

    @property
    def key(self) -> tuple[str, str, str, bool, date | None, date | None]:
        """What makes two observations of an enrolment the same one."""
        return (
            self.school_type,
            self.school_unit,
            self.education_code or "",
            self.cancelled,
            self.start_date,
            self.end_date,
        )

    def left_for(self, tenant: str | None) -> date | None:
        return next((day for t, day in self.left_notified if t == tenant), None)

    def for_tenant(self, tenant: str | None) -> Enrolment:
        """The enrolment as the scope engine sees it in the municipality `tenant`."""
        end_date = self.end_date
        if end_date is None and tenant is not None:
            end_date = self.left_for(tenant)  # the school told this municipality it ended
        return Enrolment(
            school_type=self.school_type,
            cancelled=self.cancelled,
            start_date=self.start_date,
            end_date=end_date,
            observed_on=self.observed_on,
            education_code=self.education_code,
        )

    def as_event(self) -> dict[str, Any]:
        """The form an `EnrolmentsObserved` event stores (ISO dates, in this key order)."""
        return {
            "school_type": self.school_type,
            "school_unit": self.school_unit,
            "cancelled": self.cancelled,
            "start_date": _iso(self.start_date),
            "end_date": _iso(self.end_date),
            "education_code": self.education_code,
            "observed_on": _iso(self.observed_on),
        } | self._told()

    def _told(self) -> dict[str, Any]:
        """What only some enrolments have: an organiser's source, a school's notification."""
        told: dict[str, Any] = {"source": self.source} if self.source else {}
        if self.notified_to:
            told["notified_to"] = self.notified_to
        if self.left_notified:
            told["left_notified"] = {t: d.isoformat() for t, d in self.left_notified}
        return told

    @classmethod
    def from_event(cls, stored: Mapping[str, Any]) -> EnrolmentRecord:
        """An enrolment of a stored event (older events may lack keys this form has)."""
        left = stored.get("left_notified") or {}
        return cls(
            school_type=stored["school_type"],
            school_unit=stored["school_unit"],
            cancelled=bool(stored.get("cancelled")),
            start_date=_day(stored.get("start_date")),
            end_date=_day(stored.get("end_date")),
            education_code=stored.get("education_code"),
            observed_on=_day(stored.get("observed_on")),
            notified_to=stored.get("notified_to"),
            left_notified=tuple((t, date.fromisoformat(d)) for t, d in left.items()),
            source=stored.get("source"),
        )


@dataclass(frozen=True, slots=True)
class Notified:
    """What a school's notification said (its id names this and nothing else)."""

    tenant: str
    kind: str
    on: date
    school_type: str
    school_unit: str


class NotificationIdTaken(ValueError):
    """A school notification's client-chosen id already names a different notification."""

    field = "notification_id"
    reason = "already used for a different notification; choose a new id"


def is_repeat(
    known: Mapping[str, Notified], ids: Collection[str], notification_id: str, said: Notified
) -> bool:
    """Whether a notification was recorded already (the same id, saying the same, to the same
    municipality); `NotificationIdTaken` when its id names another notification of the person
    (another reporter's, or other content)."""
    before = known.get(f"{said.tenant}/{notification_id}")
    if before is not None and before == said:
        return True
    if before is not None or notification_id in ids:
        raise NotificationIdTaken(NotificationIdTaken.reason)
    return False


@dataclass(frozen=True, slots=True)
class Episode:
    """A scope episode in one municipality: entered on, left on (None: still open)."""

    entered_on: date
    left_on: date | None = None


def registration(
    kommunkod: str,
    status: str,
    change_type: str,
    effective_date: date,
    observed_at: datetime,
    registered_in_municipality_on: date | None,
) -> Registration:
    """A population record as kept (the day the person became folkbokförd counts for a resident)."""
    return Registration(
        since=effective_date,
        kommunkod=kommunkod,
        status=status,  # type: ignore[arg-type]  # "resident", "emigrated" or "deceased"
        observed_at=observed_at,
        change_type=change_type,
        registered_from=registered_in_municipality_on if status == "resident" else None,
    )


def adds_to(known: Iterable[Registration], details_changed: bool, record: Registration) -> bool:
    """Whether a population record adds to the known ones: not when one of the same effective date
    was observed later (on a tie, the later delivery wins), nor when it says the same as that one
    and the personal details it carries did not change."""
    for r in known:
        if r.since == record.since:
            same = (r.kommunkod, r.status, r.registered_from) == (
                record.kommunkod,
                record.status,
                record.registered_from,
            )
            if r.observed_at > record.observed_at or (same and not details_changed):
                return False
    return True


def observation(
    known: Iterable[EnrolmentRecord],
    observed: Iterable[EnrolmentRecord],
    observed_on: date,
    source: str | None = None,
) -> list[EnrolmentRecord] | None:
    """The enrolments after an SS 12000 observation on `observed_on` by `source` (an organiser, or
    None for the feed's files); None when nothing changed.

    An observation lists all the enrolments the source knows of: it replaces that source's own
    (each keeping the day it was first observed; an enrolment listed again with a new end, cancel
    flag or education code is the same one, by type, unit and start) and leaves the other
    organisers' as they are. An open enrolment the source no longer lists (ended without a date,
    or the person deleted by the organiser) ends the day before the observation; one that had not
    started by then is dropped, as is a cancelled one. What a school's notification told stays
    until the observation lists an enrolment of that type at that unit."""
    before = list(known)
    mine = [e for e in before if e.notified_to is None and e.source == source]
    first_seen = {e.identity: e.observed_on for e in mine}
    merged = [
        replace(e, observed_on=first_seen.get(e.identity) or observed_on, notified_to=None,
                left_notified=(), source=source)
        for e in observed
    ]  # fmt: skip
    listed = {e.identity for e in merged}
    units = {(e.school_type, e.school_unit) for e in merged}
    gone = (_ended(e, observed_on) for e in mine if e.identity not in listed)
    kept = [
        e for e in before
        if (e.notified_to is None and e.source != source)
        or (e.notified_to is not None and (e.school_type, e.school_unit) not in units)
    ]  # fmt: skip
    after = [*kept, *merged, *(e for e in gone if e)]
    if Counter(_seen(e) for e in after) == Counter(_seen(e) for e in before):
        return None
    return after


def _seen(e: EnrolmentRecord) -> tuple[object, ...]:
    return (e.source, e.notified_to, e.key)


def _ended(enrolment: EnrolmentRecord, observed_on: date) -> EnrolmentRecord | None:
    """An enrolment its source stopped listing: open, it ends the day before `observed_on`."""
    if enrolment.cancelled:
        return None
    if enrolment.end_date is not None:
        return enrolment
    ended = observed_on - timedelta(days=1)
    if enrolment.start_date is not None and enrolment.start_date > ended:
        return None
    return replace(enrolment, end_date=ended, left_notified=())


def newer_observation(
    observed: Mapping[str, datetime], source: str | None, observed_at: datetime
) -> bool:
    """Whether an observation by `source` at `observed_at` is newer than its last one."""
    last = observed.get(source or "")
    return last is None or observed_at > last


def after_left_notification(
    enrolments: Iterable[EnrolmentRecord], tenant: str, school_type: str, left_on: date
) -> list[EnrolmentRecord]:
    """The enrolments after a school told `tenant` the student left `school_type` on `left_on`:
    the open ones of that type end the day before, for that municipality only (one it was told of
    by a notification ends; one of the feed keeps the first end told to each municipality)."""
    ended = left_on - timedelta(days=1)
    out = []
    for enrolment in enrolments:
        if enrolment.school_type == school_type and enrolment.end_date is None:
            if enrolment.notified_to == tenant:
                enrolment = replace(enrolment, end_date=ended)
            elif enrolment.notified_to is None and enrolment.left_for(tenant) is None:
                enrolment = replace(
                    enrolment, left_notified=(*enrolment.left_notified, (tenant, ended))
                )
        out.append(enrolment)
    return out


def youth_facts(
    birth_date: date,
    registrations: Iterable[Registration],
    enrolments: Iterable[EnrolmentRecord],
    completions: Iterable[Completion],
    registered_in_sweden_on: date | None,
    tenant: str | None,
) -> YouthFacts:
    """The facts as the scope engine takes them for the municipality `tenant`: enrolments told
    by a school's notification count only for the municipality it was sent to."""
    return YouthFacts(
        birth_date=birth_date,
        residences=residences(registrations, birth_date),
        enrolments=tuple(
            e.for_tenant(tenant)
            for e in enrolments
            if e.notified_to is None or e.notified_to == tenant
        ),
        completions=tuple(completions),
        registered_in_sweden_on=registered_in_sweden_on,
    )


FactsInputs = tuple[
    date, tuple[Registration, ...], tuple[EnrolmentRecord, ...], tuple[Completion, ...], date | None
]


# A person's facts per municipality and what they were built from (the aggregate's own immutable
# tuples and dates): good while the aggregate holds the very same inputs. A scope decision
# recorded in between (a new version) changes none of them, so the next evaluation, the save's
# schedule, reuses them.
FactsCache = tuple[FactsInputs, dict[str | None, YouthFacts]]


def holds(cache: FactsCache, inputs: FactsInputs) -> bool:
    a, b = cache[0], inputs  # the very same tuples (never changed in place), equal dates
    return a[1] is b[1] and a[2] is b[2] and a[3] is b[3] and a[0] == b[0] and a[4] == b[4]


def cached_facts(cache: FactsCache, tenant: str | None) -> YouthFacts:
    """The facts for `tenant`: those of the feeds alone when no school told any municipality
    anything (no enrolment is then any municipality's own), built once either way."""
    inputs, by_tenant = cache
    found = by_tenant.get(tenant)
    if found is None:
        if tenant is not None and all(
            e.notified_to is None and not e.left_notified for e in inputs[2]
        ):
            found = cached_facts(cache, None)
        else:
            found = youth_facts(*inputs, tenant)
        by_tenant[tenant] = found
    return found


def residences(registrations: Iterable[Registration], birth_date: date) -> tuple[Residence, ...]:
    """Folkbokföring as a history, each residence from the day the facts give.

    `registrations` are sorted by effective date. A move is dated by its effective date. A record
    that describes a state (a baseline extract, an address or protection change) counts from the
    day it says the person became folkbokförd in the municipality; without that day, from birth
    when nothing earlier is known (the extract does not say they arrived on its date), else from
    its own date, the latest the change can have happened.
    """
    out: list[Residence] = []
    previous: date | None = None
    for r in registrations:
        start = r.since
        if r.registered_from is not None:
            start = min(r.registered_from, r.since)
        elif r.status == "resident" and r.change_type in STATE_RECORDS:
            start = birth_date if previous is None else r.since
        if previous is not None and start <= previous:
            start = previous + timedelta(days=1)  # never before the record it follows
        start = min(start, r.since)
        out.append(Residence(start, r.kommunkod, r.status))
        previous = start
    return tuple(out)


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def after_notification(
    enrolments: tuple[EnrolmentRecord, ...], said: Notified
) -> tuple[EnrolmentRecord, ...]:
    """The enrolments after a school's notification to a municipality (`said.tenant`): a start is
    an enrolment for that municipality; a leaving ends it there (`after_left_notification`)."""
    if said.kind == "started":
        started = EnrolmentRecord(
            school_type=said.school_type, school_unit=said.school_unit, start_date=said.on,
            observed_on=said.on, notified_to=said.tenant,
        )  # fmt: skip
        return (*enrolments, started)
    if said.kind == "left":
        return tuple(after_left_notification(enrolments, said.tenant, said.school_type, said.on))
    return enrolments
