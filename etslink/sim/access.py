"""What an agent may see and do in the market: the port between agents and the exchange.

Agents never touch the exchange's or a registry's state: they read public quotes and
their own holdings and cash through `MarketAccess`, and act through it — limit orders
(day orders: what still rests when the session closes is cancelled), deposits into
custody for what they sell, withdrawals back to their accounts. Refusals are operating
errors, not bugs: a refused order is counted and the agent sits that order out.

Books are identified by their listing code: a unit type ("EUA"), or a unit type listed on
another registry's venue ("EUA@CH", EU allowances traded in francs and held in custody
in the Swiss registry).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING

from exchange.book import EventKind, OrderType, Side
from registry import RegistryError
from registry.holdings import Holding

if TYPE_CHECKING:
    from etslink.sim.world import World

ORDERS_PER_SESSION_MAX = 200_000  # every agent's orders in one session, together


@dataclass(frozen=True, slots=True)
class BookInfo:
    """A listed book as agents see it: its code, unit type, venue, currency, lot and tick."""

    code: str
    unit_type: str
    registry: str  # the venue: the registry whose custody holds its units
    currency: str
    lot_t: int
    tick_minor: int


@dataclass(frozen=True, slots=True)
class Quote:
    """Public market data of one book: best bid and ask, the last trade and the last
    session's settlement price (None where there is none)."""

    bid_minor: int | None
    ask_minor: int | None
    last_minor: int | None
    settle_minor: int | None = None

    def reference_minor(self) -> int | None:
        """Return the price to plan by: the last settlement price (else the last trade),
        moved to a better quote if one shows.

        A bid above it is a price one could sell at now; an ask below it one one could buy
        at. With neither a settlement nor a trade yet, the midpoint of a two-sided quote; a
        lone quote is no price. None: no price.
        """
        price = self.settle_minor if self.settle_minor is not None else self.last_minor
        bid, ask = self.bid_minor, self.ask_minor
        if price is None:
            return None if bid is None or ask is None else (bid + ask) // 2
        if bid is not None and bid > price:
            price = bid
        # An ask below the price moves it down, unless the book is crossed by that bid.
        crossed = bid is not None and ask is not None and ask < bid
        if ask is not None and ask < price and not crossed:
            price = ask
        return price


class MarketAccess:
    """The agents' window onto the exchange and their own registry accounts."""

    def __init__(self, world: World, books: dict[str, BookInfo]) -> None:
        self._world = world
        self._exchange = world.exchange
        self.books = books
        self.by_unit: dict[str, tuple[str, ...]] = {}
        for code in sorted(books):
            unit = books[code].unit_type
            self.by_unit[unit] = (*self.by_unit.get(unit, ()), code)
        self.last_minor: dict[str, int] = {}  # each book's last trade
        self.settle_minor: dict[str, int] = {}  # each book's last settlement price
        # Each registry's scheduled auction volume not yet offered this year (published).
        self.auction_supply_t: dict[str, int] = {}
        # The year's trading sessions after this one (the calendar is public).
        self.sessions_left = 0
        self.placed: list[tuple[str, int]] = []  # this session's orders: (book, order id)
        # Books a programme's exit closed: no order, deposit or withdrawal is taken there.
        self.closed: set[str] = set()
        self.refused = 0
        self._next_order = 1
        self._holdings: dict[tuple[str, str], Holding] = {}
        # Orders of the last session that closed with tonnes left: the market took less.
        self.unfilled: set[int] = set()

    # ------------------------------------------------------------ what anyone may see

    def quote(self, code: str) -> Quote:
        book = self._exchange.engine.book(code)
        return Quote(
            book.best_bid(),
            book.best_ask(),
            self.last_minor.get(code),
            self.settle_minor.get(code),
        )

    def next_order_id(self) -> int:
        order_id = self._next_order
        self._next_order += 1
        return order_id

    # ------------------------------------------------------------ what a member may see

    def account_t(self, registry: str, account: str, unit_type: str) -> int:
        """Return the units of `unit_type` in the member's own account (any vintage)."""
        holding = self._holdings.get((registry, account))
        if holding is None:
            # An account's holding is one object for the ledger's life: look it up once.
            holding = self._world.registries[registry].account(account).holding
            self._holdings[(registry, account)] = holding
        return holding.balance(unit_type)

    def account_vintage_t(self, registry: str, account: str, unit_type: str, vintage: int) -> int:
        holding = self._world.registries[registry].account(account).holding
        return holding.balance(unit_type, vintage)

    def claimed_t(self, member: str, unit_type: str) -> int:
        """Return the member's custody claims on every book of `unit_type`, with its bought but
        unsettled tonnes and less its sold but unsettled ones."""
        exchange = self._exchange
        custody = exchange.custody
        total = 0
        for code in self.by_unit.get(unit_type, ()):
            total += custody.total_of(member, code) + exchange.unsettled_t(member, code)
        return total

    def free_claim_t(self, member: str, code: str) -> int:
        return self._exchange.custody.free_of(member, code)

    def cash_free_minor(self, member: str, currency: str) -> int:
        return self._exchange.clearing.free_of(member, currency)

    def buy_room_t(self, member: str, code: str) -> int | None:
        """Return the tonnes a link's period cap still lets the member buy on `code` (None: no
        cap applies; 0 also when no link could carry them now)."""
        try:
            return self._exchange.buy_room_t(code, member)
        except RegistryError:
            return 0

    # ------------------------------------------------------------ acting

    def buy(
        self, member: str, code: str, price_minor: Fraction | float, quantity_t: int
    ) -> int | None:
        """Place a limit buy, the price rounded down to the tick; return its id or None."""
        tick = self.books[code].tick_minor
        price = max(tick, math.floor(price_minor / tick) * tick)
        return self._submit(member, code, Side.BUY, price, quantity_t)

    def sell(
        self,
        member: str,
        code: str,
        price_minor: Fraction | float,
        quantity_t: int,
        *,
        deposit_all: bool = True,
    ) -> int | None:
        """Place a limit sell, the price rounded up to the tick, after depositing what the
        order needs beyond the member's free claim; return its id or None.

        `deposit_all` False deposits only what the order lacks, never the rest of the
        member's account (a government's reserve: its auction volume stays in the account).
        """
        if code in self.closed:
            return None
        tick = self.books[code].tick_minor
        price = max(tick, math.ceil(price_minor / tick) * tick)
        free_t = self.free_claim_t(member, code)
        try:
            if free_t < quantity_t:
                short_t = quantity_t - free_t
                self._exchange.deposit_units(
                    member,
                    code,
                    self._deposit_t(member, code, short_t) if deposit_all else short_t,
                )
        except RegistryError:
            self.refused += 1
            return None
        return self._submit(member, code, Side.SELL, price, quantity_t)

    def _deposit_t(self, member: str, code: str, short_t: int) -> int:
        """Return what to deposit for a sell short of `short_t`: on the book's own venue, all
        the member holds of the unit (one registry transfer a year rather than one a sale;
        the claim comes back at the year's end), across the link only what the sale needs."""
        book = self.books[code]
        who = self._exchange.members[member]
        if who.registry != book.registry:
            return short_t
        return max(short_t, self.account_t(who.registry, who.account, book.unit_type))

    def withdraw_all(self, member: str, code: str) -> int:
        """Move the member's free claim on `code` back to its account; return the tonnes."""
        if code in self.closed:
            return 0  # what custody held there met the programme's exit
        free_t = self.free_claim_t(member, code)
        if free_t > 0:
            self._exchange.withdraw_units(member, code, free_t)
        return free_t

    def _submit(
        self, member: str, code: str, side: Side, price_minor: int, quantity_t: int
    ) -> int | None:
        if code in self.closed:
            return None  # not a refusal: the book is gone, as every agent can see
        if len(self.placed) >= ORDERS_PER_SESSION_MAX:
            self.refused += 1
            return None
        order_id = self.next_order_id()
        try:
            events = self._exchange.submit(
                code, OrderType.LIMIT, order_id, member, side, price_minor, quantity_t
            )
        except RegistryError:
            # An operating refusal (no cash, no link open now): the agent sits it out.
            self.refused += 1
            return None
        if any(event[0] == EventKind.REJECTED for event in events):
            self.refused += 1  # the engine refused it (lot, tick, price): nothing rests
            return None
        self.placed.append((code, order_id))
        return order_id

    def close_session(self) -> list[tuple[str, int, int]]:
        """Cancel what still rests of the session's orders; return (book, id, open t) of each.

        Orders that still rested, whole or in part, are remembered in `unfilled` until the
        next close: their owners learn that the market did not take all they offered.
        """
        cancelled = []
        engine = self._exchange.engine
        self.unfilled = set()
        for code, order_id in self.placed:
            resting = engine.book(code).order(order_id)
            if resting is not None:
                cancelled.append((code, order_id, resting[4]))
                self.unfilled.add(order_id)
                self._exchange.cancel(code, order_id)
        self.placed = []
        return cancelled


__all__ = ["BookInfo", "MarketAccess", "Quote"]
