"""How messages travel between participants: a transport, faults, and the delivery pump.

`Transport` is the port: in-process delivery by default (`DirectTransport`);
a networked transport can replace it without touching the protocol.
`FaultyTransport` wraps another and drops, duplicates and delays (so
reorders) messages from a seeded random source, for tests and drills.

`Network.pump` moves every sendable message, channel by channel in sequence
order, then commits every participant, then acknowledges what recipients
committed, and repeats until nothing is left to send. A lost message is sent
again on the next round; a recipient answers a copy it already took without
changing anything, so retries are safe.
"""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, field
from fractions import Fraction

from gateway.channel import Outcome, Receipt
from gateway.errors import GatewayError, LinkCode
from gateway.participant import Participant

ROUNDS_MAX = 1_000  # pump rounds before giving up on a network that does not settle


class Transport(ABC):
    """Carries one message's bytes to its recipient; None means it never arrived."""

    @abstractmethod
    def deliver(self, sender_id: str, recipient_id: str, data: bytes) -> Receipt | None:
        """Hand `data` to `recipient_id` and return its receipt, or None if lost."""


class DirectTransport(Transport):
    """In-process delivery: the recipient's `receive` is called at once."""

    def __init__(self) -> None:
        self.participants: dict[str, Participant] = {}

    def deliver(self, sender_id: str, recipient_id: str, data: bytes) -> Receipt | None:
        recipient = self.participants.get(recipient_id)
        if recipient is None:
            return Receipt(
                Outcome.REFUSED,
                code=LinkCode.UNKNOWN_PARTICIPANT,
                message=f"no participant {recipient_id!r} on this network",
            )
        return recipient.receive(data)


@dataclass
class Faults:
    """Chances, per delivery, that a message is dropped, duplicated or held back."""

    drop: Fraction = Fraction(0)
    duplicate: Fraction = Fraction(0)
    delay: Fraction = Fraction(0)

    def __post_init__(self) -> None:
        for name in ("drop", "duplicate", "delay"):
            chance = getattr(self, name)
            if not 0 <= chance < 1:
                raise ValueError(f"{name} chance must be in [0, 1), was {chance}")


@dataclass
class FaultyTransport(Transport):
    """Another transport, with seeded faults. Held-back messages arrive later, out of order."""

    inner: Transport
    faults: Faults
    seed: int = 0
    held: list[tuple[str, str, bytes]] = field(default_factory=list)
    counts: dict[str, int] = field(
        default_factory=lambda: {"dropped": 0, "duplicated": 0, "delayed": 0}
    )

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    def deliver(self, sender_id: str, recipient_id: str, data: bytes) -> Receipt | None:
        self._release_some()
        if self._chance(self.faults.drop):
            self.counts["dropped"] += 1
            return None
        if self._chance(self.faults.delay):
            self.counts["delayed"] += 1
            self.held.append((sender_id, recipient_id, data))
            return None
        receipt = self.inner.deliver(sender_id, recipient_id, data)
        if self._chance(self.faults.duplicate):
            self.counts["duplicated"] += 1
            self.inner.deliver(sender_id, recipient_id, data)
        return receipt

    def _release_some(self) -> None:
        """Deliver some held-back messages now, in shuffled order (their receipts are lost)."""
        if not self.held:
            return
        self._random.shuffle(self.held)
        keep = []
        for item in self.held:
            if self._chance(Fraction(1, 2)):
                self.inner.deliver(*item)
            else:
                keep.append(item)
        self.held = keep

    def flush_held(self) -> None:
        """Deliver every held-back message (their receipts are lost, as in a real network)."""
        held, self.held = self.held, []
        for item in held:
            self.inner.deliver(*item)

    def _chance(self, chance: Fraction) -> bool:
        return chance > 0 and self._random.randrange(chance.denominator) < chance.numerator


@dataclass(frozen=True, slots=True)
class StuckMessage:
    """A message its recipient refused for a reason a retry cannot cure."""

    sender_id: str
    recipient_id: str
    sequence: int
    code: int
    message: str


class Network:
    """Participants joined by one transport; `pump` drives messages until all are delivered."""

    def __init__(
        self, participants: Iterable[Participant] = (), transport: Transport | None = None
    ) -> None:
        self.direct = DirectTransport()
        self.transport = transport or self.direct
        self.participants: dict[str, Participant] = {}
        self.stuck: list[StuckMessage] = []
        for participant in participants:
            self.join(participant)

    def join(self, participant: Participant) -> None:
        """Add a participant, or put a reopened one in the place of its old instance."""
        self.participants[participant.participant_id] = participant
        self.direct.participants[participant.participant_id] = participant

    def pending(self) -> int:
        """Return how many messages are waiting to be delivered or acknowledged."""
        return sum(len(p.outbox) for p in self.participants.values())

    def pump(self, rounds_max: int = ROUNDS_MAX) -> int:
        """Deliver until every outbox is empty; return the rounds it took.

        Raises GatewayError 9025 when the network does not settle within
        `rounds_max` rounds (a message refused for good blocks its channel).
        """
        self._flush_all()
        for rounds in range(rounds_max + 1):
            if self.pending() == 0:
                return rounds
            if rounds < rounds_max:
                self._round()
        raise GatewayError(
            LinkCode.MESSAGES_UNDELIVERED,
            f"{self.pending()} messages still undelivered after {rounds_max} rounds; "
            f"stuck: {self.stuck[-5:]}",
        )

    def step(self) -> None:
        """Run one round: commit what is staged, deliver, commit, acknowledge."""
        self._flush_all()
        self._round()

    def _round(self) -> None:
        delivered = self._deliver_round()
        self._flush_all()
        self._acknowledge(delivered)

    def _deliver_round(self) -> dict[tuple[str, str], tuple[int, int]]:
        """Send each channel's messages in order, stopping a channel at its first loss."""
        delivered: dict[tuple[str, str], tuple[int, int]] = {}
        for sender_id in sorted(self.participants):
            sender = self.participants[sender_id]
            for recipient_id in sorted(sender.outbox.recipients()):
                for sequence, data in sender.outbox.sendable(recipient_id, sender.key):
                    receipt = self.transport.deliver(sender_id, recipient_id, data)
                    if receipt is None:
                        break
                    if not receipt.settles_delivery:
                        if receipt.code == LinkCode.SEQUENCE_TAKEN:
                            # Another message took this number: go on from the next one.
                            sender.resequence(recipient_id, sequence, receipt.expected_sequence)
                        elif receipt.code != LinkCode.MESSAGE_OUT_OF_SEQUENCE:
                            self.stuck.append(
                                StuckMessage(
                                    sender_id, recipient_id, sequence, receipt.code, receipt.message
                                )
                            )
                        break
                    delivered[(sender_id, recipient_id)] = (sequence, receipt.journal_seq)
        return delivered

    def _flush_all(self) -> None:
        for participant_id in sorted(self.participants):
            self.participants[participant_id].flush(force=False)

    def _acknowledge(self, delivered: dict[tuple[str, str], tuple[int, int]]) -> None:
        """Let senders forget what recipients have committed."""
        for (sender_id, recipient_id), (sequence, journal_seq) in sorted(delivered.items()):
            recipient = self.participants[recipient_id]
            if recipient.committed_seq >= journal_seq:
                self.participants[sender_id].acknowledge(recipient_id, sequence)
