"""A continuous double auction in Gode & Sunder's style, on the exchange's order book.

Gode & Sunder (1993, "Allocative Efficiency of Markets with Zero-Intelligence Traders",
JPE 101(1), pp. 119–137) let zero-intelligence traders (`etslink.sim.agents.zero_intelligence`)
trade in a double auction and measured allocative efficiency: the gains from trade the
traders realised over the most the schedule allows. Budget-constrained traders (ZI-C) came
close to 100%; unconstrained ones (ZI-U) clearly less. `run_session` repeats that experiment.

A session's rules:

- each buyer holds a schedule of redemption values, each seller one of unit costs, one per
  unit; a trader trades its units one at a time, in schedule order;
- at each step the session draws one trader that still has an untraded unit, uniformly from
  its injected `random.Random`; the trader posts a one-unit limit order for its next unit
  (ZI-C: a buyer in [1, value], a seller in [cost, 200]; ZI-U: anywhere in [1, 200]);
- orders meet in an `exchange.book.Book` under its price-time priority: an order that
  crosses trades at the resting order's price, else it rests;
- after every trade all resting orders are cancelled, as Gode & Sunder cancelled the
  standing bid and ask. (Their market kept only the best bid and ask; an order below the
  best rests in the book here, but a one-unit order only ever meets the best, so it could
  not have traded before the cancel);
- the session ends when no trade is possible any more (no buyer's highest possible bid
  reaches a seller's lowest possible ask) or after `steps_max` steps.

Efficiency is realised surplus, Σ (value − cost) over the traded units, divided by the
maximum surplus, the area between the demand and supply steps up to their crossing. A ZI-U
unit may trade at a loss, so realised surplus, and efficiency, can fall below zero.
Integers throughout; the efficiency is an exact `Fraction`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import Enum
from fractions import Fraction

from etslink.sim.agents.zero_intelligence import (
    MarketView,
    ZiConstrainedTrader,
    ZiUnconstrainedTrader,
    checked_limits,
)
from exchange.book import Book, Event, EventKind, Instrument, Side

PRICE_MAX_MINOR = 200  # Gode & Sunder's prices ran from 1 to 200
TRADERS_PER_SIDE_MAX = 100  # the stop rule scans every trader after each trade
STEPS_MAX = 1_000_000  # the resting orders between two trades grow by at most one a step
STEPS_MAX_DEFAULT = 5_000
_INSTRUMENT = Instrument("UNIT", "XXX", max_price_minor=PRICE_MAX_MINOR)  # XXX: no currency

ZiTrader = ZiConstrainedTrader | ZiUnconstrainedTrader


class TraderKind(Enum):
    """Which zero-intelligence traders fill a session."""

    CONSTRAINED = "ZI-C"  # never offers a unit at a loss
    UNCONSTRAINED = "ZI-U"  # offers anywhere in the price range


class SessionEnd(Enum):
    """Why a session stopped."""

    NO_TRADE_POSSIBLE = "no trade possible"
    STEP_LIMIT = "step limit"


@dataclass(frozen=True, slots=True)
class Schedule:
    """Buyers' redemption values and sellers' unit costs, one tuple of units per trader.

    Buyer i is named `b{i+1}`, seller j `s{j+1}`. Values and costs lie in [1, 200]; a buyer's
    values do not rise from one unit to the next, a seller's costs do not fall; some unit must
    be worth more to a buyer than it costs a seller, or efficiency would have no denominator.
    """

    buyer_values_minor: tuple[tuple[int, ...], ...]
    seller_costs_minor: tuple[tuple[int, ...], ...]

    def __post_init__(self) -> None:
        for role, traders in (
            ("buyers", self.buyer_values_minor),
            ("sellers", self.seller_costs_minor),
        ):
            if not 1 <= len(traders) <= TRADERS_PER_SIDE_MAX:
                raise ValueError(
                    f"a schedule has 1 to {TRADERS_PER_SIDE_MAX} {role}, was {len(traders)}"
                )
        for trader_id, (side, units) in self.units_by_trader().items():
            try:
                checked_limits(side, units, PRICE_MAX_MINOR)
            except ValueError as error:
                raise ValueError(f"{trader_id}: {error}") from error
        if max_surplus_minor(self) <= 0:
            raise ValueError(
                "no unit is worth more to a buyer than it costs a seller, was highest value "
                f"{max(max(u) for u in self.buyer_values_minor)} and lowest cost "
                f"{min(min(u) for u in self.seller_costs_minor)}"
            )

    def units_by_trader(self) -> dict[str, tuple[Side, tuple[int, ...]]]:
        """Return each trader's side and units by id, buyers then sellers, in schedule order."""
        units = {f"b{i}": (Side.BUY, v) for i, v in enumerate(self.buyer_values_minor, 1)}
        units.update((f"s{j}", (Side.SELL, c)) for j, c in enumerate(self.seller_costs_minor, 1))
        return units


@dataclass(frozen=True, slots=True)
class Equilibrium:
    """The competitive equilibrium of a schedule: quantity, price interval, surplus."""

    quantity_t: int  # units whose value exceeds their cost
    price_low_minor: int  # every price in [low, high] clears the market
    price_high_minor: int
    surplus_minor: int  # the maximum surplus


def max_surplus_minor(schedule: Schedule) -> int:
    """Return the area between the demand and supply steps up to their crossing."""
    demand, supply = _steps(schedule)
    return sum(max(value - cost, 0) for value, cost in zip(demand, supply, strict=False))


def competitive_equilibrium(schedule: Schedule) -> Equilibrium:
    """Return where the demand and supply steps cross: the units traded and the prices."""
    demand, supply = _steps(schedule)
    quantity = sum(1 for value, cost in zip(demand, supply, strict=False) if value > cost)
    assert quantity >= 1, "a schedule has gains from trade"
    low = max([supply[quantity - 1], *demand[quantity : quantity + 1]])
    high = min([demand[quantity - 1], *supply[quantity : quantity + 1]])
    assert low <= high, (low, high)
    return Equilibrium(quantity, low, high, max_surplus_minor(schedule))


def _steps(schedule: Schedule) -> tuple[list[int], list[int]]:
    """Return every unit's value, highest first, and every unit's cost, lowest first."""
    demand = sorted((v for units in schedule.buyer_values_minor for v in units), reverse=True)
    supply = sorted(c for units in schedule.seller_costs_minor for c in units)
    return demand, supply


GS_STYLE_MARKET = Schedule(
    buyer_values_minor=(
        (185, 140, 95),
        (170, 128),
        (162, 121, 84),
        (150, 112),
        (144, 104, 77),
        (131, 99),
    ),
    seller_costs_minor=(
        (30, 75, 118),
        (42, 86),
        (51, 93, 135),
        (60, 101),
        (68, 108, 150),
        (79,),
    ),
)
"""A market built in the style of Gode & Sunder's, not copied from their tables.

Like their markets: six buyers and six sellers, one to three units each, values and costs
spread over [1, 200]. Buyers hold 15 units, sellers 14. Demand falls 185, 170, 162, 150,
144, 140, 131, 128, 121, 112 | 104, 99, …; supply rises 30, 42, 51, 60, 68, 75, 79, 86, 93,
101 | 108, 118, …. They cross after 10 units: the competitive equilibrium trades 10 units
at any price in [104, 108], for a maximum surplus of 758. Five buyers' units (104, 99, 95,
84, 77) and four sellers' (108, 118, 135, 150) are extra-marginal: ZI-U traders trade them
at a loss to the market, ZI-C traders rarely get the chance.
"""


@dataclass(frozen=True, slots=True)
class SessionTrade:
    """One unit changing hands: who, at what price, and what it was worth to each side."""

    buyer_id: str
    buyer_value_minor: int  # the buyer's redemption value of this unit
    seller_id: str
    seller_cost_minor: int  # the seller's cost of this unit
    price_minor: int

    @property
    def surplus_minor(self) -> int:
        """Return the gain from trade of this unit (negative when it traded at a loss)."""
        return self.buyer_value_minor - self.seller_cost_minor


@dataclass(frozen=True, slots=True)
class SessionResult:
    """What a session did: its trades in order, its surplus and why it stopped."""

    kind: TraderKind
    trades: tuple[SessionTrade, ...]
    realised_surplus_minor: int
    max_surplus_minor: int
    steps_run: int
    end: SessionEnd

    def __post_init__(self) -> None:
        assert self.realised_surplus_minor == sum(t.surplus_minor for t in self.trades)
        assert self.max_surplus_minor > 0
        assert self.realised_surplus_minor <= self.max_surplus_minor, self

    @property
    def efficiency(self) -> Fraction:
        """Return realised over maximum surplus (Gode & Sunder's allocative efficiency)."""
        return Fraction(self.realised_surplus_minor, self.max_surplus_minor)


class DoubleAuction:
    """The session's market: one book, each trader's next unit, the cancel after a trade.

    It enforces the market's rules only; whether a price is sensible is the trader's affair
    (ZI-U traders post loss-making prices and the market lets them).
    """

    def __init__(self, schedule: Schedule) -> None:
        self.schedule = schedule
        self._events: list[Event] = []
        self._book = Book(_INSTRUMENT, self._events)
        self._limits = schedule.units_by_trader()
        self._filled_t = dict.fromkeys(self._limits, 0)
        self._order_unit: dict[int, tuple[str, int]] = {}  # resting order -> trader, unit
        self._order_id_next = 1
        self._last_price_minor: int | None = None
        self._trades: list[SessionTrade] = []

    def trades(self) -> tuple[SessionTrade, ...]:
        """Return the trades so far, in the order they happened."""
        return tuple(self._trades)

    def filled_t(self, trader_id: str) -> int:
        """Return how many units the trader has traded."""
        return self._filled_t[trader_id]

    def active_ids(self) -> list[str]:
        """Return the traders with an untraded unit, buyers then sellers, in schedule order."""
        return [t for t, (_, units) in self._limits.items() if self._filled_t[t] < len(units)]

    def market_view(self, trader_id: str) -> MarketView:
        """Return what the trader may see: best bid and ask, last price, its own fills."""
        return MarketView(
            self._book.best_bid(),
            self._book.best_ask(),
            self._last_price_minor,
            self._filled_t[trader_id],
        )

    def post(self, trader_id: str, side: Side, price_minor: int) -> SessionTrade | None:
        """Post a one-unit limit order for the trader's next unit; return the trade, if any.

        After a trade every resting order is cancelled and both traders move to their next
        unit.
        """
        trader_side, units = self._limits[trader_id]
        unit = self._filled_t[trader_id]
        if side is not trader_side or unit >= len(units):
            raise ValueError(
                f"{trader_id} may only {trader_side.name.lower()} and has {len(units) - unit} "
                f"units left, was asked to {side.name.lower()} one"
            )
        if not 1 <= price_minor <= PRICE_MAX_MINOR:
            raise ValueError(f"price must lie in [1, {PRICE_MAX_MINOR}], was {price_minor}")
        order_id = self._order_id_next
        self._order_id_next += 1
        self._order_unit[order_id] = (trader_id, unit)
        self._book.limit(order_id, trader_id, side, price_minor, 1)
        # the price was checked and the id is fresh: a rejection here is a bug
        assert all(event[0] != EventKind.REJECTED for event in self._events), self._events
        trade_events = [event for event in self._events if event[0] == EventKind.TRADE]
        self._events.clear()
        if not trade_events:
            return None
        (event,) = trade_events  # a one-unit order trades at most once
        return self._settle(event)

    def _settle(self, event: Event) -> SessionTrade:
        """Record a trade, move both traders to their next unit and cancel every order."""
        _, _, _, price_minor, quantity_t, buyer_id, seller_id, _, resting_id, incoming_id = event
        assert quantity_t == 1, event
        for order_id in (resting_id, incoming_id):  # both orders were for a current unit
            trader_id, unit = self._order_unit[order_id]
            assert unit == self._filled_t[trader_id], (order_id, trader_id, unit)
        trade = SessionTrade(
            buyer_id,
            self._limits[buyer_id][1][self._filled_t[buyer_id]],
            seller_id,
            self._limits[seller_id][1][self._filled_t[seller_id]],
            price_minor,
        )
        self._filled_t[buyer_id] += 1
        self._filled_t[seller_id] += 1
        self._last_price_minor = price_minor
        self._trades.append(trade)
        for side in (Side.BUY, Side.SELL):
            for order_id, *_ in self._book.side_orders(side):
                self._book.cancel(order_id)
        assert len(self._book) == 0, len(self._book)
        self._events.clear()
        self._order_unit.clear()
        return trade


def run_session(
    schedule: Schedule,
    kind: TraderKind,
    rng: random.Random,
    steps_max: int = STEPS_MAX_DEFAULT,
) -> SessionResult:
    """Run one double-auction session of `kind` traders on `schedule`; return its result.

    `rng` draws the trader of each step and seeds each trader's own `random.Random`, so one
    seed replays the same session.
    """
    if not 1 <= steps_max <= STEPS_MAX:
        raise ValueError(f"steps max must lie in [1, {STEPS_MAX}], was {steps_max}")
    auction = DoubleAuction(schedule)
    traders = _traders(schedule, kind, rng)
    end = SessionEnd.STEP_LIMIT
    steps_run = 0
    active = auction.active_ids()
    possible = _trade_possible(traders, auction)
    while steps_run < steps_max:
        if not possible:  # changes only with a trade
            end = SessionEnd.NO_TRADE_POSSIBLE
            break
        trader_id = active[rng.randrange(len(active))]
        steps_run += 1
        for intent in traders[trader_id].act(steps_run, auction.market_view(trader_id)):
            if auction.post(trader_id, intent.side, intent.price_minor) is not None:
                active = auction.active_ids()
                possible = _trade_possible(traders, auction)
    trades = auction.trades()
    return SessionResult(
        kind,
        trades,
        sum(t.surplus_minor for t in trades),
        max_surplus_minor(schedule),
        steps_run,
        end,
    )


def _traders(schedule: Schedule, kind: TraderKind, rng: random.Random) -> dict[str, ZiTrader]:
    """Return one trader per schedule entry, each with its own `random.Random` seeded by `rng`."""
    trader_type = ZiConstrainedTrader if kind is TraderKind.CONSTRAINED else ZiUnconstrainedTrader
    return {
        trader_id: trader_type(
            side, units, random.Random(rng.getrandbits(64)), price_max_minor=PRICE_MAX_MINOR
        )
        for trader_id, (side, units) in schedule.units_by_trader().items()
    }


def _trade_possible(traders: dict[str, ZiTrader], auction: DoubleAuction) -> bool:
    """Return whether some buyer's highest possible bid reaches some seller's lowest ask."""
    bid_high = ask_low = None
    for trader_id, trader in traders.items():
        offer_range = trader.offer_range_minor(auction.filled_t(trader_id))
        if offer_range is None:
            continue
        low, high = offer_range
        if trader.side is Side.BUY:
            bid_high = high if bid_high is None else max(bid_high, high)
        else:
            ask_low = low if ask_low is None else min(ask_low, low)
    return bid_high is not None and ask_low is not None and bid_high >= ask_low
