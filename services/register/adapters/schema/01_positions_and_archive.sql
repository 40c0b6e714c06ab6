-- Where each topic partition was read to, and every event the register applied (de-duplication
-- and the archive an audit replay reads).
CREATE TABLE IF NOT EXISTS consumer_positions (
    topic text NOT NULL,
    partition integer NOT NULL,
    next_offset bigint NOT NULL,
    PRIMARY KEY (topic, partition)
);
CREATE TABLE IF NOT EXISTS applied_events (
    event_id uuid PRIMARY KEY,
    tenant char(4) NOT NULL,
    event_type text NOT NULL,
    youth_id uuid NOT NULL,
    recorded_at timestamptz NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);
-- The register's copy of every event it applied, in the order it applied them: what an audit
-- replay of one municipality reads (see adapters/archive.py). The raw bytes are the message as published.
ALTER TABLE applied_events ADD COLUMN IF NOT EXISTS position bigint GENERATED ALWAYS AS IDENTITY;
ALTER TABLE applied_events ADD COLUMN IF NOT EXISTS payload bytea;
CREATE INDEX IF NOT EXISTS applied_events_tenant ON applied_events (tenant, position);
