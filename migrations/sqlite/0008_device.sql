-- RFC 8628 §5.1: wrong user codes entered from one browser, counted per window, so that the
-- short user code cannot be guessed by trying codes on the verification page.
-- The sqlite/ and postgres/ copies are identical.
CREATE TABLE device_code_attempts (
    browser_hash    TEXT PRIMARY KEY,
    failures        BIGINT NOT NULL,
    window_ends_at  BIGINT NOT NULL
);
CREATE INDEX device_code_attempts_expiry ON device_code_attempts (window_ends_at);
