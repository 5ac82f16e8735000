"""Article 6.4 issuance: share of proceeds to the Adaptation Fund and OMGE cancellation.

Sources: shared/reference/registry-and-linking.md A24 (pending account held
by the secretariat; 5% share of proceeds, 2% OMGE at issuance [P]) and D23
(distributable N − ⌈0.05N⌉ − ⌈0.02N⌉; rounding rule [U], configurable);
shared/DOMAIN.md, Paris Article 6.2.
"""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.article6_4 import (
    A64Use,
    IssuanceSplit,
    LevyRounding,
    LevyRules,
    MechanismAccounts,
    a64_project_id,
    distribute_a64ers,
    issue_a64ers,
    open_mechanism_accounts,
)
from registry import (
    AccountKind,
    CheckCode,
    Ledger,
    Registry,
    RegistryError,
    SigningKey,
    UnitKind,
    UnitType,
)

A64ER = "A64ER"
MECHANISM = "UN"


def _mechanism() -> tuple[Ledger, MechanismAccounts]:
    ledger = Ledger()
    ledger.create(MECHANISM, "Article 6.4 mechanism registry")
    ledger.register_unit_type(UnitType(A64ER, UnitKind.ARTICLE6_UNIT, MECHANISM))
    return ledger, open_mechanism_accounts(ledger)


def _balances(ledger: Ledger, accounts: MechanismAccounts) -> tuple[int, int, int]:
    """Return (Adaptation Fund, cancelled, pending) in tonnes."""
    return (
        ledger.account(accounts.adaptation_fund).holding.balance(),
        ledger.singleton(AccountKind.CANCELLATION).holding.balance(),
        ledger.account(accounts.pending).holding.balance(),
    )


def test_issuing_1000_gives_50_to_the_adaptation_fund_cancels_20_and_leaves_930() -> None:
    # Reference A24/D23: 5% share of proceeds, 2% OMGE [P]; ceiling rounding (default, [U]).
    ledger, accounts = _mechanism()

    issuance = issue_a64ers(
        ledger, accounts, A64ER, "A64-GH-0001", "GH", 2026, 1_000, A64Use.AUTHORISED
    )

    assert issuance.split == IssuanceSplit(1_000, 50, 20, 930)
    assert _balances(ledger, accounts) == (50, 20, 930)
    assert ledger.account(accounts.omge).holding.balance() == 0
    ledger.check_conservation()


def test_issuing_999_rounds_both_levies_up_and_leaves_929() -> None:
    # 5% of 999 = 49.95 → 50; 2% of 999 = 19.98 → 20 (D23, ceiling).
    ledger, accounts = _mechanism()

    issuance = issue_a64ers(
        ledger, accounts, A64ER, "A64-GH-0001", "GH", 2026, 999, A64Use.AUTHORISED
    )

    assert issuance.split == IssuanceSplit(999, 50, 20, 929)
    assert _balances(ledger, accounts) == (50, 20, 929)


def test_each_a64er_carries_activity_host_party_vintage_and_authorisation() -> None:
    ledger, accounts = _mechanism()

    authorised = issue_a64ers(ledger, accounts, A64ER, "act-1", "GH", 2026, 100, A64Use.AUTHORISED)
    contribution = issue_a64ers(
        ledger, accounts, A64ER, "act-2", "PE", 2027, 100, A64Use.MITIGATION_CONTRIBUTION
    )

    assert authorised.issued.project_id == a64_project_id("GH", "act-1") == "GH/act-1"
    assert (authorised.issued.vintage, authorised.issued.article6_authorized) == (2026, True)
    assert contribution.issued.project_id == "PE/act-2"
    assert (contribution.issued.vintage, contribution.issued.article6_authorized) == (2027, False)
    assert authorised.issued.origin == MECHANISM


def test_pending_a64ers_are_distributed_on_the_participants_instruction() -> None:
    ledger, accounts = _mechanism()
    participant = ledger.open_account(AccountKind.TRADING, "Activity participant", "ap").account_id
    issuance = issue_a64ers(ledger, accounts, A64ER, "act-1", "GH", 2026, 1_000, A64Use.AUTHORISED)
    assert issuance.distributable is not None

    distribute_a64ers(ledger, accounts, [issuance.distributable.split(400)[0]], participant)

    assert ledger.account(participant).holding.balance() == 400
    assert _balances(ledger, accounts) == (50, 20, 530)
    ledger.check_conservation()


def test_one_a64er_cannot_bear_both_levies_rounded_up_and_nothing_is_issued() -> None:
    ledger, accounts = _mechanism()
    before = ledger.state_digest()

    with pytest.raises(RegistryError, match="would exceed it") as caught:
        issue_a64ers(ledger, accounts, A64ER, "act-1", "GH", 2026, 1, A64Use.AUTHORISED)

    assert caught.value.code is CheckCode.INVALID_ARGUMENT
    assert ledger.state_digest() == before


def test_units_left_in_the_omge_account_refuse_the_issuance_before_anything_moves() -> None:
    ledger, accounts = _mechanism()
    issuance = issue_a64ers(ledger, accounts, A64ER, "act-1", "GH", 2026, 100, A64Use.AUTHORISED)
    assert issuance.distributable is not None
    ledger.transfer_blocks(accounts.pending, accounts.omge, [issuance.distributable])
    before = ledger.state_digest()

    with pytest.raises(RegistryError, match=r"must be\s+empty"):
        issue_a64ers(ledger, accounts, A64ER, "act-2", "GH", 2026, 100, A64Use.AUTHORISED)

    assert ledger.state_digest() == before


def test_rounding_is_configurable() -> None:
    floor = LevyRules(
        share_of_proceeds_rounding=LevyRounding.FLOOR, omge_rounding=LevyRounding.FLOOR
    )
    half_up = LevyRules(
        share_of_proceeds_rounding=LevyRounding.HALF_UP, omge_rounding=LevyRounding.HALF_UP
    )

    assert floor.split(999) == IssuanceSplit(999, 49, 19, 931)
    assert half_up.split(999) == IssuanceSplit(999, 50, 20, 929)
    assert half_up.split(10) == IssuanceSplit(10, 1, 0, 9)  # 0.5 → 1, 0.2 → 0
    assert floor.split(1) == IssuanceSplit(1, 0, 0, 1)


def test_levy_shares_that_leave_nothing_are_refused() -> None:
    with pytest.raises(ValueError, match="leave something"):
        LevyRules(share_of_proceeds=Fraction(1, 2), omge_share=Fraction(1, 2))


def test_issuance_through_a_journaled_registry_replays_to_the_same_state() -> None:
    key = SigningKey.generate()
    unit_types = [UnitType(A64ER, UnitKind.ARTICLE6_UNIT, MECHANISM)]
    registry = Registry.create("sqlite://", MECHANISM, "mechanism", key, unit_types=unit_types)
    accounts = open_mechanism_accounts(registry)

    issue_a64ers(registry, accounts, A64ER, "act-1", "GH", 2026, 1_000, A64Use.AUTHORISED)
    registry.flush()

    assert _balances(registry.ledger, accounts) == (50, 20, 930)
    registry.check_conservation()


@given(st.integers(min_value=1, max_value=10**9))
def test_issuing_n_levies_ceiling_shares_and_conserves_every_unit(issued_t: int) -> None:
    # D23: Adaptation Fund ⌈0.05N⌉, OMGE ⌈0.02N⌉, distributable N − both (ceiling, [U]).
    ledger, accounts = _mechanism()
    fund_t = -(-issued_t * 5 // 100)
    omge_t = -(-issued_t * 2 // 100)

    if fund_t + omge_t > issued_t:  # only N = 1: one unit cannot bear two levies
        assert issued_t == 1
        with pytest.raises(RegistryError):
            issue_a64ers(ledger, accounts, A64ER, "act", "GH", 2026, issued_t, A64Use.AUTHORISED)
        return
    issuance = issue_a64ers(ledger, accounts, A64ER, "act", "GH", 2026, issued_t, A64Use.AUTHORISED)

    assert issuance.split == IssuanceSplit(issued_t, fund_t, omge_t, issued_t - fund_t - omge_t)
    assert _balances(ledger, accounts) == (fund_t, omge_t, issued_t - fund_t - omge_t)
    totals = ledger.totals(A64ER)
    assert totals.issued == issued_t == totals.held + totals.cancelled
    ledger.check_conservation()
