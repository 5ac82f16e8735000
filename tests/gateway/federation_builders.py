"""Builders for tests that drive a federation of three registries (EU, CH, AU) and a gateway.

The links follow real ones loosely: EU–CH bilateral with Tuesday/Thursday
transfer days (reference A20) and a small yearly cap so caps are hit; EU→AU
unilateral like the planned interim Australia–EU link (A21); CH–AU bilateral
without re-export and with a short answer time-out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine

from gateway.channel import Receipt
from gateway.federation import Federation
from gateway.links import Direction, Link, LinkState, TransferWindow
from gateway.network import Faults, FaultyTransport, Transport
from registry.accounts import AccountKind
from registry.clock import SimulatedClock
from registry.journal import GroupCommit
from registry.keys import SigningKey
from registry.registry import Registry
from registry.store import make_engine
from registry.units import UnitKind, UnitType

START = datetime(2024, 3, 5, 10, 0, tzinfo=UTC)  # a Tuesday: EU–CH transfer day
CODES = ("EU", "CH", "AU")
UNIT_OF = {"EU": "EUA", "CH": "CHU", "AU": "AUU"}
UNIT_TYPES = [UnitType(unit, UnitKind.ALLOWANCE, code) for code, unit in UNIT_OF.items()]
VINTAGES = (2023, 2024)
ISSUED_PER_VINTAGE_T = 5_000
EU_CH_CAP_T = 1_500
CH_AU_TIMEOUT_MINUTES = 60
# Commits happen only when a test or the network asks: a crash then loses
# exactly what was not flushed, independent of wall-clock time.
MANUAL_COMMIT = GroupCommit(events_max=100_000, delay_ms_max=10**9)

# Account labels in every registry. No registry takes foreign units into "reserve";
# the EU→AU link does not import into "custody" (exchange custody); "nobody" is unknown.
OPERATOR, TRADER, RESERVE, CUSTODY, NOBODY = "operator", "trader", "reserve", "custody", "nobody"

SIGNING_KEYS = {code: SigningKey.generate() for code in CODES}
GATEWAY_KEY = SigningKey.generate()


def make_links() -> list[Link]:
    """Return the three active links of the federation."""
    since = datetime(2020, 9, 21, tzinfo=UTC)
    return [
        Link(
            link_id="eu-ch",
            registry_a="EU",
            registry_b="CH",
            direction=Direction.BILATERAL,
            unit_types=frozenset({"EUA", "CHU", "AUU"}),
            effective_from=since,
            state=LinkState.ACTIVE,
            period_cap_t=EU_CH_CAP_T,
            reexport_allowed=True,
            windows=(TransferWindow(weekdays=frozenset({1, 3})),),
        ),
        Link(
            link_id="eu-au",
            registry_a="EU",
            registry_b="AU",
            direction=Direction.UNILATERAL,
            unit_types=frozenset({"EUA", "AUU"}),
            effective_from=since,
            state=LinkState.ACTIVE,
            importing_account_kinds=frozenset({AccountKind.COMPLIANCE, AccountKind.TRADING}),
        ),
        Link(
            link_id="ch-au",
            registry_a="CH",
            registry_b="AU",
            direction=Direction.BILATERAL,
            unit_types=frozenset({"CHU", "AUU", "EUA"}),
            effective_from=since,
            state=LinkState.ACTIVE,
            reexport_allowed=False,
            answer_timeout_minutes=CH_AU_TIMEOUT_MINUTES,
        ),
    ]


def link_between(links: Iterable[Link], a: str, b: str) -> Link:
    (found,) = [link for link in links if link.parties == {a, b}]
    return found


class PartitionTransport(Transport):
    """Another transport that loses every message to or from a cut-off registry."""

    def __init__(self, inner: Transport) -> None:
        self.inner = inner
        self.cut_off: set[str] = set()

    def deliver(self, sender_id: str, recipient_id: str, data: bytes) -> Receipt | None:
        if sender_id in self.cut_off or recipient_id in self.cut_off:
            return None
        return self.inner.deliver(sender_id, recipient_id, data)


@dataclass
class World:
    """One store, one clock, three registries and the federation joining them."""

    engine: Engine
    clock: SimulatedClock
    links: list[Link]
    federation: Federation
    partition: PartitionTransport
    faulty: FaultyTransport
    group_commit: GroupCommit = MANUAL_COMMIT

    def registry(self, code: str) -> Registry:
        return self.federation.registry(code)

    def restart(self, flush: bool, seed: int = 0) -> None:
        """Reopen every registry and the federation from the store (a crash unless `flush`)."""
        if flush:
            self.federation.flush()
        registries = [
            (
                Registry.open(
                    self.engine,
                    code,
                    SIGNING_KEYS[code],
                    clock=self.clock,
                    group_commit=self.group_commit,
                ),
                code,
            )
            for code in CODES
        ]
        self.federation = Federation.open(
            self.engine,
            GATEWAY_KEY,
            [(registry, SIGNING_KEYS[code]) for registry, code in registries],
            self.links,
            self.clock,
            group_commit=self.group_commit,
        )
        # Messages the network still held may arrive at the restarted participants.
        self.partition, self.faulty = wire(
            self.federation, self.faulty.faults, seed, self.faulty.held, self.partition.cut_off
        )


def wire(
    federation: Federation,
    faults: Faults,
    seed: int,
    held: Iterable[tuple[str, str, bytes]] = (),
    cut_off: Iterable[str] = (),
) -> tuple[PartitionTransport, FaultyTransport]:
    """Put a faulty, partitionable transport on the federation's network."""
    partition = PartitionTransport(federation.network.direct)
    partition.cut_off = set(cut_off)
    faulty = FaultyTransport(partition, faults, seed)
    faulty.held = list(held)
    federation.network.transport = faulty
    return partition, faulty


def build_registry(
    engine: Engine, code: str, clock: SimulatedClock, group_commit: GroupCommit = MANUAL_COMMIT
) -> Registry:
    """Found registry `code` with its accounts and its own units issued and allocated."""
    registry = Registry.create(
        engine,
        code,
        f"{code} registry",
        SIGNING_KEYS[code],
        clock=clock,
        unit_types=UNIT_TYPES,
        group_commit=group_commit,
    )
    registry.open_account(AccountKind.COMPLIANCE, f"{code} operator", OPERATOR)
    registry.open_account(AccountKind.TRADING, f"{code} trader", TRADER)
    registry.open_account(AccountKind.RESERVE, f"{code} reserve", RESERVE)
    registry.open_account(AccountKind.EXCHANGE_CUSTODY, f"{code} exchange", CUSTODY)
    issuance = registry.ledger.singleton(AccountKind.ISSUANCE).account_id
    unit = UNIT_OF[code]
    for vintage in VINTAGES:
        registry.issue(unit, vintage, ISSUED_PER_VINTAGE_T)
        registry.allocate(issuance, OPERATOR, unit, ISSUED_PER_VINTAGE_T // 2, vintage)
        registry.allocate(issuance, TRADER, unit, ISSUED_PER_VINTAGE_T // 4, vintage)
    registry.flush()
    return registry


def build_world(
    faults: Faults | None = None, seed: int = 0, group_commit: GroupCommit = MANUAL_COMMIT
) -> World:
    """Found the store, clock, registries and federation; wire a faulty, partitionable network."""
    engine = make_engine("sqlite://")
    clock = SimulatedClock(START)
    links = make_links()
    registries = [
        (build_registry(engine, code, clock, group_commit), SIGNING_KEYS[code]) for code in CODES
    ]
    federation = Federation.create(
        engine, GATEWAY_KEY, registries, links, clock, group_commit=group_commit
    )
    partition, faulty = wire(federation, faults or Faults(), seed)
    return World(engine, clock, links, federation, partition, faulty, group_commit)
