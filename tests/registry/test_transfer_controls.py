"""The registry's transfer controls, each shown against the attack it answers.

Every test first lets the attack through with the control off (today's
behaviour), then switches the control on and shows the same move refused or
held with its code, holdings and journal unchanged.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from registry import AccountKind, CheckCode, LockPurpose, Registry, RegistryError, SigningKey
from registry.clock import SimulatedClock
from registry.controls import (
    ControlSettings,
    DelayRule,
    TransferStatus,
    execute_at,
    trusted_effective_at,
    wci_general_holding_limit,
)
from registry.units import UnitBlock, UnitKind, UnitType

# Tuesday 5 March 2024, 09:30 UTC = 10:30 CET: inside the Union Registry's 10:00-16:00 window.
TUESDAY_1030_CET = datetime(2024, 3, 5, 9, 30, tzinfo=UTC)
EUA = "EUA"
UNIT_TYPES = (
    UnitType(EUA, UnitKind.ALLOWANCE, "EU", "EU Allowance"),
    UnitType("CER", UnitKind.OFFSET_CREDIT, "EU", "Certified Emission Reduction"),
    UnitType("CHU", UnitKind.ALLOWANCE, "CH", "Swiss Allowance"),
)
EU_RULES = ControlSettings(four_eyes=True, payee_delay_rule=DelayRule.EU_WORKING_DAYS)


def eu_registry(settings: ControlSettings | None = None) -> Registry:
    """Return an EU registry in memory: a refinery (two representatives) holding 1,000 t."""
    registry = Registry.create(
        "sqlite://",
        "EU",
        "Union Registry",
        SigningKey.generate(),
        SimulatedClock(TUESDAY_1030_CET),
        UNIT_TYPES,
    )
    registry.open_account(AccountKind.COMPLIANCE, "Rhine Refinery", "refinery")
    registry.open_account(AccountKind.TRADING, "Brussels Brokers", "broker")
    registry.open_account(AccountKind.TRADING, "Unknown Ltd", "thief")
    registry.open_account(AccountKind.EXCHANGE_CUSTODY, "Exchange", "custody")
    registry.issue(EUA, 2024, 10_000)
    registry.allocate("issuance", "refinery", EUA, 1_000)
    registry.add_representative("refinery", "anna")
    registry.add_representative("refinery", "ben")
    if settings is not None:
        registry.configure_controls(settings)
    return registry


def balance(registry: Registry, account: str) -> int:
    return registry.account(account).holding.balance()


def refused_unchanged(registry: Registry, code: CheckCode, command: Callable[[], Any]) -> None:
    """Run `command`; it must be refused with `code` and change neither state nor journal."""
    digest = registry.ledger.state_digest()
    seq = registry.journal.seq
    with pytest.raises(RegistryError) as caught:
        command()
    assert caught.value.code is code, caught.value
    assert registry.ledger.state_digest() == digest
    assert registry.journal.seq == seq


# ---------------------------------------------------------------- four-eyes (A12, D1)


def test_a_phished_login_moves_units_alone_without_four_eyes() -> None:
    """The attack today: one actor with one login empties the account (D1, early 2010)."""
    registry = eu_registry()
    registry.transfer("refinery", "thief", EUA, 1_000)
    assert balance(registry, "thief") == 1_000


def test_under_four_eyes_a_single_actor_cannot_move_units_and_the_transfer_waits() -> None:
    """Reg. (EU) 2019/1122 Art. 35(1), reference A12: another representative must approve."""
    registry = eu_registry(ControlSettings(four_eyes=True))
    refused_unchanged(
        registry,
        CheckCode.TRANSFER_NEEDS_APPROVAL,
        lambda: registry.transfer("refinery", "thief", EUA, 1_000),
    )
    record = registry.initiate_transfer("T1", "refinery", "thief", EUA, 1_000, "anna")
    assert record.status is TransferStatus.AWAITING_APPROVAL
    assert balance(registry, "refinery") == 1_000 and balance(registry, "thief") == 0
    refused_unchanged(
        registry, CheckCode.APPROVER_IS_INITIATOR, lambda: registry.approve_transfer("T1", "anna")
    )
    refused_unchanged(
        registry, CheckCode.NOT_A_REPRESENTATIVE, lambda: registry.approve_transfer("T1", "mallory")
    )
    registry.clock.advance(timedelta(days=30))
    registry.release_due()
    assert balance(registry, "thief") == 0  # time alone releases nothing awaiting approval


def test_a_second_representative_approves_and_the_transfer_executes() -> None:
    registry = eu_registry(ControlSettings(four_eyes=True))
    registry.initiate_transfer("T1", "refinery", "broker", EUA, 400, "anna")
    record = registry.approve_transfer("T1", "ben")
    assert record.status is TransferStatus.COMPLETED and record.approver == "ben"
    assert balance(registry, "refinery") == 600 and balance(registry, "broker") == 400
    registry.check_conservation()


def test_cancelling_while_awaiting_approval_ends_it_cancelled_with_nothing_moved() -> None:
    """Reference D1: a cancel during the wait is status 7 Cancelled."""
    registry = eu_registry(ControlSettings(four_eyes=True))
    registry.initiate_transfer("T1", "refinery", "thief", EUA, 1_000, "anna")
    registry.cancel_transfer("T1", "ben")
    assert registry.ledger.controls.controlled_transfer("T1").status is TransferStatus.CANCELLED
    assert balance(registry, "refinery") == 1_000
    refused_unchanged(
        registry, CheckCode.TRANSFER_NOT_PENDING, lambda: registry.approve_transfer("T1", "ben")
    )


# ---------------------------------------------------------------- trusted list (A13, D1)


def test_the_eu_rule_executes_a_transfer_to_a_non_trusted_account_at_noon_next_working_day() -> (
    None
):
    """Art. 35(2)-(4), reference A13: approved before 12:00 CET → 12:00 CET next working day;
    after 12:00 → 12:00 on the second working day; a trusted payee inside 10:00-16:00 at once."""
    noon_wednesday_cet = datetime(2024, 3, 6, 11, 0, tzinfo=UTC)
    assert execute_at(EU_RULES, TUESDAY_1030_CET, trusted=False) == noon_wednesday_cet
    tuesday_1300_cet = datetime(2024, 3, 5, 12, 0, tzinfo=UTC)
    assert execute_at(EU_RULES, tuesday_1300_cet, trusted=False) == noon_wednesday_cet + timedelta(
        days=1
    )
    friday_1300_cet = datetime(2024, 3, 8, 12, 0, tzinfo=UTC)
    assert execute_at(EU_RULES, friday_1300_cet, trusted=False) == datetime(
        2024, 3, 12, 11, 0, tzinfo=UTC
    )  # Tuesday: Monday is the first working day after Friday
    assert execute_at(EU_RULES, TUESDAY_1030_CET, trusted=True) == TUESDAY_1030_CET
    tuesday_1700_cet = datetime(2024, 3, 5, 16, 0, tzinfo=UTC)
    assert execute_at(EU_RULES, tuesday_1700_cet, trusted=True) == datetime(
        2024, 3, 6, 9, 0, tzinfo=UTC
    )


def test_a_payee_added_to_the_trusted_list_counts_after_four_working_days_of_window_time() -> None:
    """Reference A13: 4 working days, counted only inside 10:00-16:00 CET (6 h a day)."""
    monday_1000_cet = datetime(2024, 3, 4, 9, 0, tzinfo=UTC)
    thursday_1600_cet = datetime(2024, 3, 7, 15, 0, tzinfo=UTC)
    assert trusted_effective_at(EU_RULES, monday_1000_cet) == thursday_1600_cet
    friday_1500_cet = datetime(2024, 3, 8, 14, 0, tzinfo=UTC)
    # 1 h on Friday, 6 h on each of Mon-Wed (the weekend does not count), 5 h on Thursday.
    assert trusted_effective_at(EU_RULES, friday_1500_cet) == datetime(
        2024, 3, 14, 14, 0, tzinfo=UTC
    )


def test_a_transfer_to_a_non_trusted_account_waits_its_delay_and_can_be_cancelled() -> None:
    """D1: the delay gives the holder a window to notice and cancel (status 7)."""
    registry = eu_registry(EU_RULES)
    registry.initiate_transfer("T1", "refinery", "thief", EUA, 1_000, "anna")
    record = registry.approve_transfer("T1", "ben")
    assert record.status is TransferStatus.DELAYED
    assert record.execute_at == datetime(2024, 3, 6, 11, 0, tzinfo=UTC)
    registry.clock.set(datetime(2024, 3, 6, 10, 59, tzinfo=UTC))
    seq = registry.journal.seq
    assert registry.release_due() == []
    assert registry.journal.seq == seq and balance(registry, "thief") == 0
    registry.cancel_transfer("T1", "anna")
    registry.clock.set(datetime(2024, 3, 7, 11, 0, tzinfo=UTC))
    assert registry.release_due() == []
    assert registry.ledger.controls.controlled_transfer("T1").status is TransferStatus.CANCELLED
    assert balance(registry, "refinery") == 1_000 and balance(registry, "thief") == 0


def test_a_delayed_transfer_executes_when_its_time_comes() -> None:
    registry = eu_registry(EU_RULES)
    registry.initiate_transfer("T1", "refinery", "broker", EUA, 300, "anna")
    registry.approve_transfer("T1", "ben")
    registry.clock.set(datetime(2024, 3, 6, 11, 0, tzinfo=UTC))
    (moved,) = registry.release_due()
    assert moved.reference == "T1" and moved.quantity == 300
    assert registry.ledger.controls.controlled_transfer("T1").status is TransferStatus.COMPLETED
    assert balance(registry, "broker") == 300


def test_a_trusted_payee_is_paid_at_once_inside_the_window() -> None:
    registry = eu_registry(EU_RULES)
    registry.add_trusted_account("refinery", "broker")
    registry.clock.set(datetime(2024, 3, 11, 9, 30, tzinfo=UTC))  # next Monday, 10:30 CET
    registry.initiate_transfer("T1", "refinery", "broker", EUA, 300, "anna")
    assert registry.approve_transfer("T1", "ben").status is TransferStatus.COMPLETED
    assert balance(registry, "broker") == 300


def test_an_account_that_pays_only_trusted_accounts_refuses_another_payee_2507() -> None:
    """Reference (b3) 2507: transfer outside trusted list not allowed for this account."""
    registry = eu_registry(EU_RULES)
    registry.set_trusted_only("refinery", True)
    refused_unchanged(
        registry,
        CheckCode.TRANSFER_OUTSIDE_TRUSTED_LIST_NOT_ALLOWED,
        lambda: registry.initiate_transfer("T1", "refinery", "thief", EUA, 1_000, "anna"),
    )
    registry.add_trusted_account("refinery", "thief")
    # Listed, but not yet in effect (4 working days): still refused.
    refused_unchanged(
        registry,
        CheckCode.TRANSFER_OUTSIDE_TRUSTED_LIST_NOT_ALLOWED,
        lambda: registry.initiate_transfer("T1", "refinery", "thief", EUA, 1_000, "anna"),
    )


# ---------------------------------------------------------------- concurrency (A16, D11)


def test_a_second_pending_transfer_of_the_same_type_is_refused_1006_and_3013() -> None:
    """Reference A16 / D11: 1006 from the same transferring account, 3013 to an acquiring
    account with one pending, while the first is not final."""
    registry = eu_registry(ControlSettings(four_eyes=True, refuse_concurrent_same_type=True))
    registry.add_representative("broker", "carla")
    registry.allocate("issuance", "broker", EUA, 500)
    registry.initiate_transfer("T1", "refinery", "thief", EUA, 100, "anna")
    refused_unchanged(
        registry,
        CheckCode.OTHER_PENDING_TRANSACTION_OF_SAME_TYPE,
        lambda: registry.initiate_transfer("T2", "refinery", "broker", EUA, 100, "anna"),
    )
    refused_unchanged(
        registry,
        CheckCode.ACQUIRING_ACCOUNT_HAS_PENDING_TRANSACTION_OF_SAME_TYPE,
        lambda: registry.initiate_transfer("T3", "broker", "thief", EUA, 100, "carla"),
    )
    registry.cancel_transfer("T1", "ben")
    registry.initiate_transfer("T2", "refinery", "broker", EUA, 100, "anna")


def test_external_transfers_from_one_account_wait_for_the_first_lock_but_custody_does_not() -> None:
    """D11 with an external transfer in flight (its lock), and the exchange's netting exempt."""
    registry = eu_registry()
    registry.lock("L1", "refinery", EUA, 10, LockPurpose.EXTERNAL_TRANSFER)
    registry.lock("L2", "refinery", EUA, 10, LockPurpose.EXTERNAL_TRANSFER)  # allowed today
    registry.configure_controls(ControlSettings(refuse_concurrent_same_type=True))
    refused_unchanged(
        registry,
        CheckCode.OTHER_PENDING_TRANSACTION_OF_SAME_TYPE,
        lambda: registry.lock("L3", "refinery", EUA, 10, LockPurpose.EXTERNAL_TRANSFER),
    )
    registry.allocate("issuance", "custody", EUA, 100)
    for number in range(3):
        registry.lock(f"C{number}", "custody", EUA, 10, LockPurpose.EXTERNAL_TRANSFER)


# ---------------------------------------------------------------- holding limit (A27, D18)


def test_the_wci_general_holding_limit_for_a_65_8_mt_budget_is_3_52_mt() -> None:
    """17 CCR §95920, reference A27 and (c): 0.1 × 25 M + 0.025 × (budget − 25 M) [U formula].

    Budget 65,800,000 (illustrative): 2,500,000 + 0.025 × 40,800,000 = 2,500,000 + 1,020,000.
    """
    assert wci_general_holding_limit(65_800_000) == 3_520_000
    assert wci_general_holding_limit(25_000_000) == 2_500_000
    settings = ControlSettings(holding_limit_budget_t=65_800_000)
    assert settings.holding_limit == 3_520_000


def test_a_transfer_over_the_holding_limit_is_refused_9112_and_moves_nothing() -> None:
    """D18: a transfer that would breach the limit is not approved (§95920)."""
    registry = eu_registry()
    registry.issue(EUA, 2024, 4_000_000)
    registry.allocate("issuance", "custody", EUA, 3_520_001)
    registry.transfer("custody", "broker", EUA, 3_520_001)  # today: nothing stops it
    registry.transfer("broker", "custody", EUA, 3_520_001)
    registry.configure_controls(ControlSettings(holding_limit_budget_t=65_800_000))
    refused_unchanged(
        registry,
        CheckCode.HOLDING_LIMIT_EXCEEDED,
        lambda: registry.transfer("custody", "broker", EUA, 3_520_001),
    )
    registry.transfer("custody", "broker", EUA, 3_520_000)  # exactly the limit is allowed
    refused_unchanged(
        registry,
        CheckCode.HOLDING_LIMIT_EXCEEDED,
        lambda: registry.transfer("custody", "broker", EUA, 1),
    )
    # The entity's other accounts count; exchange custody (exchange clearing, A27) does not.
    registry.open_account(AccountKind.COMPLIANCE, "Brussels Brokers", "brokers_compliance")
    refused_unchanged(
        registry,
        CheckCode.HOLDING_LIMIT_EXCEEDED,
        lambda: registry.transfer("custody", "brokers_compliance", EUA, 1),
    )
    registry.transfer("broker", "brokers_compliance", EUA, 1_000)  # within one entity: passes
    assert registry.ledger.controls.entity_allowances("Brussels Brokers") == 3_520_000


def test_offset_credits_do_not_count_toward_the_holding_limit() -> None:
    registry = eu_registry(ControlSettings(holding_limit_t=100))
    registry.issue("CER", 2024, 500, project_id="P-1")
    registry.allocate("issuance", "custody", "CER", 500)
    registry.transfer("custody", "broker", "CER", 500)
    assert registry.ledger.controls.entity_allowances("Brussels Brokers") == 0


def test_an_import_over_the_holding_limit_is_refused_before_acceptance() -> None:
    """`check_import` is what the endpoint runs before it signs an acceptance."""
    registry = eu_registry()
    arriving = (UnitBlock("CH", "CHU", 2024, 1, 200),)
    broker = registry.account("broker").account_id
    registry.ledger.check_import("X1", "CH", broker, arriving)  # today: accepted
    registry.configure_controls(ControlSettings(holding_limit_t=150))
    with pytest.raises(RegistryError) as caught:
        registry.ledger.check_import("X1", "CH", broker, arriving)
    assert caught.value.code is CheckCode.HOLDING_LIMIT_EXCEEDED


# ---------------------------------------------------------------- suspension (D2)


def test_issuance_is_refused_while_the_registry_is_suspended() -> None:
    """DOMAIN.md: a registry-wide suspension "allows only allocation and surrender" (EU, 2011)."""
    registry = eu_registry()
    registry.suspend("registry intrusion reported")
    refused_unchanged(
        registry, CheckCode.REGISTRY_SUSPENDED, lambda: registry.issue(EUA, 2024, 1_000_000)
    )
    registry.allocate("issuance", "refinery", EUA, 10)
    registry.surrender("refinery", EUA, 10, 2024)


# ---------------------------------------------------------------- settings and replay


def test_settings_out_of_range_are_refused() -> None:
    registry = eu_registry()
    for bad in (
        ControlSettings(holding_limit_t=10, holding_limit_budget_t=30_000_000),
        ControlSettings(holding_limit_budget_t=24_999_999),
        ControlSettings(untrusted_delay_minutes=-1),
        dataclasses.replace(ControlSettings(), four_eyes=1),  # type: ignore[arg-type]
    ):
        refused_unchanged(registry, CheckCode.INVALID_ARGUMENT, configure(registry, bad))


def configure(registry: Registry, settings: ControlSettings) -> Callable[[], Any]:
    return lambda: registry.configure_controls(settings)


def test_reopening_from_the_journal_rebuilds_the_controls_and_pending_transfers() -> None:
    key = SigningKey.generate()
    clock = SimulatedClock(TUESDAY_1030_CET)
    registry = Registry.create("sqlite://", "EU", "Union Registry", key, clock, UNIT_TYPES)
    registry.open_account(AccountKind.COMPLIANCE, "Rhine Refinery", "refinery")
    registry.open_account(AccountKind.TRADING, "Brussels Brokers", "broker")
    registry.issue(EUA, 2024, 1_000)
    registry.allocate("issuance", "refinery", EUA, 1_000)
    registry.configure_controls(EU_RULES)
    registry.add_representative("refinery", "anna")
    registry.add_representative("refinery", "ben")
    registry.add_trusted_account("refinery", "broker")
    registry.add_trusted_account("refinery", "CH-121-1000001-0-79", "CH")
    registry.initiate_transfer("T1", "refinery", "broker", EUA, 100, "anna")
    registry.initiate_transfer("T2", "refinery", "broker", EUA, 100, "anna")
    registry.approve_transfer("T2", "ben")
    registry.flush()
    reopened = Registry.open(registry.journal.engine, "EU", key, clock)
    assert reopened.ledger.state_digest() == registry.ledger.state_digest()
    assert reopened.ledger.controls.controlled_transfer("T2").status is TransferStatus.DELAYED
    registry.snapshot()
    from_snapshot = Registry.open(registry.journal.engine, "EU", key, clock)
    assert from_snapshot.ledger.state_digest() == registry.ledger.state_digest()
    clock.set(datetime(2024, 3, 6, 11, 0, tzinfo=UTC))
    from_snapshot.release_due()
    assert from_snapshot.account("broker").holding.balance() == 100
