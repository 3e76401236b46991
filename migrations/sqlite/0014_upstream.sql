-- The federation hub: sign-ins brokered to upstream identity providers, and the links between
-- an upstream account and a person. The sqlite/ and postgres/ copies are identical.

-- An upstream account (issuer's provider id + its `sub`) that reaches this person. Created only
-- on a verified personal ID asserted by a trusted upstream, never on e-mail.
CREATE TABLE upstream_links (
    upstream_id     TEXT NOT NULL,
    subject         TEXT NOT NULL,
    person_id       TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    last_used_at    BIGINT,
    PRIMARY KEY (upstream_id, subject)
);
CREATE INDEX upstream_links_person ON upstream_links (person_id);

-- A redirect to an upstream in flight: keyed by the hash of the `state` sent there, bound to the
-- browser and to one sign-in in progress; taken once by the callback.
CREATE TABLE upstream_logins (
    state_hash      TEXT PRIMARY KEY,
    pending_id      TEXT NOT NULL,
    upstream_id     TEXT NOT NULL,
    browser_hash    TEXT NOT NULL,
    nonce           TEXT NOT NULL,
    pkce_verifier   TEXT NOT NULL,
    expires_at      BIGINT NOT NULL
);
CREATE INDEX upstream_logins_expiry ON upstream_logins (expires_at);

-- Which upstream (and which upstream ID token) a browser session came from: logout is passed on.
CREATE TABLE upstream_sessions (
    sid             TEXT PRIMARY KEY,
    upstream_id     TEXT NOT NULL,
    id_token        TEXT NOT NULL,
    expires_at      BIGINT NOT NULL
);

-- Upstreams added through the admin API (those in nixa.toml are not stored). The configuration,
-- client secret included, is sealed with the master key.
CREATE TABLE upstream_providers (
    id              TEXT PRIMARY KEY,
    sealed_config   TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
