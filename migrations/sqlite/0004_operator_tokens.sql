-- Operator tokens for the admin API: stored hashed, scoped, revocable.
CREATE TABLE operator_tokens (
    token_hash  TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    scopes      TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);
