"""A snapshot commits whole or not at all, on SQLite and PostgreSQL.

The snapshot row and the refreshed `holdings` table are one transaction:
a write that fails half-way (here the holdings insert, failed on purpose)
leaves the previous snapshot, the previous holdings and the journal exactly
as they were, and the registry can snapshot again once the store is well.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, event, select

from registry import AccountKind, Registry, SigningKey
from registry.store import holdings_table, journal_table, snapshots_table
from tests.registry.conftest import KOREAN_UNIT_TYPES


class InjectedFailure(Exception):
    """The store failed while the snapshot was being written."""


def _fail_on_holdings_insert(_connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
    if statement.lstrip().upper().startswith("INSERT INTO HOLDINGS"):
        raise InjectedFailure("the holdings insert failed")


def _stored(engine: Engine) -> tuple[list[Any], list[Any], list[Any]]:
    with engine.connect() as connection:
        return (
            list(connection.execute(select(journal_table).order_by(journal_table.c.seq))),
            list(connection.execute(select(snapshots_table).order_by(snapshots_table.c.seq))),
            list(
                connection.execute(
                    select(holdings_table).order_by(
                        holdings_table.c.account_id, holdings_table.c.serial_start
                    )
                )
            ),
        )


def test_a_snapshot_that_fails_mid_write_leaves_the_store_as_it_was(
    store_url: str, signing_key: SigningKey
) -> None:
    registry = Registry.create(store_url, "KR", "Korea", signing_key, unit_types=KOREAN_UNIT_TYPES)
    registry.open_account(AccountKind.COMPLIANCE, "POSCO", "posco")
    registry.open_account(AccountKind.TRADING, "Broker", "broker")
    registry.issue("KAU", 2015, 1_000)
    registry.allocate("issuance", "posco", "KAU", 600)
    first = registry.snapshot()
    registry.transfer("posco", "broker", "KAU", 250, durable=True)
    engine = registry.journal.engine
    before = _stored(engine)
    assert len(before[1]) == 1 and {row.snapshot_seq for row in before[2]} == {first}

    event.listen(engine, "before_cursor_execute", _fail_on_holdings_insert)
    try:
        with pytest.raises(InjectedFailure):
            registry.snapshot()
    finally:
        event.remove(engine, "before_cursor_execute", _fail_on_holdings_insert)

    assert _stored(engine) == before
    assert registry.snapshot_seq == first
    second = registry.snapshot()
    assert second == registry.journal.committed_seq > first
    journal, snapshots, holdings = _stored(engine)
    assert journal == before[0]
    assert [row.seq for row in snapshots] == [first, second]
    assert {row.snapshot_seq for row in holdings} == {second}
    registry.close()
    reopened = Registry.open(store_url, "KR", signing_key)
    assert reopened.account("broker").holding.balance() == 250
    reopened.close()
