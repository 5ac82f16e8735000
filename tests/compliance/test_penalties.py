"""Penalties for a shortfall: each real rule by example, and the fine's sign by property."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from compliance.errors import ComplianceCode, ComplianceError
from compliance.penalties import PenaltyAssessment, assess_penalty, penalty_average_price_minor
from compliance.regime import PenaltyKind, PenaltyRule
from compliance.stability import MonthlyPrice

# EU: EUR 100/t (in cents) and the missing allowances are still owed (DEHSt; emissionshaendler.com).
EU_RULE = PenaltyRule(kind=PenaltyKind.FIXED_PER_TONNE, make_good=True, fixed_per_t_minor=10_000)
# Korea: up to 3× the year's average market price, at most KRW 100,000/t (climate-laws.org).
KOREA_RULE = PenaltyRule(
    kind=PenaltyKind.MARKET_PRICE_MULTIPLE,
    make_good=False,
    price_multiple=Fraction(3),
    price_window_months=12,
    cap_per_t_minor=100_000,
)
# Shenzhen pilot: make good, and fine = shortfall × 3 × the previous 6 months' average (bjruji.com).
SHENZHEN_RULE = PenaltyRule(
    kind=PenaltyKind.MARKET_PRICE_MULTIPLE,
    make_good=True,
    price_multiple=Fraction(3),
    price_window_months=6,
)
# California: untimely surrender obligation 4× the excess, >= 3/4 in allowances (17 CCR §95857).
CALIFORNIA_RULE = PenaltyRule(
    kind=PenaltyKind.ADDED_OBLIGATION,
    make_good=False,
    obligation_multiple=Fraction(4),
    allowance_share_min=Fraction(3, 4),
)


def _refused_code(call: object) -> ComplianceCode:
    assert callable(call)
    with pytest.raises(ComplianceError) as caught:
        call()
    code = caught.value.code
    assert isinstance(code, ComplianceCode)
    return code


def test_eu_shortfall_costs_100_euro_a_tonne_and_the_allowances_are_still_owed() -> None:
    assessment = assess_penalty(EU_RULE, 120, None)
    assert assessment.fine_minor == 1_200_000  # EUR 12,000.00
    assert assessment.carried_t == 120
    assert assessment.added_obligation_t == 0
    assert "10,000 minor/t × 120 t = 1,200,000 minor" in assessment.rule_text


def test_korea_fine_is_three_times_the_average_price_below_the_cap() -> None:
    assessment = assess_penalty(KOREA_RULE, 10, 20_000)
    assert assessment.fine_minor == 600_000  # 10 t × 3 × KRW 20,000
    assert assessment.carried_t == 0


def test_korea_fine_is_capped_at_100000_won_a_tonne() -> None:
    # 3 × KRW 40,000 = 120,000/t, above the KRW 100,000/t cap.
    assessment = assess_penalty(KOREA_RULE, 10, 40_000)
    assert assessment.fine_minor == 1_000_000
    assert "capped at 100,000 minor/t" in assessment.rule_text


def test_the_explanation_reads_in_the_regimes_currency_when_it_is_given() -> None:
    """What `etslink compliance status` prints under the penalties table: the EU's
    EUR 100/t (Directive 2003/87/EC Art. 16(3)) and Korea's cap of KRW 100,000/t
    (reference/registry-and-linking.md, climate-laws.org), in major units, not "minor"."""
    eu = assess_penalty(EU_RULE, 120, None, "EUR")
    assert eu.rule_text.startswith("fixed EUR 100.00/t × 120 t = EUR 12,000.00")
    korea = assess_penalty(KOREA_RULE, 10, 40_000, "KRW")
    assert korea.rule_text == (
        "3 × average price KRW 40,000/t, capped at KRW 100,000/t: "
        "10 t × KRW 100,000/t = KRW 1,000,000 (rounded half up)"
    )
    assert "minor" not in eu.rule_text + korea.rule_text


def test_shenzhen_fine_is_three_times_the_six_month_average_plus_make_good() -> None:
    # Monthly prices in fen (RMB 0.01); only the last 6 months count.
    prices_fen = [9_999, 2_800, 3_000, 3_100, 2_900, 3_050, 3_150]
    prices = [MonthlyPrice(2019, month, fen) for month, fen in enumerate(prices_fen, start=1)]
    average_fen = penalty_average_price_minor(SHENZHEN_RULE, prices)
    assert average_fen == 3_000  # (2,800 + 3,000 + 3,100 + 2,900 + 3,050 + 3,150) / 6
    assessment = assess_penalty(SHENZHEN_RULE, 50, average_fen)
    assert assessment.fine_minor == 450_000  # 50 t × 3 × RMB 30.00 = RMB 4,500.00
    assert assessment.carried_t == 50


def test_six_month_average_rounds_half_up_to_the_minor_unit() -> None:
    prices = [MonthlyPrice(2020, month, 100 if month < 6 else 103) for month in range(1, 7)]
    # (5 × 100 + 103) / 6 = 100.5 → 101.
    assert penalty_average_price_minor(SHENZHEN_RULE, prices) == 101


def test_market_price_fine_rounds_half_up_once_on_the_total() -> None:
    rule = PenaltyRule(PenaltyKind.MARKET_PRICE_MULTIPLE, False, price_multiple=Fraction(5, 2))
    assert assess_penalty(rule, 1, 101).fine_minor == 253  # 252.5 → 253
    assert assess_penalty(rule, 2, 101).fine_minor == 505  # exact, not 2 × 253


def test_california_untimely_surrender_owes_four_times_with_three_quarters_in_allowances() -> None:
    assessment = assess_penalty(CALIFORNIA_RULE, 100, None)
    assert assessment.added_obligation_t == 400
    assert assessment.allowance_share_min == Fraction(3, 4)
    assert assessment.allowances_min_t == 300
    assert assessment.fine_minor == 0
    assert assessment.carried_t == 0  # the 4× replaces the unfulfilled obligation


def test_zero_shortfall_yields_all_zeros_under_every_rule() -> None:
    zero = PenaltyAssessment(0, 0, 0, Fraction(0), 0, "no shortfall: no penalty")
    for rule in (EU_RULE, KOREA_RULE, SHENZHEN_RULE, CALIFORNIA_RULE):
        assert assess_penalty(rule, 0, None) == zero


def test_market_price_rule_without_a_price_is_refused_rather_than_skipped() -> None:
    for price in (None, 0):
        code = _refused_code(lambda price=price: assess_penalty(KOREA_RULE, 10, price))
        assert code is ComplianceCode.PRICE_SERIES_INVALID
    with pytest.raises(ComplianceError, match="needs a positive average price, was None"):
        assess_penalty(SHENZHEN_RULE, 1, None)


def test_negative_or_float_price_is_refused_as_an_invalid_price() -> None:
    negative = _refused_code(lambda: assess_penalty(EU_RULE, 1, -1))
    fractional = _refused_code(lambda: assess_penalty(KOREA_RULE, 1, 2.5))  # type: ignore[arg-type]
    assert negative is fractional is ComplianceCode.PRICE_SERIES_INVALID


def test_negative_shortfall_is_refused() -> None:
    with pytest.raises(ComplianceError, match="shortfall_t must be a non-negative integer, was -3"):
        assess_penalty(EU_RULE, -3, None)


def test_added_obligation_with_make_good_is_refused_as_counting_the_shortfall_twice() -> None:
    rule = PenaltyRule(PenaltyKind.ADDED_OBLIGATION, True, obligation_multiple=Fraction(4))
    assert _refused_code(lambda: assess_penalty(rule, 1, None)) is (
        ComplianceCode.ALLOCATION_INPUT_INVALID
    )


def test_penalty_average_needs_the_whole_window_of_consecutive_months() -> None:
    five = [MonthlyPrice(2020, month, 100) for month in range(1, 6)]
    with pytest.raises(ComplianceError, match=r"expected at least 6 monthly prices .* found 5"):
        penalty_average_price_minor(SHENZHEN_RULE, five)
    gapped = [*five, MonthlyPrice(2020, 7, 100)]
    with pytest.raises(ComplianceError, match="2020-05 is followed by 2020-07"):
        penalty_average_price_minor(SHENZHEN_RULE, gapped)


def test_no_fine_rule_with_make_good_carries_the_shortfall_only() -> None:
    rule = PenaltyRule(PenaltyKind.NONE, make_good=True)
    assessment = assess_penalty(rule, 7, None)
    assert (assessment.fine_minor, assessment.added_obligation_t, assessment.carried_t) == (0, 0, 7)


# --- Properties ------------------------------------------------------------------------------

fine_rules = st.one_of(
    st.builds(
        PenaltyRule,
        kind=st.just(PenaltyKind.FIXED_PER_TONNE),
        make_good=st.booleans(),
        fixed_per_t_minor=st.integers(min_value=1, max_value=1_000_000),
    ),
    st.builds(
        PenaltyRule,
        kind=st.just(PenaltyKind.MARKET_PRICE_MULTIPLE),
        make_good=st.booleans(),
        # At least half a minor unit per tonne on a positive price, so one
        # tonne's fine cannot round to zero.
        price_multiple=st.fractions(min_value=Fraction(1, 2), max_value=10, max_denominator=100),
        price_window_months=st.integers(min_value=1, max_value=12),
        cap_per_t_minor=st.one_of(st.none(), st.integers(min_value=1, max_value=1_000_000)),
    ),
)


@given(
    rule=fine_rules,
    shortfall_t=st.integers(min_value=0, max_value=10**9),
    price_minor=st.integers(min_value=1, max_value=10**7),
)
def test_fine_is_never_negative_and_zero_exactly_when_there_is_no_shortfall(
    rule: PenaltyRule, shortfall_t: int, price_minor: int
) -> None:
    assessment = assess_penalty(rule, shortfall_t, price_minor)
    assert assessment.fine_minor >= 0
    assert (assessment.fine_minor == 0) == (shortfall_t == 0)
    assert assessment.carried_t == (shortfall_t if rule.make_good else 0)


@given(
    multiple=st.fractions(min_value=Fraction(1, 100), max_value=10, max_denominator=100),
    share=st.fractions(min_value=0, max_value=1, max_denominator=100),
    shortfall_t=st.integers(min_value=0, max_value=10**9),
)
def test_added_obligation_never_understates_the_multiple_or_the_allowance_share(
    multiple: Fraction, share: Fraction, shortfall_t: int
) -> None:
    rule = PenaltyRule(
        PenaltyKind.ADDED_OBLIGATION,
        make_good=False,
        obligation_multiple=multiple,
        allowance_share_min=share,
    )
    assessment = assess_penalty(rule, shortfall_t, None)
    assert assessment.added_obligation_t >= multiple * shortfall_t
    assert assessment.added_obligation_t < multiple * shortfall_t + 1
    assert assessment.allowances_min_t >= share * assessment.added_obligation_t
    assert (assessment.added_obligation_t == 0) == (shortfall_t == 0)
