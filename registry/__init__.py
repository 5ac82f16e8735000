"""One emissions-trading registry: serial-block units, accounts, a journaled ledger."""

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
