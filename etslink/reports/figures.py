"""Money and quantities as people read them and as tools load them.

The one place that decides how a figure is shown, for every table, CSV column,
chart axis and JSON number in the project:

- People read money in **major units with the currency**: "EUR 28.97",
  "KRW 23,400", "CHF 31.20" (`money`), or, in a column whose header names the
  currency, the bare amount "28.97" (`amount`). Quantities are tonnes: "1,250 t"
  (`tonnes`) or "1,250" under a "t" header.
- Tools get **numbers**: `major` gives a JSON/CSV number in major units (a float
  rounded to the currency's places, or an int for a currency without minor units);
  exact integers in minor units go in columns named `…_minor`; exact fractions
  ("p/q", `etslink.reports.numbers.exact`) only in a separate `exact` section,
  never as the only form of a figure.

The stores keep money in minor units (cents, fen, tiyn, Rappen; whole won and
yen): `compliance.currencies` says how many digits each currency has (one outside
its table is shown with two places) and writes an amount as text (`money`,
`amount`, re-exported here), once for the project: a compliance penalty's
explanation reads like a table's figure.
"""

from __future__ import annotations

from fractions import Fraction

from compliance.currencies import (
    Number,
    amount,
    minor_digits,
    money,
    round_half_up,
)

PRICE_EXTRA_PLACES = 2  # averages (VWAPs, equilibrium prices) keep two more places for tools


def major(
    value_minor: Number | None, currency: str | None, extra_places: int = 0
) -> float | int | None:
    """Return an amount in minor units as a JSON/CSV number in major units.

    `major(2897, "EUR") == 28.97`; `major(23400, "KRW") == 23400` (an int: the won
    has no minor unit). `extra_places` keeps more places for averages
    (`major(Fraction(289720, 100), "EUR", 2) == 28.972`). None stays None.
    """
    if value_minor is None:
        return None
    places = minor_digits(currency) + extra_places
    value = round_half_up(Fraction(value_minor) / 10 ** minor_digits(currency), places)
    if places == 0:
        return int(value)
    return float(value)


def minor(value_minor: Number | None) -> int | None:
    """Return an amount in minor units rounded half up to a whole minor unit (`…_minor`)."""
    if value_minor is None:
        return None
    return int(round_half_up(value_minor))


def per_tonne(currency: str | None) -> str:
    """Return the unit of a price column's header: "EUR/t"."""
    return f"{currency}/t" if currency else "per t"


def tonnes(value_t: Number | None, unit: bool = True) -> str:
    """Return a quantity in tonnes, rounded to a whole tonne: "1,250 t" (or "1,250")."""
    if value_t is None:
        return "-"
    text = f"{int(round_half_up(value_t)):,}"
    return f"{text} t" if unit else text


def whole(value: Number | None) -> str:
    """Return a count or quantity rounded half up to a whole number, grouped: "12,400"."""
    return "-" if value is None else f"{int(round_half_up(value)):,}"


def percent(share: Number | None, places: int = 1) -> str:
    """Return a share (0.25) as a percentage: "25.0%"."""
    if share is None:
        return "-"
    value = round_half_up(Fraction(share) * 100, places)
    return f"{float(value):.{places}f}%"


def number(value: Number | None, places: int = 6) -> float | int | None:
    """Return an exact value as a JSON number: an int when whole, else a float (rounded)."""
    if value is None:
        return None
    value = Fraction(value)
    if value.denominator == 1:
        return value.numerator
    return float(round_half_up(value, places))


__all__ = [
    "amount",
    "major",
    "minor",
    "minor_digits",
    "money",
    "number",
    "per_tonne",
    "percent",
    "round_half_up",
    "tonnes",
    "whole",
]
