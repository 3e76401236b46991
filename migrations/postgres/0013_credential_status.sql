-- QR credentials: one row per issued credential that carries a status reference, its index in
-- the Token Status List, and its revocation. The sqlite/ and postgres/ copies are identical.
-- Indexes are drawn at random so that neighbouring indexes reveal nothing about issuance order.
CREATE TABLE credential_status (
    list_id     BIGINT NOT NULL,
    idx         BIGINT NOT NULL,
    subject     TEXT NOT NULL,
    kind        TEXT NOT NULL,
    issued_at   BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    revoked_at  BIGINT,
    -- 'operator' or 'owner'.
    revoked_by  TEXT,
    PRIMARY KEY (list_id, idx)
);
CREATE INDEX credential_status_subject ON credential_status (subject);
