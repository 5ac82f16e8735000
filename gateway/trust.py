"""Whom the gateway and registries trust, and in what order they take each sender's messages.

`TrustStore` holds one active Ed25519 key per participant (registry or
gateway) and remembers revoked keys, so a revoked key is never trusted again.

`SequenceTracker` enforces each sender's sequence on one recipient's
channel. The rule, for a message whose signature has already been verified:

- its `recipient_id` must be the tracker's owner, else 9014 (misaddressed);
- the first message from a sender has sequence 1, each next one the last
  accepted sequence + 1: that message is accepted, unless the sender has
  already sent a message of the same kind with the same transaction id
  (10006, transaction id exists: a new sequence number does not make an old
  transfer new again);
- an exact copy of the last accepted message (same sequence, transaction id
  and signed bytes) is answered `ALREADY_PROCESSED`, not an error: it is a
  retry after a lost answer, and the caller re-sends its earlier answer;
- any other sequence at or below the last accepted one is a replay (9012) —
  unless the message differs from the one taken at that sequence (remembered
  for the last `SEQUENCES_REMEMBERED`): then another message signed with the
  sender's key took the number (9030), and the honest sender re-sequences; one
  above the next is out of sequence (9011). Either changes nothing.

Only the last message is remembered whole, so a retry must come before the
sender's next message; transaction ids are remembered for as long as the
tracker lives, as the gateway's journal remembers them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from gateway.errors import GatewayError, LinkCode
from gateway.messages import SIGNATURE_LENGTH, Message, SignedMessage
from registry.errors import CheckCode
from registry.keys import VerifyKey


class TrustStore:
    """Public keys of known participants, by participant id; revoked keys stay refused."""

    def __init__(self) -> None:
        self._keys: dict[str, VerifyKey] = {}
        self._revoked: set[str] = set()  # fingerprints

    def add(self, participant_id: str, key: VerifyKey) -> None:
        """Trust `key` for `participant_id`; revoke the old key first to rotate it."""
        if participant_id in self._keys:
            raise ValueError(
                f"{participant_id!r} already has key {self.fingerprint(participant_id)}"
            )
        if key.fingerprint in self._revoked:
            raise ValueError(f"key {key.fingerprint} was revoked and may not be trusted again")
        self._keys[participant_id] = key

    def revoke(self, participant_id: str) -> str:
        """Stop trusting `participant_id`'s key and return its fingerprint."""
        key = self._keys.pop(participant_id, None)
        if key is None:
            raise ValueError(f"{participant_id!r} has no trusted key to revoke")
        self._revoked.add(key.fingerprint)
        return key.fingerprint

    def fingerprint(self, participant_id: str) -> str | None:
        """Return the fingerprint of the participant's trusted key, or None if there is none."""
        key = self._keys.get(participant_id)
        return None if key is None else key.fingerprint

    def is_revoked(self, fingerprint: str) -> bool:
        return fingerprint in self._revoked

    def verify(self, signer_id: str, data: bytes, signature: bytes) -> None:
        """Refuse with 9008 unless `signer_id`'s trusted key signed `data`."""
        key = self._keys.get(signer_id)
        if key is None:
            raise GatewayError(
                LinkCode.SIGNATURE_INVALID,
                f"signer {signer_id!r} has no trusted key (unknown or revoked)",
            )
        if type(signature) is not bytes or len(signature) != SIGNATURE_LENGTH:
            raise GatewayError(
                LinkCode.SIGNATURE_INVALID,
                f"signature from {signer_id!r} must be {SIGNATURE_LENGTH} bytes",
            )
        if not key.verify(signature, data):
            raise GatewayError(
                LinkCode.SIGNATURE_INVALID,
                f"signature from {signer_id!r} does not hold under key {key.fingerprint}",
            )


SEQUENCES_REMEMBERED = 4_096  # per sender: signatures of the messages taken last


class Admission(Enum):
    """What a recipient does with a verified message the tracker let through."""

    ACCEPTED = "accepted"  # new: process it
    ALREADY_PROCESSED = "already processed"  # a retry of the last message: answer as before


@dataclass(frozen=True, slots=True)
class _Last:
    sequence: int
    transaction_id: str
    digest: bytes


class SequenceTracker:
    """Each sender's sequence on the channel to one recipient; see the module's rule."""

    def __init__(self, recipient_id: str) -> None:
        self.recipient_id = recipient_id
        self._last: dict[str, _Last] = {}
        self._transactions: dict[str, set[tuple[str, str]]] = {}  # sender → (kind, id)
        self._taken: dict[str, dict[int, bytes]] = {}  # sender → sequence → signature

    def expected(self, sender_id: str) -> int:
        """Return the sequence number the next new message from `sender_id` must carry."""
        last = self._last.get(sender_id)
        return 1 if last is None else last.sequence + 1

    def admit(self, signed: SignedMessage) -> Admission:
        """Take a verified message in sequence, or refuse it and change nothing."""
        message = signed.message
        self._check_addressed(message)
        # Ed25519 signatures are deterministic: one verified signature, one message.
        digest = signed.signature
        last = self._last.get(message.sender_id)
        if (
            last is not None
            and last.sequence == message.sequence
            and last.transaction_id == message.transaction_id
            and last.digest == digest
        ):
            return Admission.ALREADY_PROCESSED
        expected = self.expected(message.sender_id)
        if message.sequence < expected:
            earlier = self._taken.get(message.sender_id, {}).get(message.sequence)
            if earlier is not None and earlier != digest:
                raise GatewayError(
                    LinkCode.SEQUENCE_TAKEN,
                    f"sequence {message.sequence} from {message.sender_id!r} was taken by "
                    f"another message signed with its key; this one is not a retry of it "
                    f"(expected {expected}): re-sequence from {expected}",
                )
            raise GatewayError(
                LinkCode.MESSAGE_REPLAYED,
                f"sequence {message.sequence} from {message.sender_id!r} was already used "
                f"(expected {expected}); only an exact copy of the last message is a retry",
            )
        if message.sequence > expected:
            raise GatewayError(
                LinkCode.MESSAGE_OUT_OF_SEQUENCE,
                f"sequence {message.sequence} from {message.sender_id!r} is out of sequence, "
                f"expected {expected}",
            )
        seen = self._transactions.setdefault(message.sender_id, set())
        key = (message.KIND, message.transaction_id)
        if key in seen:
            raise GatewayError(
                CheckCode.TRANSACTION_ID_EXISTS,
                f"{message.sender_id!r} already sent a {message.KIND} for transaction "
                f"{message.transaction_id}",
            )
        seen.add(key)
        self._last[message.sender_id] = _Last(message.sequence, message.transaction_id, digest)
        signatures = self._taken.setdefault(message.sender_id, {})
        signatures[message.sequence] = digest
        signatures.pop(message.sequence - SEQUENCES_REMEMBERED, None)
        return Admission.ACCEPTED

    def _check_addressed(self, message: Message) -> None:
        if message.recipient_id != self.recipient_id:
            raise GatewayError(
                LinkCode.MESSAGE_MISADDRESSED,
                f"message from {message.sender_id!r} is addressed to {message.recipient_id!r}, "
                f"not {self.recipient_id!r}",
            )
