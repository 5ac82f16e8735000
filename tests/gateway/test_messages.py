"""Signed transfer protocol messages: encoding, signatures, trust and sequencing.

Rules from reference/registry-and-linking.md: A7 (statuses), A11 (Ed25519
over canonical data, version check), D6 (duplicate id 10006, idempotent),
D15 (version mismatch, out of sequence), D27 (a flipped byte → 9008).
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.errors import GatewayError, LinkCode
from gateway.messages import (
    PROTOCOL_VERSION,
    Acceptance,
    Completion,
    Forward,
    Message,
    Refusal,
    Rejection,
    SignedMessage,
    Termination,
    TransactionStatus,
    Transfer,
    TransferProposal,
    message_from_data,
)
from gateway.trust import Admission, SequenceTracker, TrustStore
from registry import canonical
from registry.errors import CheckCode
from registry.keys import SigningKey
from registry.ledger import SERIAL_MAX
from registry.units import UnitBlock

REGISTRY_A = SigningKey.generate()
REGISTRY_B = SigningKey.generate()
GATEWAY = SigningKey.generate()


def _trust() -> TrustStore:
    store = TrustStore()
    store.add("EU", REGISTRY_A.verify_key)
    store.add("CH", REGISTRY_B.verify_key)
    store.add("GW", GATEWAY.verify_key)
    return store


def _transfer(transaction_id: str = "EU-1", quantity_t: int = 100) -> Transfer:
    return Transfer(
        transaction_id,
        "EU",
        "EU-100-1",
        "CH",
        "CH-100-7",
        (UnitBlock("EU", "EUA", 2025, 1, quantity_t),),
    )


def _proposal(
    sequence: int = 1,
    transaction_id: str = "EU-1",
    version: tuple[int, int] = PROTOCOL_VERSION,
    transfers: tuple[Transfer, ...] | None = None,
) -> TransferProposal:
    return TransferProposal(
        sender_id="EU",
        recipient_id="GW",
        sequence=sequence,
        transaction_id=transaction_id,
        version=version,
        transfers=transfers if transfers is not None else (_transfer(transaction_id),),
        proposed_at="2026-03-02T10:00:00Z",
    )


def _every_kind() -> list[Message]:
    proposal = SignedMessage.sign(_proposal(), REGISTRY_A)
    header: dict[str, Any] = {"sequence": 1, "transaction_id": "EU-1"}
    refusal = Refusal("EU-1", (9002, 2006), ("one way only", "account may not hold"))
    return [
        proposal.message,
        Forward(
            sender_id="GW", recipient_id="CH", proposal=proposal, transfers=("EU-1",), **header
        ),
        Acceptance(sender_id="CH", recipient_id="GW", accepted=("EU-1",), **header),
        Rejection(sender_id="CH", recipient_id="GW", refusals=(refusal,), **header),
        Completion(sender_id="GW", recipient_id="EU", completed=("EU-1",), **header),
        Termination(sender_id="GW", recipient_id="EU", refusals=(refusal,), **header),
    ]


_KEYS = {"EU": REGISTRY_A, "CH": REGISTRY_B, "GW": GATEWAY}


# Statuses (A7) ----------------------------------------------------------------


def test_transaction_statuses_keep_the_kyoto_numbering_and_finality():
    assert [int(status) for status in TransactionStatus] == list(range(9))
    assert {s for s in TransactionStatus if s.is_final} == {
        TransactionStatus.COMPLETED,
        TransactionStatus.TERMINATED,
        TransactionStatus.REJECTED,
        TransactionStatus.CANCELLED,
    }


# Encoding -----------------------------------------------------------------------

_ids = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-é", min_size=1, max_size=12)


@st.composite
def _blocks(draw: st.DrawFn) -> UnitBlock:
    start = draw(st.integers(1, SERIAL_MAX))
    return UnitBlock(
        draw(_ids),
        draw(st.sampled_from(["EUA", "CHU", "CER", "ITMO"])),
        draw(st.integers(2005, 2050)),
        start,
        draw(st.integers(start, min(SERIAL_MAX, start + 10**9))),
        draw(st.sampled_from(["", "CDM-1234"])),
        draw(st.booleans()),
    )


@st.composite
def _proposals(draw: st.DrawFn) -> TransferProposal:
    transfer_ids = draw(st.lists(_ids, min_size=1, max_size=8, unique=True))
    sender_id = draw(_ids)
    transfers = tuple(
        Transfer(
            transfer_id,
            sender_id,
            draw(_ids),
            draw(_ids),
            draw(_ids),
            tuple(draw(st.lists(_blocks(), min_size=1, max_size=5))),
        )
        for transfer_id in transfer_ids
    )
    return TransferProposal(
        sender_id=sender_id,
        recipient_id=draw(_ids),
        sequence=draw(st.integers(1, 2**63 - 1)),
        transaction_id=draw(_ids),
        version=(PROTOCOL_VERSION[0], draw(st.integers(0, 50))),
        transfers=transfers,
        proposed_at="2026-03-02T10:00:00Z",
    )


@given(_proposals())
def test_proposal_batches_round_trip_through_canonical_bytes(proposal: TransferProposal):
    signed = SignedMessage(proposal, proposal.sender_id, b"\x01" * 64)
    again = SignedMessage.from_bytes(signed.to_bytes())
    assert again == signed
    assert again.message.signed_bytes() == proposal.signed_bytes()


@given(_proposals(), st.sampled_from(["GW", "CH"]))
def test_message_bytes_written_directly_equal_the_canonical_encoding(
    proposal: TransferProposal, recipient: str
):
    signed = SignedMessage(proposal, proposal.sender_id, b"\x02" * 64)
    assert proposal.message_bytes() == canonical.encode(proposal.to_data())
    assert signed.to_bytes() == canonical.encode(signed.to_data())
    addressed = [t.transaction_id for t in proposal.transfers if t.to_registry == recipient]
    if addressed:
        forward = Forward(
            sender_id="GW",
            recipient_id=recipient,
            sequence=1,
            transaction_id=addressed[0],
            proposal=signed,
            transfers=tuple(addressed),
        )
        assert forward.message_bytes() == canonical.encode(forward.to_data())


def test_a_message_received_in_another_json_form_is_verified_over_its_canonical_form():
    signed = SignedMessage.sign(_proposal(), REGISTRY_A)
    spaced = json.dumps(signed.to_data(), indent=1).encode()
    again = SignedMessage.from_bytes(spaced)
    assert again.message_data is None  # not the canonical envelope: encoded again
    assert again.verify(_trust()) == signed.message
    assert SignedMessage.from_bytes(signed.to_bytes()).message_data == signed.message_data


@pytest.mark.parametrize("message", _every_kind(), ids=lambda m: m.KIND)
def test_every_message_kind_round_trips_and_verifies(message: Message):
    signed = SignedMessage.sign(message, _KEYS[message.sender_id])
    again = SignedMessage.from_bytes(signed.to_bytes())
    assert again == signed
    assert again.verify(_trust()) == message


def test_signed_bytes_are_tagged_with_domain_and_kind_so_kinds_cannot_be_swapped():
    completion, termination = _every_kind()[4], _every_kind()[5]
    assert b'"domain":"etslink.gateway.message"' in completion.signed_bytes()
    assert b'"kind":"completion"' in completion.signed_bytes()
    signed = SignedMessage.sign(termination, GATEWAY)
    # Same header and sender; a signature over one kind does not hold for another.
    forged = SignedMessage(completion, "GW", signed.signature)
    with pytest.raises(GatewayError) as refused:
        forged.verify(_trust())
    assert refused.value.code == LinkCode.SIGNATURE_INVALID


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d["message"].update(sequence=True),
        lambda d: d["message"].update(sequence="1"),
        lambda d: d["message"].update(extra=1),
        lambda d: d["message"].pop("proposed_at"),
        lambda d: d["message"]["transfers"][0]["blocks"][0].update(start=0),
        lambda d: d["message"]["transfers"][0]["blocks"][0].update(vintage="2025"),
        lambda d: d["message"].update(transfers=[]),
        lambda d: d.update(signature="zz"),
        lambda d: d.update(signature=d["signature"].upper()),
        lambda d: d.update(signature=d["signature"][:2] + " " + d["signature"][2:]),
        lambda d: d["message"].update(kind="invoice"),
        lambda d: d["message"].update(kind=["proposal"]),
    ],
)
def test_malformed_peer_data_is_refused_with_a_code(change: Any):
    data = SignedMessage.sign(_proposal(), REGISTRY_A).to_data()
    change(data)
    with pytest.raises(GatewayError) as refused:
        SignedMessage.from_data(data)
    assert refused.value.code == LinkCode.MESSAGE_MALFORMED


def test_floats_are_refused_on_the_way_in():
    text = (
        SignedMessage.sign(_proposal(), REGISTRY_A)
        .to_bytes()
        .replace(b'"sequence":1', b'"sequence":1.0')
    )
    with pytest.raises(GatewayError) as refused:
        SignedMessage.from_bytes(text)
    assert refused.value.code == LinkCode.MESSAGE_MALFORMED


def test_building_a_batch_with_a_repeated_transfer_id_is_a_programming_error():
    with pytest.raises(ValueError, match="repeats"):
        _proposal(transfers=(_transfer("EU-1"), _transfer("EU-1")))


def test_a_registry_may_propose_only_transfers_out_of_its_own_accounts():
    foreign = dataclasses.replace(_transfer("EU-1"), from_registry="UK")
    with pytest.raises(ValueError, match="not the sender"):
        _proposal(transfers=(foreign,))
    data = SignedMessage.sign(_proposal(), REGISTRY_A).to_data()
    data["message"]["transfers"][0]["from_registry"] = "UK"
    with pytest.raises(GatewayError) as refused:
        SignedMessage.from_data(data)
    assert refused.value.code == LinkCode.MESSAGE_MALFORMED


# Signatures (A11, D27) -------------------------------------------------------------


def _leaves(data: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Return the path of every scalar in plain data."""
    if type(data) is dict:
        return [leaf for key, item in data.items() for leaf in _leaves(item, (*path, key))]
    if type(data) is list:
        return [leaf for index, item in enumerate(data) for leaf in _leaves(item, (*path, index))]
    return [path]


def _tamper(data: Any, path: tuple[Any, ...]) -> Any:
    """Return a copy of plain data with the scalar at `path` changed to another valid value."""
    copy = canonical.decode(canonical.encode(data))
    *parents, last = path
    holder = copy
    for step in parents:
        holder = holder[step]
    value = holder[last]
    if type(value) is bool:
        holder[last] = not value
    elif type(value) is int:
        holder[last] = value - 1 if last == "end" else value + 1
    elif last == "signature":
        holder[last] = ("1" if value[0] == "0" else "0") + value[1:]
    elif last == "proposed_at":
        holder[last] = value.replace(":00Z", ":01Z")
    else:
        holder[last] = value + "X"
    return copy


def _signed_batch_of_every_kind() -> list[SignedMessage]:
    batch = (
        _transfer("EU-1"),
        Transfer(
            "EU-2",
            "EU",
            "EU-100-1",
            "CH",
            "CH-100-8",
            (
                UnitBlock("EU", "CER", 2012, 5, 9, "CDM-1234", True),
                UnitBlock("EU", "EUA", 2024, 7, 8),
            ),
        ),
    )
    proposal = _proposal(transaction_id="EU-BATCH", transfers=batch)
    return [SignedMessage.sign(m, _KEYS[m.sender_id]) for m in [proposal, *_every_kind()[1:]]]


@pytest.mark.parametrize("signed", _signed_batch_of_every_kind(), ids=lambda s: s.message.KIND)
def test_changing_any_field_after_signing_fails_verification(signed: SignedMessage):
    trust = _trust()
    assert signed.verify(trust) == signed.message
    data = signed.message.to_data()
    # The kind and major version choose how to read the rest; other tests cover them.
    paths = [p for p in _leaves(data) if p[-1] != "kind" and p[-2:] != ("version", 0)]
    assert len(paths) >= 6
    for path in paths:
        try:
            tampered = message_from_data(_tamper(data, path))
        except GatewayError as error:
            # A forward naming a transfer not addressed to its recipient, or a
            # proposal whose sender is not its transfers' origin, does not even parse.
            assert error.code == LinkCode.MESSAGE_MALFORMED
            assert path[-1] in {
                "transaction_id",
                "sender_id",
                "recipient_id",
                "from_registry",
                "to_registry",
                0,
            }, path
            continue
        assert tampered != signed.message
        with pytest.raises(GatewayError) as refused:
            SignedMessage(tampered, signed.signer_id, signed.signature).verify(trust)
        # Changing the sender makes the signer someone else: also 9008.
        assert refused.value.code == LinkCode.SIGNATURE_INVALID, path


@given(st.data())
def test_a_flipped_byte_anywhere_in_the_signature_or_message_fails(data: st.DataObject):
    signed = SignedMessage.sign(_proposal(), REGISTRY_A)
    trust = _trust()
    signature = bytearray(signed.signature)
    index = data.draw(st.integers(0, len(signature) - 1))
    signature[index] ^= 1 << data.draw(st.integers(0, 7))
    with pytest.raises(GatewayError) as refused:
        SignedMessage(signed.message, "EU", bytes(signature)).verify(trust)
    assert refused.value.code == LinkCode.SIGNATURE_INVALID
    # Flip a bit of one character of the wire text: either it no longer
    # parses (9013) or it parses into another message that does not verify.
    wire = bytearray(signed.to_bytes())
    position = data.draw(st.integers(0, len(wire) - 1))
    wire[position] ^= 1 << data.draw(st.integers(0, 6))
    if bytes(wire) == signed.to_bytes():
        return
    with pytest.raises(GatewayError) as refused:
        SignedMessage.from_bytes(bytes(wire)).verify(trust)
    assert refused.value.code in {
        LinkCode.SIGNATURE_INVALID,
        LinkCode.MESSAGE_VERSION_MISMATCH,
        LinkCode.MESSAGE_MALFORMED,
    }


def test_an_unknown_signer_is_refused():
    stranger = SigningKey.generate()
    message = Acceptance(
        sender_id="XX", recipient_id="GW", sequence=1, transaction_id="EU-1", accepted=("EU-1",)
    )
    with pytest.raises(GatewayError) as refused:
        SignedMessage.sign(message, stranger).verify(_trust())
    assert refused.value.code == LinkCode.SIGNATURE_INVALID


def test_a_message_signed_by_another_trusted_participant_is_refused():
    signed = SignedMessage(_proposal(), "GW", GATEWAY.sign(_proposal().signed_bytes()))
    with pytest.raises(GatewayError) as refused:
        signed.verify(_trust())
    assert refused.value.code == LinkCode.SIGNATURE_INVALID


def test_a_revoked_key_is_refused_and_cannot_be_trusted_again():
    trust = _trust()
    signed = SignedMessage.sign(_proposal(), REGISTRY_A)
    fingerprint = trust.revoke("EU")
    assert fingerprint == REGISTRY_A.fingerprint
    assert trust.fingerprint("EU") is None and trust.is_revoked(fingerprint)
    with pytest.raises(GatewayError) as refused:
        signed.verify(trust)
    assert refused.value.code == LinkCode.SIGNATURE_INVALID
    with pytest.raises(ValueError, match="revoked"):
        trust.add("EU", REGISTRY_A.verify_key)
    rotated = SigningKey.generate()
    trust.add("EU", rotated.verify_key)
    assert trust.fingerprint("EU") == rotated.fingerprint
    assert SignedMessage.sign(_proposal(), rotated).verify(trust) == _proposal()


def test_a_forward_carries_the_origins_signature_and_the_gateways():
    proposal = SignedMessage.sign(_proposal(), REGISTRY_A)
    forward = Forward(
        sender_id="GW",
        recipient_id="CH",
        sequence=1,
        transaction_id="EU-1",
        proposal=proposal,
        transfers=("EU-1",),
    )
    received = SignedMessage.from_bytes(SignedMessage.sign(forward, GATEWAY).to_bytes())
    trust = _trust()
    verified = received.verify(trust)
    assert isinstance(verified, Forward)
    assert verified.proposal.verify(trust) == proposal.message
    # The gateway cannot alter the origin's proposal it countersigns.
    altered = SignedMessage(
        dataclasses.replace(_proposal(), transfers=(_transfer("EU-1", 101),)),
        "EU",
        proposal.signature,
    )
    forged = SignedMessage.sign(dataclasses.replace(forward, proposal=altered), GATEWAY)
    assert forged.verify(trust)
    assert isinstance(forged.message, Forward)
    with pytest.raises(GatewayError) as refused:
        forged.message.proposal.verify(trust)
    assert refused.value.code == LinkCode.SIGNATURE_INVALID


def test_a_batch_of_100_transfers_verifies_with_one_signature_and_is_answered_per_transfer():
    transfers = tuple(_transfer(f"EU-{n}", n) for n in range(1, 101))
    proposal = _proposal(transaction_id="EU-BATCH-1", transfers=transfers)
    signed = SignedMessage.sign(proposal, REGISTRY_A)
    received = SignedMessage.from_bytes(signed.to_bytes())
    verified = received.verify(_trust())
    assert isinstance(verified, TransferProposal)
    assert len(verified.transfers) == 100
    assert sum(t.quantity_t for t in verified.transfers) == 5050
    accepted = Acceptance(
        sender_id="CH",
        recipient_id="GW",
        sequence=1,
        transaction_id="EU-BATCH-1",
        accepted=tuple(f"EU-{n}" for n in range(1, 100)),
    )
    rejected = Rejection(
        sender_id="CH",
        recipient_id="GW",
        sequence=2,
        transaction_id="EU-BATCH-1",
        refusals=(Refusal("EU-100", (2006,), ("account may not hold CH units",)),),
    )
    answered = set(accepted.accepted) | {r.transaction_id for r in rejected.refusals}
    assert answered == {t.transaction_id for t in transfers}


# Versions (A11, D15) ------------------------------------------------------------------


def test_another_major_version_is_refused_and_a_newer_minor_accepted():
    newer_minor = SignedMessage.sign(_proposal(version=(PROTOCOL_VERSION[0], 7)), REGISTRY_A)
    assert SignedMessage.from_bytes(newer_minor.to_bytes()).verify(_trust())
    other_major = SignedMessage.sign(_proposal(version=(PROTOCOL_VERSION[0] + 1, 0)), REGISTRY_A)
    with pytest.raises(GatewayError) as refused:
        other_major.verify(_trust())
    assert refused.value.code == LinkCode.MESSAGE_VERSION_MISMATCH
    # Off the wire, the major version is checked before any other field is read.
    data = other_major.to_data()
    data["message"]["transfers"] = "not even a list"
    with pytest.raises(GatewayError) as refused:
        message_from_data(data["message"])
    assert refused.value.code == LinkCode.MESSAGE_VERSION_MISMATCH


# Sequencing (D6, D15) -------------------------------------------------------------------


def _admit(tracker: SequenceTracker, message: Message) -> Admission:
    signed = SignedMessage.sign(message, _KEYS[message.sender_id])
    signed.verify(_trust())
    return tracker.admit(signed)


def test_each_sender_must_send_exactly_the_next_sequence_number():
    tracker = SequenceTracker("GW")
    assert tracker.expected("EU") == 1
    assert _admit(tracker, _proposal(1, "EU-1")) is Admission.ACCEPTED
    assert _admit(tracker, _proposal(2, "EU-2")) is Admission.ACCEPTED
    # Another sender counts on its own.
    reply = Acceptance(
        sender_id="CH", recipient_id="GW", sequence=1, transaction_id="EU-1", accepted=("EU-1",)
    )
    assert _admit(tracker, reply) is Admission.ACCEPTED
    assert tracker.expected("EU") == 3 and tracker.expected("CH") == 2


def test_an_out_of_order_sequence_number_is_refused_and_changes_nothing():
    tracker = SequenceTracker("GW")
    with pytest.raises(GatewayError) as refused:
        _admit(tracker, _proposal(2, "EU-2"))
    assert refused.value.code == LinkCode.MESSAGE_OUT_OF_SEQUENCE
    assert tracker.expected("EU") == 1
    assert _admit(tracker, _proposal(1, "EU-2")) is Admission.ACCEPTED


def test_a_replayed_sequence_number_is_refused():
    tracker = SequenceTracker("GW")
    _admit(tracker, _proposal(1, "EU-1"))
    _admit(tracker, _proposal(2, "EU-2"))
    # A copy of an earlier message is a replay; another message at a number already
    # taken says the sender's key signed two messages for it (9030).
    for replay, code in (
        (_proposal(1, "EU-1"), LinkCode.MESSAGE_REPLAYED),
        (_proposal(2, "EU-3"), LinkCode.SEQUENCE_TAKEN),
        (_proposal(1, "EU-9"), LinkCode.SEQUENCE_TAKEN),
    ):
        with pytest.raises(GatewayError) as refused:
            _admit(tracker, replay)
        assert refused.value.code == code
    assert tracker.expected("EU") == 3


def test_an_exact_duplicate_of_the_last_message_is_already_processed_not_an_error():
    tracker = SequenceTracker("GW")
    signed = SignedMessage.sign(_proposal(1, "EU-1"), REGISTRY_A)
    assert tracker.admit(signed) is Admission.ACCEPTED
    retry = SignedMessage.from_bytes(signed.to_bytes())
    assert tracker.admit(retry) is Admission.ALREADY_PROCESSED
    assert tracker.admit(retry) is Admission.ALREADY_PROCESSED
    assert tracker.expected("EU") == 2


def test_a_new_sequence_number_does_not_make_an_old_transaction_id_new():
    tracker = SequenceTracker("GW")
    _admit(tracker, _proposal(1, "EU-1"))
    with pytest.raises(GatewayError) as refused:
        _admit(tracker, _proposal(2, "EU-1"))
    assert refused.value.code == CheckCode.TRANSACTION_ID_EXISTS
    assert tracker.expected("EU") == 2
    # Another kind of message about the same transaction is not a duplicate.
    gateway_side = SequenceTracker("EU")
    header: dict[str, Any] = {"sender_id": "GW", "recipient_id": "EU", "transaction_id": "EU-1"}
    refusal = Refusal("EU-2", (9002,), ("one way only",))
    assert (
        _admit(gateway_side, Rejection(sequence=1, refusals=(refusal,), **header))
        is Admission.ACCEPTED
    )
    assert (
        _admit(gateway_side, Completion(sequence=2, completed=("EU-1",), **header))
        is Admission.ACCEPTED
    )


def test_a_message_addressed_to_another_participant_is_refused():
    tracker = SequenceTracker("CH")
    with pytest.raises(GatewayError) as refused:
        _admit(tracker, _proposal(1, "EU-1"))
    assert refused.value.code == LinkCode.MESSAGE_MISADDRESSED
    assert tracker.expected("EU") == 1


def test_a_gateway_cannot_alter_the_proposal_bytes_it_forwards():
    """The destination checks the origin's signature over the proposal exactly as it arrived
    inside the forward; a gateway that edits them and countersigns is still caught."""
    proposal = SignedMessage.sign(_proposal(), REGISTRY_A)
    forward = Forward(
        sender_id="GW",
        recipient_id="CH",
        sequence=1,
        transaction_id="EU-1",
        proposal=proposal,
        transfers=("EU-1",),
    )
    honest = SignedMessage.from_bytes(SignedMessage.sign(forward, GATEWAY).to_bytes())
    assert isinstance(honest.message, Forward)
    assert honest.message.proposal.message_data == proposal.message_data
    assert honest.message.proposal.verify(_trust()) == proposal.message
    edited_data = proposal.message_data.replace(b'"end":100', b'"end":101')  # type: ignore[union-attr]
    assert edited_data != proposal.message_data
    edited = SignedMessage(proposal.message, "EU", proposal.signature, edited_data)
    relayed = SignedMessage.sign(dataclasses.replace(forward, proposal=edited), GATEWAY)
    received = SignedMessage.from_bytes(relayed.to_bytes())
    assert received.verify(_trust()) == received.message  # the gateway's own signature holds
    assert isinstance(received.message, Forward)
    with pytest.raises(GatewayError) as refused:
        received.message.proposal.verify(_trust())
    assert refused.value.code == LinkCode.SIGNATURE_INVALID
