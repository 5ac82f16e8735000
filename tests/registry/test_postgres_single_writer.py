"""Single writer, enforced: a second writer's commit fails cleanly and loses nobody's events.

DESIGN.md: "the journal's sequence number is unique, so a second writer's
append fails cleanly (optimistic concurrency); a test proves it with two
processes on PostgreSQL." The process tests run `writer_process.py` twice
against one database; the in-process tests repeat the scenario with two
`Registry` instances on PostgreSQL and on a SQLite file.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from registry import (
    AccountKind,
    ConcurrentWriterError,
    GroupCommit,
    Registry,
    SigningKey,
    SimulatedClock,
    make_engine,
    verify_journal,
)
from tests.registry.writer_process import (
    CLOCK_START,
    CODE,
    DELAY_MS_NEVER,
    Child,
    found_registry,
)

ACCOUNTS = 12  # each contending writer opens and funds this many accounts: 2 events each


@pytest.fixture
def engine(store_url: str) -> Iterator[Engine]:
    made = make_engine(store_url)
    yield made
    made.dispose()


def _seqs(engine: Engine) -> list[int]:
    with engine.connect() as connection:
        return list(
            connection.execute(
                text("SELECT seq FROM journal WHERE stream = :stream ORDER BY seq"),
                {"stream": CODE},
            ).scalars()
        )


def _open(engine: Engine, key: SigningKey, group_commit: GroupCommit | None = None) -> Registry:
    """Open KR for writing; its clock starts where the founding left simulated time."""
    return Registry.open(engine, CODE, key, SimulatedClock(CLOCK_START), group_commit)


def _labels(registry: Registry) -> set[str]:
    return {record.label for record in registry.accounts() if record.kind is AccountKind.TRADING}


def _assert_store_is_exactly(engine: Engine, key: SigningKey, seq: int, head_hash: str) -> Registry:
    """Check the store ends at (seq, head_hash) with consecutive seqs; return it reopened."""
    assert _seqs(engine) == list(range(1, seq + 1))
    assert verify_journal(engine, CODE, key.verify_key) == (seq, head_hash)
    reopened = _open(engine, key)
    reopened.check_conservation()
    return reopened


def _assert_clear_conflict(error: ConcurrentWriterError | str) -> None:
    message = str(error)
    assert f"journal {CODE!r}" in message
    assert "another writer" in message
    assert "not committed" in message


# ---------------------------------------------------------------- two processes


@pytest.fixture
def founded(postgres_url: str, tmp_path: Path) -> Iterator[tuple[str, SigningKey, Path, int]]:
    """Found KR on a fresh PostgreSQL database; yield its URL, key, key file and head seq."""
    key = SigningKey.generate()
    key_path = tmp_path / "kr.key.pem"
    key.save(key_path)
    registry = found_registry(postgres_url, key)
    seq = registry.journal.committed_seq
    registry.journal.engine.dispose()
    yield postgres_url, key, key_path, seq


def _contender(url: str, key_path: Path, tag: str, events_max: int = 1_000) -> Child:
    return Child(
        "contend",
        "--url",
        url,
        "--key",
        str(key_path),
        "--tag",
        tag,
        "--accounts",
        str(ACCOUNTS),
        "--events-max",
        str(events_max),
    )


@pytest.mark.postgres
@pytest.mark.slow
def test_second_process_commit_fails_after_the_first_process_commits_and_no_event_is_lost(
    founded: tuple[str, SigningKey, Path, int],
) -> None:
    url, key, key_path, founded_seq = founded
    first, second = _contender(url, key_path, "A"), _contender(url, key_path, "B")
    try:
        assert first.expect("OPENED") == [str(founded_seq)]
        assert second.expect("OPENED") == [str(founded_seq)]

        first.send("GO")
        seq, head_hash, digest = first.expect("COMMITTED")
        assert first.wait() == 0
        second.send("GO")
        conflict = " ".join(second.expect("CONFLICT"))
        assert second.wait() == 3
    finally:
        first.close()
        second.close()

    _assert_clear_conflict(conflict)
    assert int(seq) == founded_seq + 2 * ACCOUNTS
    engine = make_engine(url)
    try:
        reopened = _assert_store_is_exactly(engine, key, int(seq), head_hash)
        assert reopened.ledger.state_digest() == digest
        assert _labels(reopened) == {"broker"} | {f"A{number}" for number in range(ACCOUNTS)}
        # The loser reopens at the winner's head and writes on from there.
        loser = _open(engine, key)
        loser.transfer("posco", "A0", "KAU", 5, durable=True)
        assert _seqs(engine)[-1] == int(seq) + 1
    finally:
        engine.dispose()


@pytest.mark.postgres
@pytest.mark.slow
def test_two_processes_released_together_leave_exactly_one_writers_events(
    founded: tuple[str, SigningKey, Path, int],
) -> None:
    url, key, key_path, founded_seq = founded
    # Small batches: the winner commits several times while the loser tries its first.
    writers = {tag: _contender(url, key_path, tag, events_max=3) for tag in ("A", "B")}
    outcomes: dict[str, list[str]] = {}
    try:
        for writer in writers.values():
            assert writer.expect("OPENED") == [str(founded_seq)]
        for writer in writers.values():
            writer.send("GO")
        for tag, writer in writers.items():
            line = writer.lines.get(timeout=60)
            assert line is not None, writer.stderr()
            outcomes[tag] = line.split(" ")
            assert writer.wait() == (0 if outcomes[tag][0] == "COMMITTED" else 3)
    finally:
        for writer in writers.values():
            writer.close()

    assert sorted(words[0] for words in outcomes.values()) == ["COMMITTED", "CONFLICT"]
    winner = next(tag for tag, words in outcomes.items() if words[0] == "COMMITTED")
    loser = next(tag for tag in outcomes if tag != winner)
    _assert_clear_conflict(" ".join(outcomes[loser][1:]))
    seq, head_hash, digest = outcomes[winner][1:]
    assert int(seq) == founded_seq + 2 * ACCOUNTS
    engine = make_engine(url)
    try:
        reopened = _assert_store_is_exactly(engine, key, int(seq), head_hash)
        assert reopened.ledger.state_digest() == digest
        assert _labels(reopened) == {"broker"} | {f"{winner}{number}" for number in range(ACCOUNTS)}
    finally:
        engine.dispose()


# ---------------------------------------------------------------- two instances, one process


def test_second_instance_commit_fails_and_the_first_instances_events_survive(
    engine: Engine, store_url: str, signing_key: SigningKey
) -> None:
    found_registry(engine, signing_key)
    # Separate engines: each writer has its own connections, as separate processes would.
    first_engine, second_engine = make_engine(store_url), make_engine(store_url)
    try:
        first = _open(first_engine, signing_key)
        second = _open(second_engine, signing_key)
        first.open_account(AccountKind.TRADING, "Trader A", "alpha")
        first.transfer("posco", "alpha", "KAU", 700, durable=True)
        second.open_account(AccountKind.TRADING, "Trader B", "beta")
        second.transfer("kepco", "beta", "KAU", 900)

        with pytest.raises(ConcurrentWriterError) as conflict:
            second.flush()

        _assert_clear_conflict(conflict.value)
        reopened = _assert_store_is_exactly(
            engine, signing_key, first.journal.committed_seq, first.journal.committed_hash
        )
        assert reopened.ledger.state_digest() == first.ledger.state_digest()
        assert _labels(reopened) == {"broker", "alpha"}
        # The first writer is unaffected and keeps writing.
        first.surrender("posco", "KAU", 100, 2026, durable=True)
        assert _seqs(engine)[-1] == reopened.journal.committed_seq + 1
    finally:
        first_engine.dispose()
        second_engine.dispose()


def test_writer_that_lost_refuses_every_further_command_and_stores_nothing(
    engine: Engine, store_url: str, signing_key: SigningKey
) -> None:
    found_registry(engine, signing_key)
    loser_engine = make_engine(store_url)
    try:
        winner = _open(engine, signing_key)
        loser = _open(loser_engine, signing_key)
        winner.transfer("posco", "kepco", "KAU", 1, durable=True)
        with pytest.raises(ConcurrentWriterError):
            loser.transfer("posco", "broker", "KAU", 2, durable=True)
        seqs = _seqs(engine)
        loser_state = loser.ledger.state_digest()

        with pytest.raises(ConcurrentWriterError, match="reopen"):
            loser.transfer("kepco", "broker", "KAU", 3, durable=True)
        with pytest.raises(ConcurrentWriterError, match="reopen"):
            loser.transfer("kepco", "broker", "KAU", 3)
        assert loser.ledger.state_digest() == loser_state  # refused before the ledger moved
        with pytest.raises(ConcurrentWriterError):
            loser.flush()
        with pytest.raises(ConcurrentWriterError):
            loser.snapshot()
        loser.close()  # closing a failed writer stores nothing and raises nothing

        assert _seqs(engine) == seqs
        with engine.connect() as connection:
            assert connection.execute(text("SELECT COUNT(*) FROM snapshots")).scalar_one() == 0
        assert verify_journal(engine, CODE, signing_key.verify_key) == (
            winner.journal.committed_seq,
            winner.journal.committed_hash,
        )
    finally:
        loser_engine.dispose()


def test_stale_writer_fails_when_its_batch_fills_and_commits_by_size(
    engine: Engine, store_url: str, signing_key: SigningKey
) -> None:
    found_registry(engine, signing_key)
    stale_engine = make_engine(store_url)
    try:
        stale = _open(stale_engine, signing_key, GroupCommit(3, DELAY_MS_NEVER))
        current = _open(engine, signing_key)
        current.transfer("kepco", "posco", "KAU", 50, durable=True)
        stale.transfer("posco", "kepco", "KAU", 1)
        stale.transfer("posco", "kepco", "KAU", 2)

        with pytest.raises(ConcurrentWriterError) as conflict:
            stale.transfer("posco", "kepco", "KAU", 3)

        _assert_clear_conflict(conflict.value)
        _assert_store_is_exactly(
            engine, signing_key, current.journal.committed_seq, current.journal.committed_hash
        )
    finally:
        stale_engine.dispose()


def test_writer_whose_next_seq_is_taken_fails_without_moving_the_head(
    engine: Engine, signing_key: SigningKey
) -> None:
    registry = found_registry(engine, signing_key)
    head = (registry.journal.committed_seq, registry.journal.committed_hash)
    # A rogue writer stored entry seq+1 without moving the signed head.
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO journal (stream, seq, sim_time, kind, body, prev_hash, hash) "
                "VALUES (:stream, :seq, '2026-01-01T00:00:00Z', 'registry_suspended', "
                '\'{"reason":"rogue"}\', :prev, :hash)'
            ),
            {"stream": CODE, "seq": head[0] + 1, "prev": head[1], "hash": "e" * 64},
        )

    registry.transfer("posco", "kepco", "KAU", 10)
    with pytest.raises(ConcurrentWriterError, match=f"seq {head[0] + 1} was already taken"):
        registry.flush()

    with engine.connect() as connection:
        stored_head = connection.execute(
            text("SELECT seq, hash FROM journal_heads WHERE stream = :stream"), {"stream": CODE}
        ).one()
        body = connection.execute(
            text("SELECT body FROM journal WHERE stream = :stream AND seq = :seq"),
            {"stream": CODE, "seq": head[0] + 1},
        ).scalar_one()
    assert tuple(stored_head) == head
    assert body == '{"reason":"rogue"}'


def test_stale_writer_with_nothing_buffered_cannot_snapshot_or_roll_back_the_holdings_table(
    engine: Engine, store_url: str, signing_key: SigningKey
) -> None:
    found_registry(engine, signing_key)
    stale_engine = make_engine(store_url)
    try:
        current = _open(engine, signing_key)
        stale = _open(stale_engine, signing_key)
        current.transfer("posco", "kepco", "KAU", 1_000, durable=True)
        current_snapshot = current.snapshot()

        with pytest.raises(ConcurrentWriterError, match=r"snapshot at seq \d+ was not stored"):
            stale.snapshot()

        with engine.connect() as connection:
            snapshots = list(connection.execute(text("SELECT seq FROM snapshots")).scalars())
            holdings_seqs = set(
                connection.execute(text("SELECT DISTINCT snapshot_seq FROM holdings")).scalars()
            )
        assert snapshots == [current_snapshot]
        assert holdings_seqs == {current_snapshot}
    finally:
        stale_engine.dispose()
