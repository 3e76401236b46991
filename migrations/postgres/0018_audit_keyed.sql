-- The audit chain is keyed (HMAC under a server secret) from the first keyed entry on; entries
-- before it keep their plain hashes. Checkpoints (sequence, hash, HMAC) let a verifier find a
-- truncated tail.
ALTER TABLE audit_log ADD COLUMN keyed BIGINT NOT NULL DEFAULT 0;
CREATE TABLE audit_checkpoints (
    seq     BIGINT PRIMARY KEY,
    hash    TEXT NOT NULL,
    mac     TEXT NOT NULL,
    at      BIGINT NOT NULL
);
