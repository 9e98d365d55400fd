#!/usr/bin/env python3
"""Writes the reserve section of BENCHMARKS.md from scripts/bench-reserve's JSON results.

Usage (from scripts/bench-reserve): bench-reserve-report.py WORK_DIR RUNS COMMAND REDIS_VERSION
REDIS_AOF LOAD_BEFORE SECONDS CLIENT_SECONDS REQUESTS

Reads WORK_DIR/{reserve,ceiling,clients}-<run>.json and replaces only the text between
<!-- reserve:begin --> and <!-- reserve:end --> (appending the section if the markers are
missing, creating the file if needed); other sections are left as they are.
"""

import datetime
import json
import os
import pathlib
import platform
import sys

from bench_report import cpu_model, median, write_section

BEGIN, END = "<!-- reserve:begin -->", "<!-- reserve:end -->"
CPU_NAMES = ["sk-core", "redis", "tansu", "sk-bench", "other", "idle"]


def load(work, kind, runs):
    return [json.loads((work / f"{kind}-{run}.json").read_text()) for run in range(1, runs + 1)]


def rate(x):
    return f"{x:,.0f}"


def reserve_rows(reserve):
    """Median figures per concurrency over the runs."""
    rows = []
    for index, level in enumerate(reserve[0]["levels"]):
        per_run = [run["levels"][index] for run in reserve]
        row = {key: median([r[key] for r in per_run]) for key in
               ["rate", "p50_ms", "p90_ms", "p99_ms", "max_ms", "failed", "refused"]}
        row["concurrency"] = level["concurrency"]
        row["rates"] = [r["rate"] for r in per_run]
        row["cpu"] = {name: median([r["cpu_cores"].get(name, float("nan")) for r in per_run
                                    if r.get("cpu_cores")]) for name in CPU_NAMES}
        rows.append(row)
    return rows


def ceiling_rows(ceiling):
    rows = {}
    for index, measured in enumerate(ceiling[0]["runs"]):
        per_run = [run["runs"][index] for run in ceiling]
        rows[measured["pipeline"]] = {
            "clients": measured["clients"],
            "rate": median([r["rate"] for r in per_run]),
            "p50_ms": median([r["p50_ms"] for r in per_run]),
            "p99_ms": median([r["p99_ms"] for r in per_run]),
            "rates": [r["rate"] for r in per_run],
        }
    return rows


def client_rows(clients):
    """(concurrency, client) -> median figures."""
    cells = {}
    for run in clients:
        for level in run["levels"]:
            cells.setdefault((level["concurrency"], level["client"]), []).append(level)
    return {
        key: {
            # Little's law: in a closed loop the mean latency of all calls is concurrency ÷
            # rate, including callers a pool starved (whose timed-out calls have no latency).
            "mean_ms": 1000 * key[0] / median([l["rate"] for l in levels]),
            "rate": median([l["rate"] for l in levels]),
            "max_ms": median([l["max_ms"] for l in levels]),
            "p50_ms": median([l["p50_ms"] for l in levels]),
            "p99_ms": median([l["p99_ms"] for l in levels]),
            "failed": median([l["failed"] for l in levels]),
            "pool_size": levels[0]["pool_size"],
        }
        for key, levels in cells.items()
    }


def run_ratios(reserve, ceiling, pipeline):
    """Per run: the best sk-core rate over the ceiling measured in the same run."""
    ratios = []
    for core, lua in zip(reserve, ceiling):
        best = max(level["rate"] for level in core["levels"])
        ceiling_rate = next(r["rate"] for r in lua["runs"] if r["pipeline"] == pipeline)
        ratios.append(best / ceiling_rate)
    return ratios


def limit_sentence(best):
    cpu = best["cpu"]
    split = ", ".join(f"{name} {cpu[name]:.2f}" for name in CPU_NAMES)
    where = (f"at concurrency {best['concurrency']}, sk-core's best rate, the cores went to "
             f"{split}; sk-core spent {1e6 * cpu['sk-core'] / best['rate']:.0f} µs of CPU per "
             "reservation.")
    if cpu["redis"] >= 0.85:
        return (f"**Redis**: {where} Redis's single thread is saturated, so sk-core cannot go "
                "faster without making Redis do less per reservation.")
    if cpu["idle"] < 0.25:
        consumers = {name: cpu[name] for name in ["sk-core", "redis", "tansu", "sk-bench"]}
        top = max(consumers, key=consumers.get)
        return (f"**the CPU the co-located processes share, not Redis**: {where} Both cores are "
                f"busy while Redis uses {cpu['redis']:.2f} of its one thread; the biggest "
                f"consumer is {top}, and the broker the relay feeds takes {cpu['tansu']:.2f}.")
    return (f"**latency, not capacity**: {where} Neither the cores nor Redis are saturated, so "
            "round trips through HTTP, sk-core and Redis bound the closed loop at this "
            "concurrency.")


def client_verdict(cells, concurrencies):
    ratios = {c: cells[(c, "multiplexed")]["rate"] / cells[(c, "bb8")]["rate"]
              for c in concurrencies}
    span = f"{min(ratios.values()):.2f}–{max(ratios.values()):.2f}×"
    if all(r >= 1.0 for r in ratios.values()):
        return (f"**Verdict: the multiplexed connection is faster at every concurrency "
                f"({span} the pool's calls/s), so sk-core keeps its one shared "
                "`ConnectionManager` and takes no pool.**")
    if all(r < 1.0 for r in ratios.values()):
        return (f"**Verdict: the bb8 pool is faster at every concurrency (multiplexed reaches "
                f"{span} of it): sk-core should move its hot path to a pool.**")
    faster = ", ".join(f"{c}: {r:.2f}×" for c, r in ratios.items())
    return (f"**Verdict: mixed (multiplexed / bb8 by concurrency: {faster}); sk-core keeps the "
            "multiplexed connection, which needs no pool sizing.**")


def starvation_note(cells, concurrencies):
    starved = [c for c in concurrencies
               if cells[(c, "bb8")]["failed"] > 0
               or cells[(c, "bb8")]["mean_ms"] > 2 * cells[(c, "bb8")]["p99_ms"]]
    if not starved:
        return ""
    worst = cells[(starved[-1], "bb8")]
    return (f"\n\nWith more callers than connections (concurrency {', '.join(map(str, starved))}) "
            "bb8's percentiles flatter it: a returned connection goes to whichever caller asks "
            "next, not to the longest waiter (bb8 0.9 wakes a waiter, which then races new "
            "checkouts), so a few callers wait up to the 1 s checkout timeout while the rest "
            f"never queue. At concurrency {starved[-1]} its calls take {worst['mean_ms']:.2f} ms "
            f"on average (concurrency ÷ calls/s) against a p50 of {worst['p50_ms']:.2f} ms and a "
            f"p99 of {worst['p99_ms']:.2f} ms, and {worst['failed']:.0f} checkouts timed out.")


def section(args, reserve, ceiling, clients):
    (work, runs, command, redis_version, redis_aof, load_before,
     seconds, client_seconds, requests) = args
    rows = reserve_rows(reserve)
    best = max(rows, key=lambda row: row["rate"])
    lua = ceiling_rows(ceiling)
    plain, piped = lua[1], lua[16]
    vs_plain, vs_piped = run_ratios(reserve, ceiling, 1), run_ratios(reserve, ceiling, 16)
    cells = client_rows(clients)
    client_levels = sorted({c for c, _ in cells})
    table = "\n".join(
        f"| {r['concurrency']} | **{rate(r['rate'])}** | {r['p50_ms']:.2f} | {r['p90_ms']:.2f} | "
        f"{r['p99_ms']:.2f} | {r['max_ms']:.1f} | {r['failed']:.0f} | "
        f"{' · '.join(rate(x) for x in r['rates'])} |"
        for r in rows)
    cpu_table = "\n".join(
        f"| {r['concurrency']} | " + " | ".join(f"{r['cpu'][n]:.2f}" for n in CPU_NAMES) + " |"
        for r in rows)
    client_table = "\n".join(
        f"| {c} | {rate(m['rate'])} | {m['mean_ms']:.2f} | {m['p50_ms']:.2f} | "
        f"{m['p99_ms']:.2f} | {m['max_ms']:.1f} | {b['pool_size']} | {rate(b['rate'])} | "
        f"{b['mean_ms']:.2f} | {b['p50_ms']:.2f} | {b['p99_ms']:.2f} | {b['max_ms']:.1f} | "
        f"{b['failed']:.0f} | **{m['rate'] / b['rate']:.2f}** |"
        for c in client_levels
        for m, b in [(cells[(c, 'multiplexed')], cells[(c, 'bb8')])])
    fmt_runs = lambda xs: " · ".join(f"{x:.2f}" for x in xs)
    return f"""{BEGIN}
## Reserve path: sk-core against the same Lua script in redis-benchmark

Reproduce: `{command}` (builds the release binaries; starts a release sk-core on a free port
with its own key prefix, topics and random secrets, its outbox relay shipping to a private
tansu broker; runs the three measurements below {runs} times, interleaved, so each ratio
compares figures from the same run; stops what it started; rewrites this section).

Machine: {os.cpu_count()} cores ({cpu_model()}), {platform.system()} {platform.release()};
everything co-located on it: Redis {redis_version} (appendonly {redis_aof}), the release
sk-core with default settings, its relay producing every reservation to tansu 0.6 (sqlite
storage), and sk-bench. Measured {datetime.date.today().isoformat()}; load average before the
first run {load_before} (the machine is shared with other work: absolute figures swing, the
same-run ratios are what to compare). Figures are medians of {runs} runs.

### sk-core `POST /internal/v1/activities/{{id}}/reserve`

`sk-bench reserve`: closed loop, each of *concurrency* callers sends its next request when the
previous one answered; every request HMAC-signed as sk-app signs it, over a keep-alive
HTTP/1.1 pool, from one load-generator thread; a new user per call and stock that never runs
out, so every call reserves (checked: the stock went down by exactly the confirmed
reservations). 1 s warm-up, then {seconds} s measured per concurrency; before each
concurrency the relay's Kafka backlog is drained so one level's backlog does not slow the next.

| concurrency | reservations/s | p50 ms | p90 ms | p99 ms | max ms | failed | per run (req/s) |
|---|---|---|---|---|---|---|---|
{table}

CPU cores used meanwhile (of {os.cpu_count()}; *other* is everything else on the machine):

| concurrency | sk-core | Redis | tansu | sk-bench | other | idle |
|---|---|---|---|---|---|---|
{cpu_table}

### Same-run ceiling: redis-benchmark running the same script

`sk-bench reserve-ceiling` loads sk-core's reserve script (`SCRIPT LOAD`) and runs
`redis-benchmark -c 50 -n {requests} -r 2000000000 EVALSHA <sha> 7 <the activity's 7 keys>
order-__rand_int__ user-__rand_int__ 1 '' <activity id> ''` — the keys and arguments sk-core
passes, a distinct order id and user per call — plain and with `-P 16`, each on a fresh
activity whose stock must go down by exactly {requests} (so no call was an error or a refusal).

| redis-benchmark | calls/s | p50 ms | p99 ms | per run (calls/s) |
|---|---|---|---|---|
| plain, `-c {plain['clients']}` | **{rate(plain['rate'])}** | {plain['p50_ms']:.2f} | {plain['p99_ms']:.2f} | {' · '.join(rate(x) for x in plain['rates'])} |
| pipelined, `-c {piped['clients']} -P 16` | **{rate(piped['rate'])}** | {piped['p50_ms']:.2f} | {piped['p99_ms']:.2f} | {' · '.join(rate(x) for x in piped['rates'])} |

**Ratios** (sk-core's best rate over the ceiling of the same run, median of {runs}):
sk-core / redis-benchmark plain = **{median(vs_plain):.2f}** (runs: {fmt_runs(vs_plain)});
sk-core / redis-benchmark pipelined = **{median(vs_piped):.2f}** (runs: {fmt_runs(vs_piped)}).
Plain redis-benchmark waits for each answer before sending the next call on a connection;
sk-core's multiplexed connection pipelines the calls of concurrent requests, so the pipelined
figure is the real ceiling of Redis running this script.

**What limits sk-core here:** {limit_sentence(best)}

Per reservation sk-core does a little more Redis work than the ceiling: after the script it
`SET`s an order-id → activity index entry (one more round trip), and it also checks the
request's HMAC, parses JSON and signs a purchase token.

### Redis client on the hot path: one multiplexed connection vs a bb8 pool

`sk-bench redis-clients`: the reserve script alone (no HTTP), closed loop, {client_seconds} s
measured per cell after 1 s of warm-up, a fresh activity per cell (stock checked), on a Tokio
runtime with one worker per core as sk-core's. **multiplexed**: one
`redis::aio::ConnectionManager` shared by every task, built by `sk_common::redis::RedisHandle`
exactly as sk-core builds it; concurrent calls are pipelined on its one socket. **bb8**: a
`bb8-redis` 0.26 pool of min(concurrency, 32) connections, each checked out by one call at a
time, without the default `PING` on checkout (it would double the round trips), with a 1 s
checkout timeout like sk-core's Redis response timeout (a timed-out checkout counts as failed).

| concurrency | multiplexed calls/s | mean ms (conc ÷ rate) | p50 ms | p99 ms | max ms | bb8 pool size | bb8 calls/s | mean ms (conc ÷ rate) | p50 ms | p99 ms | max ms | bb8 failed | multiplexed / bb8 |
|---|---|---|---|---|---|---|---|---|---|---|---|---|---|
{client_table}

{client_verdict(cells, client_levels)}{starvation_note(cells, client_levels)}
{END}"""


def main():
    args = sys.argv[1:]
    if len(args) != 9:
        sys.exit(__doc__)
    work, runs = pathlib.Path(args[0]), int(args[1])
    reserve, ceiling, clients = (load(work, kind, runs) for kind in ["reserve", "ceiling", "clients"])
    text_section = section([work, runs, *args[2:]], reserve, ceiling, clients)
    write_section(BEGIN, END, text_section)
    print(f"==> BENCHMARKS.md: reserve section updated ({runs} runs)")


if __name__ == "__main__":
    main()
