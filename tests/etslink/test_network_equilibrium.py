"""The exact equilibrium of linked systems over years: links, caps, rates, currencies, banks.

Worked examples derive their figures by hand from the textbook results the reference on
linking economics cites (one price across a link, a cap's scarcity rent, p_B = r·p_A,
Hotelling while the bank is positive); properties check random networks against an auditor
written here from the optimality conditions alone, and one node against
`competitive_equilibrium`.
"""

from __future__ import annotations

import itertools
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
    NetworkEquilibrium,
    NetworkProblem,
    PiecewiseMac,
    Route,
    Supply,
    SystemYear,
    competitive_equilibrium,
    linking_gains,
    network_equilibrium,
)
from etslink.economics.network import NODES_MAX

YEAR = 2030


def _node(
    system_id: str,
    slope: int,
    need_t: int,
    *,
    intercept: int = 0,
    year: int = YEAR,
    rate_to_common: Fraction = Fraction(1),
    supply: tuple[Supply, ...] = (),
) -> SystemYear:
    """Return a one-firm node: baseline 100 t, MAC(q) = intercept + slope·q, `need_t` to abate."""
    firm = Firm(f"{system_id}-firm", 100, 100 - need_t, LinearMac(slope, intercept))
    return SystemYear(system_id, year, (firm,), rate_to_common, supply)


def _both_ways(a: str, b: str, year: int = YEAR, cap_t: int | None = None) -> tuple[Route, ...]:
    return (Route(a, b, year, cap_t=cap_t), Route(b, a, year, cap_t=cap_t))


# --- two systems, one link -----------------------------------------------------------------


def test_a_free_link_at_one_to_one_equalises_prices_and_both_systems_gain() -> None:
    """MAC_A(q) = 2q, MAC_B(q) = 6q, each must abate 40 t.

    Autarky: p_A = 80, p_B = 240; costs 2·40²/2 = 1,600 and 6·40²/2 = 4,800.
    Linked: p/2 + p/6 = 80 gives p* = 120, q_A = 60, q_B = 20; A sends 40 − 20 = 20 t to B.
    Costs 3,600 + 1,200 = 4,800, so linking saves 1,600. A's bill: 3,600 − 20·120 = 1,200
    (was 1,600); B's: 1,200 + 20·120 = 3,600 (was 4,800): both gain.
    """
    problem = NetworkProblem((_node("A", 2, 40), _node("B", 6, 40)), _both_ways("A", "B"))

    gains = linking_gains(problem)
    linked, autarky = gains.linked, gains.autarky

    assert [n.price_minor for n in linked.nodes] == [120, 120]
    assert [n.abatement_t for n in linked.nodes] == [60, 20]
    assert [r.flow_t for r in linked.routes] == [20, 0]
    assert linked.net_import_t("A", YEAR) == -20 and linked.net_import_t("B", YEAR) == 20
    assert [n.price_minor for n in autarky.nodes] == [80, 240]
    assert [n.abatement_cost_minor for n in autarky.nodes] == [1_600, 4_800]
    assert gains.gains_from_linking_minor == 1_600
    assert (_bill(linked, "A"), _bill(linked, "B")) == (1_200, 3_600)


def _bill(equilibrium: NetworkEquilibrium, system_id: str) -> Fraction:
    """Return what a system pays to comply: its abatement plus its imports at its price."""
    node = equilibrium.node(system_id, YEAR)
    return node.abatement_cost_minor + node.net_import_t * node.price_minor


def test_a_free_link_with_intercepts_clears_where_the_inverse_macs_sum_to_the_needs() -> None:
    """MAC_A(q) = 10 + 2q, MAC_B(q) = 30 + 6q, each must abate 40 t.

    Σ MAC⁻¹(p) = (p − 10)/2 + (p − 30)/6 = 80 gives 4p − 60 = 480, p* = 135;
    q_A = 125/2, q_B = 35/2, A sends 40 − 35/2 = 45/2 t. Autarky p_A = 90, p_B = 270, costs
    10·40 + 40² = 2,000 and 30·40 + 3·40² = 6,000. Linked costs 10·q_A + q_A² = 18,125/4 and
    30·q_B + 3·q_B² = 5,775/4, total 5,975: linking saves 2,025.
    """
    a, b = _node("A", 2, 40, intercept=10), _node("B", 6, 40, intercept=30)

    gains = linking_gains(NetworkProblem((a, b), _both_ways("A", "B")))

    assert [n.price_minor for n in gains.linked.nodes] == [135, 135]
    assert [n.abatement_t for n in gains.linked.nodes] == [Fraction(125, 2), Fraction(35, 2)]
    assert gains.linked.routes[0].flow_t == Fraction(45, 2)
    assert [n.price_minor for n in gains.autarky.nodes] == [90, 270]
    assert gains.linked.abatement_cost_pv_minor == 5_975
    assert gains.gains_from_linking_minor == 2_025


def test_a_binding_import_cap_leaves_a_price_gap_and_a_smaller_gain() -> None:
    """The free flow A→B is 20 t; cap it at K = 10.

    q_A = 40 + 10 = 50, p_A = 2·50 = 100; q_B = 40 − 10 = 30, p_B = 6·30 = 180: a gap of 80,
    the scarcity rent of each capped unit. Costs 2·50²/2 + 6·30²/2 = 5,200: a saving of
    6,400 − 5,200 = 1,200, below the free link's 1,600.
    """
    nodes = (_node("A", 2, 40), _node("B", 6, 40))
    problem = NetworkProblem(nodes, (Route("A", "B", YEAR, cap_t=10), Route("B", "A", YEAR)))

    gains = linking_gains(problem)
    a, b = gains.linked.nodes

    assert (a.price_minor, b.price_minor) == (100, 180)
    assert b.price_minor - a.price_minor == 80
    assert gains.linked.routes[0].flow_t == 10 and gains.linked.routes[0].cap_binds
    assert gains.gains_from_linking_minor == 1_200


def test_a_cap_above_the_free_flow_changes_nothing() -> None:
    nodes = (_node("A", 2, 40), _node("B", 6, 40))
    free = network_equilibrium(NetworkProblem(nodes, _both_ways("A", "B")))
    capped = network_equilibrium(NetworkProblem(nodes, _both_ways("A", "B", cap_t=30)))

    assert [n.price_minor for n in capped.nodes] == [n.price_minor for n in free.nodes]
    assert [r.flow_t for r in capped.routes] == [r.flow_t for r in free.routes]
    assert not any(r.cap_binds for r in capped.routes)


def test_a_rate_other_than_one_makes_the_exporters_price_rate_times_the_importers() -> None:
    """One B unit counts r = 2 t in A; MAC_A(q) = 6q, MAC_B(q) = 2q, each must abate 40 t.

    B sends x units: q_A = 40 − 2x, q_B = 40 + x, and arbitrage gives p_B = 2·p_A:
    2(40 + x) = 2·6(40 − 2x), so 26x = 400, x = 200/13; q_A = 120/13, p_A = 720/13,
    q_B = 720/13, p_B = 1,440/13.
    """
    nodes = (_node("A", 6, 40), _node("B", 2, 40))
    problem = NetworkProblem(nodes, (Route("B", "A", YEAR, rate=Fraction(2)),))

    linked = network_equilibrium(problem)
    a, b = linked.nodes

    assert linked.routes[0].flow_t == Fraction(200, 13)
    assert linked.routes[0].delivered_t == Fraction(400, 13)
    assert (a.abatement_t, b.abatement_t) == (Fraction(120, 13), Fraction(720, 13))
    assert (a.price_minor, b.price_minor) == (Fraction(720, 13), Fraction(1_440, 13))
    assert b.price_minor == 2 * a.price_minor


def test_a_one_way_link_gives_the_two_way_result_one_way_and_autarky_the_other() -> None:
    """The free flow runs A→B (A abates cheaply): allowed, it gives p* = 120; forbidden,
    nothing moves and each system keeps its autarky price (80 and 240)."""
    nodes = (_node("A", 2, 40), _node("B", 6, 40))

    with_flow = network_equilibrium(NetworkProblem(nodes, (Route("A", "B", YEAR),)))
    against = network_equilibrium(NetworkProblem(nodes, (Route("B", "A", YEAR),)))

    assert [n.price_minor for n in with_flow.nodes] == [120, 120]
    assert with_flow.routes[0].flow_t == 20
    assert [n.price_minor for n in against.nodes] == [80, 240]
    assert against.routes[0].flow_t == 0


# --- several systems -----------------------------------------------------------------------


def _three_systems() -> tuple[SystemYear, ...]:
    """MAC_A = q, MAC_B = 2q, MAC_C = 4q; they must abate 10, 20 and 40 t.

    Linked: p·(1 + 1/2 + 1/4) = 70 gives p* = 40; q = 40, 20, 10; net imports −30, 0, +30.
    """
    return (_node("A", 1, 10), _node("B", 2, 20), _node("C", 4, 40))


def test_a_chain_of_links_carries_units_through_the_middle_system_at_one_price() -> None:
    """A–B and B–C are linked, A–C not: A's 30 t reach C through B, at p* = 40 everywhere."""
    routes = (*_both_ways("A", "B"), *_both_ways("B", "C"))

    linked = network_equilibrium(NetworkProblem(_three_systems(), routes))

    assert [n.price_minor for n in linked.nodes] == [40, 40, 40]
    assert [n.net_import_t for n in linked.nodes] == [-30, 0, 30]
    assert {r.route.label: r.flow_t for r in linked.routes if r.flow_t} == {
        "A→B in 2030": 30,
        "B→C in 2030": 30,
    }


def test_a_cycle_of_three_systems_linked_one_to_one_shares_one_price() -> None:
    """California, Québec and Ontario style: A→B→C→A and back, all at rate 1; p* = 40."""
    routes = (*_both_ways("A", "B"), *_both_ways("B", "C"), *_both_ways("C", "A"))

    linked = network_equilibrium(NetworkProblem(_three_systems(), routes))

    assert [n.price_minor for n in linked.nodes] == [40, 40, 40]
    assert [n.net_import_t for n in linked.nodes] == [-30, 0, 30]


def test_two_currencies_meet_at_one_price_in_the_common_currency() -> None:
    """B's minor unit is worth half a common one, so B's MAC is 6q/2 = 3q in common units.

    Common price P: P/2 + P/3 = 80 gives P = 96, i.e. 192 in B's currency; q_A = 48, so A
    sends 8 t.
    """
    nodes = (_node("A", 2, 40), _node("B", 6, 40, rate_to_common=Fraction(1, 2)))

    linked = network_equilibrium(NetworkProblem(nodes, _both_ways("A", "B")))
    a, b = linked.nodes

    assert (a.price_minor, b.price_minor) == (96, 192)
    assert a.price_common_minor == b.price_common_minor == 96
    assert (a.net_import_t, b.net_import_t) == (-8, 8)


# --- banking --------------------------------------------------------------------------------


def _two_years(need_first_t: int, need_second_t: int) -> NetworkProblem:
    """One system banking over two years, MAC q in each, interest ρ = 1/10."""
    nodes = (_node("X", 1, need_first_t, year=2030), _node("X", 1, need_second_t, year=2031))
    return NetworkProblem(nodes, banking=frozenset({"X"}), interest_rate=Fraction(1, 10))


def test_a_tight_second_year_fills_the_bank_and_prices_rise_at_the_interest_rate() -> None:
    """MAC q both years, needs 20 then 80 t, ρ = 1/10. With a positive bank p₂ = 1.1·p₁, and
    q₁ + q₂ = 100: p₁ + 1.1·p₁ = 100, p₁ = 1,000/21, p₂ = 1,100/21; the bank is
    q₁ − 20 = 580/21 t."""
    first, second = network_equilibrium(_two_years(20, 80)).nodes

    assert (first.price_minor, second.price_minor) == (Fraction(1_000, 21), Fraction(1_100, 21))
    assert second.price_minor == Fraction(11, 10) * first.price_minor
    assert first.bank_t == second.bank_in_t == Fraction(580, 21)
    assert first.price_pv_minor == second.price_pv_minor
    assert second.bank_t == 0


def test_a_tight_first_year_cannot_borrow_so_its_price_stays_above_the_discounted_next() -> None:
    """Needs 80 then 20 t: banking would run backwards. The bank stays 0, each year clears
    alone at 80 and 20, and p₁ = 80 > p₂/(1 + ρ) = 200/11."""
    first, second = network_equilibrium(_two_years(80, 20)).nodes

    assert (first.price_minor, second.price_minor) == (80, 20)
    assert first.bank_t == 0
    assert first.price_minor > second.price_minor / Fraction(11, 10)


def test_a_high_enough_terminal_price_keeps_a_bank_at_the_horizon() -> None:
    """One year, need 20 t, MAC q, ρ = 1/10. A unit banked out is worth 33 next year, 30 now:
    above the clearing price 20, so the firm abates to 30 and banks 10 t out. A terminal
    price of 11 (10 now) is below 20: nothing is banked."""
    node = _node("X", 1, 20)
    banking, rate = frozenset({"X"}), Fraction(1, 10)

    held = network_equilibrium(NetworkProblem((node,), (), banking, rate, {"X": 33})).nodes[0]
    spent = network_equilibrium(NetworkProblem((node,), (), banking, rate, {"X": 11})).nodes[0]

    assert (held.price_minor, held.abatement_t, held.bank_t) == (30, 30, 10)
    assert (spent.price_minor, spent.bank_t) == (20, 0)


def test_a_slack_banking_system_banks_its_leftovers_out_of_the_horizon() -> None:
    """Both years have 10 t more allocation than emissions and nothing to gain from abating
    below price 0: the price is 0, each year's surplus is banked, 20 t leave the horizon."""
    firm = Firm("x", 100, 110, LinearMac(1))
    nodes = (SystemYear("X", 2030, (firm,)), SystemYear("X", 2031, (firm,)))

    first, second = network_equilibrium(NetworkProblem(nodes, banking=frozenset({"X"}))).nodes

    assert first.status is second.status is EquilibriumStatus.SLACK
    assert (first.bank_t, second.bank_in_t, second.bank_t) == (10, 10, 20)
    assert first.unused_t == second.unused_t == 0


# --- government supply ---------------------------------------------------------------------


def test_an_auction_at_its_reserve_price_holds_the_price_at_the_floor() -> None:
    """Baseline 100, allocation 30, MAC q, 30 t auctioned at a reserve of 50.

    Without the auction the price would be 70; with all of it, 40 < 50. So the price sits
    at the floor 50: the firm abates 50 t and needs 20 t of the 30 t offered; 10 t go unsold.
    """
    firm = Firm("x", 100, 30, LinearMac(1))
    node = SystemYear("X", YEAR, (firm,), supply=(Supply(30, Fraction(50)),))

    outcome = network_equilibrium(NetworkProblem((node,))).nodes[0]

    assert (outcome.price_minor, outcome.status) == (50, EquilibriumStatus.FLOOR)
    assert (outcome.abatement_t, outcome.supply_sold_t) == (50, 20)


def test_an_unlimited_supply_at_a_ceiling_caps_the_price() -> None:
    """Must abate 70 t at MAC q; an unlimited reserve sells at 30, so the firm abates 30 t
    and buys the other 40 t from the reserve."""
    node = _node("X", 1, 70, supply=(Supply(None, Fraction(30)),))

    outcome = network_equilibrium(NetworkProblem((node,))).nodes[0]

    assert (outcome.price_minor, outcome.status) == (30, EquilibriumStatus.CEILING)
    assert (outcome.abatement_t, outcome.supply_sold_t) == (30, 40)


def test_a_ceiling_in_one_system_caps_the_linked_price_in_both() -> None:
    """A (MAC 2q, needs 40) and B (MAC 6q, needs 40) linked; B sells unlimited at 90.

    Without it p* = 120. At 90 A abates 45 and B 15: 20 t short, bought from B's reserve."""
    nodes = (_node("A", 2, 40), _node("B", 6, 40, supply=(Supply(None, Fraction(90)),)))

    linked = network_equilibrium(NetworkProblem(nodes, _both_ways("A", "B")))

    assert [n.price_minor for n in linked.nodes] == [90, 90]
    assert [n.abatement_t for n in linked.nodes] == [45, 15]
    assert linked.node("B", YEAR).supply_sold_t == 20


def test_a_capped_route_lets_a_ceiling_feed_a_dearer_terminal_value_only_up_to_its_cap() -> None:
    """A (MAC q, needs 10) sells without limit at 10; B (MAC q, needs 10) banks out of the
    horizon at 20 (ρ = 0). Alone: A clears at 10, B holds out at 20 (abates 20, banks 10
    out). A→B capped at 5: 5 units move; A abates 10 and buys 5 from its reserve, B banks
    out 15 t; prices stay 10 and 20, the gap being the cap's rent."""
    a = _node("A", 1, 10, supply=(Supply(None, Fraction(10)),))
    routes = (Route("A", "B", YEAR, cap_t=5),)
    problem = NetworkProblem((a, _node("B", 1, 10)), routes, frozenset({"B"}), 0, {"B": 20})

    linked = network_equilibrium(problem)
    seller, holder = linked.nodes

    assert (seller.price_minor, seller.abatement_t, seller.supply_sold_t) == (10, 10, 5)
    assert (holder.price_minor, holder.abatement_t, holder.bank_t) == (20, 20, 15)
    assert linked.routes[0].cap_binds


def test_of_two_parallel_routes_the_better_rate_carries_everything() -> None:
    """A→B at rate 1 and at rate 2 (each A unit counts 2 t in B); MAC_A = 2q, MAC_B = 6q.

    Only the rate-2 route can be worth using: A sends x, q_A = 40 + x, q_B = 40 − 2x and
    p_A = 2·p_B: 2(40 + x) = 12(40 − 2x), x = 200/13; p_A = 1,440/13, p_B = 720/13. The
    rate-1 route would deliver half as much for the same unit: it stays empty.
    """
    nodes = (_node("A", 2, 40), _node("B", 6, 40))
    routes = (Route("A", "B", YEAR), Route("A", "B", YEAR, rate=Fraction(2)))

    linked = network_equilibrium(NetworkProblem(nodes, routes))

    assert [r.flow_t for r in linked.routes] == [0, Fraction(200, 13)]
    assert [n.price_minor for n in linked.nodes] == [Fraction(1_440, 13), Fraction(720, 13)]


# --- refusals -------------------------------------------------------------------------------


def test_a_node_no_price_can_serve_is_refused_and_named() -> None:
    firm = Firm("x", 100, 10, LinearMac(1, max_abatement_t=50))

    with pytest.raises(InfeasibleCapError, match="X 2030") as caught:
        network_equilibrium(NetworkProblem((SystemYear("X", YEAR, (firm,)),)))

    assert caught.value.min_emissions_t == 50


def test_a_node_short_on_its_own_is_served_through_a_link() -> None:
    """X can abate at most 50 of the 90 t it must; Y sells it the other 40 t: Y must abate
    40 + 40 = 80 t at MAC q, so the price is 80 in both."""
    short = Firm("x", 100, 10, LinearMac(1, max_abatement_t=50))
    nodes = (SystemYear("X", YEAR, (short,)), _node("Y", 1, 40))

    linked = network_equilibrium(NetworkProblem(nodes, (Route("Y", "X", YEAR),)))

    assert [n.price_minor for n in linked.nodes] == [80, 80]
    assert linked.routes[0].flow_t == 40


@pytest.mark.parametrize(
    ("routes", "message"),
    [
        ((Route("A", "Z", YEAR),), "unknown system 'Z'"),
        ((Route("A", "B", YEAR + 1),), "A has no node in 2031"),
        (
            (Route("A", "B", YEAR, rate=Fraction(2)), Route("B", "A", YEAR, Fraction(3, 4))),
            "round trip A→B→A",
        ),
    ],
)
def test_routes_that_cannot_be_served_are_refused_with_the_reason(
    routes: tuple[Route, ...], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        NetworkProblem((_node("A", 1, 10), _node("B", 1, 10)), routes)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"rate": Fraction(0)}, "rate must be > 0"), ({"cap_t": -1}, "cap must be ≥ 0")],
)
def test_a_route_with_a_rate_or_cap_out_of_range_is_refused(
    kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        Route("A", "B", YEAR, **kwargs)  # type: ignore[arg-type]


def test_a_value_creating_cycle_of_three_routes_is_refused() -> None:
    routes = (
        Route("A", "B", YEAR, rate=Fraction(3, 2)),
        Route("B", "C", YEAR),
        Route("C", "A", YEAR, rate=Fraction(3, 4)),
    )

    with pytest.raises(ValueError, match="multiply to 9/8"):
        NetworkProblem(_three_systems(), routes)


def test_a_system_with_two_nodes_in_one_year_is_refused() -> None:
    with pytest.raises(ValueError, match="A 2030 appears twice"):
        NetworkProblem((_node("A", 1, 10), _node("A", 2, 10)))


def test_more_nodes_than_the_limit_are_refused() -> None:
    nodes = tuple(SystemYear(f"S{i}", YEAR, ()) for i in range(NODES_MAX + 1))

    with pytest.raises(ValueError, match=f"1 to {NODES_MAX} nodes"):
        NetworkProblem(nodes)


def test_a_terminal_price_for_a_system_that_does_not_bank_is_refused() -> None:
    with pytest.raises(ValueError, match="does not bank"):
        NetworkProblem((_node("A", 1, 10),), terminal_price_minor={"A": Fraction(5)})


def test_unlimited_supply_that_can_reach_a_dearer_terminal_value_is_refused() -> None:
    """A sells without limit at 10; B banks out of the horizon at 20 (ρ = 0): buying in A to
    bank out of B gains 10 a unit, without end."""
    a = _node("A", 1, 10, supply=(Supply(None, Fraction(10)),))
    problem = NetworkProblem(
        (a, _node("B", 1, 10)), (Route("A", "B", YEAR),), frozenset({"B"}), 0, {"B": 20}
    )

    with pytest.raises(ValueError, match="unbounded arbitrage"):
        network_equilibrium(problem)


# --- properties: an auditor written from the optimality conditions -----------------------------


def _assert_optimal(problem: NetworkProblem, equilibrium: NetworkEquilibrium) -> None:
    """Assert every optimality condition exactly, from the problem's curves and the result.

    A firm abates optimally iff its abatement q minimises the convex cost(q) − p·q, i.e. iff
    that equals its value at abatement_at_price(p), the largest minimiser.
    """
    first = min(n.year for n in problem.nodes)
    growth = 1 + problem.interest_rate
    last: dict[str, int] = {}
    for node in problem.nodes:
        last[node.system_id] = max(last.get(node.system_id, node.year), node.year)
    pv: dict[tuple[str, int], Fraction] = {}
    for node, out in zip(problem.nodes, equilibrium.nodes, strict=True):
        price = out.price_minor
        pv[(node.system_id, node.year)] = (
            price * node.rate_to_common / growth ** (node.year - first)
        )
        for firm, result in zip(node.firms, out.firms, strict=True):
            best = firm.abatement_at_price(price)
            assert 0 <= result.abatement_t <= firm.max_abatement_t
            assert firm.mac.total_cost(result.abatement_t) - price * result.abatement_t == (
                firm.mac.total_cost(best) - price * best
            )
        for step, sold in zip(node.supply, out.supply_sold_by_step_t, strict=True):
            assert sold >= 0 and (step.quantity_t is None or sold <= step.quantity_t)
            assert sold == 0 or price >= step.price_minor
            assert price <= step.price_minor or step.quantity_t is None or sold == step.quantity_t
            assert step.quantity_t is not None or price <= step.price_minor
        holdout = Fraction(0)
        if node.system_id in problem.banking and node.year == last[node.system_id]:
            holdout = problem.terminal_price_minor.get(node.system_id, Fraction(0)) / growth
            assert out.bank_t == 0 or price == holdout
        assert price >= holdout and (out.unused_t == 0 or price == 0)
        emissions = sum(f.baseline_t for f in node.firms) - sum(
            (r.abatement_t for r in out.firms), Fraction(0)
        )
        assert emissions == out.emissions_t
        assert emissions + out.bank_t + out.unused_t == (
            out.allocation_t + out.supply_sold_t + out.net_import_t + out.bank_in_t
        )
    for flow in equilibrium.routes:
        r = flow.route
        _assert_edge(
            flow.flow_t, r.cap_t, pv[(r.from_system, r.year)], r.rate * pv[(r.to_system, r.year)]
        )
    for system_id in problem.banking:
        chain = sorted(
            (o for o in equilibrium.nodes if o.system_id == system_id), key=lambda o: o.year
        )
        for before, after in itertools.pairwise(chain):
            assert before.bank_t == after.bank_in_t
            _assert_edge(
                before.bank_t, None, pv[(system_id, before.year)], pv[(system_id, after.year)]
            )


def _assert_edge(units: Fraction, cap_t: int | None, tail: Fraction, head: Fraction) -> None:
    assert units >= 0 and (cap_t is None or units <= cap_t)
    assert units == 0 or tail <= head  # a unit moves only to where it is worth as much
    assert tail >= head or units == cap_t  # no gain is left on the table below the cap


fractions_positive = st.builds(Fraction, st.integers(1, 40), st.integers(1, 6))


@st.composite
def macs(draw: st.DrawFn) -> MacCurve:
    """A linear MAC (any intercept) or a step-and-slope curve; wide enough for any baseline."""
    if draw(st.booleans()):
        return LinearMac(draw(fractions_positive), draw(st.integers(-20, 60)))
    segments = []
    level = draw(st.integers(0, 20))
    for _ in range(draw(st.integers(1, 3))):
        start = level + draw(st.sampled_from([0, 5, 10, 15]))
        end = start + draw(st.sampled_from([0, 0, 10]))  # 0: a step, often at shared prices
        segments.append((draw(st.integers(1, 40)), start, end))
        level = end
    segments.append((120, level + 10, level + 200))  # every firm can abate its whole baseline
    return PiecewiseMac(segments)


@st.composite
def networks(draw: st.DrawFn) -> NetworkProblem:
    """1–4 systems over 1–3 years, with routes whose rates create no units round any cycle.

    Each system has a level v ∈ {1, 2} and a route's rate is v_from/v_to times 1 or 3/4, so
    every cycle multiplies a unit by at most 1. Every firm can abate its whole baseline, so
    every node can meet its needs alone. Unlimited supply costs at least 1,000·(1/2)/1.1² ≈ 413
    in present value, above any terminal value a path can reach (40 · 3/2 · 2 = 120), so no
    arbitrage is unbounded.
    """
    systems = ["A", "B", "C", "D"][: draw(st.integers(1, 4))]
    years = list(range(YEAR, YEAR + draw(st.integers(1, 3))))
    level = {s: draw(st.sampled_from([1, 2])) for s in systems}
    nodes = []
    for s in systems:
        rate_to_common = draw(st.sampled_from([Fraction(1), Fraction(1, 2), Fraction(3, 2)]))
        for year in years:
            firms = tuple(
                Firm(
                    f"{s}{year}f{i}",
                    draw(st.integers(0, 120)),
                    draw(st.integers(0, 120)),
                    draw(macs()),
                )
                for i in range(draw(st.integers(0, 3)))
            )
            supply = draw(
                st.lists(
                    st.builds(Supply, st.integers(0, 40), st.sampled_from([0, 10, 20, 30]))
                    | st.builds(Supply, st.none(), st.integers(1_000, 1_200)),
                    max_size=2,
                )
            )
            nodes.append(SystemYear(s, year, firms, rate_to_common, tuple(supply)))
    routes = []
    for _ in range(draw(st.integers(0, 6)) if len(systems) > 1 else 0):
        a, b = draw(st.permutations(systems))[:2]
        rate = Fraction(level[a], level[b]) * draw(st.sampled_from([1, 1, Fraction(3, 4)]))
        routes.append(
            Route(a, b, draw(st.sampled_from(years)), rate, draw(st.none() | st.integers(0, 30)))
        )
    banking = frozenset(draw(st.sets(st.sampled_from(systems))))
    terminal = {
        s: Fraction(draw(st.integers(0, 40))) for s in sorted(banking) if draw(st.booleans())
    }
    interest = draw(st.sampled_from([Fraction(0), Fraction(1, 10)]))
    return NetworkProblem(tuple(nodes), tuple(routes), banking, interest, terminal)


@given(networks())
def test_every_random_network_meets_the_optimality_conditions_exactly(
    problem: NetworkProblem,
) -> None:
    equilibrium = network_equilibrium(problem)

    _assert_optimal(problem, equilibrium)
    for node in equilibrium.nodes:
        assert node.firms == tuple(node.firm(f.firm_id) for f in node.firms)


@given(networks())
def test_linking_never_costs_more_than_autarky(problem: NetworkProblem) -> None:
    gains = linking_gains(problem)

    assert gains.gains_from_linking_minor >= 0
    assert gains.linked.compliance_cost_pv_minor <= gains.autarky.compliance_cost_pv_minor
    _assert_optimal(problem, gains.linked)


@given(networks())
def test_permits_surrendered_are_what_allocation_supply_rates_and_banks_allow(
    problem: NetworkProblem,
) -> None:
    """Summing every node's balance: Σ emissions = Σ allocation + Σ supply sold
    + Σ (rate − 1)·flow over routes − Σ left unused − Σ banked out of the horizon."""
    equilibrium = network_equilibrium(problem)

    banked_out = sum(
        (
            max((n for n in equilibrium.nodes if n.system_id == s), key=lambda n: n.year).bank_t
            for s in problem.banking
        ),
        Fraction(0),
    )
    allowed = (
        sum((n.allocation_t + n.supply_sold_t - n.unused_t for n in equilibrium.nodes), Fraction(0))
        + sum(((r.route.rate - 1) * r.flow_t for r in equilibrium.routes), Fraction(0))
        - banked_out
    )
    assert sum((n.emissions_t for n in equilibrium.nodes), Fraction(0)) == allowed


@st.composite
def single_markets(draw: st.DrawFn) -> list[Firm]:
    firms = []
    for i in range(draw(st.integers(1, 5))):
        mac = draw(macs())
        if isinstance(mac, LinearMac) and draw(st.booleans()):
            mac = LinearMac(mac.slope_minor_per_t2, mac.intercept_minor, draw(st.integers(0, 150)))
        firms.append(Firm(f"f{i}", draw(st.integers(0, 120)), draw(st.integers(0, 120)), mac))
    return firms


@given(single_markets())
def test_one_node_without_supply_is_the_competitive_equilibrium(firms: list[Firm]) -> None:
    problem = NetworkProblem((SystemYear("X", YEAR, tuple(firms)),))
    try:
        expected = competitive_equilibrium(firms)
    except InfeasibleCapError:
        with pytest.raises(InfeasibleCapError):
            network_equilibrium(problem)
        return

    node = network_equilibrium(problem).nodes[0]

    assert node.price_minor == expected.price_minor
    assert [f.abatement_t for f in node.firms] == [f.abatement_t for f in expected.firms]
    assert node.abatement_cost_minor == expected.total_cost_minor
    assert node.emissions_t == expected.emissions_t
