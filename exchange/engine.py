"""The matching engine: one `Book` per instrument, one ordered event stream.

The engine is a pure, single-threaded state machine (the LMAX shape): commands
in, event tuples out, no clock, no I/O. Its input is a sequence of command
tuples (`apply`), which is what a journal stores; replaying the same commands
on a fresh engine with the same instruments gives the same events byte for
byte (`event_text` is the canonical form).

This module imports only the standard library, `sortedcontainers` (through
`exchange.book`) and the exchange's standard-library-only leaf modules.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from exchange.book import (
    REJECTED,
    Book,
    DailyStats,
    Event,
    Instrument,
    OrderType,
    SelfTradeMode,
    Side,
    event_text,
)
from exchange.errors import ExchangeError, RejectCode

Command = tuple[Any, ...]

_UNKNOWN_INSTRUMENT = RejectCode.UNKNOWN_INSTRUMENT


class Engine:
    """Books by instrument code, sharing one event list (`events`, drained by the caller)."""

    __slots__ = ("_books", "events", "self_trade_mode")

    def __init__(
        self,
        instruments: Iterable[Instrument] = (),
        self_trade_mode: SelfTradeMode = SelfTradeMode.CANCEL_RESTING,
    ) -> None:
        self.events: list[Event] = []
        self.self_trade_mode = SelfTradeMode(self_trade_mode)
        self._books: dict[str, Book] = {}
        for instrument in instruments:
            self.add_instrument(instrument)

    def add_instrument(self, instrument: Instrument, day: int = 0) -> Book:
        """Open an empty book for an instrument; its code must be new."""
        if instrument.code in self._books:
            raise ValueError(f"instrument {instrument.code!r} already has a book")
        book = Book(instrument, self.events, self.self_trade_mode, day)
        self._books[instrument.code] = book
        return book

    def book(self, code: str) -> Book:
        """Return the book of an instrument, for market data and direct fast calls."""
        book = self._books.get(code)
        if book is None:
            raise ExchangeError(
                _UNKNOWN_INSTRUMENT, f"no book for instrument {code!r}, have {sorted(self._books)}"
            )
        return book

    def instruments(self) -> list[str]:
        return sorted(self._books)

    def drain(self) -> list[Event]:
        """Return the events emitted since the last drain and forget them."""
        out = self.events[:]
        self.events.clear()  # books hold `events.append`: keep the same list object
        return out

    # ---------------------------------------------------------------- commands

    def _unknown(self, instrument: str, order_id: int) -> None:
        self.events.append((REJECTED, instrument, order_id, _UNKNOWN_INSTRUMENT))

    def limit(
        self,
        instrument: str,
        order_id: int,
        participant: str,
        side: Side,
        price_minor: int,
        quantity_t: int,
    ) -> None:
        """Submit a good-till-cancelled limit order."""
        book = self._books.get(instrument)
        if book is None:
            self._unknown(instrument, order_id)
        else:
            book.limit(order_id, participant, side, price_minor, quantity_t)

    def market(
        self, instrument: str, order_id: int, participant: str, side: Side, quantity_t: int
    ) -> None:
        """Submit a market order."""
        book = self._books.get(instrument)
        if book is None:
            self._unknown(instrument, order_id)
        else:
            book.market(order_id, participant, side, quantity_t)

    def ioc(
        self,
        instrument: str,
        order_id: int,
        participant: str,
        side: Side,
        price_minor: int,
        quantity_t: int,
    ) -> None:
        """Submit an immediate-or-cancel limit order."""
        book = self._books.get(instrument)
        if book is None:
            self._unknown(instrument, order_id)
        else:
            book.ioc(order_id, participant, side, price_minor, quantity_t)

    def fok(
        self,
        instrument: str,
        order_id: int,
        participant: str,
        side: Side,
        price_minor: int,
        quantity_t: int,
    ) -> None:
        """Submit a fill-or-kill limit order."""
        book = self._books.get(instrument)
        if book is None:
            self._unknown(instrument, order_id)
        else:
            book.fok(order_id, participant, side, price_minor, quantity_t)

    def post_only(
        self,
        instrument: str,
        order_id: int,
        participant: str,
        side: Side,
        price_minor: int,
        quantity_t: int,
    ) -> None:
        """Submit a post-only limit order."""
        book = self._books.get(instrument)
        if book is None:
            self._unknown(instrument, order_id)
        else:
            book.post_only(order_id, participant, side, price_minor, quantity_t)

    def cancel(self, instrument: str, order_id: int) -> None:
        """Cancel a resting order."""
        book = self._books.get(instrument)
        if book is None:
            self._unknown(instrument, order_id)
        else:
            book.cancel(order_id)

    def amend(self, instrument: str, order_id: int, price_minor: int, quantity_t: int) -> None:
        """Amend a resting order's price and open quantity."""
        book = self._books.get(instrument)
        if book is None:
            self._unknown(instrument, order_id)
        else:
            book.amend(order_id, price_minor, quantity_t)

    def submit(
        self,
        instrument: str,
        order_type: OrderType,
        order_id: int,
        participant: str,
        side: Side,
        price_minor: int | None,
        quantity_t: int,
    ) -> None:
        """Submit an order of any type (`price_minor` is ignored for market orders)."""
        book = self._books.get(instrument)
        if book is None:
            self._unknown(instrument, order_id)
        else:
            book.submit(order_type, order_id, participant, side, price_minor, quantity_t)

    def apply(self, command: Command) -> None:
        """Apply one journaled command: (name, instrument, *arguments of that method).

        Names: "limit", "market", "ioc", "fok", "post_only", "submit", "cancel",
        "amend", "roll_day" (no instrument: rolls every book).
        """
        name = command[0]
        if name == "roll_day":
            self.roll_day()
            return
        method = _COMMANDS.get(name)
        assert method is not None, f"unknown command {name!r}"
        method(self, *command[1:])

    # ------------------------------------------------------------- market data

    def roll_day(self) -> dict[str, DailyStats]:
        """Close the trading day on every book; return each book's closed day."""
        return {code: self._books[code].roll_day() for code in sorted(self._books)}

    def snapshot(self) -> tuple[Any, ...]:
        """Return every book's canonical state, by instrument code."""
        return tuple(self._books[code].snapshot() for code in sorted(self._books))


_COMMANDS: dict[str, Callable[..., None]] = {
    "limit": Engine.limit,
    "market": Engine.market,
    "ioc": Engine.ioc,
    "fok": Engine.fok,
    "post_only": Engine.post_only,
    "submit": Engine.submit,
    "cancel": Engine.cancel,
    "amend": Engine.amend,
}


def replay(
    instruments: Iterable[Instrument],
    commands: Iterable[Command],
    self_trade_mode: SelfTradeMode = SelfTradeMode.CANCEL_RESTING,
) -> list[str]:
    """Run commands on a fresh engine; return its events in canonical text, one per line."""
    engine = Engine(instruments, self_trade_mode)
    for command in commands:
        engine.apply(command)
    return [event_text(event) for event in engine.events]
