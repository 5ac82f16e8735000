"""Money as people read it and as tools load it: `etslink.reports.figures`.

The minor-unit digits are ISO 4217's (EUR and CHF 2, KRW and JPY 0, KZT 2:
the tiyn); an amount stored in minor units reads back exactly from its text.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from compliance.currencies import CURRENCY_MINOR_DIGITS
from etslink.reports.figures import (
    amount,
    major,
    minor,
    money,
    number,
    per_tonne,
    percent,
    round_half_up,
    tonnes,
)

CURRENCIES = sorted(CURRENCY_MINOR_DIGITS)


def test_the_issues_examples_read_as_people_say_them() -> None:
    assert money(2897, "EUR") == "EUR 28.97"
    assert money(23_400, "KRW") == "KRW 23,400"
    assert money(3120, "CHF") == "CHF 31.20"
    assert money(49_140_888_865, "EUR") == "EUR 491,408,888.65"
    assert money(-150, "EUR") == "EUR -1.50"
    assert money(None, "EUR") == "-"
    assert amount(289_720, "EUR") == "2,897.20"
    assert per_tonne("EUR") == "EUR/t"
    assert tonnes(1_250) == "1,250 t"
    assert percent(Fraction(1, 4)) == "25.0%"


def test_json_numbers_are_numbers_in_major_units() -> None:
    assert major(2897, "EUR") == 28.97
    assert major(23_400, "KRW") == 23_400 and isinstance(major(23_400, "KRW"), int)
    assert major(Fraction(12_604_539, 2171), "EUR", 2) == 58.0587  # a VWAP: 5805.87…¢
    assert major(None, "EUR") is None
    assert minor(Fraction(12_604_539, 2171)) == 5806
    assert number(Fraction(1, 3)) == 0.333333 and number(7) == 7


def test_rounding_is_half_away_from_zero_not_to_even() -> None:
    assert round_half_up(Fraction(5, 2)) == 3  # Python's round(2.5) is 2
    assert round_half_up(Fraction(-5, 2)) == -3
    assert amount(Fraction(1, 2), "KRW") == "1"


@given(st.integers(-(10**15), 10**15), st.sampled_from(CURRENCIES))
def test_an_amount_in_minor_units_reads_back_exactly(value_minor: int, currency: str) -> None:
    text = money(value_minor, currency)
    code, _, shown = text.partition(" ")
    assert code == currency
    digits = CURRENCY_MINOR_DIGITS[currency]
    assert Decimal(shown.replace(",", "")) * 10**digits == value_minor
    assert Decimal(str(major(value_minor, currency))) * 10**digits == value_minor


@given(
    st.fractions(min_value=-(10**9), max_value=10**9, max_denominator=10**6),
    st.sampled_from(CURRENCIES),
)
def test_a_fraction_shows_within_half_a_last_place(value: Fraction, currency: str) -> None:
    digits = CURRENCY_MINOR_DIGITS[currency]
    shown = Fraction(Decimal(amount(value, currency).replace(",", ""))) * 10**digits
    assert abs(shown - value) <= Fraction(1, 2)
