"""Trading strategies behind one small protocol, and Gode & Sunder's zero-intelligence trader.

An agent sees the market only through a `MarketView` handed to it each day and answers with
order intents; the simulation turns intents into exchange orders. Randomness is a
`random.Random` injected at construction, so one seed replays the same orders.

Zero intelligence constrained (ZI-C; Gode & Sunder 1993, "Allocative Efficiency of Markets
with Zero-Intelligence Traders", JPE 101(1), pp. 119–137): each unit a trader may trade has
a private value (buyer) or cost (seller). A buyer bids uniformly at random in [1, value], a
seller asks uniformly at random in [cost, price max]; neither ever offers a trade at a loss.
Units trade one at a time, in order: a buyer's values do not rise from one unit to the next,
a seller's costs do not fall.

Zero intelligence unconstrained (ZI-U; the same paper): the same schedule of units, but a
trader bids or asks uniformly at random in [1, price max] whatever its value or cost, so it
may buy above its value or sell below its cost. Set side by side, the two show how much of a
double auction's efficiency comes from the budget constraint alone.
"""

from __future__ import annotations

import abc
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from exchange.book import PRICE_MINOR_MAX, Side

UNITS_PER_TRADER_MAX = 10_000  # a trader's private schedule is read in full every day


@dataclass(frozen=True, slots=True)
class OrderIntent:
    """What an agent wants to do: buy or sell `quantity_t` at a limit of `price_minor`."""

    side: Side
    price_minor: int
    quantity_t: int

    def __post_init__(self) -> None:
        if not 1 <= self.price_minor <= PRICE_MINOR_MAX:
            raise ValueError(f"price must lie in [1, {PRICE_MINOR_MAX}], was {self.price_minor}")
        if self.quantity_t <= 0:
            raise ValueError(f"quantity must be > 0 t, was {self.quantity_t} t")


@dataclass(frozen=True, slots=True)
class MarketView:
    """What one agent may know on a day: public quotes and its own fills so far."""

    best_bid_minor: int | None
    best_ask_minor: int | None
    last_price_minor: int | None
    filled_t: int  # units this agent has bought or sold so far

    def __post_init__(self) -> None:
        if self.filled_t < 0:
            raise ValueError(f"filled quantity must be ≥ 0 t, was {self.filled_t} t")


@runtime_checkable
class Agent(Protocol):
    """A trading strategy: another one plugs in by having this one method."""

    def act(self, day: int, market_view: MarketView) -> list[OrderIntent]:
        """Return the orders to place on `day`, given what the agent can see."""
        ...


def checked_limits(
    side: Side, limits_minor: Sequence[int], price_max_minor: int
) -> tuple[int, ...]:
    """Return a trader's values (buyer) or costs (seller) once they pass every check.

    A trader holds 1 to `UNITS_PER_TRADER_MAX` units, each limit lies in [1, price max], a
    buyer's values do not rise and a seller's costs do not fall.
    """
    limits = tuple(limits_minor)
    if not 1 <= len(limits) <= UNITS_PER_TRADER_MAX:
        raise ValueError(f"a trader holds 1 to {UNITS_PER_TRADER_MAX} units, was {len(limits)}")
    if not 1 <= price_max_minor <= PRICE_MINOR_MAX:
        raise ValueError(f"price max must lie in [1, {PRICE_MINOR_MAX}], was {price_max_minor}")
    if any(not 1 <= limit <= price_max_minor for limit in limits):
        raise ValueError(f"values and costs must lie in [1, {price_max_minor}], was {limits}")
    if list(limits) != sorted(limits, reverse=side is Side.BUY):
        raise ValueError(
            f"a buyer's values must not rise and a seller's costs must not fall, was {limits}"
        )
    return limits


class _ZiTrader(abc.ABC):
    """A zero-intelligence trader's schedule of units; subclasses say where it may offer."""

    def __init__(
        self,
        side: Side,
        limits_minor: Sequence[int],
        rng: random.Random,
        *,
        price_max_minor: int,
    ) -> None:
        """Trade one unit per entry of `limits_minor`: values to a buyer, costs to a seller.

        `price_max_minor` is the top of the price range (Gode & Sunder used 200).
        """
        self.side = side
        self.limits_minor = checked_limits(side, limits_minor, price_max_minor)
        self.price_max_minor = price_max_minor
        self._rng = rng

    @abc.abstractmethod
    def offer_range_minor(self, filled_t: int) -> tuple[int, int] | None:
        """Return the lowest and highest price it may offer its next unit at, or None if done."""

    def act(self, day: int, market_view: MarketView) -> list[OrderIntent]:
        """Offer the next untraded unit at a price drawn uniformly from its offer range."""
        offer_range = self.offer_range_minor(market_view.filled_t)
        if offer_range is None:
            return []  # every unit traded: nothing left to offer
        low, high = offer_range
        return [OrderIntent(self.side, self._rng.randint(low, high), 1)]


class ZiConstrainedTrader(_ZiTrader):
    """A ZI-C trader (Gode & Sunder 1993): random limit prices that never trade at a loss."""

    def offer_range_minor(self, filled_t: int) -> tuple[int, int] | None:
        """Return [1, value] to a buyer, [cost, price max] to a seller, None when done."""
        if filled_t >= len(self.limits_minor):
            return None
        limit = self.limits_minor[filled_t]
        if self.side is Side.BUY:
            return 1, limit
        return limit, self.price_max_minor


class ZiUnconstrainedTrader(_ZiTrader):
    """A ZI-U trader (Gode & Sunder 1993): random limit prices blind to value and cost.

    Its schedule only says how many units it trades and in which order; each is offered
    anywhere in [1, price max], so it can buy above its value and sell below its cost.
    """

    def offer_range_minor(self, filled_t: int) -> tuple[int, int] | None:
        """Return [1, price max] while a unit is left, None when done."""
        if filled_t >= len(self.limits_minor):
            return None
        return 1, self.price_max_minor
