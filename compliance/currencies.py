"""The currencies presets may use and their ISO 4217 minor-unit digits.

Money is stored in these minor units (cents, fen, tiyn, Rappen), or in whole
units where the currency has none (won, yen). A module of its own so that
reading a figure does not load the preset reader. How an amount reads
("EUR 28.97", "KRW 23,400") is written here once, at the lowest layer that
knows currencies, so that a compliance text and an etslink table read alike;
`etslink.reports.figures` builds the rest of the project's figures on it.
"""

from __future__ import annotations

import math
from fractions import Fraction

CURRENCY_MINOR_DIGITS: dict[str, int] = {
    "AUD": 2,
    "CAD": 2,
    "CHF": 2,
    "CNY": 2,
    "EUR": 2,
    "JPY": 0,
    "KRW": 0,
    "KZT": 2,
    "NZD": 2,
    "USD": 2,
}

DEFAULT_DIGITS = 2  # a currency the presets do not name: shown like most, with cents

Number = int | Fraction


def minor_digits(currency: str | None) -> int:
    """Return how many minor-unit digits `currency` has (EUR 2, KRW 0)."""
    if currency is None:
        return DEFAULT_DIGITS
    return CURRENCY_MINOR_DIGITS.get(currency, DEFAULT_DIGITS)


def round_half_up(value: Number, places: int = 0) -> Fraction:
    """Return `value` rounded half away from zero to `places` decimal places, exactly."""
    value = Fraction(value)
    scale = 10**places
    magnitude = Fraction(math.floor(abs(value) * scale + Fraction(1, 2)), scale)
    return magnitude if value >= 0 else -magnitude


def amount(value_minor: Number | None, currency: str | None, extra_places: int = 0) -> str:
    """Return an amount in minor units as major units without the currency: "2,897.20".

    For a column whose header names the currency. None is "-".
    """
    if value_minor is None:
        return "-"
    places = minor_digits(currency) + extra_places
    value = round_half_up(Fraction(value_minor) / 10 ** minor_digits(currency), places)
    sign = "-" if value < 0 else ""
    scaled = int(abs(value) * 10**places)
    whole, rest = divmod(scaled, 10**places)
    text = f"{whole:,}" if places == 0 else f"{whole:,}.{rest:0{places}d}"
    return sign + text


def money(value_minor: Number | None, currency: str | None, extra_places: int = 0) -> str:
    """Return an amount in minor units as people read it: "EUR 28.97", "KRW 23,400".

    None is "-"; with no currency, the bare amount.
    """
    if value_minor is None:
        return "-"
    text = amount(value_minor, currency, extra_places)
    return text if currency is None else f"{currency} {text}"


__all__ = [
    "CURRENCY_MINOR_DIGITS",
    "DEFAULT_DIGITS",
    "amount",
    "minor_digits",
    "money",
    "round_half_up",
]
