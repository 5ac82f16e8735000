"""What a shortfall at the surrender deadline costs: a pure assessment from a `PenaltyRule`.

Money is in integer minor units and rounds half up to the minor unit, once,
on the exact total; tonnes owed round up, so an obligation is never
understated. Invalid input raises `ComplianceError` (`ALLOCATION_INPUT_INVALID`
for quantities and rules, `PRICE_SERIES_INVALID` for prices), saying what
was expected and what was found. A penalty is never silently skipped: a rule
priced off the market with no price refuses to assess.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from compliance.currencies import money
from compliance.errors import ComplianceCode, ComplianceError
from compliance.regime import PenaltyKind, PenaltyRule
from compliance.stability import MonthlyPrice, is_next_month


@dataclass(frozen=True, slots=True)
class PenaltyAssessment:
    """The consequences of `shortfall_t` missing tonnes under one rule.

    `fine_minor` is money owed; `added_obligation_t` is an extra surrender
    obligation (California: 4× the shortfall, replacing it), of which at
    least `allowance_share_min` must be allowances; `carried_t` is the
    shortfall still owed (make-good). `rule_text` shows the arithmetic.
    """

    shortfall_t: int
    fine_minor: int
    added_obligation_t: int
    allowance_share_min: Fraction
    carried_t: int
    rule_text: str

    @property
    def allowances_min_t(self) -> int:
        """Return the least tonnes of the added obligation that must be allowances (rounded up)."""
        return math.ceil(self.added_obligation_t * self.allowance_share_min)


def _refuse(message: str) -> ComplianceError:
    return ComplianceError(ComplianceCode.ALLOCATION_INPUT_INVALID, message)


def _refuse_price(message: str) -> ComplianceError:
    return ComplianceError(ComplianceCode.PRICE_SERIES_INVALID, message)


def _round_half_up(value: Fraction) -> int:
    """Round a non-negative amount to the nearest minor unit, halves up."""
    assert value >= 0, value
    return math.floor(value + Fraction(1, 2))


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_ratio(value: object) -> bool:
    return isinstance(value, int | Fraction) and not isinstance(value, bool)


def _check_rule(rule: PenaltyRule) -> None:
    """Refuse a rule whose figures cannot be assessed (a preset error, reported with the figure)."""
    if not _is_int(rule.fixed_per_t_minor) or rule.fixed_per_t_minor < 0:
        raise _refuse(
            f"penalty rule fixed_per_t_minor must be a non-negative integer, "
            f"was {rule.fixed_per_t_minor!r}"
        )
    if not _is_int(rule.price_window_months) or rule.price_window_months < 1:
        raise _refuse(
            f"penalty rule price_window_months must be at least 1, was {rule.price_window_months!r}"
        )
    if rule.cap_per_t_minor is not None and (
        not _is_int(rule.cap_per_t_minor) or rule.cap_per_t_minor < 1
    ):
        raise _refuse(
            f"penalty rule cap_per_t_minor must be None or a positive integer, "
            f"was {rule.cap_per_t_minor!r}"
        )
    for name in ("price_multiple", "obligation_multiple", "allowance_share_min"):
        value = getattr(rule, name)
        if not _is_ratio(value) or value < 0:
            raise _refuse(f"penalty rule {name} must be a non-negative Fraction, was {value!r}")
    if rule.allowance_share_min > 1:
        raise _refuse(
            f"penalty rule allowance_share_min must be a share in [0, 1], "
            f"was {rule.allowance_share_min}"
        )
    if rule.kind is PenaltyKind.FIXED_PER_TONNE and rule.fixed_per_t_minor == 0:
        raise _refuse("a fixed-per-tonne penalty needs fixed_per_t_minor > 0, was 0")
    if rule.kind is PenaltyKind.MARKET_PRICE_MULTIPLE and rule.price_multiple == 0:
        raise _refuse("a market-price penalty needs price_multiple > 0, was 0")
    if rule.kind is PenaltyKind.ADDED_OBLIGATION:
        if rule.obligation_multiple == 0:
            raise _refuse("an added-obligation penalty needs obligation_multiple > 0, was 0")
        if rule.make_good:
            # 17 CCR §95857(b): the untimely surrender obligation replaces the
            # unfulfilled portion, so carrying the shortfall too would count it twice.
            raise _refuse(
                "an added-obligation penalty replaces the shortfall (17 CCR §95857(b)); "
                "make_good must be False, was True"
            )


def assess_penalty(
    rule: PenaltyRule,
    shortfall_t: int,
    average_price_minor: int | None,
    currency: str | None = None,
) -> PenaltyAssessment:
    """Assess `shortfall_t` missing tonnes under `rule`.

    Fixed per tonne (EU €100/t): fine = shortfall × rate, exact. Market price
    multiple (Korea <= 3× the year's average, at most KRW 100,000/t; Shenzhen
    3× the 6-month average): rate = min(multiple × average price, cap), and
    fine = shortfall × rate rounded half up to the minor unit, once (the
    statutory maximum is modelled). Added obligation (California 4×, at
    least ¾ in allowances): shortfall × multiple, rounded up. Make-good
    carries the shortfall. A zero shortfall yields all zeros, even with no
    price, since no penalty is being skipped; otherwise a market-price rule
    needs a positive `average_price_minor` or raises `PRICE_SERIES_INVALID`.
    `rule_text` shows the arithmetic in the regime's `currency` ("KRW 33,000/t"),
    or in minor units when none is given.
    """
    _check_rule(rule)
    if not _is_int(shortfall_t) or shortfall_t < 0:
        raise _refuse(f"shortfall_t must be a non-negative integer, was {shortfall_t!r}")
    if average_price_minor is not None and (
        not _is_int(average_price_minor) or average_price_minor < 0
    ):
        raise _refuse_price(
            f"average_price_minor must be None or a non-negative integer, "
            f"was {average_price_minor!r}"
        )
    if shortfall_t == 0:
        return PenaltyAssessment(0, 0, 0, Fraction(0), 0, "no shortfall: no penalty")
    carried_t = shortfall_t if rule.make_good else 0
    make_good_text = f"; make-good: {carried_t:,} t still owed" if rule.make_good else ""
    if rule.kind is PenaltyKind.FIXED_PER_TONNE:
        fine_minor = shortfall_t * rule.fixed_per_t_minor
        text = (
            f"fixed {_per_t(rule.fixed_per_t_minor, currency)} × {shortfall_t:,} t = "
            f"{_sum(fine_minor, currency)}"
        )
        return PenaltyAssessment(
            shortfall_t, fine_minor, 0, Fraction(0), carried_t, text + make_good_text
        )
    if rule.kind is PenaltyKind.MARKET_PRICE_MULTIPLE:
        fine_minor, text = _market_price_fine(rule, shortfall_t, average_price_minor, currency)
        return PenaltyAssessment(
            shortfall_t, fine_minor, 0, Fraction(0), carried_t, text + make_good_text
        )
    if rule.kind is PenaltyKind.ADDED_OBLIGATION:
        added_t = math.ceil(shortfall_t * rule.obligation_multiple)
        allowances_min_t = math.ceil(added_t * rule.allowance_share_min)
        text = (
            f"untimely surrender: {rule.obligation_multiple} × {shortfall_t:,} t = {added_t:,} t "
            f"replaces the shortfall, at least {rule.allowance_share_min} "
            f"({allowances_min_t:,} t) in allowances"
        )
        return PenaltyAssessment(shortfall_t, 0, added_t, rule.allowance_share_min, carried_t, text)
    assert rule.kind is PenaltyKind.NONE, f"unhandled penalty kind {rule.kind}"
    return PenaltyAssessment(shortfall_t, 0, 0, Fraction(0), carried_t, "no fine" + make_good_text)


def _market_price_fine(
    rule: PenaltyRule, shortfall_t: int, average_price_minor: int | None, currency: str | None
) -> tuple[int, str]:
    if average_price_minor is None or average_price_minor == 0:
        raise _refuse_price(
            f"a market-price penalty ({rule.price_multiple} × the {rule.price_window_months}-month "
            f"average) needs a positive average price, was {average_price_minor!r}"
        )
    rate_minor = rule.price_multiple * average_price_minor
    capped = rule.cap_per_t_minor is not None and rate_minor > rule.cap_per_t_minor
    if capped:
        assert rule.cap_per_t_minor is not None
        rate_minor = Fraction(rule.cap_per_t_minor)
    fine_minor = _round_half_up(shortfall_t * rate_minor)
    cap_text = f", capped at {_per_t(rule.cap_per_t_minor, currency)}" if capped else ""
    text = (
        f"{rule.price_multiple} × average price {_per_t(average_price_minor, currency)}"
        f"{cap_text}: {shortfall_t:,} t × {_per_t(rate_minor, currency)} = "
        f"{_sum(fine_minor, currency)} (rounded half up)"
    )
    return fine_minor, text


def _per_t(value_minor: int | Fraction | None, currency: str | None) -> str:
    """A rate as the text reads it: "KRW 33,000/t", or "33000 minor/t" with no currency."""
    if currency is None:
        return (
            f"{value_minor:,} minor/t" if isinstance(value_minor, int) else f"{value_minor} minor/t"
        )
    return f"{money(value_minor, currency, _extra_places(value_minor))}/t"


def _sum(value_minor: int, currency: str | None) -> str:
    return f"{value_minor:,} minor" if currency is None else money(value_minor, currency)


def _extra_places(value: int | Fraction | None) -> int:
    """Places beyond the currency's a rate needs to be shown exactly (at most 4)."""
    if not isinstance(value, Fraction) or value.denominator == 1:
        return 0
    return 4


def penalty_average_price_minor(rule: PenaltyRule, prices: Sequence[MonthlyPrice]) -> int:
    """Average the last `rule.price_window_months` monthly prices; round half up to the minor unit.

    The window must be present in full and consecutive (Shenzhen: the
    previous 6 months; Korea: the year's 12), so pass the series ending at
    the month before the assessment. A short, gapped or unordered window
    raises `PRICE_SERIES_INVALID` rather than averaging fewer months.
    """
    _check_rule(rule)
    window_months = rule.price_window_months
    if len(prices) < window_months:
        raise _refuse_price(
            f"expected at least {window_months} monthly prices for the penalty average, "
            f"found {len(prices)}"
        )
    window = list(prices[-window_months:])
    for earlier, later in itertools.pairwise(window):
        if not is_next_month(earlier, later):
            raise _refuse_price(
                f"the penalty average needs {window_months} consecutive months; "
                f"{earlier.year}-{earlier.month:02d} is followed by {later.year}-{later.month:02d}"
            )
    return _round_half_up(Fraction(sum(price.price_minor for price in window), window_months))
