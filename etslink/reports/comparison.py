"""Two runs side by side: a linked scenario against its unlinked twin, or any two.

`compare(first, second)` returns what `comparison.json` holds, each figure keyed by the
run's scenario name:

- `runs`: the two scenario names, seeds and report folders.
- `markets.<instrument>.<year>.<scenario>`: the year's volume-weighted price (exact, "p/q"
  when not whole; null when the market did not trade that year or is not listed).
- `registries.<code>.<year>.<scenario>`: `abatement_t`, `abatement_cost_minor` (the
  registry's minor units), `compliant_entities`, `entities`, `penalties_minor`, `foreign_t`
  (foreign units surrendered).
- `totals.<scenario>`: `abatement_t`, `abatement_cost_minor` (the run's scenario
  currency), `trades`, `volume_t`, and `efficiency_percent` (Gode & Sunder over the run,
  null when no gains from trade were possible).

`write_comparison(first, second, out)` writes `comparison.json` and
`price_paths_compared.png` (first run solid, second dashed) into `out`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from etslink.reports import charts
from etslink.sim.run import RunResult

REGISTRY_KEYS = (
    "abatement_t",
    "abatement_cost_minor",
    "compliant_entities",
    "entities",
    "penalties_minor",
    "foreign_t",
)


def compare(first: RunResult, second: RunResult) -> dict[str, Any]:
    """Return the side-by-side figures of two runs (the module docstring's schema)."""
    if first.scenario == second.scenario:
        raise ValueError(
            f"both runs are of scenario {first.scenario!r}: compare two different scenarios "
            "(a linked one and its -unlinked twin)"
        )
    runs = (first, second)
    markets: dict[str, dict[str, dict[str, Any]]] = {}
    for run in runs:
        for code, market in run.summary["markets"].items():
            for year, row in market["years"].items():
                if row["trades"]:
                    by_year = markets.setdefault(code, {}).setdefault(year, {})
                    by_year[run.scenario] = row["vwap_minor"]
    registries: dict[str, dict[str, dict[str, Any]]] = {}
    for run in runs:
        for code, registry in run.summary["registries"].items():
            for year, row in registry["years"].items():
                by_year = registries.setdefault(code, {}).setdefault(year, {})
                by_year[run.scenario] = {key: row.get(key, 0) for key in REGISTRY_KEYS}
    for table in (markets, registries):
        for by_year in table.values():
            for row in by_year.values():
                for run in runs:
                    row.setdefault(run.scenario, None)
    totals = {}
    for run in runs:
        summary = run.summary
        efficiency = summary.get("equilibrium", {}).get("over_run", {}).get("efficiency", {})
        totals[run.scenario] = {
            "abatement_t": summary["totals"]["abatement_t"],
            "abatement_cost_minor": summary["totals"]["abatement_cost_minor"],
            "currency": summary["currency"],
            "trades": summary["totals"]["trades"],
            "volume_t": summary["totals"]["volume_t"],
            "efficiency_percent": efficiency.get("percent"),
        }
    return {
        "runs": [
            {"scenario": run.scenario, "seed": run.summary["seed"], "reports": str(run.out_dir)}
            for run in runs
        ],
        "markets": _sorted(markets),
        "registries": _sorted(registries),
        "totals": totals,
    }


def _sorted(table: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {code: dict(sorted(by_year.items())) for code, by_year in sorted(table.items())}


def write_comparison(
    first: RunResult, second: RunResult, out: Path
) -> tuple[dict[str, Any], list[Path]]:
    """Write comparison.json and the compared price chart into `out`; return both."""
    out.mkdir(parents=True, exist_ok=True)
    comparison = compare(first, second)
    json_path = out / "comparison.json"
    json_path.write_text(json.dumps(comparison, indent=2, sort_keys=True) + "\n", "utf-8")
    chart = charts.compared_price_paths_chart(
        [(run.scenario, run.prices, _currencies(run)) for run in (first, second)],
        out / "price_paths_compared.png",
    )
    return comparison, [json_path, chart]


def _currencies(run: RunResult) -> dict[str, str]:
    return {code: market["currency"] for code, market in run.summary["markets"].items()}


__all__ = ["compare", "write_comparison"]
