-- Decree 13/2023: what a person can see about themselves.
--
-- The disclosure record. A release to a portal is recorded in the access-token row that is
-- written anyway (`released`: the claim names, purposes, basis and acr, never values); before a
-- token row is deleted (expiry, logout, revocation, withdrawal) it is copied into `disclosures`,
-- so a sign-in writes no extra row. Other releases (QR credentials, operators' reads) are
-- written here directly. `source` makes every copy idempotent.
ALTER TABLE access_tokens ADD COLUMN released TEXT;
CREATE TABLE disclosures (
    source          TEXT PRIMARY KEY,
    person_id       TEXT NOT NULL REFERENCES persons(id) ON DELETE CASCADE,
    at              BIGINT NOT NULL,
    recipient_kind  TEXT NOT NULL,
    recipient       TEXT NOT NULL,
    recipient_name  TEXT NOT NULL,
    channel         TEXT NOT NULL,
    detail          TEXT NOT NULL
);
CREATE INDEX disclosures_person ON disclosures (person_id, at);
CREATE INDEX disclosures_at ON disclosures (at);

-- Where a session was started from, as the person's list of sessions shows it.
ALTER TABLE sessions ADD COLUMN user_agent TEXT;
ALTER TABLE sessions ADD COLUMN network TEXT;

-- Sign-in history: one row per completed authentication (not per single sign-on reuse).
CREATE TABLE sign_ins (
    id           TEXT PRIMARY KEY,
    person_id    TEXT NOT NULL REFERENCES persons(id) ON DELETE CASCADE,
    at           BIGINT NOT NULL,
    client_id    TEXT NOT NULL,
    client_name  TEXT NOT NULL,
    methods      TEXT NOT NULL,
    acr          TEXT NOT NULL,
    new_browser  BIGINT NOT NULL,
    network      TEXT,
    user_agent   TEXT
);
CREATE INDEX sign_ins_person ON sign_ins (person_id, at);
CREATE INDEX sign_ins_at ON sign_ins (at);

-- A person's request to correct what the platform holds, answered by an operator.
CREATE TABLE correction_requests (
    id           TEXT PRIMARY KEY,
    person_id    TEXT NOT NULL REFERENCES persons(id) ON DELETE CASCADE,
    created_at   BIGINT NOT NULL,
    fields       TEXT NOT NULL,
    message      TEXT NOT NULL,
    status       TEXT NOT NULL,
    answer       TEXT,
    answered_at  BIGINT,
    answered_by  TEXT
);
CREATE INDEX correction_requests_status ON correction_requests (status, created_at);
CREATE INDEX correction_requests_person ON correction_requests (person_id, created_at);

-- The person's own export reads the audit events about them.
CREATE INDEX audit_log_person ON audit_log (person_id, seq);
