"""A dealer's quotes and its wind-down into the year's end, against a stand-in market.

Figures: one book of EUAs (lots of 1,000 t) settled at 3,000 cents; the dealer quotes 1%
apart, two lots a side, with an inventory limit of 20,000 t (etslink.sim.agents.dealer).
"""

from __future__ import annotations

from fractions import Fraction

from etslink.sim.access import BookInfo, Quote
from etslink.sim.agents.dealer import DealerAgent, DealerSeat
from tests.etslink.stand_in_market import StandInMarket

BOOK = BookInfo("EUA", "EUA", "EU", "EUR", 1_000, 1)


def _dealer(sessions: int = 48) -> DealerAgent:
    dealer = DealerAgent(
        "dealer-1",
        {"EU": DealerSeat("EU", "dealer-1-eu", "acct")},
        (BOOK,),
        spread=Fraction(1, 100),
        quote_lots=2,
        inventory_t_max=20_000,
        interest_rate=Fraction(3, 100),
    )
    dealer.open_year({"EU": Fraction(0)}, sessions)
    return dealer


def _market(held_t: int, sessions_left: int) -> StandInMarket:
    return StandInMarket(
        {"EUA": Quote(None, None, 3_000, 3_000)},
        held={"EUA": held_t},
        sessions_left=sessions_left,
    )


def test_at_half_its_limit_it_quotes_both_sides_a_spread_apart_around_the_price() -> None:
    market = _market(10_000, sessions_left=20)
    _dealer().act(market)  # type: ignore[arg-type]
    assert market.orders == [("buy", "EUA", 2_985, 2_000), ("sell", "EUA", 3_015, 2_000)]


def test_in_the_years_last_twelfth_it_only_sells_a_share_for_each_session_left() -> None:
    # 48 sessions: it winds down over the last 4. With 3 left after this one it offers a
    # quarter of its 10,000 t, rounded up to lots: 3,000 t, at its bid side.
    market = _market(10_000, sessions_left=3)
    _dealer().act(market)  # type: ignore[arg-type]
    assert market.orders == [("sell", "EUA", 2_985, 3_000)]
    # In the last session it offers everything.
    market = _market(10_000, sessions_left=0)
    _dealer().act(market)  # type: ignore[arg-type]
    assert market.orders == [("sell", "EUA", 2_985, 10_000)]


def test_winding_down_it_never_asks_below_the_bank_value() -> None:
    dealer = _dealer()
    dealer.open_year({"EU": Fraction(3_100)}, 48)
    market = _market(10_000, sessions_left=0)
    dealer.act(market)  # type: ignore[arg-type]
    assert market.orders == [("sell", "EUA", 3_100, 10_000)]


def test_a_short_year_still_winds_down_in_its_last_session() -> None:
    market = _market(4_000, sessions_left=0)
    _dealer(sessions=5).act(market)  # type: ignore[arg-type]
    assert market.orders == [("sell", "EUA", 2_985, 4_000)]
    market = _market(4_000, sessions_left=1)
    _dealer(sessions=5).act(market)  # type: ignore[arg-type]
    assert [order[0] for order in market.orders] == ["buy", "sell"]
