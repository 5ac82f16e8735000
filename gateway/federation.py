"""Registries joined by a gateway: the assembly a CLI, a benchmark or a scenario drives.

`Federation` builds (or reopens) the gateway and one endpoint per registry
in one store, makes every participant trust the others' keys, and joins them
on a `Network`. It adds no rules of its own: proposals go through the
registry's endpoint, decisions are the gateway's, delivery is the network's.

`check_conservation` is DESIGN.md's first invariant across registries: for
every serial space, each issued serial is in exactly one place — held in an
account of exactly one registry, or in transit (completed at the gateway, not
yet credited at its destination).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine

from gateway.endpoint import RegistryEndpoint, TransferOrder
from gateway.errors import GatewayError, LinkCode
from gateway.gateway import Gateway
from gateway.links import Link
from gateway.messages import TransactionStatus, TransferProposal
from gateway.network import Network, Transport
from gateway.reconciliation import ReconciliationReport, StatementReader, sign_statement
from registry.accounts import AccountKind
from registry.clock import SimulatedClock, boundaries
from registry.journal import GroupCommit
from registry.keys import SigningKey
from registry.registry import Registry
from registry.serial_ranges import RangeSet
from registry.units import UnitBlock

GATEWAY_ID = "GW"
RECONCILIATION_INTERVAL = timedelta(days=1)
ADVANCE_ROUNDS_MAX = 50  # delivery rounds at each moment time passes
RECONCILIATIONS_PER_ADVANCE_MAX = 10_000  # a jump of decades stops scheduling beyond this


@dataclass(frozen=True, slots=True)
class ScheduledReconciliation:
    """One scheduled reconciliation of one registry: its report, or why it was denied."""

    at: datetime
    registry: str
    outcome: ReconciliationReport | GatewayError

    @property
    def is_consistent(self) -> bool:
        return isinstance(self.outcome, ReconciliationReport) and self.outcome.is_consistent


class Federation:
    """A gateway and the endpoints of the registries it links, on one network."""

    def __init__(
        self,
        gateway: Gateway,
        endpoints: Iterable[RegistryEndpoint],
        keys: Mapping[str, SigningKey],
        transport: Transport | None = None,
    ) -> None:
        self.gateway = gateway
        self.endpoints = {endpoint.participant_id: endpoint for endpoint in endpoints}
        self.keys = dict(keys)
        self.network = Network([gateway, *self.endpoints.values()], transport)
        # Scheduled reconciliation: every registry at each midnight UTC that time
        # passes (the Kyoto logs reconciled daily; reference A10). None: on demand only.
        self.reconciliation_interval: timedelta | None = RECONCILIATION_INTERVAL
        self.reconciliation_runs: list[ScheduledReconciliation] = []
        self._statements: dict[str, StatementReader] = {}

    @classmethod
    def create(
        cls,
        engine: Engine,
        gateway_key: SigningKey,
        registries: Iterable[tuple[Registry, SigningKey]],
        links: Iterable[Link],
        clock: SimulatedClock,
        gateway_id: str = GATEWAY_ID,
        group_commit: GroupCommit | None = None,
        transport: Transport | None = None,
    ) -> Federation:
        """Found the gateway and every registry's endpoint; admit the registries and links."""
        links = list(links)
        members = list(registries)
        gateway = Gateway.create(engine, gateway_id, gateway_key, clock, group_commit)
        for registry, key in members:
            gateway.admit_registry(registry.code, key.verify_key)
        for link in links:
            gateway.add_link(link)
        endpoints = []
        for registry, key in members:
            endpoint = RegistryEndpoint.create(
                registry, key, gateway_id, gateway_key.verify_key, links, group_commit
            )
            for other, other_key in members:
                if other.code != registry.code:
                    endpoint.trust_participant(other.code, other_key.verify_key)
            endpoints.append(endpoint)
        federation = cls(gateway, endpoints, {r.code: k for r, k in members}, transport)
        federation.flush()
        return federation

    @classmethod
    def open(
        cls,
        engine: Engine,
        gateway_key: SigningKey,
        registries: Iterable[tuple[Registry, SigningKey]],
        links: Iterable[Link],
        clock: SimulatedClock,
        gateway_id: str = GATEWAY_ID,
        group_commit: GroupCommit | None = None,
        transport: Transport | None = None,
    ) -> Federation:
        """Reopen the gateway and the endpoints of already opened registries."""
        links = list(links)
        members = list(registries)
        gateway = Gateway.open(engine, gateway_id, gateway_key, clock, group_commit)
        endpoints = [
            RegistryEndpoint.open(registry, key, gateway_id, links, group_commit)
            for registry, key in members
        ]
        return cls(gateway, endpoints, {r.code: k for r, k in members}, transport)

    # ------------------------------------------------------------ driving

    def registry(self, code: str) -> Registry:
        return self.endpoints[code].registry

    def propose(self, origin: str, orders: Iterable[TransferOrder]) -> TransferProposal:
        """Have registry `origin` lock and propose a batch of transfers (not yet delivered)."""
        return self.endpoints[origin].propose(orders)

    def transfer(self, origin: str, order: TransferOrder) -> TransactionStatus:
        """Propose one transfer, deliver until the network settles, return its status.

        The gateway's status; for a transfer the gateway refused without
        recording it (its id taken, the log full), the origin's.
        """
        self.propose(origin, [order])
        self.pump()
        if order.transaction_id in self.gateway.transfers:
            return self.gateway.status(order.transaction_id)
        return self.endpoints[origin].status(order.transaction_id)

    def pump(self) -> int:
        return self.network.pump()

    def advance(self, now: datetime) -> list[ScheduledReconciliation]:
        """Move simulated time to `now`, stopping at each moment something falls due.

        At each window opening or time-out on the way the gateway acts and the
        network delivers, as it would while time passes: a transfer forwarded
        when its window opens is answered then, not timed out by the jump. At
        each scheduled reconciliation on the way every registry is reconciled.
        Returns the scheduled reconciliations run.
        """
        runs: list[ScheduledReconciliation] = []
        for moment in self._reconciliation_moments(now):
            self._advance_to(moment)
            runs.extend(self.reconcile_all())
        self._advance_to(now)
        return runs

    def _advance_to(self, now: datetime) -> None:
        gateway = self.gateway
        while (due := self.next_due()) is not None and due <= now:
            if due > gateway.clock.now():
                gateway.clock.set(due)
            self._act_on_due()
        gateway.clock.set(now)
        self._act_on_due()

    def next_due(self) -> datetime | None:
        """Return the earliest moment the gateway or an origin's time-out acts, if any."""
        moments = [self.gateway.next_due(), *(e.next_due() for e in self.endpoints.values())]
        return min((moment for moment in moments if moment is not None), default=None)

    def _act_on_due(self) -> None:
        self.gateway.advance()
        now = self.gateway.clock.now()
        for code in sorted(self.endpoints):
            self.endpoints[code].advance(now)
        self._deliver()

    def _deliver(self) -> None:
        """Deliver what can be delivered while time passes; what cannot waits in outboxes.

        A registry that cannot be reached does not stop time: its messages are
        sent again later, and the gateway's time-outs end what it never answers.
        """
        try:
            self.network.pump(ADVANCE_ROUNDS_MAX)
        except GatewayError as error:
            if error.code != LinkCode.MESSAGES_UNDELIVERED:
                raise

    def _reconciliation_moments(self, now: datetime) -> list[datetime]:
        """Return the scheduled reconciliation moments after the clock, up to `now`."""
        interval = self.reconciliation_interval
        if interval is None:
            return []
        return boundaries(self.gateway.clock.now(), now, interval, RECONCILIATIONS_PER_ADVANCE_MAX)

    def reconcile_all(self) -> list[ScheduledReconciliation]:
        """Reconcile every registry now; one that has transfers open is denied (status 7)."""
        runs = []
        for code in sorted(self.endpoints):
            try:
                report: ReconciliationReport | GatewayError = self.reconcile(code)
            except GatewayError as error:
                if error.code != LinkCode.RECONCILIATION_NOT_QUIESCENT:
                    raise
                report = error
            runs.append(ScheduledReconciliation(self.gateway.clock.now(), code, report))
        self.reconciliation_runs.extend(runs)
        return runs

    def reconcile(self, code: str) -> ReconciliationReport:
        """Have registry `code` sign a statement of its crossed units and the gateway compare."""
        registry = self.registry(code)
        reader = self._statements.get(code)
        if reader is None or reader.ledger is not registry.ledger:
            reader = self._statements[code] = StatementReader(registry.ledger)
        statement = reader.statement(registry.clock.now())
        return self.gateway.reconcile(sign_statement(statement, self.keys[code]))

    def flush(self) -> None:
        self.gateway.flush()
        for endpoint in self.endpoints.values():
            endpoint.flush()

    # ------------------------------------------------------------ invariants

    def check_conservation(self) -> None:
        """Assert every issued serial is in exactly one registry, or in transit."""
        gateway = self.gateway
        placed: dict[tuple[str, str, int], list[tuple[int, int, str]]] = {}

        def place(key: tuple[str, str, int], start: int, end: int, where: str) -> None:
            placed.setdefault(key, []).append((start, end, where))

        for code, endpoint in self.endpoints.items():
            ledger = endpoint.registry.ledger
            departed = {
                lock.lock_id
                for lock in ledger.locks()
                if _status(gateway, lock.lock_id) is TransactionStatus.COMPLETED
            }
            departed_blocks = [
                block
                for lock in ledger.locks()
                if lock.lock_id in departed
                for block in lock.blocks
            ]
            for account in ledger.accounts():
                pending = account.kind is AccountKind.PENDING_OUT
                for block in account.holding.blocks():
                    if pending and departed_blocks:
                        for start, end in _without(block, departed_blocks):
                            place(block.serial_key, start, end, code)
                    else:
                        place(block.serial_key, block.start, block.end, code)
        for record in gateway.transfers.values():
            if record.status is not TransactionStatus.COMPLETED:
                continue
            destination = self.registry(record.transfer.to_registry).ledger
            if not destination.has_transfer(record.transfer.transaction_id):
                for block in record.transfer.blocks:
                    place(block.serial_key, block.start, block.end, "in transit")
        issued: dict[tuple[str, str, int], list[tuple[int, int]]] = {}
        for endpoint in self.endpoints.values():
            issued.update(endpoint.registry.ledger.issued_ranges())
        assert set(placed) <= set(issued), f"unissued serial spaces {set(placed) - set(issued)}"
        for key, ranges in issued.items():
            pieces = sorted(placed.get(key, []))
            merged = RangeSet()
            for start, end, where in pieces:
                assert not merged.overlaps(start, end), (
                    f"{key} serials {start}-{end} are in two places (one is {where})"
                )
                merged.add(start, end)
            assert merged.ranges() == ranges, (
                f"{key}: placed serials {merged.ranges()} differ from issued {ranges}"
            )


def _status(gateway: Gateway, transfer_id: str) -> TransactionStatus | None:
    record = gateway.transfers.get(transfer_id)
    return None if record is None else record.status


def _without(block: UnitBlock, departed: list[UnitBlock]) -> list[tuple[int, int]]:
    """Return the serial pieces of `block` not in any departed block."""
    remaining = RangeSet([(block.start, block.end)])
    for other in departed:
        if other.serial_key != block.serial_key:
            continue
        low, high = max(other.start, block.start), min(other.end, block.end)
        if low <= high and remaining.covers(low, high):
            remaining.remove(low, high)
    return remaining.ranges()
