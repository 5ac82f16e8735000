"""The exchange around the engine: pre-trade risk, custody, and DvP settlement across registries.

Two registries (EU, CH) linked EU–CH; EUA listed with its custody account in
the EU registry. Cash is in euro cents at the clearing house.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
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
    replay_engine,
)
from gateway import GatewayError, LinkCode, LinkState, load_links
from gateway.endpoint import TransferOrder
from gateway.federation import Federation
from gateway.links import Link
from registry import AccountKind, Registry, SigningKey, UnitKind, UnitType
from registry.clock import SimulatedClock
from registry.journal import Journal
from registry.store import make_engine

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
        exchange.clearing.check_conservation()
        exchange.custody.check_conservation()
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
