-- Acting for an organisation, officials, and per-client claim profiles.
CREATE TABLE officials (
    person_id   TEXT PRIMARY KEY REFERENCES persons(id) ON DELETE CASCADE,
    org_id      TEXT NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
    title       TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
ALTER TABLE clients ADD COLUMN claims_profile TEXT NOT NULL DEFAULT 'standard';
ALTER TABLE auth_codes ADD COLUMN extra_claims TEXT;
ALTER TABLE access_tokens ADD COLUMN extra_claims TEXT;
