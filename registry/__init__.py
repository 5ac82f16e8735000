"""One emissions-trading registry: serial-block units, accounts, a journaled ledger.

`import registry.units` loads that module alone: each name below is imported on first use,
so only what needs the store (`Registry`, `make_engine`) loads SQLAlchemy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from registry.lazy_names import lazy_names

if TYPE_CHECKING:
    from registry.account_ids import AccountId, AccountIdError
    from registry.accounts import Account, AccountKind, AccountStatus
    from registry.clock import SimulatedClock
    from registry.errors import (
        CheckCode,
        ConcurrentWriterError,
        JournalIntegrityError,
        RegistryError,
        StoreError,
    )
    from registry.events import LockPurpose, TransactionType, UnitsMoved
    from registry.journal import GroupCommit
    from registry.keys import SigningKey, VerifyKey
    from registry.ledger import Ledger, Lock, Surrender, Totals
    from registry.registry import Registry, load_ledger, verify_journal
    from registry.store import make_engine
    from registry.units import UnitBlock, UnitKind, UnitType

# Where each public name lives; `__getattr__` imports its module when it is first asked for.
_HOMES: dict[str, str] = {
    "AccountId": "registry.account_ids",
    "AccountIdError": "registry.account_ids",
    "Account": "registry.accounts",
    "AccountKind": "registry.accounts",
    "AccountStatus": "registry.accounts",
    "SimulatedClock": "registry.clock",
    "CheckCode": "registry.errors",
    "ConcurrentWriterError": "registry.errors",
    "JournalIntegrityError": "registry.errors",
    "RegistryError": "registry.errors",
    "StoreError": "registry.errors",
    "LockPurpose": "registry.events",
    "TransactionType": "registry.events",
    "UnitsMoved": "registry.events",
    "GroupCommit": "registry.journal",
    "SigningKey": "registry.keys",
    "VerifyKey": "registry.keys",
    "Ledger": "registry.ledger",
    "Lock": "registry.ledger",
    "Surrender": "registry.ledger",
    "Totals": "registry.ledger",
    "Registry": "registry.registry",
    "load_ledger": "registry.registry",
    "verify_journal": "registry.registry",
    "make_engine": "registry.store",
    "UnitBlock": "registry.units",
    "UnitKind": "registry.units",
    "UnitType": "registry.units",
}

__all__ = [
    "Account",
    "AccountId",
    "AccountIdError",
    "AccountKind",
    "AccountStatus",
    "CheckCode",
    "ConcurrentWriterError",
    "GroupCommit",
    "JournalIntegrityError",
    "Ledger",
    "Lock",
    "LockPurpose",
    "Registry",
    "RegistryError",
    "SigningKey",
    "SimulatedClock",
    "StoreError",
    "Surrender",
    "Totals",
    "TransactionType",
    "UnitBlock",
    "UnitKind",
    "UnitType",
    "UnitsMoved",
    "VerifyKey",
    "load_ledger",
    "make_engine",
    "verify_journal",
]

__getattr__, __dir__ = lazy_names(globals(), _HOMES)
