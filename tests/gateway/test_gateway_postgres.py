"""The gateway and the endpoints on PostgreSQL: crash recovery and one writer per journal.

A crash is modelled by dropping every in-memory object without committing:
what was buffered is lost, as in a killed process, and reopening replays what
PostgreSQL holds.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gateway.endpoint import TransferOrder
from gateway.federation import Federation
from gateway.gateway import Gateway
from gateway.links import Direction, Link, LinkState
from gateway.messages import TransactionStatus
from registry import AccountKind, Registry, SigningKey, UnitKind, UnitType
from registry.clock import SimulatedClock
from registry.errors import ConcurrentWriterError
from registry.journal import GroupCommit
from registry.store import make_engine

pytestmark = pytest.mark.postgres

EUA = UnitType("EUA", UnitKind.ALLOWANCE, "EU")
CHU = UnitType("CHU", UnitKind.ALLOWANCE, "CH")
LINK = Link(
    link_id="eu-ch",
    registry_a="EU",
    registry_b="CH",
    direction=Direction.BILATERAL,
    unit_types=frozenset({"EUA", "CHU"}),
    effective_from=datetime(2020, 9, 21, tzinfo=UTC),
    state=LinkState.ACTIVE,
)
# Nothing commits unless asked: a crash loses everything since the last commit.
NO_AUTOCOMMIT = GroupCommit(events_max=10_000, delay_ms_max=10**9)


class Site:
    """Two registries and a gateway in one PostgreSQL database."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        self.clock = SimulatedClock(datetime(2024, 3, 5, 10, tzinfo=UTC))
        self.keys = {code: SigningKey.generate() for code in ("EU", "CH", "GW")}
        members = []
        for code in ("EU", "CH"):
            registry = Registry.create(
                self.engine, code, code, self.keys[code], self.clock, [EUA, CHU], NO_AUTOCOMMIT
            )
            registry.open_account(AccountKind.COMPLIANCE, "Operator", "operator")
            members.append((registry, self.keys[code]))
        eu = members[0][0]
        eu.issue("EUA", 2024, 10_000)
        eu.allocate(eu.ledger.singleton(AccountKind.ISSUANCE).account_id, "operator", "EUA", 10_000)
        self.federation = Federation.create(
            self.engine, self.keys["GW"], members, [LINK], self.clock, group_commit=NO_AUTOCOMMIT
        )

    def crash_and_reopen(self) -> None:
        """Forget every object without committing, then reopen all from the database."""
        members = [
            (
                Registry.open(self.engine, code, self.keys[code], self.clock, NO_AUTOCOMMIT),
                self.keys[code],
            )
            for code in ("EU", "CH")
        ]
        self.federation = Federation.open(
            self.engine, self.keys["GW"], members, [LINK], self.clock, group_commit=NO_AUTOCOMMIT
        )

    def held(self, code: str) -> int:
        return self.federation.registry(code).ledger.account("operator").holding.balance("EUA")


def _orders(*quantities: int) -> list[TransferOrder]:
    return [
        TransferOrder(f"T{index}", "operator", "CH", "operator", "EUA", quantity)
        for index, quantity in enumerate(quantities, start=1)
    ]


def test_a_crash_at_every_delivery_round_still_completes_each_transfer_exactly_once(
    postgres_url: str,
) -> None:
    site = Site(postgres_url)
    site.federation.propose("EU", _orders(100, 200, 300))
    rounds = 0
    while site.federation.network.pending() and rounds < 20:
        site.federation.network.step()
        site.crash_and_reopen()
        rounds += 1
    site.federation.pump()
    gateway = site.federation.gateway
    assert [gateway.status(f"T{i}") for i in (1, 2, 3)] == [TransactionStatus.COMPLETED] * 3
    assert site.held("CH") == 600
    assert site.held("EU") == 10_000 - 600
    site.federation.check_conservation()
    assert site.federation.reconcile("EU").is_consistent
    assert site.federation.reconcile("CH").is_consistent


def test_a_crash_before_the_proposal_is_committed_leaves_nothing_behind(postgres_url: str) -> None:
    site = Site(postgres_url)
    site.federation.propose("EU", _orders(100))  # lock and proposal buffered, not committed
    site.crash_and_reopen()
    assert site.held("EU") == 10_000
    assert site.federation.registry("EU").ledger.locks() == []
    assert site.federation.gateway.transfers == {}
    site.federation.check_conservation()


def test_a_lock_committed_without_its_proposal_is_released_on_reopening(postgres_url: str) -> None:
    """The registry's journal commits before the endpoint's; a crash between the two leaves
    a lock no proposal names, which the endpoint releases when it reopens."""
    site = Site(postgres_url)
    site.federation.propose("EU", _orders(100))
    site.federation.registry("EU").flush()  # the lock is durable, the proposal is not
    site.crash_and_reopen()
    assert site.held("EU") == 10_000
    assert site.federation.registry("EU").ledger.locks() == []
    site.federation.pump()
    assert site.federation.gateway.transfers == {}


def test_a_second_gateway_writer_is_refused_and_the_first_keeps_going(postgres_url: str) -> None:
    site = Site(postgres_url)
    first = site.federation.gateway
    second = Gateway.open(site.engine, "GW", site.keys["GW"], site.clock)
    second.quarantine_serials("EU", "EUA", 2024, 1, 1, "second writer")
    second.flush()
    first.quarantine_serials("EU", "EUA", 2024, 2, 2, "first writer")
    with pytest.raises(ConcurrentWriterError):
        first.flush()
    with pytest.raises(ConcurrentWriterError):
        first.quarantine_serials("EU", "EUA", 2024, 3, 3, "after the failed commit")
    reopened = Gateway.open(site.engine, "GW", site.keys["GW"], site.clock)
    assert {key: ranges.ranges() for key, ranges in reopened.unit_states.quarantine.items()} == {
        ("EU", "EUA", 2024): [(1, 1)]
    }
