"""One unit type listed on two registries' venues: EUA in the EU (EUR), and "EUA@CH" —
EU allowances held in custody in the Swiss registry and traded in francs (CHF).

Registries, the gateway and the link rules see the unit type EUA; books,
custody claims, reservations and trades see the listing's code. The EU–CH
link carries EUA both ways (reference A20), here without its transfer days
so every cycle can settle.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from exchange.balances import Balance, BalanceError
from exchange.book import Instrument, OrderType, Side
from exchange.market import Exchange, Listing, MarketCode, MarketError, Member, TradeStatus
from gateway import GatewayError, LinkCode, LinkState, load_links
from gateway.endpoint import TransferOrder
from gateway.federation import Federation
from gateway.links import Link
from gateway.messages import TransactionStatus
from registry import AccountKind, Registry, RegistryError, SigningKey, UnitKind, UnitType
from registry.clock import SimulatedClock
from registry.store import make_engine
from tests.exchange.positions import check_unsettled_positions

EUA = UnitType("EUA", UnitKind.ALLOWANCE, "EU")
CHU = UnitType("CHU", UnitKind.ALLOWANCE, "CH")
EU_CH = dataclasses.replace(load_links("fixtures/links/eu-switzerland.toml")[0], windows=())
BUY, SELL = Side.BUY, Side.SELL
LIMIT, MARKET, IOC = OrderType.LIMIT, OrderType.MARKET, OrderType.IOC
EU_VENUE = Listing(Instrument("EUA", "EUR"), "EU", "custody")
CH_VENUE = Listing(Instrument("EUA@CH", "CHF"), "CH", "custody", unit_type="EUA")
CURRENCY_OF = {"EUA": "EUR", "EUA@CH": "CHF"}
MEMBERS = ("eu-steel", "eu-broker", "ch-broker", "ch-steel")
CASH_MINOR = 10_000_000  # 100,000.00 of each currency for each member


class Venues:
    """EU and CH registries linked EU–CH; EUA listed in both, each with its own custody."""

    def __init__(self, link: Link = EU_CH) -> None:
        engine = make_engine("sqlite://")
        self.clock = SimulatedClock(datetime(2024, 3, 5, 10, tzinfo=UTC))
        keys = {code: SigningKey.generate() for code in ("EU", "CH", "GW")}
        registries = {}
        for code in ("EU", "CH"):
            registry = Registry.create(engine, code, code, keys[code], self.clock, [EUA, CHU])
            registry.open_account(AccountKind.COMPLIANCE, "Steel", "steel")
            registry.open_account(AccountKind.TRADING, "Broker", "broker")
            registry.open_account(AccountKind.EXCHANGE_CUSTODY, "Exchange", "custody")
            registries[code] = registry
        eu = registries["EU"]
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
        self.exchange = Exchange(
            [EU_VENUE, CH_VENUE],
            [
                Member("eu-steel", "EU", "steel"),
                Member("eu-broker", "EU", "broker"),
                Member("ch-broker", "CH", "broker"),
                Member("ch-steel", "CH", "steel"),
            ],
            registries,
            self.federation,
        )
        for member in MEMBERS:
            for currency in ("EUR", "CHF"):
                self.exchange.deposit_cash(member, currency, CASH_MINOR)

    def held(self, code: str, account: str) -> int:
        return self.registries[code].ledger.account(account).holding.balance("EUA")

    def check(self) -> None:
        """Cash and units conserved; each venue's claims equal what its custody holds."""
        self.exchange.check_conservation()
        self.federation.check_conservation()
        for currency in ("EUR", "CHF"):
            assert self.exchange.clearing.total(currency) == CASH_MINOR * len(MEMBERS)
        check_unsettled_positions(self.exchange, MEMBERS, CURRENCY_OF)


def test_a_unit_type_listed_on_two_venues_trades_and_settles_on_each() -> None:
    venues = Venues()
    exchange = venues.exchange
    exchange.deposit_units("eu-steel", "EUA", 2_000)  # internal, into EU custody
    exchange.deposit_units("eu-steel", "EUA@CH", 1_000)  # through the gateway into CH custody
    assert (venues.held("EU", "custody"), venues.held("CH", "custody")) == (2_000, 1_000)
    assert exchange.custody.balance("eu-steel", "EUA@CH") == Balance(1_000, 0)
    # The Swiss venue: a Swiss buyer (internal) and an EU buyer (back across the link).
    exchange.submit("EUA@CH", LIMIT, 1, "eu-steel", SELL, 7_000, 600)
    exchange.submit("EUA@CH", LIMIT, 2, "ch-broker", BUY, 7_000, 400)
    exchange.submit("EUA@CH", LIMIT, 3, "eu-broker", BUY, 7_100, 200)
    # The EU venue: a Swiss buyer across the link.
    exchange.submit("EUA", LIMIT, 4, "eu-steel", SELL, 6_500, 300)
    exchange.submit("EUA", MARKET, 5, "ch-broker", BUY, None, 300)
    assert sorted(exchange.trades) == ["EUA-1", "EUA@CH-1", "EUA@CH-2"]
    assert exchange.unsettled_t("ch-broker", "EUA@CH") == 400
    assert exchange.unsettled_t("ch-broker", "EUA") == 300
    assert exchange.unsettled_t("eu-steel", "EUA@CH") == -600
    assert exchange.unsettled_cash_minor("eu-steel", "CHF") == 600 * 7_000
    assert exchange.unsettled_cash_minor("ch-broker", "EUR") == -300 * 6_500
    venues.check()
    report = exchange.settle()
    assert len(report.settled) == 3 and len(report.transfers) == 2  # CH→EU and EU→CH
    assert all(trade.status is TradeStatus.SETTLED for trade in exchange.trades.values())
    # Every delivery moved the unit type EUA out of the right custody account.
    assert venues.held("CH", "broker") == 700  # 400 from CH custody, 300 from EU custody
    assert venues.held("EU", "broker") == 200
    assert (venues.held("EU", "custody"), venues.held("CH", "custody")) == (1_700, 400)
    assert exchange.custody.balance("eu-steel", "EUA@CH") == Balance(400, 0)
    assert exchange.clearing.balance("eu-steel", "CHF").total == CASH_MINOR + 600 * 7_000
    assert exchange.clearing.balance("eu-steel", "EUR").total == CASH_MINOR + 300 * 6_500
    assert exchange.clearing.balance("eu-broker", "CHF") == Balance(CASH_MINOR - 200 * 7_000, 0)
    assert exchange.unsettled_t("ch-broker", "EUA@CH") == 0
    venues.check()


def test_a_member_of_another_registry_moves_units_in_and_out_of_a_venue_through_the_gateway() -> (
    None
):
    venues = Venues()
    exchange = venues.exchange
    exchange.deposit_units("eu-steel", "EUA@CH", 1_000)
    exchange.withdraw_units("eu-steel", "EUA@CH", 250)
    assert exchange.custody.balance("eu-steel", "EUA@CH") == Balance(750, 0)
    assert (venues.held("EU", "steel"), venues.held("CH", "custody")) == (9_250, 750)
    assert venues.federation.gateway.period_flow_t("eu-ch", 2024) == 1_250
    # A Swiss member's own EUA into the Swiss venue: an internal transfer, no gateway.
    exchange.submit("EUA@CH", LIMIT, 1, "eu-steel", SELL, 7_000, 100)
    exchange.submit("EUA@CH", LIMIT, 2, "ch-steel", BUY, 7_000, 100)
    exchange.settle()
    exchange.deposit_units("ch-steel", "EUA@CH", 60)
    exchange.withdraw_units("ch-steel", "EUA@CH", 10)
    assert exchange.custody.balance("ch-steel", "EUA@CH") == Balance(50, 0)
    assert venues.held("CH", "steel") == 50
    assert venues.federation.gateway.period_flow_t("eu-ch", 2024) == 1_250
    venues.check()


def test_the_link_is_asked_about_the_unit_type_not_the_venue_code() -> None:
    """A link that carries only CHU refuses a buy of EUA@CH from the EU (9005, EUA)."""
    venues = Venues(dataclasses.replace(EU_CH, unit_types=frozenset({"CHU"})))
    exchange = venues.exchange
    before = exchange.clearing.state_digest()
    with pytest.raises(GatewayError) as refused:
        exchange.submit("EUA@CH", LIMIT, 1, "eu-broker", BUY, 7_000, 10)
    assert refused.value.code == LinkCode.ORIGIN_NOT_ADMITTED
    assert "found EUA" in refused.value.message
    assert exchange.clearing.state_digest() == before


def test_two_listings_of_one_unit_type_may_not_share_a_custody_account() -> None:
    venues = Venues()
    twin = Listing(Instrument("EUA@EU", "CHF"), "EU", "custody", unit_type="EUA")
    with pytest.raises(MarketError) as refused:
        Exchange([EU_VENUE, twin], [], venues.registries, venues.federation)
    assert refused.value.code == MarketCode.CUSTODY_SHARED
    assert CH_VENUE.unit == "EUA" and EU_VENUE.unit == "EUA" and CH_VENUE.code == "EUA@CH"


class VenueMachine(RuleBasedStateMachine):
    """Random orders on both venues, deposits, withdrawals, cycles and suspensions: each
    venue's claims stay equal to its custody, and unsettled positions to a recount."""

    def __init__(self) -> None:
        super().__init__()
        self.venues = Venues(dataclasses.replace(EU_CH, period_cap_t=6_000))
        exchange = self.venues.exchange
        exchange.deposit_units("eu-steel", "EUA", 3_000)
        exchange.deposit_units("eu-steel", "EUA@CH", 1_000)
        # A Swiss holder of EUA, so either venue has sellers from either registry.
        seed = TransferOrder("seed", "steel", "CH", "steel", "EUA", 1_000)
        assert self.venues.federation.transfer("EU", seed) is TransactionStatus.COMPLETED
        self.order_id = 0
        self.final: dict[str, TradeStatus] = {}

    @rule(
        member=st.sampled_from(MEMBERS),
        instrument=st.sampled_from(sorted(CURRENCY_OF)),
        side=st.sampled_from([BUY, SELL]),
        order_type=st.sampled_from([LIMIT, MARKET, IOC]),
        price=st.integers(6_400, 6_600),
        quantity=st.integers(1, 300),
    )
    def submit(
        self,
        member: str,
        instrument: str,
        side: Side,
        order_type: OrderType,
        price: int,
        quantity: int,
    ) -> None:
        self.order_id += 1
        exchange = self.venues.exchange
        before = (exchange.clearing.state_digest(), exchange.custody.state_digest())
        limit = None if order_type is MARKET else price
        try:
            exchange.submit(instrument, order_type, self.order_id, member, side, limit, quantity)
        except (BalanceError, GatewayError, MarketError):
            assert (exchange.clearing.state_digest(), exchange.custody.state_digest()) == before

    @rule(
        member=st.sampled_from(MEMBERS),
        instrument=st.sampled_from(sorted(CURRENCY_OF)),
        quantity=st.integers(-5, 400),
        withdrawing=st.booleans(),
    )
    def move(self, member: str, instrument: str, quantity: int, withdrawing: bool) -> None:
        exchange = self.venues.exchange
        command = exchange.withdraw_units if withdrawing else exchange.deposit_units
        before = exchange.custody.balance(member, instrument)
        digest = exchange.custody.state_digest()
        try:
            command(member, instrument, quantity)
        except (BalanceError, GatewayError, MarketError, RegistryError):
            assert exchange.custody.state_digest() == digest
            return
        change = -quantity if withdrawing else quantity
        assert exchange.custody.balance(member, instrument).total == before.total + change

    @rule()
    def settle(self) -> None:
        self.venues.exchange.settle()

    @rule(suspended=st.booleans())
    def set_link(self, suspended: bool) -> None:
        gateway = self.venues.federation.gateway
        state = LinkState.SUSPENDED if suspended else LinkState.ACTIVE
        if gateway.links["eu-ch"].state is not state:
            gateway.set_link_state("eu-ch", state, "drill")
            self.venues.federation.pump()

    @invariant()
    def each_venue_keeps_its_units_and_each_trade_ends_once(self) -> None:
        self.venues.check()
        for trade_id, trade in self.venues.exchange.trades.items():
            if trade_id in self.final:
                assert trade.status is self.final[trade_id], trade
            elif trade.status in (TradeStatus.SETTLED, TradeStatus.FAILED):
                self.final[trade_id] = trade.status


TestVenues = VenueMachine.TestCase
