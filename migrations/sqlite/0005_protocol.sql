-- The full protocol surface: client options, replay caches, pushed requests, refresh tokens,
-- DPoP binding, device authorization and back-channel logout. Keep in parity with postgres/.

-- Registration metadata beyond the core columns (jwks, PAR, DPoP, logout URIs, profile…), JSON.
ALTER TABLE clients ADD COLUMN options TEXT NOT NULL DEFAULT '{}';
-- RFC 7592: the registration access token of a dynamically registered client, hashed.
ALTER TABLE clients ADD COLUMN registration_token_hash TEXT;

-- One-time identifiers already seen (client assertions, request objects, DPoP proofs), hashed
-- with their purpose so that a value is single use per purpose; kept until it would expire.
CREATE TABLE used_jtis (
    jti_hash    TEXT PRIMARY KEY,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX used_jtis_expiry ON used_jtis (expires_at);

-- RFC 9126: a pushed authorization request, referenced once by its request_uri.
CREATE TABLE pushed_requests (
    uri_hash    TEXT PRIMARY KEY,
    client_id   TEXT NOT NULL,
    params      TEXT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX pushed_requests_expiry ON pushed_requests (expires_at);

-- Refresh tokens, rotated on every use. A family is every token descended from one code (its
-- grant id, shared with the access tokens); presenting a rotated token after its grace period
-- revokes the family.
CREATE TABLE refresh_tokens (
    token_hash      TEXT PRIMARY KEY,
    family_id       TEXT NOT NULL,
    client_id       TEXT NOT NULL,
    person_id       TEXT NOT NULL,
    subject         TEXT NOT NULL,
    scopes          TEXT NOT NULL,
    auth_time       BIGINT NOT NULL,
    acr             TEXT NOT NULL,
    amr             TEXT NOT NULL,
    sid             TEXT NOT NULL,
    extra_claims    TEXT,
    jkt             TEXT,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    rotated_at      BIGINT,
    revoked_at      BIGINT
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_expiry ON refresh_tokens (expires_at);

-- RFC 9449: the thumbprint of the key an access token is bound to; RFC 9449 §10: dpop_jkt at
-- the authorization endpoint binds the code.
ALTER TABLE access_tokens ADD COLUMN jkt TEXT;
ALTER TABLE access_tokens ADD COLUMN sid TEXT;
ALTER TABLE access_tokens ADD COLUMN issued_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE auth_codes ADD COLUMN jkt TEXT;
-- The claims request parameter (OIDC Core §5.5) as accepted, JSON.
ALTER TABLE auth_codes ADD COLUMN claims_request TEXT;
-- Back-channel logout finds every portal of a session through its codes, which are kept while
-- the session lives.
CREATE INDEX auth_codes_sid ON auth_codes (sid);

-- RFC 8628: device authorization.
CREATE TABLE device_codes (
    device_code_hash    TEXT PRIMARY KEY,
    user_code           TEXT NOT NULL UNIQUE,
    client_id           TEXT NOT NULL,
    scopes              TEXT NOT NULL,
    acr_values          TEXT,
    status              TEXT NOT NULL,
    person_id           TEXT,
    subject             TEXT,
    auth_time           BIGINT,
    acr                 TEXT,
    amr                 TEXT,
    sid                 TEXT,
    extra_claims        TEXT,
    interval_secs       BIGINT NOT NULL,
    last_polled_at      BIGINT NOT NULL DEFAULT 0,
    created_at          BIGINT NOT NULL,
    expires_at          BIGINT NOT NULL
);
CREATE INDEX device_codes_expiry ON device_codes (expires_at);

-- Back-channel logout deliveries, retried until delivered or given up.
CREATE TABLE logout_deliveries (
    id              TEXT PRIMARY KEY,
    client_id       TEXT NOT NULL,
    uri             TEXT NOT NULL,
    logout_token    TEXT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    status          TEXT NOT NULL,
    last_error      TEXT,
    created_at      BIGINT NOT NULL
);
CREATE INDEX logout_deliveries_due ON logout_deliveries (status, next_attempt_at);
