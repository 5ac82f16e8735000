"""The ledger of one registry: a pure, in-memory state machine.

Each command is validated in full, the first failed check raising a
`RegistryError` with its code, and only then applied as one event. The same
`apply` rebuilds the state from the journal, so replay and live state agree
by construction. The ledger does no I/O; `registry.registry.Registry` adds
the journal.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NoReturn

from registry import canonical
from registry.account_ids import AccountId, AccountIdError, is_registry_code
from registry.accounts import (
    ALLOCATING_KINDS,
    HOLDING_KINDS,
    Account,
    AccountKind,
    AccountStatus,
    kind_names,
)
from registry.errors import CheckCode, RegistryError
from registry.events import (
    AccountOpened,
    AccountStatusChanged,
    Event,
    IssuanceCapSet,
    LockPurpose,
    QuarantineLifted,
    RegistryCreated,
    RegistryResumed,
    RegistrySuspended,
    SerialsQuarantined,
    TransactionType,
    UnitsExported,
    UnitsImported,
    UnitsIssued,
    UnitsMoved,
    UnitTypeRegistered,
)
from registry.labels import check_text, checked_name, nfc
from registry.quarantine import QuarantinedRange, QuarantineList
from registry.serial_ranges import RangeSet, add_ranges, remove_ranges
from registry.transfer_controls import CONTROL_EVENTS, ControlState, TransferControls
from registry.units import UnitBlock, UnitKind, UnitType

VINTAGE_MIN = 1990
VINTAGE_MAX = 2200
SERIAL_MAX = 2**62  # Serials fit a signed 64-bit column in every store.
ACCOUNTS_MAX = 1_000_000

# Kinds a transaction may credit. Terminal accounts take units only by surrender,
# cancellation or retirement; the pending-out account only by a lock.
_TRANSFER_TARGETS = frozenset(
    {AccountKind.COMPLIANCE, AccountKind.TRADING, AccountKind.EXCHANGE_CUSTODY, AccountKind.RESERVE}
)
_ISSUANCE_TARGETS = frozenset({AccountKind.ISSUANCE, AccountKind.RESERVE})
# Kinds an external transfer may credit.
_IMPORT_TARGETS = frozenset(
    {AccountKind.COMPLIANCE, AccountKind.TRADING, AccountKind.EXCHANGE_CUSTODY}
)
# Kinds a transaction may debit, where they differ from the holding kinds.
# Only a covered entity's compliance account has an obligation to surrender.
_SOURCES = {
    TransactionType.ALLOCATE: ALLOCATING_KINDS,
    TransactionType.SURRENDER: frozenset({AccountKind.COMPLIANCE}),
}
# Transactions allowed while the registry is suspended (EU, 19 January 2011; DOMAIN.md:
# "a registry-wide suspension that allows only allocation and surrender").
_ALLOWED_WHILE_SUSPENDED = frozenset({TransactionType.ALLOCATE, TransactionType.SURRENDER})


@dataclass(frozen=True, slots=True)
class Lock:
    lock_id: str
    account_id: str
    purpose: LockPurpose
    blocks: tuple[UnitBlock, ...]


@dataclass(frozen=True, slots=True)
class Surrender:
    """Units one account surrendered for one compliance period, in one transaction."""

    account_id: str
    period: int
    blocks: tuple[UnitBlock, ...]

    @property
    def quantity(self) -> int:
        return sum(block.quantity for block in self.blocks)


@dataclass(frozen=True, slots=True)
class CheckedTransfer:
    """What a transfer that passed the ledger's checks would move, from `source` to `payee`.

    `payee` is an account id here, or in another registry when `target` is None.
    """

    source: Account
    target: Account | None
    payee: str
    blocks: tuple[UnitBlock, ...]


@dataclass(frozen=True, slots=True)
class Totals:
    """Quantities by where units are, in tonnes."""

    issued: int
    held: int
    locked: int
    surrendered: int
    cancelled: int
    retired: int


class Ledger:
    """One registry's accounts, holdings, issuance record, locks and rules."""

    def __init__(self) -> None:
        self.code = ""
        self.name = ""
        self.unit_types: dict[str, UnitType] = {}
        self._accounts: dict[str, Account] = {}
        self._labels: dict[str, str] = {}
        self._singletons: dict[AccountKind, str] = {}
        self._next_account_number = 1_000_001
        self._issued_ranges: dict[tuple[str, str, int], list[tuple[int, int]]] = {}
        self._next_serial: dict[tuple[str, int], int] = {}
        self._issued_t: dict[tuple[str, int], int] = {}
        self._caps_t: dict[tuple[str, int], int] = {}
        self._locks: dict[str, Lock] = {}
        self._surrenders: list[Surrender] = []
        # The same records by (account, period): compliance asks for one pair at a time.
        self._surrenders_by_account: dict[tuple[str, int], list[Surrender]] = {}
        self.suspension_reason: str | None = None
        self.quarantine = QuarantineList()
        # External transfers: own-origin serials now held abroad, foreign serials
        # now held here, and the transfer ids already seen (10006).
        self._away: dict[tuple[str, str, int], RangeSet] = {}
        self._foreign: dict[tuple[str, str, int], RangeSet] = {}
        self._transfer_ids: set[str] = set()
        # Who may move what out of an account, and when: asked about each move while on.
        self.controls = TransferControls(self)
        # Account ids by holder: the entity a holding limit applies to.
        self._holder_accounts: dict[str, list[str]] = {}

    # ---------------------------------------------------------------- commands

    def create(self, code: str, name: str) -> list[Event]:
        """Found the registry and open its singleton accounts; return the events."""
        if self.code:
            raise RegistryError(CheckCode.INVALID_ARGUMENT, f"registry {self.code} already exists")
        if not is_registry_code(code):
            raise RegistryError(
                CheckCode.INVALID_ARGUMENT, f"registry code must be two letters A-Z, was {code!r}"
            )
        check_text("registry name", name)
        events: list[Event] = [self._apply(RegistryCreated(code, name))]
        for kind in (
            AccountKind.ISSUANCE,
            AccountKind.PENDING_OUT,
            AccountKind.SURRENDER,
            AccountKind.CANCELLATION,
            AccountKind.RETIREMENT,
        ):
            events.append(self._apply(self._account_opened(kind, name, kind.value)))
        return events

    def register_unit_type(self, unit_type: UnitType) -> UnitTypeRegistered:
        """Teach the registry a unit type: its own (issuable) or a foreign one it may hold."""
        self.require_created()
        if unit_type.code in self.unit_types:
            raise RegistryError(
                CheckCode.UNIT_TYPE_ALREADY_REGISTERED,
                f"unit type {unit_type.code} is already registered in {self.code}",
            )
        if not unit_type.code or not unit_type.code.isascii() or not unit_type.code.isalnum():
            raise RegistryError(
                CheckCode.INVALID_ARGUMENT,
                f"unit type code must be letters and digits, was {unit_type.code!r}",
            )
        if not is_registry_code(unit_type.origin):
            raise RegistryError(
                CheckCode.INVALID_ARGUMENT,
                f"unit type {unit_type.code}: origin must be a two-letter registry code, "
                f"was {unit_type.origin!r}",
            )
        check_text("unit type name", unit_type.name)
        return self._apply(UnitTypeRegistered(unit_type))

    def set_issuance_cap(self, unit_type: str, vintage: int, cap_t: int) -> IssuanceCapSet:
        """Cap what may ever be issued of `unit_type` for `vintage` (check 3500)."""
        self._own_unit_type(unit_type)
        _check_vintage(vintage)
        if type(cap_t) is not int or cap_t < 0:
            raise RegistryError(
                CheckCode.QUANTITY_NOT_POSITIVE_INTEGER,
                f"issuance cap must be a whole number of tonnes >= 0, was {cap_t!r}",
            )
        issued_t = self._issued_t.get((unit_type, vintage), 0)
        if cap_t < issued_t:
            raise RegistryError(
                CheckCode.ISSUANCE_OVER_CAP,
                f"cap {cap_t:,} t for {unit_type} {vintage} is below the {issued_t:,} t "
                "already issued",
            )
        return self._apply(IssuanceCapSet(unit_type, vintage, cap_t))

    def open_account(self, kind: AccountKind, holder: str, label: str = "") -> AccountOpened:
        """Open an account of `kind` for `holder`; `label` is an optional short name."""
        self.require_created()
        if kind.singleton:
            raise RegistryError(
                CheckCode.INVALID_ARGUMENT,
                f"a registry has one {kind.value} account, opened when it is created",
            )
        check_text("holder", holder, required=True)
        check_text("label", label)
        holder, label = checked_name("holder", holder), checked_name("label", label)
        if label and ("-" in label or label in self._labels):
            reason = "contains '-'" if "-" in label else "is taken"
            raise RegistryError(CheckCode.INVALID_ARGUMENT, f"account label {label!r} {reason}")
        if len(self._accounts) >= ACCOUNTS_MAX:
            raise RegistryError(
                CheckCode.INVALID_ARGUMENT, f"registry holds the maximum {ACCOUNTS_MAX:,} accounts"
            )
        return self._apply(self._account_opened(kind, holder, label))

    def block_account(self, account: str, reason: str = "") -> AccountStatusChanged:
        return self._change_status(account, AccountStatus.BLOCKED, {AccountStatus.OPEN}, reason)

    def unblock_account(self, account: str, reason: str = "") -> AccountStatusChanged:
        return self._change_status(account, AccountStatus.OPEN, {AccountStatus.BLOCKED}, reason)

    def close_account(self, account: str, reason: str = "") -> AccountStatusChanged:
        record = self.account(account)
        if record.holding:
            raise RegistryError(
                CheckCode.ACCOUNT_NOT_EMPTY,
                f"account {record.account_id} still holds {record.holding.balance():,} t; "
                "transfer them out before closing it",
            )
        allowed = {AccountStatus.OPEN, AccountStatus.BLOCKED}
        return self._change_status(account, AccountStatus.CLOSED, allowed, reason)

    def suspend(self, reason: str) -> RegistrySuspended:
        """Suspend the registry: only allocation and surrender go on."""
        self.require_created()
        check_text("reason", reason, required=True)
        if self.suspension_reason is not None:
            raise RegistryError(
                CheckCode.REGISTRY_SUSPENDED,
                f"registry {self.code} is already suspended ({self.suspension_reason})",
            )
        return self._apply(RegistrySuspended(reason))

    def resume(self, reason: str) -> RegistryResumed:
        self.require_created()
        check_text("reason", reason, required=True)
        if self.suspension_reason is None:
            raise RegistryError(
                CheckCode.INVALID_ARGUMENT, f"registry {self.code} is not suspended"
            )
        return self._apply(RegistryResumed(reason))

    def quarantine_serials(
        self, unit_type: str, vintage: int, start: int, end: int, reason: str
    ) -> SerialsQuarantined:
        """Put serials [start, end] of a unit type and vintage beyond any operation."""
        known = self._unit_type(unit_type)
        _check_vintage(vintage)
        _check_serial_range(start, end)
        check_text("reason", reason, required=True)
        entry = QuarantinedRange(known.origin, unit_type, vintage, start, end, reason)
        if self.quarantine.find(entry.serial_key, start, end) is not None:
            raise RegistryError(
                CheckCode.INVALID_ARGUMENT,
                f"serials {start}-{end} of {unit_type} {vintage} are already quarantined",
            )
        return self._apply(SerialsQuarantined(entry))

    def lift_quarantine(
        self, unit_type: str, vintage: int, start: int, end: int
    ) -> QuarantineLifted:
        known = self._unit_type(unit_type)
        entry = self.quarantine.find((known.origin, unit_type, vintage), start, end)
        if entry is None:
            raise RegistryError(
                CheckCode.INVALID_ARGUMENT,
                f"no quarantine entry covers exactly serials {start}-{end} "
                f"of {unit_type} {vintage}",
            )
        return self._apply(QuarantineLifted(entry))

    def issue(
        self,
        unit_type: str,
        vintage: int,
        quantity: int,
        account: str | None = None,
        project_id: str = "",
        article6_authorized: bool = False,
        start_serial: int | None = None,
    ) -> UnitsIssued:
        """Issue `quantity` new units, serials allocated sequentially per type and vintage.

        Refused while the registry is suspended (9102): DOMAIN.md's suspension
        "allows only allocation and surrender" (EU, January 2011; reference D2).
        """
        if self.suspension_reason is not None:
            raise RegistryError(
                CheckCode.REGISTRY_SUSPENDED,
                f"registry {self.code} is suspended ({self.suspension_reason}); "
                "only allocation and surrender are allowed, not issuance",
            )
        _check_quantity(quantity)
        known = self._own_unit_type(unit_type)
        _check_vintage(vintage)
        check_text("project id", project_id)
        project_id = checked_name("project id", project_id)  # kept in the holdings table
        if type(article6_authorized) is not bool:
            raise RegistryError(
                CheckCode.INVALID_ARGUMENT,
                f"article6_authorized must be true or false, was {article6_authorized!r}",
            )
        if known.kind is UnitKind.OFFSET_CREDIT and not project_id:
            raise RegistryError(
                CheckCode.PROJECT_ID_INVALID,
                f"{unit_type} is an offset credit: issuance needs the id of the project "
                "it was verified for",
            )
        if known.kind is UnitKind.ALLOWANCE and project_id:
            raise RegistryError(
                CheckCode.PROJECT_ID_INVALID,
                f"{unit_type} is an allowance: it carries no project id",
            )
        target = self._acquiring(
            account if account is not None else self._singleton_id(AccountKind.ISSUANCE),
            _ISSUANCE_TARGETS,
            "issuance",
        )
        key = (unit_type, vintage)
        cap_t = self._caps_t.get(key)
        issued_t = self._issued_t.get(key, 0)
        if cap_t is not None and issued_t + quantity > cap_t:
            raise RegistryError(
                CheckCode.ISSUANCE_OVER_CAP,
                f"issuing {quantity:,} t of {unit_type} {vintage} would exceed the cap "
                f"{cap_t:,} t ({issued_t:,} t already issued)",
            )
        start = self._next_serial.get(key, 1) if start_serial is None else start_serial
        end = start + quantity - 1
        _check_serial_range(start, end)
        ranges = self._issued_ranges.get((known.origin, unit_type, vintage), [])
        clash = _overlapping_range(ranges, start, end)
        if clash is not None:
            raise RegistryError(
                CheckCode.ISSUANCE_OVERLAPS_ISSUED_SERIALS,
                f"serials {start}-{end} of {unit_type} {vintage} overlap issued serials "
                f"{clash[0]}-{clash[1]}; serials are never reused",
            )
        block = UnitBlock(
            known.origin, unit_type, vintage, start, end, project_id, article6_authorized
        )
        return self._apply(UnitsIssued(target.account_id, block))

    def transfer(
        self,
        from_account: str,
        to_account: str,
        unit_type: str,
        quantity: int,
        vintage: int | None = None,
    ) -> UnitsMoved:
        """Transfer `quantity` units between holding accounts, oldest vintage first."""
        return self._move_quantity(
            TransactionType.TRANSFER, from_account, to_account, unit_type, quantity, vintage
        )

    def transfer_blocks(
        self, from_account: str, to_account: str, blocks: Iterable[UnitBlock]
    ) -> UnitsMoved:
        """Transfer exactly the named serial blocks."""
        return self._move_blocks(TransactionType.TRANSFER, from_account, to_account, tuple(blocks))

    def allocate(
        self,
        from_account: str,
        to_account: str,
        unit_type: str,
        quantity: int,
        vintage: int | None = None,
    ) -> UnitsMoved:
        """Allocate units from the issuance account or a reserve to a holder."""
        return self._move_quantity(
            TransactionType.ALLOCATE, from_account, to_account, unit_type, quantity, vintage
        )

    def surrender(
        self,
        account: str,
        unit_type: str,
        quantity: int,
        period: int,
        vintage: int | None = None,
    ) -> UnitsMoved:
        """Surrender units into the surrender account for compliance `period`."""
        _check_period(period)
        target = self._singleton_id(AccountKind.SURRENDER)
        return self._move_quantity(
            TransactionType.SURRENDER, account, target, unit_type, quantity, vintage, period=period
        )

    def surrender_blocks(
        self, account: str, blocks: Iterable[UnitBlock], period: int
    ) -> UnitsMoved:
        _check_period(period)
        target = self._singleton_id(AccountKind.SURRENDER)
        return self._move_blocks(
            TransactionType.SURRENDER, account, target, tuple(blocks), period=period
        )

    def cancel(
        self, account: str, unit_type: str, quantity: int, vintage: int | None = None
    ) -> UnitsMoved:
        """Cancel units (voluntarily or by administrative order); they never move again."""
        target = self._singleton_id(AccountKind.CANCELLATION)
        return self._move_quantity(
            TransactionType.CANCEL, account, target, unit_type, quantity, vintage
        )

    def retire(
        self, account: str, unit_type: str, quantity: int, vintage: int | None = None
    ) -> UnitsMoved:
        """Retire units; they never move again."""
        target = self._singleton_id(AccountKind.RETIREMENT)
        return self._move_quantity(
            TransactionType.RETIRE, account, target, unit_type, quantity, vintage
        )

    def lock(
        self,
        lock_id: str,
        account: str,
        unit_type: str,
        quantity: int,
        purpose: LockPurpose,
        vintage: int | None = None,
        *,
        now: datetime | None = None,
    ) -> UnitsMoved:
        """Lock units pending-out under `lock_id` (an external transfer, custody).

        Where transfer controls gate an account, an external-transfer lock is
        only the release of an approved transfer whose delay has run out at
        `now`, under its transaction id (9113 otherwise).
        """
        self._check_new_lock(lock_id)
        target = self._singleton_id(AccountKind.PENDING_OUT)
        return self._move_quantity(
            TransactionType.LOCK,
            account,
            target,
            unit_type,
            quantity,
            vintage,
            reference=lock_id,
            lock_purpose=purpose,
            now=now,
        )

    def lock_blocks(
        self, lock_id: str, account: str, blocks: Iterable[UnitBlock], purpose: LockPurpose
    ) -> UnitsMoved:
        self._check_new_lock(lock_id)
        target = self._singleton_id(AccountKind.PENDING_OUT)
        return self._move_blocks(
            TransactionType.LOCK,
            account,
            target,
            tuple(blocks),
            reference=lock_id,
            lock_purpose=purpose,
        )

    def unlock(self, lock_id: str) -> UnitsMoved:
        """Return locked units to the account they were locked from."""
        self.require_created()
        try:
            lock = self._locks.get(lock_id)
        except TypeError:  # unhashable (a list from a malformed message): refused below
            lock = None
        if lock is None:
            raise RegistryError(CheckCode.UNKNOWN_LOCK, f"no lock {lock_id!r} in {self.code}")
        owner = self._accounts[lock.account_id]
        if owner.status is AccountStatus.CLOSED:
            raise RegistryError(
                CheckCode.ACQUIRING_ACCOUNT_CLOSED,
                f"account {owner.account_id} was closed; it cannot take back lock {lock_id}",
            )
        event = UnitsMoved(
            TransactionType.UNLOCK,
            self._singleton_id(AccountKind.PENDING_OUT),
            lock.account_id,
            lock.blocks,
            None,
            lock_id,
            lock.purpose,
        )
        return self._apply(event)

    def export_locked(self, lock_id: str, transfer_id: str, to_registry: str) -> UnitsExported:
        """Finalise an outgoing external transfer: the locked blocks leave this registry.

        Called on the gateway's completion notice only; until then the units
        stay locked pending-out and an unlock returns them.
        """
        self.require_created()
        lock = self._locks.get(lock_id) if isinstance(lock_id, str) else None
        if lock is None:
            raise RegistryError(CheckCode.UNKNOWN_LOCK, f"no lock {lock_id!r} in {self.code}")
        self._check_new_transfer(transfer_id)
        self._check_other_registry(to_registry)
        if lock.purpose is not LockPurpose.EXTERNAL_TRANSFER:
            raise RegistryError(
                CheckCode.INVALID_ARGUMENT,
                f"lock {lock_id} holds units for {lock.purpose.value}, not an external transfer",
            )
        return self._apply(UnitsExported(lock_id, transfer_id, to_registry, lock.blocks))

    def import_blocks(
        self, transfer_id: str, from_registry: str, account: str, blocks: Iterable[UnitBlock]
    ) -> UnitsImported:
        """Credit blocks that arrived in a completed external transfer to `account`.

        Foreign blocks must not already be here; own-origin blocks coming home
        must be recorded as abroad. Allowed while suspended: a registry credits
        on the transaction log's final notice.
        """
        target, arriving = self._checked_import(transfer_id, from_registry, account, blocks)
        return self._apply(UnitsImported(transfer_id, from_registry, target.account_id, arriving))

    def check_import(
        self, transfer_id: str, from_registry: str, account: str, blocks: Iterable[UnitBlock]
    ) -> Account:
        """Run every check `import_blocks` would, change nothing, and return the target account.

        The destination registry runs these before it signs an acceptance, so a
        completed transfer always credits.
        """
        return self._checked_import(transfer_id, from_registry, account, blocks)[0]

    def _checked_import(
        self, transfer_id: str, from_registry: str, account: str, blocks: Iterable[UnitBlock]
    ) -> tuple[Account, tuple[UnitBlock, ...]]:
        self.require_created()
        self._check_new_transfer(transfer_id)
        self._check_other_registry(from_registry)
        target = self._acquiring(account, _IMPORT_TARGETS, "import")
        arriving = tuple(blocks)
        if not arriving:
            raise RegistryError(
                CheckCode.QUANTITY_NOT_POSITIVE_INTEGER, "an import carries at least one block"
            )
        _check_disjoint(arriving)
        for block in arriving:
            known = self._unit_type(block.unit_type)
            if known.origin != block.origin:
                raise RegistryError(
                    CheckCode.INVALID_UNIT_TYPE,
                    f"block {block} says origin {block.origin}, but {block.unit_type} "
                    f"comes from {known.origin}",
                )
            self._check_acquiring_may_hold(target, block.unit_type)
            self._check_arrival(block)
        self.controls.check_holding_limit(None, target, arriving)
        return target, arriving

    # ---------------------------------------------------------------- for the transfer controls

    def check_transfer(
        self,
        from_account: str,
        to_registry: str,
        to_account: str,
        unit_type: str,
        quantity: int,
        vintage: int | None,
    ) -> CheckedTransfer:
        """Run a transfer's custody checks in code order, change nothing, and return what moves.

        A `to_registry` other than this registry's code makes it external: the
        payee is then checked for form only and there is no target here. The
        transfer controls add their own checks (`TransferControls`).
        """
        self.check_not_suspended(TransactionType.TRANSFER)
        _check_quantity(quantity)
        target: Account | None
        if to_registry != self.code:
            source = self._transferring(TransactionType.TRANSFER, from_account)
            payee = self.payee_id(to_registry, to_account)
            target = None
        else:
            source, target = self._parties(TransactionType.TRANSFER, from_account, to_account)
            payee = target.account_id
        blocks = self._selected(source, unit_type, quantity, vintage)
        if target is not None:
            self._check_acquiring_may_hold(target, unit_type)
        return CheckedTransfer(source, target, payee, tuple(blocks))

    def payee_id(self, registry_code: str, account: str) -> str:
        """Return a payee's account id: resolved here, or checked for form in another registry."""
        if registry_code == self.code:
            return self._acquiring(account, _TRANSFER_TARGETS, TransactionType.TRANSFER).account_id
        self._check_other_registry(registry_code)
        try:
            parsed = AccountId.parse(account) if isinstance(account, str) else None
        except AccountIdError as error:
            raise RegistryError(
                CheckCode.ACQUIRING_ACCOUNT_CHECK_DIGITS_INVALID, str(error)
            ) from None
        if parsed is None or parsed.registry != registry_code:
            raise RegistryError(
                CheckCode.ACQUIRING_ACCOUNT_CHECK_DIGITS_INVALID,
                f"acquiring account {account!r} is not an account id of registry {registry_code}",
            )
        return account

    def holder_accounts(self, holder: str) -> list[Account]:
        """Return the accounts of `holder` (the entity a holding limit applies to), oldest first."""
        return [self._accounts[account_id] for account_id in self._holder_accounts.get(holder, ())]

    # ---------------------------------------------------------------- queries

    def account(self, reference: str) -> Account:
        """Return the account named by id or label (raises 1002/1001 when unknown)."""
        return self._resolve(reference, "transferring")

    def accounts(self) -> list[Account]:
        return list(self._accounts.values())

    def singleton(self, kind: AccountKind) -> Account:
        return self._accounts[self._singleton_id(kind)]

    def has_transfer(self, transfer_id: str) -> bool:
        """Return whether an external transfer with this id was exported or imported here."""
        return transfer_id in self._transfer_ids

    def locks(self) -> list[Lock]:
        return list(self._locks.values())

    def lock_record(self, lock_id: str) -> Lock | None:
        return self._locks.get(lock_id)

    def surrenders(self, account: str | None = None, period: int | None = None) -> list[Surrender]:
        account_id = None if account is None else self.account(account).account_id
        if account_id is not None and period is not None:
            return list(self._surrenders_by_account.get((account_id, period), ()))
        return [
            record
            for record in self._surrenders
            if (account_id is None or record.account_id == account_id)
            and (period is None or record.period == period)
        ]

    def issued(self, unit_type: str | None = None, vintage: int | None = None) -> int:
        return sum(
            quantity
            for (code, year), quantity in self._issued_t.items()
            if (unit_type is None or code == unit_type) and (vintage is None or year == vintage)
        )

    def issuance_cap(self, unit_type: str, vintage: int) -> int | None:
        return self._caps_t.get((unit_type, vintage))

    def totals(self, unit_type: str | None = None) -> Totals:
        by_kind: dict[AccountKind, int] = dict.fromkeys(AccountKind, 0)
        for record in self._accounts.values():
            by_kind[record.kind] += record.holding.balance(unit_type)
        held = sum(quantity for kind, quantity in by_kind.items() if kind in HOLDING_KINDS)
        return Totals(
            issued=self.issued(unit_type),
            held=held,
            locked=by_kind[AccountKind.PENDING_OUT],
            surrendered=by_kind[AccountKind.SURRENDER],
            cancelled=by_kind[AccountKind.CANCELLATION],
            retired=by_kind[AccountKind.RETIREMENT],
        )

    def check_conservation(self) -> None:
        """Prove every issued serial is in exactly one account and nothing else is held.

        Raises AssertionError naming the first gap or overlap: a broken
        invariant is a bug, never an operating error.
        """
        held: dict[tuple[str, str, int], list[tuple[int, int, str]]] = {}
        for record in self._accounts.values():
            for block in record.holding.blocks():
                held.setdefault(block.serial_key, []).append(
                    (block.start, block.end, record.account_id)
                )
        expected = self._expected_here()
        assert set(held) == set(expected), (
            f"serial spaces held {sorted(set(held) - set(expected))} should not be here, "
            f"{sorted(set(expected) - set(held))} should be held but are not"
        )
        for key, pieces in held.items():
            pieces.sort()
            merged: list[tuple[int, int]] = []
            for start, end, account_id in pieces:
                if merged and start <= merged[-1][1]:
                    raise AssertionError(
                        f"{key} serial {start} is in two places (one is {account_id})"
                    )
                if merged and start == merged[-1][1] + 1:
                    merged[-1] = (merged[-1][0], end)
                else:
                    merged.append((start, end))
            assert merged == expected[key], (
                f"{key}: held serials {merged} differ from the expected {expected[key]}"
            )
        pending = self.singleton(AccountKind.PENDING_OUT).holding
        locked_t = 0
        for lock in self._locks.values():
            for block in lock.blocks:
                assert pending.find_container(block) is not None, (
                    f"lock {lock.lock_id}: {block} lost"
                )
                locked_t += block.quantity
        assert locked_t == pending.balance(), (
            f"pending-out holds {pending.balance():,} t but locks account for {locked_t:,} t"
        )

    def _expected_here(self) -> dict[tuple[str, str, int], list[tuple[int, int]]]:
        """Return the serials that should be held here: issued minus abroad, plus foreign."""
        expected: dict[tuple[str, str, int], list[tuple[int, int]]] = {}
        for key, ranges in self._issued_ranges.items():
            present = RangeSet(_merge_ranges(ranges))
            for start, end in self._away.get(key, ()):
                present.remove(start, end)
            if present:
                expected[key] = present.ranges()
        for key, ranges_here in self._foreign.items():
            if ranges_here:
                expected[key] = ranges_here.ranges()
        return expected

    def issued_ranges(self) -> dict[tuple[str, str, int], list[tuple[int, int]]]:
        """Return every serial range issued here, merged, per serial space."""
        return {key: _merge_ranges(ranges) for key, ranges in self._issued_ranges.items()}

    def away(self) -> dict[tuple[str, str, int], list[tuple[int, int]]]:
        """Return this registry's own serials now held in other registries."""
        return {key: ranges.ranges() for key, ranges in self._away.items() if ranges}

    def foreign(self) -> dict[tuple[str, str, int], list[tuple[int, int]]]:
        """Return the foreign serials now held in this registry."""
        return {key: ranges.ranges() for key, ranges in self._foreign.items() if ranges}

    # ---------------------------------------------------------------- snapshot

    def to_snapshot(self) -> dict[str, Any]:
        """Return the whole state as canonical plain data."""
        return {
            "code": self.code,
            "name": self.name,
            "unit_types": [self.unit_types[code].to_data() for code in sorted(self.unit_types)],
            "accounts": [
                {
                    "account_id": record.account_id,
                    "kind": record.kind.value,
                    "holder": record.holder,
                    "label": record.label,
                    "status": record.status.value,
                    "blocks": [block.to_data() for block in record.holding.blocks()],
                }
                for record in self._accounts.values()
            ],
            "next_account_number": self._next_account_number,
            "issued_ranges": [
                [list(key), [list(piece) for piece in ranges]]
                for key, ranges in sorted(self._issued_ranges.items())
            ],
            "next_serial": [[list(key), value] for key, value in sorted(self._next_serial.items())],
            "issued_t": [[list(key), value] for key, value in sorted(self._issued_t.items())],
            "caps_t": [[list(key), value] for key, value in sorted(self._caps_t.items())],
            "locks": [
                {
                    "lock_id": lock.lock_id,
                    "account_id": lock.account_id,
                    "purpose": lock.purpose.value,
                    "blocks": [block.to_data() for block in lock.blocks],
                }
                for lock in self._locks.values()
            ],
            "surrenders": [
                {
                    "account_id": record.account_id,
                    "period": record.period,
                    "blocks": [block.to_data() for block in record.blocks],
                }
                for record in self._surrenders
            ],
            "suspension_reason": self.suspension_reason,
            "quarantine": [entry.to_data() for entry in self.quarantine],
            "away": [[list(key), ranges] for key, ranges in sorted(self.away().items())],
            "foreign": [[list(key), ranges] for key, ranges in sorted(self.foreign().items())],
            "transfer_ids": sorted(self._transfer_ids),
            "controls": self.controls.state.to_snapshot(),
        }

    @classmethod
    def from_snapshot(cls, data: dict[str, Any]) -> Ledger:
        ledger = cls()
        ledger.code = data["code"]
        ledger.name = data["name"]
        for unit_data in data["unit_types"]:
            unit_type = UnitType.from_data(unit_data)
            ledger.unit_types[unit_type.code] = unit_type
        for account_data in data["accounts"]:
            kind = AccountKind(account_data["kind"])
            record = Account(
                account_data["account_id"],
                kind,
                account_data["holder"],
                account_data["label"],
                AccountStatus(account_data["status"]),
            )
            for block_data in account_data["blocks"]:
                record.holding.add(UnitBlock.from_data(block_data))
            ledger._index_account(record)
        ledger._next_account_number = data["next_account_number"]
        for key, ranges in data["issued_ranges"]:
            ledger._issued_ranges[tuple(key)] = [tuple(piece) for piece in ranges]
        ledger._next_serial = {tuple(key): value for key, value in data["next_serial"]}
        ledger._issued_t = {tuple(key): value for key, value in data["issued_t"]}
        ledger._caps_t = {tuple(key): value for key, value in data["caps_t"]}
        for lock_data in data["locks"]:
            blocks = tuple(UnitBlock.from_data(block) for block in lock_data["blocks"])
            ledger._locks[lock_data["lock_id"]] = Lock(
                lock_data["lock_id"],
                lock_data["account_id"],
                LockPurpose(lock_data["purpose"]),
                blocks,
            )
        for record_data in data["surrenders"]:
            blocks = tuple(UnitBlock.from_data(block) for block in record_data["blocks"])
            ledger._record_surrender(
                Surrender(record_data["account_id"], record_data["period"], blocks)
            )
        ledger.suspension_reason = data["suspension_reason"]
        for entry_data in data["quarantine"]:
            ledger.quarantine.add(QuarantinedRange.from_data(entry_data))
        for key, ranges in data["away"]:
            ledger._away[(key[0], key[1], key[2])] = RangeSet([tuple(r) for r in ranges])
        for key, ranges in data["foreign"]:
            ledger._foreign[(key[0], key[1], key[2])] = RangeSet([tuple(r) for r in ranges])
        ledger._transfer_ids = set(data["transfer_ids"])
        if "controls" in data:  # a snapshot without them has every control off
            ledger.controls.state = ControlState.from_snapshot(data["controls"])
        return ledger

    def state_digest(self) -> str:
        """Return SHA-256 over the canonical snapshot: equal digests, equal states."""
        return hashlib.sha256(canonical.encode(self.to_snapshot())).hexdigest()

    # ---------------------------------------------------------------- apply

    def apply(self, event: Event) -> None:
        """Apply one journaled event. Also the replay path: it never validates."""
        self._apply(event)

    def _apply(self, event: Any) -> Any:
        kind = type(event)
        if kind is UnitsMoved:
            self._apply_moved(event)
        elif kind is UnitsIssued:
            self._accounts[event.account_id].holding.add(event.block)
            block = event.block
            key = (block.unit_type, block.vintage)
            ranges = self._issued_ranges.setdefault(block.serial_key, [])
            bisect.insort(ranges, (block.start, block.end))
            self._next_serial[key] = max(self._next_serial.get(key, 1), block.end + 1)
            self._issued_t[key] = self._issued_t.get(key, 0) + block.quantity
        elif kind is AccountOpened:
            record = Account(event.account_id, event.account_kind, event.holder, event.label)
            self._index_account(record)
            self._next_account_number = max(
                self._next_account_number, AccountId.parse(event.account_id).number + 1
            )
        elif kind is AccountStatusChanged:
            self._accounts[event.account_id].status = event.status
        elif kind is UnitTypeRegistered:
            self.unit_types[event.unit_type.code] = event.unit_type
        elif kind is IssuanceCapSet:
            self._caps_t[(event.unit_type, event.vintage)] = event.cap_t
        elif kind is RegistrySuspended:
            self.suspension_reason = event.reason
        elif kind is RegistryResumed:
            self.suspension_reason = None
        elif kind is SerialsQuarantined:
            self.quarantine.add(event.entry)
        elif kind is QuarantineLifted:
            self.quarantine.remove(event.entry)
        elif kind is UnitsExported:
            pending = self._accounts[self._singletons[AccountKind.PENDING_OUT]].holding
            for block in event.blocks:
                pending.remove(block)
            self._leave(event.blocks)
            del self._locks[event.lock_id]
            self._transfer_ids.add(event.transfer_id)
        elif kind is UnitsImported:
            holding = self._accounts[event.account_id].holding
            for block in event.blocks:
                holding.add(block)
            self._arrive(event.blocks)
            self._transfer_ids.add(event.transfer_id)
        elif kind is RegistryCreated:
            self.code = event.code
            self.name = event.name
        elif kind in CONTROL_EVENTS:
            self.controls.state.apply(event)
        else:
            raise AssertionError(f"no apply rule for {kind.__name__}")
        return event

    def _leave(self, blocks: tuple[UnitBlock, ...]) -> None:
        """Record blocks gone abroad: own serials now away, foreign ones no longer here."""
        own = self.code
        pieces = [(b.serial_key, b.start, b.end, b.origin == own) for b in blocks]
        add_ranges(self._away, ((key, start, end) for key, start, end, mine in pieces if mine))
        remove_ranges(
            self._foreign, ((key, start, end) for key, start, end, mine in pieces if not mine)
        )

    def _arrive(self, blocks: tuple[UnitBlock, ...]) -> None:
        """Record blocks arrived: own serials home again, foreign ones now here."""
        own = self.code
        remove_ranges(
            self._away, ((b.serial_key, b.start, b.end) for b in blocks if b.origin == own)
        )
        add_ranges(
            self._foreign, ((b.serial_key, b.start, b.end) for b in blocks if b.origin != own)
        )

    def _apply_moved(self, event: UnitsMoved) -> None:
        source = self._accounts[event.from_account].holding
        target = self._accounts[event.to_account].holding
        for block in event.blocks:
            source.remove(block)
            target.add(block)
        kind = event.transaction_type
        if kind is TransactionType.LOCK:
            assert event.lock_purpose is not None
            self._locks[event.reference] = Lock(
                event.reference, event.from_account, event.lock_purpose, event.blocks
            )
        elif kind is TransactionType.UNLOCK:
            del self._locks[event.reference]
        elif kind is TransactionType.SURRENDER:
            assert event.period is not None
            self._record_surrender(Surrender(event.from_account, event.period, event.blocks))
        if event.reference:
            self.controls.state.apply_moved(event)

    def _check_new_transfer(self, transfer_id: str) -> None:
        check_text("transfer id", transfer_id, required=True)
        if transfer_id in self._transfer_ids:
            raise RegistryError(
                CheckCode.TRANSACTION_ID_EXISTS,
                f"transfer {transfer_id!r} was already recorded in {self.code}",
            )

    def _check_other_registry(self, code: str) -> None:
        if not isinstance(code, str) or not is_registry_code(code) or code == self.code:
            raise RegistryError(
                CheckCode.INVALID_ARGUMENT,
                f"the other registry must be a two-letter code other than {self.code}, "
                f"was {code!r}",
            )

    def _check_arrival(self, block: UnitBlock) -> None:
        """Refuse a block this registry could not receive without duplicating serials."""
        key = block.serial_key
        if block.origin == self.code:
            away = self._away.get(key)
            if away is None or not away.covers(block.start, block.end):
                raise RegistryError(
                    CheckCode.BLOCKS_NOT_HELD,
                    f"{block} is of {self.code} origin but not recorded as held abroad",
                )
            return
        here = self._foreign.get(key)
        if here is not None and here.overlaps(block.start, block.end):
            raise RegistryError(
                CheckCode.BLOCKS_NOT_HELD,
                f"{block} overlaps serials already held in {self.code}",
            )

    def _record_surrender(self, record: Surrender) -> None:
        self._surrenders.append(record)
        self._surrenders_by_account.setdefault((record.account_id, record.period), []).append(
            record
        )

    # ---------------------------------------------------------------- checks

    def _move_quantity(
        self,
        kind: TransactionType,
        from_account: str,
        to_account: str,
        unit_type: str,
        quantity: int,
        vintage: int | None,
        period: int | None = None,
        reference: str = "",
        lock_purpose: LockPurpose | None = None,
        now: datetime | None = None,
    ) -> UnitsMoved:
        self.check_not_suspended(kind)
        _check_quantity(quantity)
        source, target = self._parties(kind, from_account, to_account)
        blocks = self._selected(source, unit_type, quantity, vintage)
        self._check_acquiring_may_hold(target, unit_type)
        if self.controls.state.active:
            self.controls.check_direct(kind, source, target, blocks, reference, lock_purpose, now)
        return self._apply(
            UnitsMoved(
                kind,
                source.account_id,
                target.account_id,
                tuple(blocks),
                period,
                reference,
                lock_purpose,
            )
        )

    def _move_blocks(
        self,
        kind: TransactionType,
        from_account: str,
        to_account: str,
        blocks: tuple[UnitBlock, ...],
        period: int | None = None,
        reference: str = "",
        lock_purpose: LockPurpose | None = None,
    ) -> UnitsMoved:
        self.check_not_suspended(kind)
        if not blocks:
            raise RegistryError(
                CheckCode.QUANTITY_NOT_POSITIVE_INTEGER, "name at least one serial block to move"
            )
        source, target = self._parties(kind, from_account, to_account)
        ordered = sorted(blocks, key=lambda b: (b.unit_type, b.vintage, b.start))
        _check_disjoint(blocks)
        for block in ordered:
            self._unit_type(block.unit_type)
            held = source.holding.find_container(block)
            if held is None or not held.same_provenance(block):
                raise RegistryError(
                    CheckCode.BLOCKS_NOT_HELD,
                    f"account {source.account_id} does not hold serial block {block}",
                )
            entry = self.quarantine.overlapping(block)
            if entry is not None:
                raise RegistryError(
                    CheckCode.UNITS_QUARANTINED,
                    f"serials {entry.start}-{entry.end} of {entry.unit_type} {entry.vintage} "
                    f"are quarantined ({entry.reason}); block {block} cannot move",
                )
            self._check_acquiring_may_hold(target, block.unit_type)
        if self.controls.state.active:
            self.controls.check_direct(kind, source, target, ordered, reference, lock_purpose, None)
        return self._apply(
            UnitsMoved(
                kind,
                source.account_id,
                target.account_id,
                tuple(ordered),
                period,
                reference,
                lock_purpose,
            )
        )

    def _parties(
        self, kind: TransactionType, from_account: str, to_account: str
    ) -> tuple[Account, Account]:
        source = self._transferring(kind, from_account)
        # `kind` itself, not `kind.value` (an enum property, dear on every transfer):
        # a StrEnum formats as its value in the message.
        target = self._acquiring(to_account, _targets(kind), kind)
        if target is source:
            raise RegistryError(
                CheckCode.ACQUIRING_ACCOUNT_EQUALS_TRANSFERRING,
                f"transferring and acquiring account are the same ({source.account_id})",
            )
        return source, target

    def _transferring(self, kind: TransactionType, from_account: str) -> Account:
        source = self._resolve(from_account, "transferring")
        if source.status is AccountStatus.CLOSED:
            raise RegistryError(
                CheckCode.TRANSFERRING_ACCOUNT_CLOSED,
                f"transferring account {source.account_id} is closed",
            )
        if source.status is AccountStatus.BLOCKED and kind is not TransactionType.UNLOCK:
            raise RegistryError(
                CheckCode.TRANSFERRING_ACCOUNT_SUSPENDED,
                f"transferring account {source.account_id} is blocked",
            )
        allowed_sources = _SOURCES.get(kind, HOLDING_KINDS)
        if source.kind not in allowed_sources:
            raise RegistryError(
                CheckCode.TRANSACTION_NOT_ALLOWED_FOR_TRANSFERRING_ACCOUNT_TYPE,
                f"a {kind.value} may not take units from a {source.kind.value} account "
                f"({source.account_id}); allowed: {kind_names(allowed_sources)}",
            )
        return source

    def _acquiring(self, reference: str, allowed: frozenset[AccountKind], action: str) -> Account:
        target = self._resolve(reference, "acquiring")
        if target.status is AccountStatus.CLOSED:
            raise RegistryError(
                CheckCode.ACQUIRING_ACCOUNT_CLOSED,
                f"acquiring account {target.account_id} is closed",
            )
        if target.status is AccountStatus.BLOCKED:
            raise RegistryError(
                CheckCode.ACQUIRING_ACCOUNT_SUSPENDED,
                f"acquiring account {target.account_id} is blocked",
            )
        if target.kind not in allowed:
            raise RegistryError(
                CheckCode.TRANSACTION_NOT_ALLOWED_FOR_ACQUIRING_ACCOUNT_TYPE,
                f"a {action} may not credit a {target.kind.value} account ({target.account_id}); "
                f"allowed: {kind_names(allowed)}",
            )
        return target

    def _check_acquiring_may_hold(self, target: Account, unit_type: str) -> None:
        origin = self.unit_types[unit_type].origin
        if target.kind in _ISSUANCE_TARGETS and origin != self.code:
            raise RegistryError(
                CheckCode.ACQUIRING_ACCOUNT_TYPE_MAY_NOT_HOLD_UNITS,
                f"{target.kind.value} account {target.account_id} may hold only {self.code} units, "
                f"not {unit_type} of {origin}",
            )

    def _resolve(self, reference: str, role: str) -> Account:
        try:
            record = self._accounts.get(reference)
        except TypeError:  # unhashable (a list from a malformed message): refused below
            record = None
        if record is not None:
            return record
        self.require_created()
        transferring = role == "transferring"
        if not isinstance(reference, str) or not reference:
            raise RegistryError(
                CheckCode.INVALID_ARGUMENT, f"{role} account must be named, was {reference!r}"
            )
        if "-" in reference:
            try:
                AccountId.parse(reference)
            except AccountIdError as error:
                code = (
                    CheckCode.TRANSFERRING_ACCOUNT_CHECK_DIGITS_INVALID
                    if transferring
                    else CheckCode.ACQUIRING_ACCOUNT_CHECK_DIGITS_INVALID
                )
                raise RegistryError(code, str(error)) from None
            account_id = reference
        else:
            account_id = self._labels.get(nfc(reference), "")
            record = self._accounts.get(account_id)
            if record is not None:
                return record
        code = (
            CheckCode.TRANSFERRING_ACCOUNT_DOES_NOT_EXIST
            if transferring
            else CheckCode.ACQUIRING_ACCOUNT_DOES_NOT_EXIST
        )
        raise RegistryError(code, f"{role} account {reference!r} does not exist in {self.code}")

    def _selected(
        self, source: Account, unit_type: str, quantity: int, vintage: int | None
    ) -> list[UnitBlock]:
        """Return the free units `source` would give, oldest vintage first (refused when short)."""
        self._unit_type(unit_type)
        if vintage is not None:
            _check_vintage(vintage)
        blocks = source.holding.select(unit_type, quantity, vintage, self.quarantine)
        if blocks is None:
            self._refuse_short(source, unit_type, quantity, vintage)
        return blocks

    def _refuse_short(
        self, source: Account, unit_type: str, quantity: int, vintage: int | None
    ) -> NoReturn:
        total = source.holding.balance(unit_type, vintage)
        what = unit_type if vintage is None else f"{unit_type} {vintage}"
        if total >= quantity:
            raise RegistryError(
                CheckCode.UNITS_QUARANTINED,
                f"account {source.account_id} holds {total:,} t of {what} but some serials are "
                f"quarantined, so fewer than the {quantity:,} t asked for can move",
            )
        raise RegistryError(
            CheckCode.QUANTITY_EXCEEDS_BALANCE,
            f"account {source.account_id} holds {total:,} t of {what}; {quantity:,} t asked for",
        )

    def check_not_suspended(self, kind: TransactionType) -> None:
        if self.suspension_reason is not None and kind not in _ALLOWED_WHILE_SUSPENDED:
            raise RegistryError(
                CheckCode.REGISTRY_SUSPENDED,
                f"registry {self.code} is suspended ({self.suspension_reason}); "
                f"only allocation and surrender are allowed, not {kind.value}",
            )

    def _check_new_lock(self, lock_id: str) -> None:
        check_text("lock id", lock_id, required=True)
        if lock_id in self._locks:
            raise RegistryError(
                CheckCode.TRANSACTION_ID_EXISTS, f"lock {lock_id!r} already exists in {self.code}"
            )
        self.controls.check_lock_id(lock_id)

    def _unit_type(self, code: str) -> UnitType:
        try:
            known = self.unit_types.get(code)
        except TypeError:  # unhashable (a list from a malformed message): refused below
            known = None
        if known is None:
            raise RegistryError(
                CheckCode.INVALID_UNIT_TYPE,
                f"registry {self.code or '(new)'} does not know unit type {code!r}; "
                f"known: {', '.join(sorted(self.unit_types)) or 'none'}",
            )
        return known

    def _own_unit_type(self, code: str) -> UnitType:
        known = self._unit_type(code)
        if known.origin != self.code:
            raise RegistryError(
                CheckCode.INVALID_UNIT_TYPE,
                f"registry {self.code} cannot issue {code}: its origin is {known.origin}",
            )
        return known

    def _change_status(
        self, reference: str, status: AccountStatus, allowed_from: set[AccountStatus], reason: str
    ) -> AccountStatusChanged:
        record = self.account(reference)
        check_text("reason", reason)
        if record.kind.singleton:
            raise RegistryError(
                CheckCode.ACCOUNT_STATUS_CONFLICT,
                f"the registry's {record.kind.value} account cannot be blocked or closed",
            )
        if record.status not in allowed_from:
            raise RegistryError(
                CheckCode.ACCOUNT_STATUS_CONFLICT,
                f"account {record.account_id} is {record.status.value}; "
                f"cannot become {status.value}",
            )
        if status is AccountStatus.CLOSED and any(
            lock.account_id == record.account_id for lock in self._locks.values()
        ):
            raise RegistryError(
                CheckCode.ACCOUNT_NOT_EMPTY,
                f"account {record.account_id} has locked units; unlock or finish them first",
            )
        return self._apply(AccountStatusChanged(record.account_id, status, reason))

    def _account_opened(self, kind: AccountKind, holder: str, label: str) -> AccountOpened:
        account_id = str(AccountId(self.code, kind.type_code, self._next_account_number))
        return AccountOpened(account_id, kind, holder, label)

    def _index_account(self, record: Account) -> None:
        self._accounts[record.account_id] = record
        self._holder_accounts.setdefault(record.holder, []).append(record.account_id)
        if record.label:
            # A singleton account's label is its kind ("issuance", "surrender", ...).
            self._labels[record.label] = record.account_id
        if record.kind.singleton:
            self._singletons[record.kind] = record.account_id

    def _singleton_id(self, kind: AccountKind) -> str:
        self.require_created()
        return self._singletons[kind]

    def require_created(self) -> None:
        if not self.code:
            raise RegistryError(CheckCode.INVALID_ARGUMENT, "the registry has not been created yet")


def _targets(kind: TransactionType) -> frozenset[AccountKind]:
    if kind is TransactionType.SURRENDER:
        return frozenset({AccountKind.SURRENDER})
    if kind is TransactionType.CANCEL:
        return frozenset({AccountKind.CANCELLATION})
    if kind is TransactionType.RETIRE:
        return frozenset({AccountKind.RETIREMENT})
    if kind is TransactionType.LOCK:
        return frozenset({AccountKind.PENDING_OUT})
    return _TRANSFER_TARGETS


def _check_quantity(quantity: Any) -> None:
    if type(quantity) is not int or quantity <= 0:
        raise RegistryError(
            CheckCode.QUANTITY_NOT_POSITIVE_INTEGER,
            f"quantity must be a positive whole number of tonnes, was {quantity!r}",
        )
    if quantity > SERIAL_MAX:
        raise RegistryError(
            CheckCode.QUANTITY_NOT_POSITIVE_INTEGER, f"quantity {quantity:,} exceeds {SERIAL_MAX:,}"
        )


def _check_vintage(vintage: Any) -> None:
    if type(vintage) is not int or not VINTAGE_MIN <= vintage <= VINTAGE_MAX:
        raise RegistryError(
            CheckCode.INVALID_VINTAGE,
            f"vintage must be a year from {VINTAGE_MIN} to {VINTAGE_MAX}, was {vintage!r}",
        )


def _check_period(period: Any) -> None:
    if type(period) is not int or not VINTAGE_MIN <= period <= VINTAGE_MAX:
        raise RegistryError(
            CheckCode.INVALID_ARGUMENT,
            f"compliance period must be a year from {VINTAGE_MIN} to {VINTAGE_MAX}, was {period!r}",
        )


def _check_serial_range(start: Any, end: Any) -> None:
    if type(start) is not int or type(end) is not int or not 1 <= start <= end <= SERIAL_MAX:
        raise RegistryError(
            CheckCode.INVALID_SERIAL_RANGE,
            f"serial range must satisfy 1 <= start <= end <= {SERIAL_MAX}, was {start!r}-{end!r}",
        )


def _overlapping_range(
    ranges: list[tuple[int, int]], start: int, end: int
) -> tuple[int, int] | None:
    # Ranges are disjoint and sorted, so only the last one starting at or
    # before `end` can overlap [start, end].
    index = bisect.bisect_right(ranges, (end, SERIAL_MAX + 1))
    if index and ranges[index - 1][1] >= start:
        return ranges[index - 1]
    return None


def _check_disjoint(blocks: tuple[UnitBlock, ...]) -> None:
    """Refuse blocks that name the same serial twice (10005)."""
    ordered = sorted(blocks, key=lambda b: (b.serial_key, b.start))
    for previous, block in itertools.pairwise(ordered):
        if previous.serial_key == block.serial_key and block.start <= previous.end:
            raise RegistryError(CheckCode.BLOCKS_NOT_HELD, f"blocks {previous} and {block} overlap")


def _merge_ranges(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(ranges):
        if merged and start == merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged
