"""Paris Agreement Article 6.4 mechanism registry: issuance of A6.4ERs with the share of
proceeds and OMGE (reference A24, D23; DOMAIN.md, Article 6.2).

A6.4ERs are issued into a pending account held by the secretariat. At
issuance a 5% share of proceeds goes to the Adaptation Fund and 2% is
cancelled for overall mitigation in global emissions (OMGE) [P]; the rest
waits in the pending account until the activity participants say where it
goes. How the levies round is not settled [U]: `LevyRules` makes it
configurable, ceiling for both by default, so issuing N leaves
N − ⌈0.05N⌉ − ⌈0.02N⌉ to distribute (D23).

Everything runs as the registry's own operations, journaled like any other:
`issue` into the pending account, `transfer_blocks` of the first serials to
the Adaptation Fund, and for OMGE `transfer_blocks` of the next serials into
an OMGE holding account, then `cancel` from it into the registry's
cancellation account. The registry cancels by quantity only, so the OMGE
account is kept empty between issuances: what it cancels is exactly the
serials just moved there (checked). The accounts are existing kinds: the
pending account is a reserve account (issuance may credit it, units may
leave it), the Adaptation Fund's and the OMGE account are trading accounts.

Provenance: each A6.4ER's serial space is (mechanism registry, unit type,
vintage); its `project_id` is `<host Party>/<activity id>`, so activity,
host Party and vintage identify it (A24); `article6_authorized` is set for
A6.4ERs the host Party authorised (they are used like ITMOs) and clear for
mitigation-contribution A6.4ERs, which are not.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction
from typing import Protocol

from registry.accounts import Account, AccountKind
from registry.errors import CheckCode, RegistryError
from registry.events import AccountOpened, UnitsIssued, UnitsMoved
from registry.units import UnitBlock

SHARE_OF_PROCEEDS = Fraction(5, 100)  # to the Adaptation Fund; reference A24, D23 [P]
OMGE_SHARE = Fraction(2, 100)  # cancelled for OMGE; reference A24, D23 [P]
ISSUANCE_MAX_T = 10**12  # one issuance request; far above any activity's yearly A6.4ERs

SECRETARIAT = "UNFCCC secretariat"
ADAPTATION_FUND = "Adaptation Fund"
PENDING_LABEL = "a64_pending"
ADAPTATION_FUND_LABEL = "adaptation_fund"
OMGE_LABEL = "omge"

_PARTY_RE = re.compile(r"[A-Z]{2,4}")
_ACTIVITY_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")


class LevyRounding(StrEnum):
    """How a levy's share of an issuance rounds to whole units [U]."""

    CEILING = "ceiling"
    FLOOR = "floor"
    HALF_UP = "half_up"

    def apply(self, quantity: Fraction) -> int:
        if self is LevyRounding.CEILING:
            return math.ceil(quantity)
        if self is LevyRounding.FLOOR:
            return math.floor(quantity)
        return math.floor(quantity + Fraction(1, 2))


class A64Use(StrEnum):
    """What the host Party allows an A6.4ER to be used for (reference A24)."""

    AUTHORISED = "authorised"  # used like an ITMO, with corresponding adjustments
    MITIGATION_CONTRIBUTION = "mitigation_contribution"  # not authorised


@dataclass(frozen=True, slots=True)
class IssuanceSplit:
    """Where the units of one issuance go, in tonnes."""

    issued_t: int
    share_of_proceeds_t: int
    omge_t: int
    distributable_t: int

    def __post_init__(self) -> None:
        # Derived by LevyRules.split; an inconsistent split is a bug.
        assert self.share_of_proceeds_t >= 0 and self.omge_t >= 0, self
        assert self.distributable_t >= 0, self
        assert self.share_of_proceeds_t + self.omge_t + self.distributable_t == self.issued_t, self


@dataclass(frozen=True, slots=True)
class LevyRules:
    """The levies at issuance and how each rounds (ceiling for both by default, D23)."""

    share_of_proceeds: Fraction = SHARE_OF_PROCEEDS
    omge_share: Fraction = OMGE_SHARE
    share_of_proceeds_rounding: LevyRounding = LevyRounding.CEILING
    omge_rounding: LevyRounding = LevyRounding.CEILING

    def __post_init__(self) -> None:
        shares = (self.share_of_proceeds, self.omge_share)
        if any(type(share) is not Fraction or not 0 <= share < 1 for share in shares):
            raise ValueError(f"levy shares must be Fractions in [0, 1), were {shares}")
        if sum(shares) >= 1:
            raise ValueError(f"levy shares must leave something to distribute, were {shares}")

    def split(self, issued_t: int) -> IssuanceSplit:
        """Return the levies on issuing `issued_t`; refuse (a RegistryError) if they exceed it."""
        share_of_proceeds_t = self.share_of_proceeds_rounding.apply(
            issued_t * self.share_of_proceeds
        )
        omge_t = self.omge_rounding.apply(issued_t * self.omge_share)
        if share_of_proceeds_t + omge_t > issued_t:
            raise RegistryError(
                CheckCode.INVALID_ARGUMENT,
                f"issuing {issued_t:,} A6.4ERs: the share of proceeds {share_of_proceeds_t:,} "
                f"and OMGE {omge_t:,} would exceed it; issue more at once",
            )
        distributable_t = issued_t - share_of_proceeds_t - omge_t
        return IssuanceSplit(issued_t, share_of_proceeds_t, omge_t, distributable_t)


@dataclass(frozen=True, slots=True)
class MechanismAccounts:
    """The mechanism registry's accounts for issuance: pending, Adaptation Fund, OMGE."""

    pending: str
    adaptation_fund: str
    omge: str


@dataclass(frozen=True, slots=True)
class A64Issuance:
    """One issuance of A6.4ERs and where its serials went."""

    activity_id: str
    host_party: str
    use: A64Use
    split: IssuanceSplit
    issued: UnitBlock
    share_of_proceeds: UnitBlock | None  # in the Adaptation Fund's account
    omge: UnitBlock | None  # cancelled
    distributable: UnitBlock | None  # in the pending account

    def __post_init__(self) -> None:
        parts = [self.share_of_proceeds, self.omge, self.distributable]
        quantities = [0 if part is None else part.quantity for part in parts]
        split = self.split
        assert quantities == [split.share_of_proceeds_t, split.omge_t, split.distributable_t]
        assert all(part is None or self.issued.contains(part) for part in parts), self


class MechanismRegistry(Protocol):
    """The registry operations issuance uses: a `Registry`, or a bare `Ledger` in tests."""

    @property
    def code(self) -> str: ...

    def open_account(self, kind: AccountKind, holder: str, label: str = "") -> AccountOpened: ...

    def account(self, reference: str) -> Account: ...

    def issue(
        self,
        unit_type: str,
        vintage: int,
        quantity: int,
        account: str | None = None,
        project_id: str = "",
        article6_authorized: bool = False,
    ) -> UnitsIssued: ...

    def transfer_blocks(
        self, from_account: str, to_account: str, blocks: Iterable[UnitBlock]
    ) -> UnitsMoved: ...

    def cancel(
        self, account: str, unit_type: str, quantity: int, vintage: int | None = None
    ) -> UnitsMoved: ...


def open_mechanism_accounts(registry: MechanismRegistry) -> MechanismAccounts:
    """Open the pending, Adaptation Fund and OMGE accounts in the mechanism registry."""
    pending = registry.open_account(AccountKind.RESERVE, SECRETARIAT, PENDING_LABEL)
    fund = registry.open_account(AccountKind.TRADING, ADAPTATION_FUND, ADAPTATION_FUND_LABEL)
    omge = registry.open_account(AccountKind.TRADING, SECRETARIAT, OMGE_LABEL)
    return MechanismAccounts(pending.account_id, fund.account_id, omge.account_id)


def a64_project_id(host_party: str, activity_id: str) -> str:
    """Return the provenance text of an activity's A6.4ERs: `<host Party>/<activity id>`."""
    return f"{host_party}/{activity_id}"


def issue_a64ers(
    registry: MechanismRegistry,
    accounts: MechanismAccounts,
    unit_type: str,
    activity_id: str,
    host_party: str,
    vintage: int,
    quantity_t: int,
    use: A64Use,
    rules: LevyRules = LevyRules(),
) -> A64Issuance:
    """Issue `quantity_t` A6.4ERs into the pending account and take the levies at once.

    The first serials go to the Adaptation Fund, the next are cancelled for
    OMGE, the rest stay pending for `distribute_a64ers`. Every check runs
    before the first operation; a refusal raises `RegistryError` with its code.
    """
    _check_issuance(registry, accounts, unit_type, activity_id, host_party, quantity_t)
    split = rules.split(quantity_t)
    issued = registry.issue(
        unit_type,
        vintage,
        quantity_t,
        accounts.pending,
        a64_project_id(host_party, activity_id),
        use is A64Use.AUTHORISED,
    ).block
    fund_block, omge_block, rest_block = _cut(
        issued, split.share_of_proceeds_t, split.omge_t, split.distributable_t
    )
    if fund_block is not None:
        registry.transfer_blocks(accounts.pending, accounts.adaptation_fund, [fund_block])
    if omge_block is not None:
        registry.transfer_blocks(accounts.pending, accounts.omge, [omge_block])
        cancelled = registry.cancel(accounts.omge, unit_type, omge_block.quantity, vintage)
        # The OMGE account held nothing else (checked above): exactly these serials went.
        assert cancelled.blocks == (omge_block,), (cancelled.blocks, omge_block)
    return A64Issuance(
        activity_id, host_party, use, split, issued, fund_block, omge_block, rest_block
    )


def distribute_a64ers(
    registry: MechanismRegistry,
    accounts: MechanismAccounts,
    blocks: Iterable[UnitBlock],
    to_account: str,
) -> UnitsMoved:
    """Move pending A6.4ERs to an account the activity participants named."""
    return registry.transfer_blocks(accounts.pending, to_account, blocks)


def _check_issuance(
    registry: MechanismRegistry,
    accounts: MechanismAccounts,
    unit_type: str,
    activity_id: str,
    host_party: str,
    quantity_t: int,
) -> None:
    if type(quantity_t) is not int or not 1 <= quantity_t <= ISSUANCE_MAX_T:
        raise RegistryError(
            CheckCode.QUANTITY_NOT_POSITIVE_INTEGER,
            f"an issuance of A6.4ERs is 1-{ISSUANCE_MAX_T:,} t, was {quantity_t!r}",
        )
    if type(host_party) is not str or not _PARTY_RE.fullmatch(host_party):
        raise RegistryError(
            CheckCode.INVALID_ARGUMENT,
            f"host Party must be 2-4 capital letters, was {host_party!r}",
        )
    if type(activity_id) is not str or not _ACTIVITY_RE.fullmatch(activity_id):
        raise RegistryError(
            CheckCode.PROJECT_ID_INVALID,
            f"activity id must be 1-64 letters, digits or ._:- starting with a letter or "
            f"digit, was {activity_id!r}",
        )
    expected = {
        accounts.pending: AccountKind.RESERVE,
        accounts.adaptation_fund: AccountKind.TRADING,
        accounts.omge: AccountKind.TRADING,
    }
    for account_id, kind in expected.items():
        found = registry.account(account_id).kind
        if found is not kind:
            raise RegistryError(
                CheckCode.INVALID_ARGUMENT,
                f"account {account_id} should be a {kind.value} account, was {found.value}",
            )
    held_t = registry.account(accounts.omge).holding.balance(unit_type)
    if held_t:
        raise RegistryError(
            CheckCode.INVALID_ARGUMENT,
            f"the OMGE account {accounts.omge} holds {held_t:,} t of {unit_type}; it must be "
            "empty so that OMGE cancels exactly the serials levied",
        )


def _cut(block: UnitBlock, *quantities: int) -> list[UnitBlock | None]:
    """Return consecutive pieces of `block` of the given quantities (None for 0)."""
    assert sum(quantities) == block.quantity, (block, quantities)
    pieces: list[UnitBlock | None] = []
    start = block.start
    for quantity in quantities:
        if quantity == 0:
            pieces.append(None)
            continue
        pieces.append(block.with_range(start, start + quantity - 1))
        start += quantity
    return pieces
