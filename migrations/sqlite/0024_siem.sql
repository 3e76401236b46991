-- Audit export to a SIEM (issue 19). Only adds: the previous release keeps working.

-- How far each sink has been delivered: the last audit sequence number it acknowledged (or, for
-- syslog over TCP, that was written on a connection still alive afterwards). A restart goes on
-- from here, so nothing is lost; a resend carries the same sequence numbers.
CREATE TABLE siem_cursors (
    sink        TEXT PRIMARY KEY,
    seq         BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
