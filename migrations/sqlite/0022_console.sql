-- The operator's console (issue 18). Every change here only adds: the previous release keeps
-- working on this schema.

-- A portal an operator disabled refuses every protocol request until it is re-enabled.
ALTER TABLE clients ADD COLUMN disabled_at BIGINT;
ALTER TABLE clients ADD COLUMN disabled_reason TEXT;
-- After a secret rotation the previous secret keeps working until the overlap ends, so the
-- portal can roll out its new secret without a failed request.
ALTER TABLE clients ADD COLUMN previous_secret_hash TEXT;
ALTER TABLE clients ADD COLUMN previous_secret_expires_at BIGINT;

-- Operators are people: a role held by a person, granted by the command line or a security
-- administrator.
CREATE TABLE operator_roles (
    person_id   TEXT NOT NULL REFERENCES persons(id) ON DELETE CASCADE,
    role        TEXT NOT NULL,
    granted_by  TEXT NOT NULL,
    granted_at  BIGINT NOT NULL,
    PRIMARY KEY (person_id, role)
);

-- Daily statistics for the monitoring centre: counts only, one row per cell of the breakdown,
-- added to by the periodic flush of the in-memory counters (never written by a sign-in).
CREATE TABLE stats_daily (
    day           TEXT NOT NULL,
    metric        TEXT NOT NULL,
    portal        TEXT NOT NULL,
    acr           TEXT NOT NULL,
    method        TEXT NOT NULL,
    outcome       TEXT NOT NULL,
    subject_type  TEXT NOT NULL,
    gender        TEXT NOT NULL,
    age_band      TEXT NOT NULL,
    province      TEXT NOT NULL,
    count         BIGINT NOT NULL,
    PRIMARY KEY (day, metric, portal, acr, method, outcome, subject_type, gender, age_band, province)
);

-- Helpdesk search by name without diacritics ("nguyen van an"): the folded full name, kept
-- by every write of a person and filled in for older rows by the server at start.
ALTER TABLE persons ADD COLUMN search_name TEXT;
CREATE INDEX persons_search_name ON persons (search_name);
CREATE INDEX persons_birthdate ON persons (birthdate);
CREATE INDEX persons_phone ON persons (phone);
