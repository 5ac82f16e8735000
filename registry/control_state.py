"""The state of a registry's transfer controls: settings, representatives, trusted
lists and controlled transfers. Mutated only by the ledger's `apply`."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from registry.clock import format_time, parse_time
from registry.controls import ControlSettings, PendingTransfer, TransferStatus
from registry.events import (
    ControlsConfigured,
    RepresentativeAdded,
    TransferApproved,
    TransferEnded,
    TransferInitiated,
    TrustedAccountAdded,
    TrustedOnlySet,
)

Payee = tuple[str, str]  # (registry code, account id)


class ControlState:
    """Who may act for which account, whom it trusts since when, and each controlled transfer."""

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

    def handed_on(self, transaction_id: str, status: TransferStatus) -> None:
        """Record an approved transfer executed (4) or proposed to the hub (1)."""
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
