"""Account names a reader can trust: NFC, and nothing invisible.

A label or holder with a bidi override or a zero-width character looks like
another account's name ("posco" and "pos\u200bco" print the same); one with
NUL cannot be stored in PostgreSQL's text columns. Each is refused with 9107
before anything is journaled.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from registry import AccountKind, Ledger, Registry, RegistryError, SigningKey
from registry.errors import CheckCode
from registry.labels import checked_name
from registry.store import journal_table
from tests.registry.conftest import KOREAN_UNIT_TYPES, build_korean_ledger

INVISIBLE = [
    ("\u202e", "RIGHT-TO-LEFT OVERRIDE"),
    ("\u200b", "ZERO WIDTH SPACE"),
    ("\u200d", "ZERO WIDTH JOINER"),
    ("\u2060", "WORD JOINER"),
    ("\ufeff", "ZERO WIDTH NO-BREAK SPACE"),
    ("\x00", "unnamed"),
    ("\n", "unnamed"),
    ("\u2028", "LINE SEPARATOR"),
    ("\U000e0001", "LANGUAGE TAG"),
    ("\u0378", "unnamed"),  # unassigned
]


@pytest.mark.parametrize(("character", "name"), INVISIBLE)
def test_a_label_with_an_invisible_character_is_refused_9107_and_opens_nothing(
    character: str, name: str
) -> None:
    ledger = build_korean_ledger()
    before = len(ledger.accounts())
    with pytest.raises(RegistryError) as refused:
        ledger.open_account(AccountKind.TRADING, "Broker Two", f"pos{character}co")
    assert refused.value.code is CheckCode.INVALID_ARGUMENT
    assert f"U+{ord(character):04X} ({name})" in refused.value.message
    assert "\n" not in str(refused.value) and character not in str(refused.value)
    assert len(ledger.accounts()) == before


@pytest.mark.parametrize(("character", "name"), INVISIBLE[:3])
def test_a_holder_with_an_invisible_character_is_refused_9107(character: str, name: str) -> None:
    ledger = build_korean_ledger()
    with pytest.raises(RegistryError) as refused:
        ledger.open_account(AccountKind.TRADING, f"POSCO{character}", "other")
    assert refused.value.code is CheckCode.INVALID_ARGUMENT
    assert name in refused.value.message


def test_labels_equal_under_nfc_are_one_label() -> None:
    ledger = build_korean_ledger()
    composed = ledger.open_account(AccountKind.TRADING, "Caf\u00e9 Trading", "caf\u00e9")
    with pytest.raises(RegistryError) as taken:
        ledger.open_account(AccountKind.TRADING, "Cafe\u0301 Trading", "cafe\u0301")
    assert taken.value.code is CheckCode.INVALID_ARGUMENT
    assert "is taken" in taken.value.message
    assert ledger.account("cafe\u0301").account_id == composed.account_id
    assert ledger.account("caf\u00e9").holder == "Caf\u00e9 Trading"


def test_a_decomposed_label_is_stored_composed() -> None:
    ledger = build_korean_ledger()
    opened = ledger.open_account(AccountKind.TRADING, "Cafe\u0301", "cafe\u0301")
    assert opened.label == "caf\u00e9" and opened.holder == "Caf\u00e9"


def test_visible_text_in_any_script_is_accepted() -> None:
    for text in ("posco", "포스코", "中国石化", "Zürich AG", "Société Générale", "a b"):
        assert checked_name("label", text) == text


def test_a_project_id_with_nul_is_refused_before_issuing() -> None:
    ledger = Ledger()
    ledger.create("KR", "Korea")
    for unit_type in KOREAN_UNIT_TYPES:
        ledger.register_unit_type(unit_type)
    with pytest.raises(RegistryError) as refused:
        ledger.issue("KOC", 2015, 100, project_id="KR-0001\x00")
    assert refused.value.code is CheckCode.INVALID_ARGUMENT
    assert ledger.totals("KOC").issued == 0


def test_a_nul_label_on_the_store_journals_nothing_and_the_snapshot_still_works(
    store_url: str, signing_key: SigningKey
) -> None:
    registry = Registry.create(store_url, "KR", "Korea", signing_key, unit_types=KOREAN_UNIT_TYPES)
    registry.open_account(AccountKind.TRADING, "Broker", "broker", durable=True)
    seq = registry.journal.committed_seq
    with pytest.raises(RegistryError) as refused:
        registry.open_account(AccountKind.TRADING, "Broker\x00", "bro\x00ker", durable=True)
    assert refused.value.code is CheckCode.INVALID_ARGUMENT
    registry.flush()
    assert registry.snapshot() == seq
    with registry.journal.engine.connect() as connection:
        rows = connection.execute(select(func.count()).select_from(journal_table)).scalar_one()
    assert rows == seq
    registry.close()
