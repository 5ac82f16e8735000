"""The registry side of an external transfer: lock, export on completion, import at the other end.

Conservation across registries: for every serial space, the blocks held in
all registries plus those locked in transit are exactly the issued ranges.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry import (
    AccountKind,
    CheckCode,
    Ledger,
    LockPurpose,
    Registry,
    RegistryError,
    SigningKey,
    UnitBlock,
    UnitKind,
    UnitType,
)

EUA = UnitType("EUA", UnitKind.ALLOWANCE, "EU")
CHU = UnitType("CHU", UnitKind.ALLOWANCE, "CH")


def two_registries() -> tuple[Ledger, Ledger]:
    """The EU and Swiss registries, each holding the other's unit type (linked since 2020)."""
    eu, ch = Ledger(), Ledger()
    eu.create("EU", "Union Registry")
    ch.create("CH", "Swiss Emissions Trading Registry")
    for ledger in (eu, ch):
        ledger.register_unit_type(EUA)
        ledger.register_unit_type(CHU)
        ledger.open_account(AccountKind.COMPLIANCE, "Operator", "operator")
        ledger.open_account(AccountKind.TRADING, "Trader", "trader")
    eu.issue("EUA", 2021, 1_000)
    eu.allocate(eu.singleton(AccountKind.ISSUANCE).account_id, "operator", "EUA", 1_000)
    return eu, ch


def send(source: Ledger, target: Ledger, transfer_id: str, quantity: int, to: str) -> None:
    """Run the registry steps of one completed transfer: lock, import, export."""
    locked = source.lock(transfer_id, "operator", "EUA", quantity, LockPurpose.EXTERNAL_TRANSFER)
    target.import_blocks(transfer_id, source.code, to, locked.blocks)
    source.export_locked(transfer_id, transfer_id, target.code)


def serials_everywhere(*ledgers: Ledger) -> list[tuple[int, int]]:
    pieces = sorted(
        (block.start, block.end)
        for ledger in ledgers
        for record in ledger.accounts()
        for block in record.holding.blocks("EUA")
    )
    merged: list[tuple[int, int]] = []
    for start, end in pieces:
        assert not merged or start > merged[-1][1], f"serial {start} is in two places"
        if merged and start == merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def test_units_keep_their_identity_and_conservation_holds_in_both_registries() -> None:
    eu, ch = two_registries()
    send(eu, ch, "EU-CH-1", 300, "trader")
    held = list(ch.account("trader").holding.blocks())
    assert held == [UnitBlock("EU", "EUA", 2021, 1, 300)]  # still an EUA, serials kept
    assert eu.away() == {("EU", "EUA", 2021): [(1, 300)]}
    assert ch.foreign() == {("EU", "EUA", 2021): [(1, 300)]}
    eu.check_conservation()
    ch.check_conservation()
    assert serials_everywhere(eu, ch) == [(1, 1_000)]


def test_units_can_come_home_and_leave_again() -> None:
    eu, ch = two_registries()
    send(eu, ch, "EU-CH-1", 300, "operator")
    send(ch, eu, "CH-EU-1", 100, "trader")
    assert eu.away() == {("EU", "EUA", 2021): [(101, 300)]}
    eu.check_conservation()
    ch.check_conservation()
    assert serials_everywhere(eu, ch) == [(1, 1_000)]


def test_importing_the_same_serials_twice_is_refused_10005() -> None:
    eu, ch = two_registries()
    locked = eu.lock("T1", "operator", "EUA", 10, LockPurpose.EXTERNAL_TRANSFER)
    ch.import_blocks("T1", "EU", "trader", locked.blocks)
    before = ch.state_digest()
    with pytest.raises(RegistryError) as caught:
        ch.import_blocks("T2", "EU", "operator", locked.blocks)
    assert caught.value.code is CheckCode.BLOCKS_NOT_HELD
    assert ch.state_digest() == before


def test_a_replayed_transfer_id_is_refused_10006() -> None:
    eu, ch = two_registries()
    send(eu, ch, "T1", 10, "trader")
    locked = eu.lock("T1b", "operator", "EUA", 10, LockPurpose.EXTERNAL_TRANSFER)
    before = ch.state_digest()
    with pytest.raises(RegistryError) as caught:
        ch.import_blocks("T1", "EU", "trader", locked.blocks)
    assert caught.value.code is CheckCode.TRANSACTION_ID_EXISTS
    assert ch.state_digest() == before


def test_own_units_that_never_left_cannot_be_imported() -> None:
    eu, _ = two_registries()
    with pytest.raises(RegistryError) as caught:
        eu.import_blocks("T9", "CH", "trader", [UnitBlock("EU", "EUA", 2021, 1, 5)])
    assert caught.value.code is CheckCode.BLOCKS_NOT_HELD


def test_import_to_an_account_that_cannot_take_it_is_refused() -> None:
    eu, ch = two_registries()
    locked = eu.lock("T1", "operator", "EUA", 10, LockPurpose.EXTERNAL_TRANSFER)
    issuance = ch.singleton(AccountKind.ISSUANCE).account_id
    cases = [
        (issuance, CheckCode.TRANSACTION_NOT_ALLOWED_FOR_ACQUIRING_ACCOUNT_TYPE),
        ("nobody", CheckCode.ACQUIRING_ACCOUNT_DOES_NOT_EXIST),
    ]
    for account, code in cases:
        with pytest.raises(RegistryError) as caught:
            ch.import_blocks("T1", "EU", account, locked.blocks)
        assert caught.value.code is code
    unknown = UnitBlock("EU", "EUX", 2021, 1, 5)
    with pytest.raises(RegistryError) as caught:
        ch.import_blocks("T1", "EU", "trader", [unknown])
    assert caught.value.code is CheckCode.INVALID_UNIT_TYPE


def test_export_needs_an_external_transfer_lock() -> None:
    eu, _ = two_registries()
    eu.lock("C1", "operator", "EUA", 10, LockPurpose.EXCHANGE_CUSTODY)
    with pytest.raises(RegistryError) as caught:
        eu.export_locked("C1", "T1", "CH")
    assert caught.value.code is CheckCode.INVALID_ARGUMENT
    with pytest.raises(RegistryError) as caught:
        eu.export_locked("missing", "T1", "CH")
    assert caught.value.code is CheckCode.UNKNOWN_LOCK
    with pytest.raises(RegistryError) as caught:
        eu.export_locked("C1", "T1", "EU")
    assert caught.value.code is CheckCode.INVALID_ARGUMENT


def test_external_transfers_replay_from_the_journal() -> None:
    key = SigningKey.generate()
    eu = Registry.create("sqlite://", "EU", "Union Registry", key, unit_types=[EUA, CHU])
    eu.open_account(AccountKind.COMPLIANCE, "Operator", "operator")
    eu.issue("EUA", 2021, 100)
    eu.allocate(eu.ledger.singleton(AccountKind.ISSUANCE).account_id, "operator", "EUA", 100)
    eu.lock("T1", "operator", "EUA", 40, LockPurpose.EXTERNAL_TRANSFER)
    eu.export_locked("T1", "T1", "CH")
    eu.import_blocks("T2", "CH", "operator", [UnitBlock("EU", "EUA", 2021, 1, 10)])
    eu.snapshot()
    eu.import_blocks("T3", "CH", "operator", [UnitBlock("EU", "EUA", 2021, 11, 20)])
    eu.flush()
    reopened = Registry.open(eu.journal.engine, "EU", key)
    assert reopened.ledger.state_digest() == eu.ledger.state_digest()
    reopened.check_conservation()


@given(st.lists(st.tuples(st.booleans(), st.integers(1, 200)), max_size=25))
def test_random_shuttling_conserves_every_serial(moves: list[tuple[bool, int]]) -> None:
    eu, ch = two_registries()
    ch.open_account(AccountKind.COMPLIANCE, "Swiss operator", "ch_operator")
    for number, (eastward, quantity) in enumerate(moves):
        source, target = (eu, ch) if eastward else (ch, eu)
        if source.account("operator").holding.balance("EUA") < quantity:
            continue
        send(source, target, f"T{number}", quantity, "operator")
        eu.check_conservation()
        ch.check_conservation()
        assert serials_everywhere(eu, ch) == [(1, 1_000)]
