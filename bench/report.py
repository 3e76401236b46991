#!/usr/bin/env python3
"""bench/run's arithmetic: one result line per measurement, and the Markdown section.

  report.py record LABEL SCENARIO IDLE_KB PROBE LOADGEN_JSON [ROUND]  -> one JSON line
  report.py half RESULTS LABEL                                 -> half of LABEL's median sso ops/s
  report.py markdown RESULTS FLOOR_US DURATION CONCURRENCY QUICK COMMAND
"""
import json
import os
import platform
import subprocess
import sys
from datetime import datetime, timezone

TICKS = os.sysconf("SC_CLK_TCK")
SCENARIOS = [
    ("sso", "1 SSO sign-in, live session (authorize → code → token → userinfo, PKCE)"),
    ("token", "2 token endpoint (code exchange)"),
    ("refresh", "3 refresh (rotation)"),
    ("introspect", "4 introspection"),
    ("discovery", "5 discovery + JWKS"),
    ("qr_verify", "6 QR credential verify"),
    ("cert_verify", "7 certificate verify (revocation off)"),
]


def read_probe(path):
    d = {}
    try:
        with open(path) as f:
            for line in f:
                k, _, v = line.strip().partition(" ")
                if k and v:
                    d[k] = int(float(v))
    except FileNotFoundError:
        pass
    return d


def record(label, scenario, idle_kb, probe, out, round_="1"):
    r = json.loads(out)
    r["label"], r["scenario"], r["round"] = label, scenario, int(round_)
    a, b = read_probe(probe + ".start"), read_probe(probe + ".end")
    ops = r.get("ops", 0)
    r["idle_rss_mb"] = round(int(idle_kb or 0) / 1024, 1)
    if "cpu_ticks" in a and "cpu_ticks" in b and ops:
        r["cpu_s_per_1000"] = round((b["cpu_ticks"] - a["cpu_ticks"]) / TICKS / ops * 1000, 3)
    if "hwm_kb" in b:
        r["peak_rss_mb"] = round(b["hwm_kb"] / 1024, 1)
    if "rss_kb" in b:
        r["end_rss_mb"] = round(b["rss_kb"] / 1024, 1)
    if "db_cpu_ticks" in a and ops:
        r["db_cpu_s_per_1000"] = round((b["db_cpu_ticks"] - a["db_cpu_ticks"]) / TICKS / ops * 1000, 3)
    tables = {k[8:]: b.get(k, 0) - a.get(k, 0) for k in b if k.startswith("db_rows.")}
    if tables and ops:
        r["db_rows_per_op"] = round(sum(tables.values()) / ops, 2)
        r["db_rows_by_table"] = {t: round(n / ops, 2) for t, n in sorted(tables.items()) if n}
    print(json.dumps(r, ensure_ascii=False))


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def half(path, label):
    rates = [r["ops_per_sec"] for r in load(path) if r["label"] == label and r["scenario"] == "sso" and r.get("ops_per_sec")]
    print(max(1.0, round(median(rates) / 2, 1)) if rates else 10)


def median(values):
    v = sorted(values)
    if not v:
        return None
    mid = len(v) // 2
    return v[mid] if len(v) % 2 else (v[mid - 1] + v[mid]) / 2


def spread(values, nd=1):
    """`median [min–max]` of the rounds, or the one value."""
    v = [x for x in values if x is not None]
    if not v:
        return "—"
    m = median(v)
    if len(v) == 1:
        return f"{m:,.{nd}f}"
    return f"{m:,.{nd}f} [{min(v):,.{nd}f}–{max(v):,.{nd}f}]"


def verdict(lo, hi, better_above=True):
    """Faster / slower only when every round agrees; a range that holds 1 is parity."""
    if lo <= 1 <= hi:
        return "parity"
    return ("faster" if lo > 1 else "slower") if better_above else ("cheaper" if hi < 1 else "dearer")


def fmt(v, nd=1):
    return "—" if v is None else f"{v:,.{nd}f}"


def machine():
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = 0
    for line in open("/proc/meminfo"):
        if line.startswith("MemTotal"):
            mem = int(line.split()[1]) // 1024 // 1024
    load = open("/proc/loadavg").read().split()[:3]
    return f"{os.cpu_count()} cores, {cpu}, {mem} GiB, Linux {platform.release()}", " / ".join(load)


def markdown(path, floor_us, duration, concurrency, quick, command):
    rs = load(path)
    by = {(r["label"], r["scenario"]): r for r in rs}
    mach, loadavg = machine()
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    except OSError:
        rev = "?"
    peer_v = "?"
    try:
        peer_v = json.load(open("bench/peer/node_modules/oidc-provider/package.json"))["version"]
    except OSError:
        pass
    node_v = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    o = []
    o.append(f"## OpenID Connect and verification endpoints, nixa vs oidc-provider ({now})\n")
    o.append(f"`{command}` at commit {rev}{' (quick)' if quick == '1' else ''}: {duration} s per measurement, "
             f"{concurrency} concurrent clients (bench/loadgen, closed loop, on the same machine), each measurement after a warm-up "
             f"of unmeasured load. "
             f"Machine: {mach}; load average at the end {loadavg}. Peer: oidc-provider {peer_v} on Node {node_v} "
             f"(in-memory adapter, one process). CPU = server process CPU (utime+stime from /proc) per 1,000 "
             f"operations; DB rows = rows inserted+updated+deleted per operation (PostgreSQL "
             f"pg_stat_user_tables) or, on SQLite, net new rows per operation (row counts; updates not seen).\n")
    groups = {}
    for r in rs:
        groups.setdefault((r["label"], r["scenario"]), []).append(r)
    rounds = max((r.get("round", 1) for r in rs), default=1)
    o.append(f"Each cell: median [min–max] over {rounds} rounds, interleaved between the servers.\n")
    o.append("| server | scenario | ops/s | p50 ms | p99 ms | errors | CPU s / 1k ops | DB CPU s / 1k | idle RSS MB | peak RSS MB | DB rows / op |")
    o.append("|---|---|---|---|---|---|---|---|---|---|---|")
    for (label, scenario), g in groups.items():
        if g[0].get("skipped"):
            o.append(f"| {label} | {scenario} | skipped: {g[0]['skipped']} | | | | | | | | |")
            continue
        col = lambda k: [r.get(k) for r in g]
        o.append(f"| {label} | {scenario} | {spread(col('ops_per_sec'))} | {spread(col('p50_ms'), 2)} | {spread(col('p99_ms'), 2)} "
                 f"| {sum(r.get('errors', 0) for r in g)} | {spread(col('cpu_s_per_1000'), 3)} | {spread(col('db_cpu_s_per_1000'), 3)} "
                 f"| {fmt(g[0].get('idle_rss_mb'))} | {fmt(max((x for x in col('peak_rss_mb') if x), default=None))} "
                 f"| {spread(col('db_rows_per_op'), 2)} |")
    errs = [r for r in rs if r.get("first_error")]
    if errs:
        o.append("\nFirst error per measurement with errors:\n")
        for r in errs:
            o.append(f"- {r['label']} {r['scenario']} (round {r.get('round', 1)}): {r['first_error'][:300]}")
    o.append("\nRatio nixa / peer, per round (the same round's measurements, taken one after the other), "
             "median [min–max]; a range that holds 1 is parity. Throughput: above 1 nixa is faster. "
             "CPU per operation: below 1 nixa is cheaper.\n")
    o.append("| scenario | nixa SQLite / peer ops/s | nixa PostgreSQL / peer ops/s | nixa SQLite / peer CPU per op | nixa PostgreSQL / peer CPU per op |")
    o.append("|---|---|---|---|---|")
    ratios = {}
    for s_, name in SCENARIOS[:5]:
        cells = []
        for key, better_above in (("ops_per_sec", True), ("cpu_s_per_1000", False)):
            for lab in ("nixa-sqlite", "nixa-postgres"):
                per_round = []
                for r in groups.get((lab, s_), []):
                    p = next((q for q in groups.get(("peer", s_), []) if q.get("round") == r.get("round")), None)
                    if p and r.get(key) and p.get(key):
                        per_round.append(r[key] / p[key])
                ratios[(lab, s_, key)] = per_round
                if per_round:
                    cells.append(f"{spread(per_round, 2)}× {verdict(min(per_round), max(per_round), better_above)}")
                else:
                    cells.append("—")
        o.append(f"| {name} | {cells[0]} | {cells[1]} | {cells[2]} | {cells[3]} |")
    trend = [(lab, [r.get("ops_per_sec") for r in sorted(groups.get((lab, "sso"), []), key=lambda r: r.get("round", 1))])
             for lab in ("nixa-sqlite", "peer", "nixa-postgres")]
    if rounds > 1:
        o.append("\nScenario 1 by round (ops/s), to see a server slow down as it accumulates state:\n")
        for lab, v in trend:
            if v:
                o.append(f"- {lab}: " + ", ".join(fmt(x) for x in v))
    rows = [r for r in rs if r["scenario"] == "sso" and r.get("db_rows_by_table") and r.get("round", 1) == 1]
    if rows:
        o.append("\nDatabase rows written per SSO sign-in, by table:\n")
        for r in rows:
            o.append(f"- {r['label']}: " + ", ".join(f"{t} {n}" for t, n in r["db_rows_by_table"].items()))
    # Targets (issue 21), on the medians.
    o.append("\nTargets (issue 21; medians of the rounds):\n")
    med = lambda lab, sc, k: median([r[k] for r in groups.get((lab, sc), []) if r.get(k) is not None])
    for lab, need in (("nixa-sqlite", 3), ("nixa-postgres", 2)):
        v = ratios.get((lab, "sso", "ops_per_sec"))
        if v:
            o.append(f"- Scenario 1 ≥ {need}× the peer ({lab}): {median(v):.2f}× [{min(v):.2f}–{max(v):.2f}] — "
                     f"{'met' if min(v) >= need else ('met on the median' if median(v) >= need else 'not met')}.")
    for lab in ("nixa-sqlite-50%", "nixa-postgres-50%", "peer-50%"):
        h = by.get((lab, "sso"))
        if h and h.get("ops"):
            who = "" if lab.startswith("nixa") else " (peer, for comparison)"
            o.append(f"- Scenario 1 p99 < 20 ms at 50 % of peak ({lab}, {h.get('rate')} flows/s): p99 {h['p99_ms']} ms, "
                     f"p50 {h['p50_ms']} ms — {'met' if h['p99_ms'] < 20 else 'not met'}{who}.")
    for sc, limit in (("token", 150), ("refresh", 200)):
        c = med("nixa-sqlite", sc, "cpu_s_per_1000")
        if c is not None:
            o.append(f"- {sc}: ≤ {limit} µs server CPU per operation on SQLite: {c * 1000:.0f} µs — {'met' if c * 1000 <= limit else 'not met'}"
                     + (f" ({c * 1000 / float(floor_us):.1f}× the {float(floor_us):.0f} µs ES256 signature floor, openssl speed)." if floor_us else "."))
    idle = [r.get("idle_rss_mb") for r in rs if r["label"] in ("nixa-sqlite", "nixa-postgres") and r.get("idle_rss_mb")]
    peak = [r.get("peak_rss_mb") for r in rs if r["label"] in ("nixa-sqlite", "nixa-postgres") and r.get("peak_rss_mb")]
    if idle and peak:
        o.append(f"- Idle RSS < 30 MB: {max(idle)} MB — {'met' if max(idle) < 30 else 'not met'}; "
                 f"peak RSS < 100 MB: {max(peak)} MB — {'met' if max(peak) < 100 else 'not met'}.")
    for sc, limit in (("sso", 2), ("refresh", 2)):
        w = med("nixa-postgres", sc, "db_rows_per_op")
        if w is not None:
            o.append(f"- ≤ {limit} rows written per {sc} on PostgreSQL: {w} — {'met' if w <= limit else 'not met'}.")
    two = by.get(("nixa-2nodes-postgres", "sso"))
    one = med("nixa-postgres", "sso", "ops_per_sec")
    if two:
        gain = f", {two['ops_per_sec'] / one:.2f}× one node" if one and two.get("ops_per_sec") else ""
        o.append(f"- Two nodes on one PostgreSQL (each flow authorized on one node, redeemed on the other): "
                 f"{fmt(two.get('ops_per_sec'))} flows/s{gain}, p99 {two.get('p99_ms')} ms, {two.get('errors')} errors.")
    print("\n".join(o))


def main():
    cmd = sys.argv[1]
    if cmd == "record":
        record(*sys.argv[2:8])
    elif cmd == "half":
        half(sys.argv[2], sys.argv[3])
    elif cmd == "markdown":
        markdown(*sys.argv[2:8])
    else:
        sys.exit(f"report.py: unknown command {cmd}")


if __name__ == "__main__":
    main()
