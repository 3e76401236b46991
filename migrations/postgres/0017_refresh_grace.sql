-- The grace period for a lost refresh response is used once (grace_used_at); the successor it
-- displaces is marked (displaced_at), so presenting it later is recognised as reuse.
ALTER TABLE refresh_tokens ADD COLUMN grace_used_at BIGINT;
ALTER TABLE refresh_tokens ADD COLUMN displaced_at BIGINT;
