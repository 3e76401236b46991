-- Resumable registry imports: how far a source file has been committed.
CREATE TABLE import_checkpoints (
    source      TEXT PRIMARY KEY,
    byte_offset BIGINT NOT NULL,
    line        BIGINT NOT NULL,
    imported    BIGINT NOT NULL,
    rejected    BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
