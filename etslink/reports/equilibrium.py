"""The analytic benchmark of a run beside what the run did: summary.json's `"equilibrium"`.

`equilibrium_summary(record)` builds the benchmark that matches the scenario's actual
links and rules (`etslink.reports.benchmark`) and reports, in the scenario's currency
unless named `_local`:

- `benchmark`: the interest rate, the registries that bank, each year's routes (link,
  direction, rate, cap and what set it) and `status` ("solved", or "infeasible" with
  `error` when no price meets some registry's needs — then nothing else is reported).
- `systems.<code>.<year>`: `analytical` — the linked benchmark's `status`,
  `price_minor_local` (the registry's currency), `price_minor`, `abatement_t`,
  `cost_minor`, `net_import_t` (tonnes of its obligation; negative: it exports),
  `bank_t`; `autarky` — the same registry-year on its own (`price_minor_local`,
  `price_minor`); `simulated` — the run's closing price of the registry's allowance
  (`etslink.reports.prices`), its year VWAP, abatement and abatement cost; `gap` =
  simulated − analytical for price (closing), abatement and cost.
- `links.<link>.<year>`: the linked pair (`etslink.reports.links`).
- `efficiency` per year and over the run: Gode & Sunder's allocative efficiency of the
  trading — `no_trade_cost_minor` (each firm abating to its own allocation alone),
  `max_gains_minor` (that minus the benchmark's least cost), `realised_gains_minor` (that
  minus the run's cost), `allocative_efficiency` = realised / max and `percent`. Over-
  abating lowers it like mis-trading; banking can move gains between years.
- `gains_from_linking_minor`: what linking saves in the benchmark (its autarky cost minus
  its linked cost, present value). The run's own gain needs its unlinked twin:
  `etslink compare` and `benchmarks/convergence_bench.py` report it.

Every figure is exact ("p" or "p/q"; past about 900 digits rounded to 30 decimal places:
`exact`), and `rounded` repeats the headline figures as whole numbers for reading.
"""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction
from typing import Any

from etslink import economics
from etslink.reports import links as link_report
from etslink.reports.benchmark import Benchmark, build_benchmark
from etslink.reports.numbers import exact, exact_or_none, rounded
from etslink.reports.prices import closing_price_minor, rows_of, vwap_minor
from etslink.sim.record import FirmYear, RunRecord


def no_trade_cost_minor(firms: Iterable[economics.Firm]) -> Fraction:
    """Return what the firms pay if none trades: each abates to its own allocation alone.

    A firm that cannot abate that far (its curve ends first) abates all it can.
    """
    return sum(
        (
            firm.mac.total_cost(
                min(Fraction(max(0, firm.baseline_t - firm.allocation_t)), firm.max_abatement_t)
            )
            for firm in firms
        ),
        Fraction(0),
    )


def efficiency(
    no_trade_minor: Fraction, analytical_minor: Fraction, simulated_minor: Fraction
) -> dict[str, Any]:
    """Return Gode & Sunder's allocative efficiency of the run's trading, with its parts.

    Gains from trade are abatement costs saved against no trade: the most possible is
    no-trade cost − the benchmark's (least) cost, the realised is no-trade cost − the run's
    cost. Efficiency = realised / most possible; null when no gains were possible.
    """
    possible = no_trade_minor - analytical_minor
    realised = no_trade_minor - simulated_minor
    ratio = None if possible <= 0 else realised / possible
    return {
        "no_trade_cost_minor": exact(no_trade_minor),
        "max_gains_minor": exact(possible),
        "realised_gains_minor": exact(realised),
        "allocative_efficiency": None if ratio is None else exact(ratio),
        "percent": None if ratio is None else rounded(100 * ratio),
    }


def equilibrium_summary(record: RunRecord) -> dict[str, Any]:
    """Return the `"equilibrium"` section of summary.json (the module docstring's schema)."""
    scenario = record.scenario
    if not record.firm_years:
        return {"currency": scenario.currency, "benchmark": {"status": "no year closed"}}
    try:
        found = build_benchmark(record)
    except economics.InfeasibleCapError as error:
        return {
            "currency": scenario.currency,
            "benchmark": {"status": "infeasible", "error": str(error)},
        }
    return {
        "currency": scenario.currency,
        "benchmark": benchmark_section(found),
        "systems": system_section(record, found),
        "links": link_report.link_pairs(record, found),
        "efficiency": efficiency_section(record, found),
        "gains_from_linking_minor": exact(found.gains_from_linking_minor),
    }


def benchmark_section(found: Benchmark) -> dict[str, Any]:
    problem = found.problem
    routes: dict[str, list[dict[str, Any]]] = {}
    for source in found.routes:
        route = source.route
        routes.setdefault(str(route.year), []).append(
            {
                "link": source.link_id,
                "from": route.from_system,
                "to": route.to_system,
                "rate": exact(route.rate),
                "cap_t": route.cap_t,
                "cap_source": source.cap_source,
            }
        )
    return {
        "status": "solved",
        "interest_rate": exact(problem.interest_rate),
        "banking": sorted(problem.banking),
        "routes": routes,
    }


def home_books(record: RunRecord, code: str) -> list[str]:
    """Return the books of `code`'s own allowance on its own venue first, then elsewhere."""
    unit = record.scenario.registry(code).regime.allowance_unit_type
    books = [b for b in record.books.values() if b.unit_type == unit]
    return [b.code for b in sorted(books, key=lambda b: (b.registry != code, b.code))]


def simulated_prices(
    record: RunRecord, code: str, year: int
) -> tuple[Fraction | None, Fraction | None]:
    """Return the closing price and VWAP of a registry's allowance on its own venue (local)."""
    books = home_books(record, code)
    if not books:
        return None, None
    return closing_price_minor(record, books[0], year), vwap_minor(rows_of(record, books[0], year))


def system_section(record: RunRecord, found: Benchmark) -> dict[str, dict[str, Any]]:
    scenario = record.scenario
    years: dict[tuple[str, int], list[FirmYear]] = {}
    for row in record.firm_years:
        years.setdefault((row.registry, row.year), []).append(row)
    systems: dict[str, dict[str, Any]] = {}
    for (code, year), rows in sorted(years.items()):
        node = found.linked.node(code, year)
        alone = found.autarky.node(code, year)
        to_common = scenario.fx.minor_factor(scenario.registry(code).currency, scenario.currency)
        closing, vwap = simulated_prices(record, code, year)
        abated_t = sum(r.abatement_t for r in rows)
        cost = sum((r.abatement_cost_minor for r in rows), Fraction(0)) * to_common
        analytical_cost = node.abatement_cost_minor * to_common
        price = node.price_minor * to_common
        simulated_price = None if closing is None else closing * to_common
        systems.setdefault(code, {})[str(year)] = {
            "analytical": {
                "status": node.status.name.lower(),
                "price_minor_local": exact(node.price_minor),
                "price_minor": exact(price),
                "abatement_t": exact(node.abatement_t),
                "cost_minor": exact(analytical_cost),
                "net_import_t": exact(node.net_import_t),
                "bank_t": exact(node.bank_t),
            },
            "autarky": {
                "price_minor_local": exact(alone.price_minor),
                "price_minor": exact(alone.price_minor * to_common),
            },
            "simulated": {
                "price_minor_local": exact_or_none(closing),
                "price_minor": exact_or_none(simulated_price),
                "vwap_minor_local": exact_or_none(vwap),
                "abatement_t": exact(abated_t),
                "cost_minor": exact(cost),
            },
            "gap": {
                "price_minor": None if simulated_price is None else exact(simulated_price - price),
                "abatement_t": exact(abated_t - node.abatement_t),
                "cost_minor": exact(cost - analytical_cost),
            },
            "rounded": {
                "analytical_price_minor_local": rounded(node.price_minor),
                "autarky_price_minor_local": rounded(alone.price_minor),
                "simulated_price_minor_local": rounded(closing),
                "analytical_abatement_t": rounded(node.abatement_t),
                "simulated_abatement_t": abated_t,
                "net_import_t": rounded(node.net_import_t),
            },
        }
    return systems


def efficiency_section(record: RunRecord, found: Benchmark) -> dict[str, Any]:
    """Return the allocative efficiency of the trading per year and over the run.

    A year in which a programme ends (`[[exits]]`) is left out, named in `left_out`: its
    firms emit to the exit on a whole year's allocation and what they still hold is
    cancelled, a market the static benchmark of the year does not describe.
    """
    scenario = record.scenario
    curves = {firm.entity_id: firm.curve for firm in record.firms}
    exit_years = {item.day.year: item for item in scenario.exits}
    per_year: dict[int, list[Fraction]] = {}
    for row in record.firm_years:
        if row.year in exit_years:
            continue
        to_common = scenario.fx.minor_factor(
            scenario.registry(row.registry).currency, scenario.currency
        )
        firm = economics.Firm(
            row.entity_id, row.forecast_t, row.benchmark_allocation_t, curves[row.entity_id]
        )
        totals = per_year.setdefault(row.year, [Fraction(0), Fraction(0), Fraction(0)])
        totals[0] += no_trade_cost_minor([firm]) * to_common
        totals[2] += row.abatement_cost_minor * to_common
    for node in found.linked.nodes:
        to_common = scenario.fx.minor_factor(
            scenario.registry(node.system_id).currency, scenario.currency
        )
        if node.year in per_year:
            per_year[node.year][1] += node.abatement_cost_minor * to_common
    whole = [sum(parts, Fraction(0)) for parts in zip(*per_year.values(), strict=True)]
    return {
        "years": {str(year): efficiency(*parts) for year, parts in sorted(per_year.items())},
        "over_run": efficiency(*(whole or [Fraction(0)] * 3)),
        "left_out": {
            str(year): f"{item.registry} left its programme on {item.day.isoformat()}"
            for year, item in sorted(exit_years.items())
        },
    }


__all__ = [
    "efficiency",
    "equilibrium_summary",
    "exact",
    "home_books",
    "no_trade_cost_minor",
    "rounded",
    "simulated_prices",
]
