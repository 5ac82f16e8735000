"""Zero-intelligence traders in a run: Gode & Sunder's ZI-C and ZI-U on one book each.

Each trader holds a trading account on its book's venue and cash for `HOLD_LOTS_MAX` lots
at its top value. Each year it draws a private value uniformly in [value_min, value_max]
from its own random stream; a constrained (ZI-C) trader values a unit at no less than
what banking it is worth in its registry (`valuation.bank_value_minor`), so it never sells
below that. Each session, when it holds fewer than `HOLD_LOTS_MAX` lots it may buy, and
when it holds a lot it may sell; where both are possible a coin flip decides. It places
one lot: ZI-C bids in [1, value] or asks in [value, value_max] (never a trade at a loss,
`ZiConstrainedTrader`); ZI-U bids or asks anywhere in [1, value_max]
(`ZiUnconstrainedTrader`), which is what the budget constraint is there to prevent.

With a `value_band` b the trader is a noise trader who follows the market: each session its
value is the book's reference price × (1 ± up to b) (never below the bank value for ZI-C),
and it offers within 2b of the reference — ZI-C a bid between the bottom of that range and
its value or an ask between its value and the top, ZI-U anywhere in it. Until the book has
a price, the middle of [value_min, value_max] stands in for the reference.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from fractions import Fraction

from etslink.sim.access import BookInfo, MarketAccess
from etslink.sim.agents.zero_intelligence import (
    MarketView,
    ZiConstrainedTrader,
    ZiUnconstrainedTrader,
)
from exchange.book import Side

HOLD_LOTS_MAX = 10
BAND_STEPS = 1_000  # a value band is drawn on a grid of 1/1000 of its width


@dataclass
class ZiTraderAgent:
    """One zero-intelligence trader on one book."""

    agent_id: str
    registry: str
    account: str
    book: BookInfo
    value_min_minor: int
    value_max_minor: int
    constrained: bool
    rng: random.Random
    value_band: Fraction | None = None
    value_minor: int = 0
    bank_minor: Fraction = Fraction(0)

    @property
    def member(self) -> str:
        return self.agent_id

    def open_year(self, bank_minor: Fraction) -> None:
        """Draw this year's private value; a ZI-C trader's is at least the bank value."""
        self.bank_minor = bank_minor
        self._set_value(self.rng.randint(self.value_min_minor, self.value_max_minor))

    def _set_value(self, value: int, *, within_range: bool = True) -> None:
        if within_range:
            value = min(max(value, self.value_min_minor), self.value_max_minor)
        if self.constrained:
            value = max(value, math.ceil(self.bank_minor))
        self.value_minor = value

    def _follow_market(self, access: MarketAccess) -> int | None:
        """With a value band, draw this session's value around the book's reference price;
        return that reference (None without a band)."""
        if self.value_band is None:
            return None
        reference = access.quote(self.book.code).reference_minor()
        if reference is None:
            reference = (self.value_min_minor + self.value_max_minor) // 2
            self._set_value(math.floor(reference * (1 + self._draw_share())))
            return reference
        self._set_value(math.floor(reference * (1 + self._draw_share())), within_range=False)
        return reference

    def _draw_share(self) -> Fraction:
        assert self.value_band is not None
        return Fraction(self.rng.randint(-BAND_STEPS, BAND_STEPS), BAND_STEPS) * self.value_band

    def _band_price(self, side: Side, reference: int) -> int:
        """Return an offer within twice the band around the market, on the trader's side of
        its value when constrained (ZI-C), anywhere in that range when not (ZI-U)."""
        assert self.value_band is not None
        low = max(1, math.floor(reference * (1 - 2 * self.value_band)))
        high = max(low, math.ceil(reference * (1 + 2 * self.value_band)))
        value = min(max(self.value_minor, low), high)
        if not self.constrained:
            return self.rng.randint(low, high)
        if side is Side.BUY:
            return self.rng.randint(low, value)
        return self.rng.randint(value, high)

    def held_t(self, access: MarketAccess) -> int:
        return access.account_t(self.registry, self.account, self.book.unit_type) + (
            access.claimed_t(self.member, self.book.unit_type)
        )

    def act(self, access: MarketAccess) -> None:
        reference = self._follow_market(access)
        lot = self.book.lot_t
        held_t = self.held_t(access)
        free_t = access.account_t(self.registry, self.account, self.book.unit_type)
        free_t += access.free_claim_t(self.member, self.book.code)
        can_buy = held_t < HOLD_LOTS_MAX * lot
        can_sell = free_t >= lot
        if not can_buy and not can_sell:
            return
        side = Side.BUY if can_buy and (not can_sell or self.rng.random() < 0.5) else Side.SELL
        if reference is not None:
            self._place(access, side, self._band_price(side, reference))
            return
        price_max = max(self.value_max_minor, self.value_minor)
        view = MarketView(None, None, access.last_minor.get(self.book.code), 0)
        trader: ZiConstrainedTrader | ZiUnconstrainedTrader
        if self.constrained:
            trader = ZiConstrainedTrader(
                side, [self.value_minor], self.rng, price_max_minor=price_max
            )
        else:
            trader = ZiUnconstrainedTrader(
                side, [self.value_minor], self.rng, price_max_minor=price_max
            )
        intents = trader.act(0, view)
        if not intents:
            return
        self._place(access, side, intents[0].price_minor)

    def _place(self, access: MarketAccess, side: Side, price_minor: int) -> None:
        if side is Side.BUY:
            access.buy(self.member, self.book.code, price_minor, self.book.lot_t)
        else:
            access.sell(self.member, self.book.code, price_minor, self.book.lot_t)

    def auction_bid(self, access: MarketAccess) -> tuple[int, int] | None:
        """Return its sealed auction bid, (price, tonnes), when it may still buy a lot."""
        if self.held_t(access) >= HOLD_LOTS_MAX * self.book.lot_t:
            return None
        return self.rng.randint(1, max(1, self.value_minor)), self.book.lot_t


__all__ = ["HOLD_LOTS_MAX", "ZiTraderAgent"]
