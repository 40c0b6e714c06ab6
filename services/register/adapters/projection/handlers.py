"""The register's event handlers: what each kind of event writes, as a registry keyed by its class.

`apply_events` groups a batch by handler and runs each handler once for its whole group (one
statement, or one pipelined run, per kind of event, whatever the mix). The register trusts the
order its events arrive in (one youth's events of a topic are in their order on one partition, and
the sink keeps it, `sink.py`): a handler applies what arrives and decides nothing the service that
recorded the event decided already (a measure's steps are the measures service's to allow).
Events that are not register content (school notifications, follow-ups) have no handler.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import orjson

from services.register.adapters.database import Connection
from services.register.adapters.projection import corrections as fix
from services.register.adapters.projection import statements as sql
from services.register.adapters.projection.steps import apply_steps
from shared.contracts.events import (
    AnyEvent,
    CaseAssigned,
    ContactAttempted,
    ContactDetailsRecorded,
    ContactEstablished,
    IndividualPlanRevised,
    MeasureAccepted,
    MeasureDeclined,
    MeasureEnded,
    MeasureOffered,
    MeasuresEntryWithdrawn,
    MeasureStarted,
    ObjectionRecorded,
    OccupationRecorded,
    OutreachEntryWithdrawn,
    PersonalDataPurged,
    PersonalDetailsRecorded,
    YouthIdentified,
    YouthInformed,
    YouthLeftScope,
)

Handler = Callable[[Connection, list[Any]], Awaitable[None]]
"""Applies a batch of events of its kinds, in their order, in the caller's transaction."""

UNKNOWN_EPISODE = "scope_episode_id: no such scope episode of this youth"

MeasureEvent = MeasureOffered | MeasureAccepted | MeasureDeclined | MeasureStarted | MeasureEnded


async def copy(conn: Connection, table: sql.Table, rows: list[tuple[Any, ...]]) -> None:
    """Add rows to a table rows are only ever added to (COPY)."""
    if rows:
        await conn.copy_records_to_table(table.name, records=rows, columns=list(table.columns))


async def bulk(conn: Connection, statement: str, rows: Sequence[tuple[Any, ...]]) -> None:
    """One statement for all rows: the rows go as one array per column (`unnest`)."""
    if rows:
        await conn.execute(statement, *map(list, zip(*rows, strict=True)))


def _json(value: Any) -> str:
    """JSON text for a jsonb column (orjson: a tenth of the standard library's cost; the column
    keeps the same value whichever wrote it)."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def last_per_youth(rows: Sequence[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """An upsert cannot touch a row twice in one statement: the batch's last row per youth wins
    (rows start with tenant and youth id, in the order the events apply)."""
    return list({(row[0], row[1]): row for row in rows}.values())


async def _identities(conn: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
    """Sealed personal details (tenant, youth, details, recorded at): the latest recorded wins."""
    await bulk(conn, sql.IDENTITY, last_per_youth(sorted(rows, key=lambda row: row[3])))


async def youths_identified(conn: Connection, batch: list[YouthIdentified]) -> None:
    rows = [
        (e.tenant, e.youth_id, e.scope_episode_id, e.entered_on, e.scope_ends_on, e.rule_version)
        for e in batch
    ]
    await bulk(
        conn,
        sql.IDENTIFIED_EPISODE,
        [
            (*row, _json(e.facts), e.actor, e.recorded_at,
             e.school_background, e.identified_on)
            for row, e in zip(rows, batch, strict=True)
        ],
    )  # fmt: skip
    await bulk(conn, sql.IDENTIFIED_YOUTH, last_per_youth(rows))
    await _identities(
        conn,
        [(e.tenant, e.youth_id, e.personal_details, e.recorded_at)
         for e in batch if e.personal_details is not None],
    )  # fmt: skip


async def youths_left(conn: Connection, batch: list[YouthLeftScope]) -> None:
    """An end touches the youth's current row only when it ends the youth's current episode (a
    re-entry in the same batch stays in scope). The identify topic carries a youth's start before
    its end: an end whose episode the register never saw cannot be applied and is kept dead."""
    left = [
        (e.tenant, e.youth_id, e.scope_episode_id, e.left_on, e.reason, e.rule_version, e.actor,
         e.recorded_at, e.correction.reason if e.correction else None,
         e.correction.sealed_note if e.correction else None)
        for e in batch
    ]  # fmt: skip
    ended = {
        row["scope_episode_id"]
        for row in await conn.fetch(sql.LEFT_EPISODE, *map(list, zip(*left, strict=True)))
    }
    ends = {tuple(row[:3]): row[:5] for row in left if row[2] in ended}  # the last of each
    await bulk(conn, sql.LEFT_YOUTH, list(ends.values()))
    in_error = [e.youth_id for e in batch if e.reason == sql.IN_ERROR]
    if in_error:  # the youth's row shows their latest other episode again, if any
        await conn.execute(sql.IN_ERROR_YOUTH, in_error)
    await bulk(
        conn,
        sql.DEAD,
        [(e.event_id, e.tenant, e.youth_id, e.event_type, UNKNOWN_EPISODE, e.recorded_at)
         for e in batch if e.scope_episode_id not in ended],
    )  # fmt: skip


def measure_step(e: MeasureEvent) -> tuple[Any, ...]:
    """The arguments of `MEASURE_STEP` for one event: (tenant, youth, measure, type, state, the
    step's date, end reason, occupation after, event id, event type, recorded at)."""
    head = (e.tenant, e.youth_id, e.measure_id)
    tail = (e.event_id, e.event_type, e.recorded_at)
    if isinstance(e, MeasureOffered):
        return (*head, e.measure_type, "offered", e.offered_on, None, None, *tail)
    if isinstance(e, MeasureAccepted):
        return (*head, None, "accepted", e.accepted_on, None, None, *tail)
    if isinstance(e, MeasureDeclined):
        return (*head, None, "declined", e.declined_on, None, None, *tail)
    if isinstance(e, MeasureStarted):
        return (*head, None, "started", e.started_on, None, None, *tail)
    return (*head, None, "ended", e.ended_on, e.end_reason, e.occupation_after, *tail)


async def measure_steps(conn: Connection, batch: list[MeasureEvent]) -> None:
    """A measure's events, in their order (`steps.py`): offers are recorded, and every
    step moves the measure's status to what the event says it became; a step of a measure the
    register holds no row of is kept dead (`NO_SUCH_MEASURE`). A correction puts the step it
    names right in its place and the measure's status is worked out again (`corrections.py`)."""
    offers = [e for e in batch if isinstance(e, MeasureOffered)]
    await copy(
        conn,
        sql.MEASURES,
        [(e.event_id, e.tenant, e.youth_id, e.measure_id, e.measure_type, e.offered_on,
          e.can_start_on, e.actor, e.sealed_content) for e in offers],
    )  # fmt: skip
    await fix.corrections_of(conn, "measures", offers)
    await apply_steps(conn, [measure_step(e) for e in batch if e.corrects is None])
    fixes = [e for e in batch if e.corrects is not None]
    if fixes:
        await fix.record(
            conn, [fix.correction_row(e) for e in fixes if not isinstance(e, MeasureOffered)]
        )
        await fix.corrected_in_place(
            conn,
            fix.MEASURE_STEP_CORRECTED,
            [(e.tenant, e.youth_id, e.corrects, *measure_step(e)[2:-2]) for e in fixes],
        )
        await fix.recompute_measures(conn, [(e.tenant, e.youth_id, e.measure_id) for e in fixes])
    if any(e.sealed_content is not None for e in offers):
        await bulk(
            conn, sql.MEASURE_CONTENT_OF_PURGED, list({(e.tenant, e.youth_id) for e in offers})
        )


async def contacts_attempted(conn: Connection, batch: list[ContactAttempted]) -> None:
    await copy(
        conn,
        sql.CONTACTS,
        [(e.event_id, e.tenant, e.youth_id, e.contact_attempt_id, e.channel, e.outcome,
          e.attempted_at, e.actor) for e in batch],
    )  # fmt: skip
    await fix.corrections_of(conn, "contacts", batch)


async def contacts_established(conn: Connection, batch: list[ContactEstablished]) -> None:
    await copy(
        conn,
        sql.CONTACT_LOG,
        [(e.event_id, e.tenant, e.youth_id, "established", e.established_at, e.channel, e.actor)
         for e in batch],
    )  # fmt: skip
    await fix.corrections_of(conn, "contact_log", batch)


async def youths_informed(conn: Connection, batch: list[YouthInformed]) -> None:
    await copy(
        conn,
        sql.CONTACT_LOG,
        [(e.event_id, e.tenant, e.youth_id, "informed", e.informed_at, e.channel, e.actor)
         for e in batch],
    )  # fmt: skip
    await fix.corrections_of(conn, "contact_log", batch)


async def occupations_recorded(conn: Connection, batch: list[OccupationRecorded]) -> None:
    await copy(
        conn,
        sql.OCCUPATIONS,
        [(e.event_id, e.tenant, e.youth_id, e.occupation_id, e.category, e.code_list_version,
          e.tense, e.from_date, e.to_date, e.confirmed_on, e.actor) for e in batch],
    )  # fmt: skip
    await fix.corrections_of(conn, "occupations", batch)


async def plans_revised(conn: Connection, batch: list[IndividualPlanRevised]) -> None:
    await copy(
        conn,
        sql.PLANS,
        [(e.event_id, e.tenant, e.youth_id, e.revision, e.valid_from, e.goal,
          e.mapping.model_dump_json(),
          _json([effort.model_dump(mode="json") for effort in e.efforts]),
          e.follow_up_on, e.evaluation_on, e.actor, e.recorded_at, e.sealed_text)
         for e in batch],
    )  # fmt: skip
    await fix.corrections_of(conn, "plan_revisions", batch)
    await bulk(conn, sql.PLAN_TEXT_OF_PURGED, list({(e.tenant, e.youth_id) for e in batch}))


async def cases_assigned(conn: Connection, batch: list[CaseAssigned]) -> None:
    """The latest assignment is the youth's; a correction puts the one it names right in place
    and the youth's is worked out again from the assignments that stand."""
    new = [e for e in batch if e.corrects is None]
    await copy(
        conn,
        sql.ASSIGNMENT_ENTRIES,
        [(e.event_id, e.tenant, e.youth_id, e.assignee_kind, e.assignee, e.recorded_at)
         for e in new],
    )  # fmt: skip
    await bulk(
        conn,
        sql.ASSIGNMENT,
        last_per_youth(
            [(e.tenant, e.youth_id, e.assignee_kind, e.assignee, e.recorded_at) for e in new]
        ),
    )
    fixes = [e for e in batch if e.corrects is not None]
    if fixes:
        await fix.record(conn, [fix.correction_row(e) for e in fixes])
        await fix.corrected_in_place(
            conn,
            fix.ASSIGNMENT_CORRECTED,
            [(e.tenant, e.youth_id, e.corrects, e.event_id, e.assignee_kind, e.assignee)
             for e in fixes],
        )  # fmt: skip
        await fix.recompute_assignments(conn, [(e.tenant, e.youth_id) for e in fixes])


async def objections_recorded(conn: Connection, batch: list[ObjectionRecorded]) -> None:
    """An objection is kept by its event, as a contact attempt is: a corrected one's row goes and
    the correction's stands in its place (a withdrawn one goes: `corrections.FACT_TABLES`)."""
    await copy(
        conn,
        sql.OBJECTIONS,
        [(e.event_id, e.tenant, e.youth_id, e.objected_on, e.actor) for e in batch],
    )
    await fix.corrections_of(conn, "objections", batch)


async def personal_details_recorded(conn: Connection, batch: list[PersonalDetailsRecorded]) -> None:
    await _identities(
        conn, [(e.tenant, e.youth_id, e.personal_details, e.recorded_at) for e in batch]
    )


async def contact_details_recorded(conn: Connection, batch: list[ContactDetailsRecorded]) -> None:
    """The latest recorded details are the youth's; a correction puts the ones it names right in
    place and the youth's are worked out again from the details that stand."""
    new = [e for e in batch if e.corrects is None]
    await copy(
        conn,
        sql.CONTACT_DETAILS_ENTRIES,
        [(e.event_id, e.tenant, e.youth_id, e.contact_details, e.recorded_at) for e in new],
    )
    reached = sorted(
        ((e.tenant, e.youth_id, e.contact_details, e.recorded_at) for e in new),
        key=lambda row: row[3],
    )
    await bulk(conn, sql.CONTACT_DETAILS, last_per_youth(reached))
    fixes = [e for e in batch if e.corrects is not None]
    if fixes:
        await fix.record(conn, [fix.correction_row(e) for e in fixes])
        await fix.corrected_in_place(
            conn,
            fix.CONTACT_DETAILS_CORRECTED,
            [(e.tenant, e.youth_id, e.corrects, e.event_id, e.contact_details) for e in fixes],
        )
        await fix.recompute_contact_details(conn, [(e.tenant, e.youth_id) for e in fixes])


async def personal_data_purged(conn: Connection, batch: list[PersonalDataPurged]) -> None:
    """Retention: the sealed details and free text go; dates, codes and actors stay."""
    youths = [(e.tenant, e.youth_id) for e in batch]
    await bulk(conn, sql.PURGED_YOUTH, [(e.tenant, e.youth_id, e.recorded_at) for e in batch])
    for statement in (sql.PURGED_IDENTITY, sql.PURGED_CONTACT_DETAILS, sql.PURGED_PLAN_TEXT,
                      sql.PURGED_MEASURE_CONTENT, sql.PURGED_CONTACT_DETAILS_ENTRIES,
                      sql.PURGED_CORRECTION_NOTES, sql.PURGED_IN_ERROR_NOTES):  # fmt: skip
        await bulk(conn, statement, youths)


HANDLERS: dict[type, Handler] = {
    YouthIdentified: youths_identified,
    YouthLeftScope: youths_left,
    PersonalDetailsRecorded: personal_details_recorded,
    # A measure's events share one handler: they apply in their order, in one run.
    MeasureOffered: measure_steps,
    MeasureAccepted: measure_steps,
    MeasureDeclined: measure_steps,
    MeasureStarted: measure_steps,
    MeasureEnded: measure_steps,
    ContactAttempted: contacts_attempted,
    ContactEstablished: contacts_established,
    YouthInformed: youths_informed,
    OccupationRecorded: occupations_recorded,
    IndividualPlanRevised: plans_revised,
    CaseAssigned: cases_assigned,
    ObjectionRecorded: objections_recorded,
    ContactDetailsRecorded: contact_details_recorded,
    PersonalDataPurged: personal_data_purged,
    OutreachEntryWithdrawn: fix.entries_withdrawn,
    MeasuresEntryWithdrawn: fix.entries_withdrawn,
}
"""Each kind of event the register keeps, and what writes it."""

FIRST: tuple[Handler, ...] = (youths_identified, youths_left, personal_details_recorded)
"""Run before the others, in this order: every start of a batch before any end, and the details
a youth's identification carries before the details recorded later."""

LAST: tuple[Handler, ...] = (fix.entries_withdrawn,)
"""Run after the others: a withdrawal finds the entry it names (and its corrections) in place,
whatever else the batch holds."""


async def apply_events(conn: Connection, events: Sequence[AnyEvent]) -> None:
    """Apply a batch with one run per handler, whatever the mix: the handlers in `FIRST` first,
    then the others in the order their first event came; each handler's events in their order."""
    grouped: dict[Handler, list[AnyEvent]] = {}
    for event in events:
        # `type() is` through a dict, not isinstance: pydantic models' isinstance is slow.
        handler = HANDLERS.get(type(event))
        if handler is not None:
            grouped.setdefault(handler, []).append(event)
    rank = {handler: place for place, handler in enumerate(FIRST)}
    rank.update({handler: len(FIRST) + 1 + place for place, handler in enumerate(LAST)})
    for handler in sorted(grouped, key=lambda h: rank.get(h, len(FIRST))):
        await handler(conn, grouped[handler])
