"""Which registry events the transaction log must hear of, as `UnitChange`s.

The Kyoto registries tell the ITL of every retirement and cancellation, so
the log can refuse a unit that has ended (Hungary 2010: surrendered CERs
resold; reference D5). Here a registry's endpoint tells the gateway, in the
signed protocol, of each event that changes a block's fate or the registry's
own state: surrender, cancellation and retirement (terminal), quarantine and
its lifting (reference D2), registry-wide suspension and resumption (EU,
19 January 2011). Nothing else a registry does concerns the log.
"""

from __future__ import annotations

from typing import Any

from gateway.messages import (
    BLOCKS_PER_TRANSFER_MAX,
    TEXT_LENGTH_MAX,
    Change,
    SerialRange,
    UnitChange,
)
from registry.events import (
    QuarantineLifted,
    RegistryResumed,
    RegistrySuspended,
    SerialsQuarantined,
    TransactionType,
    UnitsMoved,
)
from registry.quarantine import QuarantinedRange
from registry.units import UnitBlock

_TERMINAL = {
    TransactionType.SURRENDER: Change.SURRENDERED,
    TransactionType.CANCEL: Change.CANCELLED,
    TransactionType.RETIRE: Change.RETIRED,
}
# The journal kinds that may carry a change: a catch-up reads only these.
NOTICED_KINDS = frozenset(
    {
        UnitsMoved.kind,
        RegistrySuspended.kind,
        RegistryResumed.kind,
        SerialsQuarantined.kind,
        QuarantineLifted.kind,
    }
)
_TERMINAL_TYPES = frozenset(kind.value for kind in _TERMINAL)


def is_noticed(kind: str, data: dict[str, Any]) -> bool:
    """Return whether a journal entry of `kind` with `data` may carry a change (cheap filter)."""
    if kind == UnitsMoved.kind:
        return data.get("transaction_type") in _TERMINAL_TYPES
    return kind in NOTICED_KINDS


def changes_of(event: Any) -> list[UnitChange]:
    """Return what the log must hear of `event` (nothing for most events)."""
    kind = type(event)
    if kind is UnitsMoved:
        change = _TERMINAL.get(event.transaction_type)
        if change is None:
            return []
        serials = [_range(block) for block in event.blocks]
        size = BLOCKS_PER_TRANSFER_MAX
        return [
            UnitChange(change, tuple(serials[index : index + size]))
            for index in range(0, len(serials), size)
        ]
    if kind is RegistrySuspended:
        return [UnitChange(Change.SUSPENDED, (), event.reason[:TEXT_LENGTH_MAX])]
    if kind is RegistryResumed:
        return [UnitChange(Change.RESUMED, (), event.reason[:TEXT_LENGTH_MAX])]
    if kind is SerialsQuarantined:
        entry = event.entry
        return [
            UnitChange(Change.QUARANTINED, (_entry_range(entry),), entry.reason[:TEXT_LENGTH_MAX])
        ]
    if kind is QuarantineLifted:
        return [UnitChange(Change.QUARANTINE_LIFTED, (_entry_range(event.entry),))]
    return []


def _range(block: UnitBlock) -> SerialRange:
    return (block.origin, block.unit_type, block.vintage, block.start, block.end)


def _entry_range(entry: QuarantinedRange) -> SerialRange:
    return (entry.origin, entry.unit_type, entry.vintage, entry.start, entry.end)
