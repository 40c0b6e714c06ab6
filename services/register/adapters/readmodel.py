"""Read side of the register: every query is scoped to one tenant (the caller's)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from services.register.adapters.access import Database
from shared.contracts.events import Correction
from shared.crypto import SealedDataError, TenantKeys
from shared.free_text import Opener, content_shown, opener, plan_revision_shown

YouthStatus = Literal["in_scope", "out_of_scope"]

IN_ERROR = "registered_in_error"
"""A scope episode identify marked registered in error: not in today's register, its lists,
figures or reports; shown (marked) only in the youth's own timeline and the audit replay."""

SortKey = Literal["entered_on", "scope_ends_on", "left_on", "youth_id"]
SORT_COLUMNS: dict[str, str] = {
    "entered_on": "entered_on",
    "scope_ends_on": "scope_ends_on",
    "left_on": "left_on",
    "youth_id": "youth_id",
}


@dataclass(frozen=True)
class YouthFilter:
    """The register list's filters; every value reaches the database as a parameter."""

    status: YouthStatus | None = None
    in_scope_on: date | None = None
    occupation: Literal["known", "unknown"] | None = None
    occupation_as_of: date | None = None
    currency_days: int = 90
    contacted: bool | None = None
    contacted_from: date | None = None
    contacted_to: date | None = None
    measure_type: str | None = None
    assignee: str | None = None
    sort: SortKey = "entered_on"
    descending: bool = False

    def where(self, tenant: str) -> tuple[str, list[Any]]:
        clauses, params = (
            ["y.tenant = $1", f"y.left_reason IS DISTINCT FROM '{IN_ERROR}'"],
            [tenant],
        )

        def param(value: Any) -> str:
            params.append(value)
            return f"${len(params)}"

        if self.status is not None:
            clauses.append(f"y.status = {param(self.status)}")
        if self.in_scope_on is not None:
            day = param(self.in_scope_on)
            clauses.append(
                "EXISTS (SELECT 1 FROM scope_episodes e WHERE e.tenant = y.tenant"
                f" AND e.youth_id = y.youth_id AND e.entered_on <= {day}::date"
                f" AND e.left_reason IS DISTINCT FROM '{IN_ERROR}'"
                f" AND (e.left_on IS NULL OR e.left_on > {day}::date))"
            )
        if self.occupation is not None:
            as_of = param(self.occupation_as_of)
            days = param(self.currency_days)
            known = (
                "EXISTS (SELECT 1 FROM occupations o WHERE o.tenant = y.tenant"
                f" AND o.youth_id = y.youth_id AND o.confirmed_on <= {as_of}::date"
                f" AND o.confirmed_on > {as_of}::date - {days}::int)"
            )
            clauses.append(known if self.occupation == "known" else f"NOT {known}")
        if self.contacted is not None:
            start, end = param(self.contacted_from), param(self.contacted_to)
            contacted = (
                "EXISTS (SELECT 1 FROM contacts c WHERE c.tenant = y.tenant"
                " AND c.youth_id = y.youth_id"
                f" AND ({start}::date IS NULL OR"
                f" (c.attempted_at AT TIME ZONE 'Europe/Stockholm')::date >= {start}::date)"
                f" AND ({end}::date IS NULL OR"
                f" (c.attempted_at AT TIME ZONE 'Europe/Stockholm')::date <= {end}::date))"
            )
            clauses.append(contacted if self.contacted else f"NOT {contacted}")
        if self.measure_type is not None:
            clauses.append(
                "EXISTS (SELECT 1 FROM measure_status m WHERE m.tenant = y.tenant"
                f" AND m.youth_id = y.youth_id AND m.measure_type = {param(self.measure_type)})"
            )
        if self.assignee is not None:
            clauses.append(
                "EXISTS (SELECT 1 FROM assignments a WHERE a.tenant = y.tenant"
                f" AND a.youth_id = y.youth_id AND a.assignee = {param(self.assignee)})"
            )
        return " AND ".join(clauses), params

    def order_by(self) -> str:
        direction = "DESC" if self.descending else "ASC"
        return f"y.{SORT_COLUMNS[self.sort]} {direction}, y.youth_id {direction}"


_COLUMNS = """
SELECT y.youth_id, y.status, y.scope_episode_id, y.entered_on, y.scope_ends_on, y.left_on,
       y.left_reason, y.rule_version,
       (SELECT count(*) FROM contacts c
         WHERE c.tenant = y.tenant AND c.youth_id = y.youth_id) AS contacts,
       (SELECT count(*) FROM measures m
         WHERE m.tenant = y.tenant AND m.youth_id = y.youth_id) AS measures
FROM youths y
"""


async def list_youths(
    pool: Database,
    tenant: str,
    status: YouthStatus | None,
    limit: int,
    offset: int,
    filters: YouthFilter | None = None,
) -> tuple[int, list[dict[str, Any]]]:
    """One page of the tenant's youths matching the filters, and how many match in all."""
    chosen = filters or YouthFilter(status=status)
    where, params = chosen.where(tenant)
    n = len(params)
    # Built from this module's fragments; every value is a parameter.
    count_sql = f"SELECT count(*) FROM youths y WHERE {where}"
    page_sql = (
        f"{_COLUMNS} WHERE {where} ORDER BY {chosen.order_by()} LIMIT ${n + 1} OFFSET ${n + 2}"
    )
    async with pool.acquire() as conn:
        total = await conn.fetchval(count_sql, *params)
        rows = await conn.fetch(page_sql, *params, limit, offset)
    return int(total), [dict(row) for row in rows]


_EVERY_YOUTH = """
SELECT y.youth_id, y.status, y.scope_episode_id, y.entered_on, y.scope_ends_on, y.left_on,
       y.left_reason, y.rule_version, coalesce(c.n, 0) AS contacts, coalesce(m.n, 0) AS measures
FROM youths y
LEFT JOIN (SELECT youth_id, count(*) AS n FROM contacts WHERE tenant = $1 GROUP BY youth_id) c
    ON c.youth_id = y.youth_id
LEFT JOIN (SELECT youth_id, count(*) AS n FROM measures WHERE tenant = $1 GROUP BY youth_id) m
    ON m.youth_id = y.youth_id
"""


async def every_youth(pool: Database, tenant: str) -> list[dict[str, Any]]:
    """Every youth `list_youths` lists unfiltered, in its order and with its columns: the
    contact attempts and measure offers of the whole register counted in one pass each (an
    audit replay's answer), not youth by youth as for a page (26 against 5 ms for 5,000
    youths)."""
    chosen = YouthFilter()
    where, params = chosen.where(tenant)
    rows = await pool.fetch(f"{_EVERY_YOUTH} WHERE {where} ORDER BY {chosen.order_by()}", *params)
    return [dict(row) for row in rows]


async def youth_timeline(pool: Database, tenant: str, youth_id: uuid.UUID) -> dict[str, Any] | None:
    async with pool.acquire() as conn:
        youth = await conn.fetchrow(
            "SELECT * FROM youths WHERE tenant = $1 AND youth_id = $2", tenant, youth_id
        )
        contacts = await conn.fetch(
            "SELECT contact_attempt_id, channel, outcome, attempted_at, actor FROM contacts "
            "WHERE tenant = $1 AND youth_id = $2 ORDER BY attempted_at",
            tenant,
            youth_id,
        )
        measures = await conn.fetch(
            "SELECT measure_id, measure_type, offered_on, can_start_on, actor, sealed_content "
            "FROM measures "
            "WHERE tenant = $1 AND youth_id = $2 ORDER BY offered_on",
            tenant,
            youth_id,
        )
        episodes = await conn.fetch(
            "SELECT scope_episode_id, entered_on, scope_ends_on, entered_rule_version, "
            "entered_facts::text AS entered_facts, entered_actor, entered_recorded_at, left_on, "
            "left_reason, left_rule_version, left_actor, left_recorded_at, school_background, "
            "identified_on, in_error_actor, in_error_recorded_at, in_error_reason, "
            "in_error_sealed_note FROM scope_episodes "
            "WHERE tenant = $1 AND youth_id = $2 ORDER BY entered_on",
            tenant,
            youth_id,
        )
        more = {
            name: [dict(r) for r in await conn.fetch(sql, tenant, youth_id)]
            for name, sql in _MORE.items()
        }
    if youth is None and not contacts and not measures:
        return None
    assignment = more.pop("assignment")
    scope_episodes = [dict(r) for r in episodes]
    for episode in scope_episodes:  # the facts the decision used, as recorded
        episode["entered_facts"] = json.loads(episode["entered_facts"] or "null")
        episode["registered_in_error"] = episode["left_reason"] == IN_ERROR
    for revision in more["plan_revisions"]:
        revision["mapping"] = json.loads(revision["mapping"])
        revision["efforts"] = json.loads(revision["efforts"])
    return {
        "youth_id": youth_id,
        "status": youth["status"] if youth else None,
        # Every episode of the youth's registered in error: not in today's register.
        "registered_in_error": bool(youth and youth["left_reason"] == IN_ERROR),
        # Retention: a purged youth's record stays, without anything that identifies them.
        "personal_data": "purged" if youth and youth["purged_at"] else "held",
        "purged_at": youth["purged_at"] if youth else None,
        "scope_episodes": scope_episodes,
        "contacts": [dict(r) for r in contacts],
        "measures": [dict(r) for r in measures],
        "assignment": assignment[0] if assignment else None,
        **more,
    }


# The rest of a youth's register content, oldest first.
_MORE = {
    "contact_log": "SELECT kind, at, channel, actor FROM contact_log"
    " WHERE tenant = $1 AND youth_id = $2 ORDER BY at",
    "occupations": "SELECT occupation_id, category, code_list_version, tense, from_date, to_date,"
    " confirmed_on, actor FROM occupations WHERE tenant = $1 AND youth_id = $2"
    " ORDER BY confirmed_on, from_date",
    "measure_status": "SELECT measure_id, measure_type, state, offers, offered_on, accepted_on,"
    " declined_on, started_on, ended_on, end_reason, occupation_after FROM measure_status"
    " WHERE tenant = $1 AND youth_id = $2 ORDER BY offered_on",
    "plan_revisions": "SELECT revision, valid_from, goal, mapping::text AS mapping,"
    " efforts::text AS efforts, follow_up_on, evaluation_on, actor, recorded_at, sealed_text"
    " FROM plan_revisions WHERE tenant = $1 AND youth_id = $2 ORDER BY revision",
    "objections": "SELECT objected_on, actor FROM objections"
    " WHERE tenant = $1 AND youth_id = $2 ORDER BY objected_on",
    "assignment": "SELECT assignee_kind, assignee, assigned_at FROM assignments"
    " WHERE tenant = $1 AND youth_id = $2",
    # Who corrected or withdrew what, when and why (the note sealed: `open_free_text` opens it).
    "corrections": "SELECT event_id, kind, event_type, target_event_id, target_event_type, reason,"
    " sealed_note, actor, recorded_at FROM entry_corrections WHERE tenant = $1 AND youth_id = $2"
    " ORDER BY recorded_at, event_id",
}


_KEY = "SELECT wrapped FROM keyring.youth_keys WHERE tenant = $1 AND youth_id = $2"


async def open_free_text(
    database: Database, keys: TenantKeys, tenant: str, youth_id: uuid.UUID, timeline: dict[str, Any]
) -> dict[str, Any]:
    """A timeline (`youth_timeline`) as a caseworker's or an inspector's view shows it: the words
    caseworkers wrote (plan revisions, measures' content) opened with the youth's data key as the
    keyring holds it now, each item's `text` saying `open`, `redacted` (retention destroyed the
    key) or `tampered`; the sealed forms are not shown (shared/free_text.py)."""
    revisions: list[dict[str, Any]] = timeline.get("plan_revisions") or []
    measures: list[dict[str, Any]] = timeline.get("measures") or []
    corrections: list[dict[str, Any]] = timeline.get("corrections") or []
    episodes: list[dict[str, Any]] = timeline.get("scope_episodes") or []
    open_ = opener(None, tenant, youth_id)
    if (
        any(r.get("sealed_text") for r in revisions)
        or any(m.get("sealed_content") for m in measures)
        or any(c.get("sealed_note") for c in corrections)
        or any(e.get("in_error_sealed_note") for e in episodes)
    ):
        wrapped = await database.fetchval(_KEY, tenant, youth_id)
        try:
            key = keys.unwrap(tenant, youth_id, bytes(wrapped)) if wrapped is not None else None
            open_ = opener(key, tenant, youth_id)
        except SealedDataError:
            open_ = opener(None, tenant, youth_id, key_refused=True)
    timeline["plan_revisions"] = [plan_revision_shown(r, open_) for r in revisions]
    purged = timeline.get("personal_data") == "purged"  # its sealed text is deleted with the key
    for measure in measures:
        sealed = measure.pop("sealed_content")
        measure["content"], measure["text"] = (
            (None, "redacted") if purged and sealed is None else content_shown(sealed, open_)
        )
    for correction in corrections:
        correction["note"], correction["note_text"] = _note(
            correction.pop("sealed_note", None), open_, purged
        )
    for episode in episodes:  # why it was registered in error, in the same words
        sealed = episode.pop("in_error_sealed_note", None)
        episode["in_error_note"], episode["in_error_note_text"] = (
            _note(sealed, open_, purged) if episode.get("registered_in_error") else (None, None)
        )
    return timeline


def _note(sealed: str | None, open_: Opener, purged: bool) -> tuple[str | None, str | None]:
    """A correction's sealed note as shown: (the words, `open`/`tampered`/`redacted`), or
    (None, None) when none was written (`redacted` for a purged youth's, deleted with the key)."""
    if sealed is None:
        return None, "redacted" if purged else None
    state, plain = open_(sealed, Correction.SEALED_PURPOSE)
    return (plain.decode() if plain is not None else None), state


async def summary(pool: Database, tenant: str) -> dict[str, int]:
    """Today's register in figures (youths registered in error, and their casework, left out)."""
    row = await pool.fetchrow(_SUMMARY, tenant)
    assert row is not None
    return {key: int(value) for key, value in dict(row).items()}


_KEPT = f"""youth_id NOT IN (SELECT youth_id FROM youths
                        WHERE tenant = $1 AND left_reason = '{IN_ERROR}')"""
_SUMMARY = f"""
SELECT
  (SELECT count(*) FROM youths WHERE tenant = $1 AND {_KEPT}) AS known,
  (SELECT count(*) FROM youths WHERE tenant = $1 AND status = 'in_scope' AND {_KEPT}) AS in_scope,
  (SELECT count(*) FROM youths WHERE tenant = $1 AND status = 'out_of_scope' AND {_KEPT})
      AS left_scope,
  (SELECT count(*) FROM scope_episodes
    WHERE tenant = $1 AND left_reason IS DISTINCT FROM '{IN_ERROR}') AS scope_episodes,
  (SELECT count(DISTINCT youth_id) FROM contacts WHERE tenant = $1 AND {_KEPT}) AS contacted,
  (SELECT count(*) FROM contacts WHERE tenant = $1 AND {_KEPT}) AS contact_attempts,
  (SELECT count(DISTINCT youth_id) FROM measures WHERE tenant = $1 AND {_KEPT}) AS offered,
  (SELECT count(*) FROM measures WHERE tenant = $1 AND {_KEPT}) AS measure_offers
"""


async def occupations_now(pool: Database, tenant: str) -> dict[uuid.UUID, str]:
    """Each youth's current occupation as the register holds it (the category code of the latest
    confirmed `current` one): what an inspector compares between two instants."""
    rows = await pool.fetch(
        "SELECT DISTINCT ON (youth_id) youth_id, category FROM occupations"
        " WHERE tenant = $1 AND tense = 'current'"
        " ORDER BY youth_id, confirmed_on DESC, from_date DESC, event_id DESC",
        tenant,
    )
    return {row["youth_id"]: str(row["category"]) for row in rows}


async def corrections(pool: Database, tenant: str) -> list[dict[str, Any]]:
    """Who corrected or withdrew which entry, when and why (the reason code; the sealed note is
    left out: it is opened only in the youth's own timeline)."""
    rows = await pool.fetch(
        "SELECT youth_id, event_id, kind, event_type, target_event_id, target_event_type, reason,"
        " sealed_note IS NOT NULL AS has_note, actor, recorded_at FROM entry_corrections"
        " WHERE tenant = $1 ORDER BY recorded_at, event_id",
        tenant,
    )
    return [dict(row) for row in rows]


async def registered_in_error(pool: Database, tenant: str) -> list[dict[str, Any]]:
    """The scope episodes registered in error (not in today's register), with who marked them,
    when and why (the reason code; the sealed note, like a correction's, is left out: it is opened
    only in the youth's own timeline)."""
    rows = await pool.fetch(
        "SELECT youth_id, scope_episode_id, entered_on, left_on, in_error_actor,"
        " in_error_recorded_at, in_error_reason, in_error_sealed_note IS NOT NULL AS has_note"
        " FROM scope_episodes WHERE tenant = $1 AND left_reason = $2"
        " ORDER BY youth_id, entered_on",
        tenant,
        IN_ERROR,
    )
    return [dict(row) for row in rows]


async def dead_events(pool: Database, tenant: str) -> list[dict[str, Any]]:
    """Events the register could not apply, with the reason (ids, types and reasons only):
    `parked` ones failed to apply and can be re-applied after the fix (`reapplied_at` once they
    were); the others are ends of scope episodes the register never saw."""
    rows = await pool.fetch(
        "SELECT event_id, youth_id, event_type, reason, recorded_at, dead_at, source,"
        " payload IS NOT NULL AS parked, reapplied_at, discarded_at, discarded_by, discarded_why"
        " FROM dead_events"
        " WHERE tenant = $1 ORDER BY dead_at, event_id",
        tenant,
    )
    return [dict(row) for row in rows]
