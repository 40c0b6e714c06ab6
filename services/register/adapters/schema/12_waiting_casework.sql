-- Casework waiting for its youth's identification, by youth: what each batch that identifies
-- youths looks up (`parking.py`, `_RELEASABLE`). Without it, every such batch scanned all parked
-- events with their bytes.
CREATE INDEX IF NOT EXISTS dead_events_waiting_youth ON dead_events (youth_id)
    WHERE payload IS NOT NULL AND reapplied_at IS NULL AND discarded_at IS NULL AND waits_for_youth;
