"""A dealer: a market maker on each book it serves, and an arbitrageur across linked venues.

A dealer holds a trading account in each registry whose venue it serves (one exchange
member per registry: `<dealer>-<registry code>`), and cash in each currency it quotes in.

- **Fair value.** Per book, the last session's settlement price (else the last trade): a
  price the market found, never a lone quote resting today; a book with neither yet
  borrows the price of the same unit on another venue, or of a unit that counts in the
  book's registry at a link's rate, converted. A dealer follows the market: it provides
  liquidity around the price the market found, it does not set one.
- **Quotes.** Each session it bids and asks one quote size around its fair value, a spread
  apart, skewed against its inventory by up to `SKEW_MAX` (2%; long: both quotes lower, to
  sell; empty: higher, to buy), never bidding beyond its inventory limit or its cash, and
  never asking less than its registry's bank value (a dealer can bank too).
- **Arbitrage across venues.** Where the same unit type is listed on two venues and a link
  lets it from one registry into the other, the dealer buys it on the cheap venue through
  its member in the dear venue's registry, so settlement moves the units over the link
  through the gateway — with the link's direction, windows, caps and rate — into its
  account there; it then offers them on the dear venue. It does so only when the dear
  venue's bid beats the cheap venue's ask, converted, by more than its spread plus the
  cost of carrying the units for the link's wait (`carry_days` at the scenario's interest
  rate): the wait is paid for.
- **Into the year's end.** A dealer is not a compliance buyer: what it still holds when
  firms surrender is missing from their cover, and they abate it instead. In the year's
  last twelfth of sessions (a month; at least the last one) it winds down: it neither bids
  nor arbitrages, and offers each book's inventory, a share for each session left, at
  its bid side (fair value less half the spread, never below the bank value).

What a dealer earns is the spread and, where a link's cap binds, the scarcity rent of
moving units across it — in a run, the dealer is the one who holds the right to move them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction

from etslink.sim.access import BookInfo, MarketAccess

SKEW_MAX = Fraction(1, 50)  # a full (or empty) inventory moves the quotes 2% off fair value
WIND_DOWN_SHARE = Fraction(1, 12)  # the share of a year's sessions it winds down over
DAYS_PER_YEAR = 365


@dataclass(frozen=True, slots=True)
class DealerSeat:
    """The dealer's member and account in one registry."""

    registry: str
    member: str
    account: str


@dataclass(frozen=True, slots=True)
class VenueRoute:
    """Units of one type that may move from book `source`'s venue to book `target`'s."""

    source: str
    target: str
    factor: Fraction  # target-book minor units per source-book minor unit
    carry_days: int  # the link's typical wait for a window, in days


@dataclass
class DealerAgent:
    """One dealer: its seats, the books it serves, its limits and its fair values."""

    agent_id: str
    seats: dict[str, DealerSeat]  # registry → seat
    books: tuple[BookInfo, ...]
    spread: Fraction  # the full quote spread as a share of fair value
    quote_lots: int
    inventory_t_max: int  # per book
    interest_rate: Fraction
    routes: tuple[VenueRoute, ...] = ()
    bank_minor: dict[str, Fraction] = field(default_factory=dict)  # registry → bank value
    open_routes: set[tuple[str, str]] = field(default_factory=set)
    peers: dict[str, list[tuple[str, Fraction]]] = field(default_factory=dict)
    wind_down_sessions: int = 1  # the year's last sessions, in which it winds down

    def members(self) -> list[str]:
        return [seat.member for seat in self.seats.values()]

    # ------------------------------------------------------------ fair value

    def fair(self, access: MarketAccess, code: str) -> Fraction | None:
        """Return the book's settled price, else one implied by a peer book's."""
        own = settled_minor(access, code)
        if own is not None:
            return Fraction(own)
        for other, factor in self.peers.get(code, ()):
            theirs = settled_minor(access, other)
            if theirs is not None:
                return theirs * factor
        return None

    # ------------------------------------------------------------ a session

    def act(self, access: MarketAccess) -> None:
        if access.sessions_left < self.wind_down_sessions:
            for book in self.books:
                self._wind_down(access, book)
            return
        for route in self.routes:
            if (route.source, route.target) in self.open_routes:
                self._arbitrage(access, route)
        for book in self.books:
            self._quote(access, book)

    def open_year(self, bank_minor: dict[str, Fraction], sessions: int) -> None:
        """Learn the year's bank values per registry and its number of sessions."""
        self.bank_minor = dict(bank_minor)
        self.wind_down_sessions = max(1, math.ceil(sessions * WIND_DOWN_SHARE))

    def _wind_down(self, access: MarketAccess, book: BookInfo) -> None:
        fair = self.fair(access, book.code)
        if fair is None or fair <= 0:
            return
        seat = self.seats[book.registry]
        free_t = access.account_t(seat.registry, seat.account, book.unit_type)
        free_t += access.free_claim_t(seat.member, book.code)
        share_t = math.ceil(free_t / (access.sessions_left + 1) / book.lot_t) * book.lot_t
        size_t = min(share_t, free_t // book.lot_t * book.lot_t)
        if size_t > 0:
            ask = max(fair * (1 - self.spread / 2), self._bank_in(book))
            access.sell(seat.member, book.code, ask, size_t)

    def inventory_t(self, access: MarketAccess, book: BookInfo) -> int:
        seat = self.seats[book.registry]
        return access.account_t(seat.registry, seat.account, book.unit_type) + (
            access.claimed_t(seat.member, book.unit_type)
        )

    def _quote(self, access: MarketAccess, book: BookInfo) -> None:
        fair = self.fair(access, book.code)
        if fair is None or fair <= 0:
            return
        seat = self.seats[book.registry]
        held_t = self.inventory_t(access, book)
        size_t = self.quote_lots * book.lot_t
        # Skew by where inventory sits in [0, max]: none at the middle, SKEW_MAX at the ends.
        tilt = Fraction(2 * held_t - self.inventory_t_max, max(1, self.inventory_t_max))
        centre = fair * (1 - SKEW_MAX * tilt)
        bid = centre * (1 - self.spread / 2)
        ask = max(centre * (1 + self.spread / 2), self._bank_in(book))
        if held_t + size_t <= self.inventory_t_max and bid > 0:
            cash = access.cash_free_minor(seat.member, book.currency)
            if cash >= math.floor(bid) * size_t:
                access.buy(seat.member, book.code, bid, size_t)
        free_t = access.account_t(seat.registry, seat.account, book.unit_type)
        free_t += access.free_claim_t(seat.member, book.code)
        if free_t >= size_t:
            access.sell(seat.member, book.code, ask, size_t)

    def _bank_in(self, book: BookInfo) -> Fraction:
        return self.bank_minor.get(book.registry, Fraction(0))

    def _arbitrage(self, access: MarketAccess, route: VenueRoute) -> None:
        """Buy on the cheap venue for delivery to the dear one's registry when it pays."""
        source = access.books[route.source]
        target = access.books[route.target]
        seat = self.seats.get(target.registry)
        if seat is None:
            return
        ask = access.quote(route.source).ask_minor
        bid_there = access.quote(route.target).bid_minor
        fair_there = self.fair(access, route.target)
        sell_at = bid_there if bid_there is not None else fair_there
        if ask is None or sell_at is None:
            return
        carry = 1 + self.interest_rate * route.carry_days / DAYS_PER_YEAR
        cost = ask * route.factor * carry * (1 + self.spread / 2)
        if cost >= sell_at:
            return
        room_t = self.inventory_t_max - self.inventory_t(access, target)
        size_t = min(room_t, self.quote_lots * source.lot_t) // source.lot_t * source.lot_t
        if size_t <= 0:
            return
        if access.cash_free_minor(seat.member, source.currency) < ask * size_t:
            return
        access.buy(seat.member, route.source, ask, size_t)


def settled_minor(access: MarketAccess, code: str) -> int | None:
    quote = access.quote(code)
    return quote.settle_minor if quote.settle_minor is not None else quote.last_minor


__all__ = ["DealerAgent", "DealerSeat", "VenueRoute"]
