"""Questions about the persons who wait for their feeds, for people and for harnesses: how many
wait per municipality and how many the release may decide now (`kaa scope pending`), and whether
it may decide anyone at all (a harness waiting for the pipeline to drain)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from psycopg import Cursor
from psycopg.rows import DictRow

from services.identify.adapters.pending import Watermarks, statement

SUMMARY = """
WITH c(tenant, complete) AS (SELECT * FROM unnest(%(tenants)b::text[], %(completes)b::timestamptz[]))
SELECT p.tenant, count(*) AS waiting,
       count(*) FILTER (WHERE p.since <= %(settled)s OR p.fact_at <= c.complete) AS decidable,
       min(p.since) AS oldest
FROM {schema}.scope_pending p LEFT JOIN c ON c.tenant = p.tenant
GROUP BY p.tenant ORDER BY p.tenant
"""
# Whether the release has anything to decide now: the first such row ends the scan (a summary
# counted every row, each time a harness waiting for the pipeline to drain looked); with none
# decidable it reads every pending row once.
ANY_DECIDABLE = """
WITH c(tenant, complete) AS (SELECT * FROM unnest(%(tenants)b::text[], %(completes)b::timestamptz[]))
SELECT EXISTS (
    SELECT 1 FROM {schema}.scope_pending p LEFT JOIN c ON c.tenant = p.tenant
    WHERE p.since <= %(settled)s OR p.fact_at <= c.complete) AS any
"""


def _by_watermarks(
    cursor: Cursor[DictRow], text: str, schema: str, sources: dict[str, tuple[str, ...]],
    settled: datetime,
) -> Watermarks:  # fmt: skip
    """`text` run with each municipality's completeness by its watermarks; the watermarks."""
    marks = Watermarks.load(cursor, schema)
    tenants = sorted(sources)
    completes = [marks.complete(t, sources[t]) for t in tenants]
    params = {"tenants": tenants, "completes": completes, "settled": settled}
    cursor.execute(statement(text, schema), params)
    return marks


def any_decidable(
    cursor: Cursor[DictRow],
    schema: str,
    sources: dict[str, tuple[str, ...]],
    settle: timedelta,
    now: datetime,
) -> bool:
    """Whether the release may decide any pending person now."""
    _by_watermarks(cursor, ANY_DECIDABLE, schema, sources, now - settle)
    row = cursor.fetchone()
    return bool(row and row["any"])


def summary(
    cursor: Cursor[DictRow],
    schema: str,
    sources: dict[str, tuple[str, ...]],
    settle: timedelta,
    now: datetime,
) -> list[dict[str, Any]]:
    """Per municipality with pending persons: how many wait, how many the release may decide
    now, since when the oldest waits and which of its sources have not reported at all."""
    marks = _by_watermarks(cursor, SUMMARY, schema, sources, now - settle)
    return [
        {
            "tenant": row["tenant"],
            "waiting": row["waiting"],
            "decidable": row["decidable"],
            "oldest_since": row["oldest"].astimezone(UTC),
            "complete_up_to": {
                s: marks.source_complete(row["tenant"], s) for s in sources.get(row["tenant"], ())
            },
        }
        for row in cursor.fetchall()
    ]
