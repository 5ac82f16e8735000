"""A registry's side of the transfer protocol: propose, answer forwards, act on final notices.

The endpoint speaks for one `Registry` with the registry's own key, and keeps
its protocol state (what it proposed, what it accepted, its channels) in its
own journal stream `<code>.link` beside the registry's, like compliance does,
so `registry` stays free of protocol concepts.

- `propose` locks each transfer's units pending-out in the registry, then
  signs one `TransferProposal` for the batch. If any lock fails, the locks
  already taken are released and the error raised: nothing is proposed.
- On a `Forward`, it checks the origin's signature inside, then each
  transfer as the registry would credit it (account exists, is open, may
  hold the units, the serials are not already here; the link admits the
  account's kind) and answers with an `Acceptance` and/or a `Rejection`.
- On a `Completion`, the origin exports the locked units and the
  destination credits them; on a `Rejection` or `Termination` the origin
  unlocks and the destination forgets the accepted transfer.
- It tells the log, in a signed `Notice`, of every registry event that
  changes a block's fate or the registry's state (`gateway.notices`): the log
  refuses what it knows to be terminal, quarantined or suspended. Notices go
  out before any later proposal, and a notice lost in a crash is sent again
  on reopening (the endpoint reads the registry's journal after the last
  registry event it told).
- A transfer with no final word when the link's origin time-out passes is
  withdrawn: the endpoint asks the log to end it (`Withdrawal`) and unlocks
  on the log's answer, never on its own — the log may have completed it.

Registry effects are not repeated on replay: the registry's journal already
holds them. The registry's journal is committed before the endpoint's, so
after a crash an effect may be in the registry without the endpoint knowing
it took the notice; the notice comes again and the effect is recognised by
its transfer id (`Ledger.has_transfer`, or a lock already gone). A lock
taken for a proposal that was never journaled is released on reopening.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from gateway.errors import GatewayError, LinkCode
from gateway.links import ORIGIN_TIMEOUT_MINUTES, Link
from gateway.messages import (
    TEXT_LENGTH_MAX,
    TRANSFERS_PER_MESSAGE_MAX,
    Acceptance,
    Completion,
    Forward,
    Notice,
    Refusal,
    Rejection,
    SignedMessage,
    Termination,
    TransactionStatus,
    Transfer,
    TransferProposal,
    UnitChange,
    Withdrawal,
)
from gateway.notices import changes_of, is_noticed
from gateway.participant import Participant, ProtocolAlert
from registry.clock import format_time, parse_time
from registry.errors import CheckCode, RegistryError
from registry.events import LockPurpose, event_from_data
from registry.journal import GroupCommit, read_entries
from registry.keys import SigningKey, VerifyKey
from registry.registry import Registry
from registry.serial_ranges import RangeSet, add_range, add_ranges, remove_ranges
from registry.units import UnitBlock

SerialKey = tuple[str, str, int]  # (origin, unit type, vintage)
CATCH_UP_MARK = 1_000  # registry entries read without a change before the reading is marked


@dataclass(frozen=True, slots=True)
class TransferOrder:
    """A transfer a registry user asks for: a quantity (oldest vintage first) or named blocks."""

    transaction_id: str
    from_account: str
    to_registry: str
    to_account: str
    unit_type: str = ""
    quantity: int = 0
    vintage: int | None = None
    blocks: tuple[UnitBlock, ...] = ()


@dataclass(frozen=True, slots=True)
class FinalStatus:
    """How a transfer this registry took part in ended."""

    status: TransactionStatus
    codes: tuple[int, ...] = ()
    messages: tuple[str, ...] = ()


def link_stream(registry_code: str) -> str:
    """Return the journal stream of a registry's endpoint."""
    return f"{registry_code}.link"


class RegistryEndpoint(Participant):
    """One registry's endpoint on the gateway network."""

    def __init__(
        self, registry: Registry, key: SigningKey, gateway_id: str, links: Iterable[Link] = ()
    ) -> None:
        super().__init__(registry.code, key, registry.clock)
        self.registry = registry
        self.gateway_id = gateway_id
        self.links = {link.link_id: link for link in links}
        self._timeouts: dict[str, timedelta] = {}  # destination → origin time-out (links fixed)
        self.outgoing: dict[str, Transfer] = {}  # proposed, units locked, awaiting the final word
        self.incoming: dict[str, Transfer] = {}  # accepted, awaiting completion
        self._arriving: dict[SerialKey, RangeSet] = {}  # the serials of `incoming`
        self.finished: dict[str, FinalStatus] = {}
        self.stranded: dict[str, str] = {}  # completed but not credited: id → why
        self.proposed_at: dict[str, datetime] = {}  # outgoing id → when it was proposed
        self.withdrawn: dict[str, datetime] = {}  # outgoing id → when its time-out withdrew it
        # What the log must hear of, seen in the registry and not yet journaled here.
        self._changes: list[UnitChange] = []
        self._changes_through = 0  # the registry journal seq of the last change seen
        self.noticed_seq = 0  # the registry journal seq through which the log was told
        self._handlers.update(
            {
                "proposed": self._record_proposal,
                "trusted": self._trust,
                "noticed": self._record_notice,
                "withdrawn": self._record_withdrawal,
            }
        )
        # One endpoint speaks for a registry: a reopened one takes the old one's place.
        registry.listeners[:] = [
            listener
            for listener in registry.listeners
            if not isinstance(getattr(listener, "__self__", None), RegistryEndpoint)
        ]
        registry.listeners.append(self._observe)

    @classmethod
    def create(
        cls,
        registry: Registry,
        key: SigningKey,
        gateway_id: str,
        gateway_key: VerifyKey,
        links: Iterable[Link] = (),
        group_commit: GroupCommit | None = None,
    ) -> RegistryEndpoint:
        """Start the endpoint's journal in the registry's store, trusting the gateway's key."""
        endpoint = cls(registry, key, gateway_id, links)
        endpoint.trust.add(registry.code, key.verify_key)
        endpoint._start_journal(registry.journal.engine, link_stream(registry.code), group_commit)
        endpoint._commit_registry_first()
        endpoint.trust_participant(gateway_id, gateway_key)
        endpoint._catch_up_notices()
        endpoint.flush()
        return endpoint

    @classmethod
    def open(
        cls,
        registry: Registry,
        key: SigningKey,
        gateway_id: str,
        links: Iterable[Link] = (),
        group_commit: GroupCommit | None = None,
    ) -> RegistryEndpoint:
        """Reopen the endpoint: replay its journal, then release orphaned locks."""
        endpoint = cls(registry, key, gateway_id, links)
        endpoint.trust.add(registry.code, key.verify_key)
        endpoint._replay_journal(registry.journal.engine, link_stream(registry.code), group_commit)
        endpoint._commit_registry_first()
        endpoint._release_orphaned_locks()
        endpoint._catch_up_notices()
        return endpoint

    def _commit_registry_first(self) -> None:
        """Make every commit of the endpoint's journal, automatic ones included, commit the
        registry's journal first: an endpoint entry never outlives the registry entries it
        stands on (a proposal without its lock, a completion without its credit)."""
        assert self.journal is not None
        self.journal.before_commit = self.registry.journal.flush

    def trust_participant(self, participant_id: str, key: VerifyKey) -> None:
        """Trust another participant's key (the gateway's, or another registry's)."""
        self._command(
            "trusted", {"participant": participant_id, "public_key": key.to_pem().decode()}
        )

    def flush(self, force: bool = True) -> None:
        """Tell the log what changed, then commit the registry's journal and the endpoint's
        (see the module's crash rule)."""
        self._send_notices()
        self.registry.flush()
        super().flush(force)

    # ------------------------------------------------------------ notices

    def _observe(self, seq: int, event: object) -> None:
        """Note a registry event the log must hear of (the registry calls this)."""
        changes = changes_of(event)
        if changes:
            self._changes.extend(changes)
            self._changes_through = seq

    def _catch_up_notices(self) -> None:
        """Note the changes journaled by the registry after the last one the log was told of:
        lost with a crash between the registry's commit and the endpoint's, or made before
        the endpoint existed."""
        registry = self.registry
        read = 0
        for entry in read_entries(registry.journal.engine, registry.code, self.noticed_seq):
            read += 1
            if is_noticed(entry.kind, entry.data):
                self._observe(entry.seq, event_from_data(entry.kind, entry.data))
        if not self._changes and read > CATCH_UP_MARK:
            # Nothing to tell: mark how far the journal was read, so the next opening
            # does not read it again.
            self._command("noticed", {"registry_seq": registry.journal.seq, "changes": []})

    def _send_notices(self) -> None:
        if not self._changes:
            return
        changes, self._changes = self._changes, []
        self._command(
            "noticed",
            {"registry_seq": self._changes_through, "changes": changes},
            {"registry_seq": self._changes_through, "changes": [c.to_data() for c in changes]},
        )

    def _record_notice(self, data: dict[str, Any]) -> None:
        changes = [
            item if type(item) is UnitChange else UnitChange.from_data(item)
            for item in data["changes"]
        ]
        seq = data["registry_seq"]
        self.noticed_seq = max(self.noticed_seq, seq)
        size = TRANSFERS_PER_MESSAGE_MAX
        for index in range(0, len(changes), size):
            self._send(
                Notice,
                self.gateway_id,
                transaction_id=f"notice-{seq}" + (f"-{index // size}" if index else ""),
                changes=tuple(changes[index : index + size]),
            )

    # ------------------------------------------------------------ time-outs

    def origin_timeout(self, transfer: Transfer) -> timedelta:
        """How long this registry waits for the log's final word on `transfer`."""
        destination = transfer.to_registry
        timeout = self._timeouts.get(destination)
        if timeout is None:
            parties = {transfer.from_registry, destination}
            timeout = max(
                (link.origin_timeout for link in self.links.values() if link.parties == parties),
                default=timedelta(minutes=ORIGIN_TIMEOUT_MINUTES),
            )
            self._timeouts[destination] = timeout
        return timeout

    def next_due(self) -> datetime | None:
        """Return the earliest moment an outgoing transfer's time-out passes, if any."""
        return min(
            (
                moment + self.origin_timeout(self.outgoing[transfer_id])
                for transfer_id, moment in self.proposed_at.items()
                if transfer_id not in self.withdrawn
            ),
            default=None,
        )

    def advance(self, now: datetime | None = None) -> list[str]:
        """Withdraw every outgoing transfer whose time-out has passed; return their ids.

        The units stay locked until the log answers: it may have completed the
        transfer, and then the units have left.
        """
        if now is not None and now > self.clock.now():
            self.clock.set(now)
        moment = self._now()
        due = sorted(
            transfer_id
            for transfer_id, proposed in self.proposed_at.items()
            if transfer_id not in self.withdrawn
            and proposed + self.origin_timeout(self.outgoing[transfer_id]) <= moment
        )
        if due:
            self._command("withdrawn", {"transfers": due})
        return due

    def _record_withdrawal(self, data: dict[str, Any]) -> None:
        ids = list(data["transfers"])
        moment = self._now()
        for transfer_id in ids:
            self.withdrawn[transfer_id] = moment
        for index in range(0, len(ids), TRANSFERS_PER_MESSAGE_MAX):
            chunk = tuple(ids[index : index + TRANSFERS_PER_MESSAGE_MAX])
            self._send(Withdrawal, self.gateway_id, transaction_id=chunk[0], withdrawn=chunk)

    def stuck(self) -> list[tuple[Transfer, datetime, datetime | None]]:
        """Return the outgoing transfers past their time-out or withdrawn, with when they
        were proposed and withdrawn: units locked with no final word."""
        moment = self._now()
        return [
            (self.outgoing[transfer_id], proposed, self.withdrawn.get(transfer_id))
            for transfer_id, proposed in sorted(self.proposed_at.items())
            if transfer_id in self.withdrawn
            or proposed + self.origin_timeout(self.outgoing[transfer_id]) <= moment
        ]

    # ------------------------------------------------------------ proposing

    def propose(self, orders: Iterable[TransferOrder]) -> TransferProposal:
        """Lock the units of each order and sign one proposal for them all.

        Raises the first failed lock's `RegistryError` after releasing the
        locks already taken: then nothing is proposed.
        """
        orders = list(orders)
        self._send_notices()  # the log hears of what changed before anything new is proposed
        if not 1 <= len(orders) <= TRANSFERS_PER_MESSAGE_MAX:
            raise GatewayError(
                CheckCode.INVALID_ARGUMENT,
                f"a proposal carries 1 to {TRANSFERS_PER_MESSAGE_MAX} transfers, was {len(orders)}",
            )
        self._writable_journal()
        ids = [order.transaction_id for order in orders]
        if len(set(ids)) != len(ids):
            raise GatewayError(CheckCode.TRANSACTION_ID_EXISTS, "a transaction id repeats")
        for transaction_id in ids:
            if self._knows(transaction_id):
                raise GatewayError(
                    CheckCode.TRANSACTION_ID_EXISTS,
                    f"transaction id {transaction_id} was used before",
                )
        transfers = self._lock_all(orders)
        at = format_time(self._now())
        journaled = {"proposed_at": at, "transfers": [t.to_data() for t in transfers]}
        # The handler takes the Transfer objects just built; the journal their data.
        proposal: TransferProposal = self._command(
            "proposed", {"proposed_at": at, "transfers": transfers}, journaled
        )
        return proposal

    def _lock_all(self, orders: list[TransferOrder]) -> list[Transfer]:
        transfers: list[Transfer] = []
        try:
            for order in orders:
                transfers.append(self._lock(order))
        except (RegistryError, ValueError):
            for transfer in reversed(transfers):
                self.registry.unlock(transfer.transaction_id)
            raise
        return transfers

    def _lock(self, order: TransferOrder) -> Transfer:
        registry = self.registry
        purpose = LockPurpose.EXTERNAL_TRANSFER
        if order.to_registry == registry.code:
            raise GatewayError(
                CheckCode.ACQUIRING_ACCOUNT_EQUALS_TRANSFERRING,
                f"{order.transaction_id}: an external transfer leaves {registry.code}",
            )
        if order.blocks:
            moved = registry.lock_blocks(
                order.transaction_id, order.from_account, order.blocks, purpose
            )
        else:
            moved = registry.lock(
                order.transaction_id,
                order.from_account,
                order.unit_type,
                order.quantity,
                purpose,
                order.vintage,
            )
        return Transfer(
            order.transaction_id,
            registry.code,
            moved.from_account,
            order.to_registry,
            order.to_account,
            tuple(moved.blocks),
        )

    def _record_proposal(self, data: dict[str, Any]) -> TransferProposal:
        transfers = tuple(
            item if type(item) is Transfer else Transfer.from_data(item)
            for item in data["transfers"]
        )
        proposed_at = parse_time(data["proposed_at"])
        for transfer in transfers:
            self.outgoing[transfer.transaction_id] = transfer
            self.proposed_at[transfer.transaction_id] = proposed_at
        proposal = self._send(
            TransferProposal,
            self.gateway_id,
            transaction_id=transfers[0].transaction_id,
            transfers=transfers,
            proposed_at=data["proposed_at"],
        )
        assert isinstance(proposal, TransferProposal)
        return proposal

    def _trust(self, data: dict[str, Any]) -> None:
        self.trust.add(data["participant"], VerifyKey.from_pem(data["public_key"].encode()))

    def _release_orphaned_locks(self) -> None:
        """Unlock external-transfer locks whose proposal never reached the endpoint's journal."""
        for lock in self.registry.ledger.locks():
            if lock.purpose is LockPurpose.EXTERNAL_TRANSFER and lock.lock_id not in self.outgoing:
                self.registry.unlock(lock.lock_id)
        self.registry.flush()

    # ------------------------------------------------------------ taking messages

    def _take(self, signed: SignedMessage, decision: Any) -> Any:
        """Act on the gateway's message; return what was decided from the registry's state.

        Whether to accept a forwarded transfer, and whether a completed one
        could be credited, depend on the registry's state at that moment, so
        the answer is journaled and reused on replay.
        """
        message = signed.message
        if message.sender_id != self.gateway_id:
            return None  # only the gateway speaks to an endpoint; the tracker has it recorded
        if isinstance(message, Forward):
            return self._answer_forward(message, decision)
        if isinstance(message, Completion):
            stranded: dict[str, str] = dict(decision or {})
            for transfer_id in message.completed:
                if not self._knows(transfer_id):
                    # The log completed a transfer in this registry's name that it never
                    # proposed nor accepted: a proposal was signed with its key elsewhere.
                    self.alerts.append(
                        ProtocolAlert(
                            format_time(self._now()),
                            int(LinkCode.UNKNOWN_TRANSFER),
                            message.sender_id,
                            message.sequence,
                            f"the log completed {transfer_id}, which {self.participant_id} "
                            "never proposed nor accepted: its key signed a proposal elsewhere",
                        )
                    )
                self._complete(transfer_id, stranded)
            return stranded or None
        if isinstance(message, Rejection | Termination):
            status = (
                TransactionStatus.REJECTED
                if isinstance(message, Rejection)
                else TransactionStatus.TERMINATED
            )
            for refusal in message.refusals:
                self._end(refusal, status)
        return None

    def _answer_forward(self, forward: Forward, decision: Any) -> dict[str, Any]:
        if decision is None:
            accepted, refusals = self._decide(forward)
        else:
            accepted = list(decision["accepted"])
            refusals = [Refusal.from_data(item) for item in decision["refusals"]]
        by_id = {transfer.transaction_id: transfer for transfer in forward.forwarded()}
        for transfer_id in accepted:
            transfer = by_id[transfer_id]
            self.incoming[transfer_id] = transfer
            add_ranges(self._arriving, ((b.serial_key, b.start, b.end) for b in transfer.blocks))
        if accepted:
            self._send(
                Acceptance,
                self.gateway_id,
                transaction_id=forward.transaction_id,
                accepted=tuple(accepted),
            )
        if refusals:
            self._send(
                Rejection,
                self.gateway_id,
                transaction_id=forward.transaction_id,
                refusals=tuple(refusals),
            )
        return {"accepted": accepted, "refusals": [refusal.to_data() for refusal in refusals]}

    def _decide(self, forward: Forward) -> tuple[list[str], list[Refusal]]:
        """Check the origin's signature, then each transfer as the registry would credit it."""
        accepted: list[str] = []
        refusals: list[Refusal] = []
        origin_error: GatewayError | None = None
        try:
            forward.proposal.verify(self.trust)
        except GatewayError as refused:
            origin_error = refused
        arriving: dict[SerialKey, RangeSet] = {}  # accepted so far in this forward
        for transfer in forward.forwarded():
            error = origin_error or self._acceptance_error(transfer, arriving)
            if error is None:
                accepted.append(transfer.transaction_id)
                for block in transfer.blocks:
                    add_range(arriving, block.serial_key, block.start, block.end)
            else:
                refusals.append(
                    Refusal(
                        transfer.transaction_id,
                        (int(error.code),),
                        (error.message[:TEXT_LENGTH_MAX],),
                    )
                )
        return accepted, refusals

    def _acceptance_error(
        self, transfer: Transfer, arriving: dict[SerialKey, RangeSet]
    ) -> RegistryError | None:
        """Return why this registry would not credit `transfer`, or None to accept it."""
        if self._knows(transfer.transaction_id):
            return GatewayError(
                CheckCode.TRANSACTION_ID_EXISTS,
                f"transfer {transfer.transaction_id} was already answered here",
            )
        ledger = self.registry.ledger
        try:
            account = ledger.check_import(
                transfer.transaction_id,
                transfer.from_registry,
                transfer.to_account,
                transfer.blocks,
            )
        except RegistryError as error:
            return error
        for link in self.links.values():
            if link.parties == {transfer.from_registry, self.participant_id} and (
                account.kind not in link.importing_account_kinds
            ):
                kinds = ", ".join(sorted(link.importing_account_kinds))
                return GatewayError(
                    CheckCode.ACQUIRING_ACCOUNT_TYPE_MAY_NOT_HOLD_UNITS,
                    f"link {link.link_id} imports into {kinds} accounts; "
                    f"{account.account_id} is a {account.kind} account",
                )
        for block in transfer.blocks:
            for pending in (self._arriving, arriving):
                serials = pending.get(block.serial_key)
                if serials is not None and serials.overlaps(block.start, block.end):
                    return GatewayError(
                        CheckCode.BLOCKS_NOT_HELD,
                        f"block {block} is already arriving in another accepted transfer",
                    )
        return None

    def _complete(self, transfer_id: str, stranded: dict[str, str]) -> None:
        registry = self.registry
        if transfer_id in self.outgoing:
            transfer = self._forget_outgoing(transfer_id)
            if not self.replaying and not registry.ledger.has_transfer(transfer_id):
                registry.export_locked(transfer_id, transfer_id, transfer.to_registry)
        elif transfer_id in self.incoming:
            transfer = self._forget_incoming(transfer_id)
            if not self.replaying and not registry.ledger.has_transfer(transfer_id):
                try:
                    registry.import_blocks(
                        transfer_id, transfer.from_registry, transfer.to_account, transfer.blocks
                    )
                except RegistryError as error:
                    # The log completed it; the units must be credited by hand.
                    # Reconciliation reports them until an operator resolves it.
                    stranded[transfer_id] = error.message
        else:
            return
        if transfer_id in stranded:
            self.stranded[transfer_id] = stranded[transfer_id]
        self.finished[transfer_id] = FinalStatus(TransactionStatus.COMPLETED)

    def _end(self, refusal: Refusal, status: TransactionStatus) -> None:
        transfer_id = refusal.transaction_id
        if transfer_id in self.outgoing:
            self._forget_outgoing(transfer_id)
            if not self.replaying and self.registry.ledger.lock_record(transfer_id) is not None:
                self.registry.unlock(transfer_id)
        elif transfer_id in self.incoming:
            self._forget_incoming(transfer_id)
        else:
            return
        self.finished[transfer_id] = FinalStatus(status, refusal.codes, refusal.messages)

    def _knows(self, transaction_id: str) -> bool:
        """Return whether this registry has used the id, either way: one id, one transfer."""
        return (
            transaction_id in self.outgoing
            or transaction_id in self.incoming
            or transaction_id in self.finished
        )

    def _forget_outgoing(self, transfer_id: str) -> Transfer:
        self.proposed_at.pop(transfer_id, None)
        self.withdrawn.pop(transfer_id, None)
        return self.outgoing.pop(transfer_id)

    def _forget_incoming(self, transfer_id: str) -> Transfer:
        transfer = self.incoming.pop(transfer_id)
        remove_ranges(self._arriving, ((b.serial_key, b.start, b.end) for b in transfer.blocks))
        return transfer

    # ------------------------------------------------------------ controlled transfers
    #
    # Where the registry's transfer controls gate an account (four-eyes, a payee
    # delay), an external transfer is initiated and approved in the registry,
    # which journals it; once its delay has run out, `propose_due` proposes it
    # under its transaction id. The registry refuses a direct proposal from a
    # gated account (9113), so these are the only way out of one.

    def initiate(self, order: TransferOrder, representative: str) -> list[TransferProposal]:
        """Initiate an external transfer as an authorised representative.

        Returns the proposals made: one when no second approval or delay is
        needed, none while it awaits approval or its execution time.
        """
        if order.blocks:
            raise GatewayError(
                CheckCode.INVALID_ARGUMENT,
                f"{order.transaction_id}: an initiated transfer names a quantity, not blocks",
            )
        if self._knows(order.transaction_id):
            raise GatewayError(
                CheckCode.TRANSACTION_ID_EXISTS,
                f"transaction id {order.transaction_id} was used before",
            )
        if order.to_registry == self.registry.code:
            raise GatewayError(
                CheckCode.ACQUIRING_ACCOUNT_EQUALS_TRANSFERRING,
                f"{order.transaction_id}: an external transfer leaves {self.registry.code}",
            )
        self.registry.initiate_transfer(
            order.transaction_id,
            order.from_account,
            order.to_account,
            order.unit_type,
            order.quantity,
            representative,
            order.vintage,
            order.to_registry,
        )
        return self.propose_due()

    def approve(self, transaction_id: str, representative: str) -> list[TransferProposal]:
        """Approve an external transfer as a second representative; return the proposals made."""
        self.registry.approve_transfer(transaction_id, representative)
        return self.propose_due()

    def cancel(self, transaction_id: str, representative: str) -> None:
        """Cancel a transfer awaiting approval or its execution time (status 7)."""
        self.registry.cancel_transfer(transaction_id, representative)

    def propose_due(self) -> list[TransferProposal]:
        """Execute due internal transfers and propose each due external one, by the clock.

        A due transfer whose lock is refused (its units moved meanwhile, the
        registry was suspended) ends terminated (status 5) with that code.
        """
        self.registry.release_due()
        proposals: list[TransferProposal] = []
        for record in self.registry.ledger.controls.due_external(self._now()):
            order = TransferOrder(
                record.transaction_id,
                record.from_account,
                record.to_registry,
                record.to_account,
                record.unit_type,
                record.quantity,
                record.vintage,
            )
            try:
                proposals.append(self.propose([order]))
            except RegistryError as error:
                self.registry.terminate_transfer(record.transaction_id, error.code, error.message)
        return proposals

    # ------------------------------------------------------------ queries

    def status(self, transfer_id: str) -> TransactionStatus:
        """Return where a transfer stands as this registry knows it."""
        if transfer_id in self.finished:
            return self.finished[transfer_id].status
        if transfer_id in self.outgoing:
            return TransactionStatus.PROPOSED
        if transfer_id in self.incoming:
            return TransactionStatus.ACCEPTED
        raise GatewayError(
            LinkCode.UNKNOWN_TRANSFER, f"{self.participant_id} knows no {transfer_id}"
        )
