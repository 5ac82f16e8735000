"""A covered firm's session decisions, against a stand-in for the market.

The firm here is a linear-MAC emitter (MAC(q) = q/100 cents per tonne, so 10,000 t of
abatement costs 100 cents at the margin) needing 100,000 t and holding none, with a
penalty of 10,000 cents: hand-checkable figures for each rule in
`etslink.sim.agents.firm`'s docstring.
"""

from __future__ import annotations

from fractions import Fraction

from etslink.economics import LinearMac
from etslink.scenario.model import Allocation, Entity
from etslink.sim.access import Quote
from etslink.sim.agents.firm import STEP, FirmAgent, FirmBook, FirmYearPlan
from tests.etslink.stand_in_market import StandInMarket

NEED_T = 100_000
PENALTY = 10_000


def _book(code: str, unit: str, value: Fraction = Fraction(1)) -> FirmBook:
    foreign = unit != "HOME"
    return FirmBook(
        code=code,
        unit_type=unit,
        value=value,
        factor=Fraction(1),
        lot_t=1_000,
        foreign=foreign,
        sellable=not foreign,
        cross_registry=foreign,
    )


def _firm(*books: FirmBook, bank_minor: int = 0) -> FirmAgent:
    curve = LinearMac(Fraction(1, 100))
    entity = Entity("f1", "power", NEED_T, Fraction(0), Allocation(share=Fraction(0)), curve)
    firm = FirmAgent("f1", entity, "A", "acct", curve, "EUR", "HOME", PENALTY, books)
    firm.open_links = {book.code for book in books if book.cross_registry}
    firm.start_year(FirmYearPlan(2030, NEED_T, NEED_T, Fraction(bank_minor), None))
    return firm


def test_it_bids_a_quarter_of_its_gap_at_the_market_price() -> None:
    # At 300 cents it abates 30,000 t (MAC 300 at q = 30,000): it wants 70,000 t, bids a
    # quarter, 17,000 t in whole lots, at the price (worth far above it).
    market = StandInMarket({"H": Quote(None, None, 300, 300)})
    _firm(_book("H", "HOME")).act(market)  # type: ignore[arg-type]
    assert market.orders == [("buy", "H", 300.0, 17_000)]


def test_it_buys_where_a_tonne_of_compliance_is_cheapest() -> None:
    home = _book("H", "HOME")
    # A foreign unit counting half a tonne at 200 cents costs 400 a tonne: dearer than home.
    half = _book("F", "FOREIGN", Fraction(1, 2))
    market = StandInMarket({"H": Quote(None, None, 300, 300), "F": Quote(None, None, 200, 200)})
    _firm(home, half).act(market)  # type: ignore[arg-type]
    assert [order[1] for order in market.orders] == ["H"]
    # At a full tonne each, the foreign book is the cheaper cover.
    whole = _book("F", "FOREIGN")
    market = StandInMarket({"H": Quote(None, None, 300, 300), "F": Quote(None, None, 200, 200)})
    _firm(home, whole).act(market)  # type: ignore[arg-type]
    assert [order[1] for order in market.orders] == ["F"]


def test_after_an_unfilled_bid_it_bids_a_step_higher_but_never_above_its_worth() -> None:
    market = StandInMarket({"H": Quote(None, None, 300, 300)})
    firm = _firm(_book("H", "HOME"))
    firm.act(market)  # type: ignore[arg-type]
    market.unfilled = {1}  # the market took none of it
    firm.act(market)  # type: ignore[arg-type]
    assert market.orders[1][2] == 300 * (1 + STEP)
    # Had the bid filled, it would bid the market's price again.
    market.unfilled = set()
    firm.act(market)  # type: ignore[arg-type]
    assert market.orders[2][2] == 300.0
    # Holding 99,000 t of its 100,000, the next tonne saves abating the 1,000th: worth 10
    # cents; a step above an unfilled bid at the price never lifts a bid past that.
    market = StandInMarket({"H": Quote(None, None, 5, 5)}, held={"HOME": 98_000})
    firm = _firm(_book("H", "HOME"))
    firm.act(market)  # type: ignore[arg-type]
    assert market.orders == [("buy", "H", 5.0, 1_000)]
    market.unfilled = {1}
    firm.act(market)  # type: ignore[arg-type]
    assert market.orders[1][2] == 5.5
    for order_id in range(2, 12):
        market.unfilled = {order_id}
        firm.act(market)  # type: ignore[arg-type]
    assert max(order[2] for order in market.orders) <= 10.0  # MAC(1,000) = 10


def test_it_sells_what_it_values_below_the_market_and_never_below_the_bank_value() -> None:
    # Holding 100,000 t at a price of 400: selling 40,000 t means abating 40,000 t at
    # MAC up to 400; it offers a quarter, 10,000 t, at the price.
    market = StandInMarket({"H": Quote(None, None, 400, 400)}, held={"HOME": NEED_T})
    _firm(_book("H", "HOME")).act(market)  # type: ignore[arg-type]
    assert market.orders == [("sell", "H", 400.0, 10_000)]
    # With banking worth 500 a unit, it keeps every one — and at 400 buys more to bank.
    market = StandInMarket({"H": Quote(None, None, 400, 400)}, held={"HOME": NEED_T})
    _firm(_book("H", "HOME"), bank_minor=500).act(market)  # type: ignore[arg-type]
    assert [order[0] for order in market.orders] == ["buy"]


def test_on_a_book_with_no_price_it_quotes_a_lot_each_side_of_its_worth() -> None:
    # Holding 50,000 t: one more lot covers up to 51,000 (worth MAC(49,000) = 490); one
    # lot less leaves 49,000 (worth MAC(51,000) = 510).
    market = StandInMarket({}, held={"HOME": 50_000})
    _firm(_book("H", "HOME")).act(market)  # type: ignore[arg-type]
    assert market.orders == [("buy", "H", 490.0, 1_000), ("sell", "H", 510.0, 1_000)]
