"""Market stability: WCI floor and ceiling, Korea's reserve trigger, and the events they raise."""

from __future__ import annotations

from datetime import date, timedelta
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from compliance.errors import ComplianceCode, ComplianceError
from compliance.presets import load_preset
from compliance.regime import StabilityRules
from compliance.stability import (
    MonthlyPrice,
    StabilityEventKind,
    auction_cancellation_minor,
    evaluate_stability,
    korea_trigger_month,
    price_ceiling_minor,
    price_floor_minor,
    recent_market_reserve_minor,
)

# WCI: auction reserve price $10 in 2012 rising 5% + inflation a year (Québec MELCCFP);
# price ceiling $65 in 2021 rising likewise (17 CCR §95915). In US cents.
WCI_RULES = StabilityRules(
    price_floor_minor=1_000,
    price_floor_escalation=Fraction(5, 100),
    price_ceiling_minor=6_500,
    price_ceiling_escalation=Fraction(5, 100),
    base_year=2012,
    price_ceiling_base_year=2021,
)
# Korea: 6 consecutive months at >= 3× the average of the previous 2 years (FNI); up to 25%
# of the reserve released (IETA summary, [P]). In won.
KOREA_RULES = StabilityRules(
    trigger_months=6,
    trigger_multiple=Fraction(3),
    trigger_lookback_years=2,
    reserve_release_share_max=Fraction(25, 100),
)


def _year_of(year: int, price_minor: int) -> list[MonthlyPrice]:
    return [MonthlyPrice(year, month, price_minor) for month in range(1, 13)]


def _korea_series(spike_months: int, spike_won: int = 30_000) -> list[MonthlyPrice]:
    """KRW 10,000 a month through 2015-16, then `spike_months` months of `spike_won` in 2017."""
    quiet = _year_of(2015, 10_000) + _year_of(2016, 10_000)
    spike = [MonthlyPrice(2017, month, spike_won) for month in range(1, spike_months + 1)]
    calm = [MonthlyPrice(2017, month, 10_000) for month in range(spike_months + 1, 13)]
    return quiet + spike + calm


# --- WCI floor and ceiling -------------------------------------------------------------------


def test_wci_reserve_price_is_10_dollars_in_2012_and_10_50_in_2013_at_5_percent() -> None:
    assert price_floor_minor(WCI_RULES, 2012) == 1_000
    assert price_floor_minor(WCI_RULES, 2013) == 1_050


def test_wci_reserve_price_adds_inflation_to_the_5_percent() -> None:
    assert price_floor_minor(WCI_RULES, 2013, inflation=Fraction(2, 100)) == 1_070


def test_escalation_rounds_half_up_each_year() -> None:
    # 2014: 1,050 × 1.05 = 1,102.5 → 1,103; 2015 from 1,103: 1,158.15 → 1,158.
    assert price_floor_minor(WCI_RULES, 2014) == 1_103
    assert price_floor_minor(WCI_RULES, 2015) == 1_158


def test_wci_ceiling_is_65_dollars_in_2021_escalating_from_its_own_base_year() -> None:
    assert price_ceiling_minor(WCI_RULES, 2021) == 6_500
    assert price_ceiling_minor(WCI_RULES, 2022) == 6_825
    assert price_ceiling_minor(WCI_RULES, 2020) is None  # no ceiling before 2021


def test_no_floor_or_ceiling_before_the_base_year_or_when_the_rules_set_none() -> None:
    assert price_floor_minor(WCI_RULES, 2011) is None
    assert price_floor_minor(KOREA_RULES, 2020) is None
    assert price_ceiling_minor(KOREA_RULES, 2020) is None


def test_escalating_floor_without_a_base_year_is_refused() -> None:
    rules = StabilityRules(price_floor_minor=1_000, price_floor_escalation=Fraction(5, 100))
    with pytest.raises(ComplianceError, match="escalates by 1/20 a year but has no base year"):
        price_floor_minor(rules, 2013)


def test_float_inflation_is_refused() -> None:
    with pytest.raises(ComplianceError) as caught:
        price_floor_minor(WCI_RULES, 2013, inflation=0.02)  # type: ignore[arg-type]
    assert caught.value.code is ComplianceCode.PRICE_SERIES_INVALID


# --- Korea's reserve trigger -----------------------------------------------------------------


def test_korea_trigger_fires_on_the_sixth_consecutive_month_at_three_times() -> None:
    # FNI: 6 consecutive months at >= 3× the previous 2 years' average (KRW 10,000 → 30,000).
    assert korea_trigger_month(KOREA_RULES, _korea_series(6)) == MonthlyPrice(2017, 6, 30_000)


def test_korea_trigger_does_not_fire_on_five_months() -> None:
    assert korea_trigger_month(KOREA_RULES, _korea_series(5)) is None


def test_korea_trigger_does_not_fire_just_below_three_times() -> None:
    assert korea_trigger_month(KOREA_RULES, _korea_series(12, spike_won=29_999)) is None


def test_a_missing_month_breaks_the_run() -> None:
    series = [price for price in _korea_series(7) if (price.year, price.month) != (2017, 3)]
    # Jan-Feb, then Apr-Jul: neither run reaches 6 months.
    assert korea_trigger_month(KOREA_RULES, series) is None


def test_a_month_without_any_lookback_price_cannot_qualify() -> None:
    # 2017 prices only: nothing in 2015-16 to compare with.
    series = [MonthlyPrice(2017, month, 30_000) for month in range(1, 13)]
    assert korea_trigger_month(KOREA_RULES, series) is None


def test_lookback_mean_leaves_missing_months_out() -> None:
    # 2015-16 hold only two months, at 10,000 and 20,000: mean 15,000, threshold 45,000.
    series = [
        MonthlyPrice(2015, 6, 10_000),
        MonthlyPrice(2016, 6, 20_000),
        *[MonthlyPrice(2017, month, 45_000) for month in range(1, 7)],
    ]
    assert korea_trigger_month(KOREA_RULES, series) == MonthlyPrice(2017, 6, 45_000)


def test_rules_without_a_trigger_never_fire_and_a_partial_trigger_is_refused() -> None:
    assert korea_trigger_month(WCI_RULES, _korea_series(12)) is None
    partial = StabilityRules(trigger_months=6)
    with pytest.raises(ComplianceError, match="needs trigger_months, trigger_multiple"):
        korea_trigger_month(partial, _korea_series(12))


@pytest.mark.parametrize(
    "series",
    [
        [MonthlyPrice(2017, 2, 1), MonthlyPrice(2017, 1, 1)],
        [MonthlyPrice(2017, 1, 1), MonthlyPrice(2017, 1, 2)],
    ],
)
def test_unordered_or_repeated_months_are_refused(series: list[MonthlyPrice]) -> None:
    with pytest.raises(ComplianceError, match="rising order without repeats") as caught:
        korea_trigger_month(KOREA_RULES, series)
    assert caught.value.code is ComplianceCode.PRICE_SERIES_INVALID


@pytest.mark.parametrize(
    ("year", "month", "price_minor"), [(2017, 13, 1), (2017, 0, 1), (2017, 1, -1), (2017, 1, 1.5)]
)
def test_malformed_monthly_price_is_refused(year: int, month: int, price_minor: int) -> None:
    with pytest.raises(ComplianceError) as caught:
        MonthlyPrice(year, month, price_minor)
    assert caught.value.code is ComplianceCode.PRICE_SERIES_INVALID


# --- evaluate_stability ----------------------------------------------------------------------


def test_evaluate_reports_floor_breaches_and_ceiling_reaches_with_the_figures() -> None:
    prices = [
        MonthlyPrice(2022, 1, 2_000),  # the 2022 floor: 1,000 × 1.05^10, rounded yearly
        MonthlyPrice(2022, 2, 1_500),
        MonthlyPrice(2022, 3, 6_825),
    ]
    floor_minor = price_floor_minor(WCI_RULES, 2022)
    assert floor_minor == 1_630
    events = evaluate_stability(WCI_RULES, 2022, prices)
    assert [(event.kind, event.month, event.threshold_minor) for event in events] == [
        (StabilityEventKind.FLOOR_BREACHED, 2, 1_630),
        (StabilityEventKind.CEILING_REACHED, 3, 6_825),
    ]
    assert "price 1,500 minor/t against the 2022 floor of 1,630 minor/t" in events[0].detail


def test_evaluate_reports_the_korea_trigger_in_its_year_only() -> None:
    series = _korea_series(6)
    events = evaluate_stability(KOREA_RULES, 2017, series)
    assert [(event.kind, event.month, event.threshold_minor) for event in events] == [
        (StabilityEventKind.RESERVE_RELEASE_TRIGGERED, 6, 30_000)
    ]
    assert "reserve release up to 1/4" in events[0].detail
    assert evaluate_stability(KOREA_RULES, 2016, series) == []


def test_a_second_trigger_needs_a_fresh_run() -> None:
    events = evaluate_stability(KOREA_RULES, 2017, _korea_series(12))
    assert [event.month for event in events] == [6, 12]


def test_evaluate_without_prices_for_the_year_is_refused() -> None:
    with pytest.raises(ComplianceError, match="expected monthly prices for 2023, found none"):
        evaluate_stability(WCI_RULES, 2023, [MonthlyPrice(2022, 1, 2_000)])
    assert evaluate_stability(StabilityRules(), 2023, []) == []


# --- Properties ------------------------------------------------------------------------------


@given(
    start_minor=st.integers(min_value=0, max_value=1_000_000),
    escalation=st.fractions(min_value=0, max_value=Fraction(1, 2), max_denominator=1_000),
    inflation=st.fractions(min_value=0, max_value=Fraction(1, 10), max_denominator=1_000),
    base_year=st.integers(min_value=2000, max_value=2030),
    years=st.integers(min_value=0, max_value=40),
)
def test_floor_and_ceiling_never_fall_year_on_year_for_non_negative_escalation(
    start_minor: int, escalation: Fraction, inflation: Fraction, base_year: int, years: int
) -> None:
    rules = StabilityRules(
        price_floor_minor=start_minor,
        price_floor_escalation=escalation,
        price_ceiling_minor=start_minor,
        price_ceiling_escalation=escalation,
        base_year=base_year,
    )
    year = base_year + years
    for price_of in (price_floor_minor, price_ceiling_minor):
        this_year = price_of(rules, year, inflation)
        next_year = price_of(rules, year + 1, inflation)
        assert this_year is not None and next_year is not None
        assert next_year >= this_year


def _naive_trigger_month(rules: StabilityRules, prices: list[MonthlyPrice]) -> MonthlyPrice | None:
    """The reference: for each month, look back over the series directly for a qualifying run."""
    trigger_months = rules.trigger_months
    trigger_multiple = rules.trigger_multiple
    lookback = rules.trigger_lookback_years
    assert trigger_months is not None and trigger_multiple is not None and lookback is not None
    by_month = {(price.year, price.month): price for price in prices}

    def qualifies(price: MonthlyPrice) -> bool:
        lookback_years = range(price.year - lookback, price.year)
        history = [other.price_minor for other in prices if other.year in lookback_years]
        if not history:
            return False
        average = Fraction(sum(history), len(history))
        return price.price_minor >= trigger_multiple * average

    def months_before(year: int, month: int, count: int) -> tuple[int, int]:
        index = year * 12 + (month - 1) - count
        return index // 12, index % 12 + 1

    for price in prices:
        run = [
            by_month.get(months_before(price.year, price.month, back))
            for back in range(trigger_months)
        ]
        if all(month is not None and qualifies(month) for month in run):
            return price
    return None


@st.composite
def korea_like_series(draw: st.DrawFn) -> list[MonthlyPrice]:
    prices: list[MonthlyPrice] = []
    for index in range(draw(st.integers(min_value=0, max_value=72))):
        if draw(st.integers(min_value=0, max_value=9)) == 0:
            continue  # a missing month, one in ten
        price_minor = draw(st.sampled_from([0, 1, 2, 3, 5, 8, 9, 10, 15, 20, 30, 45]))
        prices.append(MonthlyPrice(2015 + index // 12, index % 12 + 1, price_minor))
    return prices


@given(
    prices=korea_like_series(),
    trigger_months=st.integers(min_value=1, max_value=6),
    trigger_multiple=st.sampled_from([Fraction(1), Fraction(3, 2), Fraction(2), Fraction(3)]),
    lookback_years=st.integers(min_value=1, max_value=3),
)
def test_korea_trigger_agrees_with_the_naive_reference(
    prices: list[MonthlyPrice], trigger_months: int, trigger_multiple: Fraction, lookback_years: int
) -> None:
    rules = StabilityRules(
        trigger_months=trigger_months,
        trigger_multiple=trigger_multiple,
        trigger_lookback_years=lookback_years,
    )
    assert korea_trigger_month(rules, prices) == _naive_trigger_month(rules, prices)


# ---------------------------------------------------------------- Korea's auction floor


def test_korea_auction_floor_averages_three_months_last_month_and_the_last_three_days() -> None:
    """ICAP news 553 (1 June 2018) [P]: floor = (3-month mean + last month's mean + the
    previous 3 days' mean) / 3. Prices: 20,000 won for 61 days, then 26,000 for 27 days,
    then 29,000 for 3 days, the last on the day before the auction.

    3 months (91 days): (61 x 20,000 + 27 x 26,000 + 3 x 29,000) / 91 = 2,009,000 / 91;
    last month (30 days): (27 x 26,000 + 3 x 29,000) / 30 = 26,300;
    last 3 days: 29,000. Floor = (22,076.92... + 26,300 + 29,000) / 3 = 25,792.3 -> 25,792.
    """
    auction = date(2019, 4, 1)
    prices = [
        (auction - timedelta(days=back), 20_000 if back > 30 else 26_000 if back > 3 else 29_000)
        for back in range(91, 0, -1)
    ]
    assert recent_market_reserve_minor(prices, auction) == 25_792


def test_korea_auction_floor_ignores_prices_on_or_after_the_auction_day_and_needs_one() -> None:
    auction = date(2019, 4, 1)
    assert recent_market_reserve_minor([(auction, 30_000)], auction) is None
    stale = [(auction - timedelta(days=120), 30_000)]
    assert recent_market_reserve_minor(stale, auction) is None  # nothing in 3 months
    lone = [(auction - timedelta(days=60), 24_000)]
    assert recent_market_reserve_minor(lone, auction) == 24_000  # every mean is the one price


@given(
    st.lists(st.integers(1, 10**6), min_size=1, max_size=120),
    st.integers(0, 30),
)
def test_korea_auction_floor_lies_within_the_recent_prices(prices: list[int], gap: int) -> None:
    auction = date(2020, 6, 1)
    dated = [
        (auction - timedelta(days=gap + len(prices) - index), price)
        for index, price in enumerate(prices)
    ]
    recent = [price for day, price in dated if (auction - day).days <= 91]
    floor = recent_market_reserve_minor(dated, auction)
    if not recent:
        assert floor is None
    else:
        assert floor is not None and min(recent) <= floor <= max(recent)


def test_the_eu_preset_cancels_an_auction_below_90_percent_of_the_secondary_price() -> None:
    """EU: an auction whose clearing price is significantly under the secondary price is
    cancelled (Commission Regulation (EU) No 1031/2010, Art. 7(6)); the threshold is not
    published: the preset's 10% discount is [U] and listed as such."""
    eu = load_preset("eu")
    assert eu.stability.auction_cancellation_discount == Fraction(1, 10)
    assert "stability.auction_cancellation_discount" in eu.unverified
    assert auction_cancellation_minor(eu.stability, 3_000) == 2_700  # EUR 27.00 of EUR 30.00
    assert auction_cancellation_minor(eu.stability, None) is None  # nothing to compare with
    assert auction_cancellation_minor(load_preset("california").stability, 3_000) is None


@given(
    discount=st.fractions(min_value=0, max_value=Fraction(99, 100)),
    secondary=st.integers(min_value=0, max_value=10**9),
)
def test_the_cancellation_threshold_is_exactly_the_discounted_secondary_price(
    discount: Fraction, secondary: int
) -> None:
    rules = StabilityRules(auction_cancellation_discount=discount)
    threshold = auction_cancellation_minor(rules, secondary)
    assert threshold == (1 - discount) * secondary and threshold <= secondary
