"""The currencies presets may use and their ISO 4217 minor-unit digits.

Money is stored in these minor units (cents, fen, tiyn, Rappen), or in whole
units where the currency has none (won, yen). A module of its own so that
reading a figure does not load the preset reader.
"""

from __future__ import annotations

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

__all__ = ["CURRENCY_MINOR_DIGITS"]
