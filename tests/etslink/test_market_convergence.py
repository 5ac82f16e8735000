"""Linked markets in a run land on the closed-form equilibria of tests/etslink/linear_cases.py.

Each case runs over five seeds; the median of what the run shows — each book's closing
price, the units that crossed the link, and the gain from linking (the unlinked twin's
abatement cost with the same seed minus the linked run's) — must land within 2% of the
figure derived by hand (the gain: at least 90% of it). The figures and their derivation
are in linear_cases.py; the rules in shared/reference/linking-economics.md.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from fractions import Fraction

import pytest

from etslink.reports.prices import closing_price_minor
from etslink.scenario import load_scenario
from etslink.sim.run import run_scenario
from tests.etslink import linear_cases as cases

SEEDS = (1, 2, 3, 4, 5)
TOLERANCE = Fraction(2, 100)
YEAR = 2021


@dataclass(frozen=True)
class Outcome:
    closing_minor: dict[str, Fraction | None]
    flow_t: int
    cost_minor: Fraction


CASES: dict[str, dict[str, object]] = {
    "free": {},
    "capped": {"cap_t": 200_000},
    "oneway": {"direction": "unilateral"},
    "wrongway": {"direction": "unilateral", "into_eu": False},
    "rated": {"direction": "unilateral", "rate_into_eu": Fraction(1, 2)},
    "unlinked": {"linked": False},
}


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, int], Outcome]:
    folder = tmp_path_factory.mktemp("linear")
    found = {}
    for name, options in CASES.items():
        for seed in SEEDS:
            path = cases.write_case(folder, name, seed, **options)  # type: ignore[arg-type]
            record = run_scenario(load_scenario(path), folder / f"{name}-{seed}").record
            found[(name, seed)] = Outcome(
                {book: closing_price_minor(record, book, YEAR) for book in ("EUA", "CHU")},
                sum(row.quantity_t for row in record.transfers if row.status == "completed"),
                sum((row.abatement_cost_minor for row in record.firm_years), Fraction(0)),
            )
    return found


def _median(values: list[Fraction | int | None]) -> Fraction:
    present = [Fraction(v) for v in values if v is not None]
    assert present, "the book never traded in any seed"
    return Fraction(statistics.median(present))


def _near(found: Fraction, expected: Fraction) -> bool:
    if expected == 0:
        return found == 0
    return abs(found - expected) <= TOLERANCE * expected


def _check(
    outcomes: dict[tuple[str, int], Outcome], name: str, expected: dict[str, Fraction]
) -> None:
    for book in ("EUA", "CHU"):
        price = _median([outcomes[(name, seed)].closing_minor[book] for seed in SEEDS])
        assert _near(price, expected[book]), (name, book, float(price), float(expected[book]))
    flow = _median([outcomes[(name, seed)].flow_t for seed in SEEDS])
    assert _near(flow, expected["flow"]), (name, float(flow), float(expected["flow"]))


def _gain(outcomes: dict[tuple[str, int], Outcome], name: str) -> Fraction:
    return _median(
        [
            outcomes[("unlinked", seed)].cost_minor - outcomes[(name, seed)].cost_minor
            for seed in SEEDS
        ]
    )


def test_the_unlinked_twin_trades_at_each_markets_autarky_price(
    outcomes: dict[tuple[str, int], Outcome],
) -> None:
    _check(outcomes, "unlinked", cases.AUTARKY)
    cost = _median([outcomes[("unlinked", seed)].cost_minor for seed in SEEDS])
    assert _near(cost, cases.AUTARKY_COST)  # each market meets its cap at least cost


def test_a_free_link_brings_one_price_and_the_whole_gain_from_linking(
    outcomes: dict[tuple[str, int], Outcome],
) -> None:
    _check(outcomes, "free", cases.FREE)
    assert _gain(outcomes, "free") >= Fraction(9, 10) * cases.GAIN_FREE


def test_a_binding_cap_leaves_a_gap_the_scarce_units_explain(
    outcomes: dict[tuple[str, int], Outcome],
) -> None:
    _check(outcomes, "capped", cases.CAPPED)
    assert _gain(outcomes, "capped") >= Fraction(9, 10) * cases.GAIN_CAPPED


def test_a_one_way_link_carries_the_two_way_result_in_its_direction(
    outcomes: dict[tuple[str, int], Outcome],
) -> None:
    _check(outcomes, "oneway", cases.FREE)
    assert _gain(outcomes, "oneway") >= Fraction(9, 10) * cases.GAIN_FREE


def test_a_one_way_link_against_the_flow_changes_nothing(
    outcomes: dict[tuple[str, int], Outcome],
) -> None:
    _check(outcomes, "wrongway", cases.AUTARKY)


def test_an_exchange_rate_splits_prices_by_the_rate_and_firms_count_it(
    outcomes: dict[tuple[str, int], Outcome],
) -> None:
    _check(outcomes, "rated", cases.RATED)
    assert _gain(outcomes, "rated") >= Fraction(9, 10) * cases.GAIN_RATED


def test_a_firm_that_counted_a_foreign_unit_as_a_tonne_would_fail_this(
    outcomes: dict[tuple[str, int], Outcome],
) -> None:
    # The rated case is not the free case: at 1:1 the flow would be 500,000 CHUs and one
    # price 2,250; at 1/2 the prices differ by the rate.
    rated = _median([outcomes[("rated", seed)].flow_t for seed in SEEDS])
    assert not _near(rated, cases.FREE["flow"])
    eua = _median([outcomes[("rated", seed)].closing_minor["EUA"] for seed in SEEDS])
    chu = _median([outcomes[("rated", seed)].closing_minor["CHU"] for seed in SEEDS])
    assert _near(chu / eua, Fraction(1, 2))
