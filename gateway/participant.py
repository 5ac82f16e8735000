"""The machinery the gateway and each registry's endpoint share: journal, trust, sequence, outbox.

A participant is a single-writer state machine sourced from its inputs, the
LMAX way: every input that changes it (a message it takes, an operator's
command, the passing of simulated time) is validated, applied and appended
to its own hash-chained journal stream; reopening replays the inputs through
the same handlers, which rebuilds the state and the unacknowledged outbox
exactly: processing is deterministic given the input, the moment recorded
with it and — for an endpoint, whose answers depend on its registry — the
decision journaled with it; Ed25519 signatures are deterministic too.
Signatures of received messages are not checked again on replay: the signed
journal vouches for them.

A handler validates first and raises a `RegistryError` (or subclass) before
changing anything; only an accepted input is journaled.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from gateway.channel import Outbox, Outcome, Receipt
from gateway.errors import GatewayError, LinkCode
from gateway.messages import Message, SignedMessage
from gateway.trust import Admission, SequenceTracker, TrustStore
from registry import canonical
from registry.clock import SimulatedClock, format_time, parse_time
from registry.errors import ConcurrentWriterError
from registry.journal import ChainVerifier, GroupCommit, Journal, read_entries, read_head
from registry.keys import SigningKey

RECEIVED = "received"  # the journal kind of a message taken
ACKNOWLEDGED = "acknowledged"  # a recipient committed our messages up to a sequence
RESEQUENCED = "resequenced"  # our messages to a recipient took new sequence numbers
ALERTED = "alerted"  # something a person must look at: the protocol was abused


@dataclass(frozen=True, slots=True)
class ProtocolAlert:
    """A refused message that says more than a fault: a key used by someone else."""

    at: str
    code: int
    sender_id: str
    sequence: int
    detail: str


class Participant(ABC):
    """One party to the protocol (the gateway, or a registry's endpoint)."""

    def __init__(
        self,
        participant_id: str,
        key: SigningKey,
        clock: SimulatedClock,
        trust: TrustStore | None = None,
    ) -> None:
        self.participant_id = participant_id
        self.key = key
        self.clock = clock
        self.trust = trust or TrustStore()
        self.tracker = SequenceTracker(participant_id)
        self.outbox = Outbox(participant_id)
        self.journal: Journal | None = None
        self.replaying = False
        self._replay_time: datetime | None = None
        # An input that says when it is decided (time passing) sets this meanwhile.
        self._decision_time: datetime | None = None
        self._must_commit = False  # an entry other than an acknowledgement is buffered
        # Journal seq that took each sender's last message, for a duplicate's receipt.
        self._last_taken: dict[str, int] = {}
        self.alerts: list[ProtocolAlert] = []
        self._handlers: dict[str, Callable[[dict[str, Any]], Any]] = {
            ACKNOWLEDGED: self._take_acknowledgement,
            RESEQUENCED: self._take_resequencing,
            ALERTED: self._take_alert,
        }

    # ------------------------------------------------------------ journal

    def _start_journal(self, engine: Engine, stream: str, group_commit: GroupCommit | None) -> None:
        self.journal = Journal.create(engine, stream, self.key, group_commit)

    def _replay_journal(
        self, engine: Engine, stream: str, group_commit: GroupCommit | None
    ) -> None:
        """Verify the stream and run every journaled input again, then open it for writing."""
        head_seq, head_hash = read_head(engine, stream, self.key.verify_key)
        chain = ChainVerifier(stream)
        self.replaying = True
        try:
            for entry in read_entries(engine, stream, 0, head_seq):
                chain.check(entry)
                data = entry.data
                # Each input is decided again at the moment it was first decided.
                self._replay_time = parse_time(data["at"])
                self._dispatch(entry.kind, data, entry.seq)
        finally:
            self.replaying = False
        if self._replay_time is not None and self._replay_time > self.clock.now():
            self.clock.set(self._replay_time)
        self._replay_time = None
        chain.finish(head_seq, head_hash)
        self.journal = Journal.open(engine, stream, self.key, group_commit)
        if self.journal.seq != head_seq:
            raise ConcurrentWriterError(
                f"journal {stream!r} moved from seq {head_seq} to {self.journal.seq} while it "
                "was being replayed"
            )
        self.outbox.release()

    def _dispatch(self, kind: str, data: dict[str, Any], seq: int) -> None:
        if kind == RECEIVED:
            signed = SignedMessage.from_bytes(data["data"].encode("utf-8"))
            admission = self.tracker.admit(signed)
            assert admission is Admission.ACCEPTED, f"journal entry {seq} took a duplicate"
            self._last_taken[signed.message.sender_id] = seq
            self._take(signed, data.get("decision"))
        else:
            self._handlers[kind](data)

    def flush(self, force: bool = True) -> None:
        """Commit the journal, then make the messages it produced sendable.

        Without `force`, a journal holding only acknowledgements is not
        committed yet: losing one costs a harmless resend, and committing it
        would cost a transaction per participant per delivery round.
        """
        journal = self._writable_journal()
        if force or self._must_commit:
            journal.flush()
            self._must_commit = False
        self.outbox.release()

    @property
    def committed_seq(self) -> int:
        assert self.journal is not None
        return self.journal.committed_seq

    def _writable_journal(self) -> Journal:
        journal = self.journal
        assert journal is not None, f"{self.participant_id} has no journal"
        if journal.failed is not None:
            raise ConcurrentWriterError(
                f"{self.participant_id}: a commit failed ({journal.failed}); reopen it"
            )
        return journal

    def _now(self) -> datetime:
        """Return the moment of the input being decided, at the journal's resolution."""
        if self._decision_time is not None:
            return self._decision_time
        if self._replay_time is not None:
            return self._replay_time
        return self.clock.now().replace(microsecond=0)

    def _command(
        self,
        kind: str,
        data: dict[str, Any],
        journaled: dict[str, Any] | None = None,
        journaled_text: Callable[[str], str] | None = None,
    ) -> Any:
        """Validate and apply one command, then journal it (`journaled`: its plain data, when
        `data` carries objects built for the live path; `journaled_text`: given the time's
        text, exactly `canonical.encode_text` of that data with its "at", for a command
        whose data the caller can write faster than the generic encoder)."""
        journal = self._writable_journal()
        at = format_time(self._now())
        result = self._handlers[kind](data)
        if journaled_text is not None:
            journal.append_text(at, kind, journaled_text(at))
        else:
            journal.append(at, kind, {**(data if journaled is None else journaled), "at": at})
        self._must_commit = self._must_commit or kind != ACKNOWLEDGED
        return result

    # ------------------------------------------------------------ messages

    def receive(self, data: bytes) -> Receipt:
        """Take one signed message from a peer, or refuse it and change nothing."""
        journal = self._writable_journal()
        try:
            signed = SignedMessage.from_bytes(data)
            signed.verify(self.trust)
            admission = self.tracker.admit(signed)
        except GatewayError as error:
            if error.code == LinkCode.SEQUENCE_TAKEN:
                return self._refuse_taken_sequence(signed, error)
            return Receipt(Outcome.REFUSED, 0, int(error.code), error.message)
        sender = signed.message.sender_id
        if admission is Admission.ALREADY_PROCESSED:
            return Receipt(Outcome.ALREADY_TAKEN, self._last_taken[sender])
        at = format_time(self._now())
        text = data.decode("utf-8")
        decision = self._take(signed, None)
        # The bytes as received, as one string: the journal keeps what was signed.
        body = '{"at":' + canonical.quote(at) + ',"data":' + canonical.quote(text)
        if decision is not None:
            body += ',"decision":' + canonical.encode_text(decision)
        body += "}"
        seq = journal.append_text(at, RECEIVED, body)
        self._must_commit = True
        self._last_taken[sender] = seq
        return Receipt(Outcome.TAKEN, seq)

    def _refuse_taken_sequence(self, signed: SignedMessage, error: GatewayError) -> Receipt:
        """Refuse an honest message whose sequence another message took, and raise an alert.

        The message that took it was signed with the sender's key: the key is in
        other hands, or the sender's channel was written by someone else. The
        receipt tells the sender the sequence to go on from, so its honest
        messages are not lost (see `resequence`).
        """
        message = signed.message
        self._command(
            ALERTED,
            {
                "code": int(error.code),
                "sender_id": message.sender_id,
                "sequence": message.sequence,
                "detail": error.message,
            },
        )
        expected = self.tracker.expected(message.sender_id)
        return Receipt(Outcome.REFUSED, 0, int(error.code), error.message, expected)

    def _take_alert(self, data: dict[str, Any]) -> None:
        self.alerts.append(
            ProtocolAlert(
                format_time(self._now()),
                data["code"],
                data["sender_id"],
                data["sequence"],
                data["detail"],
            )
        )

    def resequence(self, recipient_id: str, from_sequence: int, to_sequence: int) -> None:
        """Send our messages to `recipient_id` from `from_sequence` on again as `to_sequence`
        on: the recipient took `from_sequence` from another message (9030)."""
        if to_sequence <= from_sequence:
            raise GatewayError(
                LinkCode.MESSAGE_OUT_OF_SEQUENCE,
                f"re-sequencing moves messages forward, not from {from_sequence} to {to_sequence}",
            )
        self._command(
            RESEQUENCED,
            {"recipient": recipient_id, "from_sequence": from_sequence, "to_sequence": to_sequence},
        )

    def _take_resequencing(self, data: dict[str, Any]) -> None:
        self.outbox.renumber(data["recipient"], data["from_sequence"], data["to_sequence"])

    @abstractmethod
    def _take(self, signed: SignedMessage, decision: Any) -> Any:
        """Act on a message admitted in sequence; never raise for a peer's business error.

        A participant whose answer depends on state outside its own journal
        (an endpoint asks its registry) returns that answer as plain data; it
        is journaled with the message and handed back as `decision` on replay,
        so the replay decides exactly as the first time. Others return None.
        """

    def acknowledge(self, recipient_id: str, sequence: int) -> None:
        """Forget messages to `recipient_id` up to `sequence`: the recipient committed them."""
        self._command(ACKNOWLEDGED, {"recipient": recipient_id, "sequence": sequence})

    def _take_acknowledgement(self, data: dict[str, Any]) -> None:
        self.outbox.acknowledge(data["recipient"], data["sequence"])

    def _send(self, kind: type[Message], recipient_id: str, **fields: Any) -> Message:
        """Stage a message of `kind` to `recipient_id` with the next sequence on that channel."""
        message = kind(
            sender_id=self.participant_id,
            recipient_id=recipient_id,
            sequence=self.outbox.next_sequence(recipient_id),
            **fields,
        )
        self.outbox.stage(message)
        return message
