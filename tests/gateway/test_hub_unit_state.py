"""The hub refuses, inside the protocol, what reconciliation used to find only afterwards.

Each test plays an attack from the catalogue (shared/reference/registry-and-linking.md
§d, shared/DOMAIN.md "Incidents to defend against"): it would succeed if the log took
the origin's signature as proof that units exist and are free to move, or checked a
transfer only when it is proposed. Each checks the code the log answers and that
nothing moved: holdings, locks, the gateway's record, conservation.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from gateway.endpoint import TransferOrder
from gateway.errors import GatewayError, LinkCode
from gateway.links import SuspensionRule
from gateway.messages import (
    Change,
    Notice,
    SignedMessage,
    TransactionStatus,
    Transfer,
    TransferProposal,
    UnitChange,
)
from registry.accounts import AccountKind
from registry.clock import format_time
from registry.errors import CheckCode
from registry.units import UnitBlock
from tests.gateway.federation_builders import (
    OPERATOR,
    SIGNING_KEYS,
    TRADER,
    World,
    build_world,
)

FORWARDED = TransactionStatus.CHECKED_NO_DISCREPANCY
WEDNESDAY = timedelta(days=1)  # START is a Tuesday: EU–CH transfers wait for Thursday


def _balance(world: World, code: str, account: str, unit_type: str) -> int:
    return world.registry(code).account(account).holding.balance(unit_type)


def _pump_partly(world: World) -> None:
    with pytest.raises(GatewayError) as unsettled:
        world.federation.network.pump(rounds_max=5)
    assert unsettled.value.code == LinkCode.MESSAGES_UNDELIVERED


def _account_id(world: World, code: str, label: str) -> str:
    return world.registry(code).account(label).account_id


def _inject(world: World, message: TransferProposal | Notice) -> None:
    """Deliver a message signed with its sender's own key, as a thief holding the key would."""
    data = SignedMessage.sign(message, SIGNING_KEYS[message.sender_id]).to_bytes()
    receipt = world.federation.gateway.receive(data)
    assert receipt.code == 0, receipt.message
    world.federation.gateway.flush()


def _forged_proposal(
    world: World,
    origin: str,
    transfer_id: str,
    from_account: str,
    blocks: tuple[UnitBlock, ...],
    to: str = "CH",
    proposed_at: str | None = None,
) -> TransferProposal:
    endpoint = world.federation.endpoints[origin]
    endpoint.flush()
    world.federation.pump()  # the honest endpoint's notices have reached the log
    sequence = world.federation.gateway.tracker.expected(origin)
    transfer = Transfer(
        transfer_id, origin, from_account, to, _account_id(world, to, TRADER), blocks
    )
    return TransferProposal(
        sender_id=origin,
        recipient_id="GW",
        sequence=sequence,
        transaction_id=transfer_id,
        transfers=(transfer,),
        proposed_at=proposed_at or format_time(world.clock.now()),
    )


def _harmless_notice(world: World, origin: str) -> Notice:
    """A message that changes nothing but takes the origin's next sequence number."""
    world.federation.endpoints[origin].flush()
    world.federation.pump()
    return Notice(
        sender_id=origin,
        recipient_id="GW",
        sequence=world.federation.gateway.tracker.expected(origin),
        transaction_id="INJECTED-1",
        changes=(UnitChange(Change.RESUMED, (), "not from the registry"),),
    )


def _surrendered_blocks(world: World, code: str, unit: str, quantity: int) -> tuple[UnitBlock, ...]:
    moved = world.registry(code).surrender(OPERATOR, unit, quantity, period=2023, vintage=2023)
    return moved.blocks


def _thursday(world: World) -> None:
    world.federation.advance(world.clock.now() + 2 * WEDNESDAY)


# ---------------------------------------------------------------- terminal units (D5)


def test_hungary_2010_a_proposal_for_surrendered_serials_is_refused_9027() -> None:
    """Reference D5: Hungary resold CERs already surrendered for compliance (March 2010).

    The registry's key signs a proposal for serials it has surrendered; before the
    hub knew unit state, the destination was credited.
    """
    world = build_world()
    blocks = _surrendered_blocks(world, "EU", "EUA", 300)
    surrender_account = world.registry("EU").ledger.singleton(AccountKind.SURRENDER).account_id
    proposal = _forged_proposal(world, "EU", "RECYCLED-1", surrender_account, blocks)
    ch_before = _balance(world, "CH", TRADER, "EUA")

    _inject(world, proposal)
    _thursday(world)
    world.federation.pump()

    record = world.federation.gateway.transfers["RECYCLED-1"]
    assert record.status is TransactionStatus.REJECTED
    assert record.codes == (LinkCode.UNITS_TERMINAL,)
    assert _balance(world, "CH", TRADER, "EUA") == ch_before
    assert world.federation.gateway.in_flight.get(blocks[0].serial_key) in (None,) or not (
        world.federation.gateway.in_flight[blocks[0].serial_key].overlaps(
            blocks[0].start, blocks[0].end
        )
    )
    world.federation.check_conservation()


def test_a_registry_re_exporting_foreign_units_it_surrendered_is_refused_9027() -> None:
    """Reference D5: surrendered units are terminal wherever they came from."""
    world = build_world()
    federation = world.federation
    _thursday(world)
    assert (
        federation.transfer("EU", TransferOrder("IN-1", OPERATOR, "CH", OPERATOR, "EUA", 200))
        is TransactionStatus.COMPLETED
    )
    held = world.registry("CH").account(OPERATOR).holding
    (crossed,) = [block for block in held.blocks() if block.unit_type == "EUA"]
    world.registry("CH").surrender_blocks(OPERATOR, [crossed], period=2023)
    surrender_account = world.registry("CH").ledger.singleton(AccountKind.SURRENDER).account_id
    proposal = _forged_proposal(world, "CH", "RE-EXPORT-1", surrender_account, (crossed,), to="AU")
    au_before = _balance(world, "AU", TRADER, "EUA")

    _inject(world, proposal)
    federation.pump()

    record = federation.gateway.transfers["RE-EXPORT-1"]
    assert record.codes == (LinkCode.UNITS_TERMINAL,)
    assert _balance(world, "AU", TRADER, "EUA") == au_before
    federation.check_conservation()


def test_a_notice_naming_serials_the_log_records_elsewhere_is_ignored_with_an_alert() -> None:
    """A registry cannot make another registry's units terminal by saying so."""
    world = build_world()
    federation = world.federation
    _thursday(world)
    federation.transfer("EU", TransferOrder("IN-1", OPERATOR, "CH", OPERATOR, "EUA", 200))
    (crossed,) = [
        block
        for block in world.registry("CH").account(OPERATOR).holding.blocks()
        if block.unit_type == "EUA"
    ]
    notice = Notice(
        sender_id="AU",
        recipient_id="GW",
        sequence=federation.gateway.tracker.expected("AU"),
        transaction_id="false-notice",
        changes=(
            UnitChange(
                Change.SURRENDERED,
                ((crossed.origin, crossed.unit_type, crossed.vintage, crossed.start, crossed.end),),
            ),
        ),
    )
    _inject(world, notice)
    assert not federation.gateway.unit_states.terminal.get(crossed.serial_key)
    assert federation.gateway.alerts[-1].code == CheckCode.BLOCKS_NOT_HELD
    assert federation.gateway.alerts[-1].sender_id == "AU"


# ---------------------------------------------------------------- suspension (D2, EU 2011)


def test_eu_january_2011_a_transfer_waiting_for_its_window_ends_when_the_origin_is_suspended() -> (
    None
):
    """DOMAIN.md: all EU registries suspended 19 Jan 2011; nothing may leave a suspended registry.

    The transfer was proposed before the suspension and queued for the next EU–CH
    window (Tuesdays and Thursdays, reference A20); before, it completed on Thursday.
    """
    world = build_world()
    federation = world.federation
    federation.advance(world.clock.now() + WEDNESDAY)  # Wednesday: the transfer waits
    eu_before = _balance(world, "EU", OPERATOR, "EUA")
    ch_before = _balance(world, "CH", OPERATOR, "EUA")
    federation.propose("EU", [TransferOrder("T1", OPERATOR, "CH", OPERATOR, "EUA", 400)])
    federation.pump()
    assert federation.gateway.transfers["T1"].waiting_until is not None

    world.registry("EU").suspend("registry thefts (EU, 19 January 2011)")
    federation.pump()
    _thursday(world)

    record = federation.gateway.transfers["T1"]
    assert record.status is TransactionStatus.TERMINATED
    assert record.codes == (LinkCode.REGISTRY_SUSPENDED,)
    assert federation.endpoints["EU"].status("T1") is TransactionStatus.TERMINATED
    assert _balance(world, "EU", OPERATOR, "EUA") == eu_before
    assert _balance(world, "CH", OPERATOR, "EUA") == ch_before
    federation.check_conservation()


def test_a_forwarded_transfer_is_terminated_when_its_origin_is_suspended_before_the_answer() -> (
    None
):
    """The log re-checks at completion: the destination's acceptance comes after the suspension."""
    world = build_world()
    federation = world.federation
    world.partition.cut_off.add("CH")
    federation.propose("EU", [TransferOrder("T1", OPERATOR, "CH", OPERATOR, "EUA", 400)])
    _pump_partly(world)
    assert federation.gateway.status("T1") is FORWARDED
    # The EU's suspension reaches the log; CH still has the forward to answer.
    world.registry("EU").suspend("registry thefts")
    world.partition.cut_off.clear()
    world.partition.cut_off.add("CH")
    _pump_partly(world)
    world.partition.cut_off.clear()
    federation.pump()

    assert federation.gateway.transfers["T1"].codes == (LinkCode.REGISTRY_SUSPENDED,)
    assert _balance(world, "CH", OPERATOR, "EUA") == 0
    federation.check_conservation()


def test_a_proposal_from_a_suspended_registry_is_refused_9028() -> None:
    world = build_world()
    federation = world.federation
    world.registry("EU").suspend("security attestation pending")
    federation.pump()
    blocks = tuple(block for block in world.registry("EU").account(TRADER).holding.blocks())[:1]
    proposal = _forged_proposal(
        world, "EU", "WHILE-SUSPENDED", _account_id(world, "EU", TRADER), blocks
    )
    _inject(world, proposal)
    federation.pump()
    assert federation.gateway.transfers["WHILE-SUSPENDED"].codes == (LinkCode.REGISTRY_SUSPENDED,)


def test_a_link_that_holds_through_a_suspension_completes_the_transfer_on_resumption() -> None:
    """`on_suspension = "hold"`: the transfer neither completes nor ends while suspended."""
    world = build_world()
    federation = world.federation
    link = federation.gateway.links["eu-ch"]
    federation.gateway.links["eu-ch"] = dataclasses.replace(link, on_suspension=SuspensionRule.HOLD)
    federation.gateway._carriers.clear()
    world.partition.cut_off.add("CH")
    federation.propose("EU", [TransferOrder("T1", OPERATOR, "CH", OPERATOR, "EUA", 400)])
    _pump_partly(world)
    world.registry("EU").suspend("registry thefts")
    federation.endpoints["EU"].flush()
    world.partition.cut_off.clear()
    federation.pump()
    record = federation.gateway.transfers["T1"]
    assert record.held and record.status is FORWARDED
    assert _balance(world, "CH", OPERATOR, "EUA") == 0

    world.registry("EU").resume("security attestation done")
    federation.pump()
    assert federation.gateway.status("T1") is TransactionStatus.COMPLETED
    assert _balance(world, "CH", OPERATOR, "EUA") == 400
    federation.check_conservation()


# ---------------------------------------------------------------- quarantine (D2)


def test_serials_quarantined_at_the_log_after_their_transfer_was_forwarded_do_not_complete() -> (
    None
):
    """Reference D2: a quarantined serial is refused everywhere, also while in flight."""
    world = build_world()
    federation = world.federation
    world.partition.cut_off.add("CH")
    federation.propose("EU", [TransferOrder("T1", OPERATOR, "CH", OPERATOR, "EUA", 400)])
    _pump_partly(world)
    block = federation.gateway.transfers["T1"].transfer.blocks[0]
    eu_before_lock = _balance(world, "EU", OPERATOR, "EUA") + 400

    federation.gateway.quarantine_serials(
        block.origin, block.unit_type, block.vintage, block.start, block.start, "stolen"
    )
    world.partition.cut_off.clear()
    federation.pump()

    record = federation.gateway.transfers["T1"]
    assert record.status is TransactionStatus.TERMINATED
    assert record.codes == (CheckCode.UNITS_QUARANTINED,)
    assert _balance(world, "CH", OPERATOR, "EUA") == 0
    assert _balance(world, "EU", OPERATOR, "EUA") == eu_before_lock
    federation.check_conservation()


# ---------------------------------------------------------------- staleness (D7)


def test_a_proposal_with_a_proposed_at_a_year_old_is_refused_9029() -> None:
    """Reference A19/D7: the UKTL refuses a transaction older than N hours."""
    world = build_world()
    blocks = tuple(world.registry("EU").account(TRADER).holding.blocks())[:1]
    year_ago = format_time(world.clock.now() - timedelta(days=365))
    proposal = _forged_proposal(
        world, "EU", "OLD-1", _account_id(world, "EU", TRADER), blocks, proposed_at=year_ago
    )
    _inject(world, proposal)
    record = world.federation.gateway.transfers["OLD-1"]
    assert record.status is TransactionStatus.REJECTED
    assert record.codes == (LinkCode.PROPOSAL_STALE,)


def test_a_proposal_delivered_sixty_days_late_is_refused_and_the_origin_unlocks() -> None:
    world = build_world()
    federation = world.federation
    eu_before = _balance(world, "EU", OPERATOR, "EUA")
    world.partition.cut_off.add("EU")
    federation.propose("EU", [TransferOrder("LATE-1", OPERATOR, "CH", OPERATOR, "EUA", 100)])
    federation.advance(world.clock.now() + timedelta(days=60))
    world.partition.cut_off.clear()
    federation.pump()

    record = federation.gateway.transfers["LATE-1"]
    assert record.codes == (LinkCode.PROPOSAL_STALE,)
    assert federation.endpoints["EU"].status("LATE-1") is TransactionStatus.REJECTED
    assert _balance(world, "EU", OPERATOR, "EUA") == eu_before
    assert world.registry("EU").ledger.lock_record("LATE-1") is None


# ---------------------------------------------------------------- liveness


def test_a_sequence_taken_by_an_injected_message_is_reported_and_the_honest_one_completes() -> None:
    """A message injected on the EU's channel, signed with its key, takes the next sequence.

    Before: the EU's honest proposal was answered 9012, treated as delivered and
    dropped, and its units stayed locked with the transfer PROPOSED for ever.
    """
    world = build_world()
    federation = world.federation
    _thursday(world)
    injected = _harmless_notice(world, "EU")
    federation.propose("EU", [TransferOrder("HONEST-1", OPERATOR, "CH", OPERATOR, "EUA", 100)])
    _inject(world, injected)  # takes the sequence the honest proposal carries

    federation.pump()

    assert federation.gateway.status("HONEST-1") is TransactionStatus.COMPLETED
    assert federation.endpoints["EU"].status("HONEST-1") is TransactionStatus.COMPLETED
    (alert,) = [a for a in federation.gateway.alerts if a.code == LinkCode.SEQUENCE_TAKEN]
    assert alert.sender_id == "EU"
    assert federation.network.stuck == []
    federation.check_conservation()


def test_the_alert_and_the_resequencing_survive_a_restart() -> None:
    world = build_world()
    federation = world.federation
    _thursday(world)
    injected = _harmless_notice(world, "EU")
    federation.propose("EU", [TransferOrder("HONEST-1", OPERATOR, "CH", OPERATOR, "EUA", 100)])
    _inject(world, injected)
    federation.pump()
    world.restart(flush=True)
    assert [a.code for a in world.federation.gateway.alerts] == [LinkCode.SEQUENCE_TAKEN]
    assert world.federation.gateway.status("HONEST-1") is TransactionStatus.COMPLETED


def test_an_origin_cut_off_past_its_time_out_withdraws_the_transfer_and_unlocks_on_the_answer() -> (
    None
):
    """Every proposal has a time-out at the origin as well as at the hub (7 days by default).

    The EU is cut off from the log: past the time-out its endpoint lists the transfer as
    stuck and withdraws it; the units stay locked until the log answers (it might have
    completed it), and unlock on that answer.
    """
    world = build_world()
    federation = world.federation
    eu_before = _balance(world, "EU", OPERATOR, "EUA")
    endpoint = federation.endpoints["EU"]
    world.partition.cut_off.add("EU")
    federation.propose("EU", [TransferOrder("LOST-1", OPERATOR, "CH", OPERATOR, "EUA", 100)])
    timeout = endpoint.origin_timeout(endpoint.outgoing["LOST-1"])

    federation.advance(world.clock.now() + timeout + timedelta(hours=1))

    ((transfer, _, withdrawn_at),) = endpoint.stuck()
    assert transfer.transaction_id == "LOST-1" and withdrawn_at is not None
    assert _balance(world, "EU", OPERATOR, "EUA") == eu_before - 100  # still locked

    world.partition.cut_off.clear()
    federation.pump()

    assert endpoint.status("LOST-1") is TransactionStatus.REJECTED
    assert endpoint.finished["LOST-1"].codes == (LinkCode.PROPOSAL_STALE,)
    assert _balance(world, "EU", OPERATOR, "EUA") == eu_before
    assert endpoint.stuck() == []
    federation.check_conservation()


def test_a_withdrawal_that_reaches_the_log_first_refuses_the_proposal_for_good() -> None:
    world = build_world()
    federation = world.federation
    endpoint = federation.endpoints["EU"]
    federation.gateway._take_withdrawal(
        __import__("gateway.messages", fromlist=["Withdrawal"]).Withdrawal(
            sender_id="EU",
            recipient_id="GW",
            sequence=1,
            transaction_id="EARLY-1",
            withdrawn=("EARLY-1",),
        )
    )
    federation.pump()
    federation.propose("EU", [TransferOrder("EARLY-1", OPERATOR, "CH", OPERATOR, "EUA", 100)])
    federation.pump()
    assert "EARLY-1" not in federation.gateway.transfers
    assert endpoint.status("EARLY-1") is TransactionStatus.REJECTED
    assert endpoint.finished["EARLY-1"].codes == (LinkCode.TRANSFER_WITHDRAWN,)


def test_a_completion_of_a_transfer_the_registry_never_proposed_raises_an_alert_there() -> None:
    """A stolen key signs a proposal of units the origin holds: the log cannot tell it from
    the registry's own, but the registry can when the completion names a transfer it never
    proposed — the alert an operator needs to suspend it (reference D2)."""
    world = build_world()
    federation = world.federation
    _thursday(world)
    blocks = tuple(world.registry("EU").account(TRADER).holding.blocks())[:1]
    forged = _forged_proposal(world, "EU", "FORGED-1", _account_id(world, "EU", TRADER), blocks)
    _inject(world, forged)
    federation.pump()
    (alert,) = federation.endpoints["EU"].alerts
    assert alert.code == LinkCode.UNKNOWN_TRANSFER and "FORGED-1" in alert.detail
