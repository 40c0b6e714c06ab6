-- The casework the register keeps: contacts, measures, occupations, plans, assignments, objections.
CREATE TABLE IF NOT EXISTS contacts (
    event_id uuid PRIMARY KEY,
    tenant char(4) NOT NULL,
    youth_id uuid NOT NULL,
    contact_attempt_id uuid NOT NULL,
    channel text NOT NULL,
    outcome text NOT NULL,
    attempted_at timestamptz NOT NULL,
    actor text NOT NULL
);
CREATE INDEX IF NOT EXISTS contacts_youth ON contacts (tenant, youth_id);
CREATE TABLE IF NOT EXISTS measures (
    event_id uuid PRIMARY KEY,
    tenant char(4) NOT NULL,
    youth_id uuid NOT NULL,
    measure_id uuid NOT NULL,
    measure_type text NOT NULL,
    offered_on date NOT NULL,
    can_start_on date,
    actor text NOT NULL
);
CREATE INDEX IF NOT EXISTS measures_youth ON measures (tenant, youth_id);
CREATE TABLE IF NOT EXISTS measure_status (
    tenant char(4) NOT NULL,
    youth_id uuid NOT NULL,
    measure_id uuid NOT NULL,
    measure_type text,
    state text NOT NULL,
    offers integer NOT NULL DEFAULT 0,
    offered_on date,
    accepted_on date,
    declined_on date,
    started_on date,
    ended_on date,
    end_reason text,
    occupation_after text,
    PRIMARY KEY (tenant, youth_id, measure_id)
);
CREATE TABLE IF NOT EXISTS contact_log (
    event_id uuid PRIMARY KEY,
    tenant char(4) NOT NULL,
    youth_id uuid NOT NULL,
    kind text NOT NULL CHECK (kind IN ('established', 'informed')),
    at timestamptz NOT NULL,
    channel text NOT NULL,
    actor text NOT NULL
);
CREATE INDEX IF NOT EXISTS contact_log_youth ON contact_log (tenant, youth_id);
CREATE TABLE IF NOT EXISTS occupations (
    event_id uuid PRIMARY KEY,
    tenant char(4) NOT NULL,
    youth_id uuid NOT NULL,
    occupation_id uuid NOT NULL,
    category text NOT NULL,
    code_list_version text NOT NULL,
    tense text NOT NULL,
    from_date date NOT NULL,
    to_date date,
    confirmed_on date NOT NULL,
    actor text NOT NULL
);
CREATE INDEX IF NOT EXISTS occupations_youth ON occupations (tenant, youth_id);
CREATE TABLE IF NOT EXISTS plan_revisions (
    event_id uuid PRIMARY KEY,
    tenant char(4) NOT NULL,
    youth_id uuid NOT NULL,
    revision integer NOT NULL,
    valid_from date NOT NULL,
    goal text NOT NULL,
    mapping jsonb NOT NULL,
    efforts jsonb NOT NULL,
    follow_up_on date,
    evaluation_on date,
    actor text NOT NULL,
    recorded_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS plan_revisions_youth ON plan_revisions (tenant, youth_id);
CREATE TABLE IF NOT EXISTS assignments (
    tenant char(4) NOT NULL,
    youth_id uuid NOT NULL,
    assignee_kind text NOT NULL,
    assignee text NOT NULL,
    assigned_at timestamptz NOT NULL,
    PRIMARY KEY (tenant, youth_id)
);
CREATE TABLE IF NOT EXISTS objections (
    event_id uuid PRIMARY KEY,
    tenant char(4) NOT NULL,
    youth_id uuid NOT NULL,
    objected_on date NOT NULL,
    actor text NOT NULL
);
