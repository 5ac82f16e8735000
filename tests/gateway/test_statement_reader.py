"""The daily statement reader and the directly written texts of reconciliation.

`StatementReader` reuses the foreign side while no holding has changed
(`Holding.stamp`); it must still see every change, a corrupting one made
straight on a holding included (reference D16: a double-applied block must be
detected). `HoldingsStatement.text` and `SignedStatement.text` must be exactly
the canonical encoding of their data, since signatures and journals hang on it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from gateway.reconciliation import (
    SIGNATURE_DOMAIN,
    HoldingsStatement,
    StatementReader,
    block_hash,
    canonical_ranges,
    sign_statement,
    statement_from_ledger,
)
from registry import canonical
from registry.accounts import AccountKind
from registry.events import LockPurpose
from registry.holdings import Holding
from registry.keys import SigningKey
from registry.ledger import Ledger
from registry.units import UnitBlock, UnitKind, UnitType

EUA = UnitType("EUA", UnitKind.ALLOWANCE, "EU")
CHU = UnitType("CHU", UnitKind.ALLOWANCE, "CH")
AS_OF = datetime(2026, 3, 3, tzinfo=UTC)
KEY = SigningKey.generate()


def swiss_ledger_holding_eua() -> Ledger:
    """A Swiss ledger whose trader holds EUA 1-300 of 2021, imported over a link."""
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
    ch.issue("CHU", 2021, 500)
    ch.allocate(ch.singleton(AccountKind.ISSUANCE).account_id, "operator", "CHU", 500)
    locked = eu.lock("T1", "operator", "EUA", 300, LockPurpose.EXTERNAL_TRANSFER)
    ch.import_blocks("T1", "EU", "trader", locked.blocks)
    eu.export_locked("T1", "T1", "CH")
    return ch


def test_reader_gives_the_statement_of_the_ledger_day_after_day() -> None:
    ch = swiss_ledger_holding_eua()
    reader = StatementReader(ch)
    for day in range(3):
        moment = AS_OF + timedelta(days=day)
        assert reader.statement(moment) == statement_from_ledger(ch, moment)


def test_reader_sees_a_transfer_made_after_its_last_read() -> None:
    ch = swiss_ledger_holding_eua()
    reader = StatementReader(ch)
    reader.statement(AS_OF)
    ch.transfer("trader", "operator", "EUA", 100)
    assert reader.statement(AS_OF) == statement_from_ledger(ch, AS_OF)


def test_reader_sees_a_block_credited_twice_straight_on_a_holding() -> None:
    ch = swiss_ledger_holding_eua()
    reader = StatementReader(ch)
    before = reader.statement(AS_OF)
    ch.account("operator").holding.add(UnitBlock("EU", "EUA", 2021, 1, 50))
    after = reader.statement(AS_OF)
    assert after != before
    assert after.foreign[("EU", "EUA", 2021)] == ((1, 50), (1, 300))


def test_holding_stamp_changes_with_every_add_and_remove_and_differs_between_holdings() -> None:
    first, second = Holding(), Holding()
    assert first.stamp == second.stamp == 0
    block = UnitBlock("EU", "EUA", 2021, 1, 10)
    first.add(block)
    added = first.stamp
    second.add(block)
    assert added != 0 and second.stamp not in (0, added)
    first.remove(block)
    assert first.stamp not in (0, added, second.stamp)


ranges_strategy = st.lists(
    st.tuples(st.integers(1, 60), st.integers(0, 8)).map(lambda p: (p[0], p[0] + p[1])),
    max_size=8,
)


@given(ranges_strategy)
def test_canonical_ranges_of_disjoint_and_overlapping_pieces_keep_every_layer(
    pieces: list[tuple[int, int]],
) -> None:
    canonical_form = canonical_ranges(pieces)
    counts: dict[int, int] = {}
    for start, end in pieces:
        for serial in range(start, end + 1):
            counts[serial] = counts.get(serial, 0) + 1
    layered: dict[int, int] = {}
    for start, end in canonical_form:
        for serial in range(start, end + 1):
            layered[serial] = layered.get(serial, 0) + 1
    assert layered == counts
    assert canonical_ranges(canonical_form) == canonical_form
    assert block_hash(pieces) == block_hash(canonical_form)


@given(ranges_strategy, ranges_strategy)
def test_statement_texts_are_the_canonical_encoding_of_their_data(
    foreign_pieces: list[tuple[int, int]], away_pieces: list[tuple[int, int]]
) -> None:
    foreign = {("EU", "EUA", 2021): canonical_ranges(foreign_pieces)} if foreign_pieces else {}
    away = {("CH", "CHU", 2022): canonical_ranges(away_pieces)} if away_pieces else {}
    statement = HoldingsStatement("CH", "2026-03-03T00:00:00Z", foreign, away)
    assert statement.text() == canonical.encode_text(statement.to_data())
    assert statement.signed_bytes() == canonical.encode(
        {"domain": SIGNATURE_DOMAIN, "statement": statement.to_data()}
    )
    signed = sign_statement(statement, KEY)
    assert signed.text() == canonical.encode_text(signed.to_data())
