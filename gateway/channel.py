"""What a participant has sent and not yet seen taken, and what a recipient answers a delivery.

The protocol's durability rule, in two halves:

- A participant sends a message only after the journal entry that produced
  it is committed (write-ahead): until then the message is *staged*, and a
  crash forgets it together with the state that made it. `Outbox.release`
  turns staged messages into sendable ones after each commit.
- A sender forgets a message only when the recipient has committed the
  entry that took it: `Outbox.acknowledge` drops every message up to a
  sequence. Until then the message is sent again, and the recipient answers
  a copy it already took as a duplicate or replay, changing nothing.

Messages are kept unsigned and signed on first send, so rebuilding an outbox
by replaying a journal costs no signatures.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, replace
from enum import Enum

from gateway.errors import LinkCode
from gateway.messages import Message, SignedMessage
from registry.keys import SigningKey

MESSAGES_IN_FLIGHT_MAX = 100_000  # per channel: staged or sent, not yet acknowledged


class Outcome(Enum):
    """What a recipient did with one delivered message."""

    TAKEN = "taken"  # new: processed and journaled
    ALREADY_TAKEN = "already taken"  # an exact copy of one it took: nothing changed
    REFUSED = "refused"  # failed a message check: nothing changed


@dataclass(frozen=True, slots=True)
class Receipt:
    """The recipient's answer to one delivery.

    `journal_seq` is the recipient's journal entry that took the message; the
    sender may forget the message once the recipient has committed it.
    """

    outcome: Outcome
    journal_seq: int = 0
    code: int = 0
    message: str = ""
    expected_sequence: int = 0  # with 9030: the sequence the recipient takes next

    @property
    def settles_delivery(self) -> bool:
        """Return whether the sender need not send this message again.

        A replay refusal (9012) of one of our own messages means the recipient
        took it before: the copy's sequence is below what it expects next.
        """
        return self.outcome is not Outcome.REFUSED or self.code == LinkCode.MESSAGE_REPLAYED


class _Entry:
    __slots__ = ("message", "released", "signed_bytes")

    def __init__(self, message: Message) -> None:
        self.message = message
        self.released = False
        self.signed_bytes: bytes | None = None


class Outbox:
    """One sender's messages, per recipient, in sequence order, until acknowledged."""

    def __init__(self, sender_id: str) -> None:
        self.sender_id = sender_id
        self._next_sequence: dict[str, int] = {}
        self._entries: dict[str, deque[_Entry]] = {}

    def next_sequence(self, recipient_id: str) -> int:
        return self._next_sequence.get(recipient_id, 1)

    def stage(self, message: Message) -> None:
        """Hold `message` until the journal entry that produced it is committed."""
        recipient = message.recipient_id
        assert message.sender_id == self.sender_id, f"{message} is not from {self.sender_id}"
        assert message.sequence == self.next_sequence(recipient), (
            f"{message.KIND} to {recipient} has sequence {message.sequence}, "
            f"expected {self.next_sequence(recipient)}"
        )
        queue = self._entries.setdefault(recipient, deque())
        if len(queue) >= MESSAGES_IN_FLIGHT_MAX:
            raise OverflowError(
                f"{self.sender_id} has {len(queue):,} messages to {recipient} not acknowledged; "
                "deliver them before sending more"
            )
        queue.append(_Entry(message))
        self._next_sequence[recipient] = message.sequence + 1

    def release(self) -> None:
        """Make every staged message sendable: the entries that produced them are committed."""
        for queue in self._entries.values():
            for entry in reversed(queue):
                if entry.released:
                    break
                entry.released = True

    def sendable(self, recipient_id: str, key: SigningKey) -> list[tuple[int, bytes]]:
        """Return (sequence, signed bytes) of the released messages to `recipient_id`, in order."""
        found = []
        for entry in self._entries.get(recipient_id, ()):
            if not entry.released:
                break
            if entry.signed_bytes is None:
                entry.signed_bytes = SignedMessage.sign(entry.message, key).to_bytes()
            found.append((entry.message.sequence, entry.signed_bytes))
        return found

    def renumber(self, recipient_id: str, from_sequence: int, to_sequence: int) -> int:
        """Give the messages to `recipient_id` from `from_sequence` on new sequences from
        `to_sequence` (the recipient took their numbers from another message); return how
        many. They are signed again when next sent."""
        renumbered = 0
        next_sequence = to_sequence
        for entry in self._entries.get(recipient_id, ()):
            if entry.message.sequence < from_sequence:
                continue
            entry.message = replace(entry.message, sequence=next_sequence)
            entry.signed_bytes = None
            next_sequence += 1
            renumbered += 1
        if renumbered:
            self._next_sequence[recipient_id] = next_sequence
        return renumbered

    def recipients(self) -> list[str]:
        return [recipient for recipient, queue in self._entries.items() if queue]

    def acknowledge(self, recipient_id: str, sequence: int) -> None:
        """Forget every message to `recipient_id` up to and including `sequence`."""
        queue = self._entries.get(recipient_id)
        while queue and queue[0].message.sequence <= sequence:
            queue.popleft()

    def unacknowledged(self, recipient_id: str | None = None) -> list[Message]:
        """Return the messages not yet acknowledged (all recipients when None), in order."""
        recipients = self._entries if recipient_id is None else [recipient_id]
        return [entry.message for r in recipients for entry in self._entries.get(r, ())]

    def __len__(self) -> int:
        return sum(len(queue) for queue in self._entries.values())
