"""Corrections and withdrawals in the register (`shared/contracts/events/corrections.py`).

A **correction** is the fact recorded again naming the event it corrects: the corrected row goes
and the new one stands in its place (a contact attempt, an occupation, a contact or information
given, a plan revision, a measure's offer and an objection are kept by their event, so the
corrected event's row is deleted; a measure's step, an assignment and contact details are put right in place, in the
order they had, and what the register shows for the youth is worked out again from what stands).
A **withdrawal** deletes the withdrawn entry, and every correction of it since, the same way.
Both are kept in `entry_corrections` with who, when and why (the reason code and the sealed note):
the audit replay and the youth's extract show them.

A correction or withdrawal naming an entry the register does not hold (none, another youth's, one
withdrawn or corrected since) changes nothing: `NoSuchEntry` fails its batch, and the consumer
applies the batch one event at a time and parks it with its bytes and the reason (never a value),
for `kaa register reapply` or `kaa register discard`; the youth's later events of its topic wait
behind it, as behind any parked event. It is parked, not held for its entry: an entry and what
corrects or withdraws it are on one topic with one key (the youth), so the entry came first (or is
itself parked, and they wait behind it).

A withdrawal or correction of an entry that is not register content (`HELD_ENTRIES` lists what
is: a follow-up's completion is not, förordning 2006:39 § 4) is skipped: nothing is written and
nothing parked, so the youth's later events are not held behind it (a correction of one is its
own event type, which the register has no handler for).

Whatever order a batch holds, the result is the same as applying its events one by one: a fact's
correction is applied with its kind (after the fact, which came first), a withdrawal after every
other handler of the batch (`handlers.LAST`), one at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from services.register.adapters.database import Connection
from services.register.adapters.projection import statements as sql
from shared.contracts.events import Correction, MeasuresEntryWithdrawn, OutreachEntryWithdrawn

Withdrawal = OutreachEntryWithdrawn | MeasuresEntryWithdrawn
NO_SUCH_ENTRY = "no such entry of this youth in the register"


class NoSuchEntry(Exception):
    """A correction (`corrects`) or withdrawal (`withdraws`) names an entry the register does not
    hold: the event is parked with this reason (the field, never a value)."""

    def __init__(self, field: str) -> None:
        super().__init__(f"{field}: {NO_SUCH_ENTRY}")


class Correcting(Protocol):
    """An event that may correct another (`CorrectionFields`)."""

    @property
    def event_id(self) -> Any: ...
    @property
    def tenant(self) -> str: ...
    @property
    def youth_id(self) -> Any: ...
    @property
    def event_type(self) -> str: ...
    @property
    def actor(self) -> str: ...
    @property
    def recorded_at(self) -> Any: ...
    @property
    def corrects(self) -> Any: ...
    @property
    def correction(self) -> Correction | None: ...


ENTRY_CORRECTIONS = sql.Table(
    "entry_corrections",
    ("event_id", "tenant", "youth_id", "kind", "event_type", "target_event_id",
     "target_event_type", "reason", "sealed_note", "actor", "recorded_at"),
)  # fmt: skip

# The entry named and every correction of it since (a correction of a correction names the
# correction): $1 tenants, $2 youths, $3 the entries named.
_CHAIN = """
WITH RECURSIVE chain(tenant, youth_id, event_id) AS (
    SELECT * FROM unnest($1::char(4)[], $2::uuid[], $3::uuid[])
    UNION
    SELECT c.tenant, c.youth_id, c.event_id FROM entry_corrections c
    JOIN chain ON c.target_event_id = chain.event_id AND c.tenant = chain.tenant
               AND c.youth_id = chain.youth_id AND c.kind = 'corrected'
)
"""


def _gone(table: str, returning: str) -> str:
    return f"""{_CHAIN}
DELETE FROM {table} t USING chain
WHERE t.event_id = chain.event_id AND t.tenant = chain.tenant AND t.youth_id = chain.youth_id
RETURNING {returning}
"""  # noqa: S608


FACT_TABLES = ("contacts", "contact_log", "occupations", "plan_revisions", "measures", "objections")
WITHDRAWN_FACTS = tuple(_gone(table, "t.event_id") for table in FACT_TABLES)
WITHDRAWN_STEPS = _gone("measure_steps", "t.tenant, t.youth_id, t.measure_id")
WITHDRAWN_ASSIGNMENTS = _gone("assignment_entries", "t.tenant, t.youth_id")
WITHDRAWN_CONTACT_DETAILS = _gone("contact_details_entries", "t.tenant, t.youth_id")


def corrected_row(table: str) -> str:
    """Delete the rows the batch's corrections name (tenant, youth, corrected event id)."""
    return f"""
DELETE FROM {table} t USING unnest($1::char(4)[], $2::uuid[], $3::uuid[]) AS u(tenant, youth_id, corrects)
WHERE t.event_id = u.corrects AND t.tenant = u.tenant AND t.youth_id = u.youth_id
"""  # noqa: S608


# A measure's status worked out from the steps that stand, as `MEASURE_STEP` folds them one by one:
# the last step's state, each kind's date from its last step, the offers counted.
MEASURES_RECOMPUTED_GONE = """
DELETE FROM measure_status m USING unnest($1::char(4)[], $2::uuid[], $3::uuid[])
    AS u(tenant, youth_id, measure_id)
WHERE m.tenant = u.tenant AND m.youth_id = u.youth_id AND m.measure_id = u.measure_id
"""


def _last(column: str, state: str) -> str:
    return f"(array_agg(s.{column} ORDER BY s.step DESC) FILTER (WHERE s.state = '{state}'))[1]"


MEASURES_RECOMPUTED = f"""
INSERT INTO measure_status (tenant, youth_id, measure_id, measure_type, state, offers,
    offered_on, accepted_on, declined_on, started_on, ended_on, end_reason, occupation_after)
SELECT s.tenant, s.youth_id, s.measure_id, {_last("measure_type", "offered")},
       (array_agg(s.state ORDER BY s.step DESC))[1], count(*) FILTER (WHERE s.state = 'offered'),
       {_last("on_date", "offered")}, {_last("on_date", "accepted")},
       {_last("on_date", "declined")}, {_last("on_date", "started")}, {_last("on_date", "ended")},
       {_last("end_reason", "ended")}, {_last("occupation_after", "ended")}
FROM measure_steps s
JOIN (SELECT DISTINCT * FROM unnest($1::char(4)[], $2::uuid[], $3::uuid[])) AS u(tenant, youth_id, measure_id)
  ON s.tenant = u.tenant AND s.youth_id = u.youth_id AND s.measure_id = u.measure_id
GROUP BY s.tenant, s.youth_id, s.measure_id
"""  # noqa: S608
# A step put right in its place (it keeps its order). $1 tenant, $2 youth, $3 corrected event id,
# then the step as `MEASURE_STEP` takes it from $4: measure, type, state, date, end reason,
# occupation after, event id (event type and recorded at unused).
MEASURE_STEP_CORRECTED = """
UPDATE measure_steps SET event_id = $10::uuid, measure_type = $5::text, state = $6::text,
    on_date = $7::date, end_reason = $8::text, occupation_after = $9::text
WHERE tenant = $1::char(4) AND youth_id = $2::uuid AND event_id = $3::uuid AND measure_id = $4::uuid
RETURNING event_id
"""
# The youth's current assignment and contact details: the latest entry that stands (none: none).
ASSIGNMENTS_RECOMPUTED = """
INSERT INTO assignments (tenant, youth_id, assignee_kind, assignee, assigned_at)
SELECT DISTINCT ON (e.tenant, e.youth_id) e.tenant, e.youth_id, e.assignee_kind, e.assignee,
       e.assigned_at
FROM assignment_entries e
JOIN (SELECT DISTINCT * FROM unnest($1::char(4)[], $2::uuid[])) AS u(tenant, youth_id)
  ON e.tenant = u.tenant AND e.youth_id = u.youth_id
ORDER BY e.tenant, e.youth_id, e.assigned_at DESC, e.event_id DESC
"""
ASSIGNMENTS_GONE = """
DELETE FROM assignments a USING unnest($1::char(4)[], $2::uuid[]) AS u(tenant, youth_id)
WHERE a.tenant = u.tenant AND a.youth_id = u.youth_id
"""
CONTACT_DETAILS_RECOMPUTED = """
INSERT INTO contact_details (tenant, youth_id, contact_details, recorded_at)
SELECT DISTINCT ON (e.tenant, e.youth_id) e.tenant, e.youth_id, e.contact_details, e.recorded_at
FROM contact_details_entries e
JOIN (SELECT DISTINCT * FROM unnest($1::char(4)[], $2::uuid[])) AS u(tenant, youth_id)
  ON e.tenant = u.tenant AND e.youth_id = u.youth_id
ORDER BY e.tenant, e.youth_id, e.recorded_at DESC, e.event_id DESC
"""
CONTACT_DETAILS_GONE = """
DELETE FROM contact_details c USING unnest($1::char(4)[], $2::uuid[]) AS u(tenant, youth_id)
WHERE c.tenant = u.tenant AND c.youth_id = u.youth_id
"""
# An assignment or contact details put right in place (keeping when it was first recorded).
ASSIGNMENT_CORRECTED = """
UPDATE assignment_entries SET event_id = $4, assignee_kind = $5, assignee = $6
WHERE tenant = $1 AND youth_id = $2 AND event_id = $3
RETURNING event_id
"""
CONTACT_DETAILS_CORRECTED = """
UPDATE contact_details_entries SET event_id = $4, contact_details = $5
WHERE tenant = $1 AND youth_id = $2 AND event_id = $3
RETURNING event_id
"""
# Whether the rows of a fact table hold the entries a batch's corrections name.
_HELD_ROWS = """
SELECT count(DISTINCT t.event_id) FROM {table} t
JOIN unnest($1::char(4)[], $2::uuid[], $3::uuid[]) AS u(tenant, youth_id, corrects)
  ON t.event_id = u.corrects AND t.tenant = u.tenant AND t.youth_id = u.youth_id
"""
# The correctable event types the register keeps entries of (a handler each): a withdrawal of
# another type (a follow-up's completion) names nothing the register holds, and is skipped.
HELD_ENTRIES = frozenset({
    "ContactAttempted", "ContactEstablished", "YouthInformed", "OccupationRecorded",
    "ContactDetailsRecorded", "CaseAssigned", "IndividualPlanRevised", "MeasureOffered",
    "MeasureAccepted", "MeasureDeclined", "MeasureStarted", "MeasureEnded", "ObjectionRecorded",
})  # fmt: skip
ENTRY_TABLES = (*FACT_TABLES, "measure_steps", "assignment_entries", "contact_details_entries")
# Whether the register holds a row of the entry named or a correction of it since ($1-$3, one).
_HELD_IN = " OR ".join(
    f"EXISTS (SELECT FROM {table} t JOIN chain c ON t.event_id = c.event_id"
    f" AND t.tenant = c.tenant AND t.youth_id = c.youth_id)"
    for table in ENTRY_TABLES
)
ENTRY_HELD = f"{_CHAIN} SELECT {_HELD_IN}"


def columns(rows: Sequence[tuple[Any, ...]]) -> list[list[Any]]:
    return list(map(list, zip(*rows, strict=True)))


def correction_row(e: Correcting) -> tuple[Any, ...]:
    """The `entry_corrections` row of a correction."""
    why = e.correction
    return (e.event_id, e.tenant, e.youth_id, "corrected", e.event_type, e.corrects, e.event_type,
            why.reason if why else "other", why.sealed_note if why else None, e.actor,
            e.recorded_at)  # fmt: skip


def withdrawal_row(e: Withdrawal) -> tuple[Any, ...]:
    why = e.correction
    return (e.event_id, e.tenant, e.youth_id, "withdrawn", e.event_type, e.withdraws,
            e.withdrawn_event_type, why.reason, why.sealed_note, e.actor, e.recorded_at)  # fmt: skip


async def record(conn: Connection, rows: list[tuple[Any, ...]]) -> None:
    if rows:
        await conn.copy_records_to_table(
            ENTRY_CORRECTIONS.name, records=rows, columns=list(ENTRY_CORRECTIONS.columns)
        )


async def corrections_of(conn: Connection, table: str, batch: Sequence[Correcting]) -> None:
    """After a batch of facts kept by their event was added: the rows its corrections name go,
    and the corrections are recorded; `NoSuchEntry` when one names a row the table does not hold
    (or one another correction of the batch names too: applied one by one, it would be gone)."""
    fixes = [e for e in batch if e.corrects is not None]
    if not fixes:
        return
    named = columns([(e.tenant, e.youth_id, e.corrects) for e in fixes])
    held = await conn.fetchval(_HELD_ROWS.format(table=table), *named)
    if held != len(fixes):
        raise NoSuchEntry("corrects")
    await record(conn, [correction_row(e) for e in fixes])
    await conn.execute(
        corrected_row(table), *columns([(e.tenant, e.youth_id, e.corrects) for e in fixes])
    )


async def recompute_measures(conn: Connection, measures: Sequence[tuple[Any, ...]]) -> None:
    """Work out (tenant, youth, measure)s' status again from the steps that stand."""
    if measures:
        targets = columns(sorted(set(measures)))
        await conn.execute(MEASURES_RECOMPUTED_GONE, *targets)
        await conn.execute(MEASURES_RECOMPUTED, *targets)


async def recompute_assignments(conn: Connection, youths: Sequence[tuple[Any, ...]]) -> None:
    if youths:
        targets = columns(sorted(set(youths)))
        await conn.execute(ASSIGNMENTS_GONE, *targets)
        await conn.execute(ASSIGNMENTS_RECOMPUTED, *targets)


async def recompute_contact_details(conn: Connection, youths: Sequence[tuple[Any, ...]]) -> None:
    if youths:
        targets = columns(sorted(set(youths)))
        await conn.execute(CONTACT_DETAILS_GONE, *targets)
        await conn.execute(CONTACT_DETAILS_RECOMPUTED, *targets)


async def corrected_in_place(
    conn: Connection, statement: str, rows: Sequence[tuple[Any, ...]]
) -> None:
    """Put entries right in place, in their order (a correction of a correction in the same
    batch finds the row its predecessor put right); `NoSuchEntry` when one names no row."""
    for row in rows:
        if await conn.fetchval(statement, *row) is None:
            raise NoSuchEntry("corrects")


async def entries_withdrawn(conn: Connection, batch: list[Withdrawal]) -> None:
    """Withdrawals, one at a time in their order: the entry named (and every correction of it
    since) stops counting, and the withdrawal is recorded with who, when and why; `NoSuchEntry`
    when the register holds no row of it (none, or withdrawn already). A withdrawal of an entry
    that is not register content (not in `HELD_ENTRIES`) is skipped."""
    for withdrawal in batch:
        if withdrawal.withdrawn_event_type not in HELD_ENTRIES:
            continue
        named = [[withdrawal.tenant], [withdrawal.youth_id], [withdrawal.withdraws]]
        if not await conn.fetchval(ENTRY_HELD, *named):
            raise NoSuchEntry("withdraws")
        await _withdrawn(conn, [withdrawal])


async def _withdrawn(conn: Connection, batch: list[Withdrawal]) -> None:
    await record(conn, [withdrawal_row(e) for e in batch])
    named = columns([(e.tenant, e.youth_id, e.withdraws) for e in batch])
    for statement in WITHDRAWN_FACTS:
        await conn.execute(statement, *named)
    steps = await conn.fetch(WITHDRAWN_STEPS, *named)
    await recompute_measures(conn, [(r["tenant"], r["youth_id"], r["measure_id"]) for r in steps])
    assigned = await conn.fetch(WITHDRAWN_ASSIGNMENTS, *named)
    await recompute_assignments(conn, [(r["tenant"], r["youth_id"]) for r in assigned])
    details = await conn.fetch(WITHDRAWN_CONTACT_DETAILS, *named)
    await recompute_contact_details(conn, [(r["tenant"], r["youth_id"]) for r in details])
