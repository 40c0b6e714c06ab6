-- Who is in scope, and each scope episode with why and by whom it was decided.
CREATE TABLE IF NOT EXISTS youths (
    tenant char(4) NOT NULL,
    youth_id uuid NOT NULL,
    status text NOT NULL CHECK (status IN ('in_scope', 'out_of_scope')),
    scope_episode_id uuid NOT NULL,
    entered_on date NOT NULL,
    scope_ends_on date NOT NULL,
    left_on date,
    left_reason text,
    rule_version text NOT NULL,
    PRIMARY KEY (tenant, youth_id)
);
CREATE TABLE IF NOT EXISTS scope_episodes (
    scope_episode_id uuid PRIMARY KEY,
    tenant char(4) NOT NULL,
    youth_id uuid NOT NULL,
    entered_on date NOT NULL,
    scope_ends_on date NOT NULL,
    entered_rule_version text NOT NULL,
    left_on date,
    left_reason text,
    left_rule_version text
);
CREATE INDEX IF NOT EXISTS scope_episodes_youth ON scope_episodes (tenant, youth_id);
-- Why and by whom each scope decision was made (added after the first release: ALTER).
ALTER TABLE scope_episodes ADD COLUMN IF NOT EXISTS entered_facts jsonb;
ALTER TABLE scope_episodes ADD COLUMN IF NOT EXISTS entered_actor text;
ALTER TABLE scope_episodes ADD COLUMN IF NOT EXISTS entered_recorded_at timestamptz;
ALTER TABLE scope_episodes ADD COLUMN IF NOT EXISTS left_actor text;
ALTER TABLE scope_episodes ADD COLUMN IF NOT EXISTS left_recorded_at timestamptz;
ALTER TABLE scope_episodes ADD COLUMN IF NOT EXISTS school_background text;
-- When the municipality could first know of the episode (identify recorded it): where the contact
-- clock starts. Null for events from before it was named: the clock then starts at entered_on.
ALTER TABLE scope_episodes ADD COLUMN IF NOT EXISTS identified_on date;
-- When retention purged the youth's personal data (PersonalDataPurged).
ALTER TABLE youths ADD COLUMN IF NOT EXISTS purged_at timestamptz;
