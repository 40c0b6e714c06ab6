-- Corrections and withdrawals (issue 16): what a caseworker recorded is put right by a new event
-- naming the one it corrects (`corrects`), or withdrawn ("it did not happen"). Today's register
-- holds the corrected truth; this table keeps who corrected or withdrew what, when and why, for
-- the audit replay and the youth's extract. The note is sealed with the youth's data key (opened
-- only where the youth's data is shown); retention deletes it with the youth's other data.
CREATE TABLE IF NOT EXISTS entry_corrections (
    event_id uuid PRIMARY KEY,
    tenant char(4) NOT NULL,
    youth_id uuid NOT NULL,
    kind text NOT NULL CHECK (kind IN ('corrected', 'withdrawn')),
    event_type text NOT NULL,
    target_event_id uuid NOT NULL,
    target_event_type text NOT NULL,
    reason text NOT NULL,
    sealed_note text,
    actor text NOT NULL,
    recorded_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS entry_corrections_youth ON entry_corrections (tenant, youth_id);
CREATE INDEX IF NOT EXISTS entry_corrections_target ON entry_corrections (target_event_id);
-- Each step of a measure the register applied, in its order (`step`): a measure's status is
-- worked out again from the steps that stand when one is corrected (in its place) or withdrawn.
CREATE TABLE IF NOT EXISTS measure_steps (
    event_id uuid PRIMARY KEY,
    tenant char(4) NOT NULL,
    youth_id uuid NOT NULL,
    measure_id uuid NOT NULL,
    step bigint GENERATED ALWAYS AS IDENTITY,
    measure_type text,
    state text NOT NULL,
    on_date date NOT NULL,
    end_reason text,
    occupation_after text
);
CREATE INDEX IF NOT EXISTS measure_steps_measure ON measure_steps (tenant, youth_id, measure_id);
-- Every assignment and every recording of contact details (the register shows the latest that
-- stands): what the youth's current one is worked out from when one is corrected or withdrawn.
CREATE TABLE IF NOT EXISTS assignment_entries (
    event_id uuid PRIMARY KEY,
    tenant char(4) NOT NULL,
    youth_id uuid NOT NULL,
    assignee_kind text NOT NULL,
    assignee text NOT NULL,
    assigned_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS assignment_entries_youth ON assignment_entries (tenant, youth_id);
CREATE TABLE IF NOT EXISTS contact_details_entries (
    event_id uuid PRIMARY KEY,
    tenant char(4) NOT NULL,
    youth_id uuid NOT NULL,
    contact_details text NOT NULL,
    recorded_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS contact_details_entries_youth
    ON contact_details_entries (tenant, youth_id);
-- A scope episode identify marked registered in error (YouthLeftScope, reason
-- registered_in_error): gone from today's register, lists, quality figures and SCB reports; kept
-- here, with who marked it and when, for the audit replay and the extract.
ALTER TABLE scope_episodes ADD COLUMN IF NOT EXISTS in_error_actor text;
ALTER TABLE scope_episodes ADD COLUMN IF NOT EXISTS in_error_recorded_at timestamptz;
