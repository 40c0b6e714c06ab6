"""A measure's steps applied as `statements.MEASURE_STEP` applies them one by one, for a whole batch
in at most five statements: the batch's measures' status and last step are read (two), the steps
folded onto them here in their order, and the result written back (three: the status rows changed,
the steps kept, the steps of a measure the register holds no row of kept dead). One statement per step cost the
rebuild about a quarter of PostgreSQL's work.

`MEASURE_STEP` stays the definition: an offer (again) counts and dates the offer and sets the
type; a later step sets the state and its own date (an end its reason and the occupation after),
the other dates stay; each step kept is numbered after the measure's last one; a step of a measure
with no row changes nothing and is kept dead (`NO_SUCH_MEASURE`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from services.register.adapters.database import Connection
from services.register.adapters.projection import statements as sql

_MEASURES = """(SELECT DISTINCT * FROM unnest($1::char(4)[], $2::uuid[], $3::uuid[]))
    AS u(tenant, youth_id, measure_id)"""
_STATUS = f"""
SELECT m.* FROM measure_status m JOIN {_MEASURES}
  ON m.tenant = u.tenant AND m.youth_id = u.youth_id AND m.measure_id = u.measure_id
"""  # noqa: S608
_LAST_STEP = f"""
SELECT s.tenant, s.youth_id, s.measure_id, max(s.step) AS step FROM measure_steps s JOIN {_MEASURES}
  ON s.tenant = u.tenant AND s.youth_id = u.youth_id AND s.measure_id = u.measure_id
GROUP BY s.tenant, s.youth_id, s.measure_id
"""  # noqa: S608
COLUMNS = ("tenant", "youth_id", "measure_id", "measure_type", "state", "offers", "offered_on",
           "accepted_on", "declined_on", "started_on", "ended_on", "end_reason",
           "occupation_after")  # fmt: skip
_STATUS_WRITTEN = f"""
INSERT INTO measure_status AS m ({", ".join(COLUMNS)})
SELECT * FROM unnest($1::char(4)[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::int[],
                     $7::date[], $8::date[], $9::date[], $10::date[], $11::date[], $12::text[],
                     $13::text[])
ON CONFLICT (tenant, youth_id, measure_id) DO UPDATE SET
    {", ".join(f"{c} = EXCLUDED.{c}" for c in COLUMNS[3:])}
"""  # noqa: S608
_STEPS_KEPT = """
INSERT INTO measure_steps (event_id, tenant, youth_id, measure_id, step, measure_type, state,
    on_date, end_reason, occupation_after)
SELECT * FROM unnest($1::uuid[], $2::char(4)[], $3::uuid[], $4::uuid[], $5::bigint[], $6::text[],
                     $7::text[], $8::date[], $9::text[], $10::text[])
ON CONFLICT (event_id) DO NOTHING
"""
_DATE_OF = {"accepted": "accepted_on", "declined": "declined_on", "started": "started_on",
            "ended": "ended_on"}  # fmt: skip


def _columns(rows: Sequence[tuple[Any, ...]]) -> list[list[Any]]:
    return list(map(list, zip(*rows, strict=True)))


async def apply_steps(conn: Connection, steps: Sequence[tuple[Any, ...]]) -> None:
    """Apply steps in their order; each as `handlers.measure_step` gives `MEASURE_STEP`'s
    arguments: (tenant, youth, measure, type, state, the step's date, end reason, occupation
    after, event id, event type, recorded at)."""
    if not steps:
        return
    measures = _columns(sorted({tuple(step[:3]) for step in steps}))
    status = {
        (row["tenant"], row["youth_id"], row["measure_id"]): dict(row)
        for row in await conn.fetch(_STATUS, *measures)
    }
    last = {
        (row["tenant"], row["youth_id"], row["measure_id"]): row["step"]
        for row in await conn.fetch(_LAST_STEP, *measures)
    }
    changed: dict[tuple[Any, ...], dict[str, Any]] = {}
    kept, dead = [], []
    for tenant, youth, measure, kind, state, on, reason, after, event_id, event_type, at in steps:
        key = (tenant, youth, measure)
        row = status.get(key)
        if state == "offered":
            if row is None:
                row = status[key] = dict.fromkeys(COLUMNS)
                row.update(tenant=tenant, youth_id=youth, measure_id=measure, offers=0)
            row.update(state="offered", measure_type=kind, offered_on=on, offers=row["offers"] + 1)
        elif row is None:
            dead.append((event_id, tenant, youth, event_type, sql.NO_SUCH_MEASURE, at))
            continue
        else:
            row.update({"state": state, _DATE_OF[state]: on})
            if state == "ended":
                row.update(end_reason=reason, occupation_after=after)
        changed[key] = row
        last[key] = (last.get(key) or 0) + 1
        kept.append((event_id, tenant, youth, measure, last[key], kind, state, on, reason, after))
    if changed:
        await conn.execute(
            _STATUS_WRITTEN, *_columns([tuple(row[c] for c in COLUMNS) for row in changed.values()])
        )
    if kept:
        await conn.execute(_STEPS_KEPT, *_columns(kept))
    if dead:
        await conn.execute(sql.DEAD, *_columns(dead))
