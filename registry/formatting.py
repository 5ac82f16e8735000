"""Exact text for shares: no float ever stands between a Fraction and what a person reads."""

from __future__ import annotations

from fractions import Fraction


def percent(share: Fraction) -> str:
    """Return `share` as a percentage to at most two places, e.g. "10%", "10.01%", "50.1%"."""
    hundredths = round(share * 10_000)
    whole, part = divmod(hundredths, 100)
    return f"{whole}.{part:02d}".rstrip("0").rstrip(".") + "%"
