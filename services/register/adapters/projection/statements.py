"""The statements the register's event handlers run (`handlers.py`), one per kind of write.

Each takes one array per column (`unnest`), so a batch of events of one kind is one statement; the
tables rows are only ever added to are written with COPY.
"""

from __future__ import annotations

from dataclasses import dataclass

IDENTIFIED_YOUTH = """
INSERT INTO youths AS y
    (tenant, youth_id, status, scope_episode_id, entered_on, scope_ends_on, rule_version)
SELECT tenant, youth_id, 'in_scope', episode, entered_on, scope_ends_on, rule_version
FROM unnest($1::char(4)[], $2::uuid[], $3::uuid[], $4::date[], $5::date[], $6::text[])
    AS u(tenant, youth_id, episode, entered_on, scope_ends_on, rule_version)
ON CONFLICT (tenant, youth_id) DO UPDATE SET
    status = 'in_scope', scope_episode_id = EXCLUDED.scope_episode_id,
    entered_on = EXCLUDED.entered_on, scope_ends_on = EXCLUDED.scope_ends_on,
    rule_version = EXCLUDED.rule_version, left_on = NULL, left_reason = NULL
"""
IDENTIFIED_EPISODE = """
INSERT INTO scope_episodes
    (scope_episode_id, tenant, youth_id, entered_on, scope_ends_on, entered_rule_version,
     entered_facts, entered_actor, entered_recorded_at, school_background, identified_on)
SELECT episode, tenant, youth_id, entered_on, scope_ends_on, rule_version, facts::jsonb, actor,
       recorded_at, school_background, identified_on
FROM unnest($1::char(4)[], $2::uuid[], $3::uuid[], $4::date[], $5::date[], $6::text[],
            $7::text[], $8::text[], $9::timestamptz[], $10::text[], $11::date[])
    AS u(tenant, youth_id, episode, entered_on, scope_ends_on, rule_version, facts, actor,
         recorded_at, school_background, identified_on)
ON CONFLICT (scope_episode_id) DO NOTHING
"""
IDENTITY = """
INSERT INTO identities AS i (tenant, youth_id, personal_details, recorded_at)
SELECT * FROM unnest($1::char(4)[], $2::uuid[], $3::text[], $4::timestamptz[])
ON CONFLICT (tenant, youth_id) DO UPDATE SET
    personal_details = EXCLUDED.personal_details, recorded_at = EXCLUDED.recorded_at
WHERE i.recorded_at <= EXCLUDED.recorded_at
"""
# One row per (tenant, youth, episode): a youth's row shows one episode, so at most one row
# touches it (the caller keeps the last end of each episode, as applying them in order would).
LEFT_YOUTH = """
UPDATE youths y SET status = 'out_of_scope', left_on = u.left_on, left_reason = u.reason
FROM unnest($1::char(4)[], $2::uuid[], $3::uuid[], $4::date[], $5::text[])
    AS u(tenant, youth_id, episode, left_on, reason)
WHERE y.tenant = u.tenant AND y.youth_id = u.youth_id AND y.scope_episode_id = u.episode
"""
LEFT_EPISODE = """
UPDATE scope_episodes e SET left_reason = u.reason,
    left_on = CASE WHEN u.reason = 'registered_in_error' THEN coalesce(e.left_on, u.left_on)
                   ELSE u.left_on END,
    left_rule_version = CASE WHEN u.reason = 'registered_in_error'
                             THEN coalesce(e.left_rule_version, u.rule_version)
                             ELSE u.rule_version END,
    left_actor = CASE WHEN u.reason = 'registered_in_error' THEN coalesce(e.left_actor, u.actor)
                      ELSE u.actor END,
    left_recorded_at = CASE WHEN u.reason = 'registered_in_error'
                            THEN coalesce(e.left_recorded_at, u.recorded_at)
                            ELSE u.recorded_at END,
    in_error_actor = CASE WHEN u.reason = 'registered_in_error' THEN u.actor END,
    in_error_recorded_at = CASE WHEN u.reason = 'registered_in_error' THEN u.recorded_at END,
    in_error_reason = CASE WHEN u.reason = 'registered_in_error' THEN u.why END,
    -- A youth purged already (the retention topic read first, e.g. in a rebuild): no note kept.
    in_error_sealed_note = CASE WHEN u.reason = 'registered_in_error' AND NOT EXISTS (
            SELECT FROM youths y WHERE y.tenant = u.tenant AND y.youth_id = u.youth_id
              AND y.purged_at IS NOT NULL) THEN u.note END
FROM unnest($1::char(4)[], $2::uuid[], $3::uuid[], $4::date[], $5::text[], $6::text[],
            $7::text[], $8::timestamptz[], $9::text[], $10::text[])
    AS u(tenant, youth_id, episode, left_on, reason, rule_version, actor, recorded_at, why, note)
WHERE e.scope_episode_id = u.episode AND e.tenant = u.tenant AND e.youth_id = u.youth_id
RETURNING e.scope_episode_id
"""
# A scope episode registered in error (`IN_ERROR`) is not the youth's: the youth's row shows their
# latest other episode again, or (none) keeps the reason, and every reader leaves the youth out.
IN_ERROR = "registered_in_error"
IN_ERROR_YOUTH = f"""
UPDATE youths y SET status = CASE WHEN e.left_on IS NULL THEN 'in_scope' ELSE 'out_of_scope' END,
    scope_episode_id = e.scope_episode_id, entered_on = e.entered_on,
    scope_ends_on = e.scope_ends_on, rule_version = e.entered_rule_version, left_on = e.left_on,
    left_reason = e.left_reason
FROM (SELECT DISTINCT ON (tenant, youth_id) * FROM scope_episodes
      WHERE youth_id = ANY($1::uuid[]) AND left_reason IS DISTINCT FROM '{IN_ERROR}'
      ORDER BY tenant, youth_id, entered_on DESC, entered_recorded_at DESC) e
WHERE y.tenant = e.tenant AND y.youth_id = e.youth_id AND y.left_reason = '{IN_ERROR}'
"""  # noqa: S608
DEAD = """
INSERT INTO dead_events (event_id, tenant, youth_id, event_type, reason, recorded_at)
SELECT * FROM unnest($1::uuid[], $2::char(4)[], $3::uuid[], $4::text[], $5::text[],
                     $6::timestamptz[])
ON CONFLICT (event_id) DO UPDATE SET reason = EXCLUDED.reason
"""
ASSIGNMENT = """
INSERT INTO assignments (tenant, youth_id, assignee_kind, assignee, assigned_at)
SELECT * FROM unnest($1::char(4)[], $2::uuid[], $3::text[], $4::text[], $5::timestamptz[])
ON CONFLICT (tenant, youth_id) DO UPDATE SET assignee_kind = EXCLUDED.assignee_kind,
    assignee = EXCLUDED.assignee, assigned_at = EXCLUDED.assigned_at
"""
PURGED_YOUTH = """
UPDATE youths y SET purged_at = u.at
FROM unnest($1::char(4)[], $2::uuid[], $3::timestamptz[]) AS u(tenant, youth_id, at)
WHERE y.tenant = u.tenant AND y.youth_id = u.youth_id
"""
CONTACT_DETAILS = """
INSERT INTO contact_details AS c (tenant, youth_id, contact_details, recorded_at)
SELECT * FROM unnest($1::char(4)[], $2::uuid[], $3::text[], $4::timestamptz[])
ON CONFLICT (tenant, youth_id) DO UPDATE SET
    contact_details = EXCLUDED.contact_details, recorded_at = EXCLUDED.recorded_at
WHERE c.recorded_at <= EXCLUDED.recorded_at
"""
PURGED_CONTACT_DETAILS = """
DELETE FROM contact_details c USING unnest($1::char(4)[], $2::uuid[]) AS u(tenant, youth_id)
WHERE c.tenant = u.tenant AND c.youth_id = u.youth_id
"""
# Retention: the caseworkers' words about the youth go with the rest of their personal data (the
# sealed ones are unreadable already; clear ones recorded before sealing began are removed).
NO_PLAN_TEXT = """
UPDATE plan_revisions p SET goal = NULL, sealed_text = NULL,
    mapping = '{"goals": [], "needs": [], "expectations": [], "interests": []}',
    efforts = coalesce((SELECT jsonb_agg(e - 'description' - 'other_actor' - 'end_reason')
                        FROM jsonb_array_elements(p.efforts) AS e), '[]'::jsonb)
"""
PURGED_PLAN_TEXT = f"""{NO_PLAN_TEXT}
FROM unnest($1::char(4)[], $2::uuid[]) AS u(tenant, youth_id)
WHERE p.tenant = u.tenant AND p.youth_id = u.youth_id
"""
PURGED_MEASURE_CONTENT = """
UPDATE measures m SET sealed_content = NULL
FROM unnest($1::char(4)[], $2::uuid[]) AS u(tenant, youth_id)
WHERE m.tenant = u.tenant AND m.youth_id = u.youth_id AND m.sealed_content IS NOT NULL
"""
# Text of a youth purged already (the retention topic was read before this casework's, e.g. in a
# rebuild): not kept, so the register is the same whichever topic was read first.
# Driven from the batch's (tenant, youth)s through the youths' key ($1 tenants, $2 youths): a
# filter on purged youths alone scanned every youth per batch.
_PURGED_OF_BATCH = """
FROM youths y
JOIN (SELECT DISTINCT * FROM unnest($1::char(4)[], $2::uuid[])) AS u(tenant, youth_id)
  ON y.tenant = u.tenant AND y.youth_id = u.youth_id
"""
PLAN_TEXT_OF_PURGED = f"""{NO_PLAN_TEXT}
{_PURGED_OF_BATCH}
WHERE y.tenant = p.tenant AND y.youth_id = p.youth_id AND y.purged_at IS NOT NULL
"""
MEASURE_CONTENT_OF_PURGED = f"""
UPDATE measures m SET sealed_content = NULL
{_PURGED_OF_BATCH}
WHERE y.tenant = m.tenant AND y.youth_id = m.youth_id
  AND y.purged_at IS NOT NULL AND m.sealed_content IS NOT NULL
"""  # noqa: S608
# A measure's step as it arrives (the measures service decided it may be taken: the register does
# not decide it again): an offer (again) counts and dates the offer; a later step sets the state
# and its own date, the other dates stay. A step of a measure the register holds no row of (its
# offer discarded by an operator, or a replay over a topic holding steps the register refused
# before) changes nothing and is kept dead: the register only checks that the row exists. Run
# once per event, in the youth's order (the definition: `steps.py` folds a batch in four
# statements the same way, tests/integration/test_register_measure_steps.py). Arguments: tenant,
# youth, measure, type, state, the step's date, end reason, occupation after, event id, event
# type, recorded at.
NO_SUCH_MEASURE = "measure_id: no such measure offered to this youth"
MEASURE_STEP = f"""
WITH offer AS (
    INSERT INTO measure_status AS m
        (tenant, youth_id, measure_id, measure_type, state, offers, offered_on)
    SELECT $1::char(4), $2::uuid, $3::uuid, $4::text, 'offered', 1, $6::date
    WHERE $5::text = 'offered'
    ON CONFLICT (tenant, youth_id, measure_id) DO UPDATE SET
        state = 'offered', measure_type = EXCLUDED.measure_type,
        offered_on = EXCLUDED.offered_on, offers = m.offers + 1
), step AS (
    UPDATE measure_status SET
        state = $5::text,
        accepted_on = CASE WHEN $5::text = 'accepted' THEN $6::date ELSE accepted_on END,
        declined_on = CASE WHEN $5::text = 'declined' THEN $6::date ELSE declined_on END,
        started_on = CASE WHEN $5::text = 'started' THEN $6::date ELSE started_on END,
        ended_on = CASE WHEN $5::text = 'ended' THEN $6::date ELSE ended_on END,
        end_reason = CASE WHEN $5::text = 'ended' THEN $7::text ELSE end_reason END,
        occupation_after = CASE WHEN $5::text = 'ended' THEN $8::text ELSE occupation_after END
    WHERE tenant = $1::char(4) AND youth_id = $2::uuid AND measure_id = $3::uuid
      AND $5::text <> 'offered'
    RETURNING measure_id
), kept AS (
    INSERT INTO measure_steps (event_id, tenant, youth_id, measure_id, step, measure_type, state,
        on_date, end_reason, occupation_after)
    SELECT $9::uuid, $1::char(4), $2::uuid, $3::uuid,
           (SELECT coalesce(max(step), 0) + 1 FROM measure_steps
             WHERE tenant = $1::char(4) AND youth_id = $2::uuid AND measure_id = $3::uuid),
           $4::text, $5::text, $6::date, $7::text, $8::text
    WHERE $5::text = 'offered' OR EXISTS (SELECT FROM step)
    ON CONFLICT (event_id) DO NOTHING
)
INSERT INTO dead_events (event_id, tenant, youth_id, event_type, reason, recorded_at)
SELECT $9::uuid, $1::char(4), $2::uuid, $10::text, '{NO_SUCH_MEASURE}', $11::timestamptz
WHERE $5::text <> 'offered' AND NOT EXISTS (SELECT FROM step)
-- A parked event re-applied (`reapply.py`) and refused again: its row says why now.
ON CONFLICT (event_id) DO UPDATE SET reason = EXCLUDED.reason
"""  # noqa: S608
PURGED_CONTACT_DETAILS_ENTRIES = """
DELETE FROM contact_details_entries c USING unnest($1::char(4)[], $2::uuid[]) AS u(tenant, youth_id)
WHERE c.tenant = u.tenant AND c.youth_id = u.youth_id
"""
PURGED_CORRECTION_NOTES = """
UPDATE entry_corrections c SET sealed_note = NULL
FROM unnest($1::char(4)[], $2::uuid[]) AS u(tenant, youth_id)
WHERE c.tenant = u.tenant AND c.youth_id = u.youth_id AND c.sealed_note IS NOT NULL
"""
PURGED_IN_ERROR_NOTES = """
UPDATE scope_episodes e SET in_error_sealed_note = NULL
FROM unnest($1::char(4)[], $2::uuid[]) AS u(tenant, youth_id)
WHERE e.tenant = u.tenant AND e.youth_id = u.youth_id AND e.in_error_sealed_note IS NOT NULL
"""
PURGED_IDENTITY = """
DELETE FROM identities i USING unnest($1::char(4)[], $2::uuid[]) AS u(tenant, youth_id)
WHERE i.tenant = u.tenant AND i.youth_id = u.youth_id
"""


@dataclass(frozen=True)
class Table:
    """A table rows are only ever added to (each keyed by the event that added it): written with
    COPY, the cheapest way into PostgreSQL."""

    name: str
    columns: tuple[str, ...]


APPLIED = Table(
    "applied_events", ("event_id", "tenant", "event_type", "youth_id", "recorded_at", "payload")
)
CONTACTS = Table(
    "contacts",
    ("event_id", "tenant", "youth_id", "contact_attempt_id", "channel", "outcome",
     "attempted_at", "actor"),
)  # fmt: skip
CONTACT_LOG = Table(
    "contact_log", ("event_id", "tenant", "youth_id", "kind", "at", "channel", "actor")
)
OCCUPATIONS = Table(
    "occupations",
    ("event_id", "tenant", "youth_id", "occupation_id", "category", "code_list_version", "tense",
     "from_date", "to_date", "confirmed_on", "actor"),
)  # fmt: skip
PLANS = Table(
    "plan_revisions",
    ("event_id", "tenant", "youth_id", "revision", "valid_from", "goal", "mapping", "efforts",
     "follow_up_on", "evaluation_on", "actor", "recorded_at", "sealed_text"),
)  # fmt: skip
MEASURES = Table(
    "measures",
    ("event_id", "tenant", "youth_id", "measure_id", "measure_type", "offered_on", "can_start_on",
     "actor", "sealed_content"),
)  # fmt: skip
ASSIGNMENT_ENTRIES = Table(
    "assignment_entries",
    ("event_id", "tenant", "youth_id", "assignee_kind", "assignee", "assigned_at"),
)
CONTACT_DETAILS_ENTRIES = Table(
    "contact_details_entries", ("event_id", "tenant", "youth_id", "contact_details", "recorded_at")
)
OBJECTIONS = Table("objections", ("event_id", "tenant", "youth_id", "objected_on", "actor"))
