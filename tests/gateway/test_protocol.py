"""The signed transfer protocol end to end: each rule and each attack of reference §(d).

Every refusal names its code and checks that nothing moved: the registries'
state digests, the gateway's transfers and its serials in flight.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest

from gateway import GatewayError, LinkCode, LinkState, load_links
from gateway.channel import Outcome, Receipt
from gateway.endpoint import TransferOrder
from gateway.federation import Federation
from gateway.links import Direction, Link
from gateway.messages import (
    SignedMessage,
    TransactionStatus,
    Transfer,
    TransferProposal,
)
from gateway.network import DirectTransport, Faults, FaultyTransport, Transport
from gateway.reconciliation import ReconciliationStatus
from registry import AccountKind, Registry, SigningKey, UnitBlock, UnitKind, UnitType
from registry.clock import SimulatedClock, format_time
from registry.errors import CheckCode
from registry.serial_ranges import RangeSet
from registry.store import make_engine

EUA = UnitType("EUA", UnitKind.ALLOWANCE, "EU")
CHU = UnitType("CHU", UnitKind.ALLOWANCE, "CH")
AUU = UnitType("AUU", UnitKind.ALLOWANCE, "AU")
TUESDAY = datetime(2024, 3, 5, 10, tzinfo=UTC)  # EU–CH transfers run Tue/Thu since 2023
WEDNESDAY = TUESDAY + timedelta(days=1)
EU_CH = load_links("fixtures/links/eu-switzerland.toml")[0]
EU_AU = Link(
    link_id="eu-au",
    registry_a="EU",
    registry_b="AU",
    direction=Direction.UNILATERAL,  # like the planned interim Australia–EU link (A21)
    unit_types=frozenset({"EUA"}),
    effective_from=datetime(2015, 7, 1, tzinfo=UTC),
    state=LinkState.ACTIVE,
    answer_timeout_minutes=60,
)


class World:
    """Three registries (EU, CH, AU) linked EU–CH (bilateral) and EU→AU (one way)."""

    def __init__(self, links: list[Link] | None = None, transport: Transport | None = None):
        self.engine = make_engine("sqlite://")
        self.clock = SimulatedClock(TUESDAY)
        self.keys = {code: SigningKey.generate() for code in ("EU", "CH", "AU", "GW")}
        self.links = links if links is not None else [EU_CH, EU_AU]
        members = []
        for code in ("EU", "CH", "AU"):
            registry = Registry.create(
                self.engine, code, code, self.keys[code], self.clock, [EUA, CHU, AUU]
            )
            registry.open_account(AccountKind.COMPLIANCE, "Operator", "operator")
            registry.open_account(AccountKind.TRADING, "Trader", "trader")
            members.append((registry, self.keys[code]))
        eu = members[0][0]
        eu.issue("EUA", 2024, 5_000_000)
        eu.allocate(
            eu.ledger.singleton(AccountKind.ISSUANCE).account_id, "operator", "EUA", 5_000_000
        )
        ch = members[1][0]
        ch.issue("CHU", 2024, 10_000)
        ch.allocate(ch.ledger.singleton(AccountKind.ISSUANCE).account_id, "operator", "CHU", 10_000)
        self.federation = Federation.create(
            self.engine, self.keys["GW"], members, self.links, self.clock
        )
        if transport is not None:
            self.federation.network.transport = transport

    @property
    def gateway(self):  # type: ignore[no-untyped-def]
        return self.federation.gateway

    def registry(self, code: str) -> Registry:
        return self.federation.registry(code)

    def send(self, order: TransferOrder, origin: str = "EU") -> TransactionStatus:
        return self.federation.transfer(origin, order)

    def digests(self) -> dict[str, str]:
        return {code: self.registry(code).ledger.state_digest() for code in ("EU", "CH", "AU")}

    def held(self, code: str, account: str, unit: str = "EUA") -> int:
        return self.registry(code).ledger.account(account).holding.balance(unit)

    def reopen(self) -> None:
        """Close nothing (a crash after the last commit) and reopen everything from the store."""
        self.federation.flush()
        members = [
            (Registry.open(self.engine, code, self.keys[code], clock=self.clock), self.keys[code])
            for code in ("EU", "CH", "AU")
        ]
        transport = self.federation.network.transport
        keep = transport if not isinstance(transport, DirectTransport) else None
        self.federation = Federation.open(
            self.engine, self.keys["GW"], members, self.links, self.clock
        )
        if keep is not None:
            assert isinstance(keep, FaultyTransport)
            keep.inner = self.federation.network.direct
            self.federation.network.transport = keep

    def forge(self, sender: str, transfers: list[Transfer], key: SigningKey | None = None) -> bytes:
        """Sign a proposal outside the endpoint (a misbehaving registry), in sequence."""
        proposal = TransferProposal(
            sender_id=sender,
            recipient_id="GW",
            sequence=self.gateway.tracker.expected(sender),
            transaction_id=transfers[0].transaction_id,
            transfers=tuple(transfers),
            proposed_at=format_time(self.clock.now()),
        )
        return SignedMessage.sign(proposal, key or self.keys[sender]).to_bytes()


def order(
    transaction_id: str, quantity: int, to: str = "CH", to_account: str = "operator", **fields
) -> TransferOrder:  # type: ignore[no-untyped-def]
    return TransferOrder(transaction_id, "operator", to, to_account, "EUA", quantity, **fields)


def test_a_transfer_completes_and_the_units_keep_their_identity() -> None:
    world = World()
    assert world.send(order("T1", 1_000)) is TransactionStatus.COMPLETED
    blocks = world.registry("CH").ledger.account("operator").holding.blocks("EUA")
    assert [(b.origin, b.unit_type, b.vintage, b.start, b.end) for b in blocks] == [
        ("EU", "EUA", 2024, 1, 1_000)
    ]
    assert world.held("EU", "operator") == 5_000_000 - 1_000
    assert world.federation.endpoints["EU"].status("T1") is TransactionStatus.COMPLETED
    assert world.federation.endpoints["CH"].status("T1") is TransactionStatus.COMPLETED
    world.federation.check_conservation()
    assert world.gateway.counters("eu-ch").flows_t == {2024: 1_000}


# --- message validity and signature -------------------------------------------------


def _refused_and_nothing_moved(world: World, data: bytes, code: int) -> None:
    before = world.digests()
    transfers_before = dict(world.gateway.transfers)
    receipt = world.gateway.receive(data)
    assert receipt.outcome is Outcome.REFUSED
    assert receipt.code == code, receipt
    world.federation.pump()
    assert world.digests() == before
    assert world.gateway.transfers == transfers_before


def _eu_transfer(transaction_id: str, start: int, end: int, to: str = "CH") -> Transfer:
    """A transfer of EUA 2024 serials start..end from the EU operator, built by hand."""
    block = UnitBlock("EU", "EUA", 2024, start, end)
    return Transfer(transaction_id, "EU", "operator", to, "operator", (block,))


def test_a_forged_signature_is_refused_9008() -> None:
    world = World()
    forged = world.forge("EU", [_eu_transfer("F1", 1, 10)], key=SigningKey.generate())
    _refused_and_nothing_moved(world, forged, LinkCode.SIGNATURE_INVALID)


def test_a_missing_signature_is_refused() -> None:
    world = World()
    data = world.forge("EU", [_eu_transfer("F1", 1, 10)])
    stripped = data.replace(
        data[data.index(b'"signature":"') + 13 : data.index(b'","signer_id"')], b""
    )
    _refused_and_nothing_moved(world, stripped, LinkCode.SIGNATURE_INVALID)


def test_a_sender_whose_key_is_not_trusted_is_refused_9008() -> None:
    world = World()
    stranger = SigningKey.generate()
    proposal = TransferProposal(
        sender_id="XX",
        recipient_id="GW",
        sequence=1,
        transaction_id="X1",
        transfers=(
            Transfer("X1", "XX", "a", "CH", "operator", (UnitBlock("XX", "XXU", 2024, 1, 5),)),
        ),
        proposed_at=format_time(TUESDAY),
    )
    data = SignedMessage.sign(proposal, stranger).to_bytes()
    _refused_and_nothing_moved(world, data, LinkCode.SIGNATURE_INVALID)


def test_blocks_tampered_after_signing_are_refused_9008() -> None:
    world = World()
    data = world.forge("EU", [_eu_transfer("F1", 1, 10)])
    tampered = data.replace(b'"end":10', b'"end":11')
    assert tampered != data
    _refused_and_nothing_moved(world, tampered, LinkCode.SIGNATURE_INVALID)


def test_another_major_protocol_version_is_refused_9009() -> None:
    world = World()
    proposal = TransferProposal(
        sender_id="EU",
        recipient_id="GW",
        sequence=1,
        transaction_id="V1",
        transfers=(_eu_transfer("V1", 1, 10),),
        proposed_at=format_time(TUESDAY),
        version=(2, 0),
    )
    data = SignedMessage.sign(proposal, world.keys["EU"]).to_bytes()
    _refused_and_nothing_moved(world, data, LinkCode.MESSAGE_VERSION_MISMATCH)


def test_an_out_of_order_sequence_is_refused_9011() -> None:
    world = World()
    proposal = TransferProposal(
        sender_id="EU",
        recipient_id="GW",
        sequence=world.gateway.tracker.expected("EU") + 1,
        transaction_id="S1",
        transfers=(_eu_transfer("S1", 1, 10),),
        proposed_at=format_time(TUESDAY),
    )
    data = SignedMessage.sign(proposal, world.keys["EU"]).to_bytes()
    _refused_and_nothing_moved(world, data, LinkCode.MESSAGE_OUT_OF_SEQUENCE)


def test_a_replayed_old_proposal_is_refused_9012_and_changes_nothing() -> None:
    world = World()
    endpoint = world.federation.endpoints["EU"]
    endpoint.propose([order("T1", 10)])
    endpoint.flush()
    first = endpoint.outbox.sendable("GW", endpoint.key)[0][1]
    world.federation.pump()
    world.send(order("T2", 10))
    _refused_and_nothing_moved(world, first, LinkCode.MESSAGE_REPLAYED)
    assert world.gateway.status("T1") is TransactionStatus.COMPLETED


def test_a_second_proposal_with_the_same_transaction_id_is_refused_10006() -> None:
    """UKTL check 10006 (reference b4, D6): as a message, and inside a new batch."""
    world = World()
    world.send(order("T1", 10))
    again = world.forge("EU", [_eu_transfer("T1", 500, 509)])
    _refused_and_nothing_moved(world, again, CheckCode.TRANSACTION_ID_EXISTS)
    not_held = Transfer(
        "B1", "EU", "operator", "CH", "operator", (UnitBlock("CH", "CHU", 2024, 1, 5),)
    )
    inside = world.forge("EU", [not_held, _eu_transfer("T1", 600, 609)])
    before = world.digests()
    assert world.gateway.receive(inside).outcome is Outcome.TAKEN
    world.federation.pump()
    assert world.gateway.status("T1") is TransactionStatus.COMPLETED
    assert world.gateway.transfers["T1"].transfer.blocks[0].start == 1  # the old one, untouched
    assert world.gateway.transfers["B1"].codes == (CheckCode.BLOCKS_NOT_HELD,)
    assert world.federation.endpoints["EU"].status("T1") is TransactionStatus.COMPLETED
    assert world.digests() == before


def test_an_origin_that_signs_for_units_it_did_not_lock_is_exposed_by_reconciliation() -> None:
    """The log trusts the origin's signature; a registry that signs a proposal without locking
    the units (a bug, or an insider) creates units abroad. Reconciling the origin shows it."""
    world = World()
    forged = world.forge("EU", [_eu_transfer("B1", 500, 509)])
    assert world.gateway.receive(forged).outcome is Outcome.TAKEN
    world.federation.pump()
    assert world.held("CH", "operator") == 10
    report = world.federation.reconcile("EU")
    [discrepancy] = report.discrepancies
    assert (discrepancy.side.value, discrepancy.missing) == ("away", ((500, 509),))
    assert world.federation.reconcile("CH").is_consistent


def test_a_full_log_refuses_new_transfers_9026_until_open_ones_end() -> None:
    """Limits everywhere: the gateway holds a bounded number of open transfers."""
    world = World()
    world.gateway.transfers_open_max = 1
    world.clock.set(WEDNESDAY)  # the first transfer waits for Thursday, and stays open
    assert world.send(order("T1", 10)) is TransactionStatus.PROPOSED
    assert world.send(order("T2", 10)) is TransactionStatus.REJECTED
    assert world.gateway.transfers.get("T2") is None  # not recorded: the log is full
    assert world.federation.endpoints["EU"].finished["T2"].codes == (LinkCode.GATEWAY_BUSY,)
    assert world.held("EU", "operator") == 5_000_000 - 10  # only T1's units are locked
    world.federation.advance(datetime(2024, 3, 7, 9, tzinfo=UTC))
    assert world.send(order("T3", 10)) is TransactionStatus.COMPLETED


# --- registry and link status -------------------------------------------------------


@pytest.mark.parametrize("state", [LinkState.PROPOSED, LinkState.SUSPENDED, LinkState.TERMINATED])
def test_a_link_that_is_not_active_refuses_9005_and_the_units_return(state: LinkState) -> None:
    world = World(links=[dataclasses.replace(EU_CH, state=state), EU_AU])
    before = world.digests()
    assert world.send(order("T1", 10)) is TransactionStatus.REJECTED
    record = world.gateway.transfers["T1"]
    assert record.codes == (LinkCode.LINK_NOT_ACTIVE,)
    assert world.digests() == before  # locked, then unlocked on the rejection
    assert world.held("EU", "operator") == 5_000_000
    assert world.registry("EU").ledger.locks() == []
    assert world.gateway.counters("eu-ch").rejected == 1


def test_the_wrong_direction_of_a_unilateral_link_is_refused_9002() -> None:
    world = World()
    world.send(order("T1", 10, to="AU"))
    assert (
        world.send(TransferOrder("T2", "operator", "EU", "operator", "EUA", 10), origin="AU")
        is TransactionStatus.REJECTED
    )
    assert world.gateway.transfers["T2"].codes == (LinkCode.DIRECTION_NOT_PERMITTED,)
    assert world.held("AU", "operator") == 10


def test_registries_with_no_link_between_them_are_refused_9018() -> None:
    world = World()
    status = world.send(TransferOrder("T1", "operator", "AU", "operator", "CHU", 5), origin="CH")
    assert status is TransactionStatus.REJECTED
    assert world.gateway.transfers["T1"].codes == (LinkCode.UNKNOWN_LINK,)
    assert world.held("CH", "operator", "CHU") == 10_000


# --- unit validity and eligibility --------------------------------------------------


def test_an_ineligible_unit_type_or_vintage_is_refused_9001() -> None:
    narrow = dataclasses.replace(EU_CH, vintage_first=2025)
    world = World(links=[narrow, EU_AU])
    assert world.send(order("T1", 10)) is TransactionStatus.REJECTED
    assert world.gateway.transfers["T1"].codes == (LinkCode.ORIGIN_NOT_ADMITTED,)
    assert world.send(order("T2", 10, to="AU")) is TransactionStatus.COMPLETED
    status = world.send(
        TransferOrder("T3", "operator", "AU", "operator", "CHU", 5), origin="CH"
    )  # CH–AU: no link at all
    assert world.gateway.transfers["T3"].codes == (LinkCode.UNKNOWN_LINK,)
    assert status is TransactionStatus.REJECTED


def test_quarantined_serials_cross_no_link_9101() -> None:
    """The EU registry thefts of January 2011 (reference D2): stolen serials are flagged."""
    world = World()
    world.gateway.quarantine_serials("EU", "EUA", 2024, 5, 5, "reported stolen")
    assert world.send(order("T1", 10)) is TransactionStatus.REJECTED
    assert world.gateway.transfers["T1"].codes == (CheckCode.UNITS_QUARANTINED,)
    assert world.held("EU", "operator") == 5_000_000
    world.gateway.lift_quarantine("EU", "EUA", 2024, 5, 5)
    assert world.send(order("T2", 10)) is TransactionStatus.COMPLETED


# --- limits ----------------------------------------------------------------------


def test_the_eu_per_transfer_limit_of_2_000_000_refuses_one_unit_more_9010() -> None:
    """EU Union Registry: 2,000,000 allowances per transfer to a non-trusted account since
    September 2023 (reference A14, D24)."""
    world = World()
    assert world.send(order("T1", 2_000_001)) is TransactionStatus.REJECTED
    assert world.gateway.transfers["T1"].codes == (LinkCode.TRANSFER_LIMIT_EXCEEDED,)
    assert world.held("EU", "operator") == 5_000_000
    assert world.send(order("T2", 2_000_000)) is TransactionStatus.COMPLETED


def test_a_period_cap_exceeded_by_one_unit_is_refused_9010_and_counts_in_flight_units() -> None:
    capped = dataclasses.replace(EU_CH, period_cap_t=100)
    world = World(links=[capped, EU_AU])
    world.federation.propose("EU", [order("T1", 60)])
    world.federation.propose("EU", [order("T2", 41)])
    world.federation.pump()
    assert world.gateway.status("T1") is TransactionStatus.COMPLETED
    assert world.gateway.transfers["T2"].codes == (LinkCode.TRANSFER_LIMIT_EXCEEDED,)
    assert world.send(order("T3", 40)) is TransactionStatus.COMPLETED
    assert world.gateway.counters("eu-ch").flows_t == {2024: 100}


# --- holdings and double spend -------------------------------------------------------


def test_blocks_the_origin_does_not_hold_are_refused_10005() -> None:
    """CH proposes EUA serials the log never saw arrive in CH (reference D8)."""
    world = World()
    forged = Transfer(
        "F1", "CH", "operator", "EU", "operator", (UnitBlock("EU", "EUA", 2024, 1, 10),)
    )
    data = world.forge("CH", [forged])
    assert world.gateway.receive(data).outcome is Outcome.TAKEN
    world.federation.pump()
    assert world.gateway.transfers["F1"].codes == (CheckCode.BLOCKS_NOT_HELD,)
    assert world.held("EU", "operator") == 5_000_000


def test_the_same_blocks_in_two_concurrent_proposals_are_refused_9016() -> None:
    """A double spend: the second proposal names serials already in flight."""
    world = World()
    world.federation.propose("EU", [order("T1", 10)])
    world.federation.network.step()  # proposal taken, forward staged
    assert world.gateway.status("T1") is TransactionStatus.CHECKED_NO_DISCREPANCY
    again = world.forge("EU", [_eu_transfer("T2", 1, 10)])
    assert world.gateway.receive(again).outcome is Outcome.TAKEN
    world.federation.pump()
    assert world.gateway.transfers["T2"].codes == (LinkCode.UNITS_IN_FLIGHT,)
    assert world.gateway.status("T1") is TransactionStatus.COMPLETED
    world.federation.check_conservation()


def test_a_transfer_naming_a_serial_twice_is_refused_10005() -> None:
    world = World()
    blocks = (UnitBlock("EU", "EUA", 2024, 1, 10), UnitBlock("EU", "EUA", 2024, 5, 15))
    data = world.forge("EU", [Transfer("B1", "EU", "operator", "CH", "operator", blocks)])
    before = world.digests()
    assert world.gateway.receive(data).outcome is Outcome.TAKEN
    world.federation.pump()
    assert world.gateway.transfers["B1"].codes == (CheckCode.BLOCKS_NOT_HELD,)
    assert world.digests() == before
    assert world.gateway.in_flight.get(("EU", "EUA", 2024)) in (None, RangeSet())


# --- destination account ----------------------------------------------------------


def test_an_unknown_destination_account_is_rejected_by_the_destination_2002() -> None:
    world = World()
    assert world.send(order("T1", 10, to_account="nobody")) is TransactionStatus.REJECTED
    record = world.gateway.transfers["T1"]
    assert record.codes == (CheckCode.ACQUIRING_ACCOUNT_DOES_NOT_EXIST,)
    assert record.messages[0].startswith("CH refused:")
    assert world.held("EU", "operator") == 5_000_000
    assert world.registry("EU").ledger.locks() == []
    assert world.federation.endpoints["EU"].status("T1") is TransactionStatus.REJECTED


def test_a_closed_destination_account_is_rejected_2003() -> None:
    world = World()
    trader = world.registry("CH").ledger.account("trader").account_id
    world.registry("CH").close_account(trader)
    assert world.send(order("T1", 10, to_account="trader")) is TransactionStatus.REJECTED
    assert world.gateway.transfers["T1"].codes == (CheckCode.ACQUIRING_ACCOUNT_CLOSED,)
    assert world.held("EU", "operator") == 5_000_000


def test_an_account_kind_the_link_does_not_import_into_is_rejected_2006() -> None:
    compliance_only = dataclasses.replace(
        EU_CH, importing_account_kinds=frozenset({AccountKind.COMPLIANCE})
    )
    world = World(links=[compliance_only, EU_AU])
    assert world.send(order("T1", 10, to_account="trader")) is TransactionStatus.REJECTED
    assert world.gateway.transfers["T1"].codes == (
        CheckCode.ACQUIRING_ACCOUNT_TYPE_MAY_NOT_HOLD_UNITS,
    )
    assert world.send(order("T2", 10)) is TransactionStatus.COMPLETED


# --- time: windows and time-outs ------------------------------------------------------


def test_a_proposal_outside_the_window_waits_for_the_next_opening_9004() -> None:
    """EU–CH: cross-border transfers only on Tuesdays and Thursdays since 2023 (A20, D20)."""
    world = World()
    world.clock.set(WEDNESDAY)
    assert world.send(order("T1", 10)) is TransactionStatus.PROPOSED
    record = world.gateway.transfers["T1"]
    assert record.waiting_until == datetime(2024, 3, 6, 23, tzinfo=UTC)  # Thu 00:00 Brussels
    assert world.registry("EU").ledger.lock_record("T1") is not None
    world.federation.advance(datetime(2024, 3, 7, 9, tzinfo=UTC))
    assert world.gateway.status("T1") is TransactionStatus.COMPLETED
    assert world.held("CH", "operator") == 10


def test_a_window_that_opened_and_closed_during_a_jump_in_time_still_carried_the_transfer() -> None:
    """Proposed on Wednesday; time jumps to Saturday. The log acts at Thursday's opening,
    as one that wakes at each moment would, and the network delivers then."""
    world = World()
    world.clock.set(WEDNESDAY)
    assert world.send(order("T1", 10)) is TransactionStatus.PROPOSED
    saturday = datetime(2024, 3, 9, 12, tzinfo=UTC)
    world.federation.advance(saturday)
    record = world.gateway.transfers["T1"]
    assert record.status is TransactionStatus.COMPLETED
    assert record.period == 2024
    assert world.held("CH", "operator") == 10
    assert world.clock.now() == saturday


def test_a_destination_that_never_answers_is_terminated_9015_and_the_origin_unlocks() -> None:
    world = World()
    world.federation.network.transport = _Partition(world.federation.network.direct, {"AU"})
    world.federation.propose("EU", [order("T1", 10, to="AU")])
    with pytest.raises(GatewayError):
        world.federation.network.pump(rounds_max=5)
    world.federation.gateway.advance(TUESDAY + timedelta(minutes=61))
    world.federation.network.transport = world.federation.network.direct
    world.federation.pump()
    assert world.gateway.status("T1") is TransactionStatus.TERMINATED
    assert world.gateway.transfers["T1"].codes == (LinkCode.TRANSFER_TIMED_OUT,)
    assert world.held("EU", "operator") == 5_000_000
    assert world.held("AU", "operator") == 0
    assert world.federation.endpoints["AU"].status("T1") is TransactionStatus.TERMINATED
    world.federation.check_conservation()


class _Partition(Transport):
    """Loses every message to the partitioned registries: they never answer."""

    def __init__(self, inner: Transport, cut: set[str]) -> None:
        self.inner = inner
        self.cut = cut

    def deliver(self, sender_id: str, recipient_id: str, data: bytes) -> Receipt | None:
        if recipient_id in self.cut:
            return None
        return self.inner.deliver(sender_id, recipient_id, data)


# --- suspension and de-linking ----------------------------------------------------------


def test_suspending_a_link_terminates_transfers_in_flight_and_units_return() -> None:
    world = World()
    world.federation.propose("EU", [order("T1", 10)])
    world.federation.network.step()  # forwarded, not yet answered
    ended = world.gateway.set_link_state("eu-ch", LinkState.SUSPENDED, "registry incident")
    assert ended == ["T1"]
    world.federation.pump()
    assert world.gateway.status("T1") is TransactionStatus.TERMINATED
    assert world.gateway.transfers["T1"].codes == (LinkCode.LINK_NOT_ACTIVE,)
    assert world.held("EU", "operator") == 5_000_000
    assert world.held("CH", "operator") == 0
    assert world.send(order("T2", 10)) is TransactionStatus.REJECTED
    world.gateway.set_link_state("eu-ch", LinkState.ACTIVE, "incident closed")
    assert world.send(order("T3", 10)) is TransactionStatus.COMPLETED
    world.federation.check_conservation()


@pytest.mark.parametrize("freeze", [False, True])
def test_terminating_a_link_leaves_crossed_units_in_place_freezing_them_if_asked(
    freeze: bool,
) -> None:
    """Ontario left the WCI in July 2018 (reference D21); what happens to the units that
    crossed is a configuration: frozen, or still eligible on other links."""
    world = World()
    world.send(order("T1", 100))
    world.gateway.set_link_state("eu-ch", LinkState.TERMINATED, "de-linking", freeze_units=freeze)
    assert world.held("CH", "operator") == 100  # units already transferred stay where they are
    frozen = {key: ranges.ranges() for key, ranges in world.gateway.frozen.items()}
    assert frozen == ({("EU", "EUA", 2024): [(1, 100)]} if freeze else {})
    with pytest.raises(GatewayError) as refused:
        world.gateway.set_link_state("eu-ch", LinkState.ACTIVE, "change of heart")
    assert refused.value.code == LinkCode.LINK_NOT_ACTIVE


# --- restart and faults -------------------------------------------------------------


def test_a_restart_mid_transfer_finishes_it_exactly_once() -> None:
    world = World()
    world.federation.propose("EU", [order("T1", 10), order("T2", 20)])
    world.federation.network.step()
    assert world.gateway.status("T1") is TransactionStatus.CHECKED_NO_DISCREPANCY
    world.reopen()
    assert world.gateway.status("T1") is TransactionStatus.CHECKED_NO_DISCREPANCY
    world.federation.pump()
    assert world.gateway.status("T1") is TransactionStatus.COMPLETED
    assert world.held("CH", "operator") == 30
    world.reopen()
    world.federation.pump()
    assert world.held("CH", "operator") == 30
    world.federation.check_conservation()


def test_duplicated_dropped_and_delayed_messages_complete_every_transfer_exactly_once() -> None:
    faults = Faults(drop=Fraction(1, 4), duplicate=Fraction(1, 3), delay=Fraction(1, 5))
    world = World()
    faulty = FaultyTransport(world.federation.network.direct, faults, seed=7)
    world.federation.network.transport = faulty
    for index in range(20):
        world.federation.propose("EU", [order(f"T{index}", 10 + index)])
    world.federation.pump()
    faulty.flush_held()
    world.federation.pump()
    assert all(faulty.counts[name] > 0 for name in ("dropped", "duplicated", "delayed"))
    assert {world.gateway.status(f"T{i}") for i in range(20)} == {TransactionStatus.COMPLETED}
    assert world.held("CH", "operator") == sum(10 + i for i in range(20))
    world.federation.check_conservation()


def test_the_gateway_replays_to_the_same_state() -> None:
    world = World()
    world.send(order("T1", 10))
    world.clock.set(WEDNESDAY)
    world.send(order("T2", 10))  # waits for Thursday
    before = {tid: (r.status, r.waiting_until) for tid, r in world.gateway.transfers.items()}
    in_flight = {key: ranges.ranges() for key, ranges in world.gateway.in_flight.items()}
    world.reopen()
    after = {tid: (r.status, r.waiting_until) for tid, r in world.gateway.transfers.items()}
    assert after == before
    assert {k: r.ranges() for k, r in world.gateway.in_flight.items()} == in_flight


# --- reconciliation -------------------------------------------------------------------


def test_reconciliation_finds_a_registry_that_minted_foreign_units_outside_the_log() -> None:
    """Break CH's store on purpose: its operator journals an import the log never completed
    (reference D16, a double-applied block). The journal stays validly signed; only
    reconciliation can tell."""
    world = World()
    world.send(order("T1", 100))
    assert world.federation.reconcile("CH").is_consistent
    ch = world.registry("CH")
    ch.import_blocks("FAKE", "EU", "trader", [UnitBlock("EU", "EUA", 2024, 4_999_001, 4_999_100)])
    world.reopen()
    report = world.federation.reconcile("CH")
    assert report.status is ReconciliationStatus.TOTALS_INCONSISTENT
    [discrepancy] = report.discrepancies
    assert discrepancy.code == LinkCode.RECONCILIATION_TOTALS_INCONSISTENT
    assert discrepancy.extra == ((4_999_001, 4_999_100),)
    # No transfer may start while the reconciliation is unresolved (3016).
    before = world.held("CH", "operator")
    status = world.send(TransferOrder("T2", "operator", "EU", "operator", "EUA", 5), origin="CH")
    assert status is TransactionStatus.REJECTED
    assert world.gateway.transfers["T2"].codes == (CheckCode.TRANSACTION_DURING_RECONCILIATION,)
    assert world.held("CH", "operator") == before
    world.gateway.resolve_reconciliation("CH", "forged import cancelled by the CH administrator")
    assert world.send(order("T3", 5)) is TransactionStatus.COMPLETED


def test_reconciliation_finds_units_a_registry_sent_abroad_without_the_log() -> None:
    world = World()
    eu = world.registry("EU")
    from registry.events import LockPurpose

    eu.lock("SIDE", "operator", "EUA", 50, LockPurpose.EXTERNAL_TRANSFER)
    eu.export_locked("SIDE", "SIDE", "CH")
    report = world.federation.reconcile("EU")
    assert report.status is ReconciliationStatus.TOTALS_INCONSISTENT
    assert [d.side.value for d in report.discrepancies] == ["away"]


def test_reconciliation_runs_at_each_midnight_time_passes_and_finds_a_broken_store() -> None:
    """Scheduled reconciliation, daily as the Kyoto logs did (reference A10)."""
    world = World()
    world.send(order("T1", 100))
    runs = world.federation.advance(datetime(2024, 3, 7, 12, tzinfo=UTC))
    assert [(format_time(run.at), run.registry) for run in runs] == [
        (f"2024-03-0{day}T00:00:00Z", code) for day in (6, 7) for code in ("AU", "CH", "EU")
    ]
    assert all(run.is_consistent for run in runs)
    world.registry("CH").import_blocks(
        "FAKE", "EU", "trader", [UnitBlock("EU", "EUA", 2024, 4_999_001, 4_999_100)]
    )
    [_, ch, _] = world.federation.advance(datetime(2024, 3, 8, 1, tzinfo=UTC))
    assert ch.registry == "CH" and not ch.is_consistent
    assert world.send(order("T2", 5)) is TransactionStatus.REJECTED  # 3016 until resolved


def test_a_scheduled_reconciliation_with_transfers_open_is_denied_not_failed() -> None:
    world = World()
    world.clock.set(WEDNESDAY)
    world.send(order("T1", 10))  # waits for Thursday 00:00 Brussels = Wednesday 23:00 UTC
    world.federation.network.transport = _Partition(world.federation.network.direct, {"CH"})
    runs = world.federation.advance(datetime(2024, 3, 7, 0, 30, tzinfo=UTC))
    denied = {run.registry for run in runs if isinstance(run.outcome, GatewayError)}
    assert denied == {"EU", "CH"}  # T1 forwarded at 23:00, unanswered at midnight
    assert [run.registry for run in runs if run.is_consistent] == ["AU"]


def test_reconciliation_waits_while_transfers_are_open_9022() -> None:
    world = World()
    world.clock.set(WEDNESDAY)
    world.send(order("T1", 10))
    with pytest.raises(GatewayError) as refused:
        world.federation.reconcile("EU")
    assert refused.value.code == LinkCode.RECONCILIATION_NOT_QUIESCENT


# --- Article 6.2 --------------------------------------------------------------------


def test_article6_transfers_need_authorisation_and_record_balanced_adjustments() -> None:
    """Paris Article 6.2 (DOMAIN.md): authorisation before the first transfer (9006); the
    first transfer triggers the transferring party's corresponding adjustment and the
    acquiring party's; the per-party report balances."""
    itmo_link = dataclasses.replace(EU_CH, link_id="eu-ch-a6", article6=True, windows=())
    world = World(links=[itmo_link, EU_AU])
    for party in ("EU", "CH"):
        world.gateway.register_article6_party(party, 2021, 2030, "annual")
    assert world.send(order("T1", 100)) is TransactionStatus.REJECTED
    assert world.gateway.transfers["T1"].codes == (LinkCode.ARTICLE6_NOT_AUTHORISED,)
    world.gateway.authorise_article6("EU-A1", "EU", "EUA", 2024, 1, 1_000, ["ndc"])
    assert world.send(order("T2", 100)) is TransactionStatus.COMPLETED
    report = world.gateway.article6_report()
    assert report.balances()
    rows = {(row.party, row.year): row for row in report.rows}
    assert rows[("EU", 2024)].first_transferred_t == 100
    assert rows[("EU", 2024)].adjustment_t == 100
    assert rows[("CH", 2024)].adjustment_t == -100
