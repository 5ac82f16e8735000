"""Sealed-bid uniform-price auctions: the real rules named, properties over random bids,
and one auction run against the clearing house and a registry."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exchange.auction import (
    Auction,
    AuctionCode,
    AuctionError,
    AuctionRules,
    Bid,
    UnsoldRule,
    clear_auction,
)
from exchange.balances import Balance
from exchange.clearing import ClearingHouse
from registry import AccountKind, Registry, SigningKey, UnitKind, UnitType
from registry.clock import SimulatedClock


def test_korea_one_bidder_wins_at_most_30_percent_of_an_auction() -> None:
    """K-ETS auction rule: one bidder at most 30% of the auctioned quantity (DOMAIN.md; [V])."""
    rules = AuctionRules(reserve_price_minor=10_000, bidder_share_max=Fraction(3, 10))
    bids = [Bid("a1", "A", 30_000, 600_000, 0), Bid("b1", "B", 25_000, 900_000, 1)]
    result = clear_auction(1_000_000, bids, rules)
    assert result.by_bidder() == {"A": 300_000, "B": 300_000}
    assert result.unsold_t == 400_000
    assert result.clearing_price_minor == 10_000  # undersubscribed after the caps: reserve


def test_california_lots_of_1000_and_the_lowest_accepted_bid_sets_the_price() -> None:
    """California: uniform-price auctions in 1,000-unit lots (DOMAIN.md; [V]); reserve price
    $10.00 in 2012 (figures of the bids illustrative)."""
    rules = AuctionRules(reserve_price_minor=1_000, lot_t=1_000)
    bids = [
        Bid("p1", "P", 1_500, 5_000, 0),
        Bid("q1", "Q", 1_300, 4_000, 1),
        Bid("r1", "R", 1_200, 4_000, 2),
        Bid("s1", "S", 1_100, 9_000, 3),
    ]
    result = clear_auction(10_000, bids, rules)
    assert result.clearing_price_minor == 1_200
    assert result.by_bidder() == {"P": 5_000, "Q": 4_000, "R": 1_000}
    assert result.proceeds_minor == 10_000 * 1_200
    with pytest.raises(AuctionError) as refused:
        clear_auction(10_000, [Bid("x", "X", 1_500, 1_500)], rules)
    assert refused.value.code == AuctionCode.BAD_LOT


def test_ties_at_the_clearing_price_share_pro_rata_in_lots_then_by_submission() -> None:
    rules = AuctionRules(reserve_price_minor=100, lot_t=10)
    bids = [
        Bid("a", "A", 500, 30, 0),
        Bid("b", "B", 400, 50, 1),
        Bid("c", "C", 400, 50, 2),
        Bid("d", "D", 400, 20, 3),
    ]
    result = clear_auction(100, bids, rules)
    # 70 t left for 120 t asked at 400: 50/120, 50/120, 20/120 of 7 lots → 2, 2, 1 lots;
    # the 2 spare lots go to b, then c, in submission order.
    assert result.by_bidder() == {"A": 30, "B": 30, "C": 30, "D": 10}
    assert result.clearing_price_minor == 400


def test_invalid_bids_are_refused_with_their_code() -> None:
    rules = AuctionRules(reserve_price_minor=100, tick_minor=5, eligible=frozenset({"A"}))
    cases = [
        (Bid("1", "Z", 200, 10), AuctionCode.BIDDER_NOT_ELIGIBLE),
        (Bid("2", "A", 202, 10), AuctionCode.BAD_TICK),
        (Bid("3", "A", 95, 10), AuctionCode.BELOW_RESERVE_PRICE),
        (Bid("4", "A", 200, 0), AuctionCode.BAD_LOT),
    ]
    for bid, code in cases:
        with pytest.raises(AuctionError) as refused:
            clear_auction(100, [bid], rules)
        assert refused.value.code == code


@st.composite
def auctions(draw: st.DrawFn) -> tuple[int, list[Bid], AuctionRules]:
    lot = draw(st.sampled_from([1, 10, 1_000]))
    supply = draw(st.integers(1, 50)) * lot
    share = draw(st.none() | st.sampled_from([Fraction(3, 10), Fraction(1, 2), Fraction(1)]))
    rules = AuctionRules(reserve_price_minor=100, lot_t=lot, bidder_share_max=share)
    bids = [
        Bid(
            f"b{i}",
            draw(st.sampled_from("ABCDE")),
            draw(st.integers(100, 110)),
            draw(st.integers(1, 30)) * lot,
            i,
        )
        for i in range(draw(st.integers(0, 12)))
    ]
    return supply, bids, rules


@given(auctions(), st.randoms())
def test_every_auction_conserves_supply_respects_caps_and_prices_and_is_deterministic(
    case: tuple[int, list[Bid], AuctionRules], shuffler: random.Random
) -> None:
    supply, bids, rules = case
    result = clear_auction(supply, bids, rules)
    assert sum(award.quantity_t for award in result.awards) + result.unsold_t == supply
    assert all(award.quantity_t % rules.lot_t == 0 for award in result.awards)
    price = result.clearing_price_minor
    by_id = {bid.bid_id: bid for bid in bids}
    for award in result.awards:
        assert award.quantity_t <= by_id[award.bid_id].quantity_t
        assert by_id[award.bid_id].price_minor >= price  # nobody pays above their bid
    if rules.bidder_share_max is not None:
        cap = int(supply // rules.lot_t * rules.bidder_share_max) * rules.lot_t
        assert all(total <= cap for total in result.by_bidder().values())
    else:
        # Without caps a bid above the clearing price is filled in full.
        awarded = {award.bid_id: award.quantity_t for award in result.awards}
        for bid in bids:
            if bid.price_minor > price:
                assert awarded.get(bid.bid_id) == bid.quantity_t
            if bid.price_minor < price:
                assert bid.bid_id not in awarded
    if result.unsold_t:
        assert price == rules.reserve_price_minor
    shuffled = list(bids)
    shuffler.shuffle(shuffled)
    assert clear_auction(supply, shuffled, rules) == result


def test_an_auction_run_pays_the_government_and_delivers_units_through_the_registry() -> None:
    clock = SimulatedClock(datetime(2015, 1, 12, tzinfo=UTC))
    kau = UnitType("KAU", UnitKind.ALLOWANCE, "KR")
    registry = Registry.create("sqlite://", "KR", "Korea", SigningKey.generate(), clock, [kau])
    for label in ("power", "steel", "auction"):
        registry.open_account(AccountKind.TRADING, label.title(), label)
    registry.issue("KAU", 2015, 1_000)
    issuance = registry.ledger.singleton(AccountKind.ISSUANCE).account_id
    registry.allocate(issuance, "auction", "KAU", 1_000)
    clearing = ClearingHouse()
    for member in ("government", "power", "steel"):
        clearing.open_member(member)
    clearing.deposit("power", "KRW", 50_000_000)
    clearing.deposit("steel", "KRW", 50_000_000)
    auction = Auction(
        "KR-2015-1",
        1_000,
        "KAU",
        "KRW",
        AuctionRules(
            reserve_price_minor=10_000, bidder_share_max=Fraction(3, 10), unsold=UnsoldRule.CANCEL
        ),
        clearing,
        registry,
        "auction",
        "government",
        {"power": "power", "steel": "steel"},
    )
    auction.bid("p1", "power", 12_000, 500)
    auction.bid("s1", "steel", 11_000, 200)
    assert clearing.balance("power", "KRW").reserved == 6_000_000
    result = auction.clear()
    assert result.by_bidder() == {"power": 300, "steel": 200}
    assert result.clearing_price_minor == 10_000  # 500 t unsold: the reserve price
    assert clearing.balance("government", "KRW") == Balance(500 * 10_000, 0)
    assert clearing.balance("power", "KRW") == Balance(50_000_000 - 3_000_000, 0)
    assert registry.ledger.account("power").holding.balance("KAU") == 300
    assert registry.ledger.account("auction").holding.balance("KAU") == 0  # unsold cancelled
    clearing.check_conservation()
    registry.check_conservation()
    with pytest.raises(AuctionError) as closed:
        auction.bid("p2", "power", 12_000, 10)
    assert closed.value.code == AuctionCode.AUCTION_CLOSED


def test_bad_supplies_and_repeated_bids_are_refused() -> None:
    rules = AuctionRules(reserve_price_minor=100, lot_t=10)
    for supply in (0, 15, -10):
        with pytest.raises(AuctionError) as refused:
            clear_auction(supply, [], rules)
        assert refused.value.code == AuctionCode.BAD_SUPPLY
    twice = [Bid("a", "A", 200, 10, 0), Bid("a", "B", 200, 10, 1)]
    with pytest.raises(AuctionError) as repeated:
        clear_auction(100, twice, rules)
    assert repeated.value.code == AuctionCode.DUPLICATE_BID


def test_an_eu_auction_clearing_below_its_threshold_is_cancelled_and_awards_nothing() -> None:
    """EU: an auction is cancelled when its clearing price is significantly under the
    secondary price (Commission Regulation (EU) No 1031/2010, Art. 7(6)); here the
    preset's [U] threshold, 90% of a secondary price of EUR 30.00 = 2,700 cents."""
    rules = AuctionRules(reserve_price_minor=1, cancel_below_minor=Fraction(2_700))
    bids = [Bid("b1", "a", 2_800, 600), Bid("b2", "b", 2_699, 600)]
    result = clear_auction(1_000, bids, rules)
    assert result.cancelled
    assert result.clearing_price_minor == 2_699  # what it would have cleared at
    assert (result.awards, result.sold_t, result.unsold_t, result.proceeds_minor) == (
        (),
        0,
        1_000,
        0,
    )


def test_an_eu_auction_clearing_at_its_threshold_or_above_is_not_cancelled() -> None:
    """Reg. 1031/2010 Art. 7(6): only a clearing price under the threshold cancels."""
    rules = AuctionRules(reserve_price_minor=1, cancel_below_minor=Fraction(2_700))
    at = clear_auction(1_000, [Bid("b1", "a", 2_800, 600), Bid("b2", "b", 2_700, 600)], rules)
    assert not at.cancelled and at.clearing_price_minor == 2_700 and at.sold_t == 1_000
    without = AuctionRules(reserve_price_minor=1)  # a regime without the rule never cancels
    low = clear_auction(1_000, [Bid("b1", "a", 5, 1_000)], without)
    assert not low.cancelled and low.sold_t == 1_000


def test_a_cancelled_auction_releases_every_guarantee_and_keeps_its_units() -> None:
    """Art. 7(6): the volume of a cancelled auction goes to later auctions — even where the
    regime cancels unsold units, nothing is cancelled, paid or delivered."""
    clock = SimulatedClock(datetime(2024, 1, 8, tzinfo=UTC))
    eua = UnitType("EUA", UnitKind.ALLOWANCE, "EU")
    registry = Registry.create("sqlite://", "EU", "EU", SigningKey.generate(), clock, [eua])
    for label in ("power", "auction"):
        registry.open_account(AccountKind.TRADING, label.title(), label)
    registry.issue("EUA", 2024, 1_000)
    issuance = registry.ledger.singleton(AccountKind.ISSUANCE).account_id
    registry.allocate(issuance, "auction", "EUA", 1_000)
    clearing = ClearingHouse()
    for member in ("government", "power"):
        clearing.open_member(member)
    clearing.deposit("power", "EUR", 10_000_000)
    rules = AuctionRules(
        reserve_price_minor=1, unsold=UnsoldRule.CANCEL, cancel_below_minor=Fraction(2_700)
    )
    auction = Auction(
        "EU-2024-1", 1_000, "EUA", "EUR", rules, clearing, registry, "auction", "government",
        {"power": "power"},
    )  # fmt: skip
    auction.bid("p1", "power", 2_000, 1_000)
    assert clearing.balance("power", "EUR").reserved == 2_000_000
    result = auction.clear()
    assert result.cancelled and result.clearing_price_minor == 2_000
    assert clearing.balance("power", "EUR") == Balance(10_000_000, 0)
    assert clearing.balance("government", "EUR") == Balance(0, 0)
    assert registry.ledger.account("auction").holding.balance("EUA") == 1_000  # kept
    assert registry.ledger.account("power").holding.balance("EUA") == 0
    clearing.check_conservation()
    registry.check_conservation()
