-- Core schema. Portable types only: TEXT, BIGINT (unix seconds, 0/1 flags), so that the same
-- SQL (with $n placeholders) runs on SQLite and PostgreSQL. Keep in parity with postgres/.

CREATE TABLE persons (
    id              TEXT PRIMARY KEY,
    personal_id     TEXT NOT NULL UNIQUE,
    family_name     TEXT NOT NULL,
    middle_name     TEXT NOT NULL DEFAULT '',
    given_name      TEXT NOT NULL,
    birthdate       TEXT,
    sex             TEXT,
    nationality     TEXT NOT NULL DEFAULT 'VN',
    address         TEXT,
    phone           TEXT,
    email           TEXT,
    account_level   BIGINT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'active',
    password_hash   TEXT,
    totp_secret     TEXT,
    totp_last_step  BIGINT NOT NULL DEFAULT 0,
    failed_logins   BIGINT NOT NULL DEFAULT 0,
    locked_until    BIGINT NOT NULL DEFAULT 0,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);

CREATE TABLE organisations (
    id          TEXT PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE,
    kind        TEXT NOT NULL,
    name        TEXT NOT NULL,
    address     TEXT,
    created_at  BIGINT NOT NULL
);

CREATE TABLE org_representatives (
    org_id      TEXT NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
    person_id   TEXT NOT NULL REFERENCES persons(id) ON DELETE CASCADE,
    role        TEXT NOT NULL,
    PRIMARY KEY (org_id, person_id)
);

CREATE TABLE clients (
    id                  TEXT PRIMARY KEY,
    name                TEXT NOT NULL,
    secret_hash         TEXT,
    auth_method         TEXT NOT NULL,
    redirect_uris       TEXT NOT NULL,
    allowed_scopes      TEXT NOT NULL,
    id_token_alg        TEXT NOT NULL,
    sector              TEXT NOT NULL,
    first_party         BIGINT NOT NULL DEFAULT 0,
    created_at          BIGINT NOT NULL
);

CREATE TABLE server_secrets (
    name        TEXT PRIMARY KEY,
    sealed      TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE signing_keys (
    kid             TEXT PRIMARY KEY,
    alg             TEXT NOT NULL,
    public_jwk      TEXT NOT NULL,
    sealed_private  TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    activates_at    BIGINT NOT NULL,
    retired_at      BIGINT,
    published_until BIGINT
);

CREATE TABLE sessions (
    id_hash     TEXT PRIMARY KEY,
    sid         TEXT NOT NULL UNIQUE,
    person_id   TEXT NOT NULL REFERENCES persons(id) ON DELETE CASCADE,
    auth_time   BIGINT NOT NULL,
    acr         TEXT NOT NULL,
    amr         TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX sessions_expiry ON sessions (expires_at);

CREATE TABLE auth_requests (
    id              TEXT PRIMARY KEY,
    browser_hash    TEXT NOT NULL,
    client_id       TEXT NOT NULL,
    params          TEXT NOT NULL,
    person_id       TEXT,
    stage           TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL
);
CREATE INDEX auth_requests_expiry ON auth_requests (expires_at);

CREATE TABLE auth_codes (
    code_hash       TEXT PRIMARY KEY,
    grant_id        TEXT NOT NULL,
    client_id       TEXT NOT NULL,
    redirect_uri    TEXT NOT NULL,
    code_challenge  TEXT NOT NULL,
    person_id       TEXT NOT NULL,
    subject         TEXT NOT NULL,
    scopes          TEXT NOT NULL,
    nonce           TEXT,
    auth_time       BIGINT NOT NULL,
    acr             TEXT NOT NULL,
    amr             TEXT NOT NULL,
    sid             TEXT NOT NULL,
    expires_at      BIGINT NOT NULL,
    used_at         BIGINT
);
CREATE INDEX auth_codes_expiry ON auth_codes (expires_at);

CREATE TABLE access_tokens (
    token_hash  TEXT PRIMARY KEY,
    grant_id    TEXT NOT NULL,
    client_id   TEXT NOT NULL,
    person_id   TEXT NOT NULL,
    subject     TEXT NOT NULL,
    scopes      TEXT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX access_tokens_grant ON access_tokens (grant_id);
CREATE INDEX access_tokens_expiry ON access_tokens (expires_at);

CREATE TABLE consents (
    person_id   TEXT NOT NULL REFERENCES persons(id) ON DELETE CASCADE,
    client_id   TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    scopes      TEXT NOT NULL,
    granted_at  BIGINT NOT NULL,
    PRIMARY KEY (person_id, client_id)
);

CREATE TABLE audit_log (
    seq         BIGINT PRIMARY KEY,
    at          BIGINT NOT NULL,
    event       TEXT NOT NULL,
    person_id   TEXT,
    client_id   TEXT,
    detail      TEXT NOT NULL,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL
);
