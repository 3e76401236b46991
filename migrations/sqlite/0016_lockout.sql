-- Sign-in failure counters that are not an account's own: ID numbers without an account (so
-- they lock exactly like real ones and the lock reveals nothing) and browsers where the person
-- signed in before (so failures elsewhere do not lock the owner out there). Keyed by an HMAC,
-- never the ID number. Counted with one atomic statement per attempt.
CREATE TABLE login_failures (
    key          TEXT PRIMARY KEY,
    failures     BIGINT NOT NULL,
    locked_until BIGINT NOT NULL DEFAULT 0,
    updated_at   BIGINT NOT NULL
);
CREATE INDEX login_failures_updated ON login_failures (updated_at);
