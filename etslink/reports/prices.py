"""Prices a report reads off a run's daily price rows: yearly, closing and converted.

- **VWAP of a year**: notional over volume of the year's trades on a book.
- **Closing price of a year**: the median of the book's settlement prices over the year's
  last `CLOSING_DAYS` sessions — where the market settled once price discovery was done,
  robust to one odd day. A session's settlement price is its last trade moved to a better
  quote resting at the close (`SettlementRow`), so a book that has found its price and
  trades little still shows it, and a stale trade from months ago gives way to the quotes
  that undercut it. A year's VWAP carries the discovery: the first sessions of a new market
  trade at whatever reservation prices meet first.
- **Closing spread of a year**: the median bid-ask spread over the same last sessions: what
  crossing the book costs a trader who buys at the ask or sells at the bid.
- **Converted**: into another currency's minor units at the scenario's rates, and, for a
  unit that counts `rate` tonnes in a registry, per tonne of that registry's obligation.
"""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction

from etslink.sim.record import PriceRow, RunRecord, SettlementRow

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


def settlements_of(record: RunRecord, book: str, year: int) -> list[SettlementRow]:
    prefix = f"{year}-"
    return [
        row for row in record.settlements if row.instrument == book and row.day.startswith(prefix)
    ]


def closing_spread_minor(record: RunRecord, book: str, year: int) -> Fraction | None:
    """Return the median bid-ask spread of `book` over the year's last `CLOSING_DAYS`
    sessions that closed with both a bid and an ask, or None."""
    spreads = [
        row.ask_minor - row.bid_minor
        for row in settlements_of(record, book, year)
        if row.ask_minor is not None and row.bid_minor is not None
    ][-CLOSING_DAYS:]
    return _median(spreads)


def closing_price_minor(record: RunRecord, book: str, year: int) -> Fraction | None:
    """Return the year's closing price of `book` (the module docstring), or None."""
    settles = [
        row.settle_minor
        for row in settlements_of(record, book, year)
        if row.settle_minor is not None
    ][-CLOSING_DAYS:]
    return _median(settles)


def _median(values: list[int]) -> Fraction | None:
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return Fraction(ordered[middle])
    return Fraction(ordered[middle - 1] + ordered[middle], 2)


def converted_minor(record: RunRecord, book: str, price_minor: Fraction, into: str) -> Fraction:
    """Return a price of `book` in `into`'s minor units."""
    return price_minor * record.scenario.fx.minor_factor(record.books[book].currency, into)


__all__ = [
    "CLOSING_DAYS",
    "closing_price_minor",
    "closing_spread_minor",
    "converted_minor",
    "rows_of",
    "settlements_of",
    "vwap_minor",
]
