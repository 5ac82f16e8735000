"""Fixtures for registry tests: a small Korean registry, in memory or journaled."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from registry import AccountKind, Ledger, SigningKey, UnitKind, UnitType

KOREAN_UNIT_TYPES = (
    UnitType("KAU", UnitKind.ALLOWANCE, "KR", "Korean Allowance Unit"),
    UnitType("KCU", UnitKind.OFFSET_CREDIT, "KR", "Korean Credit Unit"),
    UnitType("KOC", UnitKind.OFFSET_CREDIT, "KR", "Korean Offset Credit"),
    UnitType("CEA", UnitKind.ALLOWANCE, "CN", "Chinese Emission Allowance"),
)


def build_korean_ledger() -> Ledger:
    """Return a ledger for registry KR with unit types and two compliance accounts."""
    ledger = Ledger()
    ledger.create("KR", "Korea Emissions Trading Registry")
    for unit_type in KOREAN_UNIT_TYPES:
        ledger.register_unit_type(unit_type)
    ledger.open_account(AccountKind.COMPLIANCE, "POSCO", "posco")
    ledger.open_account(AccountKind.COMPLIANCE, "KEPCO", "kepco")
    ledger.open_account(AccountKind.TRADING, "Broker", "broker")
    return ledger


@pytest.fixture
def korean_ledger() -> Ledger:
    return build_korean_ledger()


@pytest.fixture
def signing_key() -> SigningKey:
    return SigningKey.generate()


@pytest.fixture
def issuance_account() -> Callable[[Ledger], str]:
    return lambda ledger: ledger.singleton(AccountKind.ISSUANCE).account_id


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Return the URL of a real, empty store: a SQLite file, then a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'registry.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url
