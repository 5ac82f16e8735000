"""The journal on real stores: hash chain, signed head, group commit, snapshots, replay.

Every test runs on a SQLite file and on a fresh PostgreSQL database
(`store_url`). Hashes and signatures are recomputed here from their
definitions (DESIGN.md: SHA-256 chain, Ed25519 over canonical JSON), not
through the code under test, so a test fails if the code drifts from them.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import event as hypothesis_event
from hypothesis import strategies as st
from sqlalchemy import Engine, text

import registry.journal as journal_module
from registry import (
    AccountKind,
    GroupCommit,
    JournalIntegrityError,
    Ledger,
    LockPurpose,
    Registry,
    RegistryError,
    SigningKey,
    SimulatedClock,
    StoreError,
    load_ledger,
    make_engine,
    verify_journal,
)
from registry.clock import format_time, parse_time
from tests.registry.writer_process import (
    CODE,
    DELAY_MS_NEVER,
    found_registry,
)

GENESIS_HASH = "0" * 64
FROM = ["from-genesis", "from-snapshot"]


# ---------------------------------------------------------------- helpers


@pytest.fixture
def engine(store_url: str) -> Iterator[Engine]:
    made = make_engine(store_url)
    yield made
    made.dispose()


@dataclass(frozen=True)
class Row:
    seq: int
    sim_time: str
    kind: str
    body: str
    prev_hash: str
    hash: str


def _rows(engine: Engine, stream: str = CODE) -> list[Row]:
    with engine.connect() as connection:
        result = connection.execute(
            text(
                "SELECT seq, sim_time, kind, body, prev_hash, hash FROM journal "
                "WHERE stream = :stream ORDER BY seq"
            ),
            {"stream": stream},
        )
        return [Row(*row) for row in result]


def _head(engine: Engine, stream: str = CODE) -> Any:
    with engine.connect() as connection:
        return connection.execute(
            text(
                "SELECT seq, hash, signature, key_fingerprint, public_key FROM journal_heads "
                "WHERE stream = :stream"
            ),
            {"stream": stream},
        ).one()


def _execute(engine: Engine, sql: str, **params: Any) -> None:
    with engine.begin() as connection:
        connection.execute(text(sql), params)


def _chain_hash(prev_hash: str, seq: int, sim_time: str, kind: str, body: str) -> str:
    return hashlib.sha256(f"{prev_hash}|{seq}|{sim_time}|{kind}|{body}".encode()).hexdigest()


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _head_message(stream: str, seq: int, head_hash: str) -> bytes:
    return _canonical({"hash": head_hash, "seq": seq, "stream": stream}).encode("utf-8")


def _stored_seq(engine: Engine) -> int:
    with engine.connect() as connection:
        stored: int = connection.execute(
            text("SELECT COALESCE(MAX(seq), 0) FROM journal WHERE stream = :stream"),
            {"stream": CODE},
        ).scalar_one()
    return stored


def _open(engine: Engine, key: SigningKey) -> Registry:
    """Open KR for writing with a clock that starts at its last entry's time."""
    clock = SimulatedClock(parse_time(_rows(engine)[-1].sim_time))
    return Registry.open(engine, CODE, key, clock)


def _busy_registry(engine: Engine, key: SigningKey, **options: Any) -> Registry:
    """Found KR and run a mix of commands over simulated days; everything committed."""
    registry = found_registry(engine, key, **options)
    registry.clock.advance(timedelta(days=1))
    registry.transfer("posco", "kepco", "KAU", 1_200)
    registry.transfer("broker", "posco", "KAU", 700)
    registry.clock.advance(timedelta(days=1))
    registry.lock("TX-1", "kepco", "KAU", 900, LockPurpose.EXTERNAL_TRANSFER)
    registry.surrender("posco", "KAU", 5_000, 2026)
    registry.clock.advance(timedelta(days=1))
    registry.unlock("TX-1")
    registry.lock("TX-2", "broker", "KAU", 300, LockPurpose.EXCHANGE_CUSTODY)
    registry.flush()
    return registry


# ---------------------------------------------------------------- the chain


def test_every_accepted_command_appends_one_chained_entry_with_its_sim_time_and_canonical_body(
    engine: Engine, signing_key: SigningKey
) -> None:
    registry = found_registry(engine, signing_key)
    before = len(_rows(engine))
    events, times = [], []
    for step in range(4):
        registry.clock.advance(timedelta(hours=7 * step + 1))
        times.append(format_time(registry.clock.now()))
        if step == 0:
            events.append(registry.transfer("posco", "kepco", "KAU", 1_500))
        elif step == 1:
            events.append(registry.surrender("kepco", "KAU", 2_000, 2026))
        elif step == 2:
            purpose = LockPurpose.EXTERNAL_TRANSFER
            events.append(registry.lock("TX-9", "broker", "KAU", 250, purpose))
        else:
            events.append(registry.unlock("TX-9"))
    registry.flush()

    rows = _rows(engine)
    assert [row.seq for row in rows] == list(range(1, len(rows) + 1))
    assert len(rows) == before + len(events)
    for row, event, sim_time in zip(rows[before:], events, times, strict=True):
        assert row.kind == event.kind
        assert row.sim_time == sim_time
        assert row.body == _canonical(event.to_data())
    assert rows[0].prev_hash == GENESIS_HASH
    for previous, row in itertools.pairwise(rows):
        assert row.prev_hash == previous.hash
    for row in rows:
        assert row.hash == _chain_hash(row.prev_hash, row.seq, row.sim_time, row.kind, row.body)
    head = _head(engine)
    assert (head.seq, head.hash) == (rows[-1].seq, rows[-1].hash)


def test_journal_body_is_the_canonical_json_of_the_event_for_awkward_text_and_provenance(
    engine: Engine, signing_key: SigningKey
) -> None:
    # Quotes, backslashes, control characters and non-ASCII text in references,
    # and offset-credit provenance in blocks: the stored body must still be
    # exactly the canonical JSON of the event's data.
    registry = found_registry(engine, signing_key)
    issuance = registry.ledger.singleton(AccountKind.ISSUANCE).account_id
    lock_id = 'TX "7" \\ Ω\tété 🌏'
    events = [
        registry.issue("KOC", 2024, 900, project_id='KOC-"PRJ"-é', article6_authorized=True),
        registry.allocate(issuance, "broker", "KOC", 1_000),  # 2024 first: both blocks
        registry.lock(lock_id, "broker", "KOC", 950, LockPurpose.EXCHANGE_CUSTODY),
        registry.unlock(lock_id),
        # A holder is visible text (registry/labels.py); the lock id carries the tab.
        registry.open_account(AccountKind.TRADING, 'Trader "Ünal" \\ é', "unal"),
        registry.transfer("broker", "posco", "KOC", 400),
        registry.surrender("posco", "KOC", 400, 2026),
    ]
    registry.flush()

    rows = _rows(engine)[-len(events) :]
    for row, event in zip(rows, events, strict=True):
        assert row.body == _canonical(event.to_data())
        assert json.loads(row.body) == event.to_data()
    assert verify_journal(engine, CODE, signing_key.verify_key)[0] == rows[-1].seq
    assert Registry.open(engine, CODE, signing_key).ledger.state_digest() == (
        registry.ledger.state_digest()
    )


def test_refused_command_appends_nothing_and_changes_nothing(
    engine: Engine, signing_key: SigningKey
) -> None:
    registry = found_registry(engine, signing_key)
    seq, digest = registry.journal.seq, registry.ledger.state_digest()

    with pytest.raises(RegistryError):
        registry.transfer("posco", "kepco", "KAU", 10**9, durable=True)
    with pytest.raises(RegistryError):
        registry.open_account(AccountKind.TRADING, "Trader \ud800", "surrogate", durable=True)

    assert (registry.journal.seq, registry.journal.pending) == (seq, 0)
    assert registry.ledger.state_digest() == digest
    registry.flush()
    assert _stored_seq(engine) == seq
    assert load_ledger(engine, CODE, signing_key.verify_key)[0].state_digest() == digest


def test_head_is_signed_by_the_registry_key_at_every_commit(
    engine: Engine, signing_key: SigningKey
) -> None:
    registry = found_registry(engine, signing_key)
    heads = []
    for quantity in (10, 20, 30):
        registry.transfer("posco", "kepco", "KAU", quantity, durable=True)
        head = _head(engine)
        heads.append(head.seq)
        journal = registry.journal
        assert (head.seq, head.hash) == (journal.committed_seq, journal.committed_hash)
        assert signing_key.verify_key.verify(
            bytes.fromhex(head.signature), _head_message(CODE, head.seq, head.hash)
        )
        assert head.key_fingerprint == signing_key.fingerprint
        assert head.public_key.encode() == signing_key.verify_key.to_pem()
    assert heads == [heads[0], heads[0] + 1, heads[0] + 2]


def test_founding_a_registry_twice_in_one_store_is_refused(
    engine: Engine, signing_key: SigningKey
) -> None:
    found_registry(engine, signing_key)
    rows = _rows(engine)

    with pytest.raises(StoreError, match="already exists"):
        Registry.create(engine, CODE, "Another Korea", SigningKey.generate())

    assert _rows(engine) == rows
    assert _head(engine).key_fingerprint == signing_key.fingerprint


def test_reopened_registry_continues_the_chain_and_replays_to_the_same_state(
    engine: Engine, signing_key: SigningKey
) -> None:
    first = _busy_registry(engine, signing_key)
    digest, head = first.ledger.state_digest(), first.journal.committed_hash

    second = _open(engine, signing_key)
    assert second.ledger.state_digest() == digest
    assert second.journal.committed_hash == head
    second.transfer("kepco", "broker", "KAU", 400, durable=True)

    rows = _rows(engine)
    assert rows[-1].prev_hash == head
    assert verify_journal(engine, CODE, signing_key.verify_key) == (rows[-1].seq, rows[-1].hash)
    assert load_ledger(engine, CODE, signing_key.verify_key)[0].state_digest() == (
        second.ledger.state_digest()
    )


# ---------------------------------------------------------------- tampering


# Each tampering returns a pattern the integrity error must match: an operator
# needs to know which entry, or that the signed head, failed.


def _update_body(engine: Engine, seq: int, body: str) -> None:
    _execute(
        engine,
        "UPDATE journal SET body = :body WHERE stream = 'KR' AND seq = :seq",
        body=body,
        seq=seq,
    )


def _swap_bodies_of_two_entries(engine: Engine, key: SigningKey) -> str:
    first, second = [row for row in _rows(engine) if row.kind == "units_moved"][:2]
    _update_body(engine, first.seq, second.body)
    _update_body(engine, second.seq, first.body)
    return rf"seq {first.seq}\b.*altered"


def _edit_a_body(engine: Engine, key: SigningKey) -> str:
    row = next(row for row in _rows(engine) if row.kind == "units_moved")
    data = json.loads(row.body)
    data["blocks"][0]["end"] -= 1
    _update_body(engine, row.seq, _canonical(data))
    return rf"seq {row.seq}\b.*altered"


def _edit_a_body_and_its_hash(engine: Engine, key: SigningKey) -> str:
    row = next(row for row in _rows(engine) if '"transfer"' in row.body)
    body = row.body.replace('"transfer"', '"allocate"')
    _execute(
        engine,
        "UPDATE journal SET body = :body, hash = :hash WHERE stream = 'KR' AND seq = :seq",
        body=body,
        hash=_chain_hash(row.prev_hash, row.seq, row.sim_time, row.kind, body),
        seq=row.seq,
    )
    return rf"seq {row.seq + 1}\b.*does not link"


def _rewrite_the_chain(engine: Engine, key: SigningKey | None) -> None:
    """Edit one body, re-hash every later entry and the head; re-sign with `key` if given."""
    rows = _rows(engine)
    target = next(row.seq for row in rows if '"transfer"' in row.body)
    prev_hash = GENESIS_HASH
    for row in rows:
        body = row.body.replace('"transfer"', '"cancel"') if row.seq == target else row.body
        digest = _chain_hash(prev_hash, row.seq, row.sim_time, row.kind, body)
        _execute(
            engine,
            "UPDATE journal SET body = :body, prev_hash = :prev, hash = :hash "
            "WHERE stream = 'KR' AND seq = :seq",
            body=body,
            prev=prev_hash,
            hash=digest,
            seq=row.seq,
        )
        prev_hash = digest
    _execute(engine, "UPDATE journal_heads SET hash = :hash WHERE stream = 'KR'", hash=prev_hash)
    if key is not None:
        signature = key.sign(_head_message(CODE, rows[-1].seq, prev_hash)).hex()
        _execute(
            engine,
            "UPDATE journal_heads SET signature = :signature, key_fingerprint = :fp, "
            "public_key = :pem WHERE stream = 'KR'",
            signature=signature,
            fp=key.fingerprint,
            pem=key.verify_key.to_pem().decode(),
        )


def _rewrite_the_chain_unsigned(engine: Engine, key: SigningKey) -> str:
    _rewrite_the_chain(engine, None)
    return "head signature does not verify"


def _rewrite_the_chain_and_sign_with_another_key(engine: Engine, key: SigningKey) -> str:
    _rewrite_the_chain(engine, SigningKey.generate())
    return f"but the key given is {key.fingerprint}"


def _sign_with_another_key_keeping_the_fingerprint(engine: Engine, key: SigningKey) -> str:
    head = _head(engine)
    signature = SigningKey.generate().sign(_head_message(CODE, head.seq, head.hash)).hex()
    _execute(
        engine,
        "UPDATE journal_heads SET signature = :signature WHERE stream = 'KR'",
        signature=signature,
    )
    return "head signature does not verify"


def _edit_a_sim_time(engine: Engine, key: SigningKey) -> str:
    row = _rows(engine)[-3]
    _execute(
        engine,
        "UPDATE journal SET sim_time = :time WHERE stream = 'KR' AND seq = :seq",
        time="2019-01-01T00:00:00Z",
        seq=row.seq,
    )
    return rf"seq {row.seq}\b.*altered"


def _delete_a_middle_row(engine: Engine, key: SigningKey) -> str:
    seq = len(_rows(engine)) // 2
    _execute(engine, "DELETE FROM journal WHERE stream = 'KR' AND seq = :seq", seq=seq)
    return rf"expected seq {seq}, found {seq + 1}\b"


def _delete_the_last_row(engine: Engine, key: SigningKey) -> str:
    seq = _rows(engine)[-1].seq
    _execute(engine, "DELETE FROM journal WHERE stream = 'KR' AND seq = :seq", seq=seq)
    return rf"end at seq {seq - 1}\b.*head is seq {seq}\b"


def _roll_the_head_back_one_entry(engine: Engine, key: SigningKey) -> str:
    rows = _rows(engine)
    _execute(engine, "DELETE FROM journal WHERE stream = 'KR' AND seq = :seq", seq=rows[-1].seq)
    _execute(
        engine,
        "UPDATE journal_heads SET seq = :seq, hash = :hash WHERE stream = 'KR'",
        seq=rows[-2].seq,
        hash=rows[-2].hash,
    )
    return "head signature does not verify"


def _edit_the_head_hash(engine: Engine, key: SigningKey) -> str:
    _execute(engine, "UPDATE journal_heads SET hash = :hash WHERE stream = 'KR'", hash="f" * 64)
    return "head signature does not verify"


TAMPERINGS: dict[str, Callable[[Engine, SigningKey], str]] = {
    "edit-body": _edit_a_body,
    "edit-body-and-its-hash": _edit_a_body_and_its_hash,
    "swap-two-bodies": _swap_bodies_of_two_entries,
    "edit-sim-time": _edit_a_sim_time,
    "rewrite-chain-unsigned": _rewrite_the_chain_unsigned,
    "rewrite-chain-signed-by-another-key": _rewrite_the_chain_and_sign_with_another_key,
    "head-signed-by-another-key": _sign_with_another_key_keeping_the_fingerprint,
    "delete-middle-row": _delete_a_middle_row,
    "delete-last-row": _delete_the_last_row,
    "roll-head-back": _roll_the_head_back_one_entry,
    "edit-head-hash": _edit_the_head_hash,
}


@pytest.mark.parametrize("tamper", TAMPERINGS.values(), ids=TAMPERINGS.keys())
def test_tampered_journal_is_detected_on_open_and_by_verify_journal(
    engine: Engine, signing_key: SigningKey, tamper: Callable[[Engine, SigningKey], str]
) -> None:
    _busy_registry(engine, signing_key)
    verify_journal(engine, CODE, signing_key.verify_key)  # intact before

    where = tamper(engine, signing_key)

    with pytest.raises(JournalIntegrityError, match=where):
        verify_journal(engine, CODE, signing_key.verify_key)
    with pytest.raises(JournalIntegrityError, match=where):
        Registry.open(engine, CODE, signing_key)
    with pytest.raises(JournalIntegrityError):
        Registry.open(engine, CODE, signing_key, verify_from_genesis=False)


def test_opening_with_another_key_is_refused_naming_both_fingerprints(
    engine: Engine, signing_key: SigningKey
) -> None:
    _busy_registry(engine, signing_key)
    other = SigningKey.generate()

    with pytest.raises(JournalIntegrityError) as refused:
        Registry.open(engine, CODE, other)
    with pytest.raises(JournalIntegrityError):
        verify_journal(engine, CODE, other.verify_key)

    assert signing_key.fingerprint in str(refused.value)
    assert other.fingerprint in str(refused.value)


# ---------------------------------------------------------------- group commit


class _StubMonotonic:
    """A stand-in for the `time` module the journal reads batch age from."""

    def __init__(self) -> None:
        self.now_s = 1_024.0  # binary fractions below keep the arithmetic exact

    def monotonic(self) -> float:
        return self.now_s


def test_group_commit_stores_nothing_until_the_batch_is_full(
    engine: Engine, signing_key: SigningKey
) -> None:
    registry = found_registry(engine, signing_key, GroupCommit(5, DELAY_MS_NEVER))
    stored = _stored_seq(engine)
    head = _head(engine)

    for quantity in range(1, 5):
        registry.transfer("posco", "kepco", "KAU", quantity)
        assert _stored_seq(engine) == stored
        assert _head(engine) == head
    assert registry.journal.pending == 4
    assert load_ledger(engine, CODE, signing_key.verify_key)[2] == stored

    registry.transfer("posco", "kepco", "KAU", 5)

    assert _stored_seq(engine) == stored + 5
    assert _head(engine).seq == stored + 5
    assert registry.journal.pending == 0
    assert load_ledger(engine, CODE, signing_key.verify_key)[0].state_digest() == (
        registry.ledger.state_digest()
    )


def test_a_journal_runs_its_before_commit_hook_first_and_only_for_a_real_batch(
    engine: Engine, signing_key: SigningKey
) -> None:
    """The hook lets another journal commit first (a registry's before its endpoint's)."""
    registry = found_registry(engine, signing_key, GroupCommit(2, DELAY_MS_NEVER))
    seen: list[int] = []
    registry.journal.before_commit = lambda: seen.append(_stored_seq(engine))
    registry.journal.flush()  # nothing buffered: no commit, no hook
    assert seen == []
    stored = _stored_seq(engine)
    registry.transfer("posco", "kepco", "KAU", 1)
    registry.transfer("posco", "kepco", "KAU", 2)  # the batch of two commits by itself
    assert seen == [stored]  # called before the batch was stored
    assert _stored_seq(engine) == stored + 2


def test_group_commit_commits_when_an_append_finds_the_batch_older_than_the_delay(
    engine: Engine, signing_key: SigningKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = found_registry(engine, signing_key, GroupCommit(1_000, 125))
    clock = _StubMonotonic()
    monkeypatch.setattr(journal_module, "time", clock)
    stored = _stored_seq(engine)

    registry.transfer("posco", "kepco", "KAU", 1)
    clock.now_s += 0.0625
    registry.transfer("posco", "kepco", "KAU", 2)
    clock.now_s += 0.0625 - 2**-20
    registry.transfer("posco", "kepco", "KAU", 3)
    assert _stored_seq(engine) == stored
    assert registry.journal.pending == 3

    clock.now_s += 2**-20  # the oldest buffered entry is now exactly 125 ms old
    registry.transfer("posco", "kepco", "KAU", 4)

    assert _stored_seq(engine) == stored + 4
    assert registry.journal.pending == 0
    # A new batch starts its own age: the next append alone does not commit.
    clock.now_s += 10.0
    registry.transfer("posco", "kepco", "KAU", 5)
    assert _stored_seq(engine) == stored + 4


def test_durable_command_commits_its_whole_batch_before_returning(
    engine: Engine, signing_key: SigningKey
) -> None:
    registry = found_registry(engine, signing_key, GroupCommit(1_000, DELAY_MS_NEVER))
    stored = _stored_seq(engine)
    registry.transfer("posco", "kepco", "KAU", 1)
    registry.transfer("posco", "broker", "KAU", 2)
    assert _stored_seq(engine) == stored

    event = registry.surrender("posco", "KAU", 3, 2026, durable=True)

    rows = _rows(engine)
    assert rows[-1].seq == stored + 3
    assert rows[-1].body == _canonical(event.to_data())
    assert _head(engine).seq == stored + 3


def test_flush_commits_everything_buffered_and_unflushed_work_is_not_in_the_store(
    engine: Engine, signing_key: SigningKey
) -> None:
    registry = found_registry(engine, signing_key, GroupCommit(1_000, DELAY_MS_NEVER))
    committed_digest = registry.ledger.state_digest()
    for quantity in range(1, 8):
        registry.transfer("kepco", "broker", "KAU", quantity)

    # A reader sees only the committed state while the batch is buffered.
    assert load_ledger(engine, CODE, signing_key.verify_key)[0].state_digest() == committed_digest

    registry.flush()

    assert registry.journal.pending == 0
    assert load_ledger(engine, CODE, signing_key.verify_key)[0].state_digest() == (
        registry.ledger.state_digest()
    )
    assert verify_journal(engine, CODE, signing_key.verify_key) == (
        registry.journal.committed_seq,
        registry.journal.committed_hash,
    )


def test_group_commit_limits_are_checked() -> None:
    with pytest.raises(ValueError, match="batch size"):
        GroupCommit(0, 10)
    with pytest.raises(ValueError, match="batch size"):
        GroupCommit(journal_module.BATCH_EVENTS_MAX + 1, 10)
    with pytest.raises(ValueError, match="delay"):
        GroupCommit(10, -1)


# ---------------------------------------------------------------- snapshots

HOLDINGS_SQL = (
    "SELECT account_id, unit_type, vintage, serial_start, serial_end, quantity, origin, "
    "project_id, article6_authorized, account_kind, holder, label, snapshot_seq "
    "FROM holdings WHERE registry = 'KR'"
)


def _expected_holdings(ledger: Ledger, seq: int) -> set[tuple[Any, ...]]:
    return {
        (
            record.account_id,
            block.unit_type,
            block.vintage,
            block.start,
            block.end,
            block.end - block.start + 1,
            block.origin,
            block.project_id,
            block.article6_authorized,
            record.kind.value,
            record.holder,
            record.label,
            seq,
        )
        for record in ledger.accounts()
        for block in record.holding.blocks()
    }


def _stored_holdings(engine: Engine) -> set[tuple[Any, ...]]:
    with engine.connect() as connection:
        rows = connection.execute(text(HOLDINGS_SQL)).all()
    holdings = {(*row[:8], bool(row[8]), *row[9:]) for row in rows}
    assert len(holdings) == len(rows)
    return holdings


def test_snapshot_is_signed_and_the_holdings_table_shows_what_the_ledger_holds(
    engine: Engine, signing_key: SigningKey
) -> None:
    registry = _busy_registry(engine, signing_key)
    registry.allocate(
        registry.ledger.singleton(AccountKind.ISSUANCE).account_id, "broker", "KOC", 1_000
    )

    seq = registry.snapshot()

    assert seq == registry.journal.committed_seq == _stored_seq(engine)
    with engine.connect() as connection:
        snapshot = connection.execute(
            text(
                "SELECT seq, hash, state, state_sha256, signature FROM snapshots "
                "WHERE stream = 'KR'"
            )
        ).one()
    assert (snapshot.seq, snapshot.hash) == (seq, registry.journal.committed_hash)
    assert snapshot.state_sha256 == hashlib.sha256(snapshot.state.encode()).hexdigest()
    assert snapshot.state == _canonical(registry.ledger.to_snapshot())
    assert signing_key.verify_key.verify(
        bytes.fromhex(snapshot.signature),
        _head_message(f"snapshot:{CODE}", seq, snapshot.state_sha256),
    )
    assert _stored_holdings(engine) == _expected_holdings(registry.ledger, seq)
    with engine.connect() as connection:
        by_account = dict(
            connection.execute(
                text(
                    "SELECT account_id, SUM(quantity) FROM holdings WHERE registry = 'KR' "
                    "GROUP BY account_id"
                )
            ).all()
        )
    assert {account: int(total) for account, total in by_account.items()} == {
        record.account_id: record.holding.balance()
        for record in registry.ledger.accounts()
        if record.holding
    }
    assert sum(int(total) for total in by_account.values()) == registry.ledger.issued()


def test_a_later_snapshot_replaces_the_holdings_table(
    engine: Engine, signing_key: SigningKey
) -> None:
    registry = _busy_registry(engine, signing_key)
    registry.snapshot()
    registry.transfer("posco", "kepco", "KAU", 12_345)
    registry.surrender("kepco", "KAU", 20_000, 2026)

    seq = registry.snapshot()

    assert _stored_holdings(engine) == _expected_holdings(registry.ledger, seq)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT COUNT(*) FROM snapshots")).scalar_one() == 2


def test_snapshot_twice_at_one_seq_stores_one_snapshot(
    engine: Engine, signing_key: SigningKey
) -> None:
    registry = _busy_registry(engine, signing_key)

    first = registry.snapshot()
    second = registry.snapshot()
    reopened = _open(engine, signing_key)

    assert first == second
    assert reopened.snapshot() == first
    with engine.connect() as connection:
        assert connection.execute(text("SELECT COUNT(*) FROM snapshots")).scalar_one() == 1


@pytest.mark.parametrize("verify_from_genesis", [True, False], ids=FROM)
def test_open_after_a_snapshot_replays_only_later_events_and_reaches_the_same_state(
    engine: Engine,
    signing_key: SigningKey,
    monkeypatch: pytest.MonkeyPatch,
    verify_from_genesis: bool,
) -> None:
    registry = _busy_registry(engine, signing_key)
    snapshot_seq = registry.snapshot()
    registry.transfer("posco", "broker", "KAU", 333)
    registry.lock("TX-3", "broker", "KAU", 100, LockPurpose.EXTERNAL_TRANSFER)
    registry.surrender("kepco", "KAU", 1_000, 2026, durable=True)
    applied: list[Any] = []
    original_apply = Ledger.apply
    monkeypatch.setattr(
        Ledger,
        "apply",
        lambda ledger, event: (applied.append(event), original_apply(ledger, event)),
    )

    reopened = Registry.open(engine, CODE, signing_key, verify_from_genesis=verify_from_genesis)

    assert reopened.snapshot_seq == snapshot_seq
    assert len(applied) == registry.journal.committed_seq - snapshot_seq == 3
    assert reopened.ledger.state_digest() == registry.ledger.state_digest()
    assert reopened.journal.committed_hash == registry.journal.committed_hash
    reopened.check_conservation()


def test_flush_takes_a_snapshot_every_n_events(engine: Engine, signing_key: SigningKey) -> None:
    registry = found_registry(engine, signing_key)
    registry.snapshot_every_events = 10
    for quantity in range(1, 26):
        registry.transfer("posco", "kepco", "KAU", quantity, durable=True)

    with engine.connect() as connection:
        seqs = list(connection.execute(text("SELECT seq FROM snapshots ORDER BY seq")).scalars())
    assert len(seqs) >= 2
    assert all(later - earlier >= 10 for earlier, later in itertools.pairwise(seqs))
    assert Registry.open(engine, CODE, signing_key).ledger.state_digest() == (
        registry.ledger.state_digest()
    )


def test_a_registry_that_only_group_commits_still_snapshots_on_its_cadence(
    engine: Engine, signing_key: SigningKey
) -> None:
    """A registry service accepts commands without `durable=True` and never calls
    `flush()`; it must still snapshot every N events, or a restart after a million
    events replays them all (issue 15's recovery target)."""
    registry = found_registry(engine, signing_key)
    registry.snapshot_every_events = 10
    start = registry.journal.seq
    for quantity in range(1, 26):
        registry.transfer("posco", "kepco", "KAU", quantity)

    assert registry.snapshot_seq >= start + 20
    assert registry.journal.seq - registry.snapshot_seq < 10
    reopened = Registry.open(engine, CODE, signing_key, verify_from_genesis=False)
    assert reopened.snapshot_seq == registry.snapshot_seq
    registry.flush()
    assert Registry.open(engine, CODE, signing_key).ledger.state_digest() == (
        registry.ledger.state_digest()
    )


def _edit_snapshot_state(engine: Engine, key: SigningKey) -> None:
    _execute(engine, "UPDATE snapshots SET state = REPLACE(state, 'POSCO', 'P0SCO')")


def _edit_snapshot_state_and_its_sha(engine: Engine, key: SigningKey) -> None:
    _rewrite_snapshot(engine, None)


def _resign_snapshot_with_another_key(engine: Engine, key: SigningKey) -> None:
    _rewrite_snapshot(engine, SigningKey.generate())


def _rewrite_snapshot(engine: Engine, key: SigningKey | None) -> None:
    """Move 1,000 t to broker in the stored state; re-hash it, and re-sign with `key` if given."""
    with engine.connect() as connection:
        row = connection.execute(text("SELECT seq, state FROM snapshots")).one()
    state = json.loads(row.state)
    broker = next(account for account in state["accounts"] if account["label"] == "broker")
    broker["blocks"][0]["end"] += 1_000
    text_state = _canonical(state)
    sha = hashlib.sha256(text_state.encode()).hexdigest()
    _execute(
        engine,
        "UPDATE snapshots SET state = :state, state_sha256 = :sha",
        state=text_state,
        sha=sha,
    )
    if key is not None:
        signature = key.sign(_head_message(f"snapshot:{CODE}", row.seq, sha)).hex()
        _execute(engine, "UPDATE snapshots SET signature = :signature", signature=signature)


def _edit_snapshot_chain_hash(engine: Engine, key: SigningKey) -> None:
    _execute(engine, "UPDATE snapshots SET hash = :hash", hash="a" * 64)


def _move_snapshot_to_a_later_seq(engine: Engine, key: SigningKey) -> None:
    _execute(engine, "UPDATE snapshots SET seq = seq + 2")


SNAPSHOT_TAMPERINGS: dict[str, Callable[[Engine, SigningKey], None]] = {
    "edit-state": _edit_snapshot_state,
    "edit-state-and-sha": _edit_snapshot_state_and_its_sha,
    "resign-with-another-key": _resign_snapshot_with_another_key,
    "edit-chain-hash": _edit_snapshot_chain_hash,
    "move-to-later-seq": _move_snapshot_to_a_later_seq,
}


@pytest.mark.parametrize("verify_from_genesis", [True, False], ids=FROM)
@pytest.mark.parametrize("tamper", SNAPSHOT_TAMPERINGS.values(), ids=SNAPSHOT_TAMPERINGS.keys())
def test_tampered_snapshot_is_detected_on_open(
    engine: Engine,
    signing_key: SigningKey,
    tamper: Callable[[Engine, SigningKey], None],
    verify_from_genesis: bool,
) -> None:
    registry = _busy_registry(engine, signing_key)
    registry.snapshot()
    registry.transfer("posco", "kepco", "KAU", 10)
    registry.transfer("kepco", "posco", "KAU", 20)
    registry.transfer("posco", "broker", "KAU", 30, durable=True)
    Registry.open(engine, CODE, signing_key, verify_from_genesis=verify_from_genesis)  # intact

    tamper(engine, signing_key)

    with pytest.raises(JournalIntegrityError):
        Registry.open(engine, CODE, signing_key, verify_from_genesis=verify_from_genesis)


# ---------------------------------------------------------------- replay equality

HOLDER_LABELS = ("posco", "kepco", "broker")
holder = st.sampled_from(HOLDER_LABELS)
quantity = st.integers(min_value=1, max_value=120_000)
business_command = st.one_of(
    st.tuples(st.just("issue"), st.sampled_from(["KAU", "KOC"]), st.integers(2024, 2027), quantity),
    st.tuples(st.just("allocate"), holder, st.sampled_from(["KAU", "KOC"]), quantity),
    st.tuples(st.just("transfer"), holder, holder, quantity),
    st.tuples(st.just("surrender"), holder, quantity),
    st.tuples(st.just("lock"), holder, quantity),
    st.tuples(st.just("unlock"), st.integers(0, 20)),
)
store_step = st.one_of(
    st.tuples(st.just("flush")),
    st.tuples(st.just("snapshot")),
    st.tuples(st.just("advance"), st.integers(1, 400)),
)
# Three business commands for every flush, snapshot or clock step, on average.
step = st.one_of(business_command, business_command, business_command, store_step)


def _run(registry: Registry, step: tuple[Any, ...], number: int) -> bool:
    """Run one generated step; return True if it was a command and was accepted."""
    issuance = registry.ledger.singleton(AccountKind.ISSUANCE).account_id
    name = step[0]
    try:
        if name == "issue":
            project = "KOC-PRJ-7" if step[1] == "KOC" else ""
            registry.issue(step[1], step[2], step[3], project_id=project)
        elif name == "allocate":
            registry.allocate(issuance, step[1], step[2], step[3])
        elif name == "transfer":
            registry.transfer(step[1], step[2], "KAU", step[3])
        elif name == "surrender":
            registry.surrender(step[1], "KAU", step[2], 2026)
        elif name == "lock":
            registry.lock(f"LK{number}", step[1], "KAU", step[2], LockPurpose.EXTERNAL_TRANSFER)
        elif name == "unlock":
            locks = registry.ledger.locks()
            if not locks:
                return False
            registry.unlock(locks[step[1] % len(locks)].lock_id)
        else:
            if name == "flush":
                registry.flush()
            elif name == "snapshot":
                registry.snapshot()
            else:
                registry.clock.advance(timedelta(hours=step[1]))
            return False
    except RegistryError:
        return False
    return True


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=st.lists(step, min_size=10, max_size=60), events_max=st.integers(1, 8))
def test_random_history_replays_to_the_same_state_and_chain_head(
    engine: Engine, steps: list[tuple[Any, ...]], events_max: int
) -> None:
    # One store per test, emptied for each example.
    for table in ("journal", "journal_heads", "snapshots", "holdings"):
        _execute(engine, f"DELETE FROM {table}")
    key = SigningKey.generate()
    registry = found_registry(engine, key, GroupCommit(events_max, DELAY_MS_NEVER))
    accepted_total = 0
    for number, step in enumerate(steps):
        seq = registry.journal.seq
        accepted = _run(registry, step, number)
        # Every accepted command appends exactly one entry; a refusal appends none.
        assert registry.journal.seq == seq + accepted
        accepted_total += accepted
    hypothesis_event(f"accepted commands: {min(accepted_total // 10 * 10, 30)}+")
    hypothesis_event(f"locks left: {'some' if registry.ledger.locks() else 'none'}")
    hypothesis_event(f"snapshots: {'some' if registry.snapshot_seq else 'none'}")
    registry.flush()
    registry.check_conservation()

    for verify_from_genesis in (True, False):
        reopened = Registry.open(engine, CODE, key, verify_from_genesis=verify_from_genesis)
        assert reopened.ledger.state_digest() == registry.ledger.state_digest()
        assert (reopened.journal.committed_seq, reopened.journal.committed_hash) == (
            registry.journal.committed_seq,
            registry.journal.committed_hash,
        )
        reopened.check_conservation()
    assert verify_journal(engine, CODE, key.verify_key) == (
        registry.journal.committed_seq,
        registry.journal.committed_hash,
    )
