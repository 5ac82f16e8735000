"""How close each shipped linked scenario lands to its benchmark, beside its unlinked twin.

    python benchmarks/convergence_bench.py [--years N] [SCENARIO ...]

For every shipped scenario with links (default: all of fixtures/scenarios with an
`-unlinked` twin) it runs the scenario and its twin with the same seed, as `etslink run`
does, and prints per link and year:

- `gap`: the converted price gap between the linked parties' allowances at the year's
  close (the importer's price less the exporter's over the rate, in the scenario's
  currency per tonne, major units), the benchmark's gap, the band the link's frictions
  explain, and whether the run's gap sits in it (etslink/reports/links.py; years the
  link opens or closes in are marked: prices are still converging there);
- `flow`: units that crossed net in the benchmark's direction, and the benchmark's flow;

and per scenario:

- `gain`: the run's gain from linking — the twin's abatement cost minus the linked
  run's, in the scenario's currency (major units) — against the benchmark's (its autarky
  abatement cost minus its linked one), their ratio, and the benchmark's gain on its
  whole objective (which also counts priced supply and banked units: with a floor that
  rises and banking, linking can raise abatement while lowering the whole cost,
  `Benchmark`), and the benchmark's gain as a share of the linked registries' abatement
  cost: where that share is a fraction of a percent (Tokyo–Saitama), the ratio measures
  the run's noise, not linking;
- `efficiency`: Gode & Sunder's allocative efficiency of the linked run and of its twin
  over the run.

Its last line is one JSON object with every figure. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from etslink.reports.benchmark import build_benchmark, run_abatement_cost_minor
from etslink.reports.figures import major, per_tonne
from etslink.scenario import load_scenario
from etslink.sim.run import run_scenario

SCENARIOS = Path(__file__).resolve().parents[1] / "fixtures" / "scenarios"


def linked_scenarios() -> list[Path]:
    return sorted(
        path
        for path in SCENARIOS.glob("*.toml")
        if (SCENARIOS / f"{path.stem}-unlinked.toml").is_file()
    )


def scenario_path(parser: argparse.ArgumentParser, given: str) -> Path:
    """Return the scenario file named by a path or a shipped scenario's name, with a twin."""
    path = Path(given)
    if not path.is_file():
        path = SCENARIOS / f"{given}.toml"
    if not path.is_file():
        parser.error(f"{given}: no such scenario file, nor a shipped scenario of that name")
    if not (SCENARIOS / f"{path.stem}-unlinked.toml").is_file():
        parser.error(f"{given}: no unlinked twin {path.stem}-unlinked.toml in {SCENARIOS}")
    return path


def measure(path: Path, years: int | None, folder: Path) -> dict[str, Any]:
    began = time.perf_counter()
    linked = run_scenario(load_scenario(path), folder / path.stem, years=years)
    twin_path = SCENARIOS / f"{path.stem}-unlinked.toml"
    twin = run_scenario(load_scenario(twin_path), folder / twin_path.stem, years=years)
    benchmark = build_benchmark(linked.record)
    analytic_gain = benchmark.abatement_gain_minor
    run_gain = run_abatement_cost_minor(twin.record) - run_abatement_cost_minor(linked.record)
    pairs = [
        {
            "link": pair["link_id"],
            "year": pair["year"],
            "direction": f"{pair['exporter']}→{pair['importer']}",
            "open_whole_year": pair["open_whole_year"],
            "gap": pair["gap"],
            "benchmark_gap": pair["benchmark_gap"],
            "band": pair["band"],
            "within_band": pair["within_band"],
            "net_flow_t": pair["net_flow_t"],
            "benchmark_flow_t": round(pair["benchmark_flow_t"] - pair["benchmark_reverse_flow_t"]),
        }
        for pair in linked.summary["link_pairs"]
    ]
    currency = linked.record.scenario.currency
    return {
        "scenario": path.stem,
        "currency": currency,
        "pairs": pairs,
        "run_gain": major(run_gain, currency),
        "analytic_gain": major(analytic_gain, currency),
        "gain_ratio": None if analytic_gain <= 0 else round(float(run_gain / analytic_gain), 3),
        "objective_gain": major(benchmark.gains_from_linking_minor, currency),
        "analytic_gain_share_percent": round(
            float(100 * analytic_gain / benchmark.linked_parties_cost_minor), 2
        ),
        "efficiency_percent": _efficiency(linked.summary),
        "twin_efficiency_percent": _efficiency(twin.summary),
        "seconds": round(time.perf_counter() - began, 1),
    }


def _efficiency(summary: dict[str, Any]) -> float | int | None:
    over_run = next((row for row in summary["efficiency"] if row["scope"] == "run"), None)
    return None if over_run is None else over_run["percent"]


def show(figures: dict[str, Any]) -> None:
    currency = figures["currency"]
    print(f"{figures['scenario']} ({per_tonne(currency)}; {figures['seconds']} s)")
    print(
        f"  {'link':<15}{'year':>5} {'way':<7}{'gap':>8}{'bench':>8}{'band':>8}  ok  "
        f"{'flow t':>11}{'bench flow t':>13}"
    )
    for pair in figures["pairs"]:
        ok = {True: "yes", False: "no", None: "-"}[pair["within_band"]]
        ok += "" if pair["open_whole_year"] else "*"
        print(
            f"  {pair['link']:<15}{pair['year']:>5} {pair['direction']:<7}"
            f"{_price(pair['gap']):>8}{_price(pair['benchmark_gap']):>8}"
            f"{_price(pair['band']):>8}  {ok:<4}{pair['net_flow_t']:>11,}"
            f"{pair['benchmark_flow_t']:>13,}"
        )
    ratio = figures["gain_ratio"]
    print(
        f"  gain from linking: run {currency} {figures['run_gain']:,}, benchmark "
        f"{currency} {figures['analytic_gain']:,}"
        + ("" if ratio is None else f" (ratio {ratio:.3f})")
    )
    print(
        f"  the benchmark's gain is {figures['analytic_gain_share_percent']}% of the linked "
        "registries' abatement cost"
    )
    print(
        f"  allocative efficiency: linked {figures['efficiency_percent']}%, unlinked twin "
        f"{figures['twin_efficiency_percent']}%"
    )


def _price(value: float | int | None) -> str:
    return "-" if value is None else f"{value:,.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "scenarios", nargs="*", help="linked scenario files or shipped names (eu-switzerland)"
    )
    parser.add_argument("--years", type=int, default=None, help="run only the first N years")
    args = parser.parse_args()
    paths = [scenario_path(parser, given) for given in args.scenarios] or linked_scenarios()
    results = []
    with tempfile.TemporaryDirectory() as folder:
        for path in paths:
            figures = measure(path, args.years, Path(folder))
            show(figures)
            results.append(figures)
    print("* the link was open for part of the year: prices were still converging")
    whole = [p for r in results for p in r["pairs"] if p["open_whole_year"]]
    summary = {
        "scenarios": results,
        "whole_year_pairs": len(whole),
        "whole_year_pairs_within_band": sum(1 for p in whole if p["within_band"]),
    }
    sys.stdout.write(json.dumps(summary, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
