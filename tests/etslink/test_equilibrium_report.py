"""The equilibrium report: hand-computed competitive equilibria beside a simulated outcome.

Hand computations use MAC(q) = slope·q: a firm abates p / slope at price p, and the area
under its curve to q is slope·q²/2 (economics.LinearMac).
"""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

from etslink import economics
from etslink.reports.equilibrium import (
    Outcome,
    SystemYear,
    exact,
    linked_groups,
    linked_report,
    system_report,
)
from etslink.scenario import load_scenario
from etslink.sim.run import run_scenario

KAZAKHSTAN = "fixtures/scenarios/kazakhstan.toml"
EU_SWITZERLAND = "fixtures/scenarios/eu-switzerland.toml"


def _two_linear_firms(simulated: Outcome) -> SystemYear:
    firms = (
        economics.Firm("A", 100, 80, economics.LinearMac(2)),
        economics.Firm("B", 100, 70, economics.LinearMac(1)),
    )
    return SystemYear("XX", 2020, "linear", firms, simulated)


def test_one_registry_report_equals_the_hand_computed_equilibrium() -> None:
    # Cap 150 of baseline 200: 50 t to abate; p/2 + p = 50 gives p = 100/3,
    # A abates 50/3 and B 100/3, cost 2·(50/3)²/2 + (100/3)²/2 = 2500/3.
    report = system_report(_two_linear_firms(Outcome(Fraction(30), 48, Fraction(800))))
    assert report["analytical"] == {
        "status": "cleared",
        "price_minor": "100/3",
        "abatement_t": "50",
        "cost_minor": "2500/3",
    }
    assert report["simulated"] == {"price_minor": "30", "abatement_t": "48", "cost_minor": "800"}


def test_the_gap_is_exactly_simulated_minus_analytical() -> None:
    report = system_report(_two_linear_firms(Outcome(Fraction(30), 48, Fraction(800))))
    for key in ("price_minor", "abatement_t", "cost_minor"):
        gap = Fraction(report["gap"][key])
        assert gap == Fraction(report["simulated"][key]) - Fraction(report["analytical"][key])
    assert report["gap"] == {"price_minor": "-10/3", "abatement_t": "-2", "cost_minor": "-100/3"}


def test_efficiency_is_realised_over_possible_gains_from_trade() -> None:
    # No trade: A abates its 20 t short (2·20²/2 = 400), B its 30 t (30²/2 = 450): 850.
    # The equilibrium costs 2500/3, so at most 850 − 2500/3 = 50/3 can be saved. A run
    # costing 2525/3 saved 25/3: half the gains from trade (Gode & Sunder's measure).
    report = system_report(_two_linear_firms(Outcome(Fraction(30), 50, Fraction(2525, 3))))
    assert report["efficiency"] == {
        "no_trade_cost_minor": "850",
        "max_gains_minor": "50/3",
        "realised_gains_minor": "25/3",
        "allocative_efficiency": "1/2",
        "percent": 50,
    }
    at_equilibrium = system_report(_two_linear_firms(Outcome(None, 50, Fraction(2500, 3))))
    assert at_equilibrium["efficiency"]["allocative_efficiency"] == "1"
    no_trade = system_report(_two_linear_firms(Outcome(None, 50, Fraction(850))))
    assert no_trade["efficiency"]["allocative_efficiency"] == "0"


def test_efficiency_is_null_when_no_gains_from_trade_were_possible() -> None:
    firms = (economics.Firm("A", 100, 100, economics.LinearMac(2)),)  # allocated all it emits
    report = system_report(SystemYear("XX", 2020, "linear", firms, Outcome(None, 0, Fraction(0))))
    assert report["efficiency"]["allocative_efficiency"] is None
    assert report["efficiency"]["max_gains_minor"] == "0"


def test_no_simulated_price_leaves_the_price_gap_empty() -> None:
    report = system_report(_two_linear_firms(Outcome(None, 50, Fraction(0))))
    assert report["simulated"]["price_minor"] is None
    assert report["gap"]["price_minor"] is None
    assert report["gap"]["abatement_t"] == "0"


def test_piecewise_step_curves_are_solved_exactly() -> None:
    # 15 t to abate: the 5-a-tonne step gives 10, the 20-a-tonne step the last 5.
    steps = economics.PiecewiseMac([(10, 5, 5), (10, 20, 20)])
    system = SystemYear(
        "XX",
        2020,
        "piecewise",
        (economics.Firm("A", 30, 15, steps),),
        Outcome(None, 0, Fraction(0)),
    )
    analytical = system_report(system)["analytical"]
    assert analytical["price_minor"] == "20"
    assert analytical["abatement_t"] == "15"
    assert analytical["cost_minor"] == "150"


def test_linked_report_equalises_marginal_costs_in_the_common_currency() -> None:
    # Y's minor unit is worth 2 common units, so B's MAC reads 2q: P + P/2 = 40 gives
    # P = 80/3; A abates 80/3, B 40/3; cost (80/3)²/2 + 2·(40/3)²/2 = 1600/3; autarky 800.
    x = SystemYear(
        "X",
        2020,
        "linear",
        (economics.Firm("A", 100, 60, economics.LinearMac(1)),),
        Outcome(None, 0, Fraction(0)),
    )
    y = SystemYear(
        "Y",
        2020,
        "linear",
        (economics.Firm("B", 100, 100, economics.LinearMac(1)),),
        Outcome(None, 0, Fraction(0)),
    )
    report = linked_report(
        [x, y], {"X": Fraction(1), "Y": Fraction(2)}, Outcome(Fraction(25), 41, Fraction(500))
    )
    analytical = report["analytical"]
    assert analytical["price_minor"] == "80/3"
    assert analytical["local_price_minor"] == {"X": "80/3", "Y": "40/3"}
    assert analytical["abatement_t"] == "40"
    assert analytical["cost_minor"] == "1600/3"
    assert analytical["gains_from_linking_minor"] == "800/3"
    assert analytical["net_import_t"] == {"X": "40/3", "Y": "-40/3"}
    assert report["gap"] == {"price_minor": "-5/3", "abatement_t": "1", "cost_minor": "-100/3"}


def test_exact_writes_whole_numbers_plainly_and_fractions_as_p_over_q() -> None:
    assert exact(Fraction(6, 3)) == "2"
    assert exact(Fraction(-10, 3)) == "-10/3"


def test_an_enormous_fraction_is_written_to_thirty_places_not_refused() -> None:
    # A sum over thousands of generated curves: a denominator of some 6,000 digits,
    # past Python's 4,300-digit limit on writing an int.
    huge = Fraction(10**6_000 + 1, 3 * 10**6_000)
    text = exact(huge)
    denominator = text.partition("/")[2]
    assert 10**30 % int(denominator) == 0  # a power-of-ten denominator after reducing
    assert abs(Fraction(text) - huge) <= Fraction(1, 2 * 10**30)


def test_the_eu_switzerland_link_counts_from_2020_only() -> None:
    scenario = load_scenario(EU_SWITZERLAND)
    assert linked_groups(scenario, 2019) == []
    assert linked_groups(scenario, 2020) == [("CH", "EU")]


def test_summary_json_carries_each_registry_year_and_its_exact_gap(tmp_path: Path) -> None:
    run_scenario(load_scenario(KAZAKHSTAN), tmp_path, years=1, days=10)
    summary = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    report = summary["equilibrium"]["registries"]["KZ"]["2018"]
    assert report["firms"] == 20
    assert report["simulated"]["abatement_t"] == str(
        summary["registries"]["KZ"]["years"]["2018"]["abatement_t"]
    )
    for key in ("abatement_t", "cost_minor"):
        assert Fraction(report["gap"][key]) == Fraction(report["simulated"][key]) - Fraction(
            report["analytical"][key]
        )
    assert summary["equilibrium"]["links"] == {}


def test_a_linked_year_reports_one_price_in_the_scenario_currency(tmp_path: Path) -> None:
    result = run_scenario(load_scenario(EU_SWITZERLAND), tmp_path, years=1, days=20)
    section = result.summary["equilibrium"]
    assert section["currency"] == "EUR"
    (group,) = section["links"]["2020"]
    assert group["registries"] == ["CH", "EU"]
    analytical = group["analytical"]
    assert analytical["local_price_minor"]["EU"] == analytical["price_minor"]  # EUR is common
    imports = [Fraction(v) for v in analytical["net_import_t"].values()]
    assert sum(imports) == 0  # the joint cap binds: what one side imports the other exports
    assert Fraction(analytical["gains_from_linking_minor"]) >= 0
    for key in ("price_minor", "abatement_t", "cost_minor"):
        assert Fraction(group["gap"][key]) == Fraction(group["simulated"][key]) - Fraction(
            analytical[key]
        )
    # One linked year: the run's efficiency is that year's linked group's.
    assert section["over_run"] == {"years_left_out": [], "efficiency": group["efficiency"]}
