"""What a tonne is worth to a covered firm: compliance value, the foreign-unit cap, banking.

Pure functions; money is the firm's home currency in minor units per tonne, tonnes are
tonnes of the firm's obligation. They take a curve with the `MacCurve` questions and work
in whatever numbers it answers in: exact `Fraction`s at the year's end (what is reported),
floats (`FloatMac`) where firms plan at every session.

- **Compliance value.** A unit counts for its regime's rate at surrender: 1 for the
  firm's own allowance, the link's `rate_into` its registry for a linked party's
  allowance (`etslink.sim.world.linked_valuation`), nothing for a unit its regime does not
  accept. A firm counts a foreign unit at that value from the moment it holds it.
- **The foreign-unit cap.** A regime may cap international allowances at a share s of
  the obligation, counted in units (17 CCR §95854's form; Australia–EU: 50%). A firm that
  covers its obligation exactly with H home tonnes and F foreign units of value r has
  obligation H + rF, so F ≤ s(H + rF), i.e. F ≤ sH / (1 − sr): foreign units beyond that
  count for nothing this year (they can be banked).
- **The value of banking.** A unit not surrendered this year can be kept. The rule here:
  a firm expects to sell a banked unit no cheaper than the published price floor of the
  year it would sell it in (the WCI's auction reserve price: the government withholds
  supply below it), discounted at the scenario's interest rate — bank value =
  max over k = 1..H of floor(t + k) / (1 + ρ)^k, where H runs to the year after the run's
  last (the floor of that year is published too), and 0 where the regime does not bank or
  has no floor. It does not speculate on the market price path: it cannot know the other
  firms' costs. With a floor that rises faster than ρ (California: 5% a year), the bank
  value sits above this year's floor, so no firm sells below it.
- **Marginal value.** Holding h covered tonnes of a need N (emissions forecast plus what
  was carried forward), one more tonne saves abating the (N − h)-th tonne: it is worth
  MAC(N − h), at most the penalty price (a tonne not covered costs that), and never less
  than the bank value (it can always be banked). At h ≥ N only the bank value is left.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from fractions import Fraction
from typing import Any, Protocol

from compliance.regime import Regime, UnitOrigin
from compliance.stability import price_floor_minor
from etslink.economics import MacCurve
from registry import UnitKind

Value = Fraction | float | int  # exact at the year's end, float where firms plan


class Curve(Protocol):
    """The `MacCurve` questions, answered in the curve's own numbers: `MacCurve` in exact
    fractions, its float view `FloatMac` in floats (so the answers are typed `Any`)."""

    @property
    def max_abatement_t(self) -> Any: ...

    def marginal_cost(self, abatement_t: Any) -> Any: ...

    def abatement_at_price(self, price_minor: Any) -> Any: ...


def foreign_share_max(regime: Regime, year: int) -> Fraction | None:
    """Return the tightest cap on international allowances as a share of the obligation.

    None when no limit applies in `year`.
    """
    shares = [
        limit.share
        for limit in regime.limits_for(year)
        if limit.origin is UnitOrigin.INTERNATIONAL and UnitKind.ALLOWANCE in limit.unit_kinds
    ]
    return min(shares) if shares else None


def covered_t(
    home_t: int, foreign: Iterable[tuple[int, Value]], share_max: Fraction | None
) -> Value:
    """Return the tonnes of obligation `home_t` home units and the foreign units cover.

    `foreign` holds (units, value per unit). Under a share cap s, at most
    s·H / (1 − s·r) foreign units count; the most valuable count first.
    """
    total: Value = home_t
    ranked = sorted(foreign, key=lambda item: -item[1])
    if share_max is None:
        for units, value in ranked:
            total += units * value
        return total
    counted_units = 0
    for units, value in ranked:
        if units <= 0:
            continue
        # Units of this value that still keep every foreign unit within s of the obligation:
        # (counted + n) ≤ s·(H + counted value + n·value).
        room = foreign_room_units(home_t, total - home_t, counted_units, value, share_max)
        taken = min(units, room)
        counted_units += taken
        total += taken * value
    return total


def foreign_room_units(
    home_t: int, foreign_value_t: Value, foreign_units: int, value: Value, share: Fraction
) -> int:
    """Return how many more foreign units of `value` a share cap lets count (whole units)."""
    if share >= 1:
        return 10**18
    slack = share * (home_t + foreign_value_t) - foreign_units
    per_unit = 1 - share * value
    if slack <= 0:
        return 0
    if per_unit <= 0:
        return 10**18  # each such unit adds more obligation room than it uses
    return math.floor(slack / per_unit)


def bank_value_minor(
    regime: Regime, year: int, last_year: int, interest_rate: Fraction
) -> Fraction:
    """Return what keeping a unit past `year` is worth (the module docstring's rule)."""
    if not regime.surrender.banking:
        return Fraction(0)
    best = Fraction(0)
    for k in range(1, last_year - year + 2):
        floor = price_floor_minor(regime.stability, year + k)
        if floor is not None:
            best = max(best, Fraction(floor) / (1 + interest_rate) ** k)
    return best


def marginal_value_minor(
    curve: Curve, need_t: int, held_t: Value, bank_minor: Value, penalty_minor: int
) -> Value:
    """Return what one more covered tonne is worth holding `held_t` of a need of `need_t`."""
    short_t = need_t - held_t
    if short_t <= 0:
        return bank_minor
    limit = curve.max_abatement_t
    if limit is not None and short_t > limit:
        return max(penalty_minor, bank_minor)
    return max(min(curve.marginal_cost(short_t), penalty_minor), bank_minor)


def target_held_t(
    curve: Curve, need_t: int, price_minor: Value, bank_minor: Value, penalty_minor: int
) -> Value | None:
    """Return the covered tonnes at which one more tonne is worth `price_minor`.

    None when every tonne is worth more (the price is below the bank value: hold all you
    can) — the caller bounds what it buys. Below the need, the firm abates every tonne
    whose MAC is at most the price and covers the rest; at a price above the penalty it
    would rather pay the penalty than hold anything beyond the bank value.
    """
    if price_minor < bank_minor:
        return None
    if price_minor > penalty_minor:
        return 0
    abated_t = min(curve.abatement_at_price(price_minor), need_t)
    return max(0, need_t - abated_t)


def year_end_abatement_t(
    curve: MacCurve,
    forecast_t: int,
    need_t: int,
    held_t: Fraction,
    bank_minor: Fraction,
    penalty_minor: int,
) -> int:
    """Return the year's abatement given what the firm holds at the year's end.

    It abates what its holdings still lack while that costs less than the penalty, and
    beyond that every tonne cheaper than the bank value (each abated tonne frees a unit to
    bank), never more than its emissions.
    """
    at_penalty_t = curve.abatement_at_price(penalty_minor)
    to_cover_t = min(max(Fraction(0), need_t - held_t), at_penalty_t)
    to_bank_t = curve.abatement_at_price(bank_minor) if bank_minor > 0 else Fraction(0)
    return min(math.ceil(max(to_cover_t, to_bank_t)), forecast_t)


__all__ = [
    "bank_value_minor",
    "covered_t",
    "foreign_room_units",
    "foreign_share_max",
    "marginal_value_minor",
    "target_held_t",
    "year_end_abatement_t",
]
