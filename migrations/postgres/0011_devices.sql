-- The mobile app: device keys bound to a person, and cross-device (QR) login requests that a
-- bound device approves. The sqlite/ and postgres/ copies are identical.

-- A P-256 public key held by the person's phone. The acr and account level of the sign-in that
-- bound it are kept: a device never signs in above the assurance it was bound with.
CREATE TABLE app_devices (
    id                  TEXT PRIMARY KEY,
    person_id           TEXT NOT NULL,
    name                TEXT NOT NULL,
    public_jwk          TEXT NOT NULL,
    jkt                 TEXT NOT NULL UNIQUE,
    bound_acr           TEXT NOT NULL,
    bound_amr           TEXT NOT NULL,
    bound_level         BIGINT NOT NULL,
    created_at          BIGINT NOT NULL,
    last_used_at        BIGINT,
    revoked_at          BIGINT,
    -- Wrong short codes this device typed in its current window (guessing is held back).
    lookup_failures     BIGINT NOT NULL DEFAULT 0,
    lookup_window_ends  BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX app_devices_person ON app_devices (person_id);

-- A one-time login request shown as a QR code on a desktop login page. It belongs to one
-- sign-in in progress (auth_requests.id) and so to the browser that started it; the QR holds a
-- 256-bit secret stored here hashed, the page also shows a short code for typing.
CREATE TABLE login_requests (
    secret_hash     TEXT PRIMARY KEY,
    short_code      TEXT NOT NULL UNIQUE,
    pending_id      TEXT NOT NULL UNIQUE,
    browser_hash    TEXT NOT NULL,
    client_id       TEXT NOT NULL,
    status          TEXT NOT NULL,
    person_id       TEXT,
    device_id       TEXT,
    acr             TEXT,
    amr             TEXT,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    decided_at      BIGINT
);
CREATE INDEX login_requests_expiry ON login_requests (expires_at);
