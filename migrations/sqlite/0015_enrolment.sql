-- Getting in (enrol/): one-time codes, enrolment tickets, send counters, recovery codes and the
-- browsers a person has signed in from. Portable types only; keep in parity with the other backend.

-- One live code per person and purpose (a new one replaces the old): `letter` (an operator's
-- activation code, by letter or at the counter), `activation` and `recovery` (sent to the
-- registry's phone or e-mail), `signin` (a second factor). Only a keyed hash is kept.
CREATE TABLE one_time_codes (
    person_id   TEXT NOT NULL REFERENCES persons(id) ON DELETE CASCADE,
    purpose     TEXT NOT NULL,
    code_hash   TEXT NOT NULL,
    channel     TEXT NOT NULL,
    tries       BIGINT NOT NULL DEFAULT 0,
    expires_at  BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (person_id, purpose)
);
CREATE INDEX one_time_codes_expiry ON one_time_codes (expires_at);

-- A person part-way through activation or recovery: what they proved, the step they are at, and
-- the TOTP secret they are confirming (sealed). Found by the hash of a browser cookie.
CREATE TABLE enrolments (
    id_hash     TEXT PRIMARY KEY,
    person_id   TEXT NOT NULL REFERENCES persons(id) ON DELETE CASCADE,
    proof       TEXT NOT NULL,
    step        TEXT NOT NULL,
    totp_sealed TEXT,
    expires_at  BIGINT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX enrolments_expiry ON enrolments (expires_at);

-- Fixed-window counters of messages sent (SMS costs money), per person and per client address.
CREATE TABLE send_counters (
    key          TEXT PRIMARY KEY,
    window_start BIGINT NOT NULL,
    count        BIGINT NOT NULL
);

-- Single-use recovery codes (look-up secrets), keyed hashes only.
CREATE TABLE recovery_codes (
    person_id   TEXT NOT NULL REFERENCES persons(id) ON DELETE CASCADE,
    code_hash   TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (person_id, code_hash)
);

-- Browsers a person has signed in from (by the hash of the browser cookie), for the
-- "new sign-in" notification.
CREATE TABLE known_browsers (
    person_id   TEXT NOT NULL REFERENCES persons(id) ON DELETE CASCADE,
    browser     TEXT NOT NULL,
    first_seen  BIGINT NOT NULL,
    PRIMARY KEY (person_id, browser)
);

-- How far each background reader of the audit log has got (the notifier).
CREATE TABLE audit_cursors (
    name    TEXT PRIMARY KEY,
    seq     BIGINT NOT NULL
);
