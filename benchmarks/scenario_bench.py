"""Measure a whole scenario run: three linked registries, 3,000 entities, ten years.

    python benchmarks/scenario_bench.py [--quick | --profile]

Runs `benchmarks/scenarios/three-registries.toml` (EU, CH and California,
linked EU–CH and, hypothetically, EU–CA; 3,000 generated entities; ZI-C
traders) through `etslink.sim.run.run_scenario`, as `etslink run` does:
the embedded SQLite store, the reports and charts written into a temporary
folder. Timed: the whole call, building the world and writing the reports
included.

Counts every order the run submits (each `Exchange.submit` call, refused or
not, as `Run.next_order` does) and fails loudly when a full run submits
fewer than `ORDERS_MIN`. Prints figures for people and, as its last line, one
JSON object: `run_s`, `orders_per_s`, `peak_rss_mb` (the process's peak
resident set, `ru_maxrss`), `orders`, `trades`, the targets and
`meets_targets` (target: under 300 s and under 2,048 MB on the project's
2-core machine).

`--quick` runs the first year only, against a tenth of the time target, as
a smoke check. `--profile` runs cProfile over five trading days of the first
year (and that year's end) and prints the top 30 functions by cumulative and
by own time; it prints no JSON.

Not part of the test suite: nothing here is collected by pytest.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import platform
import pstats
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from etslink.scenario import load_scenario
from etslink.sim.run import RunResult, run_scenario
from exchange.market import Exchange

SCENARIO = Path(__file__).parent / "scenarios" / "three-registries.toml"
ORDERS_MIN = 1_000_000
TARGET_RUN_S = 300
TARGET_PEAK_RSS_MB = 2_048
QUICK_YEARS = 1
PROFILE_DAYS = 5
PROFILE_ROWS = 30


class OrderCounter:
    """Count `Exchange.submit` calls while installed (the run loop's every order)."""

    def __init__(self) -> None:
        self.orders = 0
        self._original: Callable[..., Any] = Exchange.submit

    def __enter__(self) -> OrderCounter:
        original = self._original

        def counted(exchange: Exchange, *args: Any, **kwargs: Any) -> Any:
            self.orders += 1
            return original(exchange, *args, **kwargs)

        Exchange.submit = counted  # type: ignore[method-assign,assignment]
        return self

    def __exit__(self, *_: object) -> None:
        Exchange.submit = self._original  # type: ignore[method-assign]


def peak_rss_mb() -> float:
    """Return this process's peak resident set in MB (ru_maxrss is in KB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def progress_printer(began: float) -> Callable[[int, int], None]:
    """Return a progress callback that prints a line at each tenth of the run, to stderr."""
    printed = [0]

    def progress(done: int, total: int) -> None:
        tenth = done * 10 // total
        if tenth > printed[0]:
            printed[0] = tenth
            seconds = time.perf_counter() - began
            print(f"  {done:,}/{total:,} trading days, {seconds:,.0f} s", file=sys.stderr)

    return progress


def run(years: int | None, days: int | None) -> tuple[RunResult, int, float]:
    """Run the scenario into a temporary folder; return the result, orders and seconds."""
    scenario = load_scenario(SCENARIO)
    with tempfile.TemporaryDirectory() as folder, OrderCounter() as counter:
        began = time.perf_counter()
        result = run_scenario(
            scenario,
            Path(folder) / scenario.name,
            years=years,
            days=days,
            progress=progress_printer(began),
        )
        seconds = time.perf_counter() - began
    assert not result.interrupted, "the run was interrupted"
    return result, counter.orders, seconds


def profile() -> None:
    """Profile a short slice and print the top functions by cumulative and by own time."""
    scenario = load_scenario(SCENARIO)
    profiler = cProfile.Profile()
    with tempfile.TemporaryDirectory() as folder, OrderCounter() as counter:
        profiler.enable()
        run_scenario(scenario, Path(folder) / scenario.name, years=1, days=PROFILE_DAYS)
        profiler.disable()
    print(f"profiled 1 year, {PROFILE_DAYS} trading days: {counter.orders:,} orders")
    stats = pstats.Stats(profiler, stream=sys.stdout)
    stats.sort_stats("cumulative").print_stats(PROFILE_ROWS)
    stats.sort_stats("tottime").print_stats(PROFILE_ROWS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="the first year only: a smoke run")
    mode.add_argument("--profile", action="store_true", help="cProfile a short slice")
    args = parser.parse_args()
    if args.profile:
        profile()
        return
    years = QUICK_YEARS if args.quick else None
    result, orders, seconds = run(years, None)
    summary = result.summary
    years_run = summary["run"]["years_run"]
    trades = summary["totals"]["trades"]
    rss_mb = peak_rss_mb()
    target_run_s = TARGET_RUN_S * years_run / 10 if args.quick else TARGET_RUN_S
    if not args.quick and orders < ORDERS_MIN:
        raise SystemExit(
            f"the run submitted {orders:,} orders, fewer than the {ORDERS_MIN:,} the benchmark "
            f"needs: raise trading days or ZI-C traders in {SCENARIO.name}"
        )
    rate = orders / seconds
    meets = seconds < target_run_s and rss_mb < TARGET_PEAK_RSS_MB
    print(
        f"{summary['run']['scenario']}: {years_run} years x "
        f"{summary['run']['trading_days_per_year_run']} "
        f"trading days, {len(result.world.entities) if result.world else 0:,} entities"
    )
    print(f"orders submitted: {orders:,} ({summary['totals']['orders_refused']:,} refused)")
    print(f"trades: {trades:,}, {summary['totals']['volume_t']:,} t")
    print(f"run: {seconds:,.1f} s, {rate:,.0f} orders/s")
    print(f"ratio to target: run_s / {target_run_s:g} = {seconds / target_run_s:.2f}")
    print(
        f"peak RSS: {rss_mb:,.0f} MB; ratio to target: peak_rss_mb / {TARGET_PEAK_RSS_MB:,} = "
        f"{rss_mb / TARGET_PEAK_RSS_MB:.2f}"
    )
    figures: dict[str, Any] = {
        "run_s": round(seconds, 1),
        "orders_per_s": round(rate),
        "peak_rss_mb": round(rss_mb),
        "orders": orders,
        "trades": trades,
        "target_run_s": target_run_s,
        "target_peak_rss_mb": TARGET_PEAK_RSS_MB,
        "meets_targets": meets,
        "years": years_run,
        "quick": args.quick,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
    }
    print(json.dumps(figures, sort_keys=True))


if __name__ == "__main__":
    main()
