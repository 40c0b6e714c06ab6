"""The feed watermarks as a process last read them, read again only when they were written.

Every feed batch and every release round needs the watermarks. A consortium's table holds a row
per municipality, source and partition (290 × 2 × 6 = 3,480 for the whole country), and reading
it whole took about 7.5 ms of identify's CPU: 15 µs a record of a 500-record batch. The
watermarks change only when a load's markers are taken, and a trigger moves a counter
(`feed_watermarks_written`) in the transaction of every write to them, so one row read tells
whether the table is as last read.
"""

from __future__ import annotations

from datetime import datetime

from psycopg import Cursor
from psycopg.rows import DictRow

from services.identify.adapters.pending import Watermarks, statement

WRITTEN = "SELECT n FROM {schema}.feed_watermarks_written"
# The counter and the rows in one statement: one snapshot, so the rows are those of that count.
WITH_ROWS = """
SELECT c.n, w.tenant, w.source, w.partition, w.partitions, w.complete_up_to
FROM {schema}.feed_watermarks_written c LEFT JOIN {schema}.feed_watermarks w ON true
"""


class WatermarkCache:
    """One per store (process), used by its threads (the feed batches, the release, the
    schedule, a caseworker's question): its state is one pair, replaced in one step. `load`
    gives marks the caller may change (`Watermarks.take` copies the one mapping it changes)."""

    def __init__(self) -> None:
        self.state: tuple[int | None, dict[tuple[str, str], dict[int, tuple[int, datetime]]]] = (
            None,
            {},
        )

    def load(self, cursor: Cursor[DictRow], schema: str) -> Watermarks:
        cursor.execute(statement(WRITTEN, schema))
        row = cursor.fetchone()
        if row is None:  # the counter's row deleted by hand: read the table whole each time
            return Watermarks.load(cursor, schema)
        written, marks = self.state
        if row["n"] != written:
            cursor.execute(statement(WITH_ROWS, schema))
            rows = cursor.fetchall()  # at least the counter's (a LEFT JOIN) ...
            if not rows:  # ... unless it was deleted by hand just now
                return Watermarks.load(cursor, schema)
            written, marks = rows[0]["n"], Watermarks.of_rows(rows).marks
            self.state = (written, marks)
        return Watermarks(dict(marks), written)
