"""The events a registry journals. Immutable; a correction is a new event.

Each event encodes to canonical plain data (`to_data`) and back
(`event_from_data`); the journal stores the kind and that data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

from registry import canonical
from registry.accounts import AccountKind, AccountStatus
from registry.clock import format_time, parse_time
from registry.controls import ControlSettings, TransferStatus
from registry.quarantine import QuarantinedRange
from registry.units import UnitBlock, UnitType, block_text, blocks_text


class TransactionType(StrEnum):
    """Why units moved. Internal transactions complete at once (status 4)."""

    TRANSFER = "transfer"
    ALLOCATE = "allocate"
    SURRENDER = "surrender"
    CANCEL = "cancel"
    RETIRE = "retire"
    LOCK = "lock"
    UNLOCK = "unlock"


class LockPurpose(StrEnum):
    EXTERNAL_TRANSFER = "external_transfer"
    EXCHANGE_CUSTODY = "exchange_custody"


@dataclass(frozen=True, slots=True)
class RegistryCreated:
    kind: ClassVar[str] = "registry_created"
    code: str
    name: str

    def to_data(self) -> dict[str, Any]:
        return {"code": self.code, "name": self.name}

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> RegistryCreated:
        return cls(data["code"], data["name"])


@dataclass(frozen=True, slots=True)
class UnitTypeRegistered:
    kind: ClassVar[str] = "unit_type_registered"
    unit_type: UnitType

    def to_data(self) -> dict[str, Any]:
        return {"unit_type": self.unit_type.to_data()}

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> UnitTypeRegistered:
        return cls(UnitType.from_data(data["unit_type"]))


@dataclass(frozen=True, slots=True)
class IssuanceCapSet:
    kind: ClassVar[str] = "issuance_cap_set"
    unit_type: str
    vintage: int
    cap_t: int

    def to_data(self) -> dict[str, Any]:
        return {"unit_type": self.unit_type, "vintage": self.vintage, "cap_t": self.cap_t}

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> IssuanceCapSet:
        return cls(data["unit_type"], data["vintage"], data["cap_t"])


@dataclass(frozen=True, slots=True)
class AccountOpened:
    kind: ClassVar[str] = "account_opened"
    account_id: str
    account_kind: AccountKind
    holder: str
    label: str

    def to_data(self) -> dict[str, Any]:
        return {
            "account_id": self.account_id,
            "account_kind": self.account_kind.value,
            "holder": self.holder,
            "label": self.label,
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> AccountOpened:
        return cls(
            data["account_id"], AccountKind(data["account_kind"]), data["holder"], data["label"]
        )


@dataclass(frozen=True, slots=True)
class AccountStatusChanged:
    kind: ClassVar[str] = "account_status_changed"
    account_id: str
    status: AccountStatus
    reason: str

    def to_data(self) -> dict[str, Any]:
        return {"account_id": self.account_id, "status": self.status.value, "reason": self.reason}

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> AccountStatusChanged:
        return cls(data["account_id"], AccountStatus(data["status"]), data["reason"])


@dataclass(frozen=True, slots=True)
class UnitsIssued:
    kind: ClassVar[str] = "units_issued"
    account_id: str
    block: UnitBlock

    def to_data(self) -> dict[str, Any]:
        return {"account_id": self.account_id, "block": self.block.to_data()}

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> UnitsIssued:
        return cls(data["account_id"], UnitBlock.from_data(data["block"]))


@dataclass(frozen=True, slots=True)
class UnitsMoved:
    """Blocks moved from one account to another, for a stated transaction type.

    `period` tags a surrender with its compliance period; `reference` names
    the lock of a lock or unlock and is free text otherwise.
    """

    kind: ClassVar[str] = "units_moved"
    transaction_type: TransactionType
    from_account: str
    to_account: str
    blocks: tuple[UnitBlock, ...]
    period: int | None = None
    reference: str = ""
    lock_purpose: LockPurpose | None = None

    @property
    def quantity(self) -> int:
        return sum(block.quantity for block in self.blocks)

    def to_data(self) -> dict[str, Any]:
        return {
            "transaction_type": self.transaction_type.value,
            "from_account": self.from_account,
            "to_account": self.to_account,
            "blocks": [block.to_data() for block in self.blocks],
            "period": self.period,
            "reference": self.reference,
            "lock_purpose": None if self.lock_purpose is None else self.lock_purpose.value,
        }

    def to_text(self) -> str:
        """Return `canonical.encode_text(self.to_data())`, written directly.

        This is the journal body of every transfer, and the generic check and
        encoder cost several times more. Fields of any but the expected exact
        types take the generic path, which also refuses what is not plain.
        """
        period = self.period
        purpose = self.lock_purpose
        if (
            type(self.transaction_type) is TransactionType
            and type(self.from_account) is str
            and type(self.to_account) is str
            and type(self.blocks) is tuple
            and (period is None or type(period) is int)
            and type(self.reference) is str
            and (purpose is None or type(purpose) is LockPurpose)
        ):
            blocks = [block_text(block) for block in self.blocks]
            if None not in blocks:
                quote = canonical.quote
                # Keys in sorted order, as the canonical encoder writes them.
                return (
                    f'{{"blocks":[{",".join(blocks)}]'  # type: ignore[arg-type]
                    f',"from_account":{quote(self.from_account)}'
                    f',"lock_purpose":{"null" if purpose is None else quote(purpose.value)}'
                    f',"period":{"null" if period is None else period}'
                    f',"reference":{quote(self.reference)}'
                    f',"to_account":{quote(self.to_account)}'
                    f',"transaction_type":{quote(self.transaction_type.value)}}}'
                )
        return canonical.encode_text(self.to_data())

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> UnitsMoved:
        purpose = data["lock_purpose"]
        return cls(
            TransactionType(data["transaction_type"]),
            data["from_account"],
            data["to_account"],
            tuple(UnitBlock.from_data(block) for block in data["blocks"]),
            data["period"],
            data["reference"],
            None if purpose is None else LockPurpose(purpose),
        )


def _texts_or_none(*values: Any) -> tuple[str, ...] | None:
    """Return each value as a canonical string literal, or None unless all are str."""
    if any(type(value) is not str for value in values):
        return None
    return tuple(canonical.quote(value) for value in values)


@dataclass(frozen=True, slots=True)
class RegistrySuspended:
    """Registry-wide suspension: only allocation and surrender go on (DOMAIN.md, D2)."""

    kind: ClassVar[str] = "registry_suspended"
    reason: str

    def to_data(self) -> dict[str, Any]:
        return {"reason": self.reason}

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> RegistrySuspended:
        return cls(data["reason"])


@dataclass(frozen=True, slots=True)
class RegistryResumed:
    kind: ClassVar[str] = "registry_resumed"
    reason: str

    def to_data(self) -> dict[str, Any]:
        return {"reason": self.reason}

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> RegistryResumed:
        return cls(data["reason"])


@dataclass(frozen=True, slots=True)
class SerialsQuarantined:
    kind: ClassVar[str] = "serials_quarantined"
    entry: QuarantinedRange

    def to_data(self) -> dict[str, Any]:
        return {"entry": self.entry.to_data()}

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> SerialsQuarantined:
        return cls(QuarantinedRange.from_data(data["entry"]))


@dataclass(frozen=True, slots=True)
class QuarantineLifted:
    kind: ClassVar[str] = "quarantine_lifted"
    entry: QuarantinedRange

    def to_data(self) -> dict[str, Any]:
        return {"entry": self.entry.to_data()}

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> QuarantineLifted:
        return cls(QuarantinedRange.from_data(data["entry"]))


@dataclass(frozen=True, slots=True)
class UnitsExported:
    """Locked blocks left this registry in a completed external transfer."""

    kind: ClassVar[str] = "units_exported"
    lock_id: str
    transfer_id: str
    to_registry: str
    blocks: tuple[UnitBlock, ...]

    def to_data(self) -> dict[str, Any]:
        return {
            "lock_id": self.lock_id,
            "transfer_id": self.transfer_id,
            "to_registry": self.to_registry,
            "blocks": [block.to_data() for block in self.blocks],
        }

    def to_text(self) -> str:
        """Return `canonical.encode_text(self.to_data())`, written directly (see UnitsMoved)."""
        head = _texts_or_none(self.lock_id, self.to_registry, self.transfer_id)
        blocks = blocks_text(self.blocks)
        if head is None or blocks is None:
            return canonical.encode_text(self.to_data())
        lock_id, to_registry, transfer_id = head
        return (
            f'{{"blocks":[{blocks}],"lock_id":{lock_id},"to_registry":{to_registry}'
            f',"transfer_id":{transfer_id}}}'
        )

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> UnitsExported:
        blocks = tuple(UnitBlock.from_data(block) for block in data["blocks"])
        return cls(data["lock_id"], data["transfer_id"], data["to_registry"], blocks)


@dataclass(frozen=True, slots=True)
class UnitsImported:
    """Blocks arrived from another registry in a completed external transfer."""

    kind: ClassVar[str] = "units_imported"
    transfer_id: str
    from_registry: str
    account_id: str
    blocks: tuple[UnitBlock, ...]

    def to_data(self) -> dict[str, Any]:
        return {
            "transfer_id": self.transfer_id,
            "from_registry": self.from_registry,
            "account_id": self.account_id,
            "blocks": [block.to_data() for block in self.blocks],
        }

    def to_text(self) -> str:
        """Return `canonical.encode_text(self.to_data())`, written directly (see UnitsMoved)."""
        head = _texts_or_none(self.account_id, self.from_registry, self.transfer_id)
        blocks = blocks_text(self.blocks)
        if head is None or blocks is None:
            return canonical.encode_text(self.to_data())
        account_id, from_registry, transfer_id = head
        return (
            f'{{"account_id":{account_id},"blocks":[{blocks}],"from_registry":{from_registry}'
            f',"transfer_id":{transfer_id}}}'
        )

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> UnitsImported:
        blocks = tuple(UnitBlock.from_data(block) for block in data["blocks"])
        return cls(data["transfer_id"], data["from_registry"], data["account_id"], blocks)


# ---------------------------------------------------------------- transfer controls


@dataclass(frozen=True, slots=True)
class ControlsConfigured:
    """The registry's transfer controls from now on (see `registry.controls`)."""

    kind: ClassVar[str] = "controls_configured"
    settings: ControlSettings

    def to_data(self) -> dict[str, Any]:
        return {"settings": self.settings.to_data()}

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> ControlsConfigured:
        return cls(ControlSettings.from_data(data["settings"]))


@dataclass(frozen=True, slots=True)
class RepresentativeAdded:
    """The administrator named a person an authorised representative of an account."""

    kind: ClassVar[str] = "representative_added"
    account_id: str
    representative: str

    def to_data(self) -> dict[str, Any]:
        return {"account_id": self.account_id, "representative": self.representative}

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> RepresentativeAdded:
        return cls(data["account_id"], data["representative"])


@dataclass(frozen=True, slots=True)
class TrustedOnlySet:
    """Whether an account may pay only accounts on its trusted list (check 2507)."""

    kind: ClassVar[str] = "trusted_only_set"
    account_id: str
    trusted_only: bool

    def to_data(self) -> dict[str, Any]:
        return {"account_id": self.account_id, "trusted_only": self.trusted_only}

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> TrustedOnlySet:
        return cls(data["account_id"], data["trusted_only"])


@dataclass(frozen=True, slots=True)
class TrustedAccountAdded:
    """A payee joined an account's trusted list; it counts from `effective_at`."""

    kind: ClassVar[str] = "trusted_account_added"
    account_id: str
    trusted_registry: str
    trusted_account: str
    effective_at: datetime

    def to_data(self) -> dict[str, Any]:
        return {
            "account_id": self.account_id,
            "trusted_registry": self.trusted_registry,
            "trusted_account": self.trusted_account,
            "effective_at": format_time(self.effective_at),
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> TrustedAccountAdded:
        return cls(
            data["account_id"],
            data["trusted_registry"],
            data["trusted_account"],
            parse_time(data["effective_at"]),
        )


@dataclass(frozen=True, slots=True)
class TransferInitiated:
    """A representative initiated a transfer; it awaits approval (status 0)."""

    kind: ClassVar[str] = "transfer_initiated"
    transaction_id: str
    from_account: str
    to_registry: str
    to_account: str
    unit_type: str
    quantity: int
    vintage: int | None
    initiator: str

    def to_data(self) -> dict[str, Any]:
        return {
            "transaction_id": self.transaction_id,
            "from_account": self.from_account,
            "to_registry": self.to_registry,
            "to_account": self.to_account,
            "unit_type": self.unit_type,
            "quantity": self.quantity,
            "vintage": self.vintage,
            "initiator": self.initiator,
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> TransferInitiated:
        return cls(
            data["transaction_id"],
            data["from_account"],
            data["to_registry"],
            data["to_account"],
            data["unit_type"],
            data["quantity"],
            data["vintage"],
            data["initiator"],
        )


@dataclass(frozen=True, slots=True)
class TransferApproved:
    """A second representative approved a transfer; it executes at `execute_at` (status 30).

    An internal transfer executes as a `UnitsMoved` transfer whose reference
    is the transaction id; an external one when its units are locked under it.
    """

    kind: ClassVar[str] = "transfer_approved"
    transaction_id: str
    approver: str
    execute_at: datetime

    def to_data(self) -> dict[str, Any]:
        return {
            "transaction_id": self.transaction_id,
            "approver": self.approver,
            "execute_at": format_time(self.execute_at),
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> TransferApproved:
        return cls(data["transaction_id"], data["approver"], parse_time(data["execute_at"]))


@dataclass(frozen=True, slots=True)
class TransferEnded:
    """A controlled transfer ended without moving units: cancelled (7) or terminated (5)."""

    kind: ClassVar[str] = "transfer_ended"
    transaction_id: str
    status: TransferStatus
    code: int
    message: str

    def to_data(self) -> dict[str, Any]:
        return {
            "transaction_id": self.transaction_id,
            "status": int(self.status),
            "code": self.code,
            "message": self.message,
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> TransferEnded:
        return cls(
            data["transaction_id"], TransferStatus(data["status"]), data["code"], data["message"]
        )


Event = (
    RegistryCreated
    | UnitTypeRegistered
    | IssuanceCapSet
    | AccountOpened
    | AccountStatusChanged
    | UnitsIssued
    | UnitsMoved
    | RegistrySuspended
    | RegistryResumed
    | SerialsQuarantined
    | QuarantineLifted
    | UnitsExported
    | UnitsImported
    | ControlsConfigured
    | RepresentativeAdded
    | TrustedOnlySet
    | TrustedAccountAdded
    | TransferInitiated
    | TransferApproved
    | TransferEnded
)

EVENT_TYPES: dict[str, Any] = {
    cls.kind: cls
    for cls in (
        RegistryCreated,
        UnitTypeRegistered,
        IssuanceCapSet,
        AccountOpened,
        AccountStatusChanged,
        UnitsIssued,
        UnitsMoved,
        RegistrySuspended,
        RegistryResumed,
        SerialsQuarantined,
        QuarantineLifted,
        UnitsExported,
        UnitsImported,
        ControlsConfigured,
        RepresentativeAdded,
        TrustedOnlySet,
        TrustedAccountAdded,
        TransferInitiated,
        TransferApproved,
        TransferEnded,
    )
}


def event_from_data(kind: str, data: dict[str, Any]) -> Event:
    """Rebuild an event from its journaled kind and data."""
    event_type = EVENT_TYPES.get(kind)
    if event_type is None:
        raise ValueError(f"unknown event kind {kind!r} in the journal")
    event: Event = event_type.from_data(data)
    return event
