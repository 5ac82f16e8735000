"""The analytic benchmark of a run beside what the run did: summary.json's benchmark sections.

`equilibrium_sections(record)` builds the benchmark that matches the scenario's actual
links and rules (`etslink.reports.benchmark`) and returns summary.json's sections
(docs/summary-json.md has every key):

- `benchmark`: `status` ("solved"; "infeasible" with `error` when no price meets some
  registry's needs, or "no year closed" — then the lists are empty), the interest rate,
  the registries that bank, and `gains_from_linking`: what linking saves in the benchmark
  (its autarky cost minus its linked cost, present value, the scenario's currency).
- `benchmark_routes`: each year's routes (link, direction, rate, cap and what set it).
- `systems`: per registry and year, in the registry's currency: the linked benchmark's
  price, abatement, cost, net import (tonnes of its obligation; negative: it exports)
  and bank; the registry alone (`autarky_price`); the run's closing price of its
  allowance (`etslink.reports.prices`), VWAP, abatement and cost; and the gaps (run −
  benchmark).
- `link_pairs`: per link and year, the linked pair (`etslink.reports.links`).
- `efficiency`: Gode & Sunder's allocative efficiency of the trading per year and over
  the run — `no_trade_cost` (each firm abating to its own allocation alone),
  `max_gains` (that minus the benchmark's least cost), `realised_gains` (that minus the
  run's cost), `allocative_efficiency` = realised / max and `percent`. Over-abating
  lowers it like mis-trading; banking can move gains between years.

The run's own gain from linking needs its unlinked twin: `etslink compare` and
`benchmarks/convergence_bench.py` report it. Every figure's exact value ("p/q"; past
about 900 digits rounded to 30 places: `exact`) is under `exact.<section>`.
"""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction
from typing import Any

from etslink import economics
from etslink.reports import links as link_report
from etslink.reports.benchmark import Benchmark, build_benchmark
from etslink.reports.figures import major, number
from etslink.reports.numbers import exact, exact_or_none
from etslink.reports.prices import closing_price_minor, rows_of, vwap_minor
from etslink.reports.schema import summary_exact, summary_row
from etslink.sim.record import FirmYear, RunRecord

PRICE_PLACES = 2  # benchmark and closing prices keep two more places than the currency


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
) -> dict[str, Fraction | None]:
    """Return Gode & Sunder's allocative efficiency of the run's trading, with its parts.

    Gains from trade are abatement costs saved against no trade: the most possible is
    no-trade cost − the benchmark's (least) cost, the realised is no-trade cost − the run's
    cost. Efficiency = realised / most possible; None when no gains were possible.
    """
    possible = no_trade_minor - analytical_minor
    realised = no_trade_minor - simulated_minor
    return {
        "no_trade_cost_minor": no_trade_minor,
        "max_gains_minor": possible,
        "realised_gains_minor": realised,
        "allocative_efficiency": None if possible <= 0 else realised / possible,
    }


Section = tuple[str, Any, Any]  # (name, records or one record, exact records or None)


def equilibrium_sections(record: RunRecord) -> list[Section]:
    """Return summary.json's benchmark sections (the module docstring)."""
    scenario = record.scenario
    currency = scenario.currency

    def only_status(status: str, error: str | None) -> list[Section]:
        head = summary_row(
            "benchmark",
            status=status,
            error=error,
            currency=currency,
            interest_rate=number(scenario.interest_rate),
            banking="",
            gains_from_linking=None,
        )
        exact_head = summary_exact(
            "benchmark",
            interest_rate=exact(scenario.interest_rate),
            gains_from_linking_minor=None,
        )
        return [
            ("benchmark", head, exact_head),
            ("benchmark_routes", [], []),
            ("systems", [], []),
            ("link_pairs", [], []),
            ("efficiency", [], []),
        ]

    if not record.firm_years:
        return only_status("no year closed", None)
    try:
        found = build_benchmark(record)
    except economics.InfeasibleCapError as error:
        return only_status("infeasible", str(error))
    gains = found.gains_from_linking_minor
    head = summary_row(
        "benchmark",
        status="solved",
        error=None,
        currency=currency,
        interest_rate=number(found.problem.interest_rate),
        banking=" ".join(sorted(found.problem.banking)),
        gains_from_linking=major(gains, currency),
    )
    exact_head = summary_exact(
        "benchmark",
        interest_rate=exact(found.problem.interest_rate),
        gains_from_linking_minor=exact(gains),
    )
    return [
        ("benchmark", head, exact_head),
        ("benchmark_routes", *route_rows(found)),
        ("systems", *system_rows(record, found)),
        ("link_pairs", *link_report.link_pairs(record, found)),
        ("efficiency", *efficiency_rows(record, found)),
    ]


def route_rows(found: Benchmark) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rows, exact_rows = [], []
    for source in found.routes:
        route = source.route
        rows.append(
            summary_row(
                "benchmark_routes",
                year=route.year,
                link_id=source.link_id,
                from_registry=route.from_system,
                to_registry=route.to_system,
                rate=number(route.rate),
                cap_t=route.cap_t,
                cap_source=source.cap_source,
            )
        )
        exact_rows.append(
            summary_exact(
                "benchmark_routes",
                year=route.year,
                link_id=source.link_id,
                from_registry=route.from_system,
                to_registry=route.to_system,
                rate=exact(route.rate),
            )
        )
    return rows, exact_rows


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


def system_rows(
    record: RunRecord, found: Benchmark
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Return per registry and year the benchmark beside the run, in the registry's
    currency (exact: also in the scenario's, `…_common_minor`)."""
    scenario = record.scenario
    years: dict[tuple[str, int], list[FirmYear]] = {}
    for firm in record.firm_years:
        years.setdefault((firm.registry, firm.year), []).append(firm)
    rows, exact_rows = [], []
    for (code, year), firms in sorted(years.items()):
        node = found.linked.node(code, year)
        alone = found.autarky.node(code, year)
        currency = scenario.registry(code).currency
        to_common = scenario.fx.minor_factor(currency, scenario.currency)
        closing, vwap = simulated_prices(record, code, year)
        abated_t = sum(firm.abatement_t for firm in firms)
        cost = sum((firm.abatement_cost_minor for firm in firms), Fraction(0))
        price = node.price_minor
        gap = None if closing is None else closing - price
        rows.append(
            summary_row(
                "systems",
                registry=code,
                year=year,
                currency=currency,
                status=node.status.name.lower(),
                benchmark_price=major(price, currency, PRICE_PLACES),
                autarky_price=major(alone.price_minor, currency, PRICE_PLACES),
                run_price=major(closing, currency, PRICE_PLACES),
                run_vwap=major(vwap, currency, PRICE_PLACES),
                price_gap=major(gap, currency, PRICE_PLACES),
                price_gap_percent=None
                if gap is None or not price
                else number(100 * gap / price, 1),
                benchmark_abatement_t=number(node.abatement_t, 1),
                run_abatement_t=abated_t,
                abatement_gap_t=number(abated_t - node.abatement_t, 1),
                benchmark_cost=major(node.abatement_cost_minor, currency),
                run_cost=major(cost, currency),
                cost_gap=major(cost - node.abatement_cost_minor, currency),
                net_import_t=number(node.net_import_t, 1),
                bank_t=number(node.bank_t, 1),
            )
        )
        exact_rows.append(
            summary_exact(
                "systems",
                registry=code,
                year=year,
                benchmark_price_minor=exact(price),
                benchmark_price_common_minor=exact(price * to_common),
                autarky_price_minor=exact(alone.price_minor),
                autarky_price_common_minor=exact(alone.price_minor * to_common),
                run_price_minor=exact_or_none(closing),
                run_price_common_minor=None if closing is None else exact(closing * to_common),
                run_vwap_minor=exact_or_none(vwap),
                benchmark_abatement_t=exact(node.abatement_t),
                run_abatement_t=exact(abated_t),
                benchmark_cost_minor=exact(node.abatement_cost_minor),
                benchmark_cost_common_minor=exact(node.abatement_cost_minor * to_common),
                run_cost_minor=exact(cost),
                run_cost_common_minor=exact(cost * to_common),
                net_import_t=exact(node.net_import_t),
                bank_t=exact(node.bank_t),
            )
        )
    return rows, exact_rows


def efficiency_rows(
    record: RunRecord, found: Benchmark
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Return the allocative efficiency of the trading per year and over the run.

    A year in which a programme ends (`[[exits]]`) is left out (its row says why): its
    firms emit to the exit on a whole year's allocation and what they still hold is
    cancelled, a market the static benchmark of the year does not describe.
    """
    scenario = record.scenario
    curves = {firm.entity_id: firm.curve for firm in record.firms}
    exit_years = {item.day.year: item for item in scenario.exits}
    per_year: dict[int, list[Fraction]] = {}
    for firm_year in record.firm_years:
        if firm_year.year in exit_years:
            continue
        to_common = scenario.fx.minor_factor(
            scenario.registry(firm_year.registry).currency, scenario.currency
        )
        firm = economics.Firm(
            firm_year.entity_id,
            firm_year.forecast_t,
            firm_year.benchmark_allocation_t,
            curves[firm_year.entity_id],
        )
        totals = per_year.setdefault(firm_year.year, [Fraction(0), Fraction(0), Fraction(0)])
        totals[0] += no_trade_cost_minor([firm]) * to_common
        totals[2] += firm_year.abatement_cost_minor * to_common
    for node in found.linked.nodes:
        to_common = scenario.fx.minor_factor(
            scenario.registry(node.system_id).currency, scenario.currency
        )
        if node.year in per_year:
            per_year[node.year][1] += node.abatement_cost_minor * to_common
    whole = [sum(parts, Fraction(0)) for parts in zip(*per_year.values(), strict=True)]
    scopes: list[tuple[str, int | None, dict[str, Fraction | None] | None, str | None]] = []
    for year in sorted({*per_year, *(y for y in exit_years if y in _years_of(record))}):
        if year in exit_years:
            item = exit_years[year]
            reason = f"{item.registry} left its programme on {item.day.isoformat()}"
            scopes.append(("year", year, None, reason))
        else:
            scopes.append(("year", year, efficiency(*per_year[year]), None))
    scopes.append(("run", None, efficiency(*(whole or [Fraction(0)] * 3)), None))
    rows, exact_rows = [], []
    currency = scenario.currency
    for scope, year_number, parts, why in scopes:
        values = parts or dict.fromkeys(
            (
                "no_trade_cost_minor",
                "max_gains_minor",
                "realised_gains_minor",
                "allocative_efficiency",
            )
        )
        ratio = values["allocative_efficiency"]
        rows.append(
            summary_row(
                "efficiency",
                scope=scope,
                year=year_number,
                currency=currency,
                no_trade_cost=major(values["no_trade_cost_minor"], currency),
                max_gains=major(values["max_gains_minor"], currency),
                realised_gains=major(values["realised_gains_minor"], currency),
                allocative_efficiency=number(ratio),
                percent=None if ratio is None else number(100 * ratio, 1),
                left_out=why,
            )
        )
        exact_rows.append(
            summary_exact(
                "efficiency",
                scope=scope,
                year=year_number,
                **{key: exact_or_none(value) for key, value in values.items()},
            )
        )
    return rows, exact_rows


def _years_of(record: RunRecord) -> set[int]:
    return {firm.year for firm in record.firm_years}


__all__ = [
    "efficiency",
    "equilibrium_sections",
    "home_books",
    "no_trade_cost_minor",
    "simulated_prices",
]
