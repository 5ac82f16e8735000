"""The exchange reaches registries, the gateway and time only through its settlement port.

An exchange driven by a small in-memory port — no registry, no gateway —
matches, delivers inside a registry, and settles or unwinds cross-registry
trades by the outcomes the port reports. And the source of `exchange.market`
names no other way out.
"""

from __future__ import annotations

import ast
import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from exchange.balances import Balance
from exchange.book import Instrument, OrderType, Side
from exchange.market import Exchange, Listing, Member, TradeStatus
from exchange.settlement_port import Holding, SettlementPort, TransferOutcome
from gateway import load_links
from gateway.endpoint import TransferOrder
from gateway.links import Link
from gateway.messages import TransactionStatus
from registry import AccountKind

EU_CH = dataclasses.replace(load_links("fixtures/links/eu-switzerland.toml")[0], windows=())
EUA = Instrument("EUA", "EUR", tick_minor=1, lot_t=1)
LISTING = Listing(EUA, "EU", "custody")
MEMBERS = (
    Member("eu-seller", "EU", "seller"),
    Member("eu-buyer", "EU", "buyer"),
    Member("ch-buyer", "CH", "broker"),
)
LIMIT, BUY, SELL = OrderType.LIMIT, Side.BUY, Side.SELL
START = datetime(2024, 3, 5, 10, tzinfo=UTC)
MARKET_SOURCE = Path(__file__).resolve().parents[2] / "exchange" / "market.py"


class FakeSettlement:
    """A settlement port kept in dicts: accounts hold EUA by (registry, account); a proposed
    transfer locks its units in the origin account until the test reports its outcome."""

    def __init__(self, links: Sequence[Link] = (EU_CH,)) -> None:
        self.moment = START
        self.links = {link.link_id: link for link in links}
        self.kinds = {
            ("EU", "seller"): AccountKind.TRADING,
            ("EU", "buyer"): AccountKind.TRADING,
            ("EU", "custody"): AccountKind.EXCHANGE_CUSTODY,
            ("CH", "broker"): AccountKind.TRADING,
        }
        self.held_t: dict[tuple[str, str], int] = {("EU", "seller"): 1_000}
        self.locked: dict[str, tuple[str, TransferOrder]] = {}  # transfer → (origin, order)
        self.outcomes: dict[str, TransferOutcome] = {}
        self.calls: list[tuple[object, ...]] = []

    # ------------------------------------------------------------ what the test reports

    def finish(self, transfer_id: str, status: TransactionStatus, *messages: str) -> None:
        """Report a transfer's end: completed units leave the origin, others are unlocked."""
        origin, order = self.locked.pop(transfer_id)
        if status is not TransactionStatus.COMPLETED:
            key = (origin, order.from_account)
            self.held_t[key] = self.held_t.get(key, 0) + order.quantity
        self.outcomes[transfer_id] = TransferOutcome(status, (), messages)

    # ------------------------------------------------------------ the port

    def now(self) -> datetime:
        return self.moment

    def advance(self, moment: datetime) -> None:
        self.calls.append(("advance", moment))
        self.moment = max(self.moment, moment)

    def move(
        self, registry: str, source: str, target: str, unit_type: str, quantity_t: int
    ) -> None:
        self.calls.append(("move", registry, source, target, unit_type, quantity_t))
        assert unit_type == "EUA" and self.held_t.get((registry, source), 0) >= quantity_t
        self.held_t[(registry, source)] -= quantity_t
        self.held_t[(registry, target)] = self.held_t.get((registry, target), 0) + quantity_t

    def has_gateway(self) -> bool:
        return True

    def transfer(self, origin: str, order: TransferOrder) -> TransactionStatus:
        raise AssertionError("no deposit or withdrawal crosses a link here")

    def propose(self, origin: str, orders: Sequence[TransferOrder]) -> None:
        self.calls.append(("propose", origin, tuple(orders)))
        for order in orders:
            key = (origin, order.from_account)
            assert order.unit_type == "EUA" and self.held_t.get(key, 0) >= order.quantity
            self.held_t[key] -= order.quantity
            self.locked[order.transaction_id] = (origin, order)

    def deliver(self) -> None:
        self.calls.append(("deliver",))

    def outcome(self, transfer_id: str) -> TransferOutcome | None:
        return self.outcomes.get(transfer_id)

    def link(self, link_id: str) -> Link:
        return self.links[link_id]

    def links_between(self, registry_a: str, registry_b: str) -> tuple[Link, ...]:
        parties = {registry_a, registry_b}
        return tuple(link for link in self.links.values() if link.parties == parties)

    def period_flow_t(self, link_id: str, year: int) -> int:
        return 0

    def account_kind(self, registry: str, account: str) -> AccountKind:
        return self.kinds[(registry, account)]

    def unit_origin(self, registry: str, unit_type: str) -> str | None:
        return "EU" if unit_type == "EUA" else None

    def holding(self, registry: str, account: str, unit_type: str) -> Holding:
        locked_t = sum(
            order.quantity
            for origin, order in self.locked.values()
            if origin == registry and order.from_account == account
        )
        return Holding(account, self.held_t.get((registry, account), 0), locked_t)


def _exchange() -> tuple[Exchange, FakeSettlement]:
    port = FakeSettlement()
    fake: SettlementPort = port  # the fake is a settlement port, as far as mypy can tell
    exchange = Exchange([LISTING], MEMBERS, port=fake)
    exchange.deposit_units("eu-seller", "EUA", 300)
    for member in ("eu-buyer", "ch-buyer"):
        exchange.deposit_cash(member, "EUR", 100_000)
    return exchange, port


def _check(exchange: Exchange) -> None:
    exchange.check_conservation()
    assert exchange.clearing.total("EUR") == 200_000


def test_a_fake_port_delivers_internally_and_settles_a_completed_transfer() -> None:
    exchange, port = _exchange()
    assert port.calls == [("move", "EU", "seller", "custody", "EUA", 300)]
    exchange.submit("EUA", LIMIT, 1, "eu-seller", SELL, 65, 100)
    exchange.submit("EUA", LIMIT, 2, "eu-buyer", BUY, 65, 40)
    exchange.submit("EUA", LIMIT, 3, "ch-buyer", BUY, 66, 60)  # fills at 65: 60 freed at once
    assert exchange.clearing.balance("ch-buyer", "EUR") == Balance(100_000, 3_900)

    first = exchange.settle()

    assert first.settled == ("EUA-1",) and first.in_transfer == ("EUA-2",)
    order = TransferOrder("X-S000001", "custody", "CH", "broker", "EUA", 60)
    assert port.calls[1:] == [
        ("move", "EU", "custody", "buyer", "EUA", 40),
        ("propose", "EU", (order,)),
        ("deliver",),
    ]
    assert port.held_t[("EU", "buyer")] == 40
    _check(exchange)
    assert exchange.trades["EUA-2"].status is TradeStatus.IN_TRANSFER
    assert exchange.settle().in_transfer == ("EUA-2",)  # no outcome yet: it waits

    port.finish("X-S000001", TransactionStatus.COMPLETED)
    reports = exchange.advance(datetime(2024, 3, 6, 9, tzinfo=UTC))

    assert [report.settled for report in reports] == [("EUA-2",)]
    assert port.calls[-2:] == [
        ("advance", datetime(2024, 3, 6, tzinfo=UTC)),
        ("advance", datetime(2024, 3, 6, 9, tzinfo=UTC)),
    ]
    assert exchange.clearing.balance("eu-seller", "EUR") == Balance(6_500, 0)
    assert exchange.clearing.balance("ch-buyer", "EUR") == Balance(100_000 - 3_900, 0)
    assert exchange.custody.balance("eu-seller", "EUA") == Balance(200, 0)
    assert exchange.unsettled_t("ch-buyer", "EUA") == 0
    _check(exchange)


def test_a_transfer_the_port_reports_terminated_unwinds_its_trade() -> None:
    exchange, port = _exchange()
    exchange.submit("EUA", LIMIT, 1, "eu-seller", SELL, 70, 50)
    exchange.submit("EUA", LIMIT, 2, "ch-buyer", BUY, 70, 50)
    assert exchange.settle().in_transfer == ("EUA-1",)
    assert exchange.custody.balance("eu-seller", "EUA") == Balance(300, 50)
    assert exchange.unsettled_cash_minor("ch-buyer", "EUR") == -3_500

    port.finish("X-S000001", TransactionStatus.TERMINATED, "link eu-ch suspended")
    report = exchange.settle()

    assert report.failed == ("EUA-1",) and report.settled == ()
    trade = exchange.trades["EUA-1"]
    assert trade.status is TradeStatus.FAILED
    assert trade.failure == "transfer X-S000001 TERMINATED: link eu-ch suspended"
    # The units never left custody; the seller's claim and the buyer's cash are free again.
    assert port.held_t[("EU", "custody")] == 300
    assert exchange.custody.balance("eu-seller", "EUA") == Balance(300, 0)
    assert exchange.clearing.balance("ch-buyer", "EUR") == Balance(100_000, 0)
    assert exchange.clearing.balance("eu-seller", "EUR") == Balance(0, 0)
    assert exchange.unsettled_t("ch-buyer", "EUA") == 0
    assert exchange.unsettled_cash_minor("ch-buyer", "EUR") == 0
    _check(exchange)


def _runtime_imports(tree: ast.Module) -> set[str]:
    """Return the modules the source imports when it runs (not those for type checking)."""
    found: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            continue
        for inner in ast.walk(node):
            if isinstance(inner, ast.Import):
                found.update(alias.name for alias in inner.names)
            elif isinstance(inner, ast.ImportFrom) and inner.module is not None:
                found.add(inner.module)
    return found


def test_the_market_reaches_registries_and_the_gateway_only_through_its_port() -> None:
    source = MARKET_SOURCE.read_text()
    tree = ast.parse(source)
    imported = _runtime_imports(tree)
    assert not {"gateway.federation", "gateway.gateway", "registry.registry"} & imported
    attributes = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    reached = {"ledger", "transfers", "federation", "registries", "gateway", "clock", "pump"}
    assert not reached & attributes
    assert "registries[" not in source
