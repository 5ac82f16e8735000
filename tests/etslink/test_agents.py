"""Zero-intelligence traders, constrained and unconstrained (Gode & Sunder 1993), and the agent
protocol."""

from __future__ import annotations

import random
from collections.abc import Mapping
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from etslink.economics import UnitTrade, UnitValues, allocative_efficiency
from etslink.sim.access import BookInfo, Quote
from etslink.sim.agents.zero_intelligence import (
    Agent,
    MarketView,
    OrderIntent,
    ZiConstrainedTrader,
    ZiUnconstrainedTrader,
)
from etslink.sim.agents.zi_trader import ZiTraderAgent
from exchange.book import Side
from tests.etslink.stand_in_market import StandInMarket

PRICE_MAX_MINOR = 200  # Gode & Sunder's price range was 1 to 200
EMPTY = MarketView(best_bid_minor=None, best_ask_minor=None, last_price_minor=None, filled_t=0)


def _view(filled_t: int) -> MarketView:
    return MarketView(None, None, None, filled_t)


schedules = st.lists(st.integers(1, PRICE_MAX_MINOR), min_size=1, max_size=6)


@given(schedules, st.integers(0, 2**32), st.data())
def test_zi_c_buyer_never_bids_above_its_value(
    values: list[int], seed: int, data: st.DataObject
) -> None:
    values.sort(reverse=True)
    trader = ZiConstrainedTrader(
        Side.BUY, values, random.Random(seed), price_max_minor=PRICE_MAX_MINOR
    )

    for day in range(30):
        filled_t = data.draw(st.integers(0, len(values) - 1))
        (intent,) = trader.act(day, _view(filled_t))
        assert intent.side is Side.BUY and intent.quantity_t == 1
        assert 1 <= intent.price_minor <= values[filled_t]


@given(schedules, st.integers(0, 2**32), st.data())
def test_zi_c_seller_never_asks_below_its_cost(
    costs: list[int], seed: int, data: st.DataObject
) -> None:
    costs.sort()
    trader = ZiConstrainedTrader(
        Side.SELL, costs, random.Random(seed), price_max_minor=PRICE_MAX_MINOR
    )

    for day in range(30):
        filled_t = data.draw(st.integers(0, len(costs) - 1))
        (intent,) = trader.act(day, _view(filled_t))
        assert intent.side is Side.SELL and intent.quantity_t == 1
        assert costs[filled_t] <= intent.price_minor <= PRICE_MAX_MINOR


def _orders(seed: int) -> list[OrderIntent]:
    trader = ZiConstrainedTrader(Side.BUY, [150], random.Random(seed), price_max_minor=200)
    return [intent for day in range(40) for intent in trader.act(day, EMPTY)]


def test_same_seed_gives_the_same_orders_and_another_seed_other_orders() -> None:
    assert _orders(7) == _orders(7)
    assert _orders(7) != _orders(8)


def test_trader_with_every_unit_traded_places_no_orders() -> None:
    trader = ZiConstrainedTrader(Side.SELL, [10, 20], random.Random(1), price_max_minor=200)

    assert trader.act(0, _view(2)) == []


def test_buyer_whose_values_rise_is_refused() -> None:
    with pytest.raises(ValueError, match="must not rise"):
        ZiConstrainedTrader(Side.BUY, [10, 20], random.Random(1), price_max_minor=200)


def test_cost_above_the_price_range_is_refused() -> None:
    with pytest.raises(ValueError, match=r"\[1, 200\]"):
        ZiConstrainedTrader(Side.SELL, [201], random.Random(1), price_max_minor=200)


@given(schedules, st.sampled_from([Side.BUY, Side.SELL]), st.integers(0, 2**32), st.data())
def test_zi_u_trader_offers_anywhere_in_the_price_range_whatever_its_unit(
    limits: list[int], side: Side, seed: int, data: st.DataObject
) -> None:
    limits.sort(reverse=side is Side.BUY)
    trader = ZiUnconstrainedTrader(side, limits, random.Random(seed), price_max_minor=200)

    for day in range(30):
        filled_t = data.draw(st.integers(0, len(limits) - 1))
        (intent,) = trader.act(day, _view(filled_t))
        assert intent.side is side and intent.quantity_t == 1
        assert 1 <= intent.price_minor <= PRICE_MAX_MINOR


def test_zi_u_buyer_bids_above_its_value_and_seller_asks_below_its_cost() -> None:
    # Gode & Sunder's ZI-U draws from [1, 200] blind to value and cost; a buyer valuing its
    # unit at 20 bids above 20 nine times in ten, a seller costing 180 asks below it as often.
    buyer = ZiUnconstrainedTrader(Side.BUY, [20], random.Random(5), price_max_minor=200)
    seller = ZiUnconstrainedTrader(Side.SELL, [180], random.Random(5), price_max_minor=200)

    bids = [buyer.act(day, EMPTY)[0].price_minor for day in range(50)]
    asks = [seller.act(day, EMPTY)[0].price_minor for day in range(50)]

    assert sum(bid > 20 for bid in bids) >= 30
    assert sum(ask < 180 for ask in asks) >= 30
    assert min(bids + asks) >= 1 and max(bids + asks) <= 200


def test_offer_ranges_of_zi_c_and_zi_u_for_the_next_unit_and_after_the_last() -> None:
    rng = random.Random(1)
    zi_c_buyer = ZiConstrainedTrader(Side.BUY, [90, 70], rng, price_max_minor=200)
    zi_c_seller = ZiConstrainedTrader(Side.SELL, [40, 60], rng, price_max_minor=200)
    zi_u_buyer = ZiUnconstrainedTrader(Side.BUY, [90, 70], rng, price_max_minor=200)
    zi_u_seller = ZiUnconstrainedTrader(Side.SELL, [40], rng, price_max_minor=200)

    assert zi_c_buyer.offer_range_minor(1) == (1, 70)
    assert zi_c_seller.offer_range_minor(0) == (40, 200)
    assert zi_u_buyer.offer_range_minor(1) == (1, 200)
    assert zi_u_seller.offer_range_minor(1) is None
    assert zi_u_seller.act(0, _view(1)) == []


def test_zi_u_trader_is_refused_the_same_bad_schedules_as_zi_c() -> None:
    with pytest.raises(ValueError, match="must not fall"):
        ZiUnconstrainedTrader(Side.SELL, [20, 10], random.Random(1), price_max_minor=200)
    with pytest.raises(ValueError, match=r"\[1, 200\]"):
        ZiUnconstrainedTrader(Side.BUY, [0], random.Random(1), price_max_minor=200)


class FixedPriceAgent:
    """A stub strategy: always bids the same price for one tonne."""

    def __init__(self, price_minor: int) -> None:
        self.price_minor = price_minor

    def act(self, day: int, market_view: MarketView) -> list[OrderIntent]:
        return [OrderIntent(Side.BUY, self.price_minor, 1)]


def test_another_strategy_plugs_in_through_the_agent_protocol() -> None:
    agents: list[Agent] = [
        FixedPriceAgent(42),
        ZiConstrainedTrader(Side.BUY, [30], random.Random(3), price_max_minor=200),
        ZiUnconstrainedTrader(Side.SELL, [30], random.Random(3), price_max_minor=200),
    ]

    intents = [i for agent in agents for i in agent.act(0, EMPTY)]

    assert all(isinstance(agent, Agent) for agent in agents)
    assert intents[0] == OrderIntent(Side.BUY, 42, 1)
    assert intents[1].price_minor <= 30
    assert intents[2].side is Side.SELL and 1 <= intents[2].price_minor <= 200


# --- a Gode & Sunder session: a reference double auction, list-scanning and naive ---------


def _session(
    traders: Mapping[str, ZiConstrainedTrader], steps: int, rng: random.Random
) -> list[UnitTrade]:
    """Run Gode & Sunder's market: one best bid and ask; a crossing order trades at the
    resting price, and every trade clears the book. Traders hold one unit each."""
    bid: tuple[int, str] | None = None
    ask: tuple[int, str] | None = None
    filled = dict.fromkeys(traders, 0)
    trades: list[UnitTrade] = []
    ids = sorted(traders)
    for day in range(steps):
        trader_id = rng.choice(ids)
        best_bid = None if bid is None else bid[0]
        best_ask = None if ask is None else ask[0]
        view = MarketView(best_bid, best_ask, None, filled[trader_id])
        for intent in traders[trader_id].act(day, view):
            if intent.side is Side.BUY and ask is not None and intent.price_minor >= ask[0]:
                trades.append(UnitTrade(trader_id, ask[1], ask[0]))
            elif intent.side is Side.SELL and bid is not None and intent.price_minor <= bid[0]:
                trades.append(UnitTrade(bid[1], trader_id, bid[0]))
            elif intent.side is Side.BUY:
                bid = max(bid or (0, ""), (intent.price_minor, trader_id))
                continue
            else:
                ask = min(ask or (PRICE_MAX_MINOR + 1, ""), (intent.price_minor, trader_id))
                continue
            filled[trades[-1].buyer_id] += 1
            filled[trades[-1].seller_id] += 1
            bid = ask = None
    return trades


def _traders(values: UnitValues, seed: int) -> dict[str, ZiConstrainedTrader]:
    rng = random.Random(seed)
    traders = {
        b: ZiConstrainedTrader(
            Side.BUY, [v], random.Random(rng.getrandbits(64)), price_max_minor=200
        )
        for b, v in values.buyer_value_minor.items()
    }
    for s, c in values.seller_cost_minor.items():
        traders[s] = ZiConstrainedTrader(
            Side.SELL, [c], random.Random(rng.getrandbits(64)), price_max_minor=200
        )
    return traders


unit_values = st.builds(
    lambda buyers, sellers: UnitValues(
        {f"b{i}": v for i, v in enumerate(buyers)}, {f"s{i}": c for i, c in enumerate(sellers)}
    ),
    st.lists(st.integers(1, PRICE_MAX_MINOR), min_size=1, max_size=6),
    st.lists(st.integers(1, PRICE_MAX_MINOR), min_size=1, max_size=6),
)


@given(unit_values, st.integers(0, 2**32))
def test_zi_c_session_never_trades_at_a_loss_so_efficiency_lies_in_zero_to_one(
    values: UnitValues, seed: int
) -> None:
    trades = _session(_traders(values, seed), steps=300, rng=random.Random(seed))

    for t in trades:
        cost = values.seller_cost_minor[t.seller_id]
        assert cost <= t.price_minor <= values.buyer_value_minor[t.buyer_id]
    assert 0 <= allocative_efficiency(trades, values) <= 1


def test_zi_c_market_is_highly_efficient_as_gode_and_sunder_found() -> None:
    # Gode & Sunder report 97–99% for ZI-C; this fixed seed's session gives at least 90%.
    values = UnitValues(
        {f"b{i}": v for i, v in enumerate([190, 170, 150, 130, 110, 90, 70, 50])},
        {f"s{i}": c for i, c in enumerate([30, 50, 70, 90, 110, 130, 150, 170])},
    )

    trades = _session(_traders(values, 2026), steps=2_000, rng=random.Random(2026))

    assert allocative_efficiency(trades, values) >= Fraction(9, 10)


# ---------------------------------------------------------------- traders that follow the market


@given(
    st.integers(100, 100_000),
    st.fractions(Fraction(1, 100), Fraction(1, 4)),
    st.booleans(),
    st.integers(0, 5),
    st.integers(0, 2**32),
)
def test_a_banded_trader_offers_within_twice_its_band_and_zi_c_never_at_a_loss(
    reference: int, band: Fraction, constrained: bool, held_lots: int, seed: int
) -> None:
    """With `value_band` b, each session's value is the book's price × (1 ± up to b) and
    every offer lies within 2b of the price; a ZI-C buyer bids at most its value, a ZI-C
    seller asks at least it (etslink/sim/agents/zi_trader.py)."""
    book = BookInfo("EUA", "EUA", "EU", "EUR", 1_000, 1)
    trader = ZiTraderAgent(
        "zi-1", "EU", "acct", book, 1, 10**7, constrained, random.Random(seed), band
    )
    trader.open_year(Fraction(0))
    market = StandInMarket(
        {"EUA": Quote(None, None, reference, reference)}, held={"EUA": held_lots * 1_000}
    )
    trader.act(market)  # type: ignore[arg-type]
    assert abs(trader.value_minor - reference) <= band * reference + 1
    assert len(market.orders) == 1
    side, _, price, quantity_t = market.orders[0]
    assert quantity_t == 1_000
    assert reference * (1 - 2 * band) - 1 <= price <= reference * (1 + 2 * band) + 1
    if constrained:
        assert price <= trader.value_minor if side == "buy" else price >= trader.value_minor
