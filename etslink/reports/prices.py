"""Prices a report reads off a run's daily price rows: yearly, closing and converted.

- **VWAP of a year**: notional over volume of the year's trades on a book.
- **Closing price of a year**: the median of the daily volume-weighted prices of the
  year's last `CLOSING_DAYS` days on which the book traded — where the market settled
  once price discovery was done, robust to one odd day. A year's VWAP carries the
  discovery: the first sessions of a new market trade at whatever reservation prices meet
  first, and a market that has found its price trades little.
- **Converted**: into another currency's minor units at the scenario's rates, and, for a
  unit that counts `rate` tonnes in a registry, per tonne of that registry's obligation.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from fractions import Fraction

from etslink.sim.record import PriceRow, RunRecord

CLOSING_DAYS = 5


def rows_of(record: RunRecord, book: str, year: int) -> list[PriceRow]:
    prefix = f"{year}-"
    return [row for row in record.prices if row.instrument == book and row.day.startswith(prefix)]


def vwap_minor(rows: Iterable[PriceRow]) -> Fraction | None:
    notional = volume_t = 0
    for row in rows:
        notional += row.notional_minor
        volume_t += row.volume_t
    return None if volume_t == 0 else Fraction(notional, volume_t)


def closing_minor(rows: Sequence[PriceRow], days: int = CLOSING_DAYS) -> Fraction | None:
    """Return the median daily VWAP of the last `days` rows (trading days) that traded."""
    daily = [Fraction(row.notional_minor, row.volume_t) for row in rows if row.volume_t > 0]
    daily = daily[-days:]
    if not daily:
        return None
    ordered = sorted(daily)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def year_prices(record: RunRecord, book: str, year: int) -> tuple[Fraction | None, Fraction | None]:
    """Return (VWAP, closing price) of `book` in `year`, in its currency's minor units."""
    rows = rows_of(record, book, year)
    return vwap_minor(rows), closing_minor(rows)


def converted_minor(record: RunRecord, book: str, price_minor: Fraction, into: str) -> Fraction:
    """Return a price of `book` in `into`'s minor units."""
    return price_minor * record.scenario.fx.minor_factor(record.books[book].currency, into)


__all__ = [
    "CLOSING_DAYS",
    "closing_minor",
    "converted_minor",
    "rows_of",
    "vwap_minor",
    "year_prices",
]
