"""Market-stability rules: escalating price floors and ceilings, and Korea's reserve trigger.

Prices are integer minor units per tonne. An escalated floor or ceiling is
rounded half up to the minor unit once per year, as published figures are;
trigger comparisons are exact (`Fraction`), never rounded. Invalid input
raises `ComplianceError` with `PRICE_SERIES_INVALID` (or `PERIOD_INVALID`
for a year the rules cannot reach), saying what was expected and found.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from fractions import Fraction

from compliance.errors import ComplianceCode, ComplianceError
from compliance.regime import StabilityRules

# Limits: a series of a century of months, an escalation of two centuries.
PRICE_SERIES_MONTHS_MAX = 1_200
ESCALATION_YEARS_MAX = 200


def _refuse(message: str) -> ComplianceError:
    return ComplianceError(ComplianceCode.PRICE_SERIES_INVALID, message)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _round_half_up(value: Fraction) -> int:
    """Round a non-negative amount to the nearest minor unit, halves up."""
    assert value >= 0, value
    return math.floor(value + Fraction(1, 2))


@dataclass(frozen=True, slots=True)
class MonthlyPrice:
    """The market's price for one calendar month, in minor units per tonne."""

    year: int
    month: int
    price_minor: int

    def __post_init__(self) -> None:
        if not _is_int(self.year) or not _is_int(self.month) or not 1 <= self.month <= 12:
            raise _refuse(f"a monthly price needs an integer year and month 1-12, was {self!r}")
        if not _is_int(self.price_minor) or self.price_minor < 0:
            raise _refuse(
                f"a monthly price must be a non-negative integer of minor units, "
                f"was {self.price_minor!r} for {self.year}-{self.month:02d}"
            )

    @property
    def month_index(self) -> int:
        """Return months since year 0, so consecutive months differ by 1."""
        return self.year * 12 + self.month - 1


def is_next_month(earlier: MonthlyPrice, later: MonthlyPrice) -> bool:
    """Return whether `later` is the calendar month right after `earlier`."""
    return later.month_index == earlier.month_index + 1


def _escalated_minor(
    start_minor: int, base_year: int | None, year: int, rate: Fraction, what: str
) -> int | None:
    """Compound `start_minor` by (1 + rate) a year from `base_year`, rounding half up each year."""
    if not _is_int(start_minor) or start_minor < 0:
        raise _refuse(f"the {what} must be a non-negative integer, was {start_minor!r}")
    if rate <= -1:
        raise _refuse(f"the {what}'s escalation plus inflation must exceed -1, was {rate}")
    if base_year is None:
        if rate != 0:
            raise _refuse(f"the {what} escalates by {rate} a year but has no base year")
        return start_minor
    if year < base_year:
        return None  # the control did not exist yet
    if year - base_year > ESCALATION_YEARS_MAX:
        raise ComplianceError(
            ComplianceCode.PERIOD_INVALID,
            f"escalation runs at most {ESCALATION_YEARS_MAX} years from {base_year}, "
            f"was {year - base_year} (to {year})",
        )
    price_minor = start_minor
    for _ in range(year - base_year):
        price_minor = _round_half_up(price_minor * (1 + rate))
    return price_minor


def _rate(escalation: Fraction, inflation: Fraction) -> Fraction:
    for name, value in (("escalation", escalation), ("inflation", inflation)):
        if isinstance(value, bool) or not isinstance(value, int | Fraction):
            raise _refuse(f"{name} must be a Fraction or an integer, was {value!r}")
    return Fraction(escalation) + Fraction(inflation)


def price_floor_minor(
    rules: StabilityRules, year: int, inflation: Fraction = Fraction(0)
) -> int | None:
    """Return the floor in `year`, escalated yearly from `rules.base_year`; None when there is none.

    Each year multiplies by (1 + escalation + inflation) and rounds half up
    to the minor unit (WCI auction reserve price: $10 in 2012, +5% +
    inflation a year; Québec MELCCFP). Before the base year: None.
    """
    if rules.price_floor_minor is None:
        return None
    rate = _rate(rules.price_floor_escalation, inflation)
    return _escalated_minor(rules.price_floor_minor, rules.base_year, year, rate, "price floor")


# Korea's auction floor looks back over these spans of daily prices (ICAP, 1 June 2018 [P]).
RECENT_MARKET_MONTHS_DAYS = 91  # "the previous 3 months"
RECENT_MARKET_MONTH_DAYS = 30  # "last month"
RECENT_MARKET_SESSIONS = 3  # "the previous 3 days": the last three days with a price


def recent_market_reserve_minor(prices: Sequence[tuple[date, int]], on: date) -> int | None:
    """Return Korea's auction floor for an auction on `on`, from daily market prices.

    (mean over the previous 3 months + mean over the last month + mean over the
    previous 3 days with a price) / 3, rounded half up (the 2018 reserve sale's
    rule, ICAP news 553, 1 June 2018 [P]; ICAP reports the monthly auctions'
    reserve as set "based on the average price over various points during the
    previous three months" — the same rule is assumed [U]). `prices` are (day,
    price in minor units) in day order; only days before `on` count. Without a
    price in the last 3 months there is no floor to set: None (the auction waits).
    A month without a price counts as the 3 months' mean.
    """
    earlier = [(day, price) for day, price in prices if day < on]
    quarter = [price for day, price in earlier if (on - day).days <= RECENT_MARKET_MONTHS_DAYS]
    if not quarter:
        return None
    month = [price for day, price in earlier if (on - day).days <= RECENT_MARKET_MONTH_DAYS]
    last_days = [price for _, price in earlier[-RECENT_MARKET_SESSIONS:]]
    means = [
        Fraction(sum(values), len(values)) for values in (quarter, month or quarter, last_days)
    ]
    return _round_half_up(sum(means, Fraction(0)) / 3)


def auction_cancellation_minor(
    rules: StabilityRules, secondary_price_minor: int | None
) -> Fraction | None:
    """Return the clearing price below which an auction is cancelled, exact; None for never.

    The EU cancels an auction whose clearing price is significantly under the secondary
    market's price during and immediately before the bidding window (Commission
    Regulation (EU) No 1031/2010, Art. 7(6)); the platform's threshold is not published,
    so the regime sets it as a discount [U]: the threshold is (1 − discount) × the
    secondary price. Without a discount, or without a secondary price to compare with,
    no auction is cancelled.
    """
    discount = rules.auction_cancellation_discount
    if discount is None or secondary_price_minor is None:
        return None
    assert 0 <= discount < 1, discount
    if not _is_int(secondary_price_minor) or secondary_price_minor < 0:
        raise _refuse(
            f"a secondary price must be a non-negative integer of minor units, "
            f"was {secondary_price_minor!r}"
        )
    return (1 - discount) * secondary_price_minor


def price_ceiling_minor(
    rules: StabilityRules, year: int, inflation: Fraction = Fraction(0)
) -> int | None:
    """Return the ceiling in `year`, escalated yearly like the floor; None when there is none.

    The ceiling escalates from `rules.price_ceiling_base_year`, or from
    `rules.base_year` when that is None (WCI: $65 in 2021, +5% + inflation a
    year; 17 CCR §95915). Rounded half up to the minor unit each year.
    """
    if rules.price_ceiling_minor is None:
        return None
    rate = _rate(rules.price_ceiling_escalation, inflation)
    base_year = (
        rules.price_ceiling_base_year
        if rules.price_ceiling_base_year is not None
        else rules.base_year
    )
    return _escalated_minor(rules.price_ceiling_minor, base_year, year, rate, "price ceiling")


def _check_series(prices: Sequence[MonthlyPrice]) -> None:
    """Refuse a series that is too long, not of MonthlyPrice, or not in strictly rising months."""
    if len(prices) > PRICE_SERIES_MONTHS_MAX:
        raise _refuse(
            f"at most {PRICE_SERIES_MONTHS_MAX:,} monthly prices per series, was {len(prices):,}"
        )
    for price in prices:
        if not isinstance(price, MonthlyPrice):
            raise _refuse(f"expected MonthlyPrice entries, found {price!r}")
    for earlier, later in itertools.pairwise(prices):
        if later.month_index <= earlier.month_index:
            raise _refuse(
                f"monthly prices must be in rising order without repeats; "
                f"{earlier.year}-{earlier.month:02d} is followed by {later.year}-{later.month:02d}"
            )


@dataclass(frozen=True, slots=True)
class _Trigger:
    months: int
    multiple: Fraction
    lookback_years: int


def _trigger(rules: StabilityRules) -> _Trigger | None:
    """Return the trigger's parameters, None when the rules set none; refuse a partial one."""
    values = (rules.trigger_months, rules.trigger_multiple, rules.trigger_lookback_years)
    if all(value is None for value in values):
        return None
    months, multiple, lookback_years = values
    if not (_is_int(months) and _is_int(lookback_years)) or multiple is None:
        raise _refuse(
            "a reserve trigger needs trigger_months, trigger_multiple and "
            f"trigger_lookback_years, found {months!r}, {multiple!r}, {lookback_years!r}"
        )
    assert isinstance(months, int) and isinstance(lookback_years, int)
    if isinstance(multiple, bool) or not isinstance(multiple, int | Fraction) or multiple <= 0:
        raise _refuse(f"trigger_multiple must be a positive Fraction, was {multiple!r}")
    if months < 1 or lookback_years < 1:
        raise _refuse(
            f"trigger_months and trigger_lookback_years must be at least 1, "
            f"were {months} and {lookback_years}"
        )
    return _Trigger(months, Fraction(multiple), lookback_years)


def _trigger_firings(
    trigger: _Trigger, prices: Sequence[MonthlyPrice]
) -> Iterator[tuple[MonthlyPrice, Fraction]]:
    """Yield each month that completes a run, with its threshold; a run starts afresh after one.

    A month qualifies when its price is at or above the multiple × the mean
    of the monthly prices present in the `lookback_years` calendar years
    before its own year (Korea: the previous 2 years). A missing month
    breaks a run; a month whose lookback years hold no price at all cannot
    qualify and breaks a run too. Months missing from the lookback years are
    left out of the mean rather than guessed.
    """
    totals_by_year: dict[int, tuple[int, int]] = {}
    for price in prices:
        total_minor, count = totals_by_year.get(price.year, (0, 0))
        totals_by_year[price.year] = (total_minor + price.price_minor, count + 1)
    run_months = 0
    previous: MonthlyPrice | None = None
    for price in prices:
        if previous is not None and not is_next_month(previous, price):
            run_months = 0
        previous = price
        lookback = [
            totals_by_year.get(year, (0, 0))
            for year in range(price.year - trigger.lookback_years, price.year)
        ]
        count = sum(months for _, months in lookback)
        if count == 0:
            run_months = 0
            continue
        threshold = trigger.multiple * Fraction(sum(total for total, _ in lookback), count)
        if price.price_minor < threshold:
            run_months = 0
            continue
        run_months += 1
        if run_months == trigger.months:
            yield price, threshold
            run_months = 0


def korea_trigger_month(
    rules: StabilityRules, prices: Sequence[MonthlyPrice]
) -> MonthlyPrice | None:
    """Return the first month ending a run of qualifying months, or None if there is none.

    A run is `rules.trigger_months` consecutive calendar months each priced
    at or above `trigger_multiple` × the mean monthly price of the previous
    `trigger_lookback_years` calendar years (Korea, FNI: 6 months at >= 3×
    the previous 2 years' average). The comparison is exact. Missing months
    break a run; see `_trigger_firings` for the lookback. Rules without a
    trigger return None; `prices` must be in rising month order.
    """
    _check_series(prices)
    trigger = _trigger(rules)
    if trigger is None:
        return None
    return next((price for price, _ in _trigger_firings(trigger, prices)), None)


class StabilityEventKind(StrEnum):
    FLOOR_BREACHED = "floor_breached"  # the month's price is below the floor
    CEILING_REACHED = "ceiling_reached"  # the month's price is at or above the ceiling
    RESERVE_RELEASE_TRIGGERED = "reserve_release_triggered"  # a trigger run completed


@dataclass(frozen=True, slots=True)
class StabilityEvent:
    """A price control that a month's price set off, with the figures.

    `threshold_minor` is the floor, the ceiling, or the trigger threshold
    (multiple × lookback mean) rounded half up for display; the decision
    itself was exact.
    """

    kind: StabilityEventKind
    year: int
    month: int
    price_minor: int
    threshold_minor: int
    detail: str


def evaluate_stability(
    rules: StabilityRules,
    year: int,
    prices: Sequence[MonthlyPrice],
    inflation: Fraction = Fraction(0),
) -> list[StabilityEvent]:
    """Report `year`'s floor breaches, ceiling reaches and reserve-release triggers, by month.

    `prices` is the whole series (the trigger looks back before `year`).
    Triggers are runs completed in `year`; after one fires, another needs a
    fresh run. Months missing in `year` are not evaluated. Rules with no
    control yield []; rules with one and no price in `year` raise
    `PRICE_SERIES_INVALID`.
    """
    _check_series(prices)
    trigger = _trigger(rules)
    floor_minor = price_floor_minor(rules, year, inflation)
    ceiling_minor = price_ceiling_minor(rules, year, inflation)
    if trigger is None and floor_minor is None and ceiling_minor is None:
        return []
    months = [price for price in prices if price.year == year]
    if not months:
        raise _refuse(f"expected monthly prices for {year}, found none in {len(prices)} months")
    events: list[StabilityEvent] = []
    for price in months:
        if floor_minor is not None and price.price_minor < floor_minor:
            events.append(_event(StabilityEventKind.FLOOR_BREACHED, price, floor_minor, "floor"))
        if ceiling_minor is not None and price.price_minor >= ceiling_minor:
            events.append(
                _event(StabilityEventKind.CEILING_REACHED, price, ceiling_minor, "ceiling")
            )
    if trigger is not None:
        for price, threshold in _trigger_firings(trigger, prices):
            if price.year == year:
                events.append(_trigger_event(rules, trigger, price, threshold))
    kind_order = list(StabilityEventKind)
    return sorted(events, key=lambda event: (event.month, kind_order.index(event.kind)))


def _event(
    kind: StabilityEventKind, price: MonthlyPrice, threshold_minor: int, what: str
) -> StabilityEvent:
    detail = (
        f"{price.year}-{price.month:02d} price {price.price_minor:,} minor/t against "
        f"the {price.year} {what} of {threshold_minor:,} minor/t"
    )
    return StabilityEvent(kind, price.year, price.month, price.price_minor, threshold_minor, detail)


def _trigger_event(
    rules: StabilityRules, trigger: _Trigger, price: MonthlyPrice, threshold: Fraction
) -> StabilityEvent:
    threshold_minor = _round_half_up(threshold)
    detail = (
        f"{trigger.months} consecutive months to {price.year}-{price.month:02d} at or above "
        f"{trigger.multiple} × the previous {trigger.lookback_years} years' mean "
        f"(threshold {threshold} ≈ {threshold_minor:,} minor/t, last price "
        f"{price.price_minor:,}); reserve release up to {rules.reserve_release_share_max}"
    )
    return StabilityEvent(
        StabilityEventKind.RESERVE_RELEASE_TRIGGERED,
        price.year,
        price.month,
        price.price_minor,
        threshold_minor,
        detail,
    )
