-- RP-Initiated and Back-Channel Logout. Keep in parity with the other backend's folder.

-- A logout token lives two minutes, so every delivery attempt signs a new one from what the
-- delivery keeps here: the session's sid and the portal's subject; logout_token holds the token
-- of the latest attempt. person_id is for the audit log.
ALTER TABLE logout_deliveries ADD COLUMN sid TEXT NOT NULL DEFAULT '';
ALTER TABLE logout_deliveries ADD COLUMN subject TEXT NOT NULL DEFAULT '';
ALTER TABLE logout_deliveries ADD COLUMN person_id TEXT;

-- Ending a session revokes its tokens by sid.
CREATE INDEX IF NOT EXISTS access_tokens_sid ON access_tokens (sid);
CREATE INDEX IF NOT EXISTS refresh_tokens_sid ON refresh_tokens (sid);
