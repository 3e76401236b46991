#!/usr/bin/env bash
# The loadgen's --hook: snapshots around the measured phase, written to $OUT.start / $OUT.end.
# Usage: probe.sh OUT "PID..." DBKIND DBREF start|end
#   server CPU: utime+stime of the server processes (/proc/PID/stat, clock ticks)
#   database:   postgres — rows inserted+updated+deleted per table (pg_stat_user_tables) and
#               the PostgreSQL processes' own CPU; sqlite — row count per table (net inserts).
set -euo pipefail
out=$1 pids=$2 kind=$3 ref=$4 phase=$5
f="$out.$phase"
ticks=0
for p in $pids; do
    read -r -a st < "/proc/$p/stat"
    # Fields 14 and 15 (utime, stime); the command name (field 2) has no spaces here.
    ticks=$((ticks + st[13] + st[14]))
done
echo "cpu_ticks $ticks" > "$f"
echo "hwm_kb $(for p in $pids; do awk '/VmHWM/ {print $2}' "/proc/$p/status"; done | paste -sd+ | bc)" >> "$f"
echo "rss_kb $(for p in $pids; do awk '/VmRSS/ {print $2}' "/proc/$p/status"; done | paste -sd+ | bc)" >> "$f"
case "$kind" in
postgres)
    # Backends report their table counters late (PostgreSQL 15: after up to 10 s idle). Wait at
    # the start so that the sign-ins made while preparing are not counted in the measured phase,
    # and at the end so that every measured write is.
    sleep 11
    psql "$ref" -qAtF' ' -c "select 'db_rows.' || relname, n_tup_ins + n_tup_upd + n_tup_del from pg_stat_user_tables" >> "$f"
    pg_ticks=0
    for p in $(pgrep -u postgres postgres || true); do
        if read -r -a st < "/proc/$p/stat" 2>/dev/null; then pg_ticks=$((pg_ticks + st[13] + st[14])); fi
    done
    echo "db_cpu_ticks $pg_ticks" >> "$f"
    ;;
sqlite)
    for t in $(sqlite3 "$ref" "select name from sqlite_master where type='table' and name not like 'sqlite_%' and name not like '_sqlx%'"); do
        echo "db_rows.$t $(sqlite3 "$ref" "select count(*) from \"$t\"")" >> "$f"
    done
    ;;
esac
