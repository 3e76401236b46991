-- Passkeys (WebAuthn). Keep in parity with the other backend.

-- One row per registered credential. `passkey` is the webauthn-rs credential (public key,
-- counter, backup state) as JSON; the other columns are what pages and look-ups need.
CREATE TABLE passkeys (
    id              TEXT PRIMARY KEY,
    person_id       TEXT NOT NULL REFERENCES persons(id) ON DELETE CASCADE,
    credential_id   TEXT NOT NULL UNIQUE,
    user_handle     TEXT NOT NULL,
    name            TEXT NOT NULL,
    passkey         TEXT NOT NULL,
    aaguid          TEXT NOT NULL,
    backup_eligible BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    last_used_at    BIGINT
);
CREATE INDEX passkeys_person ON passkeys (person_id);

-- A WebAuthn ceremony in progress (its challenge), so that any node can finish it. Single use:
-- taken by a DELETE; bound to the browser through `binding_hash` (the pending sign-in for a
-- login, the session for a registration).
CREATE TABLE webauthn_ceremonies (
    id           TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,
    binding_hash TEXT NOT NULL,
    person_id    TEXT,
    state        TEXT NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX webauthn_ceremonies_expiry ON webauthn_ceremonies (expires_at);
