"""Two runs side by side: a linked scenario against its unlinked twin, or any two.

`compare(first, second)` takes two reported runs (anything with the `record`, `summary`
and `out_dir` a run leaves, like `etslink.sim.run.RunResult`) and returns what
`comparison.json` holds (`"schema": "etslink.comparison/2"`; docs/summary-json.md has
every key). Each list is flat records, one per run (`scenario`) and row, money in major
units beside its `currency`:

- `runs`: the two scenario names, seeds, currencies, whether each has links, folders.
- `markets`: per run, book and year, the year's `vwap` and `closing` price
  (`etslink.reports.prices`), the book's currency; a book-year without trades is absent.
- `registries`: per run, registry and year: abatement, its cost (the registry's
  currency), compliant entities, penalties and foreign units surrendered.
- `totals`: per run: abatement, its cost (the run's scenario currency), trades, volume
  and the allocative efficiency over the run (null when no gains were possible).
- `convergence`: per run and year, the closing prices of the linked registries' own
  allowances (those a link of either run joins) in the first run's scenario currency:
  lowest, highest, their spread, and the linked benchmark's spread — linked markets
  converge, unlinked ones stay apart.
- `linking` (when one run has links and the other is the same scenario without them, on
  the same seed; else null): `gain`, the run's gain from linking (the twin's abatement
  cost minus the linked run's), `benchmark_gain` (the same in the linked run's
  benchmark), `ratio` and `percent`, `benchmark_objective_gain` (the benchmark's gain on
  its whole objective: `etslink.reports.benchmark.Benchmark`), and
  `benchmark_gain_share_percent`: the benchmark's gain as a percentage of the linked
  registries' abatement cost alone (a gain of a percent or two is within what a small run
  lands off its benchmark by, so its ratio says little).
- `exact`: the VWAPs, closing prices and linking figures as exact "p/q" in minor units.

`write_comparison(first, second, out)` writes `comparison.json` and
`price_paths_compared.png` (the convergence chart, `charts.compared_price_paths_chart`).
"""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path
from typing import Any, Protocol

from etslink.reports import charts
from etslink.reports.benchmark import Benchmark, build_benchmark, run_abatement_cost_minor
from etslink.reports.figures import major, number
from etslink.reports.numbers import exact, exact_or_none
from etslink.reports.prices import closing_price_minor, rows_of, vwap_minor
from etslink.reports.schema import (
    COMPARISON_EXACT,
    COMPARISON_SCHEMA,
    COMPARISON_SECTIONS,
    record,
)
from etslink.sim.record import RunRecord

PRICE_PLACES = 2  # yearly prices keep two more places than the currency


class Reported(Protocol):
    """A finished run as the reports see it."""

    record: RunRecord
    summary: dict[str, Any]
    out_dir: Path


def _row(section: str, **values: Any) -> dict[str, Any]:
    return record(COMPARISON_SECTIONS[section], values)


def _exact(section: str, **values: Any) -> dict[str, Any]:
    return record(COMPARISON_EXACT[section], values)


def compare(
    first: Reported, second: Reported, benchmark: Benchmark | None = None
) -> dict[str, Any]:
    """Return the side-by-side figures of two runs (the module docstring's schema).

    `benchmark` is the linked run's (`linked_benchmark`), built here when not given.
    """
    names = (first.record.scenario.name, second.record.scenario.name)
    if names[0] == names[1]:
        raise ValueError(
            f"both runs are of scenario {names[0]!r}: compare two different scenarios "
            "(a linked one and its -unlinked twin)"
        )
    runs = (first, second)
    markets, markets_exact = _markets(runs)
    found = benchmark if benchmark is not None else linked_benchmark(first, second)
    comparison: dict[str, Any] = {
        "schema": COMPARISON_SCHEMA,
        "runs": [
            _row(
                "runs",
                run=which,
                scenario=run.record.scenario.name,
                seed=run.record.scenario.seed,
                currency=run.record.scenario.currency,
                linked=bool(run.record.scenario.links),
                reports=str(run.out_dir),
            )
            for which, run in zip(("first", "second"), runs, strict=True)
        ],
        "markets": markets,
        "registries": [row for run in runs for row in _registries(run)],
        "totals": [_totals(run) for run in runs],
        "convergence": _convergence(runs, found),
    }
    linking, linking_exact = _linking(first, second, found)
    comparison["linking"] = linking
    comparison["exact"] = {"markets": markets_exact, "linking": linking_exact}
    return comparison


def _markets(
    runs: tuple[Reported, Reported],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rows, exact_rows = [], []
    for run in runs:
        item = run.record
        name = item.scenario.name
        years = sorted({int(row.day[:4]) for row in item.prices})
        for code in sorted(item.books):
            currency = item.books[code].currency
            for year in years:
                prices = rows_of(item, code, year)
                if not prices:
                    continue
                vwap = vwap_minor(prices)
                closing = closing_price_minor(item, code, year)
                rows.append(
                    _row(
                        "markets",
                        scenario=name,
                        instrument=code,
                        year=year,
                        currency=currency,
                        vwap=major(vwap, currency, PRICE_PLACES),
                        closing=major(closing, currency, PRICE_PLACES),
                    )
                )
                exact_rows.append(
                    _exact(
                        "markets",
                        scenario=name,
                        instrument=code,
                        year=year,
                        vwap_minor=exact_or_none(vwap),
                        closing_minor=exact_or_none(closing),
                    )
                )
    return rows, exact_rows


def _registries(run: Reported) -> list[dict[str, Any]]:
    return [
        _row(
            "registries",
            scenario=run.record.scenario.name,
            registry=row["registry"],
            year=row["year"],
            currency=row["currency"],
            abatement_t=row["abatement_t"],
            abatement_cost=row["abatement_cost"],
            abatement_cost_minor=row["abatement_cost_minor"],
            compliant_entities=row["compliant_entities"],
            entities=row["entities"],
            penalties=row["penalties"],
            penalties_minor=row["penalties_minor"],
            foreign_t=row["foreign_t"],
        )
        for row in run.summary["registries"]
    ]


def _totals(run: Reported) -> dict[str, Any]:
    summary = run.summary
    over_run = next((row for row in summary["efficiency"] if row["scope"] == "run"), None)
    totals = summary["totals"]
    return _row(
        "totals",
        scenario=run.record.scenario.name,
        currency=totals["currency"],
        abatement_t=totals["abatement_t"],
        abatement_cost=totals["abatement_cost"],
        abatement_cost_minor=totals["abatement_cost_minor"],
        trades=totals["trades"],
        volume_t=totals["volume_t"],
        efficiency_percent=None if over_run is None else over_run["percent"],
    )


def _linked_run(first: Reported, second: Reported) -> Reported:
    """Return the run with links (the first when both or neither have any)."""
    return second if second.record.scenario.links and not first.record.scenario.links else first


def linked_benchmark(first: Reported, second: Reported) -> Benchmark | None:
    """Return the benchmark of the run with links; None when it has none (no year closed,
    or no price meets some registry's needs)."""
    linked = _linked_run(first, second)
    if not linked.record.firm_years:
        return None
    try:
        return build_benchmark(linked.record)
    except ValueError:
        return None


def benchmark_prices(
    found: Benchmark | None, currency: str, record_: RunRecord
) -> dict[tuple[str, int], Fraction]:
    """Return the linked benchmark's price per (registry, year) in `currency`'s minor units."""
    if found is None:
        return {}
    fx = record_.scenario.fx
    return {
        (node.system_id, node.year): found.linked.node(node.system_id, node.year).price_minor
        * fx.minor_factor(record_.scenario.registry(node.system_id).currency, currency)
        for node in found.problem.nodes
    }


def linked_registries(runs: tuple[Reported, Reported]) -> list[str]:
    """Return the registries a link of either run joins (all of them when none does): the
    markets whose prices linking should bring together."""
    parties = {code for run in runs for link in run.record.scenario.links for code in link.parties}
    return sorted(parties or {r.code for run in runs for r in run.record.scenario.registries})


def _convergence(runs: tuple[Reported, Reported], found: Benchmark | None) -> list[dict[str, Any]]:
    """Return per run and year the spread of the registries' closing prices (common
    currency) beside the linked benchmark's spread."""
    currency = runs[0].record.scenario.currency
    bench = benchmark_prices(found, currency, _linked_run(*runs).record)
    rows = []
    for run in runs:
        item = run.record
        years = sorted({firm.year for firm in item.firm_years})
        codes = linked_registries(runs)
        for year in years:
            closes = {}
            for code in codes:
                book = charts.home_book(item, code)
                closing = None if book is None else closing_price_minor(item, book, year)
                if book is not None and closing is not None:
                    factor = item.scenario.fx.minor_factor(item.books[book].currency, currency)
                    closes[code] = closing * factor
            if len(closes) < 2:
                continue
            low, high = min(closes.values()), max(closes.values())
            benchmarked = [bench[(code, year)] for code in closes if (code, year) in bench]
            rows.append(
                _row(
                    "convergence",
                    scenario=item.scenario.name,
                    year=year,
                    currency=currency,
                    registries=" ".join(sorted(closes)),
                    closing_low=major(low, currency, PRICE_PLACES),
                    closing_high=major(high, currency, PRICE_PLACES),
                    closing_spread=major(high - low, currency, PRICE_PLACES),
                    benchmark_spread=None
                    if len(benchmarked) < 2
                    else major(max(benchmarked) - min(benchmarked), currency, PRICE_PLACES),
                )
            )
    return rows


def _linking(
    first: Reported, second: Reported, found: Benchmark | None
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """Return the gain from linking when one run is the other's unlinked twin."""
    linked, twin = (first, second) if first.record.scenario.links else (second, first)
    a, b = linked.record.scenario, twin.record.scenario
    if not a.links or b.links or a.registries != b.registries or a.seed != b.seed:
        return None, None
    if found is None:
        return None, None
    gain = run_abatement_cost_minor(twin.record) - run_abatement_cost_minor(linked.record)
    benchmark_gain = found.abatement_gain_minor
    ratio = None if benchmark_gain <= 0 else gain / benchmark_gain
    currency = a.currency
    row = _row(
        "linking",
        linked=a.name,
        unlinked=b.name,
        currency=currency,
        gain=major(gain, currency),
        benchmark_gain=major(benchmark_gain, currency),
        ratio=number(ratio),
        percent=None if ratio is None else number(100 * ratio, 1),
        benchmark_objective_gain=major(found.gains_from_linking_minor, currency),
        benchmark_gain_share_percent=_share_percent(
            benchmark_gain, found.linked_parties_cost_minor
        ),
    )
    exact_row = _exact(
        "linking",
        gain_minor=exact(gain),
        benchmark_gain_minor=exact(benchmark_gain),
        ratio=exact_or_none(ratio),
        benchmark_objective_gain_minor=exact(found.gains_from_linking_minor),
    )
    return row, exact_row


def _share_percent(part: Fraction, whole: Fraction) -> float | int | None:
    """Return `part` as a percentage of `whole`, to two decimals (None: nothing to share)."""
    return None if whole <= 0 else number(100 * part / whole, 2)


def write_comparison(
    first: Reported, second: Reported, out: Path
) -> tuple[dict[str, Any], list[Path]]:
    """Write comparison.json and the convergence chart into `out`; return both."""
    out.mkdir(parents=True, exist_ok=True)
    found = linked_benchmark(first, second)
    comparison = compare(first, second, found)
    json_path = out / "comparison.json"
    json_path.write_text(
        json.dumps(comparison, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    currency = first.record.scenario.currency
    reference = _linked_run(first, second).record
    benchmark = {
        key: float(major(value, currency, PRICE_PLACES) or 0)
        for key, value in benchmark_prices(found, currency, reference).items()
    }
    chart = charts.compared_price_paths_chart(
        [(run.record.scenario.name, run.record) for run in (first, second)],
        out / "price_paths_compared.png",
        benchmark,
        linked_registries((first, second)),
    )
    return comparison, [json_path, chart]


__all__ = ["Reported", "benchmark_prices", "compare", "linked_benchmark", "write_comparison"]
