"""Signed transfer protocol messages between registries and the linking gateway.

Every message is a frozen value with a header: who sent it (`sender_id`), to
whom (`recipient_id`), the sender's sequence number on that channel, the
protocol version (major, minor) and the transaction id. A message is signed
over the canonical encoding of its data under a domain tag and its kind, so a
signature over one kind of message cannot be replayed as another, nor as any
other etslink signature (MRV statements use their own tag).

Choices the issue leaves open, made here:

- A batch is a `TransferProposal` carrying up to `TRANSFERS_PER_MESSAGE_MAX`
  `Transfer`s, each with its own transaction id; one signature covers them
  all. The message's `transaction_id` names the batch (for a single transfer
  it is that transfer's id). Answers name the transfers they answer, so each
  transfer is answered individually: one batch may get an `Acceptance` for
  some transfers and a `Rejection` for others.
- Sequence numbers count per channel (sender, recipient), from 1, because the
  gateway talks to many registries and each recipient sees only its own
  stream. `gateway.trust.SequenceTracker` enforces them.
- A proposal's sender is the origin registry: every transfer in it leaves
  one of the sender's accounts.
- `Forward` carries the origin's signed proposal whole, so the destination
  checks both the origin's signature and the gateway's countersignature.
- The signer of a message must be its sender: `SignedMessage.verify` refuses
  a message signed by anyone else (9008), even with a trusted key.
- Within one major version a minor version does not change the encoding of
  these messages (it may add kinds or codes), so a newer minor is accepted;
  another major is refused (9009).

Malformed data from a peer (a missing field, a float, a bad serial range) is
refused with `LinkCode.MESSAGE_MALFORMED`; building a malformed message in
process is a programming error and raises ValueError.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import IntEnum, StrEnum
from typing import TYPE_CHECKING, Any, ClassVar

from gateway import peer_data
from gateway.errors import GatewayError, LinkCode
from registry import canonical
from registry.clock import parse_time
from registry.keys import SigningKey
from registry.ledger import SERIAL_MAX
from registry.units import UnitBlock, blocks_text

if TYPE_CHECKING:
    from gateway.trust import TrustStore

PROTOCOL_VERSION = (1, 0)
# Names what a signature is over; the message kind follows it in the signed data.
SIGNATURE_DOMAIN = "etslink.gateway.message"
SIGNATURE_LENGTH = 64  # Ed25519
TRANSFERS_PER_MESSAGE_MAX = 1_000
BLOCKS_PER_TRANSFER_MAX = 1_000
CODES_PER_REFUSAL_MAX = 16
ID_LENGTH_MAX = 100
TEXT_LENGTH_MAX = 500
SEQUENCE_MAX = 2**63 - 1


class TransactionStatus(IntEnum):
    """A transaction's status in the Kyoto / UK numbering (DOMAIN.md; reference A7)."""

    AWAITING_APPROVAL = 0
    PROPOSED = 1
    CHECKED_NO_DISCREPANCY = 2
    CHECKED_DISCREPANCY = 3
    COMPLETED = 4
    TERMINATED = 5
    REJECTED = 6
    CANCELLED = 7
    ACCEPTED = 8

    @property
    def is_final(self) -> bool:
        return self in _FINAL_STATUSES


_FINAL_STATUSES = frozenset(
    {
        TransactionStatus.COMPLETED,
        TransactionStatus.TERMINATED,
        TransactionStatus.REJECTED,
        TransactionStatus.CANCELLED,
    }
)


@dataclass(frozen=True, slots=True)
class Transfer:
    """One transfer of blocks from an account in one registry to an account in another."""

    transaction_id: str
    from_registry: str
    from_account: str
    to_registry: str
    to_account: str
    blocks: tuple[UnitBlock, ...]

    def __post_init__(self) -> None:
        for name in (
            "transaction_id",
            "from_registry",
            "from_account",
            "to_registry",
            "to_account",
        ):
            _check_id(name, getattr(self, name))
        _check_tuple("blocks", self.blocks)
        if not 1 <= len(self.blocks) <= BLOCKS_PER_TRANSFER_MAX:
            raise ValueError(
                f"transfer {self.transaction_id}: expected 1 to {BLOCKS_PER_TRANSFER_MAX} "
                f"blocks, was {len(self.blocks)}"
            )
        for block in self.blocks:
            if type(block) is not UnitBlock:
                raise ValueError(f"transfer {self.transaction_id}: {block!r} is not a UnitBlock")

    @property
    def quantity_t(self) -> int:
        return sum(block.quantity for block in self.blocks)

    def to_text(self) -> str:
        """Return `canonical.encode_text(self.to_data())`, written directly."""
        blocks = blocks_text(self.blocks)
        if blocks is None:
            return canonical.encode_text(self.to_data())
        quote = canonical.quote
        # The ids were checked to be str when the transfer was built.
        return (
            f'{{"blocks":[{blocks}],"from_account":{quote(self.from_account)}'
            f',"from_registry":{quote(self.from_registry)}'
            f',"to_account":{quote(self.to_account)}'
            f',"to_registry":{quote(self.to_registry)}'
            f',"transaction_id":{quote(self.transaction_id)}}}'
        )

    def to_data(self) -> dict[str, Any]:
        return {
            "transaction_id": self.transaction_id,
            "from_registry": self.from_registry,
            "from_account": self.from_account,
            "to_registry": self.to_registry,
            "to_account": self.to_account,
            "blocks": [block.to_data() for block in self.blocks],
        }

    @classmethod
    def from_data(cls, data: Any) -> Transfer:
        fields = peer_data.fields(data, WIRE_TRANSFER_KEYS, "transfer")
        blocks = peer_data.items(fields, "blocks", BLOCKS_PER_TRANSFER_MAX)
        return cls(
            peer_data.text(fields, "transaction_id"),
            peer_data.text(fields, "from_registry"),
            peer_data.text(fields, "from_account"),
            peer_data.text(fields, "to_registry"),
            peer_data.text(fields, "to_account"),
            tuple(_block(item) for item in blocks),
        )


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why one transfer of a batch was refused or terminated: check codes and their messages."""

    transaction_id: str
    codes: tuple[int, ...]
    messages: tuple[str, ...]

    def __post_init__(self) -> None:
        _check_id("transaction_id", self.transaction_id)
        _check_tuple("codes", self.codes)
        _check_tuple("messages", self.messages)
        if not 1 <= len(self.codes) <= CODES_PER_REFUSAL_MAX:
            raise ValueError(
                f"refusal of {self.transaction_id}: expected 1 to {CODES_PER_REFUSAL_MAX} codes, "
                f"was {len(self.codes)}"
            )
        if len(self.messages) != len(self.codes):
            raise ValueError(
                f"refusal of {self.transaction_id}: {len(self.codes)} codes but "
                f"{len(self.messages)} messages"
            )
        for code in self.codes:
            # A code may be -1 (the log's "stopped transaction", reference b4).
            if type(code) is not int or not -1 <= code <= 99_999:
                raise ValueError(f"refusal of {self.transaction_id}: bad code {code!r}")
        for message in self.messages:
            _check_text("message", message)

    def to_data(self) -> dict[str, Any]:
        return {
            "transaction_id": self.transaction_id,
            "codes": list(self.codes),
            "messages": list(self.messages),
        }

    @classmethod
    def from_data(cls, data: Any) -> Refusal:
        fields = peer_data.fields(data, WIRE_REFUSAL_KEYS, "refusal")
        codes = peer_data.items(fields, "codes", CODES_PER_REFUSAL_MAX)
        messages = peer_data.items(fields, "messages", CODES_PER_REFUSAL_MAX)
        return cls(peer_data.text(fields, "transaction_id"), tuple(codes), tuple(messages))


@dataclass(frozen=True, slots=True, kw_only=True)
class Message(ABC):
    """The header every protocol message carries; each kind adds its own fields.

    Abstract: only the eight message kinds below are ever built.
    """

    KIND: ClassVar[str] = ""

    sender_id: str
    recipient_id: str
    sequence: int
    transaction_id: str
    version: tuple[int, int] = PROTOCOL_VERSION

    def __post_init__(self) -> None:
        _check_id("sender_id", self.sender_id)
        _check_id("recipient_id", self.recipient_id)
        _check_id("transaction_id", self.transaction_id)
        if type(self.sequence) is not int or not 1 <= self.sequence <= SEQUENCE_MAX:
            raise ValueError(f"sequence must be an int in 1..{SEQUENCE_MAX}, was {self.sequence!r}")
        _check_tuple("version", self.version)
        major, minor = self.version
        if type(major) is not int or type(minor) is not int or major < 0 or minor < 0:
            raise ValueError(f"version must be two non-negative ints, was {self.version!r}")

    def header_data(self) -> dict[str, Any]:
        return {
            "kind": self.KIND,
            "sender_id": self.sender_id,
            "recipient_id": self.recipient_id,
            "sequence": self.sequence,
            "transaction_id": self.transaction_id,
            "version": list(self.version),
        }

    @abstractmethod
    def body_data(self) -> dict[str, Any]:
        """Return the kind's own fields as canonical plain data."""

    @classmethod
    @abstractmethod
    def from_body(cls, header: dict[str, Any], fields: dict[str, Any]) -> Message:
        """Build the message from its checked header and its body fields."""

    def to_data(self) -> dict[str, Any]:
        return {**self.header_data(), **self.body_data()}

    def message_bytes(self) -> bytes:
        """Return the canonical bytes of the message's data (`canonical.encode(to_data())`).

        Written from the fields' own canonical texts, keys in sorted order, so
        a large batch is encoded once and a forward reuses the proposal's bytes.
        """
        major, minor = self.version
        quote = canonical.quote
        texts = {
            "kind": quote(self.KIND),
            "recipient_id": quote(self.recipient_id),
            "sender_id": quote(self.sender_id),
            "sequence": str(self.sequence),
            "transaction_id": quote(self.transaction_id),
            "version": f"[{major},{minor}]",
            **self.body_texts(),
        }
        pairs = ",".join(f"{quote(key)}:{texts[key]}" for key in sorted(texts))
        return ("{" + pairs + "}").encode("utf-8")

    def body_texts(self) -> dict[str, str]:
        """Return the canonical text of each body field (kinds with large bodies override)."""
        return {key: canonical.encode_text(value) for key, value in self.body_data().items()}

    def signed_bytes(self) -> bytes:
        """Return the canonical bytes a signature is over: domain tag, kind, then the data."""
        return _signed_bytes(self.KIND, self.message_bytes())

    def check_version(self) -> None:
        """Refuse another major protocol version (9009); accept any minor of ours."""
        check_version(self.version)


@dataclass(frozen=True, slots=True, kw_only=True)
class TransferProposal(Message):
    """The origin registry's proposal of one transfer or a batch; the blocks are locked."""

    KIND: ClassVar[str] = "proposal"

    transfers: tuple[Transfer, ...]
    proposed_at: str

    def __post_init__(self) -> None:
        Message.__post_init__(self)
        _check_tuple("transfers", self.transfers)
        _check_transfer_ids(self.transaction_id, [t.transaction_id for t in self.transfers])
        for transfer in self.transfers:
            if type(transfer) is not Transfer:
                raise ValueError(f"{transfer!r} is not a Transfer")
            # A registry proposes only transfers out of its own accounts.
            if transfer.from_registry != self.sender_id:
                raise ValueError(
                    f"transfer {transfer.transaction_id} leaves registry "
                    f"{transfer.from_registry!r}, not the sender {self.sender_id!r}"
                )
        _check_time("proposed_at", self.proposed_at)

    def body_data(self) -> dict[str, Any]:
        return {
            "transfers": [transfer.to_data() for transfer in self.transfers],
            "proposed_at": self.proposed_at,
        }

    def body_texts(self) -> dict[str, str]:
        transfers = ",".join(transfer.to_text() for transfer in self.transfers)
        return {"transfers": f"[{transfers}]", "proposed_at": canonical.quote(self.proposed_at)}

    @classmethod
    def from_body(cls, header: dict[str, Any], fields: dict[str, Any]) -> TransferProposal:
        transfers = peer_data.items(fields, "transfers", TRANSFERS_PER_MESSAGE_MAX)
        return cls(
            **header,
            transfers=tuple(Transfer.from_data(item) for item in transfers),
            proposed_at=peer_data.text(fields, "proposed_at"),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Forward(Message):
    """The gateway's countersignature on transfers of a proposal that passed its checks.

    `transfers` names the transfers forwarded to the recipient: those addressed
    to it that passed the gateway's checks now (others of the batch may have
    been refused, or wait for the link's next transfer window and come in a
    later forward). Each transfer is forwarded once, so the gateway names a
    forward by its first transfer's id.
    """

    KIND: ClassVar[str] = "forward"

    proposal: SignedMessage
    transfers: tuple[str, ...]

    def __post_init__(self) -> None:
        Message.__post_init__(self)
        if type(self.proposal) is not SignedMessage or not isinstance(
            self.proposal.message, TransferProposal
        ):
            raise ValueError(f"a forward carries a signed TransferProposal, was {self.proposal!r}")
        _check_tuple("transfers", self.transfers)
        _check_transfer_ids(self.transaction_id, list(self.transfers))
        addressed = {
            transfer.transaction_id
            for transfer in self.proposal.message.transfers
            if transfer.to_registry == self.recipient_id
        }
        for transfer_id in self.transfers:
            if transfer_id not in addressed:
                raise ValueError(
                    f"forward {self.transaction_id} names {transfer_id}, not a transfer of "
                    f"proposal {self.proposal.message.transaction_id} to {self.recipient_id}"
                )

    def with_received_proposal(self, message_data: bytes) -> Forward:
        """Return this forward with its proposal's bytes as found in the forward's own bytes.

        In canonical form the proposal sits between `"proposal":` and the
        forward's `,"recipient_id":` (the last one: quotes inside strings are
        escaped, so only keys match).
        """
        prefix = b'{"kind":"forward","proposal":'
        end = message_data.rfind(b',"recipient_id":')
        if not message_data.startswith(prefix) or end < len(prefix):
            return self
        nested = self.proposal._received_message_data(message_data[len(prefix) : end])
        if nested is None:
            return self
        return replace(self, proposal=replace(self.proposal, message_data=nested))

    def forwarded(self) -> list[Transfer]:
        """Return the forwarded transfers, in the proposal's order."""
        named = set(self.transfers)
        proposal = self.proposal.message
        assert isinstance(proposal, TransferProposal)
        return [t for t in proposal.transfers if t.transaction_id in named]

    def body_data(self) -> dict[str, Any]:
        return {"proposal": self.proposal.to_data(), "transfers": list(self.transfers)}

    def body_texts(self) -> dict[str, str]:
        return {
            "proposal": self.proposal.to_bytes().decode("utf-8"),
            "transfers": canonical.encode_text(list(self.transfers)),
        }

    @classmethod
    def from_body(cls, header: dict[str, Any], fields: dict[str, Any]) -> Forward:
        proposal = SignedMessage.from_data(fields["proposal"])
        if not isinstance(proposal.message, TransferProposal):
            raise GatewayError(
                LinkCode.MESSAGE_MALFORMED,
                f"forward {header['transaction_id']} carries a {proposal.message.KIND}, "
                "expected a proposal",
            )
        transfers = tuple(peer_data.items(fields, "transfers", TRANSFERS_PER_MESSAGE_MAX))
        return cls(**header, proposal=proposal, transfers=transfers)


@dataclass(frozen=True, slots=True, kw_only=True)
class Acceptance(Message):
    """The destination registry's acceptance of the named transfers of a batch."""

    KIND: ClassVar[str] = "acceptance"

    accepted: tuple[str, ...]

    def __post_init__(self) -> None:
        Message.__post_init__(self)
        _check_tuple("accepted", self.accepted)
        _check_transfer_ids(self.transaction_id, list(self.accepted))

    def body_data(self) -> dict[str, Any]:
        return {"accepted": list(self.accepted)}

    @classmethod
    def from_body(cls, header: dict[str, Any], fields: dict[str, Any]) -> Acceptance:
        return cls(
            **header, accepted=tuple(peer_data.items(fields, "accepted", TRANSFERS_PER_MESSAGE_MAX))
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class _Refusals(Message):
    """A message answering some transfers of a batch, each with its codes and messages."""

    refusals: tuple[Refusal, ...]

    def __post_init__(self) -> None:
        Message.__post_init__(self)
        _check_tuple("refusals", self.refusals)
        for refusal in self.refusals:
            if type(refusal) is not Refusal:
                raise ValueError(f"{refusal!r} is not a Refusal")
        _check_transfer_ids(self.transaction_id, [r.transaction_id for r in self.refusals])

    def body_data(self) -> dict[str, Any]:
        return {"refusals": [refusal.to_data() for refusal in self.refusals]}

    @classmethod
    def from_body(cls, header: dict[str, Any], fields: dict[str, Any]) -> _Refusals:
        refusals = peer_data.items(fields, "refusals", TRANSFERS_PER_MESSAGE_MAX)
        return cls(**header, refusals=tuple(Refusal.from_data(item) for item in refusals))


@dataclass(frozen=True, slots=True, kw_only=True)
class Rejection(_Refusals):
    """The gateway's or the destination's refusal of the named transfers (status 6)."""

    KIND: ClassVar[str] = "rejection"


@dataclass(frozen=True, slots=True, kw_only=True)
class Termination(_Refusals):
    """The gateway's final word that the named transfers ended unfinished (status 5)."""

    KIND: ClassVar[str] = "termination"


@dataclass(frozen=True, slots=True, kw_only=True)
class Completion(Message):
    """The gateway's final word that the named transfers completed (status 4)."""

    KIND: ClassVar[str] = "completion"

    completed: tuple[str, ...]

    def __post_init__(self) -> None:
        Message.__post_init__(self)
        _check_tuple("completed", self.completed)
        _check_transfer_ids(self.transaction_id, list(self.completed))

    def body_data(self) -> dict[str, Any]:
        return {"completed": list(self.completed)}

    @classmethod
    def from_body(cls, header: dict[str, Any], fields: dict[str, Any]) -> Completion:
        return cls(
            **header,
            completed=tuple(peer_data.items(fields, "completed", TRANSFERS_PER_MESSAGE_MAX)),
        )


class Change(StrEnum):
    """What a registry tells the log about its units or itself (a `Notice`'s entries)."""

    SURRENDERED = "surrendered"  # terminal: the units never move again (reference D5)
    CANCELLED = "cancelled"
    RETIRED = "retired"
    QUARANTINED = "quarantined"  # no link may carry them until lifted (reference D2)
    QUARANTINE_LIFTED = "quarantine_lifted"
    SUSPENDED = "suspended"  # registry-wide: nothing leaves or arrives (EU, 19 Jan 2011)
    RESUMED = "resumed"

    @property
    def names_serials(self) -> bool:
        return self not in (Change.SUSPENDED, Change.RESUMED)


SerialRange = tuple[str, str, int, int, int]  # (origin, unit type, vintage, start, end)


@dataclass(frozen=True, slots=True)
class UnitChange:
    """One change a registry made to its units' fate, or to its own state, and why."""

    change: Change
    serials: tuple[SerialRange, ...] = ()
    reason: str = ""

    def __post_init__(self) -> None:
        if type(self.change) is not Change:
            raise ValueError(f"{self.change!r} is not a Change")
        _check_tuple("serials", self.serials)
        if self.change.names_serials != bool(self.serials):
            raise ValueError(
                f"a {self.change} notice names serials"
                if self.change.names_serials
                else f"a {self.change} notice names no serials"
            )
        if len(self.serials) > BLOCKS_PER_TRANSFER_MAX:
            raise ValueError(f"a change names at most {BLOCKS_PER_TRANSFER_MAX} serial ranges")
        for item in self.serials:
            _check_serial_range(item)
        _check_text("reason", self.reason)

    def to_data(self) -> dict[str, Any]:
        return {
            "change": self.change.value,
            "serials": [list(item) for item in self.serials],
            "reason": self.reason,
        }

    @classmethod
    def from_data(cls, data: Any) -> UnitChange:
        fields = peer_data.fields(data, WIRE_CHANGE_KEYS, "change")
        name = peer_data.text(fields, "change")
        try:
            change = Change(name)
        except ValueError:
            raise peer_data.malformed(f"unknown change {name!r}") from None
        serials = []
        for item in peer_data.items(fields, "serials", BLOCKS_PER_TRANSFER_MAX):
            if type(item) is not list or len(item) != 5:
                raise peer_data.malformed(
                    "a serial range is [origin, unit type, vintage, start, end]"
                )
            serials.append((item[0], item[1], item[2], item[3], item[4]))
        try:
            return cls(change, tuple(serials), peer_data.text(fields, "reason"))
        except ValueError as error:
            raise peer_data.malformed(str(error)) from None


@dataclass(frozen=True, slots=True, kw_only=True)
class Notice(Message):
    """A registry's notice to the log of what changed its units' fate or its own state.

    Registries tell the log of surrenders, cancellations, retirements,
    quarantines and suspensions as Kyoto registries tell the ITL of
    retirements and cancellations, so the log refuses — at proposal and again
    at completion — serials it knows to be terminal or quarantined, and
    transfers of a suspended registry. `transaction_id` names the notice.
    """

    KIND: ClassVar[str] = "notice"

    changes: tuple[UnitChange, ...]

    def __post_init__(self) -> None:
        Message.__post_init__(self)
        _check_tuple("changes", self.changes)
        if not 1 <= len(self.changes) <= TRANSFERS_PER_MESSAGE_MAX:
            raise ValueError(f"a notice carries 1 to {TRANSFERS_PER_MESSAGE_MAX} changes")
        for change in self.changes:
            if type(change) is not UnitChange:
                raise ValueError(f"{change!r} is not a UnitChange")

    def body_data(self) -> dict[str, Any]:
        return {"changes": [change.to_data() for change in self.changes]}

    @classmethod
    def from_body(cls, header: dict[str, Any], fields: dict[str, Any]) -> Notice:
        changes = peer_data.items(fields, "changes", TRANSFERS_PER_MESSAGE_MAX)
        return cls(**header, changes=tuple(UnitChange.from_data(item) for item in changes))


@dataclass(frozen=True, slots=True, kw_only=True)
class Withdrawal(Message):
    """The origin's request to end transfers its time-out passed without a final word.

    The log answers each with its final notice: a `Termination` (9031) for a
    transfer it has not completed — or never received, which it then refuses
    for good — and the final notice it gave before for one that had ended.
    """

    KIND: ClassVar[str] = "withdrawal"

    withdrawn: tuple[str, ...]

    def __post_init__(self) -> None:
        Message.__post_init__(self)
        _check_tuple("withdrawn", self.withdrawn)
        _check_transfer_ids(self.transaction_id, list(self.withdrawn))

    def body_data(self) -> dict[str, Any]:
        return {"withdrawn": list(self.withdrawn)}

    @classmethod
    def from_body(cls, header: dict[str, Any], fields: dict[str, Any]) -> Withdrawal:
        return cls(
            **header,
            withdrawn=tuple(peer_data.items(fields, "withdrawn", TRANSFERS_PER_MESSAGE_MAX)),
        )


@dataclass(frozen=True, slots=True)
class SignedMessage:
    """A message with its sender's Ed25519 signature over `message.signed_bytes()`."""

    message: Message
    signer_id: str
    signature: bytes
    # The message's canonical bytes as signed or received, so neither the sender
    # nor the recipient encodes a large message twice. Not part of the value.
    message_data: bytes | None = field(default=None, compare=False, repr=False)

    @classmethod
    def sign(cls, message: Message, key: SigningKey) -> SignedMessage:
        """Sign `message` as its sender."""
        data = message.message_bytes()
        signature = key.sign(_signed_bytes(message.KIND, data))
        return cls(message, message.sender_id, signature, data)

    def verify(self, trust_store: TrustStore) -> Message:
        """Return the message if its sender's trusted key signed it and its version is ours.

        Refuse with 9008 an unknown or revoked signer, a signer other than the
        sender, or a signature that does not hold over the message as it is
        now; then with 9009 another major protocol version.
        """
        if self.signer_id != self.message.sender_id:
            raise GatewayError(
                LinkCode.SIGNATURE_INVALID,
                f"message from {self.message.sender_id!r} is signed by {self.signer_id!r}",
            )
        try:
            message_data = self.message_data or self.message.message_bytes()
        except canonical.CanonicalEncodingError as error:
            raise GatewayError(LinkCode.SIGNATURE_INVALID, f"unsignable message: {error}") from None
        data = _signed_bytes(self.message.KIND, message_data)
        trust_store.verify(self.signer_id, data, self.signature)
        self.message.check_version()
        return self.message

    def to_data(self) -> dict[str, Any]:
        return {
            "message": self.message.to_data(),
            "signer_id": self.signer_id,
            "signature": self.signature.hex(),
        }

    @classmethod
    def from_data(cls, data: Any) -> SignedMessage:
        fields = peer_data.fields(data, WIRE_SIGNED_KEYS, "signed message")
        signature = peer_data.signature(fields)
        return cls(
            message_from_data(fields["message"]), peer_data.text(fields, "signer_id"), signature
        )

    def to_bytes(self) -> bytes:
        """Return the canonical bytes of the signed message, as sent."""
        message_data = self.message_data or self.message.message_bytes()
        return b'{"message":' + message_data + self._suffix()

    def _suffix(self) -> bytes:
        """The canonical bytes after the message: signature, then signer (sorted keys)."""
        signer = canonical.quote(self.signer_id).encode("utf-8")
        return b',"signature":"' + self.signature.hex().encode() + b'","signer_id":' + signer + b"}"

    @classmethod
    def from_bytes(cls, data: bytes) -> SignedMessage:
        try:
            plain = canonical.decode(data)
        except (ValueError, canonical.CanonicalEncodingError) as error:
            raise peer_data.malformed(f"not canonical JSON: {error}") from None
        signed = cls.from_data(plain)
        # Keep the message's bytes exactly as received, when the envelope is canonical,
        # so the signature is checked over them without encoding the message again.
        # Safe: signers sign only the canonical encoding of one value, so a signature
        # that holds over these bytes proves they are that value, which the parse read.
        message_data = signed._received_message_data(data)
        if message_data is None:
            return signed
        message = signed.message
        if isinstance(message, Forward):
            # The origin's signed proposal inside is kept as received too.
            message = message.with_received_proposal(message_data)
        return replace(signed, message=message, message_data=message_data)

    def _received_message_data(self, data: bytes) -> bytes | None:
        """Return the message's bytes inside `data`, if `data` is this value's canonical form."""
        suffix = self._suffix()
        if data.startswith(b'{"message":') and data.endswith(suffix):
            return data[len(b'{"message":') : len(data) - len(suffix)]
        return None


MESSAGE_KINDS: Mapping[str, type[Message]] = {
    kind.KIND: kind
    for kind in (
        TransferProposal,
        Forward,
        Acceptance,
        Rejection,
        Completion,
        Termination,
        Notice,
        Withdrawal,
    )
}


def _signed_bytes(kind: str, message_data: bytes) -> bytes:
    """Return canonical {"domain", "kind", "message"} given the message's canonical bytes."""
    return (
        b'{"domain":'
        + _QUOTED_DOMAIN
        + b',"kind":'
        + canonical.quote(kind).encode("utf-8")
        + b',"message":'
        + message_data
        + b"}"
    )


_QUOTED_DOMAIN = canonical.quote(SIGNATURE_DOMAIN).encode("utf-8")


def check_version(version: tuple[int, int]) -> None:
    """Refuse with 9009 a major version other than ours; a newer minor is compatible."""
    if version[0] != PROTOCOL_VERSION[0]:
        raise GatewayError(
            LinkCode.MESSAGE_VERSION_MISMATCH,
            f"protocol major version {version[0]} is not ours, expected "
            f"{PROTOCOL_VERSION[0]} (message {version[0]}.{version[1]}, "
            f"ours {PROTOCOL_VERSION[0]}.{PROTOCOL_VERSION[1]})",
        )


def message_from_data(data: Any) -> Message:
    """Rebuild a message from its plain data, checking its major version before its fields."""
    if type(data) is not dict:
        raise peer_data.malformed(f"a message is a dict, was {type(data).__name__}")
    kind_name = data.get("kind")
    kind = MESSAGE_KINDS.get(kind_name) if type(kind_name) is str else None
    if kind is None:
        raise peer_data.malformed(f"unknown message kind {data.get('kind')!r}")
    version = data.get("version")
    if type(version) is not list or len(version) != 2 or any(type(v) is not int for v in version):
        raise peer_data.malformed(f"version must be [major, minor], was {version!r}")
    check_version((version[0], version[1]))
    keys = WIRE_HEADER_KEYS | WIRE_BODY_KEYS[kind.KIND]
    fields = peer_data.fields(data, keys, kind.KIND)
    header = {
        "sender_id": peer_data.text(fields, "sender_id"),
        "recipient_id": peer_data.text(fields, "recipient_id"),
        "sequence": peer_data.integer(fields, "sequence"),
        "transaction_id": peer_data.text(fields, "transaction_id"),
        "version": (version[0], version[1]),
    }
    try:
        return kind.from_body(header, fields)
    except ValueError as error:
        raise peer_data.malformed(f"{kind.KIND}: {error}") from None


WIRE_HEADER_KEYS = frozenset(
    {"kind", "sender_id", "recipient_id", "sequence", "transaction_id", "version"}
)
WIRE_BODY_KEYS: Mapping[str, frozenset[str]] = {
    "proposal": frozenset({"transfers", "proposed_at"}),
    "forward": frozenset({"proposal", "transfers"}),
    "acceptance": frozenset({"accepted"}),
    "rejection": frozenset({"refusals"}),
    "termination": frozenset({"refusals"}),
    "completion": frozenset({"completed"}),
    "notice": frozenset({"changes"}),
    "withdrawal": frozenset({"withdrawn"}),
}
WIRE_CHANGE_KEYS = frozenset({"change", "serials", "reason"})
WIRE_TRANSFER_KEYS = frozenset(
    {"transaction_id", "from_registry", "from_account", "to_registry", "to_account", "blocks"}
)
WIRE_REFUSAL_KEYS = frozenset({"transaction_id", "codes", "messages"})
WIRE_SIGNED_KEYS = frozenset({"message", "signer_id", "signature"})
WIRE_BLOCK_KEYS = frozenset(
    {"origin", "unit_type", "vintage", "start", "end", "project_id", "article6_authorized"}
)


def _block(data: Any) -> UnitBlock:
    """Rebuild a block from a peer's data, refusing what UnitBlock would assert on."""
    # One pass over the exact shape, the usual case; anything else is diagnosed below.
    if type(data) is dict and data.keys() == WIRE_BLOCK_KEYS:
        origin, unit_type, project_id = data["origin"], data["unit_type"], data["project_id"]
        vintage, start, end = data["vintage"], data["start"], data["end"]
        authorised = data["article6_authorized"]
        if (
            type(origin) is str
            and type(unit_type) is str
            and type(project_id) is str
            and type(vintage) is int
            and type(start) is int
            and type(end) is int
            and type(authorised) is bool
            and 1 <= start <= end <= SERIAL_MAX
            and 0 <= vintage <= 9999
        ):
            return UnitBlock(origin, unit_type, vintage, start, end, project_id, authorised)
    fields = peer_data.fields(data, WIRE_BLOCK_KEYS, "block")
    for key in ("origin", "unit_type", "project_id"):
        peer_data.text(fields, key)
    vintage, start, end = (
        peer_data.integer(fields, "vintage"),
        peer_data.integer(fields, "start"),
        peer_data.integer(fields, "end"),
    )
    if type(fields["article6_authorized"]) is not bool:
        raise peer_data.malformed("article6_authorized must be a boolean")
    raise peer_data.malformed(f"block has a bad vintage {vintage} or serial range {start}-{end}")


def _check_id(name: str, value: Any) -> None:
    if type(value) is not str or not 1 <= len(value) <= ID_LENGTH_MAX:
        raise ValueError(
            f"{name} must be a string of 1 to {ID_LENGTH_MAX} characters, was {value!r}"
        )


def _check_tuple(name: str, value: Any) -> None:
    # A list would make equal messages compare unequal and the value mutable.
    if type(value) is not tuple:
        raise ValueError(f"{name} must be a tuple, was {type(value).__name__}")


def _check_text(name: str, value: Any) -> None:
    if type(value) is not str or len(value) > TEXT_LENGTH_MAX:
        raise ValueError(f"{name} must be a string of at most {TEXT_LENGTH_MAX} characters")


def _check_serial_range(item: Any) -> None:
    if type(item) is not tuple or len(item) != 5:
        raise ValueError(
            f"a serial range is (origin, unit type, vintage, start, end), was {item!r}"
        )
    origin, unit_type, vintage, start, end = item
    _check_id("origin", origin)
    _check_id("unit_type", unit_type)
    if type(vintage) is not int or not 0 <= vintage <= 9999:
        raise ValueError(f"bad vintage {vintage!r}")
    if type(start) is not int or type(end) is not int or not 1 <= start <= end <= SERIAL_MAX:
        raise ValueError(f"bad serial range {start!r}-{end!r}")


def _check_time(name: str, value: Any) -> None:
    try:
        parse_time(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be canonical time text, was {value!r}") from None


def _check_transfer_ids(batch_id: str, ids: list[str]) -> None:
    """Check a batch names 1 to TRANSFERS_PER_MESSAGE_MAX distinct transfers."""
    if not 1 <= len(ids) <= TRANSFERS_PER_MESSAGE_MAX:
        raise ValueError(
            f"batch {batch_id}: expected 1 to {TRANSFERS_PER_MESSAGE_MAX} transfers, was {len(ids)}"
        )
    for transfer_id in ids:
        _check_id("transfer transaction_id", transfer_id)
    if len(set(ids)) != len(ids):
        raise ValueError(f"batch {batch_id}: a transfer transaction id repeats")
