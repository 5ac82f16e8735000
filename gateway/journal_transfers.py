"""Completed transfers read from registries' journals, for analysis across registries.

Every unit that changed hands is in some registry's journal: an internal
transfer is one `units_moved` event of type transfer; an external one is a
lock (`units_moved` of type lock, naming the account the units left), its
`units_exported` at the origin and `units_imported` at the destination,
joined by the gateway's transfer id. This module turns those entries into
`CompletedTransfer`s, each at the moment its units were credited (the
journal's simulated time of the transfer, or of the import). Allocation,
surrender, cancellation and retirement are not changes of hands between
traders, and are left out.

A pure function of the entries it is given: the caller reads (and has
verified) the journals.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from gateway.circular_trading import AccountRef, CompletedTransfer
from registry.accounts import AccountKind
from registry.clock import parse_time
from registry.events import TransactionType
from registry.journal import JournalEntry
from registry.units import UnitBlock


@dataclass(frozen=True, slots=True)
class TransferHistory:
    """Completed transfers across registries, and the exchanges' custody accounts."""

    transfers: tuple[CompletedTransfer, ...]
    custody_accounts: frozenset[AccountRef]  # intermediaries: a trade passes through them
    unmatched_imports: tuple[str, ...]  # imports whose origin journal was not given


@dataclass(frozen=True, slots=True)
class _Import:
    transfer_id: str
    from_registry: str
    destination: AccountRef
    at: str
    blocks: tuple[UnitBlock, ...]


def read_transfer_history(journals: Mapping[str, Iterable[JournalEntry]]) -> TransferHistory:
    """Return the completed transfers in the journals of registries, by registry code."""
    transfers: list[CompletedTransfer] = []
    custody: set[AccountRef] = set()
    exported_from: dict[str, AccountRef] = {}  # gateway transfer id → the account left
    imports: list[_Import] = []
    for code, entries in sorted(journals.items()):
        locked_from: dict[str, str] = {}  # lock id → the account it took units from
        for entry in entries:
            data: Any = entry.data
            if entry.kind == "account_opened":
                if data["account_kind"] == AccountKind.EXCHANGE_CUSTODY.value:
                    custody.add(AccountRef(code, data["account_id"]))
            elif entry.kind == "units_moved":
                kind = data["transaction_type"]
                if kind == TransactionType.LOCK.value:
                    locked_from[data["reference"]] = data["from_account"]
                elif kind == TransactionType.TRANSFER.value:
                    transfers.append(
                        CompletedTransfer(
                            f"{code}#{entry.seq}",
                            AccountRef(code, data["from_account"]),
                            AccountRef(code, data["to_account"]),
                            parse_time(entry.sim_time),
                            _blocks(data),
                        )
                    )
            elif entry.kind == "units_exported":
                account = locked_from[data["lock_id"]]
                exported_from[data["transfer_id"]] = AccountRef(code, account)
            elif entry.kind == "units_imported":
                imports.append(
                    _Import(
                        data["transfer_id"],
                        data["from_registry"],
                        AccountRef(code, data["account_id"]),
                        entry.sim_time,
                        _blocks(data),
                    )
                )
    unmatched = []
    for arrival in imports:
        source = exported_from.get(arrival.transfer_id)
        if source is None:
            unmatched.append(arrival.transfer_id)
            continue
        assert source.registry == arrival.from_registry, (source, arrival)
        transfers.append(
            CompletedTransfer(
                arrival.transfer_id,
                source,
                arrival.destination,
                parse_time(arrival.at),
                arrival.blocks,
            )
        )
    return TransferHistory(tuple(transfers), frozenset(custody), tuple(sorted(unmatched)))


def _blocks(data: dict[str, Any]) -> tuple[UnitBlock, ...]:
    return tuple(UnitBlock.from_data(block) for block in data["blocks"])
