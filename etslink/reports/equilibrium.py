"""The analytical competitive equilibrium of each registry's year, beside what the run did.

`summary.json` carries it under `"equilibrium"` (built by `equilibrium_summary(run)`):

- `currency`: the scenario's currency, the common one of linked equilibria.
- `registries.<code>.<year>`: `curves` ("linear", "piecewise" or "mixed": the covered
  firms' MAC kinds; piecewise step curves are solved exactly too), `firms`, and three
  blocks: `analytical` (`status`, `price_minor`, `abatement_t`, `cost_minor`),
  `simulated` (`price_minor`: the home allowance's volume-weighted price of the year, null
  when it did not trade; `abatement_t`; `cost_minor`) and `gap` = simulated − analytical
  for each of the three (null when the simulated price is). Money is the registry's
  minor units; every number is exact, written as "p" or "p/q" (one whose exact form
  would run past about 900 digits is rounded to 30 decimal places: `exact`). `rounded` repeats the
  three blocks as whole numbers (half up) for reading: exact denominators of
  generated curves run to hundreds of digits. When no price meets the
  cap, `analytical` holds `status: "infeasible"` and `error`, and there is no gap.
- `links.<year>`: one entry per group of registries linked that year, with `registries`
  and the same three blocks in the common currency (`simulated.price_minor`: the volume-
  weighted price over the group's home allowances, each trade converted), plus
  `analytical.local_price_minor`, `net_import_t` and `gains_from_linking_minor`.
- `efficiency` (in both): Gode & Sunder's allocative efficiency of the run's trading —
  `no_trade_cost_minor` (each firm abating to its own allocation alone),
  `max_gains_minor` (that minus the equilibrium's cost), `realised_gains_minor` (that
  minus the run's cost), `allocative_efficiency` = realised / max (exact; null when no
  gains were possible) and `percent` (rounded). Over-abating lowers it like mis-trading.
  Banking moves abatement between years, so one year can pass 100%.
- `over_run`: the same `efficiency` summed over every year of the run in the scenario's
  currency (linked groups where registries were linked), and `years_left_out`.

The inputs of each equilibrium are the run's own: baseline = the firm's forecast
emissions of the year, allocation = what the run allocated, cap = Σ allocations + what
the government offered that year (its scheduled auction volume and the reserve it sold;
`etslink.sim.agents.government`); the regime's price floor for the year holds the price up (status
"floor": permits are left over, as unsold auction volume), and a linked group takes its
members' highest floor in the common currency. The firm's curve =
the one it traded by (`simulation.mac_curve`, the one adapter from the scenario's MAC to
economics' curves). A link counts in a year when its state is not "proposed" and its
effective window overlaps the year; the linked equilibrium assumes a full link at 1 : 1
(economics.linked_equilibrium), whatever the link's direction or exchange rate, and says
so in `links.<year>[].note`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from fractions import Fraction
from typing import Any

from compliance.presets import CURRENCY_MINOR_DIGITS
from compliance.stability import price_floor_minor
from etslink import economics
from etslink.scenario import FxTable, Scenario
from etslink.sim.record import RunRecord
from gateway.links import LinkState

EXACT_BITS_MAX = 3_000  # about 900 digits: beyond, `exact` rounds
ROUNDED_PLACES = 30
FULL_LINK_NOTE = "assumes a full two-way link at 1:1, whatever the link's direction or rate"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the run did in one system's year (money in that system's minor units)."""

    price_minor: Fraction | None  # volume-weighted; None when nothing traded
    abatement_t: int
    cost_minor: Fraction


@dataclass(frozen=True, slots=True)
class SystemYear:
    """One registry's year: its covered firms as economics sees them, and the run's outcome."""

    registry: str
    year: int
    curves: str  # "linear", "piecewise" or "mixed"
    firms: tuple[economics.Firm, ...]
    simulated: Outcome
    cap_t: int | None = None  # None: Σ allocations
    price_floor_minor: int | None = None  # the registry's, for the year


def exact(value: Fraction | int) -> str:
    """Return a number as text: "p" when whole, else "p/q"; exact unless it is enormous.

    Sums over thousands of generated curves reach denominators of thousands of digits
    (past Python's 4,300-digit limit on writing an int). A value whose exact form would
    pass `EXACT_BITS_MAX` is written rounded half up to `ROUNDED_PLACES` decimal places,
    still as "p" or "p/q" (q a power of ten).
    """
    value = Fraction(value)
    if max(value.numerator.bit_length(), value.denominator.bit_length()) > EXACT_BITS_MAX:
        scale = 10**ROUNDED_PLACES
        value = Fraction(math.floor(value * scale + Fraction(1, 2)), scale)
    if value.denominator == 1:
        return str(value.numerator)
    return f"{value.numerator}/{value.denominator}"


def _rounded(value: Fraction | None) -> int | None:
    """Return `value` rounded half up to a whole number (the readable view), None stays None."""
    return None if value is None else math.floor(value + Fraction(1, 2))


def _blocks(
    price_minor: Fraction, abatement_t: Fraction, cost_minor: Fraction, simulated: Outcome
) -> dict[str, Any]:
    """Return the simulated block, the gap (simulated − analytical) and their rounded view."""
    price_gap = None if simulated.price_minor is None else simulated.price_minor - price_minor
    keys = ("price_minor", "abatement_t", "cost_minor")
    sides = {
        "analytical": (price_minor, abatement_t, cost_minor),
        "simulated": (
            simulated.price_minor,
            Fraction(simulated.abatement_t),
            simulated.cost_minor,
        ),
        "gap": (price_gap, simulated.abatement_t - abatement_t, simulated.cost_minor - cost_minor),
    }
    return {
        "rounded": {
            side: dict(zip(keys, map(_rounded, values), strict=True))
            for side, values in sides.items()
        },
        "simulated": {
            "price_minor": None if simulated.price_minor is None else exact(simulated.price_minor),
            "abatement_t": exact(simulated.abatement_t),
            "cost_minor": exact(simulated.cost_minor),
        },
        "gap": {
            "price_minor": None if price_gap is None else exact(price_gap),
            "abatement_t": exact(simulated.abatement_t - abatement_t),
            "cost_minor": exact(simulated.cost_minor - cost_minor),
        },
    }


def no_trade_cost_minor(firms: Sequence[economics.Firm]) -> Fraction:
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
    no-trade cost − the equilibrium's (least) cost, the realised is no-trade cost − the
    run's cost. Efficiency = realised / most possible; null when no gains were possible.
    Abating more than the cap needs costs more, so over-abatement lowers it too.
    """
    possible = no_trade_minor - analytical_minor
    realised = no_trade_minor - simulated_minor
    ratio = None if possible <= 0 else realised / possible
    return {
        "no_trade_cost_minor": exact(no_trade_minor),
        "max_gains_minor": exact(possible),
        "realised_gains_minor": exact(realised),
        "allocative_efficiency": None if ratio is None else exact(ratio),
        "percent": None if ratio is None else _rounded(100 * ratio),
    }


def system_report(system: SystemYear) -> dict[str, Any]:
    """Return one registry-year's analytical equilibrium, the simulated outcome and the gap."""
    head: dict[str, Any] = {"curves": system.curves, "firms": len(system.firms)}
    try:
        found = economics.competitive_equilibrium(
            system.firms, system.cap_t, price_floor_minor=system.price_floor_minor
        )
    except economics.InfeasibleCapError as error:
        return head | {"analytical": {"status": "infeasible", "error": str(error)}}
    abatement_t = sum((o.abatement_t for o in found.firms), Fraction(0))
    analytical = {
        "status": found.status.name.lower(),
        "price_minor": exact(found.price_minor),
        "abatement_t": exact(abatement_t),
        "cost_minor": exact(found.total_cost_minor),
    }
    blocks = _blocks(found.price_minor, abatement_t, found.total_cost_minor, system.simulated)
    gains = efficiency(
        no_trade_cost_minor(system.firms), found.total_cost_minor, system.simulated.cost_minor
    )
    return head | {"analytical": analytical} | blocks | {"efficiency": gains}


def linked_report(
    systems: Sequence[SystemYear], rates: Mapping[str, Fraction], simulated: Outcome
) -> dict[str, Any]:
    """Return the linked equilibrium of `systems` in the common currency, beside the run.

    `rates[registry]`: one minor unit of the registry's currency in common minor units;
    `simulated` is already in the common currency.
    """
    assert len(systems) >= 2, systems
    markets = [
        economics.Market(
            s.registry,
            s.firms,
            s.cap_t,
            None if s.price_floor_minor is None else Fraction(s.price_floor_minor),
        )
        for s in systems
    ]
    head: dict[str, Any] = {"registries": [s.registry for s in systems], "note": FULL_LINK_NOTE}
    try:
        found = economics.linked_equilibrium(markets, rates)
    except economics.InfeasibleCapError as error:
        return head | {"analytical": {"status": "infeasible", "error": str(error)}}
    linked = found.linked
    abatement_t = sum((o.abatement_t for o in linked.firms), Fraction(0))
    analytical = {
        "status": linked.status.name.lower(),
        "price_minor": exact(found.price_minor),
        "abatement_t": exact(abatement_t),
        "cost_minor": exact(linked.total_cost_minor),
        "local_price_minor": {k: exact(v) for k, v in sorted(found.local_price_minor.items())},
        "net_import_t": {k: exact(v) for k, v in sorted(found.net_import_t.items())},
        "gains_from_linking_minor": exact(found.gains_from_linking_minor),
    }
    blocks = _blocks(found.price_minor, abatement_t, linked.total_cost_minor, simulated)
    no_trade = sum((rates[s.registry] * no_trade_cost_minor(s.firms) for s in systems), Fraction(0))
    gains = efficiency(no_trade, linked.total_cost_minor, simulated.cost_minor)
    return head | {"analytical": analytical} | blocks | {"efficiency": gains}


# ---------------------------------------------------------------- from a run


def minor_rate(fx: FxTable, out_of: str, into: str) -> Fraction:
    """Return what one minor unit of `out_of` is worth in minor units of `into`."""
    if out_of == into:
        return Fraction(1)
    rate = fx.rate(into, out_of)
    assert rate is not None, f"no rate {out_of} → {into} (the loader checks)"
    digits = CURRENCY_MINOR_DIGITS[into] - CURRENCY_MINOR_DIGITS[out_of]
    return rate * Fraction(10) ** digits


def linked_groups(scenario: Scenario, year: int) -> list[tuple[str, ...]]:
    """Return the groups (two or more registries) joined by links that count in `year`."""
    start = datetime(year, 1, 1, tzinfo=UTC)
    end = datetime(year + 1, 1, 1, tzinfo=UTC)
    parent = {r.code: r.code for r in scenario.registries}

    def root(code: str) -> str:
        while parent[code] != code:
            code = parent[code]
        return code

    for link in sorted(scenario.links, key=lambda item: item.link_id):
        if link.state is LinkState.PROPOSED or link.effective_from >= end:
            continue
        if link.effective_to is not None and link.effective_to <= start:
            continue
        if link.registry_a in parent and link.registry_b in parent:
            parent[root(link.registry_a)] = root(link.registry_b)
    groups: dict[str, list[str]] = {}
    for code in sorted(parent):
        groups.setdefault(root(code), []).append(code)
    return sorted(tuple(g) for g in groups.values() if len(g) >= 2)


def _vwap(record: RunRecord, books: Sequence[str], year: int, currency: str) -> Fraction | None:
    """Return the volume-weighted price of `books` in `year`, in `currency` minor units."""
    notional = Fraction(0)
    volume_t = 0
    for row in record.prices:
        if row.instrument in books and row.day.startswith(f"{year}-"):
            book_currency = record.books[row.instrument].currency
            notional += row.notional_minor * record.scenario.fx.minor_factor(
                book_currency, currency
            )
            volume_t += row.volume_t
    return None if volume_t == 0 else notional / volume_t


def home_books(record: RunRecord, code: str) -> list[str]:
    """Return the books of `code`'s own allowance, on any venue."""
    unit = record.scenario.registry(code).regime.allowance_unit_type
    return sorted(b.code for b in record.books.values() if b.unit_type == unit)


def systems_of_run(record: RunRecord) -> list[SystemYear]:
    """Return each registry-year the run closed, with its firms as economics.Firm values."""
    curves = {firm.entity_id: firm.curve for firm in record.firms}
    by_key: dict[tuple[str, int], list[Any]] = {}
    for row in record.firm_years:
        by_key.setdefault((row.registry, row.year), []).append(row)
    systems = []
    for (code, year), rows in sorted(by_key.items()):
        item = record.scenario.registry(code)
        linear = {isinstance(curves[r.entity_id], economics.LinearMac) for r in rows}
        simulated = Outcome(
            _vwap(record, home_books(record, code), year, item.currency),
            sum(r.abatement_t for r in rows),
            sum((r.abatement_cost_minor for r in rows), Fraction(0)),
        )
        firms = tuple(
            economics.Firm(r.entity_id, r.forecast_t, r.allocated_t, curves[r.entity_id])
            for r in rows
        )
        government = next(
            (g for g in record.governments if g.registry == code and g.year == year), None
        )
        offered_t = (
            0
            if government is None
            else government.auctioned_t + government.reserve_released_t + government.ceiling_sold_t
        )
        cap_t = sum(f.allocation_t for f in firms) + offered_t
        floor = price_floor_minor(item.regime.stability, year)
        curve_kind = "mixed" if len(linear) == 2 else ("linear" if True in linear else "piecewise")
        systems.append(SystemYear(code, year, curve_kind, firms, simulated, cap_t, floor))
    return systems


def equilibrium_summary(record: RunRecord) -> dict[str, Any]:
    """Return the `"equilibrium"` section of summary.json (the module docstring's schema)."""
    scenario = record.scenario
    systems = systems_of_run(record)
    registries: dict[str, dict[str, Any]] = {}
    for system in systems:
        registries.setdefault(system.registry, {})[str(system.year)] = system_report(system)
    links: dict[str, list[dict[str, Any]]] = {}
    for year in sorted({s.year for s in systems}):
        for group in linked_groups(scenario, year):
            members = [s for s in systems if s.year == year and s.registry in group]
            if len(members) < 2:
                continue
            rates = {
                s.registry: minor_rate(
                    scenario.fx, scenario.registry(s.registry).currency, scenario.currency
                )
                for s in members
            }
            homes = [code for s in members for code in home_books(record, s.registry)]
            simulated = Outcome(
                _vwap(record, homes, year, scenario.currency),
                sum(s.simulated.abatement_t for s in members),
                sum((rates[s.registry] * s.simulated.cost_minor for s in members), Fraction(0)),
            )
            links.setdefault(str(year), []).append(linked_report(members, rates, simulated))
    return {
        "currency": scenario.currency,
        "registries": registries,
        "links": links,
        "over_run": over_run(registries, links, scenario),
    }


def over_run(
    registries: Mapping[str, Mapping[str, Any]],
    links: Mapping[str, Sequence[Mapping[str, Any]]],
    scenario: Scenario,
) -> dict[str, Any]:
    """Return the efficiency of the whole run, in the scenario's currency.

    Banking moves abatement between years, so one year's efficiency can pass 100% (the
    bank pays for it) while another's falls; over the run it evens out. Each year counts
    its linked groups' equilibria where registries were linked, else each registry's own;
    a year with an infeasible equilibrium is left out and named in `years_left_out`.
    """
    totals = [Fraction(0), Fraction(0), Fraction(0)]  # no trade, analytical, run
    left_out: list[str] = []
    years = sorted({year for by_year in registries.values() for year in by_year})
    for year in years:
        groups = list(links.get(year, ()))
        grouped = {code for group in groups for code in group["registries"]}
        reports: list[tuple[Mapping[str, Any], Fraction]] = [
            (group, Fraction(1)) for group in groups
        ]
        for code in sorted(registries):
            if code in grouped or year not in registries[code]:
                continue
            currency = scenario.registry(code).currency
            reports.append(
                (registries[code][year], minor_rate(scenario.fx, currency, scenario.currency))
            )
        if any("efficiency" not in report for report, _ in reports):
            left_out.append(year)
            continue
        for report, rate in reports:
            totals[0] += rate * Fraction(report["efficiency"]["no_trade_cost_minor"])
            totals[1] += rate * Fraction(report["analytical"]["cost_minor"])
            totals[2] += rate * Fraction(report["simulated"]["cost_minor"])
    return {"years_left_out": left_out, "efficiency": efficiency(*totals)}


__all__ = [
    "Outcome",
    "SystemYear",
    "efficiency",
    "equilibrium_summary",
    "exact",
    "linked_groups",
    "linked_report",
    "minor_rate",
    "no_trade_cost_minor",
    "over_run",
    "system_report",
    "systems_of_run",
]
