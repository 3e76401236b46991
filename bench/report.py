#!/usr/bin/env python3
"""bench/run's arithmetic: one result line per measurement, and the Markdown section.

  report.py record LABEL SCENARIO IDLE_KB PROBE LOADGEN_JSON   -> one JSON line
  report.py half RESULTS LABEL                                 -> half of LABEL's sso ops/s
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


def record(label, scenario, idle_kb, probe, out):
    r = json.loads(out)
    r["label"], r["scenario"] = label, scenario
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
    for r in load(path):
        if r["label"] == label and r["scenario"] == "sso" and r.get("ops_per_sec"):
            print(max(1.0, round(r["ops_per_sec"] / 2, 1)))
            return
    print(10)


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
             f"{concurrency} concurrent clients (bench/loadgen, closed loop, on the same machine). "
             f"Machine: {mach}; load average at the end {loadavg}. Peer: oidc-provider {peer_v} on Node {node_v} "
             f"(in-memory adapter, one process). CPU = server process CPU (utime+stime from /proc) per 1,000 "
             f"operations; DB rows = rows inserted+updated+deleted per operation (PostgreSQL "
             f"pg_stat_user_tables) or, on SQLite, net new rows per operation (row counts; updates not seen).\n")
    o.append("| server | scenario | ops/s | p50 ms | p99 ms | errors | CPU s / 1k ops | DB CPU s / 1k | idle RSS MB | RSS at end MB | peak RSS MB | DB rows / op |")
    o.append("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rs:
        if r.get("skipped"):
            o.append(f"| {r['label']} | {r['scenario']} | skipped: {r['skipped']} | | | | | | | | | |")
            continue
        o.append(f"| {r['label']} | {r['scenario']} | {fmt(r.get('ops_per_sec'))} | {fmt(r.get('p50_ms'), 2)} | {fmt(r.get('p99_ms'), 2)} "
                 f"| {r.get('errors', 0)} | {fmt(r.get('cpu_s_per_1000'), 3)} | {fmt(r.get('db_cpu_s_per_1000'), 3)} "
                 f"| {fmt(r.get('idle_rss_mb'))} | {fmt(r.get('end_rss_mb'))} | {fmt(r.get('peak_rss_mb'))} | {fmt(r.get('db_rows_per_op'), 2)} |")
    errs = [r for r in rs if r.get("first_error")]
    if errs:
        o.append("\nFirst error per measurement with errors:\n")
        for r in errs:
            o.append(f"- {r['label']} {r['scenario']}: {r['first_error'][:300]}")
    o.append("\nRatio nixa / peer (throughput; CPU per operation, lower is better for nixa below 1):\n")
    o.append("| scenario | nixa SQLite / peer ops/s | nixa PostgreSQL / peer ops/s | nixa SQLite / peer CPU per op |")
    o.append("|---|---|---|---|")
    for s, name in SCENARIOS[:5]:
        p = by.get(("peer", s), {})
        cells = []
        for lab in ("nixa-sqlite", "nixa-postgres"):
            n = by.get((lab, s), {})
            cells.append(f"{n['ops_per_sec'] / p['ops_per_sec']:.2f}×" if n.get("ops_per_sec") and p.get("ops_per_sec") else "—")
        n = by.get(("nixa-sqlite", s), {})
        cpu = f"{n['cpu_s_per_1000'] / p['cpu_s_per_1000']:.2f}" if n.get("cpu_s_per_1000") and p.get("cpu_s_per_1000") else "—"
        o.append(f"| {name} | {cells[0]} | {cells[1]} | {cpu} |")
    rows = [r for r in rs if r["scenario"] == "sso" and r.get("db_rows_by_table")]
    if rows:
        o.append("\nDatabase rows written per SSO sign-in, by table:\n")
        for r in rows:
            o.append(f"- {r['label']}: " + ", ".join(f"{t} {n}" for t, n in r["db_rows_by_table"].items()))
    # Targets (issue 9).
    o.append("\nTargets (issue 9):\n")
    n1, p1 = by.get(("nixa-sqlite", "sso"), {}), by.get(("peer", "sso"), {})
    n1pg = by.get(("nixa-postgres", "sso"), {})
    if n1.get("ops_per_sec") and p1.get("ops_per_sec"):
        ratio = n1["ops_per_sec"] / p1["ops_per_sec"]
        o.append(f"- Scenario 1 ≥ 5× the peer: SQLite {ratio:.2f}×"
                 + (f", PostgreSQL {n1pg['ops_per_sec'] / p1['ops_per_sec']:.2f}×" if n1pg.get("ops_per_sec") else "")
                 + f" — {'met' if ratio >= 5 else 'not met'} (SQLite).")
    for lab in ("nixa-sqlite-50%", "nixa-postgres-50%", "peer-50%"):
        h = by.get((lab, "sso"))
        if h and h.get("ops"):
            verdict = "met" if h["p99_ms"] < 20 else "not met"
            who = "" if lab.startswith("nixa") else " (peer, for comparison)"
            o.append(f"- Scenario 1 p99 < 20 ms at 50 % of peak ({lab}, {h.get('rate')} flows/s): p99 {h['p99_ms']} ms, p50 {h['p50_ms']} ms — {verdict}{who}.")
    t = by.get(("nixa-sqlite", "token"), {})
    if floor_us and t.get("cpu_s_per_1000"):
        per_op_us = t["cpu_s_per_1000"] * 1000
        o.append(f"- Token endpoint within 3× the ES256 signing floor: {per_op_us:.0f} µs server CPU per code exchange vs "
                 f"{float(floor_us):.0f} µs per ES256 signature here (openssl speed) = {per_op_us / float(floor_us):.1f}× — "
                 f"{'met' if per_op_us <= 3 * float(floor_us) else 'not met'}. p50 latency {t.get('p50_ms')} ms.")
    idle = [r.get("idle_rss_mb") for r in rs if r["label"] in ("nixa-sqlite", "nixa-postgres") and r.get("idle_rss_mb")]
    peak = [r.get("peak_rss_mb") for r in rs if r["label"] in ("nixa-sqlite", "nixa-postgres") and r.get("peak_rss_mb")]
    if idle and peak:
        o.append(f"- Idle RSS < 30 MB: {max(idle)} MB — {'met' if max(idle) < 30 else 'not met'}; "
                 f"peak RSS < 100 MB: {max(peak)} MB — {'met' if max(peak) < 100 else 'not met'}.")
    if n1pg.get("db_rows_per_op") is not None:
        w = n1pg["db_rows_per_op"]
        o.append(f"- ≤ 3 database writes per SSO sign-in: {w} rows written per sign-in on PostgreSQL — {'met' if w <= 3 else 'not met'}.")
    two = by.get(("nixa-2nodes-postgres", "sso"))
    if two:
        o.append(f"- Two nodes on one PostgreSQL (each flow authorized on one node, redeemed on the other): "
                 f"{fmt(two.get('ops_per_sec'))} flows/s, p99 {two.get('p99_ms')} ms, {two.get('errors')} errors.")
    print("\n".join(o))


def main():
    cmd = sys.argv[1]
    if cmd == "record":
        record(*sys.argv[2:7])
    elif cmd == "half":
        half(sys.argv[2], sys.argv[3])
    elif cmd == "markdown":
        markdown(*sys.argv[2:8])
    else:
        sys.exit(f"report.py: unknown command {cmd}")


if __name__ == "__main__":
    main()
