#!/usr/bin/env python3
"""Writes the sale section of BENCHMARKS.md from scripts/bench-sale's JSON results.

Usage (from scripts/bench-sale): bench-sale-report.py WORK_DIR RUNS COMMAND LOAD_BEFORE CONCURRENCY

Reads WORK_DIR/run-<n>/{ceiling,buy,verify,paced,soldout}.json and the verify start time, and
replaces only the text between <!-- sale:begin --> and <!-- sale:end --> (the section is put
first when the markers are missing); other sections stay.
"""

import datetime
import json
import os
import pathlib
import platform
import sys

from bench_report import cpu_model, median, write_section

BEGIN, END = "<!-- sale:begin -->", "<!-- sale:end -->"


def load(run_dir, name):
    return json.loads((run_dir / f"{name}.json").read_text())


def outcome(report, name, field):
    """A field of one outcome of a load report (0 when the outcome never happened)."""
    return report["outcomes"].get(name, {}).get(field, 0) or 0


def one_run(run_dir):
    """The figures of one run."""
    ceiling = load(run_dir, "ceiling")
    buy, paced = load(run_dir, "buy"), load(run_dir, "paced")
    verify, soldout = load(run_dir, "verify"), load(run_dir, "soldout")
    wave, paced_wave = buy["waves"][0], paced["waves"][0]
    verify_start = int((run_dir / "verify-start").read_text())
    orders = verify["figures"]["mysql_orders"]
    drain_ms = max(0, verify_start - buy["finished_at_ms"]) + verify["figures"]["drain_wait_ms"]
    failed = lambda r: sum(v["count"] for k, v in r["outcomes"].items() if k != "ok")
    return {
        "ceiling": ceiling["attempts_per_sec"],
        "buy": wave["attempts_per_sec"],
        "buy_ok": outcome(wave, "ok", "count"),
        "buy_not_ok": failed(wave),
        "buy_p99": outcome(wave, "ok", "p99_ms"),
        "paced_rate": paced_wave["attempts_per_sec"],
        "paced_target": paced_wave["pace"].get("per_sec", 0),
        "paced_p50": outcome(paced_wave, "ok", "p50_ms"),
        "paced_p99": outcome(paced_wave, "ok", "p99_ms"),
        "paced_max": outcome(paced_wave, "ok", "max_ms"),
        "paced_not_ok": failed(paced_wave),
        "soldout": outcome(soldout, "sold_out", "rate"),
        "soldout_p99": outcome(soldout, "sold_out", "p99_ms"),
        "soldout_other": failed(soldout) - outcome(soldout, "sold_out", "count"),
        "orders": orders,
        "insert": load(run_dir, "insert")["rows_per_sec"],
        "drain_rate": orders / max(drain_ms / 1000, 1e-3),
        "drain_s": drain_ms / 1000,
        "cpu_buy": buy.get("cpu") or {},
        "cpu_soldout": soldout.get("cpu") or {},
        "verdict": verdict(verify) + " · " + verdict(load(run_dir, "verify-paced")),
    }


def verdict(verify):
    return "pass" if verify["passed"] else f"FAIL ({verify['breach_count']} breaches)"


def cpu_table(runs):
    """Median cores per process during the full-speed purchases and the sold-out phase."""
    names = list(dict.fromkeys(n for run in runs for n in [*run["cpu_buy"], *run["cpu_soldout"]]))
    # Busiest first during the purchases; sk-bench, other and idle last.
    tail = ["sk-bench", "other", "idle"]
    busy = lambda n: -median([run["cpu_buy"].get(n, 0) for run in runs])
    names = sorted((n for n in names if n not in tail), key=busy) + [n for n in tail if n in names]
    if not names:
        return "(no CPU figures: /proc was not readable)"
    rows = ["| process | cores during purchases | cores during sold-out rejections |", "|---|---:|---:|"]
    for name in names:
        buy = median([run["cpu_buy"].get(name, 0) for run in runs])
        rejected = median([run["cpu_soldout"].get(name, 0) for run in runs])
        rows.append(f"| {name} | {buy:.2f} | {rejected:.2f} |")
    return "\n".join(rows)


def per_run(runs, key, fmt):
    return " · ".join(format(run[key], fmt) for run in runs)


def section(runs, command, load_before, concurrency):
    m = {key: median([run[key] for run in runs]) for key in runs[0]
         if key not in ("verdict", "cpu_buy", "cpu_soldout")}
    buy_ratio = median([run["buy"] / run["ceiling"] for run in runs])
    soldout_ratio = median([run["soldout"] / run["ceiling"] for run in runs])
    drain_ratio = median([run["drain_rate"] / run["insert"] for run in runs])
    verdicts = " · ".join(run["verdict"] for run in runs)
    goal = lambda ok: "met" if ok else "**not met**"
    return f"""{BEGIN}
## A whole sale through the gateway (`sk-bench`), against the same-run ceiling

Reproduce: `{command}` (builds the release binaries; for each of {len(runs)} runs starts a
fresh platform — the five services on free ports with their own key prefix, database and random
secrets, sk-core's relay shipping to a private tansu broker — runs the phases below, and stops
it; rewrites this section).

Machine: {os.cpu_count()} cores ({cpu_model()}), {platform.system()} {platform.release()}; the
five services, Redis, MariaDB, the broker and the load generator (sk-bench, one thread)
co-located. Measured {datetime.date.today().isoformat()}; load average before the first run
{load_before}. Figures are medians of {len(runs)} runs; each ratio compares figures of the same
run.

| phase (sk-bench command) | figure | median | per run |
|---|---|---:|---|
| ceiling: gateway `GET /healthz`, closed loop ×{concurrency} (`ceiling`) | req/s | **{m['ceiling']:,.0f}** | {per_run(runs, 'ceiling', ',.0f')} |
| purchases, a unit for every shopper, closed loop ×{concurrency} (`flash`) | attempts/s | **{m['buy']:,.0f}** | {per_run(runs, 'buy', ',.0f')} |
| the same, answered other than 200 | calls | {m['buy_not_ok']:,.0f} | {per_run(runs, 'buy_not_ok', ',.0f')} |
| purchases open loop at 70 % of that rate (`flash --rate`) | attempts/s | {m['paced_rate']:,.0f} | {per_run(runs, 'paced_rate', ',.0f')} |
| — latency from the scheduled send, p50 | ms | **{m['paced_p50']:.2f}** | {per_run(runs, 'paced_p50', '.2f')} |
| — p99 | ms | **{m['paced_p99']:.2f}** | {per_run(runs, 'paced_p99', '.2f')} |
| — max | ms | {m['paced_max']:.2f} | {per_run(runs, 'paced_max', '.2f')} |
| sold-out rejections, closed loop ×{concurrency} (`soldout`) | rejections/s | **{m['soldout']:,.0f}** | {per_run(runs, 'soldout', ',.0f')} |
| — p99 | ms | {m['soldout_p99']:.2f} | {per_run(runs, 'soldout_p99', '.2f')} |
| drain: last purchase → every order in MySQL (`verify`) | s | **{m['drain_s']:.1f}** | {per_run(runs, 'drain_s', '.1f')} |
| — orders drained | orders | {m['orders']:,.0f} | {per_run(runs, 'orders', ',.0f')} |
| — drain rate | rows/s | **{m['drain_rate']:,.0f}** | {per_run(runs, 'drain_rate', ',.0f')} |
| ledger ceiling: the same number of rows as raw 500-row upserts (`insert-ceiling`) | rows/s | **{m['insert']:,.0f}** | {per_run(runs, 'insert', ',.0f')} |
| `verify` verdicts (full-speed sale · paced sale) | | | {verdicts} |

| goal (DESIGN §8) | median | goal | |
|---|---:|---|---|
| purchases / ceiling | **{buy_ratio:.2f}** | ≥ 0.25 | {goal(buy_ratio >= 0.25)} |
| sold-out rejections / ceiling | **{soldout_ratio:.2f}** | ≥ 0.45 | {goal(soldout_ratio >= 0.45)} |
| p99 at 70 % load | **{m['paced_p99']:.2f} ms** | < 20 ms | {goal(m['paced_p99'] < 20)} |
| drain rate / raw batched upsert | **{drain_ratio:.2f}** | ≥ 0.5 | {goal(drain_ratio >= 0.5)} |
| drain of the sale's orders | **{m['drain_s']:.1f} s** for {m['orders']:,.0f} orders | within seconds of the last purchase | |

Where the CPU goes (`--watch`: cores each process used during the measured phase, medians;
two cores in all, `idle` is what was left):

{cpu_table(runs)}

The drain time is measured from the full-speed sale's last purchase answer until `verify` saw
every Redis order in MySQL with the same status (it polls every 200 ms, so the figure is an
upper bound by that much).
{END}"""


def main():
    work, runs, command, load_before, concurrency = sys.argv[1:6]
    work = pathlib.Path(work)
    data = [one_run(work / f"run-{n}") for n in range(1, int(runs) + 1)]
    text = section(data, command, load_before, concurrency)
    path = write_section(BEGIN, END, text, first=True)
    print(f"wrote the sale section of {path}")
    for run in data:
        print(json.dumps(run))


if __name__ == "__main__":
    main()
