CREATE TABLE IF NOT EXISTS dead_events (
    event_id uuid PRIMARY KEY,
    tenant char(4) NOT NULL,
    youth_id uuid NOT NULL,
    event_type text NOT NULL,
    reason text NOT NULL,
    recorded_at timestamptz NOT NULL,
    dead_at timestamptz NOT NULL DEFAULT now()
);
-- Events parked because applying them failed (a value the store refuses, a bug), with their
-- bytes as published, so `kaa register reapply` can apply them after the fix; `reapplied_at` is
-- set when it did. The other dead events (the end of a scope episode the register never saw, a
-- step of a measure it holds no offer of) have
-- no bytes.
ALTER TABLE dead_events ADD COLUMN IF NOT EXISTS payload bytea;
ALTER TABLE dead_events ADD COLUMN IF NOT EXISTS source text;
ALTER TABLE dead_events ADD COLUMN IF NOT EXISTS reapplied_at timestamptz;
-- The order events were parked in: what `kaa register reapply` follows. While a youth has a parked
-- event from a topic, the youth's later events of that topic are parked behind it (held), so they
-- apply in their order (a topic's order is the one the events have: a leaving after its entry, a
-- measure's steps after its offer; between topics there is none to keep).
ALTER TABLE dead_events ADD COLUMN IF NOT EXISTS parked_seq bigint GENERATED ALWAYS AS IDENTITY;
ALTER TABLE dead_events ADD COLUMN IF NOT EXISTS topic text;
-- Casework that arrived before its youth's identification (the register reads the topics
-- concurrently): parked until the youth is identified, then applied in its order
-- (`waits_for_youth`); a dead event when the youth never arrives within KAA_EARLY_EVENT_WAIT.
ALTER TABLE dead_events ADD COLUMN IF NOT EXISTS waits_for_youth boolean NOT NULL DEFAULT false;
-- An operator may give up on a parked event no fix will take (`kaa register discard`): it is
-- never applied, and the youth's events held behind it go on at the next re-apply.
ALTER TABLE dead_events ADD COLUMN IF NOT EXISTS discarded_at timestamptz;
ALTER TABLE dead_events ADD COLUMN IF NOT EXISTS discarded_by text;
ALTER TABLE dead_events ADD COLUMN IF NOT EXISTS discarded_why text;
DROP INDEX IF EXISTS dead_events_parked;
DROP INDEX IF EXISTS dead_events_open;
CREATE INDEX IF NOT EXISTS dead_events_open_topic ON dead_events (topic, youth_id)
    WHERE payload IS NOT NULL AND reapplied_at IS NULL AND discarded_at IS NULL;
