"""The analytic benchmark that matches a run: its systems, years, links and banking.

`build_benchmark(record)` turns what a run did into one network problem
(`etslink.economics.network`) and solves it, linked and in autarky:

- **Nodes**: each registry in each year the run closed. Its firms as the benchmark sees
  them: that year's emissions forecast (baseline), what the run allocated free, and the
  firm's own MAC curve. Government supply beyond free allocation, as the run's government
  offered it: the scheduled auctions' volume at that year's auction reserve price, a
  reserve release at the reserve price, and the reserve held at the year's start at the
  price ceiling. Money converts to the scenario's currency at its rates.
- **Routes**: each link that counts in a year (not merely proposed, its effective dates
  overlapping the year) in each direction it permits and for each party's allowance it
  carries, at the link's rate into the receiving registry, with its period cap. A
  regime's cap on foreign units as a share s of a liability becomes a cap on the route's
  units: s·H/(1 − s·r), H the importing system's own permits (free allocation and offered
  supply) — the aggregate of per-entity shares, as reference/linking-economics.md says.
  Transfer windows are left out: they delay units, they do not stop them (the band the
  reports allow for a gap says so).
- **Banking**: registries whose regime banks carry unused permits forward at the
  scenario's interest rate (Hotelling); the bank out of the last year is worth the next
  year's floor (0 without one).

What the benchmark says is the least-cost outcome of the rules the run applied; the run's
firms know only their own costs and the market.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from fractions import Fraction

from compliance.stability import price_ceiling_minor, price_floor_minor
from etslink import economics
from etslink.economics.network import (
    NetworkEquilibrium,
    NetworkProblem,
    Route,
    Supply,
    SystemYear,
    autarky_problem,
    network_equilibrium,
)
from etslink.scenario import Scenario
from etslink.sim.record import RunRecord
from etslink.sim.valuation import foreign_share_max
from gateway.links import Link, LinkState


@dataclass(frozen=True, slots=True)
class RouteSource:
    """Where a benchmark route comes from: its link and what set its cap."""

    link_id: str
    route: Route
    cap_source: str  # "link period cap", "<regime> foreign-unit share", or "none"


@dataclass(frozen=True, slots=True)
class Benchmark:
    """The benchmark problem, its linked and autarky equilibria, and the gains from linking.

    `gains_from_linking_minor` is what linking saves on the benchmark's own objective (the
    present value of abatement and of supply bought at its price, less what the bank out of
    the horizon is worth). `abatement_gain_minor` is the saving in abatement cost alone,
    undiscounted: the measure a run can be held to against its unlinked twin. They differ
    where supply is priced and banks carry units to a known floor: linking can then raise
    abatement while lowering the whole cost (California–Québec: Californian firms bank
    Québec's cheap units towards a floor rising 5% a year).
    """

    problem: NetworkProblem
    routes: tuple[RouteSource, ...]
    linked: NetworkEquilibrium
    autarky: NetworkEquilibrium
    gains_from_linking_minor: Fraction  # PV, common currency

    @property
    def abatement_gain_minor(self) -> Fraction:
        return self.autarky.abatement_cost_common_minor - self.linked.abatement_cost_common_minor

    @property
    def linked_parties_cost_minor(self) -> Fraction:
        """Return the autarky abatement cost of the registry-years a route joins: what the
        gain from linking is a share of. A gain that is a small share of it is within what
        a run of a few dozen firms trading in lots lands off its benchmark by."""
        joined = {(r.route.from_system, r.route.year) for r in self.routes}
        joined |= {(r.route.to_system, r.route.year) for r in self.routes}
        total = Fraction(0)
        for outcome, node in zip(self.autarky.nodes, self.problem.nodes, strict=True):
            if (node.system_id, node.year) in joined:
                total += outcome.abatement_cost_minor * node.rate_to_common
        return total


def build_problem(record: RunRecord) -> tuple[NetworkProblem, tuple[RouteSource, ...]]:
    """Return the network problem that matches the run, and where each route came from."""
    scenario = record.scenario
    curves = {firm.entity_id: firm.curve for firm in record.firms}
    by_node: dict[tuple[str, int], list[economics.Firm]] = {}
    for row in record.firm_years:
        by_node.setdefault((row.registry, row.year), []).append(
            economics.Firm(
                row.entity_id, row.forecast_t, row.benchmark_allocation_t, curves[row.entity_id]
            )
        )
    nodes = []
    for (code, year), firms in sorted(by_node.items()):
        item = scenario.registry(code)
        nodes.append(
            SystemYear(
                code,
                year,
                tuple(firms),
                scenario.fx.minor_factor(item.currency, scenario.currency),
                supply_of(record, code, year),
            )
        )
    years = sorted({year for _, year in by_node})
    sources = tuple(
        source
        for year in years
        for source in routes_of(scenario, year, {n.system_id: n for n in nodes if n.year == year})
    )
    banking = frozenset(
        code for code, _ in by_node if scenario.registry(code).regime.surrender.banking
    )
    terminal = {}
    for code in sorted(banking):
        floor = price_floor_minor(scenario.registry(code).regime.stability, years[-1] + 1)
        if floor is not None:
            terminal[code] = Fraction(floor)
    problem = NetworkProblem(
        tuple(nodes),
        tuple(source.route for source in sources),
        banking,
        scenario.interest_rate,
        terminal,
    )
    return problem, sources


def supply_of(record: RunRecord, code: str, year: int) -> tuple[Supply, ...]:
    """Return the government's supply in a year: auctions at reserve, reserve at ceiling."""
    found = next((g for g in record.governments if g.registry == code and g.year == year), None)
    if found is None:
        return ()
    supply = []
    if found.auction_offered_t:
        supply.append(Supply(found.auction_offered_t, Fraction(found.reserve_price_minor)))
    if found.reserve_released_t:
        supply.append(Supply(found.reserve_released_t, Fraction(found.reserve_price_minor)))
    ceiling = price_ceiling_minor(record.scenario.registry(code).regime.stability, year)
    if ceiling is not None and found.reserve_at_start_t:
        supply.append(Supply(found.reserve_at_start_t, Fraction(ceiling)))
    return tuple(supply)


def counts_in(link: Link, year: int) -> bool:
    """Return whether a link carries units at some moment of `year` in a run."""
    start = datetime(year, 1, 1, tzinfo=UTC)
    end = datetime(year + 1, 1, 1, tzinfo=UTC)
    if link.state is LinkState.PROPOSED or link.effective_from >= end:
        return False
    return link.effective_to is None or link.effective_to > start


def routes_of(scenario: Scenario, year: int, nodes: dict[str, SystemYear]) -> list[RouteSource]:
    """Return the year's routes: each counting link, each permitted direction."""
    found = []
    for link in sorted(scenario.links, key=lambda item: item.link_id):
        if not counts_in(link, year):
            continue
        for origin, into in (
            (link.registry_a, link.registry_b),
            (link.registry_b, link.registry_a),
        ):
            if origin not in nodes or into not in nodes:
                continue
            unit = scenario.registry(origin).regime.allowance_unit_type
            importer = scenario.registry(into).regime
            if not link.permits_direction(origin, into) or unit not in link.unit_types:
                continue
            if not importer.surrender.foreign_units_via_links:
                continue
            rate = link.rate_into(into)
            cap_t, source = link.period_cap_t, "link period cap"
            share = foreign_share_max(importer, year)
            if share is not None:
                share_cap = share_cap_t(share, rate, nodes[into])
                if cap_t is None or share_cap < cap_t:
                    cap_t, source = share_cap, f"{importer.name} foreign-unit share"
            found.append(
                RouteSource(
                    link.link_id,
                    Route(origin, into, year, rate, cap_t),
                    source if cap_t is not None else "none",
                )
            )
    return found


def share_cap_t(share: Fraction, rate: Fraction, node: SystemYear) -> int:
    """Return s·H/(1 − s·r) units, H the node's own permits: an entity share, aggregated."""
    own_t = sum(firm.allocation_t for firm in node.firms)
    own_t += sum(step.quantity_t or 0 for step in node.supply)
    if share * rate >= 1:
        return 10**15  # every unit adds more room than it uses: no binding cap
    return int(share * own_t / (1 - share * rate))


def run_abatement_cost_minor(record: RunRecord) -> Fraction:
    """Return the run's abatement cost over all its years, in the scenario's currency."""
    scenario = record.scenario
    total = Fraction(0)
    for row in record.firm_years:
        currency = scenario.registry(row.registry).currency
        total += row.abatement_cost_minor * scenario.fx.minor_factor(currency, scenario.currency)
    return total


def build_benchmark(record: RunRecord) -> Benchmark:
    """Return the benchmark of a run; raise economics.InfeasibleCapError when none exists."""
    problem, sources = build_problem(record)
    linked = network_equilibrium(problem)
    autarky = linked if not problem.routes else network_equilibrium(autarky_problem(problem))
    gains = autarky.compliance_cost_pv_minor - linked.compliance_cost_pv_minor
    return Benchmark(problem, sources, linked, autarky, gains)


__all__ = [
    "Benchmark",
    "RouteSource",
    "build_benchmark",
    "build_problem",
    "counts_in",
    "routes_of",
    "run_abatement_cost_minor",
    "share_cap_t",
    "supply_of",
]
