"""Accounts: kinds, statuses, and the mutable record the ledger keeps per account."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from registry.holdings import Holding


class AccountKind(StrEnum):
    """What an account is for; decides which transactions may touch it."""

    ISSUANCE = "issuance"
    PENDING_OUT = "pending_out"
    COMPLIANCE = "compliance"
    TRADING = "trading"
    EXCHANGE_CUSTODY = "exchange_custody"
    RESERVE = "reserve"
    SURRENDER = "surrender"
    CANCELLATION = "cancellation"
    RETIREMENT = "retirement"

    @property
    def type_code(self) -> int:
        """Return the numeric account type used in identifiers.

        100 party holding, 110 pending, 120 operator holding, 121 person
        holding, 230 voluntary cancellation and 300 retirement are Kyoto
        codes; 125 (custody), 130 (reserve) and 290 (surrender) are ours.
        """
        return _TYPE_CODES[self]

    @property
    def terminal(self) -> bool:
        """Units that reach a terminal account never move again (Hungary, 2010)."""
        return self in _TERMINAL

    @property
    def singleton(self) -> bool:
        """A registry has exactly one account of this kind, opened at creation."""
        return self in _SINGLETON


_TYPE_CODES = {
    AccountKind.ISSUANCE: 100,
    AccountKind.PENDING_OUT: 110,
    AccountKind.COMPLIANCE: 120,
    AccountKind.TRADING: 121,
    AccountKind.EXCHANGE_CUSTODY: 125,
    AccountKind.RESERVE: 130,
    AccountKind.SURRENDER: 290,
    AccountKind.CANCELLATION: 230,
    AccountKind.RETIREMENT: 300,
}
_TERMINAL = frozenset({AccountKind.SURRENDER, AccountKind.CANCELLATION, AccountKind.RETIREMENT})
_SINGLETON = frozenset(
    {
        AccountKind.ISSUANCE,
        AccountKind.PENDING_OUT,
        AccountKind.SURRENDER,
        AccountKind.CANCELLATION,
        AccountKind.RETIREMENT,
    }
)
# Kinds a plain transfer, an allocation or a lock may move units out of.
HOLDING_KINDS = frozenset(
    {
        AccountKind.ISSUANCE,
        AccountKind.COMPLIANCE,
        AccountKind.TRADING,
        AccountKind.EXCHANGE_CUSTODY,
        AccountKind.RESERVE,
    }
)
ALLOCATING_KINDS = frozenset({AccountKind.ISSUANCE, AccountKind.RESERVE})


def kind_names(kinds: Iterable[AccountKind]) -> str:
    """Return the kinds' names, sorted and comma-separated, for a message."""
    return ", ".join(sorted(kind.value for kind in kinds))


class AccountStatus(StrEnum):
    OPEN = "open"
    BLOCKED = "blocked"
    CLOSED = "closed"


@dataclass(slots=True, eq=False)
class Account:
    """One account's record. Mutated only by the ledger's `apply`."""

    account_id: str
    kind: AccountKind
    holder: str
    label: str
    status: AccountStatus = AccountStatus.OPEN
    holding: Holding = field(default_factory=Holding)
