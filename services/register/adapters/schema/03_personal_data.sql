-- Contact details (e-mail, phone) a caseworker recorded, sealed with the youth's data key.
CREATE TABLE IF NOT EXISTS contact_details (
    tenant char(4) NOT NULL,
    youth_id uuid NOT NULL,
    contact_details text NOT NULL,
    recorded_at timestamptz NOT NULL,
    PRIMARY KEY (tenant, youth_id)
);
-- Personal details, sealed with the youth's data key (opened only for authorised reads/exports).
CREATE TABLE IF NOT EXISTS identities (
    tenant char(4) NOT NULL,
    youth_id uuid NOT NULL,
    personal_details text NOT NULL,
    recorded_at timestamptz NOT NULL,
    PRIMARY KEY (tenant, youth_id)
);
