"""Two runs side by side: a linked scenario against its unlinked twin, or any two.

`compare(first, second)` takes two reported runs (anything with the `record`, `summary`
and `out_dir` a run leaves, like `etslink.sim.run.RunResult`) and returns what
`comparison.json` holds, each figure keyed by the run's scenario name:

- `runs`: the two scenario names, seeds and report folders.
- `markets.<book>.<year>.<scenario>`: `vwap_minor` and `closing_minor` (the closing price:
  `etslink.reports.prices`), exact ("p/q" when not whole); null when the book did not
  trade that year or is not listed.
- `registries.<code>.<year>.<scenario>`: `abatement_t`, `abatement_cost_minor` (the
  registry's minor units), `compliant_entities`, `entities`, `penalties_minor`, `foreign_t`
  (foreign units surrendered).
- `totals.<scenario>`: `abatement_t`, `abatement_cost_minor` (the run's scenario
  currency), `trades`, `volume_t`, and `efficiency_percent` (Gode & Sunder over the run,
  null when no gains from trade were possible).
- `linking` (when one run has links and the other is the same scenario without them — a
  linked scenario and its twin, on the same seed): `gain_minor`, the run's gain from
  linking (the twin's abatement cost minus the linked run's, exact), `benchmark_gain_minor`
  (the same in the linked run's benchmark), `ratio` and `percent`, and
  `benchmark_objective_gain_minor` (the benchmark's gain on its whole objective:
  `etslink.reports.benchmark.Benchmark`), and `benchmark_gain_share_percent`: the
  benchmark's gain as a percentage of the linked registries' abatement cost alone (a
  gain of a percent or two is within what a small run lands off its benchmark by, so its
  ratio says little).

`write_comparison(first, second, out)` writes `comparison.json` and
`price_paths_compared.png` (first run solid, second dashed) into `out`.
"""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path
from typing import Any, Protocol

from etslink.reports import charts
from etslink.reports.benchmark import build_benchmark, run_abatement_cost_minor
from etslink.reports.numbers import exact, exact_or_none
from etslink.reports.prices import closing_price_minor, rows_of, vwap_minor
from etslink.sim.record import RunRecord

REGISTRY_KEYS = (
    "abatement_t",
    "abatement_cost_minor",
    "compliant_entities",
    "entities",
    "penalties_minor",
    "foreign_t",
)


class Reported(Protocol):
    """A finished run as the reports see it."""

    record: RunRecord
    summary: dict[str, Any]
    out_dir: Path


def compare(first: Reported, second: Reported) -> dict[str, Any]:
    """Return the side-by-side figures of two runs (the module docstring's schema)."""
    names = (first.record.scenario.name, second.record.scenario.name)
    if names[0] == names[1]:
        raise ValueError(
            f"both runs are of scenario {names[0]!r}: compare two different scenarios "
            "(a linked one and its -unlinked twin)"
        )
    runs = (first, second)
    markets = _fill(_markets(runs), names)
    registries = _fill(_registries(runs), names)
    totals = {run.record.scenario.name: _totals(run) for run in runs}
    comparison = {
        "runs": [
            {
                "scenario": run.record.scenario.name,
                "seed": run.record.scenario.seed,
                "reports": str(run.out_dir),
            }
            for run in runs
        ],
        "markets": markets,
        "registries": registries,
        "totals": totals,
    }
    linking = _linking(first, second)
    if linking is not None:
        comparison["linking"] = linking
    return comparison


def _markets(runs: tuple[Reported, Reported]) -> dict[str, dict[str, dict[str, Any]]]:
    markets: dict[str, dict[str, dict[str, Any]]] = {}
    for run in runs:
        record = run.record
        years = sorted({row.day[:4] for row in record.prices})
        for code in sorted(record.books):
            for year in years:
                rows = rows_of(record, code, int(year))
                if not rows:
                    continue
                by_year = markets.setdefault(code, {}).setdefault(year, {})
                by_year[record.scenario.name] = {
                    "vwap_minor": exact_or_none(vwap_minor(rows)),
                    "closing_minor": exact_or_none(closing_price_minor(record, code, int(year))),
                }
    return markets


def _registries(runs: tuple[Reported, Reported]) -> dict[str, dict[str, dict[str, Any]]]:
    registries: dict[str, dict[str, dict[str, Any]]] = {}
    for run in runs:
        for code, registry in run.summary["registries"].items():
            for year, row in registry["years"].items():
                by_year = registries.setdefault(code, {}).setdefault(year, {})
                by_year[run.record.scenario.name] = {key: row.get(key, 0) for key in REGISTRY_KEYS}
    return registries


def _fill(
    table: dict[str, dict[str, dict[str, Any]]], names: tuple[str, str]
) -> dict[str, dict[str, Any]]:
    for by_year in table.values():
        for row in by_year.values():
            for name in names:
                row.setdefault(name, None)
    return {code: dict(sorted(by_year.items())) for code, by_year in sorted(table.items())}


def _totals(run: Reported) -> dict[str, Any]:
    summary = run.summary
    efficiency = summary.get("equilibrium", {}).get("efficiency", {}).get("over_run", {})
    return {
        "abatement_t": summary["totals"]["abatement_t"],
        "abatement_cost_minor": summary["totals"]["abatement_cost_minor"],
        "currency": summary["currency"],
        "trades": summary["totals"]["trades"],
        "volume_t": summary["totals"]["volume_t"],
        "efficiency_percent": efficiency.get("percent"),
    }


def _linking(first: Reported, second: Reported) -> dict[str, Any] | None:
    """Return the gain from linking when one run is the other's unlinked twin."""
    linked, twin = (first, second) if first.record.scenario.links else (second, first)
    a, b = linked.record.scenario, twin.record.scenario
    if not a.links or b.links or a.registries != b.registries or a.seed != b.seed:
        return None
    gain = run_abatement_cost_minor(twin.record) - run_abatement_cost_minor(linked.record)
    found = build_benchmark(linked.record)
    benchmark_gain = found.abatement_gain_minor
    ratio = None if benchmark_gain <= 0 else gain / benchmark_gain
    return {
        "linked": a.name,
        "unlinked": b.name,
        "gain_minor": exact(gain),
        "benchmark_gain_minor": exact(benchmark_gain),
        "ratio": None if ratio is None else exact(ratio),
        "percent": None if ratio is None else round(100 * ratio),
        "benchmark_objective_gain_minor": exact(found.gains_from_linking_minor),
        "benchmark_gain_share_percent": _share_percent(
            benchmark_gain, found.linked_parties_cost_minor
        ),
    }


def _share_percent(part: Fraction, whole: Fraction) -> float | None:
    """Return `part` as a percentage of `whole`, to two decimals (None: nothing to share)."""
    return None if whole <= 0 else round(float(100 * part / whole), 2)


def write_comparison(
    first: Reported, second: Reported, out: Path
) -> tuple[dict[str, Any], list[Path]]:
    """Write comparison.json and the compared price chart into `out`; return both."""
    out.mkdir(parents=True, exist_ok=True)
    comparison = compare(first, second)
    json_path = out / "comparison.json"
    json_path.write_text(json.dumps(comparison, indent=2, sort_keys=True) + "\n", "utf-8")
    chart = charts.compared_price_paths_chart(
        [(run.record.scenario.name, run.record) for run in (first, second)],
        out / "price_paths_compared.png",
    )
    return comparison, [json_path, chart]


__all__ = ["Reported", "compare", "write_comparison"]
