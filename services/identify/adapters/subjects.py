"""The persons' keyed hashes in the keyring, for the youths' data keys made before identify kept
them there: filled at identify's start-up, once, from identify's own event store.

The keyring's `subject` (the person's keyed hash, `shared/crypto.py`) is what the register's
look-up by personnummer and identify's `person_of_youth` find a youth by. Identify stores it with
every key it makes, and makes one for every youth who enters scope (`IdentifyStore.save_tracked`).
Two kinds of youth predate that and are put right here:

- a key without its subject (made before the column existed, or by outreach or measures for a
  youth identify had no key for): the subject is the `person_key` of the person's `Registered`
  event (their first, version 1), found through an event of theirs that names the youth id;
- a youth who entered scope with no key at all (on another municipality's report of a move): a
  key is made for them with their subject — unless retention destroyed their key already.

Idempotent (only empty subjects are filled, only missing keys made, an existing key is never
replaced) and run once: a marker row in identify's schema says it is done. Progress is logged by
counts only, never a key, a hash or an id.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from psycopg.sql import SQL, Composable, Identifier

from services.identify.domain.facts import FactsRecorded
from services.identify.domain.person import TOPIC
from shared.crypto import INSERT_KEYS, TenantKeys, json_rows, new_data_key
from shared.pseudonym import person_id

REGISTERED = f"{TOPIC}.Registered"
HELD = FactsRecorded.TOPIC
ENTERED = f"{TOPIC}.ScopeEntered"
# The events that name a person's youth id in a municipality (`Person.youth_ids`).
NAMING = [f"{TOPIC}.{name}" for name in ("PopulationRecorded", "SchoolNotificationReceived")]
NAMING.append(ENTERED)
TASK = "keyring-subjects-v1"
BATCH = 1000

_DONE_DDL = (
    "CREATE TABLE IF NOT EXISTS {schema}.maintenance (task text PRIMARY KEY, "
    "done_at timestamptz NOT NULL DEFAULT now(), counts jsonb NOT NULL)"
)
# (originator, tenant, youth id, the person's keyed hash) of every event that names a youth id,
# alone or held in a save's `FactsRecorded` (`domain/facts.py`); the hash is in the person's first
# event, `Registered`, stored alone (version 1) or first in a `FactsRecorded`.
_NAMED = """
SELECT n.originator_id, n.tenant, n.youth_id, f.subject FROM (
    SELECT e.originator_id, (s ->> 'tenant')::char(4) AS tenant, (s ->> 'youth_id')::uuid AS youth_id
    FROM {events} e
    CROSS JOIN LATERAL (SELECT convert_from(e.state, 'UTF8')::jsonb) AS j(whole)
    CROSS JOIN LATERAL (
        SELECT j.whole WHERE e.topic = ANY(%(topics)s)
        UNION ALL
        SELECT h.x -> 1 FROM jsonb_array_elements(
            CASE WHEN e.topic = %(held)s THEN j.whole -> 'events' ELSE '[]'::jsonb END) AS h(x)
        WHERE h.x ->> 0 = ANY(%(topics)s)
    ) AS named(s)
    WHERE (e.topic = ANY(%(topics)s) OR e.topic = %(held)s)
      AND s ->> 'youth_id' IS NOT NULL AND s ->> 'tenant' IS NOT NULL
) n
CROSS JOIN LATERAL (
    SELECT CASE WHEN c.topic = %(registered)s THEN c.s ->> 'person_key'
                WHEN c.topic = %(held)s AND c.s -> 'events' -> 0 ->> 0 = %(registered)s
                THEN c.s -> 'events' -> 0 -> 1 ->> 'person_key' END AS subject
    FROM (SELECT topic, convert_from(state, 'UTF8')::jsonb AS s FROM {events}
          WHERE originator_id = n.originator_id ORDER BY originator_version LIMIT 1) c
) f
WHERE f.subject IS NOT NULL
"""
_FILL = """
UPDATE keyring.youth_keys k SET subject = n.subject FROM ({named}) n
WHERE k.subject IS NULL AND k.tenant = n.tenant AND k.youth_id = n.youth_id
"""
_UNKEYED = """
SELECT DISTINCT ON (n.tenant, n.youth_id) n.tenant, n.youth_id, n.originator_id, n.subject
FROM ({named}) n
WHERE NOT EXISTS (SELECT 1 FROM keyring.youth_keys k
                  WHERE k.tenant = n.tenant AND k.youth_id = n.youth_id)
  AND NOT EXISTS (SELECT 1 FROM keyring.destroyed_keys d
                  WHERE d.tenant = n.tenant AND d.youth_id = n.youth_id)
ORDER BY n.tenant, n.youth_id
"""
_WITHOUT = "SELECT count(*) AS n FROM keyring.youth_keys WHERE subject IS NULL"


@dataclass(frozen=True)
class Filled:
    """What a run did: subjects filled, keys made, keys still without a subject (not named by
    any of identify's events: not its youths), and whether it had run before (nothing done)."""

    filled: int = 0
    made: int = 0
    left: int = 0
    skipped: int = 0
    done_before: bool = False


def fill_subjects(
    datastore: Any,
    events_table: str,
    keys: TenantKeys,
    progress: Callable[[int, int], None] | None = None,
) -> Filled:
    """Put the persons' keyed hashes into the keyring (see the module); `progress(made, of)`
    after each batch of keys made. `datastore` is identify's (the library's PostgreSQL one)."""
    schema = Identifier(datastore.schema)
    named = _sql(_NAMED, events=Identifier(datastore.schema, events_table))
    with datastore.transaction(commit=True) as curs:
        curs.execute(_sql(_DONE_DDL, schema=schema))
        curs.execute(
            _sql("SELECT 1 FROM {schema}.maintenance WHERE task = %s", schema=schema), (TASK,)
        )
        if curs.fetchone() is not None:
            return Filled(done_before=True)
        curs.execute(
            _sql(_FILL, named=named), {"topics": NAMING, "registered": REGISTERED, "held": HELD}
        )
        filled = max(curs.rowcount, 0)
    with datastore.transaction(commit=False) as curs:
        curs.execute(
            _sql(_UNKEYED, named=named),
            {"topics": [ENTERED], "registered": REGISTERED, "held": HELD},
        )
        unkeyed = curs.fetchall()
    # The hash must be the person's own: their id is derived from it.
    sound = [r for r in unkeyed if r["subject"] and person_id(r["subject"]) == r["originator_id"]]
    made = 0
    for start in range(0, len(sound), BATCH):
        rows = [
            {"tenant": r["tenant"], "youth_id": r["youth_id"], "subject": r["subject"],
             "wrapped": keys.wrap(r["tenant"], r["youth_id"], new_data_key())}
            for r in sound[start : start + BATCH]
        ]  # fmt: skip
        with datastore.transaction(commit=True) as curs:
            curs.execute(INSERT_KEYS, (json_rows(rows),))
        made += len(rows)
        if progress is not None:
            progress(made, len(sound))
    with datastore.transaction(commit=True) as curs:
        curs.execute(_WITHOUT)
        row = curs.fetchone()
        result = Filled(filled, made, int(row["n"]) if row else 0, len(unkeyed) - len(sound))
        counts = {"filled": result.filled, "made": result.made, "skipped": result.skipped}
        curs.execute(
            _sql(
                "INSERT INTO {schema}.maintenance (task, counts) VALUES (%s, %s::jsonb) "
                "ON CONFLICT (task) DO NOTHING",
                schema=schema,
            ),
            (TASK, json.dumps(counts)),
        )
    return result


def _sql(text: str, **names: Composable) -> Composable:
    return SQL(text).format(**names)
