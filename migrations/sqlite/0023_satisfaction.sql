-- The question after a sign-in (issue 18): "how was signing in?". Only adds: the previous
-- release keeps working on this schema.

-- When the person was last asked, so that nobody is asked more than once per period. The
-- answer itself is never stored with the person: it is counted in stats_daily (metric
-- 'satisfaction', outcome = the rating) through the same suppression as every statistic.
ALTER TABLE persons ADD COLUMN satisfaction_asked_at BIGINT;

-- Comments left with a rating, apart from everything else: no person, no portal, no time of
-- day (the day only), written in shuffled batches. Purged after sign_in_retention_days.
CREATE TABLE satisfaction_comments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    day     TEXT NOT NULL,
    rating  TEXT NOT NULL,
    locale  TEXT NOT NULL,
    comment TEXT NOT NULL
);
CREATE INDEX satisfaction_comments_day ON satisfaction_comments (day);
