"""The ledger's rules, one scenario each: every refusal names its check code and changes nothing.

Sources: shared/DOMAIN.md ("Check codes", "Incidents to defend against") and
shared/reference/registry-and-linking.md (§(a) A4, §(d) D2, D5, D6, D8–D10, D13, D14).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from registry import (
    AccountId,
    AccountKind,
    CheckCode,
    Ledger,
    LockPurpose,
    RegistryError,
    Surrender,
    Totals,
    TransactionType,
    UnitBlock,
    UnitKind,
    UnitType,
)
from registry.events import UnitsIssued
from tests.registry.conftest import build_korean_ledger

KAU = "KAU"
EXTERNAL = LockPurpose.EXTERNAL_TRANSFER


def refused(ledger: Ledger, code: CheckCode, command: Callable[[], Any]) -> RegistryError:
    """Run `command`, expect RegistryError with `code`, and prove nothing changed."""
    before = ledger.state_digest()
    with pytest.raises(RegistryError) as caught:
        command()
    assert caught.value.code is code, caught.value
    assert ledger.state_digest() == before
    ledger.check_conservation()
    return caught.value


def account_id(ledger: Ledger, reference: str) -> str:
    return ledger.account(reference).account_id


def singleton_id(ledger: Ledger, kind: AccountKind) -> str:
    return ledger.singleton(kind).account_id


def singleton_balance(ledger: Ledger, kind: AccountKind) -> int:
    return ledger.singleton(kind).holding.balance()


def blocks_of(ledger: Ledger, reference: str) -> list[UnitBlock]:
    return list(ledger.account(reference).holding.blocks())


def mistyped(account: str) -> str:
    """Return `account` with wrong check digits."""
    head, check = account.rsplit("-", 1)
    return f"{head}-{(int(check) + 1) % 100:02d}"


@pytest.fixture
def ledger() -> Ledger:
    """Return a Korean ledger: POSCO holds KAU 2021 serials 1-500, the issuance account 501-1000."""
    ledger = build_korean_ledger()
    ledger.issue(KAU, 2021, 1_000)
    ledger.allocate(singleton_id(ledger, AccountKind.ISSUANCE), "posco", KAU, 500)
    return ledger


def kau(start: int, end: int, vintage: int = 2021) -> UnitBlock:
    return UnitBlock("KR", KAU, vintage, start, end)


# -------------------------------------------------- 3008 quantities


BAD_QUANTITIES = [0, -1, -500, 1.0, 2.5, True, False, "10", None, 2**62 + 1]


@pytest.mark.parametrize("quantity", BAD_QUANTITIES)
def test_transfer_of_a_quantity_that_is_not_a_positive_whole_number_is_refused(
    ledger: Ledger, quantity: Any
) -> None:
    """Quantities must be positive integers: 3008 (D14: 0, negative, fractional)."""
    refused(
        ledger,
        CheckCode.QUANTITY_NOT_POSITIVE_INTEGER,
        lambda: ledger.transfer("posco", "kepco", KAU, quantity),
    )


@pytest.mark.parametrize("quantity", BAD_QUANTITIES)
def test_issuance_of_a_quantity_that_is_not_a_positive_whole_number_is_refused(
    ledger: Ledger, quantity: Any
) -> None:
    refused(
        ledger, CheckCode.QUANTITY_NOT_POSITIVE_INTEGER, lambda: ledger.issue(KAU, 2021, quantity)
    )


@pytest.mark.parametrize("quantity", [0, -3, 1.5, True])
def test_surrender_cancel_retire_and_lock_refuse_bad_quantities(
    ledger: Ledger, quantity: Any
) -> None:
    code = CheckCode.QUANTITY_NOT_POSITIVE_INTEGER
    refused(ledger, code, lambda: ledger.surrender("posco", KAU, quantity, 2021))
    refused(ledger, code, lambda: ledger.cancel("posco", KAU, quantity))
    refused(ledger, code, lambda: ledger.retire("posco", KAU, quantity))
    refused(ledger, code, lambda: ledger.lock("L1", "posco", KAU, quantity, EXTERNAL))


@pytest.mark.parametrize("cap", [-1, 1.5, True, "1000"])
def test_issuance_cap_must_be_a_whole_number_of_tonnes(ledger: Ledger, cap: Any) -> None:
    refused(
        ledger,
        CheckCode.QUANTITY_NOT_POSITIVE_INTEGER,
        lambda: ledger.set_issuance_cap(KAU, 2022, cap),
    )


def test_transfer_of_no_named_blocks_is_refused(ledger: Ledger) -> None:
    refused(
        ledger,
        CheckCode.QUANTITY_NOT_POSITIVE_INTEGER,
        lambda: ledger.transfer_blocks("posco", "kepco", []),
    )


# -------------------------------------------------- 1001/1002/2001/2002 account ids


def test_transfer_from_a_mistyped_account_id_is_refused_by_its_check_digits(ledger: Ledger) -> None:
    """A mistyped account number fails the mod-97 check digits before any lookup (D9, A4)."""
    bad = mistyped(account_id(ledger, "posco"))
    refused(
        ledger,
        CheckCode.TRANSFERRING_ACCOUNT_CHECK_DIGITS_INVALID,
        lambda: ledger.transfer(bad, "kepco", KAU, 1),
    )


def test_transfer_to_a_mistyped_account_id_is_refused_by_its_check_digits(ledger: Ledger) -> None:
    bad = mistyped(account_id(ledger, "kepco"))
    refused(
        ledger,
        CheckCode.ACQUIRING_ACCOUNT_CHECK_DIGITS_INVALID,
        lambda: ledger.transfer("posco", bad, KAU, 1),
    )


def test_transfer_to_an_account_id_with_a_typo_in_its_number_is_refused(ledger: Ledger) -> None:
    registry, type_code, number, period, check = account_id(ledger, "kepco").split("-")
    typo = number[:-1] + str((int(number[-1]) + 1) % 10)
    bad = "-".join((registry, type_code, typo, period, check))
    refused(
        ledger,
        CheckCode.ACQUIRING_ACCOUNT_CHECK_DIGITS_INVALID,
        lambda: ledger.transfer("posco", bad, KAU, 1),
    )


@pytest.mark.parametrize(
    "unknown",
    [str(AccountId("KR", 120, 9_999_999)), str(AccountId("CN", 120, 1_000_006)), "samsung"],
)
def test_transfer_from_an_account_that_does_not_exist_is_refused(
    ledger: Ledger, unknown: str
) -> None:
    """Well-formed id or label, but no such account here: 1002."""
    refused(
        ledger,
        CheckCode.TRANSFERRING_ACCOUNT_DOES_NOT_EXIST,
        lambda: ledger.transfer(unknown, "kepco", KAU, 1),
    )
    refused(ledger, CheckCode.TRANSFERRING_ACCOUNT_DOES_NOT_EXIST, lambda: ledger.account(unknown))


@pytest.mark.parametrize("unknown", [str(AccountId("KR", 121, 9_999_999)), "samsung"])
def test_transfer_to_an_account_that_does_not_exist_is_refused(
    ledger: Ledger, unknown: str
) -> None:
    refused(
        ledger,
        CheckCode.ACQUIRING_ACCOUNT_DOES_NOT_EXIST,
        lambda: ledger.transfer("posco", unknown, KAU, 1),
    )
    refused(
        ledger,
        CheckCode.ACQUIRING_ACCOUNT_DOES_NOT_EXIST,
        lambda: ledger.issue(KAU, 2021, 5, unknown),
    )


@pytest.mark.parametrize("reference", ["", None, 42, ["posco"], {"id": "posco"}])
def test_an_account_reference_that_is_not_a_name_is_refused_with_a_code(
    ledger: Ledger, reference: Any
) -> None:
    """Malformed input is refused with a code, never a bare TypeError (DESIGN invariant 8)."""
    refused(ledger, CheckCode.INVALID_ARGUMENT, lambda: ledger.transfer(reference, "kepco", KAU, 1))
    refused(ledger, CheckCode.INVALID_ARGUMENT, lambda: ledger.transfer("posco", reference, KAU, 1))


@pytest.mark.parametrize("unit_type", [["KAU"], {"code": "KAU"}])
def test_a_unit_type_that_is_not_a_code_is_refused_with_a_code(
    ledger: Ledger, unit_type: Any
) -> None:
    refused(
        ledger, CheckCode.INVALID_UNIT_TYPE, lambda: ledger.transfer("posco", "kepco", unit_type, 1)
    )
    refused(ledger, CheckCode.INVALID_UNIT_TYPE, lambda: ledger.issue(unit_type, 2021, 1))


def test_unlock_of_a_lock_id_that_is_not_a_name_is_refused_with_a_code(ledger: Ledger) -> None:
    refused(ledger, CheckCode.UNKNOWN_LOCK, lambda: ledger.unlock(["L1"]))  # type: ignore[arg-type]


# -------------------------------------------------- 1003/2003 closed, 1004/2004 blocked


def test_transfer_from_or_to_a_closed_account_is_refused(ledger: Ledger) -> None:
    """Account status conflicts: 1003 / 2003 (D10)."""
    ledger.close_account("broker", "left the market")
    refused(
        ledger,
        CheckCode.TRANSFERRING_ACCOUNT_CLOSED,
        lambda: ledger.transfer("broker", "posco", KAU, 1),
    )
    refused(
        ledger,
        CheckCode.ACQUIRING_ACCOUNT_CLOSED,
        lambda: ledger.transfer("posco", "broker", KAU, 1),
    )
    refused(
        ledger,
        CheckCode.ACQUIRING_ACCOUNT_CLOSED,
        lambda: ledger.allocate(singleton_id(ledger, AccountKind.ISSUANCE), "broker", KAU, 1),
    )


def test_transfer_from_or_to_a_blocked_account_is_refused_until_it_is_unblocked(
    ledger: Ledger,
) -> None:
    """A blocked (suspended) account neither gives nor takes: 1004 / 2004 (D10)."""
    ledger.transfer("posco", "kepco", KAU, 10)
    ledger.block_account("kepco", "under investigation")
    refused(
        ledger,
        CheckCode.TRANSFERRING_ACCOUNT_SUSPENDED,
        lambda: ledger.transfer("kepco", "posco", KAU, 1),
    )
    refused(
        ledger,
        CheckCode.ACQUIRING_ACCOUNT_SUSPENDED,
        lambda: ledger.transfer("posco", "kepco", KAU, 1),
    )
    refused(
        ledger,
        CheckCode.TRANSFERRING_ACCOUNT_SUSPENDED,
        lambda: ledger.surrender("kepco", KAU, 1, 2021),
    )
    refused(
        ledger,
        CheckCode.TRANSFERRING_ACCOUNT_SUSPENDED,
        lambda: ledger.lock("L1", "kepco", KAU, 1, EXTERNAL),
    )
    ledger.unblock_account("kepco", "cleared")
    ledger.transfer("kepco", "posco", KAU, 10)
    assert ledger.account("kepco").holding.balance() == 0


# -------------------------------------------------- 1007 terminal accounts


@pytest.mark.parametrize(
    ("kind", "retire_units"),
    [
        (AccountKind.SURRENDER, lambda ledger: ledger.surrender("posco", KAU, 100, 2021)),
        (AccountKind.CANCELLATION, lambda ledger: ledger.cancel("posco", KAU, 100)),
        (AccountKind.RETIREMENT, lambda ledger: ledger.retire("posco", KAU, 100)),
    ],
)
def test_surrendered_cancelled_and_retired_units_are_terminal_and_cannot_be_transferred(
    ledger: Ledger, kind: AccountKind, retire_units: Callable[[Ledger], Any]
) -> None:
    """Hungary, March 2010: surrendered CERs were resold. Terminal units never move (D5): 1007."""
    moved = retire_units(ledger)
    terminal = singleton_id(ledger, kind)
    assert blocks_of(ledger, terminal) == list(moved.blocks) == [kau(1, 100)]
    code = CheckCode.TRANSACTION_NOT_ALLOWED_FOR_TRANSFERRING_ACCOUNT_TYPE
    refused(ledger, code, lambda: ledger.transfer(terminal, "kepco", KAU, 100))
    refused(ledger, code, lambda: ledger.transfer_blocks(terminal, "kepco", [kau(1, 100)]))
    refused(ledger, code, lambda: ledger.lock("resale", terminal, KAU, 100, EXTERNAL))
    refused(ledger, code, lambda: ledger.surrender(terminal, KAU, 100, 2021))
    refused(ledger, code, lambda: ledger.retire(terminal, KAU, 100))
    refused(ledger, code, lambda: ledger.allocate(terminal, "kepco", KAU, 100))


def test_locked_units_cannot_be_moved_out_of_the_pending_account_by_a_transfer(
    ledger: Ledger,
) -> None:
    ledger.lock("L1", "posco", KAU, 50, EXTERNAL)
    pending = singleton_id(ledger, AccountKind.PENDING_OUT)
    refused(
        ledger,
        CheckCode.TRANSACTION_NOT_ALLOWED_FOR_TRANSFERRING_ACCOUNT_TYPE,
        lambda: ledger.transfer(pending, "kepco", KAU, 50),
    )


def test_allocation_comes_only_from_the_issuance_account_or_a_reserve(ledger: Ledger) -> None:
    refused(
        ledger,
        CheckCode.TRANSACTION_NOT_ALLOWED_FOR_TRANSFERRING_ACCOUNT_TYPE,
        lambda: ledger.allocate("posco", "kepco", KAU, 1),
    )
    ledger.open_account(AccountKind.RESERVE, "Ministry of Environment", "msr")
    ledger.issue(KAU, 2021, 100, "msr")
    moved = ledger.allocate("msr", "kepco", KAU, 40)
    assert moved.transaction_type is TransactionType.ALLOCATE
    assert ledger.account("kepco").holding.balance() == 40


# -------------------------------------------------- 2006/2007 acquiring account kind


@pytest.mark.parametrize(
    "kind",
    [
        AccountKind.SURRENDER,
        AccountKind.CANCELLATION,
        AccountKind.RETIREMENT,
        AccountKind.ISSUANCE,
        AccountKind.PENDING_OUT,
    ],
)
def test_a_plain_transfer_may_not_credit_a_registry_account(
    ledger: Ledger, kind: AccountKind
) -> None:
    """Terminal accounts take units only by their own transaction; pending-out by a lock: 2007."""
    target = singleton_id(ledger, kind)
    refused(
        ledger,
        CheckCode.TRANSACTION_NOT_ALLOWED_FOR_ACQUIRING_ACCOUNT_TYPE,
        lambda: ledger.transfer("posco", target, KAU, 1),
    )


def test_issuance_may_credit_only_the_issuance_account_or_a_reserve(ledger: Ledger) -> None:
    refused(
        ledger,
        CheckCode.TRANSACTION_NOT_ALLOWED_FOR_ACQUIRING_ACCOUNT_TYPE,
        lambda: ledger.issue(KAU, 2022, 10, "posco"),
    )
    surrender = singleton_id(ledger, AccountKind.SURRENDER)
    refused(
        ledger,
        CheckCode.TRANSACTION_NOT_ALLOWED_FOR_ACQUIRING_ACCOUNT_TYPE,
        lambda: ledger.issue(KAU, 2022, 10, surrender),
    )


def test_foreign_units_may_not_enter_a_reserve_account(ledger: Ledger) -> None:
    """Issuance and reserve accounts hold only the registry's own units: 2006 (DOMAIN check codes).

    The ledger has no inbound-transfer command yet, so the completed inbound
    gateway transfer of Chinese CEAs is stood in for by applying the event.
    """
    broker = account_id(ledger, "broker")
    ledger.apply(UnitsIssued(broker, UnitBlock("CN", "CEA", 2021, 1, 100)))
    ledger.check_conservation()
    ledger.open_account(AccountKind.RESERVE, "Ministry of Environment", "msr")
    code = CheckCode.ACQUIRING_ACCOUNT_TYPE_MAY_NOT_HOLD_UNITS
    refused(ledger, code, lambda: ledger.transfer("broker", "msr", "CEA", 10))
    refused(
        ledger,
        code,
        lambda: ledger.transfer_blocks("broker", "msr", [UnitBlock("CN", "CEA", 2021, 1, 5)]),
    )
    # A foreign unit stays itself in a holding account: a CEA held in Korea is still a CEA.
    moved = ledger.transfer("broker", "posco", "CEA", 10)
    assert moved.blocks == (UnitBlock("CN", "CEA", 2021, 1, 10),)


# -------------------------------------------------- 2508 same account


def test_transfer_to_the_same_account_is_refused_by_id_or_label(ledger: Ledger) -> None:
    posco = account_id(ledger, "posco")
    code = CheckCode.ACQUIRING_ACCOUNT_EQUALS_TRANSFERRING
    refused(ledger, code, lambda: ledger.transfer("posco", "posco", KAU, 1))
    refused(ledger, code, lambda: ledger.transfer(posco, "posco", KAU, 1))
    refused(ledger, code, lambda: ledger.transfer_blocks("posco", posco, [kau(1, 5)]))


# -------------------------------------------------- 3005 balance, 3006 unit types


def test_transfer_over_the_balance_is_refused(ledger: Ledger) -> None:
    """Quantity exceeds balance: 3005 (D8)."""
    refused(
        ledger,
        CheckCode.QUANTITY_EXCEEDS_BALANCE,
        lambda: ledger.transfer("posco", "kepco", KAU, 501),
    )
    refused(
        ledger,
        CheckCode.QUANTITY_EXCEEDS_BALANCE,
        lambda: ledger.transfer("posco", "kepco", KAU, 1, 2022),
    )
    refused(
        ledger,
        CheckCode.QUANTITY_EXCEEDS_BALANCE,
        lambda: ledger.transfer("posco", "kepco", "KOC", 1),
    )
    refused(
        ledger, CheckCode.QUANTITY_EXCEEDS_BALANCE, lambda: ledger.surrender("kepco", KAU, 1, 2021)
    )
    ledger.transfer("posco", "kepco", KAU, 500)
    assert ledger.account("posco").holding.balance() == 0


def test_a_unit_type_the_registry_does_not_know_is_refused(ledger: Ledger) -> None:
    code = CheckCode.INVALID_UNIT_TYPE
    refused(ledger, code, lambda: ledger.transfer("posco", "kepco", "EUA", 1))
    refused(ledger, code, lambda: ledger.issue("EUA", 2021, 1))
    refused(ledger, code, lambda: ledger.quarantine_serials("EUA", 2021, 1, 5, "stolen"))
    refused(
        ledger,
        code,
        lambda: ledger.transfer_blocks("posco", "kepco", [UnitBlock("EU", "EUA", 2021, 1, 5)]),
    )


def test_a_registry_cannot_issue_a_foreign_unit_type(ledger: Ledger) -> None:
    """KR knows CEA (it may hold Chinese allowances) but only CN may issue them: 3006."""
    refused(ledger, CheckCode.INVALID_UNIT_TYPE, lambda: ledger.issue("CEA", 2021, 100))
    refused(ledger, CheckCode.INVALID_UNIT_TYPE, lambda: ledger.set_issuance_cap("CEA", 2021, 100))


def test_a_unit_type_is_registered_once(ledger: Ledger) -> None:
    refused(
        ledger,
        CheckCode.UNIT_TYPE_ALREADY_REGISTERED,
        lambda: ledger.register_unit_type(UnitType(KAU, UnitKind.ALLOWANCE, "KR")),
    )


# -------------------------------------------------- 3500 caps, 9104 serials


def test_issuance_over_the_cap_is_refused(ledger: Ledger) -> None:
    """Over-issuance: 3500; invariant issued ≤ cap (D13)."""
    ledger.set_issuance_cap(KAU, 2022, 1_000)
    ledger.issue(KAU, 2022, 600)
    refused(ledger, CheckCode.ISSUANCE_OVER_CAP, lambda: ledger.issue(KAU, 2022, 401))
    ledger.issue(KAU, 2022, 400)
    assert ledger.issued(KAU, 2022) == ledger.issuance_cap(KAU, 2022) == 1_000
    refused(ledger, CheckCode.ISSUANCE_OVER_CAP, lambda: ledger.issue(KAU, 2022, 1))


def test_a_cap_below_what_was_already_issued_is_refused(ledger: Ledger) -> None:
    refused(ledger, CheckCode.ISSUANCE_OVER_CAP, lambda: ledger.set_issuance_cap(KAU, 2021, 999))
    ledger.set_issuance_cap(KAU, 2021, 1_000)
    refused(ledger, CheckCode.ISSUANCE_OVER_CAP, lambda: ledger.issue(KAU, 2021, 1))


@pytest.mark.parametrize(
    ("start", "quantity"), [(1, 1), (1_000, 1), (990, 20), (500, 600), (1, 2_000)]
)
def test_issuance_over_serials_already_issued_is_refused(
    ledger: Ledger, start: int, quantity: int
) -> None:
    """Serials are never reused, even after the units are surrendered: 9104."""
    ledger.surrender("posco", KAU, 500, 2021)
    refused(
        ledger,
        CheckCode.ISSUANCE_OVERLAPS_ISSUED_SERIALS,
        lambda: ledger.issue(KAU, 2021, quantity, start_serial=start),
    )


def test_issuance_at_a_free_serial_range_is_accepted_and_later_issuance_continues_after_it(
    ledger: Ledger,
) -> None:
    ledger.issue(KAU, 2021, 100, start_serial=5_001)
    refused(
        ledger,
        CheckCode.ISSUANCE_OVERLAPS_ISSUED_SERIALS,
        lambda: ledger.issue(KAU, 2021, 10, start_serial=4_995),
    )
    event = ledger.issue(KAU, 2021, 10)
    assert (event.block.start, event.block.end) == (5_101, 5_110)
    # The gap 1001-5000 stays issuable on purpose, by explicit serials only.
    ledger.issue(KAU, 2021, 4_000, start_serial=1_001)
    assert blocks_of(ledger, singleton_id(ledger, AccountKind.ISSUANCE)) == [kau(501, 5_110)]
    ledger.check_conservation()


@pytest.mark.parametrize(("start", "end"), [(0, 5), (6, 5), (-1, 3), (1, 2**62 + 1)])
def test_a_bad_serial_range_is_refused(ledger: Ledger, start: int, end: int) -> None:
    refused(
        ledger,
        CheckCode.INVALID_SERIAL_RANGE,
        lambda: ledger.quarantine_serials(KAU, 2021, start, end, "stolen"),
    )


def test_issuance_at_serial_zero_is_refused(ledger: Ledger) -> None:
    refused(
        ledger, CheckCode.INVALID_SERIAL_RANGE, lambda: ledger.issue(KAU, 2023, 5, start_serial=0)
    )


# -------------------------------------------------- 9106 vintages, 9111 projects


@pytest.mark.parametrize("vintage", [1989, 2201, 2021.0, True, "2021", None])
def test_a_vintage_that_is_not_a_plausible_year_is_refused(ledger: Ledger, vintage: Any) -> None:
    code = CheckCode.INVALID_VINTAGE
    refused(ledger, code, lambda: ledger.issue(KAU, vintage, 10))
    refused(ledger, code, lambda: ledger.set_issuance_cap(KAU, vintage, 10))
    refused(ledger, code, lambda: ledger.quarantine_serials(KAU, vintage, 1, 5, "stolen"))
    if vintage is not None:  # None means "any vintage" for a transfer
        refused(ledger, code, lambda: ledger.transfer("posco", "kepco", KAU, 1, vintage))


def test_an_offset_credit_needs_the_project_it_was_verified_for(ledger: Ledger) -> None:
    """KOC/KCU are offset credits: issuance without a project id is refused (9111)."""
    refused(ledger, CheckCode.PROJECT_ID_INVALID, lambda: ledger.issue("KOC", 2021, 10))
    event = ledger.issue("KOC", 2021, 10, project_id="KOC-2019-0042")
    assert event.block.project_id == "KOC-2019-0042"


def test_an_allowance_carries_no_project_id(ledger: Ledger) -> None:
    refused(
        ledger, CheckCode.PROJECT_ID_INVALID, lambda: ledger.issue(KAU, 2021, 10, project_id="P-1")
    )


# -------------------------------------------------- 10005 blocks, 10006 lock ids


def test_transfer_of_named_blocks_the_account_does_not_hold_is_refused(ledger: Ledger) -> None:
    """Blocks not held, partly held, overlapping or of another provenance: 10005 (D8)."""
    code = CheckCode.BLOCKS_NOT_HELD
    refused(ledger, code, lambda: ledger.transfer_blocks("posco", "kepco", [kau(501, 510)]))
    refused(ledger, code, lambda: ledger.transfer_blocks("posco", "kepco", [kau(495, 505)]))
    refused(ledger, code, lambda: ledger.transfer_blocks("posco", "kepco", [kau(1, 10, 2022)]))
    refused(
        ledger, code, lambda: ledger.transfer_blocks("posco", "kepco", [kau(1, 10), kau(10, 20)])
    )
    refused(
        ledger, code, lambda: ledger.transfer_blocks("posco", "kepco", [kau(1, 10), kau(1, 10)])
    )
    refused(
        ledger,
        code,
        lambda: ledger.transfer_blocks("posco", "kepco", [UnitBlock("CN", KAU, 2021, 1, 10)]),
    )
    refused(
        ledger,
        code,
        lambda: ledger.transfer_blocks(
            "posco", "kepco", [UnitBlock("KR", KAU, 2021, 1, 10, "", True)]
        ),
    )


def test_transfer_of_offset_blocks_naming_the_wrong_project_is_refused(ledger: Ledger) -> None:
    ledger.issue("KOC", 2021, 100, project_id="P-1")
    issuance = singleton_id(ledger, AccountKind.ISSUANCE)
    refused(
        ledger,
        CheckCode.BLOCKS_NOT_HELD,
        lambda: ledger.transfer_blocks(
            issuance, "posco", [UnitBlock("KR", "KOC", 2021, 1, 10, "P-2")]
        ),
    )
    ledger.transfer_blocks(issuance, "posco", [UnitBlock("KR", "KOC", 2021, 1, 10, "P-1")])


def test_a_lock_id_is_used_once(ledger: Ledger) -> None:
    """Replayed / duplicate transaction ids are refused: 10006 (D6)."""
    ledger.lock("GW-0001", "posco", KAU, 10, EXTERNAL)
    refused(
        ledger,
        CheckCode.TRANSACTION_ID_EXISTS,
        lambda: ledger.lock("GW-0001", "posco", KAU, 10, EXTERNAL),
    )
    refused(
        ledger,
        CheckCode.TRANSACTION_ID_EXISTS,
        lambda: ledger.lock_blocks("GW-0001", "kepco", [kau(1, 1)], EXTERNAL),
    )
    assert singleton_balance(ledger, AccountKind.PENDING_OUT) == 10


# -------------------------------------------------- 9101 quarantine


def test_quarantined_serials_cannot_be_moved_by_name(ledger: Ledger) -> None:
    """EU registry thefts, Jan 2011: stolen serials are quarantined everywhere (9101, D2)."""
    ledger.quarantine_serials(KAU, 2021, 101, 200, "reported stolen")
    code = CheckCode.UNITS_QUARANTINED
    refused(ledger, code, lambda: ledger.transfer_blocks("posco", "kepco", [kau(150, 150)]))
    refused(ledger, code, lambda: ledger.transfer_blocks("posco", "kepco", [kau(1, 101)]))
    refused(ledger, code, lambda: ledger.surrender_blocks("posco", [kau(200, 300)], 2021))
    refused(ledger, code, lambda: ledger.lock_blocks("L1", "posco", [kau(90, 110)], EXTERNAL))
    ledger.transfer_blocks("posco", "kepco", [kau(1, 100), kau(201, 300)])


def test_transfer_by_quantity_passes_over_quarantined_serials(ledger: Ledger) -> None:
    ledger.quarantine_serials(KAU, 2021, 101, 200, "reported stolen")
    moved = ledger.transfer("posco", "kepco", KAU, 150)
    assert moved.blocks == (kau(1, 100), kau(201, 250))
    assert blocks_of(ledger, "posco") == [kau(101, 200), kau(251, 500)]


def test_transfer_that_only_quarantined_serials_could_fill_is_refused(ledger: Ledger) -> None:
    ledger.quarantine_serials(KAU, 2021, 101, 200, "reported stolen")
    code = CheckCode.UNITS_QUARANTINED
    refused(ledger, code, lambda: ledger.transfer("posco", "kepco", KAU, 401))
    refused(ledger, code, lambda: ledger.surrender("posco", KAU, 500, 2021))
    refused(
        ledger,
        CheckCode.QUANTITY_EXCEEDS_BALANCE,
        lambda: ledger.transfer("posco", "kepco", KAU, 501),
    )
    ledger.lift_quarantine(KAU, 2021, 101, 200)
    ledger.transfer("posco", "kepco", KAU, 500)


def test_the_same_range_is_quarantined_once_and_only_a_quarantined_range_is_lifted(
    ledger: Ledger,
) -> None:
    ledger.quarantine_serials(KAU, 2021, 101, 200, "reported stolen")
    refused(
        ledger,
        CheckCode.INVALID_ARGUMENT,
        lambda: ledger.quarantine_serials(KAU, 2021, 101, 200, "again"),
    )
    refused(ledger, CheckCode.INVALID_ARGUMENT, lambda: ledger.lift_quarantine(KAU, 2021, 101, 199))


# -------------------------------------------------- 9102 registry suspension


def test_a_suspended_registry_allows_only_allocation_and_surrender(ledger: Ledger) -> None:
    """EU, 19 January 2011: all registries closed; only allocation and surrender went on (D2).

    Issuance is refused too: DOMAIN.md's suspension "allows only allocation and surrender".
    """
    ledger.lock("L1", "posco", KAU, 10, EXTERNAL)
    ledger.issue(KAU, 2022, 100)
    ledger.suspend("registry intrusion reported")
    code = CheckCode.REGISTRY_SUSPENDED
    refused(ledger, code, lambda: ledger.transfer("posco", "kepco", KAU, 1))
    refused(ledger, code, lambda: ledger.transfer_blocks("posco", "kepco", [kau(11, 11)]))
    refused(ledger, code, lambda: ledger.cancel("posco", KAU, 1))
    refused(ledger, code, lambda: ledger.retire("posco", KAU, 1))
    refused(ledger, code, lambda: ledger.lock("L2", "posco", KAU, 1, EXTERNAL))
    refused(ledger, code, lambda: ledger.lock_blocks("L2", "posco", [kau(11, 11)], EXTERNAL))
    refused(ledger, code, lambda: ledger.suspend("again"))
    refused(ledger, code, lambda: ledger.issue(KAU, 2022, 100))
    ledger.allocate(singleton_id(ledger, AccountKind.ISSUANCE), "kepco", KAU, 100, 2022)
    ledger.surrender("kepco", KAU, 60, 2022)
    ledger.surrender_blocks("kepco", [kau(61, 70, 2022)], 2022)
    assert singleton_balance(ledger, AccountKind.SURRENDER) == 70
    ledger.resume("registry secured")
    ledger.transfer("posco", "kepco", KAU, 1)


def test_resume_needs_a_suspended_registry(ledger: Ledger) -> None:
    refused(ledger, CheckCode.INVALID_ARGUMENT, lambda: ledger.resume("nothing to resume"))


# -------------------------------------------------- 9103 / 9108 account status


def test_an_account_that_holds_units_cannot_be_closed(ledger: Ledger) -> None:
    refused(ledger, CheckCode.ACCOUNT_NOT_EMPTY, lambda: ledger.close_account("posco"))
    ledger.lock("L1", "posco", KAU, 500, EXTERNAL)
    assert not ledger.account("posco").holding
    # Its units are pending out under a lock: still not empty.
    refused(ledger, CheckCode.ACCOUNT_NOT_EMPTY, lambda: ledger.close_account("posco"))
    ledger.unlock("L1")
    ledger.transfer("posco", "kepco", KAU, 500)
    ledger.close_account("posco", "merged into KEPCO")
    assert ledger.account("posco").status.value == "closed"


def test_account_status_changes_that_conflict_with_the_current_status_are_refused(
    ledger: Ledger,
) -> None:
    """Status conflicts (D10): 9108."""
    code = CheckCode.ACCOUNT_STATUS_CONFLICT
    refused(ledger, code, lambda: ledger.unblock_account("kepco"))
    ledger.block_account("kepco")
    refused(ledger, code, lambda: ledger.block_account("kepco"))
    ledger.close_account("kepco")
    refused(ledger, code, lambda: ledger.close_account("kepco"))
    refused(ledger, code, lambda: ledger.block_account("kepco"))
    refused(ledger, code, lambda: ledger.unblock_account("kepco"))


@pytest.mark.parametrize(
    "kind",
    [
        AccountKind.ISSUANCE,
        AccountKind.PENDING_OUT,
        AccountKind.SURRENDER,
        AccountKind.CANCELLATION,
        AccountKind.RETIREMENT,
    ],
)
def test_the_registry_own_accounts_cannot_be_blocked_or_closed(
    ledger: Ledger, kind: AccountKind
) -> None:
    target = singleton_id(ledger, kind)
    refused(ledger, CheckCode.ACCOUNT_STATUS_CONFLICT, lambda: ledger.block_account(target))
    if not ledger.singleton(kind).holding:
        refused(ledger, CheckCode.ACCOUNT_STATUS_CONFLICT, lambda: ledger.close_account(target))
    refused(ledger, CheckCode.INVALID_ARGUMENT, lambda: ledger.open_account(kind, "Ministry"))


# -------------------------------------------------- 9105 locks


def test_unlock_of_an_unknown_lock_is_refused(ledger: Ledger) -> None:
    refused(ledger, CheckCode.UNKNOWN_LOCK, lambda: ledger.unlock("GW-404"))


def test_a_lock_is_released_once(ledger: Ledger) -> None:
    ledger.lock("GW-0001", "posco", KAU, 10, EXTERNAL)
    ledger.unlock("GW-0001")
    refused(ledger, CheckCode.UNKNOWN_LOCK, lambda: ledger.unlock("GW-0001"))


# -------------------------------------------------- positive scenarios


def test_transfer_takes_oldest_vintage_then_lowest_serial_and_splits_at_most_one_block() -> None:
    ledger = build_korean_ledger()
    issuance = singleton_id(ledger, AccountKind.ISSUANCE)
    ledger.issue(KAU, 2022, 100)  # 2022: 1-100
    ledger.issue(KAU, 2021, 100, start_serial=201)  # 2021: 201-300
    ledger.issue(KAU, 2021, 100, start_serial=1)  # 2021: 1-100, a gap before 201
    assert blocks_of(ledger, issuance) == [kau(1, 100), kau(201, 300), kau(1, 100, 2022)]
    moved = ledger.allocate(issuance, "posco", KAU, 250)
    assert moved.blocks == (kau(1, 100), kau(201, 300), kau(1, 50, 2022))
    assert blocks_of(ledger, issuance) == [kau(51, 100, 2022)]
    assert blocks_of(ledger, "posco") == list(moved.blocks)
    moved = ledger.transfer("posco", "kepco", KAU, 120, 2021)
    assert moved.blocks == (kau(1, 100), kau(201, 220))


def test_blocks_merge_when_adjacent_serials_arrive(ledger: Ledger) -> None:
    ledger.transfer("posco", "kepco", KAU, 10)
    ledger.transfer("posco", "kepco", KAU, 10)
    assert blocks_of(ledger, "kepco") == [kau(1, 20)]
    ledger.transfer("kepco", "posco", KAU, 20)
    assert blocks_of(ledger, "posco") == [kau(1, 500)]
    assert not ledger.account("kepco").holding


def test_transfer_of_named_sub_ranges_moves_exactly_those_serials(ledger: Ledger) -> None:
    moved = ledger.transfer_blocks("posco", "kepco", [kau(50, 59), kau(10, 19)])
    assert moved.blocks == (kau(10, 19), kau(50, 59))
    assert blocks_of(ledger, "kepco") == [kau(10, 19), kau(50, 59)]
    assert blocks_of(ledger, "posco") == [kau(1, 9), kau(20, 49), kau(60, 500)]
    ledger.check_conservation()


def test_lock_then_unlock_returns_the_ledger_to_where_it_was(ledger: Ledger) -> None:
    before = ledger.state_digest()
    ledger.transfer_blocks("posco", "kepco", [kau(1, 1)])
    ledger.transfer_blocks("kepco", "posco", [kau(1, 1)])
    assert ledger.state_digest() == before  # merging makes holdings canonical
    moved = ledger.lock("GW-0001", "posco", KAU, 120, EXTERNAL)
    assert moved.blocks == (kau(1, 120),)
    lock = ledger.lock_record("GW-0001")
    assert lock is not None
    assert (lock.account_id, lock.purpose, lock.blocks) == (
        account_id(ledger, "posco"),
        EXTERNAL,
        (kau(1, 120),),
    )
    assert blocks_of(ledger, singleton_id(ledger, AccountKind.PENDING_OUT)) == [kau(1, 120)]
    assert ledger.totals().locked == 120
    ledger.check_conservation()
    # The owner may be blocked meanwhile; its units still come back.
    ledger.block_account("posco", "inquiry")
    ledger.unlock("GW-0001")
    ledger.unblock_account("posco", "cleared")
    assert ledger.locks() == []
    assert ledger.state_digest() == before


def test_lock_of_named_blocks_records_exactly_those_blocks(ledger: Ledger) -> None:
    ledger.lock_blocks("GW-0002", "posco", [kau(300, 310), kau(5, 5)], LockPurpose.EXCHANGE_CUSTODY)
    lock = ledger.lock_record("GW-0002")
    assert lock is not None and lock.blocks == (kau(5, 5), kau(300, 310))
    ledger.unlock("GW-0002")
    assert blocks_of(ledger, "posco") == [kau(1, 500)]


def test_surrender_records_account_period_and_blocks(ledger: Ledger) -> None:
    posco = account_id(ledger, "posco")
    first = ledger.surrender("posco", KAU, 30, 2021)
    second = ledger.surrender_blocks("posco", [kau(100, 109)], 2022)
    assert first.period == 2021 and second.period == 2022
    assert ledger.surrenders() == [
        Surrender(posco, 2021, (kau(1, 30),)),
        Surrender(posco, 2022, (kau(100, 109),)),
    ]
    assert ledger.surrenders("posco", 2021) == [Surrender(posco, 2021, (kau(1, 30),))]
    assert ledger.surrenders(period=2022)[0].quantity == 10
    assert ledger.surrenders("kepco") == []
    assert blocks_of(ledger, singleton_id(ledger, AccountKind.SURRENDER)) == [
        kau(1, 30),
        kau(100, 109),
    ]


@pytest.mark.parametrize("period", [1989, 2201, 2021.0, None])
def test_surrender_needs_a_compliance_period(ledger: Ledger, period: Any) -> None:
    refused(ledger, CheckCode.INVALID_ARGUMENT, lambda: ledger.surrender("posco", KAU, 1, period))


def test_totals_account_for_every_issued_unit_by_where_it_is(ledger: Ledger) -> None:
    ledger.issue("KOC", 2021, 200, project_id="P-1")
    ledger.lock("L1", "posco", KAU, 40, EXTERNAL)
    ledger.surrender("posco", KAU, 30, 2021)
    ledger.cancel("posco", KAU, 20)
    ledger.retire(singleton_id(ledger, AccountKind.ISSUANCE), "KOC", 10)
    assert ledger.totals() == Totals(
        issued=1_200, held=1_100, locked=40, surrendered=30, cancelled=20, retired=10
    )
    assert ledger.totals(KAU) == Totals(
        issued=1_000, held=910, locked=40, surrendered=30, cancelled=20, retired=0
    )
    assert ledger.totals("KOC") == Totals(
        issued=200, held=190, locked=0, surrendered=0, cancelled=0, retired=10
    )


def test_conservation_check_catches_a_lost_serial(ledger: Ledger) -> None:
    """The auditor is not vacuous: remove serials behind the ledger's back and it objects."""
    ledger.check_conservation()
    ledger.account("posco").holding.remove(kau(7, 7))
    with pytest.raises(AssertionError):
        ledger.check_conservation()


def test_conservation_check_catches_a_serial_in_two_places(ledger: Ledger) -> None:
    ledger.account("kepco").holding.add(kau(7, 7))
    with pytest.raises(AssertionError):
        ledger.check_conservation()


def test_snapshot_and_replay_rebuild_the_same_state(ledger: Ledger) -> None:
    events = []
    replica = Ledger()
    fresh = Ledger()
    events.extend(fresh.create("KR", "Korea Emissions Trading Registry"))
    for unit_type in ledger.unit_types.values():
        events.append(fresh.register_unit_type(unit_type))
    events.append(fresh.open_account(AccountKind.COMPLIANCE, "POSCO", "posco"))
    events.append(fresh.issue(KAU, 2021, 100))
    events.append(fresh.allocate(singleton_id(fresh, AccountKind.ISSUANCE), "posco", KAU, 60))
    events.append(fresh.lock("L1", "posco", KAU, 10, EXTERNAL))
    events.append(fresh.quarantine_serials(KAU, 2021, 20, 25, "stolen"))
    events.append(fresh.surrender("posco", KAU, 30, 2021))
    events.append(fresh.suspend("intrusion"))
    for event in events:
        replica.apply(event)
    assert replica.state_digest() == fresh.state_digest()
    restored = Ledger.from_snapshot(fresh.to_snapshot())
    assert restored.state_digest() == fresh.state_digest()
    restored.check_conservation()
    assert restored.account("posco").label == "posco"


CHINA_COMPANIES = 2_225
CHINA_ISSUED_T = 4_500_000_000
CHINA_ALLOCATION_T = 2_000_000


def test_china_sized_issuance_costs_blocks_not_units() -> None:
    """China's national ETS: 2,225 companies (DOMAIN.md, FNI). 4.5 Gt stays O(blocks)."""
    ledger = Ledger()
    ledger.create("CN", "China national carbon emission registry")
    ledger.register_unit_type(
        UnitType("CEA", UnitKind.ALLOWANCE, "CN", "Chinese Emission Allowance")
    )
    issuance = singleton_id(ledger, AccountKind.ISSUANCE)
    ledger.issue("CEA", 2021, CHINA_ISSUED_T)
    companies = [
        ledger.open_account(AccountKind.COMPLIANCE, f"Company {n}", f"c{n}").account_id
        for n in range(CHINA_COMPANIES)
    ]
    for company in companies:
        moved = ledger.allocate(issuance, company, "CEA", CHINA_ALLOCATION_T)
        assert len(moved.blocks) == 1
    allocated_t = CHINA_COMPANIES * CHINA_ALLOCATION_T
    assert len(blocks_of(ledger, issuance)) == 1
    assert ledger.account(issuance).holding.balance() == CHINA_ISSUED_T - allocated_t
    assert all(len(blocks_of(ledger, company)) == 1 for company in companies)
    assert sum(len(blocks_of(ledger, record.account_id)) for record in ledger.accounts()) == (
        CHINA_COMPANIES + 1
    )
    ledger.check_conservation()
    for company in companies:
        ledger.surrender(company, "CEA", CHINA_ALLOCATION_T, 2021)
    surrender = ledger.singleton(AccountKind.SURRENDER)
    # Consecutive serial ranges arrive in order and merge: one block for 4.45 Gt.
    assert list(surrender.holding.blocks()) == [UnitBlock("CN", "CEA", 2021, 1, allocated_t)]
    assert ledger.totals() == Totals(
        issued=CHINA_ISSUED_T,
        held=CHINA_ISSUED_T - allocated_t,
        locked=0,
        surrendered=allocated_t,
        cancelled=0,
        retired=0,
    )
    ledger.check_conservation()


def test_only_a_compliance_account_may_surrender(ledger: Ledger) -> None:
    """Surrender discharges a covered entity's obligation; a broker's trading
    account and the government's issuance account have none (1007)."""
    ledger.transfer("posco", "broker", KAU, 10)
    refused(
        ledger,
        CheckCode.TRANSACTION_NOT_ALLOWED_FOR_TRANSFERRING_ACCOUNT_TYPE,
        lambda: ledger.surrender("broker", KAU, 10, 2021),
    )
    issuance = singleton_id(ledger, AccountKind.ISSUANCE)
    refused(
        ledger,
        CheckCode.TRANSACTION_NOT_ALLOWED_FOR_TRANSFERRING_ACCOUNT_TYPE,
        lambda: ledger.surrender(issuance, KAU, 10, 2021),
    )


def test_article6_authorisation_must_be_a_boolean(ledger: Ledger) -> None:
    refused(
        ledger,
        CheckCode.INVALID_ARGUMENT,
        lambda: ledger.issue(KAU, 2021, 10, article6_authorized="yes"),  # type: ignore[arg-type]
    )


def test_commands_on_a_registry_never_created_are_refused_with_a_code() -> None:
    with pytest.raises(RegistryError) as caught:
        Ledger().surrender("posco", KAU, 1, 2021)
    assert caught.value.code is CheckCode.INVALID_ARGUMENT
