"""The exchange around the engine: pre-trade risk, custody, and DvP settlement across registries.

Two registries (EU, CH) linked EU–CH; EUA listed with its custody account in
the EU registry. Cash is in euro cents at the clearing house.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from enum import IntEnum

import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from exchange.balances import Balance, BalanceCode, BalanceError
from exchange.book import Instrument, OrderType, Side, event_text
from exchange.market import (
    Exchange,
    Listing,
    MarketCode,
    MarketError,
    Member,
    TradeStatus,
    command_text,
    replay_engine,
)
from gateway import GatewayError, LinkCode, LinkState, load_links
from gateway.endpoint import TransferOrder
from gateway.federation import Federation
from gateway.links import Link
from gateway.messages import TransactionStatus
from registry import AccountKind, Registry, RegistryError, SigningKey, UnitKind, UnitType, canonical
from registry.clock import SimulatedClock
from registry.journal import Journal
from registry.store import make_engine
from tests.exchange.positions import check_unsettled_positions

EUA = UnitType("EUA", UnitKind.ALLOWANCE, "EU")
CHU = UnitType("CHU", UnitKind.ALLOWANCE, "CH")
# The EU–CH link without its Tuesday/Thursday windows, so every cycle can settle.
EU_CH = dataclasses.replace(load_links("fixtures/links/eu-switzerland.toml")[0], windows=())
BUY, SELL = Side.BUY, Side.SELL
LIMIT, MARKET, IOC = OrderType.LIMIT, OrderType.MARKET, OrderType.IOC
MEMBERS = ("eu-steel", "eu-broker", "ch-broker")
EUA_INSTRUMENT = Instrument("EUA", "EUR", tick_minor=1, lot_t=1)


class Market:
    """EU and CH registries, a gateway, and an exchange listing EUA (custody in EU)."""

    def __init__(self, link: Link = EU_CH) -> None:
        engine = make_engine("sqlite://")
        self.clock = SimulatedClock(datetime(2024, 3, 5, 10, tzinfo=UTC))
        keys = {code: SigningKey.generate() for code in ("EU", "CH", "GW")}
        registries = {}
        for code in ("EU", "CH"):
            registry = Registry.create(engine, code, code, keys[code], self.clock, [EUA, CHU])
            registry.open_account(AccountKind.COMPLIANCE, "Steel", "steel")
            registry.open_account(AccountKind.TRADING, "Broker", "broker")
            registries[code] = registry
        eu = registries["EU"]
        eu.open_account(AccountKind.EXCHANGE_CUSTODY, "Exchange", "custody")
        eu.issue("EUA", 2024, 10_000)
        eu.allocate(eu.ledger.singleton(AccountKind.ISSUANCE).account_id, "steel", "EUA", 10_000)
        self.registries = registries
        self.federation = Federation.create(
            engine,
            keys["GW"],
            [(registries[c], keys[c]) for c in ("EU", "CH")],
            [link],
            self.clock,
        )
        listing = Listing(EUA_INSTRUMENT, "EU", "custody")
        self.exchange = Exchange(
            [listing],
            [
                Member("eu-steel", "EU", "steel"),
                Member("eu-broker", "EU", "broker"),
                Member("ch-broker", "CH", "broker"),
            ],
            registries,
            self.federation,
        )
        self.exchange.deposit_units("eu-steel", "EUA", 5_000)
        for member in ("eu-broker", "ch-broker"):
            self.exchange.deposit_cash(member, "EUR", 10_000_000)  # EUR 100,000.00

    def held(self, code: str, account: str) -> int:
        return self.registries[code].ledger.account(account).holding.balance("EUA")

    def check(self) -> None:
        """Cash and units conserved; custody claims equal what the custody account holds."""
        exchange = self.exchange
        exchange.check_conservation()
        assert exchange.clearing.total("EUR") == 20_000_000
        assert exchange.custody.total("EUA") == self.held("EU", "custody") + self._in_transfer()
        self.federation.check_conservation()
        # What is reserved is exactly what live orders and unsettled trades can still use.
        cash: dict[str, int] = dict.fromkeys(MEMBERS, 0)
        units: dict[str, int] = dict.fromkeys(MEMBERS, 0)
        book = exchange.engine.book("EUA")
        for side, resting in ((BUY, book.side_orders(BUY)), (SELL, book.side_orders(SELL))):
            for _, member, price, open_t, _ in resting:
                if side is BUY:
                    cash[member] += price * open_t
                else:
                    units[member] += open_t
        for trade in exchange.trades.values():
            if trade.status in (TradeStatus.PENDING, TradeStatus.IN_TRANSFER):
                cash[trade.buyer] += trade.cost_minor
                units[trade.seller] += trade.quantity_t
        for move in exchange._moves.values():  # withdrawals waiting for the link's window
            if move.reservation_id is not None:
                units[move.member] += move.quantity_t
        for member in MEMBERS:
            assert exchange.clearing.balance(member, "EUR").reserved == cash[member], member
            assert exchange.custody.balance(member, "EUA").reserved == units[member], member
        # Link-cap headroom: held for the Swiss buyer's open orders and trades not yet
        # proposed; with the gateway's flow it never exceeds the cap.
        link = self.federation.gateway.links["eu-ch"]
        if link.period_cap_t is not None:
            year = self.clock.now().year
            held = sum(t for (_, y), t in exchange._headroom_t.items() if y == year)
            expected = sum(
                open_t for _, member, _, open_t, _ in book.side_orders(BUY) if member == "ch-broker"
            ) + sum(
                t.quantity_t
                for t in exchange.trades.values()
                if t.buyer == "ch-broker" and t.status is TradeStatus.PENDING
            )
            assert held == expected
            flow = self.federation.gateway.period_flow_t("eu-ch", year)
            assert flow + held <= link.period_cap_t

    def _in_transfer(self) -> int:
        """Units locked in a settlement transfer still count as the sellers' until it ends."""
        locks = self.registries["EU"].ledger.locks()
        return sum(block.quantity for lock in locks for block in lock.blocks)


def test_a_trade_in_the_units_registry_settles_by_internal_transfer_and_pays_the_seller() -> None:
    market = Market()
    exchange = market.exchange
    exchange.submit("EUA", LIMIT, 1, "eu-steel", SELL, 6_500, 500)
    exchange.submit("EUA", LIMIT, 2, "eu-broker", BUY, 6_600, 300)
    [trade] = exchange.trades.values()
    assert (trade.price_minor, trade.quantity_t, trade.status) == (6_500, 300, TradeStatus.PENDING)
    # Bought below the limit: 1.00 EUR a tonne is free again at once; the trade's cost stays held.
    assert exchange.clearing.balance("eu-broker", "EUR") == Balance(10_000_000, 300 * 6_500)
    report = exchange.settle()
    assert report.settled == (trade.trade_id,) and report.transfers == ()
    assert market.held("EU", "broker") == 300
    assert exchange.clearing.balance("eu-steel", "EUR") == Balance(300 * 6_500, 0)
    assert exchange.clearing.balance("eu-broker", "EUR") == Balance(10_000_000 - 1_950_000, 0)
    assert exchange.custody.balance("eu-steel", "EUA") == Balance(4_700, 200)  # 200 t still offered
    market.check()
    assert exchange.settle().settled == ()  # nothing settles twice


def test_cross_system_trades_are_netted_into_one_signed_transfer_per_buyer() -> None:
    market = Market()
    exchange = market.exchange
    exchange.submit("EUA", LIMIT, 1, "eu-steel", SELL, 6_500, 100)
    exchange.submit("EUA", LIMIT, 2, "eu-steel", SELL, 6_510, 100)
    exchange.submit("EUA", MARKET, 3, "ch-broker", BUY, None, 150)
    assert len(exchange.trades) == 2
    report = exchange.settle()
    assert len(report.transfers) == 1 and sorted(report.settled) == sorted(exchange.trades)
    assert market.held("CH", "broker") == 150
    assert exchange.clearing.balance("eu-steel", "EUR").total == 100 * 6_500 + 50 * 6_510
    assert exchange.clearing.balance("ch-broker", "EUR") == Balance(
        10_000_000 - 100 * 6_500 - 50 * 6_510, 0
    )
    market.check()


def test_a_link_suspended_between_match_and_settlement_fails_and_unwinds_the_trades() -> None:
    market = Market()
    exchange = market.exchange
    exchange.submit("EUA", LIMIT, 1, "eu-steel", SELL, 6_500, 100)
    exchange.submit("EUA", LIMIT, 2, "ch-broker", BUY, 6_500, 100)
    market.federation.gateway.set_link_state("eu-ch", LinkState.SUSPENDED, "incident")
    report = exchange.settle()
    [trade] = exchange.trades.values()
    assert report.failed == (trade.trade_id,) and trade.status is TradeStatus.FAILED
    assert "LINK_NOT_ACTIVE" not in trade.failure and "suspended" in trade.failure
    assert market.held("CH", "broker") == 0
    assert exchange.custody.balance("eu-steel", "EUA") == Balance(5_000, 0)  # claim restored
    assert exchange.clearing.balance("ch-broker", "EUR") == Balance(10_000_000, 0)
    market.check()
    assert exchange.settle() == dataclasses.replace(report, failed=(), transfers=())


def test_pre_trade_risk_refuses_what_is_not_covered_and_reserves_nothing() -> None:
    market = Market()
    exchange = market.exchange
    with pytest.raises(BalanceError) as refused:
        exchange.submit("EUA", LIMIT, 1, "eu-steel", SELL, 6_500, 5_001)
    assert refused.value.code == BalanceCode.INSUFFICIENT_FREE_BALANCE
    with pytest.raises(BalanceError) as refused:
        exchange.submit("EUA", LIMIT, 2, "eu-broker", BUY, 100_001, 100)  # EUR 100,001 > cash
    assert refused.value.code == BalanceCode.INSUFFICIENT_FREE_BALANCE
    market.federation.gateway.set_link_state("eu-ch", LinkState.SUSPENDED, "incident")
    with pytest.raises(GatewayError) as refused_link:
        exchange.submit("EUA", LIMIT, 3, "ch-broker", BUY, 6_500, 10)
    assert refused_link.value.code == LinkCode.LINK_NOT_ACTIVE
    with pytest.raises(MarketError) as unknown:
        exchange.submit("CHU", LIMIT, 4, "ch-broker", BUY, 6_500, 10)
    assert unknown.value.code == MarketCode.UNKNOWN_LISTING
    assert exchange.custody.balance("eu-steel", "EUA") == Balance(5_000, 0)
    assert exchange.clearing.balance("eu-broker", "EUR") == Balance(10_000_000, 0)
    assert exchange.engine.book("EUA").best_bid() is None


def test_cancels_and_amends_release_and_reserve_exactly() -> None:
    market = Market()
    exchange = market.exchange
    exchange.submit("EUA", LIMIT, 1, "eu-broker", BUY, 6_000, 100)
    assert exchange.clearing.balance("eu-broker", "EUR").reserved == 600_000
    exchange.amend("EUA", 1, 6_200, 150)  # more cash first
    assert exchange.clearing.balance("eu-broker", "EUR").reserved == 930_000
    exchange.amend("EUA", 1, 6_200, 50)  # less afterwards
    assert exchange.clearing.balance("eu-broker", "EUR").reserved == 310_000
    with pytest.raises(BalanceError):
        exchange.amend("EUA", 1, 100_001, 100)  # EUR 100,001.00 for 100 t: not covered
    assert exchange.clearing.balance("eu-broker", "EUR").reserved == 310_000
    exchange.cancel("EUA", 1)
    assert exchange.clearing.balance("eu-broker", "EUR") == Balance(10_000_000, 0)
    exchange.submit("EUA", LIMIT, 2, "eu-steel", SELL, 6_500, 100)
    exchange.submit("EUA", IOC, 3, "eu-broker", BUY, 6_500, 150)  # 100 fill, 50 cancelled
    assert exchange.clearing.balance("eu-broker", "EUR").reserved == 100 * 6_500
    assert exchange.custody.balance("eu-steel", "EUA").reserved == 100
    exchange.settle()
    assert exchange.clearing.balance("eu-broker", "EUR").reserved == 0
    assert exchange.custody.balance("eu-steel", "EUA").reserved == 0
    market.check()


class SettlementMachine(RuleBasedStateMachine):
    """Random orders, cycles and link suspensions: nothing lost, each trade settles once."""

    def __init__(self) -> None:
        super().__init__()
        self.market = Market(dataclasses.replace(EU_CH, period_cap_t=3_000))
        self.order_id = 0
        self.final: dict[str, TradeStatus] = {}
        # Tonnes each member put in custody less what it took out (the model of its claim).
        self.moved_in_t: dict[str, int] = dict.fromkeys(MEMBERS, 0)
        self.moved_in_t["eu-steel"] = 5_000
        # Both brokers hold some EUA to deposit from the start: the Swiss one across the link.
        eu = self.market.registries["EU"]
        eu.transfer("steel", "broker", "EUA", 1_000)
        order = TransferOrder("seed", "steel", "CH", "broker", "EUA", 1_000)
        assert self.market.federation.transfer("EU", order) is TransactionStatus.COMPLETED

    def _snapshot(self, member: str) -> tuple[str, str, int, int, int, int]:
        exchange, market = self.market.exchange, self.market
        who = exchange.members[member]
        return (
            exchange.clearing.state_digest(),
            exchange.custody.state_digest(),
            market.held(who.registry, who.account),
            market.held("EU", "custody"),
            len(market.registries["EU"].ledger.locks()),
            len(market.registries["CH"].ledger.locks()),
        )

    def _gateway_refusal(self, member: str, quantity: int) -> LinkCode | MarketCode | None:
        """Return why a move of `quantity` t across the link must be refused now, if it must."""
        if member != "ch-broker":
            return None
        # The exchange checks the cap's headroom before it proposes the transfer.
        gateway = self.market.federation.gateway
        year = self.market.clock.now().year
        held = self.market.exchange._headroom_t.get(("eu-ch", year), 0)
        if gateway.period_flow_t("eu-ch", year) + held + quantity > 3_000:
            return LinkCode.TRANSFER_LIMIT_EXCEEDED
        if gateway.links["eu-ch"].state is not LinkState.ACTIVE:
            return MarketCode.WITHDRAWAL_NOT_COMPLETED
        return None

    @rule(member=st.sampled_from(MEMBERS), quantity=st.integers(-5, 600))
    def deposit(self, member: str, quantity: int) -> None:
        """Units in from the member's account: internal in EU, through the gateway from CH."""
        exchange, market = self.market.exchange, self.market
        who = exchange.members[member]
        before = self._snapshot(member)
        try:
            exchange.deposit_units(member, "EUA", quantity)
        except (BalanceError, GatewayError, MarketError, RegistryError) as error:
            assert self._snapshot(member) == before, error
            assert quantity <= 0 or quantity > before[2] or self._gateway_refusal(member, quantity)
            return
        assert quantity > 0 and market.held(who.registry, who.account) == before[2] - quantity
        self.moved_in_t[member] += quantity

    @rule(member=st.sampled_from(MEMBERS), quantity=st.integers(-5, 600))
    def withdraw(self, member: str, quantity: int) -> None:
        """Units of the free claim out to the member's account; refused whole when short."""
        exchange, market = self.market.exchange, self.market
        who = exchange.members[member]
        free = exchange.custody.balance(member, "EUA").free
        refusal = self._gateway_refusal(member, quantity)
        before = self._snapshot(member)
        try:
            exchange.withdraw_units(member, "EUA", quantity)
        except BalanceError as error:
            assert not 0 < quantity <= free, error
            assert self._snapshot(member) == before
            return
        except (GatewayError, MarketError) as error:
            assert error.code == refusal, error
            assert self._snapshot(member) == before
            return
        assert 0 < quantity <= free and refusal is None
        assert market.held(who.registry, who.account) == before[2] + quantity
        self.moved_in_t[member] -= quantity

    @rule(
        member=st.sampled_from(MEMBERS),
        side=st.sampled_from([BUY, SELL]),
        order_type=st.sampled_from([LIMIT, MARKET, IOC]),
        price=st.integers(6_400, 6_600),
        quantity=st.integers(1, 400),
    )
    def submit(self, member: str, side: Side, order_type: OrderType, price: int, quantity: int):  # type: ignore[no-untyped-def]
        self.order_id += 1
        exchange = self.market.exchange
        before = (exchange.clearing.state_digest(), exchange.custody.state_digest())
        try:
            exchange.submit(
                "EUA",
                order_type,
                self.order_id,
                member,
                side,
                None if order_type is MARKET else price,
                quantity,
            )
        except (BalanceError, GatewayError, MarketError):
            after = (exchange.clearing.state_digest(), exchange.custody.state_digest())
            assert after == before

    @rule(quantity=st.integers(1, 200), price=st.integers(6_400, 6_600))
    def cross_trade(self, quantity: int, price: int) -> None:
        """A sale from EU custody to the Swiss broker: the path a suspension can break."""
        exchange = self.market.exchange
        for member, side in (("eu-steel", SELL), ("ch-broker", BUY)):
            self.order_id += 1
            try:
                exchange.submit(
                    "EUA",
                    IOC if side is BUY else LIMIT,
                    self.order_id,
                    member,
                    side,
                    price,
                    quantity,
                )
            except (BalanceError, GatewayError):
                return

    @rule()
    def settle(self) -> None:
        self.market.exchange.settle()

    @rule(suspended=st.booleans())
    def set_link(self, suspended: bool) -> None:
        gateway = self.market.federation.gateway
        state = LinkState.SUSPENDED if suspended else LinkState.ACTIVE
        if gateway.links["eu-ch"].state is not state:
            gateway.set_link_state("eu-ch", state, "drill")
            self.market.federation.pump()

    @precondition(lambda self: bool(self.market.exchange.trades))
    @rule(data=st.data())
    def cancel_something(self, data: st.DataObject) -> None:
        order_id = data.draw(st.integers(1, max(1, self.order_id)))
        self.market.exchange.cancel("EUA", order_id)

    @invariant()
    def claims_are_what_came_in_less_what_went_out_and_was_sold(self) -> None:
        trades = self.market.exchange.trades.values()
        for member in MEMBERS:
            sold_t = sum(
                t.quantity_t
                for t in trades
                if t.seller == member and t.status is TradeStatus.SETTLED
            )
            claim = self.market.exchange.custody.balance(member, "EUA")
            assert claim.total == self.moved_in_t[member] - sold_t, member

    @invariant()
    def unsettled_positions_equal_a_recount_of_the_trades(self) -> None:
        check_unsettled_positions(self.market.exchange, MEMBERS, {"EUA": "EUR"})

    @invariant()
    def nothing_lost_and_each_trade_ends_once(self) -> None:
        self.market.check()
        for trade_id, trade in self.market.exchange.trades.items():
            if trade_id in self.final:
                assert trade.status is self.final[trade_id], trade
            elif trade.status in (TradeStatus.SETTLED, TradeStatus.FAILED):
                self.final[trade_id] = trade.status


TestSettlement = SettlementMachine.TestCase


def test_the_engine_input_is_journaled_and_replays_to_the_same_events_byte_for_byte() -> None:
    market = Market()
    key = SigningKey.generate()
    store = market.registries["EU"].journal.engine
    journal = Journal.create(store, "X.engine", key)
    exchange = market.exchange
    exchange.journal = journal
    events = [
        *exchange.submit("EUA", LIMIT, 1, "eu-steel", SELL, 6_500, 300),
        *exchange.submit("EUA", LIMIT, 2, "eu-steel", SELL, 6_450, 200),
        *exchange.amend("EUA", 1, 6_480, 250),
        *exchange.submit("EUA", MARKET, 3, "ch-broker", BUY, None, 300),
        *exchange.submit("EUA", LIMIT, 4, "eu-broker", BUY, 6_400, 100),
        *exchange.cancel("EUA", 4),
        *exchange.cancel("EUA", 99),  # refused by the engine: journaled input all the same
    ]
    journal.flush()
    original = [event_text(event) for event in events]
    replayed = replay_engine(store, "X.engine", key.verify_key, [EUA_INSTRUMENT])
    assert replayed == original
    assert any(line.startswith("TRADE") for line in replayed)


def test_a_cross_system_buy_holds_period_cap_headroom_until_its_trade_settles() -> None:
    """A matched trade always settles: the link's period cap is held for orders before match."""
    market = Market(dataclasses.replace(EU_CH, period_cap_t=500))
    exchange = market.exchange
    exchange.submit("EUA", LIMIT, 1, "eu-steel", SELL, 6_500, 1_000)
    exchange.submit("EUA", LIMIT, 2, "ch-broker", BUY, 6_500, 300)
    with pytest.raises(GatewayError) as refused:
        exchange.submit("EUA", LIMIT, 3, "ch-broker", BUY, 6_500, 201)
    assert refused.value.code == LinkCode.TRANSFER_LIMIT_EXCEEDED
    assert exchange.settle().transfers  # 300 t cross; the gateway's flow now counts them
    assert market.federation.gateway.period_flow_t("eu-ch", 2024) == 300
    exchange.submit("EUA", LIMIT, 4, "ch-broker", BUY, 6_500, 200)
    with pytest.raises(GatewayError):
        exchange.submit("EUA", LIMIT, 5, "ch-broker", BUY, 6_500, 1)
    exchange.settle()
    assert market.held("CH", "broker") == 500
    market.check()


def test_trades_settle_at_the_end_of_each_simulated_day() -> None:
    market = Market()
    exchange = market.exchange
    exchange.submit("EUA", LIMIT, 1, "eu-steel", SELL, 6_500, 100)
    exchange.submit("EUA", LIMIT, 2, "ch-broker", BUY, 6_500, 60)
    exchange.submit("EUA", LIMIT, 3, "eu-broker", BUY, 6_500, 40)
    assert exchange.advance(datetime(2024, 3, 5, 23, tzinfo=UTC)) == []  # not yet midnight
    assert market.held("CH", "broker") == 0
    [cycle] = exchange.advance(datetime(2024, 3, 6, 9, tzinfo=UTC))
    assert len(cycle.settled) == 2 and len(cycle.transfers) == 1
    assert (market.held("CH", "broker"), market.held("EU", "broker")) == (60, 40)
    market.check()


def test_each_refusal_around_the_engine_has_its_code_and_changes_nothing() -> None:
    market = Market()
    exchange = market.exchange
    exchange.submit("EUA", LIMIT, 1, "eu-steel", SELL, 6_500, 100)

    def state() -> tuple[str, str, object]:
        book = exchange.engine.book("EUA")
        return exchange.clearing.state_digest(), exchange.custody.state_digest(), book.snapshot()

    cases = [
        (MarketCode.UNKNOWN_MEMBER, lambda: exchange.submit("EUA", LIMIT, 2, "x", BUY, 1, 1)),
        (
            MarketCode.ORDER_ID_LIVE,
            lambda: exchange.submit("EUA", LIMIT, 1, "eu-steel", SELL, 1, 1),
        ),
        (MarketCode.UNKNOWN_ORDER, lambda: exchange.amend("EUA", 77, 6_500, 10)),
        (MarketCode.UNKNOWN_LISTING, lambda: exchange.cancel("KAU", 1)),
    ]
    for code, command in cases:
        before = state()
        with pytest.raises(MarketError) as refused:
            command()
        assert refused.value.code == code
        assert state() == before
    alone = Exchange(
        [Listing(EUA_INSTRUMENT, "EU", "custody")],
        [Member("ch-broker", "CH", "broker")],
        market.registries,
    )
    alone.deposit_cash("ch-broker", "EUR", 1_000)
    with pytest.raises(MarketError) as no_gateway:
        alone.submit("EUA", LIMIT, 1, "ch-broker", BUY, 10, 10)
    assert no_gateway.value.code == MarketCode.NO_GATEWAY
    # A Swiss holder of EUA whose deposit cannot cross: the link is suspended.
    market.federation.transfer("EU", TransferOrder("G1", "steel", "CH", "steel", "EUA", 5))
    market.federation.gateway.set_link_state("eu-ch", LinkState.SUSPENDED, "incident")
    exchange.members["ch-seller"] = Member("ch-seller", "CH", "steel")
    exchange.custody.open_member("ch-seller")
    exchange.clearing.open_member("ch-seller")
    before_units = market.held("CH", "steel")
    with pytest.raises(MarketError) as deposit:
        exchange.deposit_units("ch-seller", "EUA", 1)
    assert deposit.value.code == MarketCode.DEPOSIT_NOT_COMPLETED
    assert exchange.custody.balance("ch-seller", "EUA") == Balance(0, 0)
    assert market.held("CH", "steel") == before_units


def test_a_withdrawal_in_the_listings_registry_returns_free_units_and_debits_the_claim() -> None:
    market = Market()
    exchange = market.exchange
    exchange.submit("EUA", LIMIT, 1, "eu-steel", SELL, 6_500, 1_000)  # 1,000 t of the claim held
    exchange.withdraw_units("eu-steel", "EUA", 3_000)
    assert exchange.custody.balance("eu-steel", "EUA") == Balance(2_000, 1_000)
    assert (market.held("EU", "steel"), market.held("EU", "custody")) == (8_000, 2_000)
    market.check()


def test_a_withdrawal_to_another_registry_crosses_the_link_as_a_signed_transfer() -> None:
    market = Market()
    exchange = market.exchange
    market.federation.transfer("EU", TransferOrder("G1", "steel", "CH", "broker", "EUA", 500))
    exchange.deposit_units("ch-broker", "EUA", 500)  # in through the gateway
    assert market.held("CH", "broker") == 0 and market.held("EU", "custody") == 5_500
    exchange.withdraw_units("ch-broker", "EUA", 200)  # and out again
    assert exchange.custody.balance("ch-broker", "EUA") == Balance(300, 0)
    assert (market.held("CH", "broker"), market.held("EU", "custody")) == (200, 5_300)
    assert market.federation.gateway.period_flow_t("eu-ch", 2024) == 1_200  # 500 + 500 + 200
    market.check()


def test_a_withdrawal_that_cannot_be_made_is_refused_with_its_code_and_changes_nothing() -> None:
    market = Market()
    exchange = market.exchange
    market.federation.transfer("EU", TransferOrder("G1", "steel", "CH", "broker", "EUA", 100))
    exchange.deposit_units("ch-broker", "EUA", 100)
    exchange.submit("EUA", LIMIT, 1, "eu-steel", SELL, 6_500, 4_000)  # 1,000 t of 5,000 free

    def state() -> tuple[object, ...]:
        return (
            exchange.custody.state_digest(),
            exchange.clearing.state_digest(),
            market.held("EU", "steel"),
            market.held("EU", "custody"),
            market.held("CH", "broker"),
        )

    before = state()
    cases = [
        (BalanceCode.INSUFFICIENT_FREE_BALANCE, "eu-steel", "EUA", 1_001),
        (BalanceCode.AMOUNT_NOT_POSITIVE, "eu-steel", "EUA", 0),
        (BalanceCode.AMOUNT_NOT_POSITIVE, "eu-steel", "EUA", -5),
        (BalanceCode.AMOUNT_NOT_POSITIVE, "eu-steel", "EUA", 2.0),
        (BalanceCode.INSUFFICIENT_FREE_BALANCE, "eu-broker", "EUA", 1),  # no claim at all
        (MarketCode.UNKNOWN_MEMBER, "nobody", "EUA", 1),
        (MarketCode.UNKNOWN_LISTING, "eu-steel", "CHU", 1),
    ]
    for code, member, instrument, quantity in cases:
        with pytest.raises((BalanceError, MarketError)) as refused:
            exchange.withdraw_units(member, instrument, quantity)  # type: ignore[arg-type]
        assert refused.value.code == code, (member, quantity)
        assert state() == before
    market.federation.gateway.set_link_state("eu-ch", LinkState.SUSPENDED, "incident")
    with pytest.raises(MarketError) as not_completed:
        exchange.withdraw_units("ch-broker", "EUA", 50)
    assert not_completed.value.code == MarketCode.WITHDRAWAL_NOT_COMPLETED
    assert "REJECTED" in not_completed.value.message
    assert state() == before
    market.check()


def test_a_gateway_withdrawal_may_not_take_the_cap_room_held_for_buy_orders() -> None:
    """A matched trade must always settle: the room under the period cap stays for it."""
    market = Market(dataclasses.replace(EU_CH, period_cap_t=500))
    exchange = market.exchange
    market.federation.transfer("EU", TransferOrder("G1", "steel", "CH", "broker", "EUA", 200))
    exchange.deposit_units("ch-broker", "EUA", 200)  # 400 t of the cap used
    exchange.submit("EUA", LIMIT, 1, "ch-broker", BUY, 6_000, 80)  # holds 80 t more
    before = exchange.custody.state_digest()
    with pytest.raises(GatewayError) as refused:
        exchange.withdraw_units("ch-broker", "EUA", 21)
    assert refused.value.code == LinkCode.TRANSFER_LIMIT_EXCEEDED
    assert exchange.custody.state_digest() == before and market.held("CH", "broker") == 0
    exchange.withdraw_units("ch-broker", "EUA", 20)
    assert market.federation.gateway.period_flow_t("eu-ch", 2024) == 420
    market.check()


def test_moves_waiting_for_the_links_window_are_settled_by_the_cycle_after_it_opens() -> None:
    """EU–CH transfers run on Tuesdays and Thursdays (reference A20): asked on a Wednesday,
    a withdrawal holds its tonnes and a deposit credits nothing until Thursday's transfer."""
    market = Market(load_links("fixtures/links/eu-switzerland.toml")[0])  # with its windows
    exchange = market.exchange
    market.federation.transfer("EU", TransferOrder("G1", "steel", "CH", "broker", "EUA", 300))
    exchange.deposit_units("ch-broker", "EUA", 100)  # Tuesday: completes at once
    exchange.advance(datetime(2024, 3, 6, 10, tzinfo=UTC))  # Wednesday
    with pytest.raises(MarketError) as waiting_out:
        exchange.withdraw_units("ch-broker", "EUA", 40)
    assert waiting_out.value.code == MarketCode.WITHDRAWAL_NOT_COMPLETED
    with pytest.raises(MarketError) as waiting_in:
        exchange.deposit_units("ch-broker", "EUA", 30)
    assert waiting_in.value.code == MarketCode.DEPOSIT_NOT_COMPLETED
    assert exchange.custody.balance("ch-broker", "EUA") == Balance(100, 40)  # 40 t held
    with pytest.raises(BalanceError):
        exchange.withdraw_units("ch-broker", "EUA", 61)  # the held tonnes are not free
    assert market.held("CH", "broker") == 170  # 30 t locked in CH for the deposit
    market.check()
    exchange.advance(datetime(2024, 3, 7, 10, tzinfo=UTC))  # Thursday: both cross
    assert exchange.custody.balance("ch-broker", "EUA") == Balance(90, 0)  # 100 - 40 + 30
    assert market.held("CH", "broker") == 210
    market.check()


def test_unsettled_tonnes_and_cash_count_what_is_bought_and_sold_until_it_settles() -> None:
    market = Market()
    exchange = market.exchange
    exchange.submit("EUA", LIMIT, 1, "eu-steel", SELL, 6_500, 300)
    exchange.submit("EUA", LIMIT, 2, "eu-broker", BUY, 6_500, 100)
    exchange.submit("EUA", LIMIT, 3, "ch-broker", BUY, 6_500, 150)
    assert exchange.unsettled_t("eu-broker", "EUA") == 100
    assert exchange.unsettled_t("ch-broker", "EUA") == 150
    assert exchange.unsettled_t("eu-steel", "EUA") == -250
    assert exchange.unsettled_cash_minor("eu-steel", "EUR") == 250 * 6_500
    assert exchange.unsettled_cash_minor("ch-broker", "EUR") == -150 * 6_500
    market.federation.gateway.set_link_state("eu-ch", LinkState.SUSPENDED, "incident")
    exchange.settle()  # the EU trade settles, the Swiss one fails: neither is open any more
    for member in MEMBERS:
        assert exchange.unsettled_t(member, "EUA") == 0
        assert exchange.unsettled_cash_minor(member, "EUR") == 0
    with pytest.raises(MarketError) as unknown:
        exchange.unsettled_t("eu-steel", "CHU")
    assert unknown.value.code == MarketCode.UNKNOWN_LISTING


def test_a_market_buy_reserves_past_its_own_asks_which_self_trade_prevention_cancels() -> None:
    """Its own 6,400 ask is cancelled, not bought: the buy pays 6,401 and must have held it."""
    market = Market()
    exchange = market.exchange
    market.registries["EU"].transfer("steel", "broker", "EUA", 10)
    exchange.deposit_units("eu-broker", "EUA", 10)
    exchange.submit("EUA", LIMIT, 1, "eu-steel", SELL, 6_401, 5)
    exchange.submit("EUA", LIMIT, 2, "eu-broker", SELL, 6_400, 5)
    exchange.submit("EUA", MARKET, 3, "eu-broker", BUY, None, 5)
    [trade] = exchange.trades.values()
    assert (trade.price_minor, trade.quantity_t) == (6_401, 5)
    assert exchange.clearing.balance("eu-broker", "EUR").reserved == 5 * 6_401
    exchange.settle()
    assert market.held("EU", "broker") == 5
    market.check()


@given(
    st.lists(
        st.one_of(
            st.integers(-(2**63), 2**63),
            st.text(max_size=12),
            st.none(),
            st.sampled_from(list(Side) + list(OrderType)),
            st.booleans(),
        ),
        max_size=9,
    )
)
def test_an_engine_commands_journal_text_is_its_canonical_encoding(command: list[object]) -> None:
    plain = [int(item) if isinstance(item, IntEnum) else item for item in command]
    assert command_text(tuple(command)) == canonical.encode_text({"command": plain})
