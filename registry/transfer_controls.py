"""The registry's transfer controls: who may move which units out of an account, and when.

A policy layer over the ledger's custody of serial blocks; the settings and
the pure rules (delays, the WCI formula) are in `registry.controls`, the
reasons in docs/transfer-controls.md. `ControlState` is what the controls
remember: settings, representatives, trusted lists and each controlled
transfer, changed only by applying journaled events. `TransferControls`
validates the controls' own commands (representatives, trusted lists,
initiate, approve, cancel, release) and the moves the ledger asks it about
(a direct transfer or lock, an import), and records its events through the
ledger's `apply`, so replay and live state agree by construction.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from registry.accounts import Account, AccountKind, kind_names
from registry.clock import format_time, parse_time
from registry.controls import (
    CONTROLLED_KINDS,
    HOLDING_LIMIT_KINDS,
    OPEN_TRANSFERS_MAX,
    RELEASES_PER_CALL_MAX,
    REPRESENTATIVES_PER_ACCOUNT_MAX,
    TRUSTED_PER_ACCOUNT_MAX,
    ControlSettings,
    PendingTransfer,
    TransferStatus,
    execute_at,
    trusted_effective_at,
)
from registry.errors import CheckCode, RegistryError
from registry.events import (
    ControlsConfigured,
    Event,
    LockPurpose,
    RepresentativeAdded,
    TransactionType,
    TransferApproved,
    TransferEnded,
    TransferInitiated,
    TrustedAccountAdded,
    TrustedOnlySet,
    UnitsMoved,
)
from registry.labels import TEXT_LENGTH_MAX, check_text
from registry.units import UnitBlock, UnitKind

if TYPE_CHECKING:
    from collections.abc import Iterable

    from registry.ledger import CheckedTransfer, Ledger

Payee = tuple[str, str]  # (registry code, account id)

# The events `ControlState.apply` handles; the ledger hands each of them over.
CONTROL_EVENTS = frozenset(
    {
        ControlsConfigured,
        RepresentativeAdded,
        TrustedOnlySet,
        TrustedAccountAdded,
        TransferInitiated,
        TransferApproved,
        TransferEnded,
    }
)

_E = TypeVar("_E", bound=Event)


class ControlState:
    """Who may act for which account, whom it trusts since when, and each controlled transfer.

    Changed only by `apply` and `apply_moved`, which the ledger's apply calls.
    """

    def __init__(self) -> None:
        self.settings = ControlSettings()
        # Read on every transfer, so kept ready rather than derived each time.
        self.active = False
        self.holding_limit_t: int | None = None
        self.representatives: dict[str, tuple[str, ...]] = {}
        self.trusted: dict[str, dict[Payee, datetime]] = {}
        self.trusted_only: set[str] = set()
        self.transfers: dict[str, PendingTransfer] = {}
        # Not final and not yet handed on: awaiting approval or delayed.
        self.open: dict[str, PendingTransfer] = {}

    def configure(self, settings: ControlSettings) -> None:
        self.settings = settings
        self.active = settings != ControlSettings()
        self.holding_limit_t = settings.holding_limit

    # ------------------------------------------------------------ queries

    def is_representative(self, account_id: str, person: str) -> bool:
        return person in self.representatives.get(account_id, ())

    def is_trusted(self, account_id: str, payee: Payee, moment: datetime) -> bool:
        effective_at = self.trusted.get(account_id, {}).get(payee)
        return effective_at is not None and effective_at <= moment

    def open_from(self, account_id: str, external: bool, own_code: str, skip: str = "") -> str:
        """Return the id of an open transfer of the same type from `account_id`, or ""."""
        for record in self.open.values():
            if (
                record.from_account == account_id
                and record.external(own_code) == external
                and record.transaction_id != skip
            ):
                return record.transaction_id
        return ""

    def open_to(self, account_id: str, own_code: str, skip: str = "") -> str:
        """Return the id of an open internal transfer to `account_id`, or ""."""
        for record in self.open.values():
            if (
                record.to_account == account_id
                and not record.external(own_code)
                and record.transaction_id != skip
            ):
                return record.transaction_id
        return ""

    def due(self, moment: datetime) -> list[PendingTransfer]:
        """Return approved transfers whose delay has run out at `moment`, earliest first."""
        ready = [
            record
            for record in self.open.values()
            if record.status is TransferStatus.DELAYED
            and record.execute_at is not None
            and record.execute_at <= moment
        ]
        ready.sort(key=lambda record: (record.execute_at, record.transaction_id))
        return ready

    # ------------------------------------------------------------ apply

    def apply(self, event: Any) -> None:
        kind = type(event)
        if kind is ControlsConfigured:
            self.configure(event.settings)
        elif kind is RepresentativeAdded:
            known = self.representatives.get(event.account_id, ())
            self.representatives[event.account_id] = (*known, event.representative)
        elif kind is TrustedOnlySet:
            if event.trusted_only:
                self.trusted_only.add(event.account_id)
            else:
                self.trusted_only.discard(event.account_id)
        elif kind is TrustedAccountAdded:
            payee = (event.trusted_registry, event.trusted_account)
            self.trusted.setdefault(event.account_id, {})[payee] = event.effective_at
        elif kind is TransferInitiated:
            record = PendingTransfer(
                event.transaction_id,
                event.from_account,
                event.to_registry,
                event.to_account,
                event.unit_type,
                event.quantity,
                event.vintage,
                event.initiator,
            )
            self._store(record)
        elif kind is TransferApproved:
            record = self.open[event.transaction_id]
            assert record.status is TransferStatus.AWAITING_APPROVAL
            self._store(
                dataclasses.replace(
                    record,
                    status=TransferStatus.DELAYED,
                    approver=event.approver,
                    execute_at=event.execute_at,
                )
            )
        elif kind is TransferEnded:
            record = self.open[event.transaction_id]
            self._store(
                dataclasses.replace(
                    record, status=event.status, code=event.code, message=event.message
                )
            )
        else:
            raise AssertionError(f"no control rule for {kind.__name__}")

    def apply_moved(self, event: UnitsMoved) -> None:
        """Record an approved transfer handed on by a move carrying its id.

        A lock under an open transfer's id is its proposal to the hub (1); a
        transfer with a reference is only ever an approved one executed (4).
        """
        kind = event.transaction_type
        if kind is TransactionType.LOCK:
            if event.reference in self.open:
                self._handed_on(event.reference, TransferStatus.PROPOSED)
        elif kind is TransactionType.TRANSFER:
            self._handed_on(event.reference, TransferStatus.COMPLETED)

    def _handed_on(self, transaction_id: str, status: TransferStatus) -> None:
        record = self.open[transaction_id]
        assert record.status is TransferStatus.DELAYED, (
            f"{transaction_id} moved while {record.status.name}"
        )
        self._store(dataclasses.replace(record, status=status))

    def _store(self, record: PendingTransfer) -> None:
        self.transfers[record.transaction_id] = record
        if record.status in (TransferStatus.AWAITING_APPROVAL, TransferStatus.DELAYED):
            self.open[record.transaction_id] = record
        else:
            self.open.pop(record.transaction_id, None)

    # ------------------------------------------------------------ snapshot

    def to_snapshot(self) -> dict[str, Any]:
        return {
            "settings": self.settings.to_data(),
            "representatives": [
                [account_id, list(people)]
                for account_id, people in sorted(self.representatives.items())
            ],
            "trusted": [
                [account_id, registry, payee, format_time(effective_at)]
                for account_id, payees in sorted(self.trusted.items())
                for (registry, payee), effective_at in sorted(payees.items())
            ],
            "trusted_only": sorted(self.trusted_only),
            "transfers": [_record_data(record) for record in self.transfers.values()],
        }

    @classmethod
    def from_snapshot(cls, data: dict[str, Any]) -> ControlState:
        state = cls()
        state.configure(ControlSettings.from_data(data["settings"]))
        for account_id, people in data["representatives"]:
            state.representatives[account_id] = tuple(people)
        for account_id, registry, payee, effective_at in data["trusted"]:
            state.trusted.setdefault(account_id, {})[(registry, payee)] = parse_time(effective_at)
        state.trusted_only = set(data["trusted_only"])
        for record_data in data["transfers"]:
            state._store(_record_from_data(record_data))
        return state


class TransferControls:
    """A registry's transfer controls: their commands, and their checks on the ledger's moves.

    The ledger owns one and asks it, while any control is on, about each
    direct transfer and external-transfer lock (`check_direct`), each lock id
    (`check_lock_id`) and each import (`check_holding_limit`).
    """

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger
        self.state = ControlState()

    # ------------------------------------------------------------ administration

    def configure(self, settings: ControlSettings) -> ControlsConfigured:
        """Set the registry's transfer controls from now on (see `registry.controls`)."""
        self._ledger.require_created()
        problem = (
            settings.problem()
            if isinstance(settings, ControlSettings)
            else f"expected transfer control settings, was {settings!r}"
        )
        if problem is not None:
            raise RegistryError(CheckCode.INVALID_ARGUMENT, f"transfer controls: {problem}")
        return self._record(ControlsConfigured(settings))

    def add_representative(self, account: str, representative: str) -> RepresentativeAdded:
        """Name `representative` an authorised representative of `account` (administrator)."""
        record = self._controlled_account(account)
        check_text("representative", representative, required=True)
        people = self.state.representatives.get(record.account_id, ())
        if representative in people:
            raise RegistryError(
                CheckCode.INVALID_ARGUMENT,
                f"{representative!r} already represents account {record.account_id}",
            )
        if len(people) >= REPRESENTATIVES_PER_ACCOUNT_MAX:
            raise RegistryError(
                CheckCode.INVALID_ARGUMENT,
                f"account {record.account_id} has the maximum "
                f"{REPRESENTATIVES_PER_ACCOUNT_MAX} representatives",
            )
        return self._record(RepresentativeAdded(record.account_id, representative))

    def set_trusted_only(self, account: str, trusted_only: bool) -> TrustedOnlySet:
        """Let `account` pay only payees on its trusted list (2507), or any payee again."""
        record = self._controlled_account(account)
        if type(trusted_only) is not bool:
            raise RegistryError(
                CheckCode.INVALID_ARGUMENT,
                f"trusted_only must be true or false, was {trusted_only!r}",
            )
        return self._record(TrustedOnlySet(record.account_id, trusted_only))

    def add_trusted_account(
        self, account: str, trusted_account: str, now: datetime, trusted_registry: str | None = None
    ) -> TrustedAccountAdded:
        """Put a payee on `account`'s trusted list; it counts once the registry's delay has run."""
        record = self._controlled_account(account)
        own_code = self._ledger.code
        registry_code = own_code if trusted_registry is None else trusted_registry
        payee = self._ledger.payee_id(registry_code, trusted_account)
        if registry_code == own_code and payee == record.account_id:
            raise RegistryError(
                CheckCode.ACQUIRING_ACCOUNT_EQUALS_TRANSFERRING,
                f"account {payee} cannot trust itself",
            )
        listed = self.state.trusted.get(record.account_id, {})
        if (registry_code, payee) in listed:
            raise RegistryError(
                CheckCode.INVALID_ARGUMENT,
                f"{payee} is already on the trusted list of {record.account_id}",
            )
        if len(listed) >= TRUSTED_PER_ACCOUNT_MAX:
            raise RegistryError(
                CheckCode.INVALID_ARGUMENT,
                f"account {record.account_id} trusts the maximum "
                f"{TRUSTED_PER_ACCOUNT_MAX:,} payees",
            )
        effective_at = trusted_effective_at(self.state.settings, now)
        return self._record(
            TrustedAccountAdded(record.account_id, registry_code, payee, effective_at)
        )

    # ------------------------------------------------------------ controlled transfers

    def initiate_transfer(
        self,
        transaction_id: str,
        from_account: str,
        to_account: str,
        unit_type: str,
        quantity: int,
        representative: str,
        now: datetime,
        vintage: int | None = None,
        to_registry: str | None = None,
    ) -> list[Event]:
        """Initiate a transfer as `representative` of `from_account`; return the events.

        Under four-eyes it awaits another representative's approval (status 0);
        otherwise it is approved at once and waits only for its payee delay.
        `to_registry` names another registry for an external transfer, which
        the registry's endpoint proposes once it is due.
        """
        self._ledger.check_not_suspended(TransactionType.TRANSFER)
        self._check_new_id(transaction_id)
        registry_code = self._ledger.code if to_registry is None else to_registry
        pending = PendingTransfer(
            transaction_id,
            from_account,
            registry_code,
            to_account,
            unit_type,
            quantity,
            vintage,
            representative,
        )
        moving = self._checked(pending, now, executing=False)
        self._check_representative(moving.source.account_id, representative)
        initiated = TransferInitiated(
            transaction_id,
            moving.source.account_id,
            registry_code,
            moving.payee,
            unit_type,
            quantity,
            vintage,
            representative,
        )
        events: list[Event] = [self._record(initiated)]
        if not self.state.settings.four_eyes:
            events.extend(self._approve(self.state.open[transaction_id], representative, now))
        return events

    def approve_transfer(
        self, transaction_id: str, representative: str, now: datetime
    ) -> list[Event]:
        """Approve a transfer awaiting approval as a second representative; return the events.

        The checks run again; the transfer is then delayed until its execution
        time, and an internal one due at once executes now.
        """
        record = self._open_transfer(transaction_id)
        if record.status is not TransferStatus.AWAITING_APPROVAL:
            raise RegistryError(
                CheckCode.TRANSFER_NOT_PENDING,
                f"transfer {transaction_id} is {record.status.name.lower()}, not awaiting approval",
            )
        self._check_representative(record.from_account, representative)
        if representative == record.initiator:
            raise RegistryError(
                CheckCode.APPROVER_IS_INITIATOR,
                f"{representative!r} initiated transfer {transaction_id}; another authorised "
                "representative of the account must approve it",
            )
        return self._approve(record, representative, now)

    def cancel_transfer(self, transaction_id: str, representative: str) -> TransferEnded:
        """Cancel a transfer awaiting approval or waiting out its delay (status 7)."""
        record = self._open_transfer(transaction_id)
        self._check_representative(record.from_account, representative)
        return self._record(
            TransferEnded(
                transaction_id, TransferStatus.CANCELLED, 0, f"cancelled by {representative}"
            )
        )

    def terminate_transfer(self, transaction_id: str, code: int, message: str) -> TransferEnded:
        """End a due transfer that could not be proposed (status 5), e.g. its lock was refused."""
        record = self._open_transfer(transaction_id)
        if record.status is not TransferStatus.DELAYED:
            raise RegistryError(
                CheckCode.TRANSFER_NOT_PENDING,
                f"transfer {transaction_id} is {record.status.name.lower()}, not approved",
            )
        check_text("message", message[:TEXT_LENGTH_MAX])
        return self._record(
            TransferEnded(
                transaction_id, TransferStatus.TERMINATED, int(code), message[:TEXT_LENGTH_MAX]
            )
        )

    def release_due(self, now: datetime) -> list[Event]:
        """Execute the internal transfers whose delay has run out at `now`; return the events.

        One that no longer passes its checks ends terminated (status 5) with the
        failed check's code. External ones wait for the endpoint (`due_external`).
        """
        events: list[Event] = []
        for record in self.state.due(now)[:RELEASES_PER_CALL_MAX]:
            if not record.external(self._ledger.code):
                events.append(self._execute(record, now))
        return events

    def due_external(self, now: datetime) -> list[PendingTransfer]:
        """Return approved external transfers due at `now`, for the endpoint to propose."""
        own_code = self._ledger.code
        return [record for record in self.state.due(now) if record.external(own_code)]

    def controlled_transfer(self, transaction_id: str) -> PendingTransfer:
        """Return a controlled transfer as it stands (9114 when unknown)."""
        record = (
            self.state.transfers.get(transaction_id) if isinstance(transaction_id, str) else None
        )
        if record is None:
            raise RegistryError(
                CheckCode.UNKNOWN_CONTROLLED_TRANSFER,
                f"no initiated transfer {transaction_id!r} in {self._ledger.code}",
            )
        return record

    def entity_allowances(self, holder: str) -> int:
        """Return the allowances an entity holds in the accounts its holding limit counts."""
        codes = [
            code
            for code, known in self._ledger.unit_types.items()
            if known.kind is UnitKind.ALLOWANCE
        ]
        total = 0
        for record in self._ledger.holder_accounts(holder):
            if record.kind in HOLDING_LIMIT_KINDS:
                total += sum(record.holding.balance(code) for code in codes)
        return total

    def _approve(self, record: PendingTransfer, approver: str, now: datetime) -> list[Event]:
        self._checked(record, now, executing=False)
        payee = (record.to_registry, record.to_account)
        trusted = self.state.is_trusted(record.from_account, payee, now)
        when = execute_at(self.state.settings, now, trusted)
        events: list[Event] = [
            self._record(TransferApproved(record.transaction_id, approver, when))
        ]
        if when <= now and not record.external(self._ledger.code):
            events.append(self._execute(self.state.open[record.transaction_id], now))
        return events

    def _execute(self, record: PendingTransfer, now: datetime) -> Event:
        try:
            moving = self._checked(record, now, executing=True)
        except RegistryError as error:
            return self._record(
                TransferEnded(
                    record.transaction_id,
                    TransferStatus.TERMINATED,
                    int(error.code),
                    error.message[:TEXT_LENGTH_MAX],
                )
            )
        moved = UnitsMoved(
            TransactionType.TRANSFER,
            moving.source.account_id,
            moving.payee,
            moving.blocks,
            None,
            record.transaction_id,
        )
        return self._record(moved)

    def _record(self, event: _E) -> _E:
        """Apply `event` through the ledger, the one path replay also takes; return it."""
        self._ledger.apply(event)
        return event

    # ------------------------------------------------------------ checks

    def check_direct(
        self,
        kind: TransactionType,
        source: Account,
        target: Account,
        blocks: Iterable[UnitBlock],
        reference: str,
        lock_purpose: LockPurpose | None,
        now: datetime | None,
    ) -> None:
        """Apply the controls to a transfer or external lock not initiated by a representative."""
        gated = self.state.settings.gates_transfers and source.kind in CONTROLLED_KINDS
        if kind is TransactionType.TRANSFER:
            self._check_concurrency(source, target, False, "")
            self.check_holding_limit(source, target, tuple(blocks))
            if gated:
                raise RegistryError(
                    CheckCode.TRANSFER_NEEDS_APPROVAL,
                    f"a transfer from {source.kind.value} account {source.account_id} must be "
                    "initiated by an authorised representative (and approved where four-eyes "
                    "applies); it cannot be made directly",
                )
        elif kind is TransactionType.LOCK and lock_purpose is LockPurpose.EXTERNAL_TRANSFER:
            if self._is_release(reference, source, blocks, now):
                return
            self._check_concurrency(source, None, True, reference)
            if gated:
                raise RegistryError(
                    CheckCode.TRANSFER_NEEDS_APPROVAL,
                    f"an external transfer from {source.kind.value} account {source.account_id} "
                    "must be initiated, approved and due before it is proposed",
                )

    def check_holding_limit(
        self, source: Account | None, target: Account, blocks: tuple[UnitBlock, ...]
    ) -> None:
        """Refuse (9112) what would take the target's entity over the holding limit.

        The entity is the account holder; its compliance and trading accounts
        count, exchange custody (WCI's exchange-clearing account) does not
        (17 CCR §95920, reference A27). Only allowances count. Moves between
        one entity's counted accounts change nothing and pass.
        """
        limit = self.state.holding_limit_t
        if limit is None or target.kind not in HOLDING_LIMIT_KINDS:
            return
        if (
            source is not None
            and source.holder == target.holder
            and source.kind in HOLDING_LIMIT_KINDS
        ):
            return
        unit_types = self._ledger.unit_types
        arriving_t = sum(
            block.quantity
            for block in blocks
            if unit_types[block.unit_type].kind is UnitKind.ALLOWANCE
        )
        if not arriving_t:
            return
        held_t = self.entity_allowances(target.holder)
        if held_t + arriving_t > limit:
            raise RegistryError(
                CheckCode.HOLDING_LIMIT_EXCEEDED,
                f"{target.holder} would hold {held_t + arriving_t:,} t of allowances, over the "
                f"holding limit {limit:,} t ({held_t:,} t held, {arriving_t:,} t arriving)",
            )

    def check_lock_id(self, lock_id: str) -> None:
        """Refuse a lock under a controlled transfer's id unless that transfer is approved."""
        controlled = self.state.transfers.get(lock_id)
        if controlled is not None and controlled.status is not TransferStatus.DELAYED:
            raise RegistryError(
                CheckCode.TRANSACTION_ID_EXISTS,
                f"{lock_id!r} names a controlled transfer in {self._ledger.code} "
                f"({controlled.status.name.lower()}), not one ready to be proposed",
            )

    def _checked(self, record: PendingTransfer, now: datetime, executing: bool) -> CheckedTransfer:
        """Run a controlled transfer's checks in code order; return what it would move.

        At execution the trusted-list and concurrency checks, decided at
        approval, are not run again; the account, balance and holding limit are.
        """
        moving = self._ledger.check_transfer(
            record.from_account,
            record.to_registry,
            record.to_account,
            record.unit_type,
            record.quantity,
            record.vintage,
        )
        if not executing:
            self._check_trusted_only(moving.source, (record.to_registry, moving.payee), now)
            external = record.external(self._ledger.code)
            self._check_concurrency(moving.source, moving.target, external, record.transaction_id)
        if moving.target is not None:
            self.check_holding_limit(moving.source, moving.target, moving.blocks)
        return moving

    def _check_trusted_only(self, source: Account, payee: Payee, now: datetime) -> None:
        if source.account_id in self.state.trusted_only and not self.state.is_trusted(
            source.account_id, payee, now
        ):
            raise RegistryError(
                CheckCode.TRANSFER_OUTSIDE_TRUSTED_LIST_NOT_ALLOWED,
                f"account {source.account_id} pays only trusted accounts; {payee[1]} of "
                f"{payee[0]} is not on its trusted list (or not yet in effect)",
            )

    def _check_concurrency(
        self, source: Account, target: Account | None, external: bool, skip: str
    ) -> None:
        """Refuse a second open transaction of a type from one account (1006) or to one (3013).

        Exchange custody accounts are exempt: settlement nets many trades into
        transfers from and to them in every cycle.
        """
        if not self.state.settings.refuse_concurrent_same_type:
            return
        own_code = self._ledger.code
        if source.kind is not AccountKind.EXCHANGE_CUSTODY:
            other = self.state.open_from(source.account_id, external, own_code, skip)
            if not other and external:
                other = self._external_lock_from(source.account_id, skip)
            if other:
                raise RegistryError(
                    CheckCode.OTHER_PENDING_TRANSACTION_OF_SAME_TYPE,
                    f"account {source.account_id} has another "
                    f"{'external' if external else 'internal'} transfer pending ({other})",
                )
        if target is not None and target.kind is not AccountKind.EXCHANGE_CUSTODY:
            other = self.state.open_to(target.account_id, own_code, skip)
            if other:
                raise RegistryError(
                    CheckCode.ACQUIRING_ACCOUNT_HAS_PENDING_TRANSACTION_OF_SAME_TYPE,
                    f"acquiring account {target.account_id} has an internal transfer pending "
                    f"({other})",
                )

    def _external_lock_from(self, account_id: str, skip: str) -> str:
        """Return the id of a proposed external transfer's lock on `account_id`, or ""."""
        return next(
            (
                lock.lock_id
                for lock in self._ledger.locks()
                if lock.account_id == account_id
                and lock.purpose is LockPurpose.EXTERNAL_TRANSFER
                and lock.lock_id != skip
            ),
            "",
        )

    def _is_release(
        self, lock_id: str, source: Account, blocks: Iterable[UnitBlock], now: datetime | None
    ) -> bool:
        """Return whether a lock is the proposal of an approved external transfer now due."""
        record = self.state.open.get(lock_id)
        return (
            record is not None
            and now is not None
            and record.status is TransferStatus.DELAYED
            and record.execute_at is not None
            and record.execute_at <= now
            and record.external(self._ledger.code)
            and record.from_account == source.account_id
            and all(block.unit_type == record.unit_type for block in blocks)
            and sum(block.quantity for block in blocks) == record.quantity
        )

    def _controlled_account(self, reference: str) -> Account:
        record = self._ledger.account(reference)
        if record.kind not in CONTROLLED_KINDS:
            raise RegistryError(
                CheckCode.INVALID_ARGUMENT,
                f"{record.kind.value} account {record.account_id} has no representatives or "
                f"trusted list; only {kind_names(CONTROLLED_KINDS)} accounts do",
            )
        return record

    def _check_representative(self, account_id: str, person: str) -> None:
        if not isinstance(person, str) or not self.state.is_representative(account_id, person):
            raise RegistryError(
                CheckCode.NOT_A_REPRESENTATIVE,
                f"{person!r} is not an authorised representative of account {account_id}",
            )

    def _open_transfer(self, transaction_id: str) -> PendingTransfer:
        record = self.controlled_transfer(transaction_id)
        if record.status.final or record.status is TransferStatus.PROPOSED:
            raise RegistryError(
                CheckCode.TRANSFER_NOT_PENDING,
                f"transfer {transaction_id} is already {record.status.name.lower()}",
            )
        return record

    def _check_new_id(self, transaction_id: str) -> None:
        check_text("transaction id", transaction_id, required=True)
        ledger = self._ledger
        if (
            transaction_id in self.state.transfers
            or ledger.lock_record(transaction_id) is not None
            or ledger.has_transfer(transaction_id)
        ):
            raise RegistryError(
                CheckCode.TRANSACTION_ID_EXISTS,
                f"transaction id {transaction_id!r} was used before in {ledger.code}",
            )
        if len(self.state.open) >= OPEN_TRANSFERS_MAX:
            raise RegistryError(
                CheckCode.INVALID_ARGUMENT,
                f"registry {ledger.code} holds the maximum {OPEN_TRANSFERS_MAX:,} open transfers",
            )


def _record_data(record: PendingTransfer) -> dict[str, Any]:
    data = dataclasses.asdict(record)
    data["status"] = int(record.status)
    data["execute_at"] = None if record.execute_at is None else format_time(record.execute_at)
    return data


def _record_from_data(data: dict[str, Any]) -> PendingTransfer:
    execute_at = data["execute_at"]
    return PendingTransfer(
        **{
            **data,
            "status": TransferStatus(data["status"]),
            "execute_at": None if execute_at is None else parse_time(execute_at),
        }
    )
