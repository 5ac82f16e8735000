"""Measure delivery-versus-payment settlement of cross-system trades, netted per buyer.

    python benchmarks/settlement_bench.py [--quick]

Two registries (EU, CH) on SQLite files joined by the gateway; EUA listed with
its custody account in the EU registry. One EU seller offers from custody;
`BUYERS` Swiss members buy at market many times, so each buyer's trades net
into one signed transfer per cycle. Only `Exchange.settle()` is timed: the
netting, the gateway transfers (signed, checked, journaled at five
participants), and for every trade the custody delivery and the cash payment.

Prints figures for people and, as its last line, one JSON object:
`trades_settled_per_s` (target >= 50,000), `ratio_to_target`, the trades, the
transfers they netted into, and the seconds.

Not part of the test suite: nothing here is collected by pytest.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from exchange.book import Instrument, OrderType, Side
from exchange.market import Exchange, Listing, Member, TradeStatus
from gateway.federation import Federation
from gateway.links import Direction, Link, LinkState
from registry import (
    AccountKind,
    GroupCommit,
    Registry,
    SigningKey,
    SimulatedClock,
    UnitKind,
    UnitType,
    make_engine,
)

TARGET_TRADES_PER_S = 50_000
EUA = UnitType("EUA", UnitKind.ALLOWANCE, "EU")
LINK = Link(
    link_id="eu-ch",
    registry_a="EU",
    registry_b="CH",
    direction=Direction.BILATERAL,
    unit_types=frozenset({"EUA"}),
    effective_from=datetime(2020, 9, 21, tzinfo=UTC),
    state=LinkState.ACTIVE,
)


def build(directory: Path, buyers_n: int) -> tuple[Exchange, Federation]:
    engine = make_engine(f"sqlite:///{directory / 'settlement'}.db")
    clock = SimulatedClock(datetime(2024, 3, 5, 10, tzinfo=UTC))
    commit = GroupCommit(events_max=10_000, delay_ms_max=1_000_000)
    keys = {code: SigningKey.generate() for code in ("EU", "CH", "GW")}
    registries = {
        code: Registry.create(engine, code, code, keys[code], clock, [EUA], commit)
        for code in ("EU", "CH")
    }
    eu, ch = registries["EU"], registries["CH"]
    eu.open_account(AccountKind.COMPLIANCE, "Seller", "seller")
    eu.open_account(AccountKind.EXCHANGE_CUSTODY, "Exchange", "custody")
    eu.issue("EUA", 2024, 100_000_000)
    eu.allocate(eu.ledger.singleton(AccountKind.ISSUANCE).account_id, "seller", "EUA", 100_000_000)
    members = [Member("seller", "EU", "seller")]
    for index in range(buyers_n):
        label = f"buyer{index}"
        ch.open_account(AccountKind.TRADING, label, label)
        members.append(Member(label, "CH", label))
    federation = Federation.create(
        engine,
        keys["GW"],
        [(registries[c], keys[c]) for c in ("EU", "CH")],
        [LINK],
        clock,
        group_commit=commit,
    )
    listing = Listing(Instrument("EUA", "EUR"), "EU", "custody")
    exchange = Exchange([listing], members, registries, federation)
    exchange.deposit_units("seller", "EUA", 100_000_000)
    for member in members[1:]:
        exchange.deposit_cash(member.member_id, "EUR", 10**15)
    return exchange, federation


def trade(exchange: Exchange, trades_n: int, buyers_n: int, first_id: int) -> int:
    """Rest one large offer, then have buyers take it `trades_n` times; return the next id."""
    order_id = first_id
    exchange.submit("EUA", OrderType.LIMIT, order_id, "seller", Side.SELL, 6_500, trades_n * 10)
    for index in range(trades_n):
        order_id += 1
        buyer = f"buyer{index % buyers_n}"
        exchange.submit("EUA", OrderType.MARKET, order_id, buyer, Side.BUY, None, 10)
    return order_id + 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a fast smoke run")
    args = parser.parse_args()
    trades_n = 2_000 if args.quick else 20_000
    buyers_n = 100
    repeats = 1 if args.quick else 3
    rates, transfers_n = [], 0
    with tempfile.TemporaryDirectory() as folder:
        exchange, federation = build(Path(folder), buyers_n)
        next_id = 1
        for _ in range(repeats):
            next_id = trade(exchange, trades_n, buyers_n, next_id)
            began = time.perf_counter()
            report = exchange.settle()
            seconds = time.perf_counter() - began
            assert len(report.settled) == trades_n and not report.failed, report.failed[:3]
            rates.append(trades_n / seconds)
            transfers_n = len(report.transfers)
        assert all(t.status is TradeStatus.SETTLED for t in exchange.trades.values())
        exchange.clearing.check_conservation()
        exchange.custody.check_conservation()
        federation.check_conservation()
    rate = statistics.median(rates)
    print(
        f"settled {trades_n:,} cross-system trades per cycle, netted into {transfers_n} "
        f"transfers: {rate:,.0f} trades/s (median of {repeats}; target >= "
        f"{TARGET_TRADES_PER_S:,})"
    )
    result: dict[str, Any] = {
        "trades_settled_per_s": round(rate),
        "ratio_to_target": round(rate / TARGET_TRADES_PER_S, 3),
        "trades_per_cycle": trades_n,
        "transfers_per_cycle": transfers_n,
        "buyers": buyers_n,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
    }
    print(json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    main()
