"""Shares print exactly, to at most two decimal places of a percent."""

from fractions import Fraction

from registry.formatting import percent, percents_apart, share_over_cap


def test_percent_prints_whole_and_fractional_shares_without_floats() -> None:
    assert percent(Fraction(1, 10)) == "10%"
    assert percent(Fraction(1001, 10_000)) == "10.01%"
    assert percent(Fraction(501, 1000)) == "50.1%"
    assert percent(Fraction(0)) == "0%"
    assert percent(Fraction(3, 4)) == "75%"


def test_shares_a_tonne_apart_print_with_the_digits_that_tell_them_apart() -> None:
    assert percents_apart(Fraction(100_001, 1_000_000), Fraction(1, 10)) == ("10.0001%", "10%")
    assert percents_apart(Fraction(1, 8), Fraction(1, 8)) == ("12.5%", "12.5%")
    assert share_over_cap(100_001, 1_000_000, Fraction(1, 10)) == (
        "100,001 t of 1,000,000 t is 10.0001%, over the cap of 10% (100,000 t)"
    )
    # 12.5% of 1,000,001 t is 125,000.125 t: whole tonnes, rounded down.
    assert share_over_cap(125_001, 1_000_001, Fraction(1, 8)).endswith("(125,000 t)")
