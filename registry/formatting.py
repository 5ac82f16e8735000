"""Exact text for shares: no float ever stands between a Fraction and what a person reads."""

from __future__ import annotations

from fractions import Fraction

PLACES_MAX = 12  # decimal places of a percent before a share is shown as a fraction


def percent(share: Fraction, places: int = 2) -> str:
    """Return `share` as a percentage to at most `places` places, e.g. "10%", "10.01%"."""
    assert 0 <= places <= PLACES_MAX, places
    scale = 10**places
    scaled = round(share * 100 * scale)
    whole, part = divmod(scaled, scale)
    if not places:
        return f"{whole}%"
    return f"{whole}.{part:0{places}d}".rstrip("0").rstrip(".") + "%"


def share_over_cap(used_t: int, whole_t: int, cap: Fraction) -> str:
    """Say `used_t` of `whole_t` against a cap, with digits enough that the two shares differ.

    "100,001 t of 1,000,000 t is 10.0001%, over the cap of 10% (100,000 t)": the
    cap's tonnes are whole tonnes, rounded down (a part of a tonne cannot be used).
    """
    assert whole_t > 0, whole_t
    used, allowed = percents_apart(Fraction(used_t, whole_t), cap)
    cap_t = cap * whole_t
    return (
        f"{used_t:,} t of {whole_t:,} t is {used}, over the cap of {allowed} "
        f"({cap_t.numerator // cap_t.denominator:,} t)"
    )


def percents_apart(first: Fraction, second: Fraction) -> tuple[str, str]:
    """Return both shares as percentages, with the fewest places (two at least) that tell
    them apart; shares that differ below PLACES_MAX places are shown as exact fractions."""
    for places in range(2, PLACES_MAX + 1):
        texts = percent(first, places), percent(second, places)
        if first == second or texts[0] != texts[1]:
            return texts
    return f"{first * 100}%", f"{second * 100}%"
