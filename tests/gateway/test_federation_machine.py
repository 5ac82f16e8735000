"""A federation of three registries and a gateway, driven by Hypothesis over a faulty network.

The machine proposes transfers (good and bad), pumps the network fully or
partly, suspends, resumes and terminates links, moves simulated time,
partitions a registry, quarantines serials at the log and in registries, has
registries surrender units and suspend and resume themselves while transfers
are in flight, and restarts everything from the store, with or without a
crash. Beside it, a small model keeps what the
machine has seen: each transfer's first final status, the link states, and
when each transfer was forwarded. DESIGN.md "Invariants" 1-3 and 5 and the
gateway's "ends exactly once" rule are checked after every step, and that
nothing the log knew to be terminal, quarantined or suspended when a step
began completed a crossing in it, and that no transfer is open past its
time-out at the log or at the origin.

Example tests at the end pin the fault cases one by one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from gateway.endpoint import RegistryEndpoint, TransferOrder
from gateway.errors import GatewayError, LinkCode
from gateway.federation import Federation
from gateway.links import LinkState, allowed_transitions
from gateway.messages import TransactionStatus
from gateway.network import Faults
from registry.errors import CheckCode, RegistryError
from registry.events import LockPurpose
from registry.journal import GroupCommit
from registry.registry import Registry
from tests.gateway.federation_builders import (
    CH_AU_TIMEOUT_MINUTES,
    CODES,
    CUSTODY,
    EU_CH_CAP_T,
    ISSUED_PER_VINTAGE_T,
    NOBODY,
    OPERATOR,
    RESERVE,
    SIGNING_KEYS,
    TRADER,
    UNIT_OF,
    VINTAGES,
    World,
    build_world,
    link_between,
)

COMPLETED = TransactionStatus.COMPLETED
FORWARDED = TransactionStatus.CHECKED_NO_DISCREPANCY
PARTIAL_PUMP_CODES = {LinkCode.MESSAGES_UNDELIVERED, LinkCode.RECONCILIATION_NOT_QUIESCENT}
SHORT_PUMP_ROUNDS_MAX = 6
QUARANTINES_MAX = 2  # per run: each one blocks many later transfers
LINK_IDS = ("eu-ch", "eu-au", "ch-au")
# Past every answer time-out (a day at most) and past the next EU–CH transfer day.
DRAIN_STEP = timedelta(days=3)

fault_chances = st.sampled_from([Fraction(0), Fraction(1, 10), Fraction(1, 4), Fraction(1, 2)])
small_quantities = st.integers(1, 1_200)
delays = st.sampled_from(
    [
        timedelta(minutes=1),
        timedelta(minutes=30),
        timedelta(minutes=61),
        timedelta(hours=10),
        timedelta(minutes=1441),
        timedelta(days=2),
        timedelta(days=5),
        timedelta(days=200),
    ]
)


@st.composite
def orders(draw: st.DrawFn, registry: Registry, wild: bool) -> dict[str, Any]:
    """Draw one transfer order's fields (the id is the machine's).

    A tame order moves a little of what an account holds to another
    registry's holding account; a wild one may name an unknown or
    non-importing account, the origin itself, units held elsewhere, or more
    than is held.
    """
    origin = registry.code
    others = [code for code in CODES if code != origin]
    if wild:
        from_account = draw(st.sampled_from([OPERATOR, TRADER, NOBODY]))
        to_accounts = [OPERATOR, CUSTODY, RESERVE, NOBODY]
        to_registries = [*others, origin]
        unit_type = draw(st.sampled_from(sorted(UNIT_OF.values())))
        quantity = draw(st.one_of(small_quantities, st.integers(1, 2 * ISSUED_PER_VINTAGE_T)))
    else:
        from_account = draw(st.sampled_from([OPERATOR, TRADER]))
        to_accounts, to_registries = [OPERATOR, TRADER], others
        holding = registry.account(from_account).holding
        held = [unit for unit in sorted(UNIT_OF.values()) if holding.balance(unit) > 0]
        unit_type = draw(st.sampled_from(held or [UNIT_OF[origin]]))
        quantity = draw(small_quantities)
    return {
        "from_account": from_account,
        "to_registry": draw(st.sampled_from(to_registries)),
        "to_account": draw(st.sampled_from(to_accounts)),
        "unit_type": unit_type,
        "quantity": quantity,
        "vintage": None if not wild else draw(st.sampled_from([None, *VINTAGES])),
    }


@dataclass
class Seen:
    """What the machine has seen of the gateway, as of one moment.

    `final`: each transfer's first final status. `forwarded`: the link and
    year each transfer was first seen forwarded (or completed) in. `links`:
    the link states the machine set.
    """

    final: dict[str, TransactionStatus] = field(default_factory=dict)
    forwarded: dict[str, tuple[str, int]] = field(default_factory=dict)
    links: dict[str, LinkState] = field(default_factory=dict)


def gateway_view(federation: Federation) -> dict[str, Any]:
    """Return everything the gateway's journal must rebuild, as plain comparable data."""
    gateway = federation.gateway
    return {
        "transfers": {
            transfer_id: (
                record.status,
                record.codes,
                record.link_id,
                record.period,
                record.waiting_until,
                record.answer_due,
                record.reserved,
                record.expires_at,
                record.held,
                record.transfer,
            )
            for transfer_id, record in gateway.transfers.items()
        },
        "in_flight": {key: ranges.ranges() for key, ranges in gateway.in_flight.items() if ranges},
        "links": dict(gateway.links),
        "counters": {link_id: gateway.counters(link_id) for link_id in gateway.links},
        "foreign": _ranges_by_registry(gateway.foreign),
        "away": _ranges_by_registry(gateway.away),
        "frozen": {key: ranges.ranges() for key, ranges in gateway.frozen.items() if ranges},
        "quarantine": {key: r.ranges() for key, r in gateway.unit_states.quarantine.items() if r},
        "terminal": {key: r.ranges() for key, r in gateway.unit_states.terminal.items() if r},
        "registry_quarantine": {
            key: r.ranges() for key, r in gateway.unit_states.registry_quarantine.items() if r
        },
        "suspended": dict(gateway.unit_states.suspended),
        "alerts": list(gateway.alerts),
        "outbox": gateway.outbox.unacknowledged(),
        "open": [record.transfer.transaction_id for record in gateway.open_transfers()],
    }


def endpoint_view(endpoint: RegistryEndpoint) -> dict[str, Any]:
    return {
        "outgoing": dict(endpoint.outgoing),
        "incoming": dict(endpoint.incoming),
        "finished": dict(endpoint.finished),
        "stranded": dict(endpoint.stranded),
        "proposed_at": dict(endpoint.proposed_at),
        "withdrawn": dict(endpoint.withdrawn),
        "outbox": endpoint.outbox.unacknowledged(),
        "ledger": endpoint.registry.ledger.state_digest(),
    }


def federation_view(federation: Federation) -> dict[str, Any]:
    return {
        "gateway": gateway_view(federation),
        **{code: endpoint_view(federation.endpoints[code]) for code in CODES},
    }


def _ranges_by_registry(table: dict[str, dict[Any, Any]]) -> dict[str, dict[Any, Any]]:
    return {
        code: {key: ranges.ranges() for key, ranges in by_key.items() if ranges}
        for code, by_key in table.items()
    }


def check_settled(world: World, *, all_final: bool = False) -> None:
    """Assert the views agree once every message is delivered (DESIGN.md steps 2-4)."""
    federation = world.federation
    gateway = federation.gateway
    for transfer_id, record in gateway.transfers.items():
        origin = federation.endpoints[record.transfer.from_registry]
        destination = federation.endpoints[record.transfer.to_registry]
        if record.is_final:
            assert origin.status(transfer_id) == record.status, (
                f"{transfer_id}: origin {origin.participant_id} says "
                f"{origin.status(transfer_id)!r}, gateway {record.status!r}"
            )
            assert transfer_id not in destination.incoming, f"{transfer_id} still incoming"
            if transfer_id in destination.finished:
                assert destination.status(transfer_id) == record.status, transfer_id
        else:
            assert not all_final, f"{transfer_id} still open after draining: {record}"
            # Settled: nothing forwarded is left unanswered; only a closed window holds one.
            assert record.waiting_until is not None, f"{transfer_id} open, not waiting: {record}"
            assert origin.status(transfer_id) is TransactionStatus.PROPOSED, transfer_id
    for code, endpoint in federation.endpoints.items():
        assert not endpoint.stranded, f"{code} has completed transfers not credited"
        for transfer_id in [*endpoint.outgoing, *endpoint.incoming]:
            assert not gateway.status(transfer_id).is_final, (
                f"{code} still waits on {transfer_id}, final at the gateway"
            )
        locks = {
            lock.lock_id
            for lock in endpoint.registry.ledger.locks()
            if lock.purpose is LockPurpose.EXTERNAL_TRANSFER
        }
        assert locks == set(endpoint.outgoing), f"{code}: locks {locks} vs {endpoint.outgoing}"
    busy = {code for r in gateway.open_transfers() for code in _parties(r.transfer)}
    for code in CODES:
        if code not in busy:
            report = federation.reconcile(code)
            assert report.is_consistent, f"{code} does not reconcile: {report}"


def _parties(transfer: Any) -> tuple[str, str]:
    return transfer.from_registry, transfer.to_registry


class FederationMachine(RuleBasedStateMachine):
    """Three registries, three links, one gateway, a faulty network, and a model beside them."""

    world: World

    def __init__(self) -> None:
        super().__init__()
        self.next_id = 0
        self.proposed: dict[str, tuple[str, str, int]] = {}  # id → (origin, destination, t)
        self.seen = Seen()
        self.links_before: dict[str, LinkState] = {}  # link states when this step began
        self.terminated_once = False
        self.quarantines = 0
        # What the log knew when this step began: (suspended registries, serial fates).
        self.known_before: tuple[frozenset[str], dict[Any, list[tuple[int, int]]]] = (
            frozenset(),
            {},
        )

    # ------------------------------------------------------------ set-up

    @initialize(
        drop=fault_chances,
        duplicate=fault_chances,
        delay=fault_chances,
        seed=st.integers(0, 2**16),
    )
    def found(self, drop: Fraction, duplicate: Fraction, delay: Fraction, seed: int) -> None:
        self.world = build_world(Faults(drop, duplicate, delay), seed)
        self.seen.links = {link.link_id: link.state for link in self.world.links}
        self.links_before = dict(self.seen.links)

    @property
    def federation(self) -> Federation:
        return self.world.federation

    def _fresh_id(self) -> str:
        self.next_id += 1
        return f"T{self.next_id:04d}"

    # ------------------------------------------------------------ rules

    @rule(
        data=st.data(),
        origin=st.sampled_from(CODES),
        size=st.integers(1, 3),
        wild=st.booleans(),
    )
    def propose(self, data: st.DataObject, origin: str, size: int, wild: bool) -> None:
        endpoint = self.federation.endpoints[origin]
        drawn = [data.draw(orders(endpoint.registry, wild and index == 0)) for index in range(size)]
        batch = [TransferOrder(self._fresh_id(), **fields) for fields in drawn]
        digest = endpoint.registry.ledger.state_digest()
        outgoing = dict(endpoint.outgoing)
        try:
            proposal = self.federation.propose(origin, batch)
        except RegistryError as error:  # GatewayError included
            assert endpoint.registry.ledger.state_digest() == digest, (
                f"refused proposal ({error.code}) changed {origin}"
            )
            assert endpoint.outgoing == outgoing
            return
        for transfer in proposal.transfers:
            self.proposed[transfer.transaction_id] = (
                origin,
                transfer.to_registry,
                transfer.quantity_t,
            )

    @rule(data=st.data(), origin=st.sampled_from(CODES))
    def propose_tame(self, data: st.DataObject, origin: str) -> None:
        self.propose(data, origin, 1, wild=False)

    @rule(full=st.booleans(), rounds=st.integers(1, SHORT_PUMP_ROUNDS_MAX))
    def pump(self, full: bool, rounds: int) -> None:
        network = self.federation.network
        if full and not self.world.partition.cut_off:
            network.pump()
            self.world.faulty.flush_held()
            network.pump()
            return
        try:
            network.pump(rounds_max=rounds)
        except GatewayError as error:  # a partial delivery
            assert error.code in PARTIAL_PUMP_CODES, error

    @rule(link_id=st.sampled_from(LINK_IDS), state=st.sampled_from(list(LinkState)))
    def change_link_state(self, link_id: str, state: LinkState) -> None:
        if state is LinkState.TERMINATED:
            return  # see `terminate_link`: at most once per run
        self._set_link_state(link_id, state, freeze_units=False)

    @precondition(lambda self: not self.terminated_once)
    @rule(link_id=st.sampled_from(LINK_IDS), freeze_units=st.booleans())
    def terminate_link(self, link_id: str, freeze_units: bool) -> None:
        if self._set_link_state(link_id, LinkState.TERMINATED, freeze_units):
            self.terminated_once = True

    def _set_link_state(self, link_id: str, target: LinkState, freeze_units: bool) -> bool:
        gateway = self.federation.gateway
        before = self.seen.links[link_id]
        if target not in allowed_transitions(before):
            with pytest.raises(GatewayError) as refused:
                gateway.set_link_state(link_id, target, "drill", freeze_units)
            assert refused.value.code == LinkCode.LINK_NOT_ACTIVE
            assert gateway.links[link_id].state is before
            return False
        open_before = {
            r.transfer.transaction_id for r in gateway.open_transfers() if r.link_id == link_id
        }
        ended = gateway.set_link_state(link_id, target, "drill", freeze_units)
        self.seen.links[link_id] = target
        if target is LinkState.ACTIVE:
            assert ended == []
        else:
            assert set(ended) == open_before
            for transfer_id in ended:
                assert gateway.status(transfer_id) is TransactionStatus.TERMINATED
        return True

    @rule(delay=delays, then_pump=st.booleans())
    def advance(self, delay: timedelta, then_pump: bool) -> None:
        now = self.world.clock.now() + delay
        self.federation.gateway.advance(now)
        for code in CODES:
            self.federation.endpoints[code].advance(now)
        if then_pump:
            self.pump(full=True, rounds=SHORT_PUMP_ROUNDS_MAX)

    @precondition(lambda self: not self.world.partition.cut_off)
    @rule(code=st.sampled_from(CODES))
    def partition(self, code: str) -> None:
        self.world.partition.cut_off.add(code)

    @precondition(lambda self: bool(self.world.partition.cut_off))
    @rule()
    def heal(self) -> None:
        self.world.partition.cut_off.clear()

    @rule(flush=st.booleans(), seed=st.integers(0, 2**16))
    def restart(self, flush: bool, seed: int) -> None:
        """Reopen everything from the store; without a flush first, that is a crash."""
        if flush:
            self.federation.flush()
            expected = federation_view(self.federation)
        self.world.restart(flush=False, seed=seed)
        gateway = self.federation.gateway
        if flush:
            # Replay rebuilds exactly what was committed (DESIGN.md invariant 5).
            rebuilt = federation_view(self.federation)
            differing = {
                (part, key)
                for part in expected
                for key in expected[part]
                if rebuilt[part][key] != expected[part][key]
            }
            assert not differing, f"replay rebuilt different {sorted(differing)}"
        else:
            self._forget_what_the_crash_took()
        self.links_before = dict(self.seen.links)
        # Reopened, each acts on what fell due while it was down (a withdrawal the
        # crash took), as `etslink link` commands do on opening.
        now = self.world.clock.now()
        gateway.advance(now)
        for code in CODES:
            self.federation.endpoints[code].advance(now)
        for transfer_id, (origin, _, _) in list(self.proposed.items()):
            endpoint = self.federation.endpoints[origin]
            if transfer_id not in endpoint.outgoing and transfer_id not in endpoint.finished:
                # Proposed, never committed: the crash took it, and its lock was released.
                assert transfer_id not in gateway.transfers, transfer_id
                assert endpoint.registry.ledger.lock_record(transfer_id) is None
                del self.proposed[transfer_id]

    def _forget_what_the_crash_took(self) -> None:
        """Drop from the model what the gateway decided but never committed (nobody was told)."""
        gateway = self.federation.gateway
        self.seen.links = {link_id: link.state for link_id, link in gateway.links.items()}
        for transfer_id in list(self.seen.final):
            record = gateway.transfers.get(transfer_id)
            if record is None or not record.is_final:
                del self.seen.final[transfer_id]
        for transfer_id in list(self.seen.forwarded):
            record = gateway.transfers.get(transfer_id)
            if record is None or record.status is TransactionStatus.PROPOSED:
                del self.seen.forwarded[transfer_id]

    @precondition(lambda self: self.quarantines < QUARANTINES_MAX)
    @rule(
        code=st.sampled_from(CODES),
        vintage=st.sampled_from(VINTAGES),
        start=st.integers(1, ISSUED_PER_VINTAGE_T),
        length=st.integers(1, 500),
    )
    def quarantine(self, code: str, vintage: int, start: int, length: int) -> None:
        self.quarantines += 1
        end = min(start + length - 1, ISSUED_PER_VINTAGE_T)
        self.federation.gateway.quarantine_serials(
            code, UNIT_OF[code], vintage, start, end, "suspected double issuance"
        )

    @rule(code=st.sampled_from(CODES), data=st.data())
    def surrender(self, code: str, data: st.DataObject) -> None:
        """A covered entity surrenders what it holds, its registry's units or others'."""
        registry = self.federation.registry(code)
        holding = registry.account(OPERATOR).holding
        held = [unit for unit in sorted(UNIT_OF.values()) if holding.balance(unit) > 0]
        if not held:
            return
        unit = data.draw(st.sampled_from(held))
        quantity = data.draw(st.integers(1, holding.balance(unit)))
        try:
            registry.surrender(OPERATOR, unit, quantity, period=2023)
        except RegistryError as error:
            assert error.code in (
                CheckCode.REGISTRY_SUSPENDED,
                CheckCode.QUANTITY_EXCEEDS_BALANCE,
                CheckCode.UNITS_QUARANTINED,
            ), error

    @rule(code=st.sampled_from(CODES))
    def suspend_registry(self, code: str) -> None:
        """A registry-wide suspension (EU, 19 January 2011), in flight or not."""
        registry = self.federation.registry(code)
        if registry.ledger.suspension_reason is None:
            registry.suspend("drill: registry thefts")

    @rule(code=st.sampled_from(CODES))
    def resume_registry(self, code: str) -> None:
        registry = self.federation.registry(code)
        if registry.ledger.suspension_reason is not None:
            registry.resume("drill: security attestation done")

    @precondition(lambda self: self.quarantines < QUARANTINES_MAX)
    @rule(
        code=st.sampled_from(CODES),
        vintage=st.sampled_from(VINTAGES),
        start=st.integers(1, ISSUED_PER_VINTAGE_T),
        length=st.integers(1, 500),
    )
    def registry_quarantine(self, code: str, vintage: int, start: int, length: int) -> None:
        """A registry quarantines serials of its own units; the log hears by notice."""
        self.quarantines += 1
        end = min(start + length - 1, ISSUED_PER_VINTAGE_T)
        try:
            self.federation.registry(code).quarantine_serials(
                UNIT_OF[code], vintage, start, end, "drill: stolen"
            )
        except RegistryError as error:  # some of them already are
            assert error.code == CheckCode.INVALID_ARGUMENT, error

    # ------------------------------------------------------------ invariants

    @invariant()
    def invariants_hold(self) -> None:
        """Run every check in order: the model is updated by the earlier ones."""
        self.links_are_as_set()
        self.nothing_completes_that_the_log_knew_may_not()
        self.each_transfer_ends_once_and_only_on_active_links()
        self.no_transfer_is_open_past_its_time_out()
        self.federation.check_conservation()
        self.period_caps_hold()
        self.settled_views_agree()

    def nothing_completes_that_the_log_knew_may_not(self) -> None:
        """A transfer that completed in this step was not known, when it began, to carry
        terminal or quarantined serials, nor to join a registry suspended throughout it."""
        gateway = self.federation.gateway
        suspended, fated = self.known_before
        # Suspended throughout the step: a resumption the log heard of within it lets
        # transfers go on (the machine never lifts a quarantine, and terminal is for good).
        suspended = suspended & frozenset(gateway.unit_states.suspended)
        for transfer_id, record in gateway.transfers.items():
            if record.status is not COMPLETED or transfer_id in self.seen.final:
                continue
            assert not suspended & set(_parties(record.transfer)), (
                f"{transfer_id} completed with {suspended} suspended at the log"
            )
            for block in record.transfer.blocks:
                for start, end in fated.get(block.serial_key, []):
                    assert end < block.start or start > block.end, (
                        f"{transfer_id} completed carrying {block}, whose serials "
                        f"{start}-{end} the log knew to be terminal or quarantined"
                    )
        fates: dict[Any, list[tuple[int, int]]] = {}
        states = gateway.unit_states
        for table in (states.terminal, states.quarantine, states.registry_quarantine):
            for key, ranges in table.items():
                fates.setdefault(key, []).extend(ranges.ranges())
        self.known_before = (frozenset(gateway.unit_states.suspended), fates)

    def no_transfer_is_open_past_its_time_out(self) -> None:
        now = self.world.clock.now()
        for record in self.federation.gateway.open_transfers():
            assert record.expires_at is not None and now < record.expires_at, record
        for code in CODES:
            due = self.federation.endpoints[code].next_due()
            assert due is None or now < due, f"{code} did not withdraw what fell due at {due}"

    def links_are_as_set(self) -> None:
        for link_id, state in self.seen.links.items():
            assert self.federation.gateway.links[link_id].state is state, link_id

    def each_transfer_ends_once_and_only_on_active_links(self) -> None:
        gateway = self.federation.gateway
        year = self.world.clock.now().year
        for transfer_id, first in self.seen.final.items():
            now = gateway.status(transfer_id)
            assert now is first, f"{transfer_id} was {first!r}, is now {now!r}"
        for transfer_id, record in gateway.transfers.items():
            assert transfer_id in self.proposed, f"the gateway invented {transfer_id}"
            origin, destination, quantity_t = self.proposed[transfer_id]
            assert _parties(record.transfer) == (origin, destination)
            assert record.transfer.quantity_t == quantity_t
            if record.status in (FORWARDED, COMPLETED) and transfer_id not in self.seen.forwarded:
                link = link_between(self.world.links, origin, destination).link_id
                # Link states change only in their own steps, which forward nothing.
                assert self.links_before[link] is LinkState.ACTIVE, (transfer_id, link)
                assert self.seen.links[link] is LinkState.ACTIVE, (transfer_id, link)
                assert record.period == year, (transfer_id, record.period, year)
                self.seen.forwarded[transfer_id] = (link, year)
            if record.is_final and transfer_id not in self.seen.final:
                self.seen.final[transfer_id] = record.status
        self.links_before = dict(self.seen.links)

    def period_caps_hold(self) -> None:
        flows: dict[tuple[str, int], int] = {}
        for transfer_id, status in self.seen.final.items():
            if status is COMPLETED:
                key = self.seen.forwarded[transfer_id]
                flows[key] = flows.get(key, 0) + self.proposed[transfer_id][2]
        for (link_id, year), flow_t in flows.items():
            cap = self.federation.gateway.links[link_id].period_cap_t
            assert cap is None or flow_t <= cap, f"{link_id} {year}: {flow_t} t > cap {cap} t"
        assert flows.get(("eu-ch", 2024), 0) <= EU_CH_CAP_T

    def settled_views_agree(self) -> None:
        world = self.world
        if world.federation.network.pending() or world.faulty.held or world.partition.cut_off:
            return
        check_settled(world)

    def teardown(self) -> None:
        world = getattr(self, "world", None)
        if world is None:
            return
        # The model notes each forward's year, so it looks after every drain step.
        drain(world, self.each_transfer_ends_once_and_only_on_active_links)
        world.federation.check_conservation()
        self.period_caps_hold()
        check_settled(world, all_final=True)


def drain(world: World, after_step: Callable[[], None] = lambda: None) -> None:
    """Heal every fault, deliver everything, and move time past every time-out and window."""
    world.partition.cut_off.clear()
    world.faulty.faults = Faults()
    network = world.federation.network
    for _ in range(3):
        world.faulty.flush_held()
        network.pump()
        after_step()
        now = world.clock.now() + DRAIN_STEP
        world.federation.gateway.advance(now)
        for endpoint in world.federation.endpoints.values():
            endpoint.advance(now)
        network.pump()
        after_step()


TestFederation = FederationMachine.TestCase


# ---------------------------------------------------------------- example tests


def _balance(world: World, code: str, account: str, unit_type: str) -> int:
    return world.registry(code).account(account).holding.balance(unit_type)


def _pump_partly(world: World, rounds_max: int = SHORT_PUMP_ROUNDS_MAX) -> None:
    with pytest.raises(GatewayError) as unsettled:
        world.federation.network.pump(rounds_max=rounds_max)
    assert unsettled.value.code == LinkCode.MESSAGES_UNDELIVERED


def test_destination_that_never_answers_is_terminated_with_9015_and_origin_unlocked() -> None:
    world = build_world()
    federation = world.federation
    before_t = _balance(world, "CH", OPERATOR, "CHU")
    world.partition.cut_off.add("AU")
    federation.propose("CH", [TransferOrder("T1", OPERATOR, "AU", OPERATOR, "CHU", 700)])
    _pump_partly(world)
    assert federation.gateway.status("T1") is FORWARDED
    assert _balance(world, "CH", OPERATOR, "CHU") == before_t - 700  # locked, pending out

    federation.gateway.advance(world.clock.now() + timedelta(minutes=CH_AU_TIMEOUT_MINUTES))
    _pump_partly(world)  # the termination reaches CH; AU is still cut off

    record = federation.gateway.transfers["T1"]
    assert record.status is TransactionStatus.TERMINATED
    assert record.codes == (LinkCode.TRANSFER_TIMED_OUT,)
    assert federation.endpoints["CH"].status("T1") is TransactionStatus.TERMINATED
    assert _balance(world, "CH", OPERATOR, "CHU") == before_t
    assert federation.registry("CH").ledger.lock_record("T1") is None
    federation.check_conservation()

    world.partition.cut_off.clear()  # AU answers at last: too late, nothing changes
    federation.pump()
    assert federation.gateway.status("T1") is TransactionStatus.TERMINATED
    assert _balance(world, "AU", OPERATOR, "CHU") == 0
    check_settled(world, all_final=True)
    federation.check_conservation()


def test_duplicated_and_dropped_messages_change_nothing_beyond_one_completion() -> None:
    world = build_world(Faults(drop=Fraction(1, 2), duplicate=Fraction(1, 2)), seed=7)
    federation = world.federation
    eu_before_t = _balance(world, "EU", OPERATOR, "EUA")

    federation.propose("EU", [TransferOrder("T1", OPERATOR, "AU", TRADER, "EUA", 400)])
    federation.pump()

    assert world.faulty.counts["dropped"] > 0 and world.faulty.counts["duplicated"] > 0
    assert federation.gateway.status("T1") is COMPLETED
    assert federation.gateway.counters("eu-au").completed == 1
    assert federation.gateway.counters("eu-au").flows_t == {2024: 400}
    assert _balance(world, "EU", OPERATOR, "EUA") == eu_before_t - 400
    assert _balance(world, "AU", TRADER, "EUA") == 400
    check_settled(world, all_final=True)
    federation.check_conservation()


@pytest.mark.parametrize("delivered_rounds", [0, 1, 2])
def test_restart_between_proposal_and_forward_still_completes_exactly_once(
    delivered_rounds: int,
) -> None:
    world = build_world()
    federation = world.federation
    federation.propose("EU", [TransferOrder("T1", OPERATOR, "AU", OPERATOR, "EUA", 300)])
    federation.flush()  # the proposal is durable at EU
    if delivered_rounds:
        # The gateway takes the proposal (and maybe forwards it) before the crash.
        _pump_partly(world, rounds_max=delivered_rounds)

    world.restart(flush=False)
    world.federation.pump()

    federation = world.federation
    assert federation.gateway.status("T1") is COMPLETED
    assert federation.gateway.counters("eu-au").completed == 1
    assert _balance(world, "AU", OPERATOR, "EUA") == 300
    assert federation.registry("AU").ledger.has_transfer("T1")
    check_settled(world, all_final=True)
    federation.check_conservation()


def test_crash_before_the_proposal_is_committed_releases_the_lock() -> None:
    world = build_world()
    before_t = _balance(world, "EU", OPERATOR, "EUA")
    world.federation.propose("EU", [TransferOrder("T1", OPERATOR, "AU", OPERATOR, "EUA", 300)])

    world.restart(flush=False)
    world.federation.pump()

    assert "T1" not in world.federation.gateway.transfers
    assert world.registry("EU").ledger.lock_record("T1") is None
    assert _balance(world, "EU", OPERATOR, "EUA") == before_t
    check_settled(world, all_final=True)


def test_a_transfer_into_a_kind_the_link_does_not_import_is_rejected_and_unlocked() -> None:
    # AU-EU interim link: units for compliance and trading accounts only (reference A21).
    world = build_world()
    before_t = _balance(world, "EU", OPERATOR, "EUA")

    status = world.federation.transfer(
        "EU", TransferOrder("T1", OPERATOR, "AU", CUSTODY, "EUA", 10)
    )

    assert status is TransactionStatus.REJECTED
    record = world.federation.gateway.transfers["T1"]
    assert record.codes == (CheckCode.ACQUIRING_ACCOUNT_TYPE_MAY_NOT_HOLD_UNITS,)
    assert _balance(world, "EU", OPERATOR, "EUA") == before_t
    check_settled(world, all_final=True)


# ------------------------------------------------- regressions the machine found (gateway/)


def test_a_transaction_id_reused_by_the_destination_is_refused_and_changes_no_holdings() -> None:
    """Found by the machine: AU proposed an id it was receiving, and the completion of the
    incoming transfer exported AU's own units instead of crediting the arriving ones."""
    world = build_world()
    federation = world.federation
    federation.propose("EU", [TransferOrder("X1", OPERATOR, "AU", OPERATOR, "EUA", 100)])
    _pump_partly(world, rounds_max=2)  # forwarded; AU accepted, not yet completed
    assert "X1" in federation.endpoints["AU"].incoming
    au_before_t = _balance(world, "AU", OPERATOR, "AUU")

    # AU reuses the id for a transfer of its own. The gateway refuses it (10006),
    # as DESIGN.md invariant 8 asks: a replayed id is rejected and changes nothing.
    with pytest.raises(RegistryError) as refused:
        federation.propose("AU", [TransferOrder("X1", OPERATOR, "CH", OPERATOR, "AUU", 50)])
    assert refused.value.code == CheckCode.TRANSACTION_ID_EXISTS
    federation.pump()

    assert federation.gateway.status("X1") is COMPLETED
    assert _balance(world, "AU", OPERATOR, "EUA") == 100  # was 0: never credited
    assert _balance(world, "AU", OPERATOR, "AUU") == au_before_t  # was 50 t short: exported
    federation.check_conservation()  # was: EUA 2023 serials 1-100 nowhere


def test_an_automatic_commit_of_the_endpoint_commits_the_registry_first() -> None:
    """Found by the machine: with group commit by batch size the endpoint's journal committed
    a proposal while the registry's lock was still buffered; after a crash the proposal
    completed without a lock and the units were in both registries."""
    world = build_world(group_commit=GroupCommit(events_max=2, delay_ms_max=10**9))
    federation = world.federation
    eu = federation.endpoints["EU"]
    # One endpoint entry is buffered; the proposal fills the endpoint's batch of two
    # and commits it, while the lock is the registry's only buffered entry.
    eu.trust_participant("NZ", SIGNING_KEYS["CH"].verify_key)
    federation.propose("EU", [TransferOrder("T1", OPERATOR, "AU", OPERATOR, "EUA", 100)])
    assert eu.journal is not None and eu.journal.pending == 0
    assert world.registry("EU").journal.pending == 0  # the lock committed first (was 1)

    world.restart(flush=False)
    world.federation.pump()  # was: RegistryError 9105 "no lock 'T1' in EU"

    assert world.federation.gateway.status("T1") is COMPLETED
    assert _balance(world, "AU", OPERATOR, "EUA") == 100
    world.federation.check_conservation()  # was: EUA serials 1-100 in EU and in AU
