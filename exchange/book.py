"""One instrument's limit order book and its matcher: price-time priority, integers only.

Data layout (chosen for the hot path, see `benchmarks/engine_bench.py`):

- an `Order` is a `__slots__` object and is the book's only per-order
  allocation; it is linked into its price level (an intrusive doubly-linked
  FIFO), so a cancel unlinks it in O(1);
- a `Level` (one price, one side) holds head, tail and aggregated open
  quantity, so L2 depth needs no walk over orders;
- each side keeps a dict price -> `Level` and a plain sorted `list` of its
  prices kept with `bisect` (C code): adding or dropping a level is a binary
  search plus a memmove of the prices behind it. Measured on the benchmark
  stream this is 2-3x cheaper than `sortedcontainers.SortedList` (whose
  `add`/`remove` run ~15 lines of Python each), for the books this market
  has (tens to thousands of levels); the memmove is O(levels), bounded by
  `max_price_minor / tick_minor`: measured 3.5 us per add+drop at the front
  of 10,000 levels, 34 us at 100,000 (SortedList: ~1 us at any size);
- the best price per side is cached in a plain int (`_best_bid`, `_best_ask`)
  with sentinels (`0` / `NO_ASK`) for an empty side, so the test "does this
  order cross?" is one int comparison and a non-crossing limit order never
  touches the matching loop;
- orders by id in a dict, per book.

Events are plain tuples appended to a list shared with the `Engine`; the
first field is an `EventKind` (an int), the layouts are documented on
`EventKind`. Tuples are the cheapest immutable record CPython builds; a
frozen dataclass would cost an `__init__` call per event.

Semantics that the reference model in `tests/exchange/` mirrors:

- a new order's checks run in `RejectCode` order (duplicate id, book full
  for types that can rest, quantity, price, then the type's own check);
  cancel and amend check the order id first, then quantity, price and
  would-cross. A rejected command emits one `REJECTED` event and changes
  nothing;
- an accepted order emits `ACCEPTED`, then its trades (and self-trade
  cancels) in priority order, then, if it does not rest, one `CANCELLED`
  for its remainder (IOC / market remainder, or self-trade for STP
  "cancel incoming");
- self-trade prevention meets a resting order of the same participant:
  `CANCEL_RESTING` (default) cancels that resting order and goes on;
  `CANCEL_INCOMING` cancels the incoming remainder and stops;
- fill-or-kill counts eligible liquidity first (skipping own orders under
  `CANCEL_RESTING`, stopping at the first own order under
  `CANCEL_INCOMING`) and is rejected, changing nothing, if short;
- a market order is rejected only when the opposite side is empty;
- post-only is rejected if its price would cross the opposite best;
- an amend never trades (rejected `WOULD_CROSS` if the new price crosses);
  a lower quantity at the same price keeps priority, anything else goes to
  the back of its (new) level. The amend quantity is the new open quantity.
- order ids are unique among the book's live (resting) orders.

This module imports only the standard library and the exchange's
standard-library-only `exchange.errors`. An order leaving the book keeps only
one-way links to its old neighbours, so it is freed by reference counting.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from dataclasses import dataclass
from enum import IntEnum
from fractions import Fraction
from itertools import islice
from typing import Any

from exchange.errors import RejectCode

NO_ASK = 1 << 62  # sentinel best ask of an empty ask side; above every valid price
PRICE_MINOR_MAX = NO_ASK - 1
QUANTITY_T_MAX = 1 << 40  # hard ceiling of `Instrument.max_quantity_t`
ORDERS_MAX = 10_000_000  # default ceiling of resting orders per book


class Side(IntEnum):
    BUY = 1
    SELL = 2


class OrderType(IntEnum):
    LIMIT = 1  # good till cancelled; the remainder rests
    MARKET = 2  # no price; the remainder is cancelled
    IOC = 3  # immediate or cancel: limit price, the remainder is cancelled
    FOK = 4  # fill or kill: limit price, all of it or nothing
    POST_ONLY = 5  # limit that must not take liquidity; rejected if it would cross


class CancelReason(IntEnum):
    USER = 1
    IOC_REMAINDER = 2
    SELF_TRADE = 3
    MARKET_REMAINDER = 4


class SelfTradeMode(IntEnum):
    CANCEL_RESTING = 1
    CANCEL_INCOMING = 2


class EventKind(IntEnum):
    """First field of every event tuple. Layouts (all fields ints or str):

    ACCEPTED   (kind, instrument, order_id)
    REJECTED   (kind, instrument, order_id, RejectCode)
    TRADE      (kind, instrument, trade_seq, price_minor, quantity_t, buyer,
                seller, aggressor Side, resting_order_id, incoming_order_id)
    CANCELLED  (kind, instrument, order_id, quantity_t cancelled, CancelReason)
    AMENDED    (kind, instrument, order_id, price_minor, open quantity_t,
                priority_kept 0/1)
    """

    ACCEPTED = 1
    REJECTED = 2
    TRADE = 3
    CANCELLED = 4
    AMENDED = 5


Event = tuple[Any, ...]

# Module-level aliases: a global lookup is cheaper than an enum attribute.
BUY = Side.BUY
SELL = Side.SELL
ACCEPTED = EventKind.ACCEPTED
REJECTED = EventKind.REJECTED
TRADE = EventKind.TRADE
CANCELLED = EventKind.CANCELLED
AMENDED = EventKind.AMENDED
USER = CancelReason.USER
IOC_REMAINDER = CancelReason.IOC_REMAINDER
SELF_TRADE = CancelReason.SELF_TRADE
MARKET_REMAINDER = CancelReason.MARKET_REMAINDER
CANCEL_RESTING = SelfTradeMode.CANCEL_RESTING
R = RejectCode


def event_text(event: Event) -> str:
    """Return the canonical one-line text of an event (stable across runs)."""
    return " ".join(
        [
            EventKind(event[0]).name,
            *(str(int(f)) if isinstance(f, IntEnum) else str(f) for f in event[1:]),
        ]
    )


@dataclass(frozen=True, slots=True)
class Instrument:
    """A tradable unit type of one origin, quoted in one currency, in integers."""

    code: str  # e.g. "EUA", "KAU", "CEA"
    currency: str  # e.g. "EUR"; prices are its minor units per tonne
    tick_minor: int = 1
    lot_t: int = 1
    max_price_minor: int = PRICE_MINOR_MAX
    max_quantity_t: int = QUANTITY_T_MAX
    max_orders: int = ORDERS_MAX

    def __post_init__(self) -> None:
        assert self.tick_minor > 0 and self.lot_t > 0, self
        assert 0 < self.max_price_minor <= PRICE_MINOR_MAX, self
        assert 0 < self.max_quantity_t <= QUANTITY_T_MAX, self
        assert self.max_orders > 0, self


@dataclass(frozen=True, slots=True)
class DailyStats:
    """One trading day of one instrument: OHLC, volume and notional (integers)."""

    day: int
    open_minor: int | None
    high_minor: int | None
    low_minor: int | None
    close_minor: int | None
    volume_t: int
    notional_minor: int  # sum of price x quantity over the day's trades
    trade_count: int

    @property
    def vwap_minor(self) -> Fraction | None:
        """Return the volume-weighted average price, exact, or None without trades."""
        return Fraction(self.notional_minor, self.volume_t) if self.volume_t else None


class Order:
    """A live order. Mutable, owned by one book; never handed out while resting."""

    __slots__ = (
        "leaves_t",
        "next",
        "order_id",
        "participant",
        "prev",
        "price_minor",
        "quantity_t",
        "side",
    )

    def __init__(
        self, order_id: int, participant: str, side: Side, price_minor: int, quantity_t: int
    ) -> None:
        self.order_id = order_id
        self.participant = participant
        self.side = side
        self.price_minor = price_minor
        self.quantity_t = quantity_t  # total ordered, after amends
        self.leaves_t = quantity_t  # still open
        self.prev: Order | None = None
        self.next: Order | None = None


class Level:
    """The FIFO of resting orders at one price on one side."""

    __slots__ = ("head", "price_minor", "quantity_t", "tail")

    def __init__(self, price_minor: int) -> None:
        self.price_minor = price_minor
        self.quantity_t = 0  # open quantity of all its orders
        self.head: Order | None = None
        self.tail: Order | None = None


class Book:
    """One instrument's order book and matcher. Emits event tuples into `events`.

    Commands never raise on bad input: they emit one `REJECTED` event and
    change nothing. Assertions guard the book's own invariants (bugs).
    """

    __slots__ = (
        "_ask_prices",
        "_asks",
        "_best_ask",
        "_best_bid",
        "_bid_prices",
        "_bids",
        "_day",
        "_emit",
        "_high",
        "_last_price",
        "_last_qty",
        "_lot",
        "_low",
        "_max_orders",
        "_max_price",
        "_max_qty",
        "_notional",
        "_open",
        "_orders",
        "_stp_resting",
        "_tick",
        "_trade_count",
        "_volume",
        "code",
        "instrument",
        "self_trade_mode",
        "trade_seq",
    )

    def __init__(
        self,
        instrument: Instrument,
        events: list[Event],
        self_trade_mode: SelfTradeMode = CANCEL_RESTING,
        day: int = 0,
    ) -> None:
        self.instrument = instrument
        self.code = instrument.code
        self.self_trade_mode = SelfTradeMode(self_trade_mode)
        self._stp_resting = self.self_trade_mode is CANCEL_RESTING
        self._tick = instrument.tick_minor
        self._lot = instrument.lot_t
        self._max_price = instrument.max_price_minor
        self._max_qty = instrument.max_quantity_t
        self._max_orders = instrument.max_orders
        self._emit = events.append
        self._orders: dict[int, Order] = {}
        self._bids: dict[int, Level] = {}
        self._asks: dict[int, Level] = {}
        self._bid_prices: list[int] = []  # ascending; best bid last
        self._ask_prices: list[int] = []  # ascending; best ask first
        self._best_bid = 0  # 0: no bids
        self._best_ask = NO_ASK  # NO_ASK: no asks
        self.trade_seq = 0
        self._last_price: int | None = None
        self._last_qty = 0
        self._day = day
        self._reset_day_stats()

    def _reset_day_stats(self) -> None:
        self._open: int | None = None
        self._high = 0
        self._low = NO_ASK
        self._volume = 0
        self._notional = 0
        self._trade_count = 0

    # ------------------------------------------------------------------ checks

    def _bad(self, price_minor: int, quantity_t: int) -> bool:
        """Return whether the price or the quantity fails any static check."""
        return (
            quantity_t <= 0
            or quantity_t > self._max_qty
            or quantity_t % self._lot != 0
            or price_minor <= 0
            or price_minor > self._max_price
            or price_minor % self._tick != 0
        )

    def _static_code(self, price_minor: int | None, quantity_t: int) -> RejectCode | None:
        """Return the first failing static check of a quantity and a price, if any."""
        if quantity_t <= 0:
            return R.QUANTITY_NOT_POSITIVE
        if quantity_t > self._max_qty:
            return R.QUANTITY_ABOVE_LIMIT
        if quantity_t % self._lot != 0:
            return R.BAD_LOT
        if price_minor is None:
            return None
        if price_minor <= 0:
            return R.PRICE_NOT_POSITIVE
        if price_minor > self._max_price:
            return R.PRICE_ABOVE_LIMIT
        if price_minor % self._tick != 0:
            return R.BAD_TICK
        return None

    def _reject(self, order_id: int, code: RejectCode) -> None:
        self._emit((REJECTED, self.code, order_id, code))

    def _new_order_code(
        self, order_id: int, price_minor: int | None, quantity_t: int, rests: bool
    ) -> RejectCode | None:
        if order_id in self._orders:
            return R.DUPLICATE_ORDER_ID
        if rests and len(self._orders) >= self._max_orders:
            return R.BOOK_FULL
        return self._static_code(price_minor, quantity_t)

    # ---------------------------------------------------------------- commands

    def limit(
        self, order_id: int, participant: str, side: Side, price_minor: int, quantity_t: int
    ) -> None:
        """Submit a good-till-cancelled limit order; the remainder rests."""
        orders = self._orders
        # One combined test on the hot path; the slow path finds the first failing check.
        if (
            order_id in orders
            or len(orders) >= self._max_orders
            or not 0 < quantity_t <= self._max_qty
            or quantity_t % self._lot
            or not 0 < price_minor <= self._max_price
            or price_minor % self._tick
        ):
            code = self._new_order_code(order_id, price_minor, quantity_t, True)
            assert code is not None
            self._emit((REJECTED, self.code, order_id, code))
            return
        order = Order(order_id, participant, side, price_minor, quantity_t)
        if side == BUY:
            if price_minor < self._best_ask:  # fast path: rests without matching
                orders[order_id] = order
                level = self._bids.get(price_minor)
                if level is None:
                    level = self._bids[price_minor] = Level(price_minor)
                    insort(self._bid_prices, price_minor)
                    level.head = order
                    if price_minor > self._best_bid:
                        self._best_bid = price_minor
                else:
                    tail = level.tail
                    tail.next = order  # type: ignore[union-attr]
                    order.prev = tail
                level.tail = order
                level.quantity_t += quantity_t
                self._emit((ACCEPTED, self.code, order_id))
                return
            self._emit((ACCEPTED, self.code, order_id))
            self._take_buy(order, price_minor)
        else:
            if price_minor > self._best_bid:
                orders[order_id] = order
                level = self._asks.get(price_minor)
                if level is None:
                    level = self._asks[price_minor] = Level(price_minor)
                    insort(self._ask_prices, price_minor)
                    level.head = order
                    if price_minor < self._best_ask:
                        self._best_ask = price_minor
                else:
                    tail = level.tail
                    tail.next = order  # type: ignore[union-attr]
                    order.prev = tail
                level.tail = order
                level.quantity_t += quantity_t
                self._emit((ACCEPTED, self.code, order_id))
                return
            self._emit((ACCEPTED, self.code, order_id))
            self._take_sell(order, price_minor)
        if order.leaves_t:
            orders[order_id] = order
            self._append(order)

    def post_only(
        self, order_id: int, participant: str, side: Side, price_minor: int, quantity_t: int
    ) -> None:
        """Submit a limit order that must rest; rejected `WOULD_CROSS` if it would trade."""
        code = self._new_order_code(order_id, price_minor, quantity_t, True)
        if code is None and (
            price_minor >= self._best_ask if side == BUY else price_minor <= self._best_bid
        ):
            code = R.WOULD_CROSS
        if code is not None:
            self._reject(order_id, code)
            return
        self.limit(order_id, participant, side, price_minor, quantity_t)

    def ioc(
        self, order_id: int, participant: str, side: Side, price_minor: int, quantity_t: int
    ) -> None:
        """Submit an immediate-or-cancel limit order; the remainder is cancelled."""
        if order_id in self._orders or self._bad(price_minor, quantity_t):
            code = self._new_order_code(order_id, price_minor, quantity_t, False)
            assert code is not None
            self._reject(order_id, code)
            return
        order = Order(order_id, participant, side, price_minor, quantity_t)
        self._emit((ACCEPTED, self.code, order_id))
        if side == BUY:
            self._take_buy(order, price_minor)
        else:
            self._take_sell(order, price_minor)
        if order.leaves_t:
            self._emit((CANCELLED, self.code, order_id, order.leaves_t, IOC_REMAINDER))

    def market(self, order_id: int, participant: str, side: Side, quantity_t: int) -> None:
        """Submit a market order; rejected `NO_LIQUIDITY` against an empty side."""
        orders = self._orders
        if (
            order_id in orders
            or quantity_t <= 0
            or quantity_t > self._max_qty
            or quantity_t % self._lot
        ):
            code = self._new_order_code(order_id, None, quantity_t, False)
            assert code is not None
            self._reject(order_id, code)
            return
        if not (self._asks if side == BUY else self._bids):
            self._reject(order_id, R.NO_LIQUIDITY)
            return
        order = Order(order_id, participant, side, 0, quantity_t)
        self._emit((ACCEPTED, self.code, order_id))
        if side == BUY:
            self._take_buy(order, PRICE_MINOR_MAX)
        else:
            self._take_sell(order, 1)
        if order.leaves_t:
            self._emit((CANCELLED, self.code, order_id, order.leaves_t, MARKET_REMAINDER))

    def fok(
        self, order_id: int, participant: str, side: Side, price_minor: int, quantity_t: int
    ) -> None:
        """Submit a fill-or-kill limit order: filled in full or rejected, changing nothing."""
        code = self._new_order_code(order_id, price_minor, quantity_t, False)
        if (
            code is None
            and self._fillable_t(participant, side, price_minor, quantity_t) < quantity_t
        ):
            code = R.FOK_NOT_FILLABLE
        if code is not None:
            self._reject(order_id, code)
            return
        order = Order(order_id, participant, side, price_minor, quantity_t)
        self._emit((ACCEPTED, self.code, order_id))
        if side == BUY:
            self._take_buy(order, price_minor)
        else:
            self._take_sell(order, price_minor)
        assert order.leaves_t == 0, (order_id, order.leaves_t)

    def submit(
        self,
        order_type: OrderType,
        order_id: int,
        participant: str,
        side: Side,
        price_minor: int | None,
        quantity_t: int,
    ) -> None:
        """Submit any order type (market ignores `price_minor`); for journals and tests."""
        if order_type == OrderType.MARKET:
            self.market(order_id, participant, side, quantity_t)
            return
        assert price_minor is not None, "a priced order type needs price_minor"
        if order_type == OrderType.LIMIT:
            self.limit(order_id, participant, side, price_minor, quantity_t)
        elif order_type == OrderType.IOC:
            self.ioc(order_id, participant, side, price_minor, quantity_t)
        elif order_type == OrderType.FOK:
            self.fok(order_id, participant, side, price_minor, quantity_t)
        elif order_type == OrderType.POST_ONLY:
            self.post_only(order_id, participant, side, price_minor, quantity_t)
        else:
            raise AssertionError(f"unknown order type {order_type!r}")

    def cancel(self, order_id: int) -> None:
        """Cancel a resting order; rejected `UNKNOWN_ORDER` if it is not resting."""
        order = self._orders.pop(order_id, None)
        if order is None:
            self._emit((REJECTED, self.code, order_id, R.UNKNOWN_ORDER))
            return
        # `_unlink`, inlined: cancels are a quarter of a typical stream.
        prev, nxt = order.prev, order.next
        if prev is not None:
            prev.next = nxt
            level = (self._bids if order.side == BUY else self._asks)[order.price_minor]
            level.quantity_t -= order.leaves_t
            if nxt is None:
                level.tail = prev
            else:
                nxt.prev = prev
        elif nxt is not None:
            nxt.prev = None
            level = (self._bids if order.side == BUY else self._asks)[order.price_minor]
            level.quantity_t -= order.leaves_t
            level.head = nxt
        else:
            self._drop_level(order.side, order.price_minor)
        self._emit((CANCELLED, self.code, order_id, order.leaves_t, USER))

    def amend(self, order_id: int, price_minor: int, quantity_t: int) -> None:
        """Set a resting order's price and open quantity; an amend never trades.

        The same price with a quantity no larger keeps time priority; any other
        change sends the order to the back of its (new) price level.
        """
        order = self._orders.get(order_id)
        code = R.UNKNOWN_ORDER if order is None else self._static_code(price_minor, quantity_t)
        if (
            order is not None
            and code is None
            and (
                price_minor >= self._best_ask
                if order.side == BUY
                else price_minor <= self._best_bid
            )
        ):
            code = R.WOULD_CROSS
        if code is not None:
            self._reject(order_id, code)
            return
        assert order is not None
        if price_minor == order.price_minor and quantity_t <= order.leaves_t:
            reduced_t = order.leaves_t - quantity_t
            order.leaves_t = quantity_t
            order.quantity_t -= reduced_t
            levels = self._bids if order.side == BUY else self._asks
            levels[price_minor].quantity_t -= reduced_t
            self._emit((AMENDED, self.code, order_id, price_minor, quantity_t, 1))
            return
        self._unlink(order)
        order.quantity_t += quantity_t - order.leaves_t
        order.leaves_t = quantity_t
        order.price_minor = price_minor
        self._append(order)
        self._emit((AMENDED, self.code, order_id, price_minor, quantity_t, 0))

    # ---------------------------------------------------------------- matching

    def _take_buy(self, order: Order, limit_minor: int) -> None:
        """Match an incoming buy against asks priced at or below `limit_minor`."""
        asks = self._asks
        prices = self._ask_prices
        orders = self._orders
        emit = self._emit
        code = self.code
        leaves = order.leaves_t
        buyer = order.participant
        incoming_id = order.order_id
        best = self._best_ask
        seq = self.trade_seq
        traded_t = 0
        notional = 0
        first_price = last_price = last_fill = 0
        while leaves and best <= limit_minor:
            level = asks[best]
            resting = level.head
            while resting is not None:
                if resting.participant == buyer:  # self-trade prevention
                    if not self._stp_resting:
                        emit((CANCELLED, code, incoming_id, leaves, SELF_TRADE))
                        leaves = 0
                        break
                    emit((CANCELLED, code, resting.order_id, resting.leaves_t, SELF_TRADE))
                    level.quantity_t -= resting.leaves_t
                else:
                    fill = resting.leaves_t
                    if fill > leaves:
                        fill = leaves
                    if not traded_t:
                        first_price = best
                    seq += 1
                    emit(
                        (
                            TRADE,
                            code,
                            seq,
                            best,
                            fill,
                            buyer,
                            resting.participant,
                            BUY,
                            resting.order_id,
                            incoming_id,
                        )
                    )
                    leaves -= fill
                    traded_t += fill
                    notional += best * fill
                    level.quantity_t -= fill
                    last_price = best
                    last_fill = fill
                    if resting.leaves_t > fill:
                        resting.leaves_t -= fill
                        break
                    resting.leaves_t = 0
                # the resting order is done: pop it from the level's head
                del orders[resting.order_id]
                resting = resting.next
                level.head = resting
                if resting is None:
                    level.tail = None
                else:
                    resting.prev = None
                if not leaves:
                    break
            if level.head is None:
                del asks[best]
                prices.pop(0)
                best = prices[0] if prices else NO_ASK
            else:
                break
        self._best_ask = best
        order.leaves_t = leaves
        if traded_t:  # fold into last trade and day statistics; buy prices only rise
            self._trade_count += seq - self.trade_seq
            self.trade_seq = seq
            self._last_price = last_price
            self._last_qty = last_fill
            if self._open is None:
                self._open = first_price
            if first_price < self._low:
                self._low = first_price
            if last_price > self._high:
                self._high = last_price
            self._volume += traded_t
            self._notional += notional

    def _take_sell(self, order: Order, limit_minor: int) -> None:
        """Match an incoming sell against bids priced at or above `limit_minor`."""
        bids = self._bids
        prices = self._bid_prices
        orders = self._orders
        emit = self._emit
        code = self.code
        leaves = order.leaves_t
        seller = order.participant
        incoming_id = order.order_id
        best = self._best_bid
        seq = self.trade_seq
        traded_t = 0
        notional = 0
        first_price = last_price = last_fill = 0
        while leaves and best >= limit_minor and best:
            level = bids[best]
            resting = level.head
            while resting is not None:
                if resting.participant == seller:  # self-trade prevention
                    if not self._stp_resting:
                        emit((CANCELLED, code, incoming_id, leaves, SELF_TRADE))
                        leaves = 0
                        break
                    emit((CANCELLED, code, resting.order_id, resting.leaves_t, SELF_TRADE))
                    level.quantity_t -= resting.leaves_t
                else:
                    fill = resting.leaves_t
                    if fill > leaves:
                        fill = leaves
                    if not traded_t:
                        first_price = best
                    seq += 1
                    emit(
                        (
                            TRADE,
                            code,
                            seq,
                            best,
                            fill,
                            resting.participant,
                            seller,
                            SELL,
                            resting.order_id,
                            incoming_id,
                        )
                    )
                    leaves -= fill
                    traded_t += fill
                    notional += best * fill
                    level.quantity_t -= fill
                    last_price = best
                    last_fill = fill
                    if resting.leaves_t > fill:
                        resting.leaves_t -= fill
                        break
                    resting.leaves_t = 0
                del orders[resting.order_id]
                resting = resting.next
                level.head = resting
                if resting is None:
                    level.tail = None
                else:
                    resting.prev = None
                if not leaves:
                    break
            if level.head is None:
                del bids[best]
                prices.pop()
                best = prices[-1] if prices else 0
            else:
                break
        self._best_bid = best
        order.leaves_t = leaves
        if traded_t:  # fold into last trade and day statistics; sell prices only fall
            self._trade_count += seq - self.trade_seq
            self.trade_seq = seq
            self._last_price = last_price
            self._last_qty = last_fill
            if self._open is None:
                self._open = first_price
            if last_price < self._low:
                self._low = last_price
            if first_price > self._high:
                self._high = first_price
            self._volume += traded_t
            self._notional += notional

    def _append(self, order: Order) -> None:
        """Put an order at the back of its price level, creating the level if needed."""
        price = order.price_minor
        if order.side == BUY:
            levels, prices = self._bids, self._bid_prices
        else:
            levels, prices = self._asks, self._ask_prices
        level = levels.get(price)
        order.next = None
        if level is None:
            level = levels[price] = Level(price)
            insort(prices, price)
            level.head = order
            order.prev = None
            if order.side == BUY:
                if price > self._best_bid:
                    self._best_bid = price
            elif price < self._best_ask:
                self._best_ask = price
        else:
            tail = level.tail
            assert tail is not None
            tail.next = order
            order.prev = tail
        level.tail = order
        level.quantity_t += order.leaves_t

    def _unlink(self, order: Order) -> None:
        """Take a resting order out of its level in O(1); drop the level if empty."""
        prev, nxt = order.prev, order.next
        if prev is not None:
            prev.next = nxt
            level = (self._bids if order.side == BUY else self._asks)[order.price_minor]
            level.quantity_t -= order.leaves_t
            if nxt is None:
                level.tail = prev
            else:
                nxt.prev = prev
        elif nxt is not None:
            nxt.prev = None
            level = (self._bids if order.side == BUY else self._asks)[order.price_minor]
            level.quantity_t -= order.leaves_t
            level.head = nxt
        else:  # the level's only order: drop the level
            self._drop_level(order.side, order.price_minor)

    def _drop_level(self, side: Side, price: int) -> None:
        if side == BUY:
            del self._bids[price]
            prices = self._bid_prices
            del prices[bisect_left(prices, price)]
            if price == self._best_bid:
                self._best_bid = prices[-1] if prices else 0
        else:
            del self._asks[price]
            prices = self._ask_prices
            del prices[bisect_left(prices, price)]
            if price == self._best_ask:
                self._best_ask = prices[0] if prices else NO_ASK

    def _fillable_t(self, participant: str, side: Side, limit_minor: int, needed_t: int) -> int:
        """Return eligible opposite quantity within the limit, counted up to `needed_t`."""
        if side == BUY:
            levels, prices = self._asks, iter(self._ask_prices)
        else:
            levels, prices = self._bids, reversed(self._bid_prices)
        found_t = 0
        for price in prices:
            if (price > limit_minor) if side == BUY else (price < limit_minor):
                break
            resting = levels[price].head
            while resting is not None:
                if resting.participant == participant:
                    if not self._stp_resting:
                        return found_t
                else:
                    found_t += resting.leaves_t
                    if found_t >= needed_t:
                        return found_t
                resting = resting.next
        return found_t

    # ------------------------------------------------------------- market data

    def best_bid(self) -> int | None:
        """Return the highest resting buy price, or None."""
        return self._best_bid or None

    def best_ask(self) -> int | None:
        """Return the lowest resting sell price, or None."""
        return None if self._best_ask == NO_ASK else self._best_ask

    def depth(self, side: Side, levels_n: int) -> list[tuple[int, int]]:
        """Return the top `levels_n` levels of one side as (price, open quantity), best first."""
        assert levels_n >= 0
        if side == BUY:
            levels, prices = self._bids, reversed(self._bid_prices)
        else:
            levels, prices = self._asks, iter(self._ask_prices)
        return [(price, levels[price].quantity_t) for price in islice(prices, levels_n)]

    def last_trade(self) -> tuple[int, int] | None:
        """Return (price, quantity) of the last trade, or None before any trade."""
        return None if self._last_price is None else (self._last_price, self._last_qty)

    def daily(self) -> DailyStats:
        """Return the current trading day's statistics so far."""
        traded = self._open is not None
        return DailyStats(
            day=self._day,
            open_minor=self._open,
            high_minor=self._high if traded else None,
            low_minor=self._low if traded else None,
            close_minor=self._last_price if traded else None,
            volume_t=self._volume,
            notional_minor=self._notional,
            trade_count=self._trade_count,
        )

    def roll_day(self) -> DailyStats:
        """Close the trading day: return its statistics and start the next day."""
        closed = self.daily()
        self._day += 1
        self._reset_day_stats()
        return closed

    def order(self, order_id: int) -> tuple[int, str, Side, int, int, int] | None:
        """Return a resting order as (id, participant, side, price, open qty, total qty)."""
        order = self._orders.get(order_id)
        if order is None:
            return None
        return (
            order.order_id,
            order.participant,
            order.side,
            order.price_minor,
            order.leaves_t,
            order.quantity_t,
        )

    def __len__(self) -> int:
        return len(self._orders)

    def side_orders(self, side: Side) -> list[tuple[int, str, int, int, int]]:
        """Return one side's resting orders in priority order as (id, participant,
        price, open qty, total qty)."""
        if side == BUY:
            levels, prices = self._bids, reversed(self._bid_prices)
        else:
            levels, prices = self._asks, iter(self._ask_prices)
        out = []
        for price in prices:
            order = levels[price].head
            while order is not None:
                out.append(
                    (
                        order.order_id,
                        order.participant,
                        order.price_minor,
                        order.leaves_t,
                        order.quantity_t,
                    )
                )
                order = order.next
        return out

    def snapshot(self) -> tuple[Any, ...]:
        """Return the whole observable state as a canonical tuple (to compare states)."""
        return (
            self.code,
            tuple(self.side_orders(BUY)),
            tuple(self.side_orders(SELL)),
            self.best_bid(),
            self.best_ask(),
            self.trade_seq,
            self.last_trade(),
            self.daily(),
        )

    def check_invariants(self) -> None:
        """Assert the book's structural invariants (for tests and audits; O(n))."""
        for side, levels, prices in (
            (BUY, self._bids, self._bid_prices),
            (SELL, self._asks, self._ask_prices),
        ):
            assert list(prices) == sorted(levels), (side, list(prices))
            for price, level in levels.items():
                assert level.price_minor == price and level.head is not None
                assert level.head.prev is None
                total_t = 0
                order: Order | None = level.head
                prev: Order | None = None
                while order is not None:
                    assert order.prev is prev and order.side == side
                    assert order.price_minor == price and order.leaves_t > 0
                    assert self._orders[order.order_id] is order
                    total_t += order.leaves_t
                    prev, order = order, order.next
                assert level.tail is prev and level.quantity_t == total_t
        assert self._best_bid == (self._bid_prices[-1] if self._bid_prices else 0)
        assert self._best_ask == (self._ask_prices[0] if self._ask_prices else NO_ASK)
        assert self._best_bid < self._best_ask, (self._best_bid, self._best_ask)
        assert len(self._orders) == sum(1 for _ in self.side_orders(BUY)) + sum(
            1 for _ in self.side_orders(SELL)
        )
