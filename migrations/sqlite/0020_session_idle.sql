-- Sessions end after a time without use (`session_idle_secs`), not only at their fixed end. The
-- last use is written at most once a minute, so single sign-on stays read-only in between.
ALTER TABLE sessions ADD COLUMN last_seen_at BIGINT NOT NULL DEFAULT 0;
UPDATE sessions SET last_seen_at = created_at;
