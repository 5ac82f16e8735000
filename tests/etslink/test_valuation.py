"""What a tonne is worth to a firm: compliance value, the foreign-unit cap, banking, MAC.

Figures: the Australia–EU interim link's cap, international units at most 50% of a
liability (DOMAIN.md, Linking; reference A21); the WCI auction reserve price, USD 10 in 2012
rising 5% a year (DOMAIN.md, California; preset fixtures/jurisdictions/california.toml).
"""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from compliance.presets import load_preset
from compliance.stability import price_floor_minor
from etslink.economics import LinearMac, PiecewiseMac
from etslink.sim.valuation import (
    bank_value_minor,
    covered_t,
    foreign_share_max,
    marginal_value_minor,
    target_held_t,
    year_end_abatement_t,
)

CURVE = LinearMac(Fraction(1, 100))  # MAC(q) = q/100 minor units a tonne


def test_foreign_units_count_at_their_rate_with_no_cap() -> None:
    assert covered_t(1_000, [(300, Fraction(1))], None) == 1_300
    assert covered_t(1_000, [(300, Fraction(1, 2))], None) == 1_150  # a unit counts 0.5 t


def test_australias_half_of_liability_caps_what_foreign_units_cover() -> None:
    # 50% of the obligation: with 1,000 home tonnes, at most 1,000 foreign units of value 1
    # (1,000 / (1,000 + 1,000) = 50%); the rest counts for nothing this year.
    share = foreign_share_max(load_preset("australia"), 2016)
    assert share == Fraction(1, 2)
    assert covered_t(1_000, [(600, Fraction(1))], share) == 1_600
    assert covered_t(1_000, [(1_500, Fraction(1))], share) == 2_000
    assert foreign_share_max(load_preset("eu"), 2016) is None


@given(
    st.integers(0, 10_000),
    st.integers(0, 10_000),
    st.fractions(Fraction(1, 4), Fraction(3)),
    st.fractions(Fraction(0), Fraction(9, 10)),
)
def test_counted_foreign_units_never_pass_the_cap_on_the_covered_obligation(
    home_t: int, foreign_units: int, value: Fraction, share: Fraction
) -> None:
    covered = covered_t(home_t, [(foreign_units, value)], share)
    counted_units = (covered - home_t) / value
    assert 0 <= counted_units <= foreign_units
    assert counted_units <= share * covered + 1  # whole units: at most one past the exact cap


def test_bank_value_is_the_best_discounted_floor_ahead_and_zero_without_a_floor() -> None:
    california = load_preset("california")
    floors = {year: price_floor_minor(california.stability, year) for year in (2019, 2020)}
    assert floors == {2019: 1_408, 2020: 1_478}  # USD 10 in 2012 + 5% a year, rounded
    # At 3% the floor rising 5% a year makes waiting to 2020 worth more than to 2019.
    value = bank_value_minor(california, 2018, 2019, Fraction(3, 100))
    assert value == max(
        Fraction(1_408) / Fraction(103, 100), Fraction(1_478) / Fraction(103, 100) ** 2
    )
    assert value == Fraction(1_478) / Fraction(103, 100) ** 2
    assert bank_value_minor(load_preset("eu"), 2020, 2023, Fraction(5, 100)) == 0


def test_marginal_value_is_the_mac_of_the_tonne_it_saves_between_bank_and_penalty() -> None:
    # Need 10,000 t, holding 4,000: one more tonne saves abating the 6,000th, 60 minor.
    assert marginal_value_minor(CURVE, 10_000, Fraction(4_000), Fraction(0), 1_000) == 60
    assert marginal_value_minor(CURVE, 10_000, Fraction(4_000), Fraction(80), 1_000) == 80
    assert marginal_value_minor(CURVE, 200_000, Fraction(0), Fraction(0), 1_000) == 1_000
    assert marginal_value_minor(CURVE, 10_000, Fraction(12_000), Fraction(7), 1_000) == 7
    steps = PiecewiseMac([(100, 5, 5)])  # 100 t at 5, nothing beyond
    assert marginal_value_minor(steps, 1_000, Fraction(0), Fraction(0), 900) == 900


def test_target_is_the_need_less_what_abating_at_the_price_saves() -> None:
    assert target_held_t(CURVE, 10_000, Fraction(30), Fraction(0), 1_000) == 7_000
    assert target_held_t(CURVE, 10_000, Fraction(5), Fraction(10), 1_000) is None  # bank more
    assert target_held_t(CURVE, 10_000, Fraction(2_000), Fraction(0), 1_000) == 0


@given(st.integers(1, 100_000), st.fractions(Fraction(0), Fraction(2_000)))
def test_at_the_target_a_tonne_is_worth_the_price(need_t: int, price: Fraction) -> None:
    target = target_held_t(CURVE, need_t, price, Fraction(0), 1_000)
    assert target is not None
    if 0 < target < need_t:
        assert marginal_value_minor(CURVE, need_t, target, Fraction(0), 1_000) == price


def test_year_end_abatement_covers_what_is_missing_and_what_banking_pays_for() -> None:
    # Short 3,000 t: abate them (MAC 30 < penalty 1,000).
    short = year_end_abatement_t(CURVE, 10_000, 10_000, Fraction(7_000), Fraction(0), 1_000)
    assert short == 3_000
    # Long, bank value 50: abate every tonne under 50 minor, 5,000 t, to bank the units.
    assert (
        year_end_abatement_t(CURVE, 10_000, 10_000, Fraction(12_000), Fraction(50), 1_000) == 5_000
    )
    # Nothing is worth abating past the penalty: at most a(1,000) = 100,000 t, then fined.
    fined = year_end_abatement_t(CURVE, 200_000, 200_000, Fraction(0), Fraction(0), 1_000)
    assert fined == 100_000
