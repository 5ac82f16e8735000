"""Shares print exactly, to at most two decimal places of a percent."""

from fractions import Fraction

from registry.formatting import percent


def test_percent_prints_whole_and_fractional_shares_without_floats() -> None:
    assert percent(Fraction(1, 10)) == "10%"
    assert percent(Fraction(1001, 10_000)) == "10.01%"
    assert percent(Fraction(501, 1000)) == "50.1%"
    assert percent(Fraction(0)) == "0%"
    assert percent(Fraction(3, 4)) == "75%"
