-- Dynamic client registration (RFC 7591/7592). Keep in parity with the other backend.

-- Registered metadata that nixa records and returns to the client but that has no column of its
-- own (application_type, token_endpoint_auth_signing_alg), JSON. One row per dynamically
-- registered client; it goes with the client.
CREATE TABLE client_registrations (
    client_id   TEXT PRIMARY KEY REFERENCES clients(id) ON DELETE CASCADE,
    metadata    TEXT NOT NULL,
    updated_at  BIGINT NOT NULL
);
-- RFC 7592 §2.1: a token presented for a client that does not exist is revoked, found by hash.
CREATE INDEX clients_registration_token ON clients (registration_token_hash);
