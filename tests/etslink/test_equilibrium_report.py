"""The equilibrium report: the benchmark that matches the scenario's links, beside the run.

Hand computations use MAC(q) = slope·q: a firm abates p / slope at price p, and the area
under its curve to q is slope·q²/2 (economics.LinearMac). The linear two-market figures are
derived in tests/etslink/linear_cases.py.
"""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import pytest

from etslink import economics
from etslink.reports.benchmark import build_benchmark, build_problem, share_cap_t
from etslink.reports.equilibrium import efficiency, no_trade_cost_minor
from etslink.reports.links import band_minor
from etslink.reports.numbers import exact
from etslink.scenario import load_scenario
from etslink.sim.run import RunResult, run_scenario
from gateway.links import load_links
from tests.etslink import linear_cases as cases

KAZAKHSTAN = "fixtures/scenarios/kazakhstan.toml"
EU_SWITZERLAND = "fixtures/scenarios/eu-switzerland.toml"
AUSTRALIA_EU = "fixtures/scenarios/australia-eu-interim.toml"


def _two_linear_firms() -> list[economics.Firm]:
    return [
        economics.Firm("A", 100, 80, economics.LinearMac(2)),
        economics.Firm("B", 100, 70, economics.LinearMac(1)),
    ]


def test_efficiency_is_realised_over_possible_gains_from_trade() -> None:
    # No trade: A abates its 20 t short (2·20²/2 = 400), B its 30 t (30²/2 = 450): 850.
    # Cap 150 of 200: p/2 + p = 50 gives p = 100/3, least cost 2·(50/3)²/2 + (100/3)²/2 =
    # 2500/3; at most 850 − 2500/3 = 50/3 can be saved. A run costing 2525/3 saved 25/3:
    # half the gains from trade (Gode & Sunder's measure).
    no_trade = no_trade_cost_minor(_two_linear_firms())
    assert no_trade == 850
    least = economics.competitive_equilibrium(_two_linear_firms()).total_cost_minor
    assert least == Fraction(2500, 3)
    assert efficiency(no_trade, least, Fraction(2525, 3)) == {
        "no_trade_cost_minor": 850,
        "max_gains_minor": Fraction(50, 3),
        "realised_gains_minor": Fraction(25, 3),
        "allocative_efficiency": Fraction(1, 2),
    }
    assert efficiency(no_trade, least, least)["allocative_efficiency"] == 1
    assert efficiency(no_trade, least, no_trade)["allocative_efficiency"] == 0
    assert efficiency(no_trade, no_trade, no_trade)["allocative_efficiency"] is None


def test_exact_writes_whole_numbers_plainly_and_enormous_ones_to_thirty_places() -> None:
    assert exact(Fraction(6, 3)) == "2"
    assert exact(Fraction(-10, 3)) == "-10/3"
    huge = Fraction(10**6_000 + 1, 3 * 10**6_000)  # past Python's 4,300-digit limit
    text = exact(huge)
    assert 10**30 % int(text.partition("/")[2]) == 0
    assert abs(Fraction(text) - huge) <= Fraction(1, 2 * 10**30)


@pytest.fixture(scope="module")
def rated(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    folder = tmp_path_factory.mktemp("rated")
    path = cases.write_case(folder, "rated", 1, direction="unilateral", rate_into_eu=Fraction(1, 2))
    return run_scenario(load_scenario(path), folder / "out")


def test_the_benchmark_counts_the_links_rate_and_direction(rated: RunResult) -> None:
    problem, sources = build_problem(rated.record)
    assert [(s.route.from_system, s.route.to_system, s.route.rate) for s in sources] == [
        ("CH", "EU", Fraction(1, 2))  # one way: CHUs into the EU only, at half a tonne
    ]
    found = build_benchmark(rated.record)
    assert found.linked.node("EU", 2021).price_minor == cases.RATED["EUA"]
    assert found.linked.node("CH", 2021).price_minor == cases.RATED["CHU"]
    assert found.linked.routes[0].flow_t == cases.RATED["flow"]
    assert found.gains_from_linking_minor == cases.GAIN_RATED
    assert found.autarky.node("EU", 2021).price_minor == cases.AUTARKY["EUA"]
    assert problem.banking == {"CH", "EU"}  # both presets bank


def _one(rows: list[dict], **match: object) -> dict:
    (found,) = [row for row in rows if all(row[key] == value for key, value in match.items())]
    return found


def test_the_report_puts_the_benchmark_beside_the_run_with_exact_gaps(rated: RunResult) -> None:
    summary = rated.summary
    exact_rows = summary["exact"]
    assert summary["benchmark"]["status"] == "solved"
    eu = _one(exact_rows["systems"], registry="EU", year=2021)
    assert Fraction(eu["benchmark_price_common_minor"]) == cases.RATED["EUA"]
    assert Fraction(eu["autarky_price_common_minor"]) == cases.AUTARKY["EUA"]
    shown = _one(summary["systems"], registry="EU", year=2021)
    assert shown["currency"] == "EUR"
    assert shown["benchmark_price"] == pytest.approx(float(cases.RATED["EUA"]) / 100, abs=5e-5)
    gap = Fraction(eu["run_price_minor"]) - Fraction(eu["benchmark_price_minor"])
    assert shown["price_gap"] == pytest.approx(float(gap) / 100, abs=5e-5)
    cost_gap = Fraction(eu["run_cost_minor"]) - Fraction(eu["benchmark_cost_minor"])
    assert shown["cost_gap"] == pytest.approx(float(cost_gap) / 100, abs=5e-3)
    imports = [
        Fraction(_one(exact_rows["systems"], registry=c, year=2021)["net_import_t"])
        for c in ("CH", "EU")
    ]
    assert imports[1] == -imports[0] / 2  # CHUs out of CH count half a tonne each in the EU
    pair = _one(summary["link_pairs"], link_id="ch-eu", year=2021)
    pair_exact = _one(exact_rows["link_pairs"], link_id="ch-eu", year=2021)
    assert (pair["exporter"], pair["importer"], pair["rate"]) == ("CH", "EU", 0.5)
    assert pair_exact["rate"] == "1/2"
    assert Fraction(pair_exact["benchmark_gap_minor"]) == 0  # free flow: arbitrage closes it
    assert pair["within_band"] is True
    assert pair["reverse_flow_t"] == 0  # one way: nothing comes back
    assert pair["net_flow_t"] == pair["flow_t"]
    gains = Fraction(exact_rows["benchmark"]["gains_from_linking_minor"])
    assert gains == cases.GAIN_RATED


def test_a_foreign_unit_share_becomes_a_cap_on_the_route_into_the_importer(
    tmp_path: Path,
) -> None:
    # Australia's 50% of a liability (DOMAIN.md; reference A21): with H own permits and
    # EUAs at rate 1, at most 0.5·H / (1 − 0.5) = H EUAs cover half of H + H.
    result = run_scenario(load_scenario(AUSTRALIA_EU), tmp_path, years=1, days=10)
    problem, sources = build_problem(result.record)
    (source,) = [s for s in sources if s.route.year == 2015]
    assert (source.route.from_system, source.route.to_system) == ("EU", "AU")
    assert source.cap_source == "Australian carbon pricing mechanism foreign-unit share"
    au = next(node for node in problem.nodes if node.system_id == "AU")
    own_t = sum(f.allocation_t for f in au.firms) + sum(s.quantity_t or 0 for s in au.supply)
    assert source.route.cap_t == own_t == share_cap_t(Fraction(1, 2), Fraction(1), au)


def test_the_band_is_two_percent_plus_carrying_through_the_longest_window_wait() -> None:
    (link,) = load_links("fixtures/links/eu-switzerland.toml")
    price = Fraction(3_000)
    # 2023: Tuesdays and Thursdays, a wait of up to 4 days; 3% a year carries 4/365 of it.
    assert band_minor(link, 2023, price, Fraction(3, 100)) == price * (
        Fraction(2, 100) + Fraction(3, 100) * 4 / 365
    )


def test_the_band_adds_half_of_each_books_closing_spread_to_cross() -> None:
    """An arbitrageur buys at one book's ask and sells at the other's bid: a gap inside half
    of each spread leaves it nothing (docs/market.md, "Crossing the books")."""
    (link,) = load_links("fixtures/links/eu-switzerland.toml")
    price = Fraction(3_000)
    without = band_minor(link, 2023, price, Fraction(3, 100))
    assert band_minor(link, 2023, price, Fraction(3, 100), Fraction(45)) == without + 45


def test_a_standalone_run_reports_each_registry_and_no_links(tmp_path: Path) -> None:
    run_scenario(load_scenario(KAZAKHSTAN), tmp_path, years=1, days=10)
    summary = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert summary["link_pairs"] == [] and summary["benchmark_routes"] == []
    report = _one(summary["systems"], registry="KZ", year=2018)
    registry = _one(summary["registries"], registry="KZ", year=2018)
    assert report["run_abatement_t"] == registry["abatement_t"]
    assert report["benchmark_price"] == report["autarky_price"]
    assert Fraction(summary["exact"]["benchmark"]["gains_from_linking_minor"]) == 0
    assert summary["benchmark"]["gains_from_linking"] == 0


def test_eu_switzerland_counts_its_link_from_2020_on(tmp_path: Path) -> None:
    result = run_scenario(load_scenario(EU_SWITZERLAND), tmp_path, years=1, days=20)
    summary = result.summary
    assert summary["benchmark"]["currency"] == "EUR"
    routes = [r for r in summary["benchmark_routes"] if r["year"] == 2020]
    assert {(r["from_registry"], r["to_registry"]) for r in routes} == {
        ("EU", "CH"),
        ("CH", "EU"),
    }
    prices = {
        c: Fraction(
            _one(summary["exact"]["systems"], registry=c, year=2020)["benchmark_price_common_minor"]
        )
        for c in ("EU", "CH")
    }
    assert prices["EU"] == prices["CH"]  # one price across a free 1:1 link, in EUR
    assert Fraction(summary["exact"]["benchmark"]["gains_from_linking_minor"]) > 0
