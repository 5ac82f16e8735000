"""A journaled registry: the ledger's commands, each accepted event appended to the journal.

Business logic runs in memory (`Ledger`); durability comes from the
hash-chained journal, committed in groups. A caller that passes
`durable=True` gets its answer only after its batch is committed. If a
commit fails (another writer, a lost database), this instance refuses every
further command: its memory is ahead of the store, and the remedy is to
reopen, which replays what was committed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, insert, select

from registry import canonical
from registry.accounts import Account, AccountKind
from registry.clock import SimulatedClock, format_time
from registry.controls import ControlSettings
from registry.errors import ConcurrentWriterError, JournalIntegrityError
from registry.events import (
    AccountOpened,
    AccountStatusChanged,
    Event,
    IssuanceCapSet,
    LockPurpose,
    QuarantineLifted,
    RegistryResumed,
    RegistrySuspended,
    SerialsQuarantined,
    UnitsExported,
    UnitsImported,
    UnitsIssued,
    UnitsMoved,
    UnitTypeRegistered,
    event_from_data,
)
from registry.journal import (
    ChainVerifier,
    GroupCommit,
    Journal,
    JournalEntry,
    head_message,
    read_entries,
    read_head,
)
from registry.keys import SigningKey, VerifyKey
from registry.ledger import Ledger
from registry.store import heads_table, holdings_table, make_engine, snapshots_table
from registry.units import UnitBlock, UnitType

SNAPSHOT_EVERY_EVENTS = 50_000
# Events with a hand-written `to_text`, equal to the canonical encoding of `to_data`.
_DIRECT_TEXT = frozenset({UnitsMoved, UnitsExported, UnitsImported})


class Registry:
    """One registry, journaled to a SQL store. The single writer of its stream."""

    def __init__(
        self,
        ledger: Ledger,
        journal: Journal,
        clock: SimulatedClock,
        snapshot_every_events: int = SNAPSHOT_EVERY_EVENTS,
    ) -> None:
        self.ledger = ledger
        self.journal = journal
        self.clock = clock
        self.snapshot_every_events = snapshot_every_events
        self.snapshot_seq = 0
        # The journal's time text of the last moment seen: the clock stands still
        # across many commands, and formatting costs more than comparing.
        self._sim_time: tuple[datetime | None, str] = (None, "")
        # Called with (journal seq, event) after each event is journaled: a registry's
        # endpoint tells the transaction log of what changes its units' fate.
        self.listeners: list[Callable[[int, Any], None]] = []

    # ------------------------------------------------------------ lifecycle

    @classmethod
    def create(
        cls,
        store: str | Engine,
        code: str,
        name: str,
        key: SigningKey,
        clock: SimulatedClock | None = None,
        unit_types: Iterable[UnitType] = (),
        group_commit: GroupCommit | None = None,
        snapshot_every_events: int = SNAPSHOT_EVERY_EVENTS,
    ) -> Registry:
        """Found registry `code` in `store` (a URL or an engine) and commit its genesis."""
        engine = make_engine(store) if isinstance(store, str) else store
        ledger = Ledger()
        events = ledger.create(code, name)
        for unit_type in unit_types:
            events.append(ledger.register_unit_type(unit_type))
        journal = Journal.create(engine, code, key, group_commit)
        registry = cls(ledger, journal, clock or SimulatedClock(), snapshot_every_events)
        for event in events:
            registry.journal.append(format_time(registry.clock.now()), event.kind, event.to_data())
        registry.journal.flush()
        return registry

    @classmethod
    def open(
        cls,
        store: str | Engine,
        code: str,
        key: SigningKey,
        clock: SimulatedClock | None = None,
        group_commit: GroupCommit | None = None,
        snapshot_every_events: int = SNAPSHOT_EVERY_EVENTS,
        verify_from_genesis: bool = True,
    ) -> Registry:
        """Open registry `code` for writing: verify the journal, load the latest
        snapshot and replay the events after it."""
        engine = make_engine(store) if isinstance(store, str) else store
        ledger, snapshot_seq, head_seq = load_ledger(
            engine, code, key.verify_key, verify_from_genesis
        )
        journal = Journal.open(engine, code, key, group_commit)
        if journal.seq != head_seq:
            raise ConcurrentWriterError(
                f"journal {code!r} moved from seq {head_seq} to {journal.seq} "
                "while it was being opened"
            )
        registry = cls(ledger, journal, clock or SimulatedClock(), snapshot_every_events)
        registry.snapshot_seq = snapshot_seq
        return registry

    def flush(self) -> None:
        """Commit everything buffered; afterwards every accepted command is durable."""
        self.journal.flush()
        if self.journal.committed_seq - self.snapshot_seq >= self.snapshot_every_events:
            self.snapshot()

    def close(self) -> None:
        if self.journal.failed is None:
            self.flush()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def snapshot(self) -> int:
        """Commit, then store a signed snapshot and refresh the `holdings` table."""
        self.journal.flush()
        seq = self.journal.committed_seq
        if seq == self.snapshot_seq:
            # Nothing happened since the last snapshot; a second row at seq would clash.
            return seq
        state = canonical.encode_text(self.ledger.to_snapshot())
        state_sha = hashlib.sha256(state.encode("utf-8")).hexdigest()
        signature = self.journal.sign(_snapshot_message(self.ledger.code, seq, state_sha)).hex()
        rows = _holdings_rows(self.ledger, seq)
        with self.journal.engine.begin() as connection:
            # Single writer: a stale instance must not roll the holdings table back.
            head_seq = connection.execute(
                select(heads_table.c.seq)
                .where(heads_table.c.stream == self.journal.stream)
                .with_for_update()
            ).scalar_one()
            if head_seq != seq:
                raise ConcurrentWriterError(
                    f"journal {self.journal.stream!r}: another writer moved the head to seq "
                    f"{head_seq}; this writer's snapshot at seq {seq} was not stored"
                )
            connection.execute(
                insert(snapshots_table),
                {
                    "stream": self.ledger.code,
                    "seq": seq,
                    "hash": self.journal.committed_hash,
                    "state": state,
                    "state_sha256": state_sha,
                    "signature": signature,
                },
            )
            connection.execute(
                delete(holdings_table).where(holdings_table.c.registry == self.ledger.code)
            )
            if rows:
                connection.execute(insert(holdings_table), rows)
        self.snapshot_seq = seq
        return seq

    # ------------------------------------------------------------ commands

    @property
    def code(self) -> str:
        return self.ledger.code

    def register_unit_type(self, unit_type: UnitType, durable: bool = False) -> UnitTypeRegistered:
        return self._record(self._writable_ledger.register_unit_type(unit_type), durable)

    def set_issuance_cap(
        self, unit_type: str, vintage: int, cap_t: int, durable: bool = False
    ) -> IssuanceCapSet:
        return self._record(
            self._writable_ledger.set_issuance_cap(unit_type, vintage, cap_t), durable
        )

    def open_account(
        self, kind: AccountKind, holder: str, label: str = "", durable: bool = False
    ) -> AccountOpened:
        return self._record(self._writable_ledger.open_account(kind, holder, label), durable)

    def block_account(
        self, account: str, reason: str = "", durable: bool = False
    ) -> AccountStatusChanged:
        return self._record(self._writable_ledger.block_account(account, reason), durable)

    def unblock_account(
        self, account: str, reason: str = "", durable: bool = False
    ) -> AccountStatusChanged:
        return self._record(self._writable_ledger.unblock_account(account, reason), durable)

    def close_account(
        self, account: str, reason: str = "", durable: bool = False
    ) -> AccountStatusChanged:
        return self._record(self._writable_ledger.close_account(account, reason), durable)

    def suspend(self, reason: str, durable: bool = False) -> RegistrySuspended:
        return self._record(self._writable_ledger.suspend(reason), durable)

    def resume(self, reason: str, durable: bool = False) -> RegistryResumed:
        return self._record(self._writable_ledger.resume(reason), durable)

    def quarantine_serials(
        self, unit_type: str, vintage: int, start: int, end: int, reason: str, durable: bool = False
    ) -> SerialsQuarantined:
        return self._record(
            self._writable_ledger.quarantine_serials(unit_type, vintage, start, end, reason),
            durable,
        )

    def lift_quarantine(
        self, unit_type: str, vintage: int, start: int, end: int, durable: bool = False
    ) -> QuarantineLifted:
        return self._record(
            self._writable_ledger.lift_quarantine(unit_type, vintage, start, end), durable
        )

    def issue(
        self,
        unit_type: str,
        vintage: int,
        quantity: int,
        account: str | None = None,
        project_id: str = "",
        article6_authorized: bool = False,
        start_serial: int | None = None,
        durable: bool = False,
    ) -> UnitsIssued:
        event = self._writable_ledger.issue(
            unit_type, vintage, quantity, account, project_id, article6_authorized, start_serial
        )
        return self._record(event, durable)

    def transfer(
        self,
        from_account: str,
        to_account: str,
        unit_type: str,
        quantity: int,
        vintage: int | None = None,
        durable: bool = False,
    ) -> UnitsMoved:
        return self._record(
            self._writable_ledger.transfer(from_account, to_account, unit_type, quantity, vintage),
            durable,
        )

    def transfer_blocks(
        self, from_account: str, to_account: str, blocks: Iterable[UnitBlock], durable: bool = False
    ) -> UnitsMoved:
        return self._record(
            self._writable_ledger.transfer_blocks(from_account, to_account, blocks), durable
        )

    def allocate(
        self,
        from_account: str,
        to_account: str,
        unit_type: str,
        quantity: int,
        vintage: int | None = None,
        durable: bool = False,
    ) -> UnitsMoved:
        return self._record(
            self._writable_ledger.allocate(from_account, to_account, unit_type, quantity, vintage),
            durable,
        )

    def surrender(
        self,
        account: str,
        unit_type: str,
        quantity: int,
        period: int,
        vintage: int | None = None,
        durable: bool = False,
    ) -> UnitsMoved:
        return self._record(
            self._writable_ledger.surrender(account, unit_type, quantity, period, vintage), durable
        )

    def surrender_blocks(
        self, account: str, blocks: Iterable[UnitBlock], period: int, durable: bool = False
    ) -> UnitsMoved:
        return self._record(
            self._writable_ledger.surrender_blocks(account, blocks, period), durable
        )

    def cancel(
        self,
        account: str,
        unit_type: str,
        quantity: int,
        vintage: int | None = None,
        durable: bool = False,
    ) -> UnitsMoved:
        return self._record(
            self._writable_ledger.cancel(account, unit_type, quantity, vintage), durable
        )

    def retire(
        self,
        account: str,
        unit_type: str,
        quantity: int,
        vintage: int | None = None,
        durable: bool = False,
    ) -> UnitsMoved:
        return self._record(
            self._writable_ledger.retire(account, unit_type, quantity, vintage), durable
        )

    def lock(
        self,
        lock_id: str,
        account: str,
        unit_type: str,
        quantity: int,
        purpose: LockPurpose,
        vintage: int | None = None,
        durable: bool = False,
    ) -> UnitsMoved:
        ledger = self._writable_ledger
        event = ledger.lock(
            lock_id, account, unit_type, quantity, purpose, vintage, now=self.clock.now()
        )
        return self._record(event, durable)

    def lock_blocks(
        self,
        lock_id: str,
        account: str,
        blocks: Iterable[UnitBlock],
        purpose: LockPurpose,
        durable: bool = False,
    ) -> UnitsMoved:
        return self._record(
            self._writable_ledger.lock_blocks(lock_id, account, blocks, purpose), durable
        )

    def export_locked(
        self, lock_id: str, transfer_id: str, to_registry: str, durable: bool = False
    ) -> UnitsExported:
        return self._record(
            self._writable_ledger.export_locked(lock_id, transfer_id, to_registry), durable
        )

    def import_blocks(
        self,
        transfer_id: str,
        from_registry: str,
        account: str,
        blocks: Iterable[UnitBlock],
        durable: bool = False,
    ) -> UnitsImported:
        return self._record(
            self._writable_ledger.import_blocks(transfer_id, from_registry, account, blocks),
            durable,
        )

    def unlock(self, lock_id: str, durable: bool = False) -> UnitsMoved:
        return self._record(self._writable_ledger.unlock(lock_id), durable)

    # ------------------------------------------------------------ transfer controls

    def configure_controls(self, settings: ControlSettings, durable: bool = False) -> Any:
        return self._record(self._writable_ledger.controls.configure(settings), durable)

    def add_representative(self, account: str, representative: str, durable: bool = False) -> Any:
        return self._record(
            self._writable_ledger.controls.add_representative(account, representative), durable
        )

    def set_trusted_only(self, account: str, trusted_only: bool, durable: bool = False) -> Any:
        return self._record(
            self._writable_ledger.controls.set_trusted_only(account, trusted_only), durable
        )

    def add_trusted_account(
        self,
        account: str,
        trusted_account: str,
        trusted_registry: str | None = None,
        durable: bool = False,
    ) -> Any:
        """Trust a payee; it counts from the time the registry's delay rule gives."""
        event = self._writable_ledger.controls.add_trusted_account(
            account, trusted_account, self.clock.now(), trusted_registry
        )
        return self._record(event, durable)

    def initiate_transfer(
        self,
        transaction_id: str,
        from_account: str,
        to_account: str,
        unit_type: str,
        quantity: int,
        representative: str,
        vintage: int | None = None,
        to_registry: str | None = None,
        durable: bool = False,
    ) -> Any:
        """Initiate a transfer as an authorised representative; return the transfer's record."""
        events = self._writable_ledger.controls.initiate_transfer(
            transaction_id,
            from_account,
            to_account,
            unit_type,
            quantity,
            representative,
            self.clock.now(),
            vintage,
            to_registry,
        )
        self._record_all(events, durable)
        return self.ledger.controls.controlled_transfer(transaction_id)

    def approve_transfer(
        self, transaction_id: str, representative: str, durable: bool = False
    ) -> Any:
        """Approve as a second representative; return the transfer's record."""
        events = self._writable_ledger.controls.approve_transfer(
            transaction_id, representative, self.clock.now()
        )
        self._record_all(events, durable)
        return self.ledger.controls.controlled_transfer(transaction_id)

    def cancel_transfer(
        self, transaction_id: str, representative: str, durable: bool = False
    ) -> Any:
        return self._record(
            self._writable_ledger.controls.cancel_transfer(transaction_id, representative), durable
        )

    def terminate_transfer(
        self, transaction_id: str, code: int, message: str, durable: bool = False
    ) -> Any:
        return self._record(
            self._writable_ledger.controls.terminate_transfer(transaction_id, code, message),
            durable,
        )

    def release_due(self, durable: bool = False) -> list[Any]:
        """Execute the internal transfers whose delay has run out by the clock's now."""
        events = self._writable_ledger.controls.release_due(self.clock.now())
        self._record_all(events, durable)
        return events

    def _record_all(self, events: list[Any], durable: bool) -> None:
        for event in events:
            self._record(event, False)
        if durable:
            self.flush()

    # ------------------------------------------------------------ queries

    def account(self, reference: str) -> Account:
        return self.ledger.account(reference)

    def accounts(self) -> list[Account]:
        return self.ledger.accounts()

    def check_conservation(self) -> None:
        self.ledger.check_conservation()

    # ------------------------------------------------------------ internals

    @property
    def _writable_ledger(self) -> Ledger:
        """Return the ledger for a command, refusing once a commit has failed.

        Checked before the command runs: after a failed commit the ledger is
        ahead of the store, and must not move further.
        """
        if self.journal.failed is not None:
            raise ConcurrentWriterError(
                f"registry {self.code}: a commit failed ({self.journal.failed}); reopen it"
            )
        return self.ledger

    def _record(self, event: Any, durable: bool) -> Any:
        now = self.clock.now()
        moment, sim_time = self._sim_time
        if moment is None or now != moment:
            sim_time = format_time(now)
            self._sim_time = (now, sim_time)
        # Transfers write their bodies directly; any other event's by the generic encoder.
        if type(event) in _DIRECT_TEXT:
            body = event.to_text()
        else:
            body = canonical.encode_text(event.to_data())
        seq = self.journal.append_text(sim_time, event.kind, body)
        for listener in self.listeners:
            listener(seq, event)
        if durable:
            self.flush()
        elif seq - self.snapshot_seq >= self.snapshot_every_events:
            # A registry that only ever group-commits still snapshots on its cadence, so
            # a restart replays at most `snapshot_every_events` events after a snapshot.
            self.snapshot()
        return event


def load_ledger(
    engine: Engine, code: str, verify_key: VerifyKey, verify_from_genesis: bool = True
) -> tuple[Ledger, int, int]:
    """Rebuild a registry's ledger from the store, verifying chain, head and snapshot.

    Returns the ledger, the seq of the snapshot it started from and the head seq.
    """
    head_seq, head_hash = read_head(engine, code, verify_key)
    snapshot = _latest_snapshot(engine, code, head_seq)
    chain = ChainVerifier(code)
    if snapshot is None:
        ledger, start_seq = Ledger(), 0
    else:
        start_seq = snapshot.seq
        state_sha = hashlib.sha256(snapshot.state.encode("utf-8")).hexdigest()
        if state_sha != snapshot.state_sha256 or not verify_key.verify(
            bytes.fromhex(snapshot.signature), _snapshot_message(code, snapshot.seq, state_sha)
        ):
            raise JournalIntegrityError(
                f"registry {code!r}: snapshot at seq {snapshot.seq} does not verify"
            )
        if verify_from_genesis:
            for entry in read_entries(engine, code, 0, snapshot.seq):
                chain.check(entry)
            if chain.hash != snapshot.hash:
                raise JournalIntegrityError(
                    f"registry {code!r}: snapshot at seq {snapshot.seq} does not match the journal"
                )
        else:
            chain = ChainVerifier(code, snapshot.seq, snapshot.hash)
        ledger = Ledger.from_snapshot(canonical.decode(snapshot.state))
    for entry in read_entries(engine, code, start_seq, head_seq):
        chain.check(entry)
        ledger.apply(_decode(entry))
    chain.finish(head_seq, head_hash)
    return ledger, start_seq, head_seq


def verify_journal(engine: Engine, code: str, verify_key: VerifyKey) -> tuple[int, str]:
    """Verify the whole chain of `code` and its signed head; return (seq, head hash)."""
    head_seq, head_hash = read_head(engine, code, verify_key)
    chain = ChainVerifier(code)
    for entry in read_entries(engine, code, 0, head_seq):
        chain.check(entry)
        _decode(entry)
    chain.finish(head_seq, head_hash)
    return head_seq, head_hash


def _decode(entry: JournalEntry) -> Event:
    try:
        return event_from_data(entry.kind, entry.data)
    except (KeyError, ValueError, TypeError) as error:
        raise JournalIntegrityError(f"journal {entry.stream!r} seq {entry.seq}: {error}") from None


def _latest_snapshot(engine: Engine, code: str, head_seq: int) -> Any:
    with engine.connect() as connection:
        return connection.execute(
            select(snapshots_table)
            .where(snapshots_table.c.stream == code)
            .where(snapshots_table.c.seq <= head_seq)
            .order_by(snapshots_table.c.seq.desc())
            .limit(1)
        ).one_or_none()


def _snapshot_message(code: str, seq: int, state_sha: str) -> bytes:
    return head_message(f"snapshot:{code}", seq, state_sha)


def _holdings_rows(ledger: Ledger, seq: int) -> list[dict[str, Any]]:
    return [
        {
            "registry": ledger.code,
            "account_id": record.account_id,
            "unit_type": block.unit_type,
            "vintage": block.vintage,
            "serial_start": block.start,
            "serial_end": block.end,
            "quantity": block.quantity,
            "origin": block.origin,
            "project_id": block.project_id,
            "article6_authorized": block.article6_authorized,
            "account_kind": record.kind.value,
            "holder": record.holder,
            "label": record.label,
            "snapshot_seq": seq,
        }
        for record in ledger.accounts()
        for block in record.holding.blocks()
    ]
