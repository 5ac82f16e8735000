"""Exact numbers as reports write them: "p" or "p/q", and a rounded view for reading."""

from __future__ import annotations

import math
from fractions import Fraction

EXACT_BITS_MAX = 3_000  # about 900 digits: beyond, `exact` rounds
ROUNDED_PLACES = 30


def exact(value: Fraction | int) -> str:
    """Return a number as text: "p" when whole, else "p/q"; exact unless it is enormous.

    Sums over thousands of generated curves reach denominators of thousands of digits
    (past Python's 4,300-digit limit on writing an int). A value whose exact form would
    pass `EXACT_BITS_MAX` is written rounded half up to `ROUNDED_PLACES` decimal places,
    still as "p" or "p/q" (q a power of ten).
    """
    value = Fraction(value)
    if max(value.numerator.bit_length(), value.denominator.bit_length()) > EXACT_BITS_MAX:
        scale = 10**ROUNDED_PLACES
        value = Fraction(math.floor(value * scale + Fraction(1, 2)), scale)
    if value.denominator == 1:
        return str(value.numerator)
    return f"{value.numerator}/{value.denominator}"


def exact_or_none(value: Fraction | int | None) -> str | None:
    return None if value is None else exact(value)


def rounded(value: Fraction | int | None) -> int | None:
    """Return `value` rounded half up to a whole number (the readable view)."""
    return None if value is None else math.floor(Fraction(value) + Fraction(1, 2))


__all__ = ["exact", "exact_or_none", "rounded"]
