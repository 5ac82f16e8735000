"""MAC curves, competitive and linked equilibria, and Gode & Sunder's allocative efficiency."""

from __future__ import annotations

import random
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from etslink.economics import (
    EquilibriumStatus,
    Firm,
    InfeasibleCapError,
    LinearMac,
    MacCurve,
    PiecewiseMac,
    ScaledMac,
    UnitTrade,
    UnitValues,
    allocative_efficiency,
    competitive_equilibrium,
    max_gains_from_trade,
)
from etslink.economics.market import BISECTION_TOLERANCE_MINOR
from etslink.economics.network import (
    NetworkProblem,
    Route,
    SystemYear,
    linking_gains,
    network_equilibrium,
)

# --- worked examples ---------------------------------------------------------------------


def _two_firms() -> list[Firm]:
    """Two firms, 100 t baseline and 60 t free allocation each; A abates cheaply.

    MAC_A(q) = 2q, MAC_B(q) = 6q; the cap 120 t needs 80 t of abatement.
    At price p: q_A = p/2, q_B = p/6, so p·(1/2 + 1/6) = 80 gives p = 120,
    q_A = 60 t, q_B = 20 t. A sells 100 − 60 − 60 = 20 t to B.
    Costs: A 2·60²/2 = 3,600, B 6·20²/2 = 1,200, total 4,800 — against
    1,600 + 4,800 = 6,400 if each abated 40 t alone.
    """
    return [
        Firm("A", baseline_t=100, allocation_t=60, mac=LinearMac(2)),
        Firm("B", baseline_t=100, allocation_t=60, mac=LinearMac(6)),
    ]


def test_two_firm_equilibrium_matches_the_hand_computation() -> None:
    eq = competitive_equilibrium(_two_firms())

    assert eq.price_minor == 120
    assert eq.status is EquilibriumStatus.CLEARED
    assert eq.firm("A").abatement_t == 60
    assert eq.firm("B").abatement_t == 20
    assert eq.firm("A").net_purchase_t == -20
    assert eq.firm("B").net_purchase_t == 20
    assert eq.total_cost_minor == 4_800
    assert eq.permit_balance_t == 0


def test_cap_above_baseline_leaves_price_at_zero_and_permits_unused() -> None:
    eq = competitive_equilibrium(_two_firms(), cap_t=250)

    assert eq.price_minor == 0
    assert eq.status is EquilibriumStatus.SLACK
    assert eq.permit_balance_t == 50
    assert eq.total_cost_minor == 0


def test_price_floor_above_clearing_price_leaves_a_surplus() -> None:
    eq = competitive_equilibrium(_two_firms(), price_floor_minor=150)

    # q_A = 75, q_B = 25: emissions 100 t under a 120 t cap.
    assert (eq.price_minor, eq.status) == (150, EquilibriumStatus.FLOOR)
    assert eq.permit_balance_t == 20


def test_price_ceiling_below_clearing_price_reports_the_shortage() -> None:
    eq = competitive_equilibrium(_two_firms(), price_ceiling_minor=90)

    # q_A = 45, q_B = 15: emissions 140 t over a 120 t cap.
    assert (eq.price_minor, eq.status) == (90, EquilibriumStatus.CEILING)
    assert eq.permit_balance_t == -20


def test_cap_beyond_full_abatement_is_refused_without_a_ceiling() -> None:
    firms = [Firm("A", 100, 10, LinearMac(1, max_abatement_t=50))]

    with pytest.raises(InfeasibleCapError) as caught:
        competitive_equilibrium(firms)
    assert caught.value.min_emissions_t == 50

    eq = competitive_equilibrium(firms, price_ceiling_minor=1_000)
    assert (eq.status, eq.permit_balance_t) == (EquilibriumStatus.CEILING, -40)


def test_step_mac_inside_a_sloped_stretch_clears_on_the_slope() -> None:
    # C has 10 t at 5 and 10 t at 20; D has MAC q. Needing 25 t: for 5 ≤ p < 20,
    # abatement is 10 + p, so p = 15 with C 10 t and D 15 t.
    firms = [
        Firm("C", 50, 0, PiecewiseMac([(10, 5, 5), (10, 20, 20)])),
        Firm("D", 50, 0, LinearMac(1)),
    ]
    eq = competitive_equilibrium(firms, cap_t=75)

    assert eq.price_minor == 15
    assert (eq.firm("C").abatement_t, eq.firm("D").abatement_t) == (10, 15)
    assert eq.total_cost_minor == 10 * 5 + Fraction(15 * 15, 2)


def test_step_mac_at_the_price_takes_only_the_tonnes_still_needed() -> None:
    # Needing 35 t: just below 20 the firms abate 30 t, at 20 they could abate 40 t.
    # D is already at its 20 t from p = 20; C's second step supplies the last 5 t.
    firms = [
        Firm("C", 50, 0, PiecewiseMac([(10, 5, 5), (10, 20, 20)])),
        Firm("D", 50, 0, LinearMac(1)),
    ]
    eq = competitive_equilibrium(firms, cap_t=65)

    assert eq.price_minor == 20
    assert (eq.firm("C").abatement_t, eq.firm("D").abatement_t) == (15, 20)
    assert eq.status is EquilibriumStatus.CLEARED


def test_piecewise_linear_mac_costs_are_the_area_under_its_segments() -> None:
    mac = PiecewiseMac([(10, 0, 10), (10, 20, 40)])

    assert mac.marginal_cost(10) == 10  # the boundary tonne belongs to the lower segment
    assert mac.marginal_cost(15) == 30
    assert mac.total_cost(15) == 50 + 20 * 5 + Fraction(2 * 25, 2)
    assert mac.abatement_at_price(15) == 10
    assert mac.abatement_at_price(30) == 15
    assert mac.abatement_at_price(99) == 20


def test_linking_the_two_firms_markets_equalises_their_macs_and_saves_cost() -> None:
    # Autarky: X (firm A, cap 60) needs 40 t at 80; Y (firm B, cap 60) needs 40 t at 240.
    # Linked, the worked example's 120 results: X sends 20 t to Y; saving 6,400 − 4,800.
    a, b = _two_firms()
    found = linking_gains(_two_systems(a, b, Fraction(1)))

    assert [node.price_minor for node in found.linked.nodes] == [120, 120]
    assert [node.price_minor for node in found.autarky.nodes] == [80, 240]
    assert [node.net_import_t for node in found.linked.nodes] == [-20, 20]
    assert found.gains_from_linking_minor == 1_600


def test_linked_price_reads_in_each_currency_through_the_exchange_rate() -> None:
    # Y's minor unit is worth half a common one: B's MAC is 3q in common units.
    # Common price p: p/2 + p/3 = 80, so p = 96, i.e. 192 in Y's currency.
    a, b = _two_firms()
    linked = network_equilibrium(_two_systems(a, b, Fraction(1, 2)))

    assert [node.price_common_minor for node in linked.nodes] == [96, 96]
    assert [node.price_minor for node in linked.nodes] == [96, 192]
    assert [node.net_import_t for node in linked.nodes] == [-8, 8]


def _two_systems(a: Firm, b: Firm, rate_y: Fraction) -> NetworkProblem:
    """X holds firm A, Y firm B; a free two-way link at 1:1; Y's money at `rate_y` common."""
    nodes = (SystemYear("X", 2020, (a,)), SystemYear("Y", 2020, (b,), rate_y))
    routes = (Route("X", "Y", 2020), Route("Y", "X", 2020))
    return NetworkProblem(nodes, routes)


def test_gode_sunder_efficiency_of_a_single_trade_against_the_step_curves() -> None:
    # Values 10, 8, 3 and costs 2, 5, 9: the maximum is (10−2) + (8−5) = 11.
    values = UnitValues({"b10": 10, "b8": 8, "b3": 3}, {"s2": 2, "s5": 5, "s9": 9})

    assert max_gains_from_trade(values) == 11
    assert allocative_efficiency([UnitTrade("b10", "s5", 7)], values) == Fraction(5, 11)
    assert allocative_efficiency([], UnitValues({"b": 1}, {"s": 4})) == 1


def test_a_trader_who_trades_twice_is_refused() -> None:
    values = UnitValues({"b1": 10, "b2": 10}, {"s": 1})

    with pytest.raises(ValueError, match="at most once"):
        allocative_efficiency([UnitTrade("b1", "s", 5), UnitTrade("b2", "s", 5)], values)


# --- properties --------------------------------------------------------------------------

fractions_positive = st.builds(Fraction, st.integers(1, 40), st.integers(1, 6))


@st.composite
def linear_firms(draw: st.DrawFn, prefix: str = "f") -> list[Firm]:
    count = draw(st.integers(1, 5))
    firms = []
    for i in range(count):
        limit = draw(st.none() | st.integers(0, 150))
        mac = LinearMac(draw(fractions_positive), draw(st.integers(-20, 60)), limit)
        firms.append(
            Firm(f"{prefix}{i}", draw(st.integers(0, 120)), draw(st.integers(0, 120)), mac)
        )
    return firms


@st.composite
def piecewise_macs(draw: st.DrawFn) -> PiecewiseMac:
    segments = []
    level = draw(st.integers(0, 20))
    for _ in range(draw(st.integers(1, 4))):
        start = level + draw(st.integers(0, 15))
        end = start + draw(st.sampled_from([0, 0, 1, 7, 30]))  # 0: a step
        segments.append((draw(st.integers(1, 40)), start, end))
        level = end
    return PiecewiseMac(segments)


@st.composite
def mixed_firms(draw: st.DrawFn) -> list[Firm]:
    firms = []
    for i in range(draw(st.integers(1, 5))):
        mac: MacCurve = draw(
            piecewise_macs() | st.builds(LinearMac, fractions_positive, st.integers(0, 30))
        )
        firms.append(Firm(f"f{i}", draw(st.integers(0, 100)), draw(st.integers(0, 100)), mac))
    return firms


@given(
    piecewise_macs() | st.builds(LinearMac, fractions_positive, st.integers(-20, 30), st.just(90)),
    st.data(),
)
def test_total_cost_is_the_area_under_the_mac_between_its_end_heights(
    mac: MacCurve, data: st.DataObject
) -> None:
    top_t = mac.max_abatement_t
    assert top_t is not None
    q1, q2 = sorted(data.draw(st.integers(0, int(top_t))) for _ in range(2))

    added_minor = mac.total_cost(q2) - mac.total_cost(q1)

    # A non-decreasing MAC: the area over [q1, q2] lies between its heights at both ends.
    assert mac.marginal_cost(q1) * (q2 - q1) <= added_minor <= mac.marginal_cost(q2) * (q2 - q1)
    # At the price of its q2-th tonne a firm abates at least q2 tonnes (the largest such q).
    assert mac.abatement_at_price(mac.marginal_cost(q2)) >= q2


def _feasible_cap(data: st.DataObject, firms: list[Firm]) -> int:
    baseline_t = sum(f.baseline_t for f in firms)
    floor_t = baseline_t - sum(f.max_abatement_t for f in firms)
    return data.draw(st.integers(int(-(-floor_t // 1)), baseline_t + 20))


@given(st.data())
def test_linear_equilibrium_price_makes_demand_equal_supply_exactly(data: st.DataObject) -> None:
    firms = data.draw(linear_firms())
    cap_t = _feasible_cap(data, firms)

    eq = competitive_equilibrium(firms, cap_t)

    bought = sum(o.net_purchase_t for o in eq.firms)
    if eq.status is EquilibriumStatus.CLEARED:
        assert eq.emissions_t == cap_t
        assert bought == cap_t - sum(f.allocation_t for f in firms)  # government sells the rest
    else:
        assert (eq.status, eq.price_minor) == (EquilibriumStatus.SLACK, 0)
        assert eq.emissions_t < cap_t


@given(st.data())
def test_every_firm_abating_an_interior_amount_has_its_mac_at_the_price(
    data: st.DataObject,
) -> None:
    firms = data.draw(linear_firms())
    eq = competitive_equilibrium(firms, _feasible_cap(data, firms))

    for firm, outcome in zip(firms, eq.firms, strict=True):
        if firm.max_abatement_t == 0:
            continue  # nothing to abate: no condition on its MAC
        mac_minor = firm.mac.marginal_cost(outcome.abatement_t)
        if 0 < outcome.abatement_t < firm.max_abatement_t:
            assert mac_minor == eq.price_minor
        elif outcome.abatement_t == 0:
            assert mac_minor >= eq.price_minor  # abating at all would cost more
        else:
            assert mac_minor <= eq.price_minor  # would abate more if it could


@given(st.data())
def test_exact_price_lies_within_the_bisection_bracket_for_any_piecewise_mac(
    data: st.DataObject,
) -> None:
    firms = data.draw(mixed_firms())
    cap_t = _feasible_cap(data, firms)

    exact = competitive_equilibrium(firms, cap_t)
    bisected = competitive_equilibrium(firms, cap_t, exact=False)

    assert exact.price_minor <= bisected.price_minor
    assert bisected.price_minor - exact.price_minor <= BISECTION_TOLERANCE_MINOR
    assert exact.emissions_t == bisected.emissions_t
    if exact.status is EquilibriumStatus.CLEARED:
        assert exact.emissions_t == cap_t


@given(st.data())
def test_equilibrium_is_no_dearer_than_each_firm_meeting_its_own_allocation(
    data: st.DataObject,
) -> None:
    firms = data.draw(mixed_firms())
    own = [max(f.baseline_t - f.allocation_t, 0) for f in firms]
    if any(q > f.max_abatement_t for q, f in zip(own, firms, strict=True)):
        return  # some firm cannot comply alone: no autarky benchmark

    eq = competitive_equilibrium(
        firms, sum(f.baseline_t - q for f, q in zip(firms, own, strict=True))
    )

    alone_minor = sum(f.mac.total_cost(q) for f, q in zip(firms, own, strict=True))
    assert eq.total_cost_minor <= alone_minor


@given(st.data())
def test_linking_never_raises_cost_and_the_price_lies_between_autarky_prices(
    data: st.DataObject,
) -> None:
    nodes = []
    for name in ("X", "Y"):
        firms = data.draw(linear_firms(prefix=name))
        cap_t = max(0, _feasible_cap(data, firms))
        allocated = _with_cap(firms, cap_t)
        rate = data.draw(st.sampled_from([Fraction(1), Fraction(1, 3), Fraction(7, 5)]))
        nodes.append(SystemYear(name, 2020, tuple(allocated), rate))
    routes = (Route("X", "Y", 2020), Route("Y", "X", 2020))

    found = linking_gains(NetworkProblem(tuple(nodes), routes))

    assert found.gains_from_linking_minor >= 0
    autarky = [node.price_common_minor for node in found.autarky.nodes]
    for node in found.linked.nodes:
        assert min(autarky) <= node.price_common_minor <= max(autarky)


def _with_cap(firms: list[Firm], cap_t: int) -> list[Firm]:
    """Return the firms with their allocations scaled so they sum to `cap_t`."""
    total = sum(f.allocation_t for f in firms)
    if total == cap_t:
        return firms
    shares = [cap_t // len(firms)] * len(firms)
    shares[0] += cap_t - sum(shares)
    return [
        Firm(f.firm_id, f.baseline_t, share, f.mac) for f, share in zip(firms, shares, strict=True)
    ]


@st.composite
def unit_markets(draw: st.DrawFn) -> UnitValues:
    buyers = draw(st.lists(st.integers(1, 200), max_size=8))
    sellers = draw(st.lists(st.integers(1, 200), max_size=8))
    return UnitValues(
        {f"b{i}": v for i, v in enumerate(buyers)}, {f"s{i}": c for i, c in enumerate(sellers)}
    )


def _competitive_trades(values: UnitValues) -> list[UnitTrade]:
    demand = sorted(values.buyer_value_minor.items(), key=lambda kv: -kv[1])
    supply = sorted(values.seller_cost_minor.items(), key=lambda kv: kv[1])
    return [UnitTrade(b, s, c) for (b, v), (s, c) in zip(demand, supply, strict=False) if v > c]


@given(unit_markets(), st.randoms(use_true_random=False))
def test_efficiency_of_trades_never_at_a_loss_lies_in_zero_to_one(
    values: UnitValues, rng: random.Random
) -> None:
    buyers = list(values.buyer_value_minor)
    sellers = list(values.seller_cost_minor)
    rng.shuffle(buyers)
    rng.shuffle(sellers)
    trades = [
        UnitTrade(b, s, values.seller_cost_minor[s])
        for b, s in zip(buyers, sellers, strict=False)
        if values.buyer_value_minor[b] >= values.seller_cost_minor[s]
    ]

    assert 0 <= allocative_efficiency(trades, values) <= 1


@given(unit_markets())
def test_competitive_allocation_is_fully_efficient(values: UnitValues) -> None:
    assert allocative_efficiency(_competitive_trades(values), values) == 1


@given(unit_markets(), st.data())
def test_missing_a_profitable_trade_loses_efficiency(
    values: UnitValues, data: st.DataObject
) -> None:
    trades = _competitive_trades(values)
    if not trades:
        return
    missed = data.draw(st.integers(0, len(trades) - 1))

    kept = trades[:missed] + trades[missed + 1 :]

    assert allocative_efficiency(kept, values) < 1


@st.composite
def _curves(draw: st.DrawFn) -> MacCurve:
    kind = draw(st.sampled_from(["linear", "capped", "piecewise"]))
    if kind == "piecewise":
        segments, level = [], 0
        for _ in range(draw(st.integers(1, 4))):
            start = level + draw(st.integers(0, 500))
            end = start + draw(st.integers(0, 500))
            segments.append((draw(st.integers(1, 1_000)), start, end))
            level = end
        curve: MacCurve = PiecewiseMac(segments)
    else:
        limit = draw(st.integers(1, 10_000)) if kind == "capped" else None
        curve = LinearMac(
            Fraction(draw(st.integers(1, 1_000)), 100), draw(st.integers(0, 500)), limit
        )
    if draw(st.booleans()):
        curve = ScaledMac(curve, Fraction(draw(st.integers(1, 400)), 100))
    return curve


@given(_curves(), st.integers(0, 12_000), st.integers(0, 5_000))
def test_a_curves_float_view_answers_as_the_exact_curve(
    curve: MacCurve, abatement_t: int, price_minor: int
) -> None:
    """Agents plan by `as_float` (docs/market.md): it must be the same curve, to rounding."""
    view = curve.as_float()
    limit = curve.max_abatement_t
    assert view.max_abatement_t == (None if limit is None else float(limit))
    q = abatement_t if limit is None else min(abatement_t, int(limit))
    assert view.marginal_cost(q) == pytest.approx(float(curve.marginal_cost(q)), rel=1e-9, abs=1e-9)
    assert view.abatement_at_price(price_minor) == pytest.approx(
        float(curve.abatement_at_price(price_minor)), rel=1e-9, abs=1e-6
    )
