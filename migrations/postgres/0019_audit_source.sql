-- Where a recorded action came from: the client address (as the throttle saw it: IPv6 by its
-- /64) and the browser's or client's User-Agent. Covered by the entry's hash when present.
ALTER TABLE audit_log ADD COLUMN client_addr TEXT;
ALTER TABLE audit_log ADD COLUMN user_agent TEXT;
