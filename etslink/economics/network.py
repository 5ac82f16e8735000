"""The exact equilibrium of linked emissions-trading systems over one or more years.

A node is one system in one year: its covered firms, the government's supply beyond free
allocation, and its currency's rate to the common currency. Routes move permits from one
system to another within a year: x units leave the exporter's balance and count rate·x
tonnes at surrender in the importer, at most a cap a year. Systems that bank carry unused
permits into their next year, never below zero (no borrowing); a unit banked out of a
system's last year is worth its terminal price a year later.

The equilibrium is the least present-value cost of meeting every node's needs (a convex
program). Its prices, in present-value common currency P = local price · rate to common /
(1 + interest)^(year − first year), satisfy exactly:

- balance: a node's net demand at its price equals what its routes and its bank bring;
- routes: flow > 0 only if P_from ≤ rate·P_to, flow < cap only if P_from ≥ rate·P_to;
- banks: P_t ≥ P_next always, equal while the bank is positive (Hotelling);
- firms abate up to where their MAC meets the local price; supply sells at or above its price.

Tonnes and money are exact `Fraction`s; floats only guide searches that exact arithmetic
then confirms. `network_equilibrium` describes how the prices are found.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import IntEnum
from fractions import Fraction
from types import MappingProxyType

from etslink.economics.curves import LinearMac
from etslink.economics.market import (
    FIRMS_MAX,
    EquilibriumStatus,
    Firm,
    FirmOutcome,
    InfeasibleCapError,
)

NODES_MAX = 2_000  # systems × years: 20 systems over a century
ROUTES_MAX = 10_000  # over all years: every pair of 20 systems both ways for 25 years
SUPPLY_STEPS_MAX = 64  # per node: a year's auctions, reserves and ceiling tiers
YEARS_SPAN_MAX = 200  # exact discount factors grow a few digits per year of span
PIVOTS_BASE = 64  # the settling loop's budget: base + per element of the network
PIVOTS_PER_ELEMENT = 16  # each edge pivots a few times in the degenerate cases seen
CROSSING_STEPS_MAX = 64  # breakpoints the exact crossing walks from its float guess
FLOAT_BISECTION_STEPS = 200  # halvings of the guide's bracket: adjacent floats long before


# --- the problem ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Supply:
    """Permits the government sells beyond free allocation, only at a price ≥ `price_minor`.

    An auction at its reserve price (a floor), a reserve sold at a ceiling price, or at
    price 0 an unconditional issue. `quantity_t` None: unlimited at that price (a hard
    ceiling). At exactly `price_minor` any part of it may sell.
    """

    quantity_t: int | None
    price_minor: Fraction

    def __post_init__(self) -> None:
        if self.quantity_t is not None and self.quantity_t < 0:
            raise ValueError(f"supply must be ≥ 0 t or None (unlimited), was {self.quantity_t} t")
        price = Fraction(self.price_minor)
        if price < 0:
            raise ValueError(f"supply price must be ≥ 0, was {price}")
        object.__setattr__(self, "price_minor", price)


@dataclass(frozen=True, slots=True)
class SystemYear:
    """One system in one year, in the system's own currency: a node of the network."""

    system_id: str
    year: int
    firms: tuple[Firm, ...]
    rate_to_common: Fraction = Fraction(1)  # one local minor unit in common minor units
    supply: tuple[Supply, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "firms", tuple(self.firms))
        object.__setattr__(self, "supply", tuple(self.supply))
        object.__setattr__(self, "rate_to_common", Fraction(self.rate_to_common))
        label = f"{self.system_id} {self.year}"
        if self.rate_to_common <= 0:
            raise ValueError(
                f"{label}: rate to common currency must be > 0, was {self.rate_to_common}"
            )
        if len(self.firms) > FIRMS_MAX:
            raise ValueError(f"{label}: at most {FIRMS_MAX} firms, was {len(self.firms)}")
        if len(self.supply) > SUPPLY_STEPS_MAX:
            raise ValueError(
                f"{label}: at most {SUPPLY_STEPS_MAX} supply steps, was {len(self.supply)}"
            )
        seen: set[str] = set()
        for firm in self.firms:
            if firm.firm_id in seen:
                raise ValueError(
                    f"{label}: firm ids must be unique, {firm.firm_id!r} appears twice"
                )
            seen.add(firm.firm_id)
            if firm.mac.price_breakpoints() is None:
                raise ValueError(
                    f"{label}: firm {firm.firm_id!r} has a MAC that is not piecewise linear; "
                    "the network equilibrium is exact only for curves with price breakpoints"
                )

    @property
    def label(self) -> str:
        return f"{self.system_id} {self.year}"


@dataclass(frozen=True, slots=True)
class Route:
    """Units of `from_system` that may move to `to_system` in `year`, each `rate` t there."""

    from_system: str
    to_system: str
    year: int
    rate: Fraction = Fraction(1)
    cap_t: int | None = None  # units a year; None: no cap

    def __post_init__(self) -> None:
        object.__setattr__(self, "rate", Fraction(self.rate))
        if self.from_system == self.to_system:
            raise ValueError(f"route {self.label}: a route joins two different systems")
        if self.rate <= 0:
            raise ValueError(f"route {self.label}: rate must be > 0, was {self.rate}")
        if self.cap_t is not None and self.cap_t < 0:
            raise ValueError(f"route {self.label}: cap must be ≥ 0 t or None, was {self.cap_t} t")

    @property
    def label(self) -> str:
        return f"{self.from_system}→{self.to_system} in {self.year}"


@dataclass(frozen=True, slots=True)
class NetworkProblem:
    """Systems over years, the routes between them and which systems bank.

    `terminal_price_minor[s]`: what a unit banked out of s's last year is worth in the year
    after, in s's currency (e.g. next year's floor); default 0. Only banking systems have one.
    """

    nodes: tuple[SystemYear, ...]
    routes: tuple[Route, ...] = ()
    banking: frozenset[str] = frozenset()
    interest_rate: Fraction = Fraction(0)
    terminal_price_minor: Mapping[str, Fraction] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "nodes", tuple(self.nodes))
        object.__setattr__(self, "routes", tuple(self.routes))
        object.__setattr__(self, "banking", frozenset(self.banking))
        object.__setattr__(self, "interest_rate", Fraction(self.interest_rate))
        terminal = {s: Fraction(p) for s, p in self.terminal_price_minor.items()}
        object.__setattr__(self, "terminal_price_minor", MappingProxyType(terminal))
        _check_problem(self)


# --- the equilibrium -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NodeOutcome:
    """One system in one year at equilibrium; money in the system's currency unless named.

    Balance: emissions + bank + unused = allocation + supply sold + net import + bank in.
    `bank_t` is carried into the system's next year (out of the horizon in its last year);
    `unused_t` is left over at price 0 by a system that does not bank. `net_import_t` is in
    tonnes of this system's compliance: Σ rate·units in − Σ units out over routes.

    `firms` (and `firm`) are derived exactly on first read: at prices whose denominators
    run to a thousand digits each firm's figures cost big-number gcds, which a network of
    ninety thousand firms should not pay unless someone asks.
    """

    system_id: str
    year: int
    price_minor: Fraction
    price_common_minor: Fraction  # in the common currency of that year
    price_pv_minor: Fraction  # in the common currency, discounted to the first year
    status: EquilibriumStatus
    abatement_t: Fraction
    emissions_t: Fraction
    allocation_t: int
    supply_sold_t: Fraction
    supply_sold_by_step_t: tuple[Fraction, ...]  # aligned with the node's supply steps
    net_import_t: Fraction
    bank_in_t: Fraction
    bank_t: Fraction
    unused_t: Fraction
    abatement_cost_minor: Fraction
    detail: _FirmDetail = field(repr=False, compare=False)

    @property
    def firms(self) -> tuple[FirmOutcome, ...]:
        """Return every firm's outcome, in the node's order."""
        return self.detail.outcomes()

    def firm(self, firm_id: str) -> FirmOutcome:
        """Return one firm's outcome, deriving only that one."""
        return self.detail.outcome(firm_id)


@dataclass(frozen=True, slots=True)
class RouteFlow:
    """What one route carries: `flow_t` units of the exporter's, `delivered_t` = rate·flow_t."""

    route: Route
    flow_t: Fraction
    delivered_t: Fraction
    cap_binds: bool


@dataclass(frozen=True, slots=True)
class NetworkEquilibrium:
    """The equilibrium of a network; nodes and routes in the problem's order.

    Costs are in the common currency. `compliance_cost_pv_minor` is what the equilibrium
    minimises: the present value of abatement, plus supply bought valued at its own price,
    minus what the units banked out of the horizon are worth.
    """

    nodes: tuple[NodeOutcome, ...]
    routes: tuple[RouteFlow, ...]
    abatement_cost_common_minor: Fraction  # each year's cost in its own money, summed
    abatement_cost_pv_minor: Fraction
    compliance_cost_pv_minor: Fraction

    def node(self, system_id: str, year: int) -> NodeOutcome:
        for outcome in self.nodes:
            if (outcome.system_id, outcome.year) == (system_id, year):
                return outcome
        raise KeyError(f"no node {system_id} {year} in this equilibrium")

    def net_import_t(self, system_id: str, year: int) -> Fraction:
        """Return Σ rate·units in − Σ units out over the system's routes that year, in tonnes."""
        return self.node(system_id, year).net_import_t


@dataclass(frozen=True, slots=True)
class LinkingGains:
    """A linked network beside its autarky twin: same nodes and banking, no routes."""

    linked: NetworkEquilibrium
    autarky: NetworkEquilibrium
    gains_from_linking_minor: Fraction  # autarky − linked compliance cost, PV common currency


class InfeasibleNetworkError(InfeasibleCapError):
    """No price meets some nodes' needs: full abatement, supply and capped imports fall short."""

    def __init__(self, labels: Sequence[str], available_t: Fraction, min_emissions_t: Fraction):
        super().__init__(available_t, min_emissions_t)
        self.labels = tuple(labels)
        self.args = (
            f"no price meets the needs of {', '.join(self.labels)}: emissions after full "
            f"abatement {min_emissions_t} t exceed the {available_t} t that allocation, "
            "supply and the routes' caps can bring; add supply, a ceiling or a route",
        )


def network_equilibrium(problem: NetworkProblem) -> NetworkEquilibrium:
    """Return the exact equilibrium of `problem`, checked against its optimality conditions.

    Each node's firms and finite supply are aggregated once into one piecewise-linear cover
    function with sorted price breakpoints and prefix sums. Edges (routes and banks, a bank
    being a rate-1 route without a cap) are each ZERO, TIGHT or at CAP. The TIGHT edges form a
    forest; in each tree the present-value prices are tied, P_n = π_n·λ, so the value-weighted
    balance Σ π_n·(net demand_n − fixed inflow_n) is one monotone piecewise-linear equation in
    λ: a float search guides it and exact arithmetic finds its lowest root. A maximum flow in
    value units then splits the tree's flows and the steps at its price; if none exists its
    minimum cut splits the tree (the side that cannot get enough rises, the cut edges go to
    CAP or ZERO). A ZERO or CAP edge whose prices violate its condition is made TIGHT (inside
    one tree, by breaking the cycle it closes). When nothing moves, the conditions hold
    exactly, and are checked again on the result.

    Raise InfeasibleNetworkError (an InfeasibleCapError) when no price meets some nodes'
    needs, and ValueError when an unlimited supply can flow through uncapped edges to a
    hold-out worth more (unbounded arbitrage).
    """
    graph = _graph(problem)
    settled = _settle(graph)
    equilibrium = _equilibrium(problem, graph, settled)
    _check_optimality(problem, graph, equilibrium)
    return equilibrium


def autarky_problem(problem: NetworkProblem) -> NetworkProblem:
    """Return the same nodes and banking without any route: each system on its own."""
    return replace(problem, routes=())


def linking_gains(problem: NetworkProblem) -> LinkingGains:
    """Return the linked and autarky equilibria and what linking saves in PV common currency.

    Linking only adds options to the same program, so the saving is never negative.
    """
    linked = network_equilibrium(problem)
    autarky = network_equilibrium(autarky_problem(problem))
    gains = autarky.compliance_cost_pv_minor - linked.compliance_cost_pv_minor
    assert gains >= 0, f"linking must never cost more than autarky, was {gains}"
    return LinkingGains(linked, autarky, gains)


# --- validation ----------------------------------------------------------------------------


def _check_problem(problem: NetworkProblem) -> None:
    if not 1 <= len(problem.nodes) <= NODES_MAX:
        raise ValueError(f"a network needs 1 to {NODES_MAX} nodes, was {len(problem.nodes)}")
    if len(problem.routes) > ROUTES_MAX:
        raise ValueError(f"a network takes at most {ROUTES_MAX} routes, was {len(problem.routes)}")
    if problem.interest_rate < 0:
        raise ValueError(f"interest rate must be ≥ 0, was {problem.interest_rate}")
    years_of: dict[str, list[int]] = {}
    for node in problem.nodes:
        years = years_of.setdefault(node.system_id, [])
        if node.year in years:
            raise ValueError(f"node {node.label} appears twice; give each system one node a year")
        years.append(node.year)
    all_years = [node.year for node in problem.nodes]
    if max(all_years) - min(all_years) > YEARS_SPAN_MAX:
        raise ValueError(
            f"years must span at most {YEARS_SPAN_MAX}, was {min(all_years)}–{max(all_years)}"
        )
    for route in problem.routes:
        for system_id in (route.from_system, route.to_system):
            if system_id not in years_of:
                raise ValueError(
                    f"route {route.label}: unknown system {system_id!r} "
                    f"(systems: {', '.join(sorted(years_of))})"
                )
            if route.year not in years_of[system_id]:
                raise ValueError(
                    f"route {route.label}: {system_id} has no node in {route.year} "
                    f"(its years: {', '.join(map(str, sorted(years_of[system_id])))})"
                )
    _check_banking(problem, years_of)
    _check_no_value_creating_cycle(problem.routes)


def _check_banking(problem: NetworkProblem, years_of: Mapping[str, list[int]]) -> None:
    for system_id in sorted(problem.banking):
        if system_id not in years_of:
            raise ValueError(f"banking system {system_id!r} has no node")
    for system_id, price in problem.terminal_price_minor.items():
        if system_id not in problem.banking:
            raise ValueError(
                f"terminal price given for {system_id!r}, which does not bank: "
                "add it to `banking` or drop its terminal price"
            )
        if price < 0:
            raise ValueError(f"{system_id}: terminal price must be ≥ 0, was {price}")
    growth = 1 + problem.interest_rate
    for node in problem.nodes:
        holdout = _holdout_minor(problem, node, growth, max(years_of[node.system_id]))
        ceiling = _ceiling_minor(node)
        if ceiling is not None and ceiling < holdout:
            raise ValueError(
                f"{node.label}: unlimited supply at {ceiling} is worth {holdout} banked out of "
                "the horizon, an unbounded arbitrage; lower the terminal price or raise the ceiling"
            )


def _check_no_value_creating_cycle(routes: Sequence[Route]) -> None:
    """Refuse routes of one year that multiply a unit round a cycle (Bellman–Ford on products)."""
    for year, in_year in itertools.groupby(
        sorted(routes, key=lambda r: r.year), key=lambda r: r.year
    ):
        year_routes = list(in_year)
        systems = sorted({s for r in year_routes for s in (r.from_system, r.to_system)})
        best = dict.fromkeys(systems, Fraction(1))  # best product of rates over paths into s
        via: dict[str, Route] = {}
        for _ in range(len(systems)):
            changed = False
            for route in year_routes:
                reached = best[route.from_system] * route.rate
                if reached > best[route.to_system]:
                    best[route.to_system] = reached
                    via[route.to_system] = route
                    changed = True
            if not changed:
                break
        else:
            raise ValueError(_cycle_message(year, via))


def _cycle_message(year: int, via: Mapping[str, Route]) -> str:
    # Still improving after |V| rounds: the predecessor graph holds a cycle, which gains.
    cycle: list[Route] = []
    for start in sorted(via):
        order: dict[str, int] = {}
        node = start
        while node in via and node not in order:
            order[node] = len(order)
            node = via[node].from_system
        if node in order:
            walk = list(order)[order[node] :]
            cycle = [via[n] for n in reversed(walk)]
            break
    assert cycle, "Bellman–Ford still improving leaves a cycle among the predecessors"
    product = math.prod((r.rate for r in cycle), start=Fraction(1))
    assert product > 1, "Bellman–Ford's predecessor cycle multiplies units"
    path = "→".join([cycle[0].from_system, *(r.to_system for r in cycle)])
    return (
        f"routes in {year} form a round trip {path} that creates units (rates multiply to "
        f"{product} > 1); lower a rate so that no round trip multiplies a unit"
    )


def _holdout_minor(
    problem: NetworkProblem, node: SystemYear, growth: Fraction, last: int
) -> Fraction:
    """Return the local price at which a node may hold units out without limit.

    Anyone may leave permits unused at price 0; a banking system's last year may bank them
    out of the horizon, worth its terminal price a year later, discounted to this year.
    """
    if node.system_id in problem.banking and node.year == last:
        return problem.terminal_price_minor.get(node.system_id, Fraction(0)) / growth
    return Fraction(0)


def _ceiling_minor(node: SystemYear) -> Fraction | None:
    return min((s.price_minor for s in node.supply if s.quantity_t is None), default=None)


# --- a node's aggregate cover curve --------------------------------------------------------

_Pair = tuple[int, int]  # numerator, denominator (> 0): a Fraction not yet normalised
_NO_JUMP = Fraction(0)  # shared: most firms take no step at price 0


@dataclass(frozen=True, slots=True)
class _Pieces:
    """One firm's (or supply step's) share of a node's curve, as start values and changes.

    At price 0 the cover is `start[0]` + `start[1]`·p and the firm's abatement cost
    `start[2]` + (`start[1]`/2)·p²; at each event's price x > 0 these three change by the
    event's pairs. Small-integer pairs rather than Fractions: building a node never takes
    a big-number gcd per firm. On a piece where abatement rises with slope s the margin
    sits on the MAC at p, so cost rises by p·s·dp: K + (s/2)·p²; a flat MAC step of
    width w at x adds x·w.
    """

    start: tuple[_Pair, _Pair, _Pair]
    jump_at_zero_t: Fraction  # abatement taken in full at price 0 (steps priced at 0)
    events: list[tuple[_Pair, _Pair, _Pair, _Pair]]  # (price, Δα, Δβ, Δcost)


class _Prefix:
    """Prefix sums over a node's price pieces, exact on demand: piece j sums steps 0..j.

    Floats for every piece guide the searches at once. Exact sums cost big-integer work
    per step (one common denominator can run to thousands of digits), and the solver reads
    only pieces near its crossings, so they are extended only as far as someone reads.
    """

    __slots__ = ("_den", "_factor", "_memo", "_nums", "_steps", "floats")

    def __init__(self, steps: list[list[_Pair]], with_floats: bool) -> None:
        self._steps = steps  # steps[0]: the values at price 0; steps[j]: changes at piece j
        self._den = 0  # 0: not yet needed
        self._factor: dict[int, int] = {}
        self._nums: list[int] = []
        self._memo: dict[int, Fraction] = {}
        self.floats: tuple[float, ...] = ()
        if with_floats:  # their drift from summing in floats is harmless to a guide
            self.floats = tuple(itertools.accumulate(sum(n / d for n, d in step) for step in steps))

    def at(self, j: int) -> Fraction:
        value = self._memo.get(j)
        if value is None:
            value = self._memo[j] = Fraction(self._sum_to(j), self._den)
        return value

    def _sum_to(self, j: int) -> int:
        if not self._den:
            dens = {d for step in self._steps for _, d in step}
            self._den = math.lcm(*dens)
            self._factor = {d: self._den // d for d in dens}
        total = self._nums[-1] if self._nums else 0
        factor = self._factor
        for step in self._steps[len(self._nums) : j + 1]:
            for n, d in step:
                total += n * factor[d]
            self._nums.append(total)
        return self._nums[j]


@dataclass(frozen=True, slots=True)
class _Curve:
    """What a node covers from its own means at local price p, and what its firms pay.

    On [price(j), price(j+1)): cover G(p) = alpha[j] + beta[j]·p (abatement plus the
    finite supply priced at or below p) and the firms' abatement cost
    cost[j] + (beta[j]/2)·p² (supply only jumps, so beta is the firms' alone). G is
    right-continuous: a step priced at p is taken in full at p.
    """

    need_t: int  # Σ baselines − Σ allocations
    price_pairs: tuple[_Pair, ...]  # the breakpoints, sorted; the first is 0
    prices_f: tuple[float, ...]
    alpha: _Prefix
    beta: _Prefix
    cost: _Prefix
    left_at_zero_t: Fraction  # G just below 0: without the steps priced at 0
    memo: dict[int, Fraction] = field(default_factory=dict, compare=False, repr=False)

    @property
    def pieces(self) -> int:
        return len(self.price_pairs)

    def price(self, j: int) -> Fraction:
        value = self.memo.get(j)
        if value is None:
            value = self.memo[j] = Fraction(*self.price_pairs[j])
        return value

    def piece(self, price: Fraction) -> int:
        """Return the last j with price(j) ≤ price (floats guess, exact comparisons decide)."""
        pairs, num, den = self.price_pairs, price.numerator, price.denominator
        j = max(bisect.bisect_right(self.prices_f, float(price)) - 1, 0)
        while j + 1 < len(pairs) and pairs[j + 1][0] * den <= num * pairs[j + 1][1]:
            j += 1
        while j > 0 and pairs[j][0] * den > num * pairs[j][1]:
            j -= 1
        return j

    def cover(self, price: Fraction, left: bool = False) -> Fraction:
        """Return G at `price`; `left`: just below it, without the steps priced there."""
        j = self._piece_of(price, left)
        if j < 0:
            return self.left_at_zero_t
        return self.alpha.at(j) + self.beta.at(j) * price

    def firm_cost(self, price: Fraction, left: bool = False) -> Fraction:
        j = max(self._piece_of(price, left), 0)  # steps priced at 0 cost nothing
        return self.cost.at(j) + self.beta.at(j) * price * price / 2

    def cover_f(self, price: float) -> float:
        j = max(bisect.bisect_right(self.prices_f, price) - 1, 0)
        return self.alpha.floats[j] + self.beta.floats[j] * price

    def _piece_of(self, price: Fraction, left: bool) -> int:
        j = self.piece(price)
        return j - 1 if left and self.price(j) == price else j


def _curve(firms: Sequence[Firm], supply: Sequence[Supply]) -> _Curve:
    pieces = [_firm_pieces(firm) for firm in firms]
    zero = (0, 1)
    for step in supply:
        if step.quantity_t is None or step.quantity_t == 0:
            continue  # unlimited supply bounds the price instead
        quantity = (step.quantity_t, 1)
        if step.price_minor == 0:
            pieces.append(_Pieces((quantity, zero, zero), Fraction(step.quantity_t), []))
        else:
            event = (_pair(step.price_minor), quantity, zero, zero)
            pieces.append(_Pieces((zero, zero, zero), _NO_JUMP, [event]))
    changes: dict[_Pair, tuple[list[_Pair], list[_Pair], list[_Pair]]] = {}
    for p in pieces:
        for price, d_alpha, d_beta, d_cost in p.events:
            slot = changes.get(price)
            if slot is None:
                slot = changes[price] = ([], [], [])
            slot[0].append(d_alpha)
            slot[1].append(d_beta)
            slot[2].append(d_cost)
    order = _sorted_pairs(changes)
    alpha, beta, cost = (
        _Prefix([[p.start[k] for p in pieces], *(changes[x][k] for x in order)], k < 2)
        for k in range(3)
    )
    return _Curve(
        need_t=sum(f.baseline_t - f.allocation_t for f in firms),
        price_pairs=((0, 1), *order),
        prices_f=(0.0, *(n / d for n, d in order)),
        alpha=alpha,
        beta=beta,
        cost=cost,
        left_at_zero_t=alpha.at(0)
        - _exact_sum(p.jump_at_zero_t for p in pieces if p.jump_at_zero_t),
    )


def _pair(value: Fraction) -> _Pair:
    return (value.numerator, value.denominator)


def _reduced(numerator: int, denominator: int) -> _Pair:
    """Normalise a pair of small integers (a cheap gcd), keeping common denominators small."""
    g = math.gcd(numerator, denominator)
    return (numerator // g, denominator // g)


def _sorted_pairs(pairs: Iterable[_Pair]) -> list[_Pair]:
    """Sort distinct positive rationals by float, then fix exactly what floats could not tell.

    Floats misorder only neighbours closer than their precision, so the insertion pass
    that follows moves few elements a short way.
    """
    ordered = sorted(pairs, key=lambda p: p[0] / p[1])
    for i in range(1, len(ordered)):
        item, j = ordered[i], i
        while j > 0 and item[0] * ordered[j - 1][1] < ordered[j - 1][0] * item[1]:
            ordered[j] = ordered[j - 1]
            j -= 1
        ordered[j] = item
    return ordered


def _firm_pieces(firm: Firm) -> _Pieces:
    mac = firm.mac
    if type(mac) is LinearMac:  # the common case, in closed form: no sampling of the curve
        return _linear_pieces(firm, mac)
    return _sampled_pieces(firm)


def _linear_pieces(firm: Firm, mac: LinearMac) -> _Pieces:
    """Abate (p − a)/b from p = a until `full` = a + b·top; cost (p² − a²)/(2b) meanwhile."""
    (an, ad), (bn, bd) = _pair(mac.intercept_minor), _pair(mac.slope_minor_per_t2)
    tn, td = firm.baseline_t, 1  # what the firm can abate: its baseline, or less if limited
    if mac.limit_t is not None and mac.limit_t.numerator < tn * mac.limit_t.denominator:
        tn, td = _pair(mac.limit_t)
    full = _reduced(an * bd * td + ad * bn * tn, ad * bd * td)  # a + b·top
    zero = (0, 1)
    if tn == 0 or full[0] <= 0:  # nothing to abate, or all of it at price 0
        return _Pieces(((tn, td), zero, _pair(mac.total_cost(Fraction(tn, td)))), _NO_JUMP, [])
    per_minor = (bd, bn)  # 1/b: tonnes per minor unit of price
    # Only prices are reduced (they key the breakpoints); amounts share denominators anyway.
    offset = (-an * bd, ad * bn)  # −a/b
    base_cost = (-an * an * bd, 2 * ad * ad * bn)  # −a²/(2b)
    saturate = (
        full,
        (full[0] * bd, full[1] * bn),  # +full/b
        (-bd, bn),
        (full[0] * full[0] * bd, 2 * full[1] * full[1] * bn),  # +full²/(2b)
    )
    if an <= 0:
        return _Pieces((offset, per_minor, base_cost), _NO_JUMP, [saturate])
    start = ((an, ad), offset, per_minor, base_cost)
    return _Pieces((zero, zero, zero), _NO_JUMP, [start, saturate])


def _sampled_pieces(firm: Firm) -> _Pieces:
    """Read a piecewise-linear curve through its public face: values at and between breakpoints."""
    points = _firm_breakpoints(firm)
    grid = [Fraction(0), *(p for p in points if p > 0)]
    at = firm.abatement_at_price
    values = [at(p) for p in grid]
    slopes = []
    for i, low in enumerate(grid):
        high = grid[i + 1] if i + 1 < len(grid) else low + 2
        middle = (low + high) / 2
        slopes.append((at(middle) - values[i]) / (middle - low))
    if slopes[-1] != 0:
        raise ValueError(f"{firm.firm_id}: abatement must stop growing past the last breakpoint")
    events = []
    for i in range(1, len(grid)):
        price = grid[i]
        jump = values[i] - values[i - 1] - slopes[i - 1] * (price - grid[i - 1])
        d_slope = slopes[i] - slopes[i - 1]
        d_alpha = jump - d_slope * price
        d_cost = price * jump - d_slope * price * price / 2
        events.append((_pair(price), _pair(d_alpha), _pair(d_slope), _pair(d_cost)))
    start_cost = firm.mac.total_cost(values[0])
    jump = values[0] - _abatement_below(firm, Fraction(0), points)
    return _Pieces((_pair(values[0]), _pair(slopes[0]), _pair(start_cost)), jump, events)


def _firm_breakpoints(firm: Firm) -> tuple[Fraction, ...]:
    """Return the prices where a firm's abatement may bend or jump, its baseline's included."""
    raw = firm.mac.price_breakpoints()
    assert raw is not None, "SystemYear refuses curves without breakpoints"
    full = firm.mac.marginal_cost(firm.max_abatement_t)
    return tuple(sorted({Fraction(p) for p in raw} | {full}))


def _abatement_below(firm: Firm, price: Fraction, points: Sequence[Fraction]) -> Fraction:
    """Return a firm's abatement just below `price`, affine there between its breakpoints."""
    i = bisect.bisect_left(points, price)
    low = points[i - 1] if i > 0 else price - 1
    middle = (low + price) / 2
    at_low = firm.abatement_at_price(low)
    return at_low + 2 * (firm.abatement_at_price(middle) - at_low)


def _common_denominator(values: Iterable[Fraction]) -> int:
    return math.lcm(1, *(v.denominator for v in values))


def _exact_sum(values: Iterable[Fraction]) -> Fraction:
    """Sum over one common denominator: one normalisation instead of one per term."""
    terms = [Fraction(v) for v in values]
    denominator = _common_denominator(terms)
    return Fraction(sum(t.numerator * (denominator // t.denominator) for t in terms), denominator)


# --- the network as the solver sees it -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Node:
    curve: _Curve
    value: Fraction  # κ: present-value common minor units per local minor unit
    holdout_minor: Fraction  # local price at which units may be held out without limit
    ceiling_minor: Fraction | None  # local price of an unlimited supply

    def need(self, price: Fraction, left: bool) -> Fraction | None:
        """Return net demand at `price` before (left) or after the steps there; None: unlimited."""
        if left:
            if price == self.holdout_minor:
                return None
            return self.curve.need_t - self.curve.cover(price, left=True)
        if price == self.ceiling_minor:
            return None
        return self.curve.need_t - self.curve.cover(price)


@dataclass(frozen=True, slots=True)
class _Edge:
    """x ≥ 0 units leave `tail` and `rate`·x arrive at `head`; a bank is a rate-1 edge, no cap."""

    tail: int
    head: int
    rate: Fraction
    cap_t: int | None
    route_index: int | None  # None: a banking edge


@dataclass(frozen=True, slots=True)
class _Graph:
    nodes: tuple[_Node, ...]
    edges: tuple[_Edge, ...]
    incident: tuple[tuple[int, ...], ...]  # per node: the edges touching it
    problem_nodes: tuple[SystemYear, ...]


def _graph(problem: NetworkProblem) -> _Graph:
    first = min(n.year for n in problem.nodes)
    growth = 1 + problem.interest_rate
    index = {(n.system_id, n.year): i for i, n in enumerate(problem.nodes)}
    years_of: dict[str, list[int]] = {}
    for n in problem.nodes:
        years_of.setdefault(n.system_id, []).append(n.year)
    nodes = tuple(
        _Node(
            curve=_curve(n.firms, n.supply),
            value=n.rate_to_common / growth ** (n.year - first),
            holdout_minor=_holdout_minor(problem, n, growth, max(years_of[n.system_id])),
            ceiling_minor=_ceiling_minor(n),
        )
        for n in problem.nodes
    )
    edges = [
        _Edge(index[(r.from_system, r.year)], index[(r.to_system, r.year)], r.rate, r.cap_t, i)
        for i, r in enumerate(problem.routes)
    ]
    for system_id in sorted(problem.banking):
        years = sorted(years_of[system_id])
        for year, following in itertools.pairwise(years):
            edges.append(
                _Edge(
                    index[(system_id, year)], index[(system_id, following)], Fraction(1), None, None
                )
            )
    incident: list[list[int]] = [[] for _ in nodes]
    for e, edge in enumerate(edges):
        incident[edge.tail].append(e)
        incident[edge.head].append(e)
    return _Graph(nodes, tuple(edges), tuple(tuple(i) for i in incident), problem.nodes)


# --- settling the edges ----------------------------------------------------------------------


class _Tie(IntEnum):
    ZERO = 0  # nothing moves: the tail values a unit at least as much as the head
    TIGHT = 1  # prices tied, P_tail = rate·P_head: the flow may lie anywhere in [0, cap]
    CAP = 2  # the cap moves: the head values the units more


@dataclass(frozen=True, slots=True)
class _Component:
    """A tree of TIGHT edges: P_n = weight[n]·λ, with λ the root's local price."""

    nodes: tuple[int, ...]
    weight: Mapping[int, Fraction]
    tight: tuple[int, ...]
    parent: Mapping[int, tuple[int, int]]  # node → (edge, parent node)
    depth: Mapping[int, int]


@dataclass(frozen=True, slots=True)
class _Market:
    """A component as its level search sees it: local price p_n = scale_n·λ."""

    nodes: tuple[_Node, ...]
    weight: tuple[Fraction, ...]
    scale: tuple[Fraction, ...]
    fixed_t: tuple[Fraction, ...]  # net inflow from ZERO and CAP edges, tonnes
    weight_f: tuple[float, ...]
    scale_f: tuple[float, ...]
    fixed_f: tuple[float, ...]

    def excess(self, level: Fraction, left: bool) -> Fraction | None:
        """Return Σ weight·(net demand − fixed inflow) at λ; None: unlimited that way."""
        terms = []
        for node, weight, scale, fixed in zip(
            self.nodes, self.weight, self.scale, self.fixed_t, strict=True
        ):
            need = node.need(scale * level, left)
            if need is None:
                return None
            terms.append(weight * (need - fixed))
        return _exact_sum(terms)

    def excess_f(self, level: float) -> float:
        return sum(
            w * (node.curve.need_t - node.curve.cover_f(s * level) - f)
            for node, w, s, f in zip(
                self.nodes, self.weight_f, self.scale_f, self.fixed_f, strict=True
            )
        )

    def breakpoint_at_or_below(self, level: Fraction) -> Fraction:
        return max(
            n.curve.price(n.curve.piece(s * level)) / s
            for n, s in zip(self.nodes, self.scale, strict=True)
        )

    def breakpoint_below(self, level: Fraction) -> Fraction | None:
        below = []
        for node, scale in zip(self.nodes, self.scale, strict=True):
            j = node.curve.piece(scale * level)
            if node.curve.price(j) == scale * level:
                j -= 1
            if j >= 0:
                below.append(node.curve.price(j) / scale)
        return max(below, default=None)

    def breakpoint_above(self, level: Fraction) -> Fraction | None:
        above = []
        for node, scale in zip(self.nodes, self.scale, strict=True):
            j = node.curve.piece(scale * level) + 1
            if j < node.curve.pieces:
                above.append(node.curve.price(j) / scale)
        return min(above, default=None)


_Price = tuple[int, Fraction]  # (tier, value): tier 1 counts in multiples of M, beyond any curve


@dataclass(frozen=True, slots=True)
class _Level:
    """A component's price level λ, P_n = weight_n·λ, in one of two tiers.

    Tier 0: a finite λ. Tier 1: no finite price meets the component's needs, so an artificial
    unlimited supply that every node has at a present-value price M beyond any curve sets it:
    λ = M / max weight, recorded as its coefficient of M. Comparing (tier, value) pairs keeps
    the relative prices of short components meaningful (an exact penalty method); the
    problem is infeasible if any component is short once nothing moves.
    """

    tier: int
    level: Fraction
    unbounded: bool = False  # an unlimited supply reaches a dearer hold-out: no level

    def price(self, weight: Fraction) -> _Price:
        return (self.tier, weight * self.level)


@dataclass(frozen=True, slots=True)
class _Balanced:
    flow_t: Mapping[int, Fraction]  # TIGHT edge → units moved
    demand_t: Mapping[int, Fraction]  # node → net demand met, tonnes


@dataclass(frozen=True, slots=True)
class _Solved:
    """A component with its level and, when finite and tied, its flows or its rising side."""

    component: _Component
    market: _Market
    level: _Level
    balance: _Balanced | frozenset[int] | None


@dataclass(frozen=True, slots=True)
class _Settled:
    price_minor: tuple[Fraction, ...]  # local, per node
    demand_t: tuple[Fraction, ...]  # net demand met, per node
    flow_t: tuple[Fraction, ...]  # per edge


def _settle(graph: _Graph) -> _Settled:
    """Pivot edges between ZERO, TIGHT and CAP until every optimality condition holds."""
    ties = [_Tie.ZERO] * len(graph.edges)
    seen: set[tuple[_Tie, ...]] = set()
    levels: dict[tuple[object, ...], _Level] = {}
    balances: dict[tuple[object, ...], _Balanced | frozenset[int]] = {}
    budget = PIVOTS_BASE + PIVOTS_PER_ELEMENT * (len(graph.edges) + len(graph.nodes))
    for _ in range(budget):
        state = tuple(ties)
        assert state not in seen, "the network equilibrium cycles between edge states"
        seen.add(state)
        fixed = _fixed_inflows(graph, ties)
        solved = [_solve(graph, c, fixed, levels, balances) for c in _components(graph, ties)]
        if (
            _cut_arbitrage(graph, ties, solved)
            or _split(graph, ties, solved)
            or _merge_worst_violation(graph, ties, solved)
        ):
            continue
        return _settled(graph, ties, solved)
    raise AssertionError(f"the network equilibrium did not settle within {budget} pivots")


def _solve(
    graph: _Graph,
    component: _Component,
    fixed: Sequence[Fraction],
    levels: dict[tuple[object, ...], _Level],
    balances: dict[tuple[object, ...], _Balanced | frozenset[int]],
) -> _Solved:
    """Solve a component's level and flows, reusing them while its tree and inflows stay."""
    key = (component.nodes, component.tight, tuple(fixed[n] for n in component.nodes))
    market = _market(graph, component, fixed)
    if key not in levels:
        levels[key] = _level(market)
    level = levels[key]
    if level.unbounded or not component.tight:
        return _Solved(component, market, level, None)
    if key not in balances:
        balances[key] = _balance(graph, component, market, level)
    return _Solved(component, market, levels[key], balances[key])


def _fixed_inflows(graph: _Graph, ties: Sequence[_Tie]) -> list[Fraction]:
    fixed = [Fraction(0)] * len(graph.nodes)
    for e, edge in enumerate(graph.edges):
        if ties[e] is _Tie.CAP:
            assert edge.cap_t is not None, "only a capped edge can sit at its cap"
            fixed[edge.tail] -= edge.cap_t
            fixed[edge.head] += edge.rate * edge.cap_t
    return fixed


def _components(graph: _Graph, ties: Sequence[_Tie]) -> list[_Component]:
    seen = [False] * len(graph.nodes)
    components = []
    for root in range(len(graph.nodes)):
        if seen[root]:
            continue
        seen[root] = True
        weight = {root: graph.nodes[root].value}
        parent: dict[int, tuple[int, int]] = {}
        depth = {root: 0}
        queue = deque([root])
        while queue:
            x = queue.popleft()
            for e in graph.incident[x]:
                edge = graph.edges[e]
                y = edge.head if edge.tail == x else edge.tail
                if ties[e] is not _Tie.TIGHT or (x in parent and parent[x][0] == e):
                    continue
                assert not seen[y], "TIGHT edges must form a forest"
                seen[y] = True
                # P_tail = rate·P_head on a TIGHT edge.
                weight[y] = weight[x] / edge.rate if edge.tail == x else weight[x] * edge.rate
                parent[y] = (e, x)
                depth[y] = depth[x] + 1
                queue.append(y)
        tight = tuple(sorted(e for e, _ in parent.values()))
        components.append(_Component(tuple(sorted(weight)), weight, tight, parent, depth))
    return components


def _market(graph: _Graph, component: _Component, fixed: Sequence[Fraction]) -> _Market:
    nodes = tuple(graph.nodes[n] for n in component.nodes)
    weight = tuple(component.weight[n] for n in component.nodes)
    scale = tuple(w / node.value for w, node in zip(weight, nodes, strict=True))
    fixed_t = tuple(fixed[n] for n in component.nodes)
    return _Market(
        nodes,
        weight,
        scale,
        fixed_t,
        tuple(float(w) for w in weight),
        tuple(float(s) for s in scale),
        tuple(float(f) for f in fixed_t),
    )


# --- one component's price level -------------------------------------------------------------


def _level(market: _Market) -> _Level:
    """Return the lowest λ at which the component's value-weighted excess demand reaches 0."""
    pairs = list(zip(market.nodes, market.scale, strict=True))
    floor = max(node.holdout_minor / scale for node, scale in pairs)
    ceiling = min(
        (node.ceiling_minor / scale for node, scale in pairs if node.ceiling_minor is not None),
        default=None,
    )
    if ceiling is not None and floor > ceiling:
        return _Level(0, Fraction(0), unbounded=True)
    at_floor = market.excess(floor, left=False)
    if at_floor is None or at_floor <= 0:
        return _Level(0, floor)
    if ceiling is None:
        # Past every breakpoint the excess stays constant: positive there, no price will do.
        top = max(node.curve.price(node.curve.pieces - 1) / scale for node, scale in pairs)
        at_top = market.excess(top, left=False) if top > floor else at_floor
        assert at_top is not None, "no ceiling, so no unlimited supply"
        if at_top > 0:
            return _Level(1, 1 / max(market.weight))
        ceiling = top
    guess = _float_crossing(market, floor, ceiling)
    return _Level(0, _exact_crossing(market, floor, ceiling, guess))


def _float_crossing(market: _Market, low: Fraction, high: Fraction) -> float:
    low_f, high_f = float(low), float(high)
    for _ in range(FLOAT_BISECTION_STEPS):
        middle = (low_f + high_f) / 2
        if not low_f < middle < high_f:
            break
        if market.excess_f(middle) > 0:
            low_f = middle
        else:
            high_f = middle
    return high_f


def _exact_crossing(market: _Market, floor: Fraction, high: Fraction, guess: float) -> Fraction:
    """Return the lowest λ in (floor, high] with excess ≤ 0 after its steps.

    The caller guarantees excess > 0 at the floor and ≤ 0 at `high`. Between two consecutive
    breakpoints the excess is affine, so the crossing is a breakpoint or one division.
    """
    x = min(max(Fraction(guess), floor), high)
    low = max(floor, market.breakpoint_at_or_below(x))
    if low == high:
        low = _below(market, floor, high)
    found = _walk(market, floor, high, low, _above(market, high, low))
    if found is not None:
        return found
    # The float guide erred by many breakpoints: search the merged breakpoints exactly.
    points = sorted(
        {
            p / s
            for node, s in zip(market.nodes, market.scale, strict=True)
            for p in map(node.curve.price, range(node.curve.pieces))
            if floor < p / s < high
        }
    )
    i = bisect.bisect_left(
        points, True, key=lambda lam: _at_most_zero(market.excess(lam, left=False))
    )
    low = points[i - 1] if i > 0 else floor
    up = points[i] if i < len(points) else high
    found = _walk(market, floor, high, low, up)
    assert found is not None, "two neighbouring breakpoints bracket the crossing"
    return found


def _at_most_zero(value: Fraction | None) -> bool:
    return value is None or value <= 0


def _walk(
    market: _Market, floor: Fraction, high: Fraction, low: Fraction, up: Fraction
) -> Fraction | None:
    """Walk neighbouring breakpoints [low, up] towards the crossing; None: too far from it."""
    for _ in range(CROSSING_STEPS_MAX):
        right = market.excess(low, left=False)
        assert right is not None, "below `high` no unlimited supply is reached"
        if right <= 0:
            assert low > floor, "the excess is positive at the floor"
            before = market.excess(low, left=True)
            assert before is not None, "above the floor no node holds units out"
            if before > 0:
                return low
            up, low = low, _below(market, floor, low)
            continue
        before_up = market.excess(up, left=True)
        assert before_up is not None, "above the floor no node holds units out"
        if before_up <= 0:
            return low + right * (up - low) / (right - before_up)
        if up == high or _at_most_zero(market.excess(up, left=False)):
            return up
        low, up = up, _above(market, high, up)
    return None


def _below(market: _Market, floor: Fraction, level: Fraction) -> Fraction:
    """Return the breakpoint before `level`, or the floor if that comes first."""
    below = market.breakpoint_below(level)
    return floor if below is None else max(floor, below)


def _above(market: _Market, high: Fraction, level: Fraction) -> Fraction:
    """Return the breakpoint after `level`, or `high` if that comes first."""
    above = market.breakpoint_above(level)
    return high if above is None else min(high, above)


# --- one component's flows ---------------------------------------------------------------------


def _balance(
    graph: _Graph, component: _Component, market: _Market, level: _Level
) -> _Balanced | frozenset[int]:
    """Return flows on the tree that balance every node at its level, or the nodes that must rise.

    In value units (π_n per tonne at node n) a TIGHT edge conserves value, so balancing is a
    plain feasible-flow problem: node n's net inflow lies in π_n·[low, high] (its steps at
    its price) and each edge carries at most π_tail·cap. A maximum flow decides it; when it
    falls short, the nodes the source cannot reach cannot get (or shed) enough and rise.
    """
    local = {n: i for i, n in enumerate(component.nodes)}
    lows, highs = _value_bounds(market, level)
    size = len(component.nodes)
    hub, source, sink = size, size + 1, size + 2
    supply = sum((-low for low in lows if low < 0), Fraction(0))
    arcs: list[tuple[int, int, Fraction]] = []
    for e in component.tight:
        edge = graph.edges[e]
        carried = supply + 1 if edge.cap_t is None else component.weight[edge.tail] * edge.cap_t
        arcs.append((local[edge.tail], local[edge.head], carried))
    hub_arcs = []
    for i in range(size):
        hub_arcs.append(len(arcs))
        arcs.append((i, hub, highs[i] - lows[i]))
        if lows[i] < 0:
            arcs.append((source, i, -lows[i]))
        elif lows[i] > 0:
            arcs.append((i, sink, lows[i]))
    assert sum(lows) <= 0, "the level makes the value-weighted needs at most the means"
    arcs.append((hub, sink, -sum(lows, Fraction(0))))
    # Integers over one denominator: the flow's additions and comparisons take no gcd.
    unit = _common_denominator(c for _, _, c in arcs)
    whole = [(t, h, c.numerator * (unit // c.denominator)) for t, h, c in arcs]
    scaled, reached = _max_flow(size + 3, whole, source, sink)
    flows = [Fraction(f, unit) for f in scaled]
    pushed = sum(f for f, (tail, _, _) in zip(scaled, whole, strict=True) if tail == source)
    if pushed < supply * unit:
        rising = frozenset(n for n in component.nodes if local[n] not in reached)
        assert rising and len(rising) < size, "a short flow leaves a proper subset short"
        return rising
    flow_t = {
        e: flows[k] / component.weight[graph.edges[e].tail] for k, e in enumerate(component.tight)
    }
    demand_t = {
        n: (lows[i] + flows[hub_arcs[i]]) / component.weight[n] + market.fixed_t[i]
        for i, n in enumerate(component.nodes)
    }
    return _Balanced(flow_t, demand_t)


def _value_bounds(market: _Market, level: _Level) -> tuple[list[Fraction], list[Fraction]]:
    """Return each node's net inflow range from TIGHT edges in value units, unlimited ends clamped.

    In tier 1 every curve is spent and only the heaviest nodes' artificial supply (at M) is
    reached. A balanced flow that exists within unlimited bounds exists within
    ±(1 + Σ finite bounds): a path carrying more between two unlimited ends can be cut back.
    """
    lows: list[Fraction | None] = []
    highs: list[Fraction | None] = []
    heaviest = max(market.weight)
    for node, weight, scale, fixed in zip(
        market.nodes, market.weight, market.scale, market.fixed_t, strict=True
    ):
        low: Fraction | None
        high: Fraction | None
        if level.tier == 1:
            curve = node.curve
            high = curve.need_t - curve.cover(curve.price(curve.pieces - 1))
            low = None if weight == heaviest else high
        else:
            price = scale * level.level
            low, high = node.need(price, left=False), node.need(price, left=True)
        lows.append(None if low is None else weight * (low - fixed))
        highs.append(None if high is None else weight * (high - fixed))
    bound = 1 + sum((abs(v) for v in itertools.chain(lows, highs) if v is not None), Fraction(0))
    return (
        [-bound if v is None else v for v in lows],
        [bound if v is None else v for v in highs],
    )


def _max_flow(
    size: int, arcs: Sequence[tuple[int, int, int]], source: int, sink: int
) -> tuple[list[int], set[int]]:
    """Return each arc's flow in a maximum flow and the nodes the source still reaches.

    Edmonds–Karp (shortest augmenting paths) ends after O(V·E) augmentations whatever the
    capacities, and on integers; shortest paths also keep flows local.
    """
    head: list[int] = []
    residual: list[int] = []
    out: list[list[int]] = [[] for _ in range(size)]
    for tail, to, capacity in arcs:
        out[tail].append(len(head))
        head.append(to)
        residual.append(capacity)
        out[to].append(len(head))
        head.append(tail)
        residual.append(0)
    for _ in range(size * len(arcs) + 1):
        via = {source: -1}
        queue = deque([source])
        while queue and sink not in via:
            x = queue.popleft()
            for a in out[x]:
                if residual[a] > 0 and head[a] not in via:
                    via[head[a]] = a
                    queue.append(head[a])
        if sink not in via:
            return [residual[2 * k + 1] for k in range(len(arcs))], set(via)
        path = []
        x = sink
        while x != source:
            path.append(via[x])
            x = head[via[x] ^ 1]
        push = min(residual[a] for a in path)
        for a in path:
            residual[a] -= push
            residual[a ^ 1] += push
    raise AssertionError("Edmonds–Karp exceeded its O(V·E) augmentations")


# --- pivots ------------------------------------------------------------------------------------


def _cut_arbitrage(graph: _Graph, ties: list[_Tie], solved: Sequence[_Solved]) -> bool:
    """Break a tree in which an unlimited supply can reach a dearer hold-out; False if none does.

    Along the tree path from the cheapest unlimited supply to the dearest hold-out (in λ) a
    capped edge crossed forward goes to CAP, else an edge crossed backward to ZERO. Raise
    ValueError when the path runs forward through uncapped edges only: the arbitrage is
    unbounded.
    """
    for s in solved:
        if not s.level.unbounded:
            continue
        market, nodes = s.market, s.component.nodes
        sells = [
            (node.ceiling_minor / scale, i)
            for i, (node, scale) in enumerate(zip(market.nodes, market.scale, strict=True))
            if node.ceiling_minor is not None
        ]
        holds = [
            (node.holdout_minor / scale, i)
            for i, (node, scale) in enumerate(zip(market.nodes, market.scale, strict=True))
        ]
        seller, holder = nodes[min(sells)[1]], nodes[max(holds)[1]]
        path = _tree_path(graph, s.component, seller, holder)
        for e, forward in path:
            if forward and graph.edges[e].cap_t is not None:
                ties[e] = _Tie.CAP
                return True
        for e, forward in path:
            if not forward:
                ties[e] = _Tie.ZERO
                return True
        raise ValueError(
            f"unbounded arbitrage: unlimited supply in {graph.problem_nodes[seller].label} "
            f"reaches {graph.problem_nodes[holder].label}, where a unit held out is worth more, "
            "through uncapped routes and banks; cap a route or lower the terminal price"
        )
    return False


def _split(graph: _Graph, ties: list[_Tie], solved: Sequence[_Solved]) -> bool:
    """Split each tree whose flows cannot balance: edges into the rising side go to CAP."""
    split = False
    for s in solved:
        outcome = s.balance
        if not isinstance(outcome, frozenset):
            continue
        split = True
        for e in s.component.tight:
            edge = graph.edges[e]
            if edge.head in outcome and edge.tail not in outcome:
                assert edge.cap_t is not None, "an uncapped edge would have carried enough"
                ties[e] = _Tie.CAP
            elif edge.tail in outcome and edge.head not in outcome:
                ties[e] = _Tie.ZERO
    return split


def _merge_worst_violation(graph: _Graph, ties: list[_Tie], solved: Sequence[_Solved]) -> bool:
    """Make TIGHT the ZERO or CAP edge whose prices violate its condition the most."""
    price: dict[int, _Price] = {}
    tree_of: dict[int, _Solved] = {}
    for s in solved:
        for n in s.component.nodes:
            tree_of[n] = s
            price[n] = s.level.price(s.component.weight[n])
    worst: tuple[tuple[int, Fraction], int] | None = None
    for e, edge in enumerate(graph.edges):
        if ties[e] is _Tie.TIGHT:
            continue
        severity = _violation(ties[e], price[edge.tail], edge.rate, price[edge.head])
        if severity is not None and (worst is None or severity > worst[0]):
            worst = (severity, e)
    if worst is None:
        return False
    e = worst[1]
    edge = graph.edges[e]
    if tree_of[edge.tail] is not tree_of[edge.head]:
        ties[e] = _Tie.TIGHT
    else:
        tree = tree_of[edge.tail]
        assert isinstance(tree.balance, _Balanced), "a finite tree is balanced before merging"
        _break_cycle(graph, ties, tree.component, tree.balance.flow_t, e)
    return True


def _violation(tie: _Tie, tail: _Price, rate: Fraction, head: _Price) -> _Price | None:
    """Return how far a ZERO or CAP edge's prices are from its condition (None: it holds).

    The severity is the ratio of the values a unit would gain by moving, in tier 1 when it
    is unbounded (across tiers, or from a price of 0).
    """
    if tie is _Tie.ZERO:  # needs P_tail ≥ rate·P_head
        low, high = tail, (head[0], rate * head[1])
    else:  # CAP needs P_tail ≤ rate·P_head
        low, high = (head[0], rate * head[1]), tail
    if low >= high:
        return None
    if low[0] != high[0] or low[1] == 0:
        return (1, Fraction(0))
    return (0, high[1] / low[1])


def _break_cycle(
    graph: _Graph, ties: list[_Tie], component: _Component, flow_t: Mapping[int, Fraction], e: int
) -> None:
    """Admit edge e inside its own tree: push value round the cycle it closes (a ratio test).

    Round the cycle in the direction that gains (e forward if it sat at ZERO, backward if at
    CAP) the tree edges conserve value, so each carries the same change δ in value units:
    edges crossed backward lose it, capped edges crossed forward fill up. The first edge to
    empty or fill leaves the tree (to ZERO or CAP) and e enters; if e itself binds first it
    moves to its other bound instead. A ZERO edge forward always meets an edge crossed
    backward, else the routes would form a value-creating round trip, refused on input.
    """
    edge = graph.edges[e]
    forward = ties[e] is _Tie.ZERO
    start, end = (edge.tail, edge.head) if forward else (edge.head, edge.tail)
    # e moves y units; δ = rate·y·π_head either way (what the head gains or loses).
    limits: list[tuple[Fraction, int, _Tie]] = []
    if edge.cap_t is not None:
        limits.append((edge.cap_t * edge.rate * component.weight[edge.head], e, _Tie.TIGHT))
    for pe, crossed_forward in _tree_path(graph, component, end, start):
        path_edge = graph.edges[pe]
        value = component.weight[path_edge.tail]
        if not crossed_forward:
            limits.append((value * flow_t[pe], pe, _Tie.ZERO))
        elif path_edge.cap_t is not None:
            limits.append((value * (path_edge.cap_t - flow_t[pe]), pe, _Tie.CAP))
    assert limits, "a gaining cycle of uncapped forward edges was refused on input"
    _, leaving, bound = min(limits, key=lambda limit: limit[0])
    if leaving == e:
        ties[e] = _Tie.CAP if forward else _Tie.ZERO
        return
    ties[leaving] = bound
    ties[e] = _Tie.TIGHT


def _tree_path(
    graph: _Graph, component: _Component, start: int, end: int
) -> list[tuple[int, bool]]:
    """Return the tree's edges from `start` to `end`, each with whether it is crossed forward."""
    up_from_start: list[tuple[int, bool]] = []
    up_from_end: list[tuple[int, bool]] = []
    a, b = start, end
    while a != b:
        if component.depth[a] >= component.depth[b]:
            e, a_parent = component.parent[a]
            up_from_start.append((e, graph.edges[e].tail == a))
            a = a_parent
        else:
            e, b_parent = component.parent[b]
            up_from_end.append((e, graph.edges[e].tail == b_parent))
            b = b_parent
    return up_from_start + up_from_end[::-1]


def _settled(graph: _Graph, ties: Sequence[_Tie], solved: Sequence[_Solved]) -> _Settled:
    short = [s for s in solved if s.level.tier == 1]
    if short:
        raise _shortage(graph, short[0])
    price: list[Fraction] = [Fraction(0)] * len(graph.nodes)
    demand: list[Fraction] = [Fraction(0)] * len(graph.nodes)
    flow: list[Fraction] = [Fraction(0)] * len(graph.edges)
    for e, edge in enumerate(graph.edges):
        if ties[e] is _Tie.CAP:
            assert edge.cap_t is not None
            flow[e] = Fraction(edge.cap_t)
    for s in solved:
        level, outcome = s.level.level, s.balance
        assert not isinstance(outcome, frozenset)
        for i, n in enumerate(s.component.nodes):
            price[n] = s.market.scale[i] * level
            demand[n] = s.market.fixed_t[i] if outcome is None else outcome.demand_t[n]
        if outcome is not None:
            for e, units in outcome.flow_t.items():
                flow[e] = units
    return _Settled(tuple(price), tuple(demand), tuple(flow))


def _shortage(graph: _Graph, solved: _Solved) -> InfeasibleNetworkError:
    """Name the nodes no price can serve, with their figures summed in their own tonnes."""
    available: list[Fraction] = []
    least: list[Fraction] = []
    for n, fixed in zip(solved.component.nodes, solved.market.fixed_t, strict=True):
        node = graph.problem_nodes[n]
        finite = sum(s.quantity_t for s in node.supply if s.quantity_t is not None)
        available.append(sum(f.allocation_t for f in node.firms) + finite + fixed)
        least.extend(f.baseline_t - f.max_abatement_t for f in node.firms)
    labels = [graph.problem_nodes[n].label for n in solved.component.nodes]
    return InfeasibleNetworkError(labels, _exact_sum(available), _exact_sum(least))


# --- the result ----------------------------------------------------------------------------------


class _FirmDetail:
    """Each firm's outcome at its node's price: derived on first read, then kept.

    Steps priced exactly at the node's price (flat MACs, supply at its reserve) take the
    same `share` of their width, as `competitive_equilibrium` shares them pro rata. When all
    outcomes are derived they are checked against the node's totals, which came from the
    aggregate curve: a pair of assertions on one quantity, where written and where read.
    """

    __slots__ = (
        "_abatement_t",
        "_cost_minor",
        "_firms",
        "_index",
        "_outcomes",
        "_price",
        "_share",
        "label",
    )

    def __init__(
        self,
        label: str,
        firms: tuple[Firm, ...],
        price: Fraction,
        share: Fraction,
        abatement_t: Fraction,
        cost_minor: Fraction,
    ) -> None:
        assert 0 <= share <= 1, f"{label}: a step's share lies in [0, 1], was {share}"
        self.label = label
        self._firms, self._price, self._share = firms, price, share
        self._abatement_t, self._cost_minor = abatement_t, cost_minor
        self._outcomes: tuple[FirmOutcome, ...] | None = None
        self._index: dict[str, int] | None = None

    def outcomes(self) -> tuple[FirmOutcome, ...]:
        if self._outcomes is None:
            outcomes = tuple(self._derive(firm) for firm in self._firms)
            abated = _exact_sum(o.abatement_t for o in outcomes)
            cost = _exact_sum(o.abatement_cost_minor for o in outcomes)
            assert abated == self._abatement_t, f"{self.label}: firms abate {abated} t ≠ node total"
            assert cost == self._cost_minor, f"{self.label}: firms pay {cost} ≠ node total"
            self._outcomes = outcomes
        return self._outcomes

    def outcome(self, firm_id: str) -> FirmOutcome:
        if self._outcomes is not None or len(self._firms) <= 1:
            for outcome in self.outcomes():
                if outcome.firm_id == firm_id:
                    return outcome
        else:
            if self._index is None:
                self._index = {f.firm_id: i for i, f in enumerate(self._firms)}
            if firm_id in self._index:
                return self._derive(self._firms[self._index[firm_id]])
        raise KeyError(f"no firm {firm_id!r} in {self.label}")

    def _derive(self, firm: Firm) -> FirmOutcome:
        abatement = firm.abatement_at_price(self._price)
        if self._share != 1 and type(firm.mac) is not LinearMac:  # a linear MAC never jumps
            below = _abatement_below(firm, self._price, _firm_breakpoints(firm))
            abatement = below + (abatement - below) * self._share
        return FirmOutcome(
            firm_id=firm.firm_id,
            abatement_t=abatement,
            net_purchase_t=firm.baseline_t - abatement - firm.allocation_t,
            abatement_cost_minor=firm.mac.total_cost(abatement),
        )


@dataclass(frozen=True, slots=True)
class _Cover:
    """How a node meets its net demand: steps' share, supply sold, units held out, totals."""

    share: Fraction  # of the width of the steps priced exactly at the node's price
    supply_sold_t: tuple[Fraction, ...]
    held_t: Fraction  # left unused at price 0, or banked out of the horizon
    abatement_t: Fraction
    cost_minor: Fraction


def _cover(node: SystemYear, solver_node: _Node, price: Fraction, demand_t: Fraction) -> _Cover:
    """Split a node's net demand between abatement, supply and what it holds out.

    Within [low, high] (its need after and before the steps priced at its price) the steps
    take a common share of their width. At its hold-out price a tonne held out is worth
    what a step costs, so the steps are taken in full, as `competitive_equilibrium` does at
    price 0, and the rest is held out. Below the low need unlimited supply sells.
    """
    curve = solver_node.curve
    right, left = curve.cover(price), curve.cover(price, left=True)
    high, low, room = curve.need_t - left, curve.need_t - right, right - left
    held = unlimited = Fraction(0)
    if price == solver_node.holdout_minor and demand_t >= low:
        held, used = demand_t - low, room
    elif low <= demand_t <= high:
        used = high - demand_t
    else:
        assert demand_t < low and price == solver_node.ceiling_minor, "only a ceiling covers more"
        used, unlimited = room, low - demand_t
    share = used / room if room else Fraction(1)
    sold = _supply_sold(node.supply, price, share, unlimited)
    finite_sold = sum(
        (v for s, v in zip(node.supply, sold, strict=True) if s.quantity_t is not None),
        Fraction(0),
    )
    cost_left = curve.firm_cost(price, left=True)
    cost = cost_left + (curve.firm_cost(price) - cost_left) * share
    return _Cover(share, sold, held, left + used - finite_sold, cost)


def _supply_sold(
    supply: Sequence[Supply], price: Fraction, share: Fraction, unlimited: Fraction
) -> tuple[Fraction, ...]:
    sold = []
    for step in supply:
        if step.quantity_t is None:
            # The first unlimited step at the price sells what is needed; none other sells.
            amount = unlimited if step.price_minor == price else Fraction(0)
            unlimited -= amount
        elif step.price_minor < price:
            amount = Fraction(step.quantity_t)
        elif step.price_minor == price:
            amount = step.quantity_t * share
        else:
            amount = Fraction(0)
        sold.append(amount)
    assert unlimited == 0, "an unlimited step at the price takes the shortfall"
    return tuple(sold)


def _equilibrium(problem: NetworkProblem, graph: _Graph, settled: _Settled) -> NetworkEquilibrium:
    covers = [
        _cover(node, graph.nodes[i], settled.price_minor[i], settled.demand_t[i])
        for i, node in enumerate(problem.nodes)
    ]
    banks = _banks(problem, graph, settled, covers)
    imports = [Fraction(0)] * len(problem.nodes)
    routes = []
    for e, edge in enumerate(graph.edges):
        if edge.route_index is None:
            continue
        units = settled.flow_t[e]
        imports[edge.tail] -= units
        imports[edge.head] += edge.rate * units
        route = problem.routes[edge.route_index]
        routes.append(
            RouteFlow(
                route, units, edge.rate * units, route.cap_t is not None and units == route.cap_t
            )
        )
    outcomes = tuple(
        _node_outcome(node, graph.nodes[i], settled.price_minor[i], covers[i], imports[i], banks[i])
        for i, node in enumerate(problem.nodes)
    )
    return NetworkEquilibrium(
        nodes=outcomes,
        routes=tuple(routes),
        abatement_cost_common_minor=_exact_sum(
            o.abatement_cost_minor * n.rate_to_common
            for o, n in zip(outcomes, problem.nodes, strict=True)
        ),
        abatement_cost_pv_minor=_exact_sum(
            o.abatement_cost_minor * g.value for o, g in zip(outcomes, graph.nodes, strict=True)
        ),
        compliance_cost_pv_minor=_compliance_cost(problem, graph, outcomes),
    )


def _banks(
    problem: NetworkProblem, graph: _Graph, settled: _Settled, covers: Sequence[_Cover]
) -> list[tuple[Fraction, Fraction, Fraction]]:
    """Return (bank in, bank out, unused) per node.

    A banking system holds out only at its last year's hold-out price, or at price 0 in an
    earlier year, when every later year is at price 0 too: there banking the leftovers is
    as good as leaving them, so they are banked, and show as banked out of the horizon.
    """
    result = [(Fraction(0), Fraction(0), c.held_t) for c in covers]
    carried_in = [Fraction(0)] * len(problem.nodes)
    for e, edge in enumerate(graph.edges):
        if edge.route_index is None:
            carried_in[edge.head] = settled.flow_t[e]
    by_system: dict[str, list[int]] = {}
    for i, node in enumerate(problem.nodes):
        if node.system_id in problem.banking:
            by_system.setdefault(node.system_id, []).append(i)
    for indices in by_system.values():
        chain = sorted(indices, key=lambda i: problem.nodes[i].year)
        pushed = Fraction(0)
        for k, i in enumerate(chain):
            bank_in = carried_in[i] + pushed
            pushed += covers[i].held_t
            following = chain[k + 1] if k + 1 < len(chain) else None
            out = pushed + (carried_in[following] if following is not None else 0)
            result[i] = (bank_in, out, Fraction(0))
    return result


def _node_outcome(
    node: SystemYear,
    solver_node: _Node,
    price: Fraction,
    cover: _Cover,
    net_import_t: Fraction,
    bank: tuple[Fraction, Fraction, Fraction],
) -> NodeOutcome:
    return NodeOutcome(
        system_id=node.system_id,
        year=node.year,
        price_minor=price,
        price_common_minor=price * node.rate_to_common,
        price_pv_minor=price * solver_node.value,
        status=_status(node, price, cover),
        abatement_t=cover.abatement_t,
        emissions_t=sum(f.baseline_t for f in node.firms) - cover.abatement_t,
        allocation_t=sum(f.allocation_t for f in node.firms),
        supply_sold_t=_exact_sum(cover.supply_sold_t),
        supply_sold_by_step_t=cover.supply_sold_t,
        net_import_t=net_import_t,
        bank_in_t=bank[0],
        bank_t=bank[1],
        unused_t=bank[2],
        abatement_cost_minor=cover.cost_minor,
        detail=_FirmDetail(
            node.label, node.firms, price, cover.share, cover.abatement_t, cover.cost_minor
        ),
    )


def _status(node: SystemYear, price: Fraction, cover: _Cover) -> EquilibriumStatus:
    if price == _ceiling_minor(node):
        return EquilibriumStatus.CEILING
    if price == 0:
        return EquilibriumStatus.SLACK
    for step, sold in zip(node.supply, cover.supply_sold_t, strict=True):
        if step.quantity_t is not None and step.price_minor == price and sold < step.quantity_t:
            return EquilibriumStatus.FLOOR
    return EquilibriumStatus.CLEARED


def _compliance_cost(
    problem: NetworkProblem, graph: _Graph, outcomes: Sequence[NodeOutcome]
) -> Fraction:
    terms = []
    for node, solver_node, outcome in zip(problem.nodes, graph.nodes, outcomes, strict=True):
        bought = sum(
            (
                s.price_minor * sold
                for s, sold in zip(node.supply, outcome.supply_sold_by_step_t, strict=True)
            ),
            Fraction(0),
        )
        held_out = outcome.bank_t * solver_node.holdout_minor  # zero but in banking last years
        terms.append(solver_node.value * (outcome.abatement_cost_minor + bought - held_out))
    return _exact_sum(terms)


# --- the auditor ---------------------------------------------------------------------------------


def _check_optimality(
    problem: NetworkProblem, graph: _Graph, equilibrium: NetworkEquilibrium
) -> None:
    """Assert the optimality conditions exactly, from the problem and the result.

    Firms are checked in aggregate, through each node's curve: their abatement lies
    between what they would abate just below and at the node's price. Each firm's own
    figure is checked against that aggregate when it is derived (see `_FirmDetail`).
    """
    first = min(n.year for n in problem.nodes)
    growth = 1 + problem.interest_rate
    last: dict[str, int] = {}
    for n in problem.nodes:
        last[n.system_id] = max(last.get(n.system_id, n.year), n.year)
    pv: dict[tuple[str, int], Fraction] = {}
    for node, curve, outcome in zip(
        problem.nodes, (n.curve for n in graph.nodes), equilibrium.nodes, strict=True
    ):
        assert (outcome.system_id, outcome.year) == (node.system_id, node.year)
        holdout = _holdout_minor(problem, node, growth, last[node.system_id])
        banks = node.system_id in problem.banking
        _check_node(node, curve, outcome, holdout, banks)
        if banks and node.year == last[node.system_id]:
            assert outcome.bank_t == 0 or outcome.price_minor == holdout, (
                f"{node.label}: banks out of the horizon below its price"
            )
        pv[(node.system_id, node.year)] = (
            outcome.price_minor * node.rate_to_common / growth ** (node.year - first)
        )
    imports = dict.fromkeys(pv, Fraction(0))
    for flow in equilibrium.routes:
        route = flow.route
        tail, head = pv[(route.from_system, route.year)], pv[(route.to_system, route.year)]
        _check_edge(route.label, flow.flow_t, route.cap_t, tail, route.rate * head)
        imports[(route.from_system, route.year)] -= flow.flow_t
        imports[(route.to_system, route.year)] += flow.delivered_t
    for outcome in equilibrium.nodes:
        assert outcome.net_import_t == imports[(outcome.system_id, outcome.year)]
    for system_id in problem.banking:
        chain = sorted(
            (o for o in equilibrium.nodes if o.system_id == system_id), key=lambda o: o.year
        )
        for before, after in itertools.pairwise(chain):
            assert before.bank_t == after.bank_in_t, (
                f"{system_id}: the bank carried is the bank received"
            )
            label = f"bank of {system_id} {before.year}→{after.year}"
            _check_edge(
                label,
                before.bank_t,
                None,
                pv[(system_id, before.year)],
                pv[(system_id, after.year)],
            )


def _check_edge(
    label: str, units: Fraction, cap_t: int | None, tail: Fraction, head: Fraction
) -> None:
    """Assert 0 ≤ x ≤ cap, x > 0 ⇒ P_tail ≤ rate·P_head, x < cap ⇒ P_tail ≥ rate·P_head."""
    assert units >= 0 and (cap_t is None or units <= cap_t), f"{label}: flow {units} out of bounds"
    assert units == 0 or tail <= head, f"{label}: moves {units} though the tail values more"
    assert (cap_t is not None and units == cap_t) or tail >= head, f"{label}: gain left unused"


def _check_node(
    node: SystemYear, curve: _Curve, outcome: NodeOutcome, holdout: Fraction, banks: bool
) -> None:
    price = outcome.price_minor
    label = node.label
    ceiling = _ceiling_minor(node)
    assert price >= holdout and (ceiling is None or price <= ceiling), (
        f"{label}: price {price} out of range"
    )
    below = sum(s.quantity_t for s in node.supply if s.quantity_t and s.price_minor < price)
    at_or_below = sum(s.quantity_t for s in node.supply if s.quantity_t and s.price_minor <= price)
    least, most = curve.cover(price, left=True) - below, curve.cover(price) - at_or_below
    assert least <= outcome.abatement_t <= most, f"{label}: firms abate off their MACs"
    for step, sold in zip(node.supply, outcome.supply_sold_by_step_t, strict=True):
        assert sold >= 0 and (step.quantity_t is None or sold <= step.quantity_t), (
            f"{label}: supply"
        )
        assert step.price_minor <= price or sold == 0, f"{label}: supply sold below its price"
        full = step.quantity_t is None or sold == step.quantity_t
        assert step.price_minor >= price or full, f"{label}: supply unsold above its price"
    assert outcome.unused_t >= 0 and (outcome.unused_t == 0 or price == 0), f"{label}: unused"
    assert not banks or outcome.unused_t == 0, f"{label}: a banking system banks its leftovers"
    assert outcome.bank_t >= 0 and outcome.bank_in_t >= 0, f"{label}: a bank is never negative"
    assert outcome.emissions_t == sum(f.baseline_t for f in node.firms) - outcome.abatement_t
    used = outcome.emissions_t + outcome.bank_t + outcome.unused_t
    means = outcome.allocation_t + outcome.supply_sold_t + outcome.net_import_t + outcome.bank_in_t
    assert used == means, f"{label}: balance {used} t used ≠ {means} t available"


__all__ = [
    "InfeasibleNetworkError",
    "LinkingGains",
    "NetworkEquilibrium",
    "NetworkProblem",
    "NodeOutcome",
    "Route",
    "RouteFlow",
    "Supply",
    "SystemYear",
    "autarky_problem",
    "linking_gains",
    "network_equilibrium",
]
