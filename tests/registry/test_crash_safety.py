"""Crash safety: a writer killed with SIGKILL loses nothing it acknowledged.

DESIGN.md: "durability comes from an append-only log, and a crash loses
nothing that was acknowledged." A real process (`writer_process.py crash`)
writes seeded batches, prints each durably flushed seq, and is killed
mid-run. The store must then hold exactly a prefix of that writer's history
ending at its last committed event: the same events, hashes and state that
replaying the seed against an in-memory registry gives at that seq.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from registry import (
    Ledger,
    Registry,
    SigningKey,
    SimulatedClock,
    make_engine,
    verify_journal,
)
from registry.clock import parse_time
from tests.registry.writer_process import (
    CODE,
    Child,
    found_registry,
    workload,
)

SEED = 20_260_101
BATCH_COMMANDS = 20
BATCHES_MAX = 100_000


@pytest.fixture
def engine(store_url: str) -> Iterator[Engine]:
    made = make_engine(store_url)
    yield made
    made.dispose()


def _holdings(ledger: Ledger, seq: int) -> set[tuple[Any, ...]]:
    return {
        (record.account_id, block.unit_type, block.vintage, block.start, block.end, seq)
        for record in ledger.accounts()
        for block in record.holding.blocks()
    }


def _reference_through(seq: int, snapshot_seq: int | None) -> tuple[Registry, set[tuple[Any, ...]]]:
    """Replay the writer's seeded history in memory up to `seq`.

    Return that registry and the holdings it had at `snapshot_seq`.
    """
    reference = found_registry("sqlite://", SigningKey.generate())
    holdings_at_snapshot: set[tuple[Any, ...]] = set()
    steps = workload(reference, SEED, BATCHES_MAX, BATCH_COMMANDS)
    while True:
        if reference.journal.seq == snapshot_seq:
            holdings_at_snapshot = _holdings(reference.ledger, snapshot_seq)
        if reference.journal.seq >= seq:
            break
        next(steps)
    assert reference.journal.seq == seq, "each command appends at most one event"
    return reference, holdings_at_snapshot


@dataclass(frozen=True)
class KillPoint:
    """Where the writer is killed: after some acks, running freely or stalled mid-batch."""

    acks_before_kill: int
    run_on_s: float = 0.0  # let it run this long past the last ack read (not an assertion)
    stall_after_commands: int | None = None


KILL_POINTS = {
    "in-first-batch": KillPoint(0),
    "running-after-8-batches": KillPoint(8, run_on_s=0.05),
    # 13 commands into batch 9: some entries group-committed but never acknowledged,
    # later ones only buffered.
    "stalled-mid-batch": KillPoint(8, stall_after_commands=8 * BATCH_COMMANDS + 13),
}


@dataclass(frozen=True)
class Crash:
    last_ack: int
    stalled: tuple[int, int] | None  # (committed seq, appended seq) when stalled


def _run_and_kill(url: str, key_path: Path, founded_seq: int, point: KillPoint) -> Crash:
    """Run the crash writer and SIGKILL it at `point`."""
    stall = (
        []
        if point.stall_after_commands is None
        else ["--stall-after", str(point.stall_after_commands)]
    )
    writer = Child(
        "crash",
        "--url",
        url,
        "--key",
        str(key_path),
        "--seed",
        str(SEED),
        "--batch-commands",
        str(BATCH_COMMANDS),
        "--batches-max",
        str(BATCHES_MAX),
        *stall,
    )
    stalled = None
    try:
        assert writer.expect("OPENED") == [str(founded_seq)]
        acks = [founded_seq]
        for _ in range(point.acks_before_kill):
            acks.append(int(writer.expect("ACK")[0]))
        if point.stall_after_commands is not None:
            committed, appended = writer.expect("STALLED")
            stalled = (int(committed), int(appended))
        time.sleep(point.run_on_s)
        assert writer.process.poll() is None, "the writer stopped before it was killed"
        writer.kill()
        assert writer.process.returncode == -signal.SIGKILL
        # Acks printed after the last one read were acknowledged too.
        acks += [
            int(line.split(" ")[1]) for line in writer.remaining_lines() if line.startswith("ACK ")
        ]
    finally:
        writer.close()
    assert acks == sorted(acks)
    return Crash(acks[-1], stalled)


@pytest.mark.slow
@pytest.mark.parametrize("point", KILL_POINTS.values(), ids=KILL_POINTS.keys())
def test_writer_killed_mid_run_leaves_its_last_committed_event_and_the_registry_writes_on(
    engine: Engine, store_url: str, tmp_path: Path, point: KillPoint
) -> None:
    key = SigningKey.generate()
    key_path = tmp_path / "kr.key.pem"
    key.save(key_path)
    founded = found_registry(store_url, key)
    founded_seq = founded.journal.committed_seq
    founded.journal.engine.dispose()

    crash = _run_and_kill(store_url, key_path, founded_seq, point)

    # The chain verifies and ends at or after everything acknowledged.
    head_seq, head_hash = verify_journal(engine, CODE, key.verify_key)
    assert head_seq >= crash.last_ack
    if crash.stalled is not None:
        committed, appended = crash.stalled
        # Group-committed entries survive though unacknowledged; buffered ones never existed.
        assert crash.last_ack < committed < appended
        assert head_seq == committed
    with engine.connect() as connection:
        seqs = list(connection.execute(text("SELECT seq FROM journal ORDER BY seq")).scalars())
        snapshot_seq = connection.execute(text("SELECT MAX(seq) FROM snapshots")).scalar_one()
        holdings = {
            tuple(row)
            for row in connection.execute(
                text(
                    "SELECT account_id, unit_type, vintage, serial_start, serial_end, snapshot_seq "
                    "FROM holdings"
                )
            )
        }
    assert seqs == list(range(1, head_seq + 1))
    if point.acks_before_kill >= 8:
        assert snapshot_seq is not None  # the writer snapshotted before it died

    # What is stored is exactly the writer's seeded history up to the head.
    reference, holdings_at_snapshot = _reference_through(head_seq, snapshot_seq)
    assert reference.journal.hash == head_hash
    assert holdings == holdings_at_snapshot  # the read model matches its snapshot
    for verify_from_genesis in (True, False):
        reopened = Registry.open(engine, CODE, key, verify_from_genesis=verify_from_genesis)
        assert reopened.ledger.state_digest() == reference.ledger.state_digest()
        assert reopened.journal.committed_hash == head_hash
        reopened.check_conservation()

    # The registry keeps writing after the crash.
    with engine.connect() as connection:
        last_time = connection.execute(text("SELECT MAX(sim_time) FROM journal")).scalar_one()
    writer = Registry.open(engine, CODE, key, SimulatedClock(parse_time(last_time)))
    writer.transfer("kepco", "posco", "KAU", 1, durable=True)
    writer.surrender("posco", "KAU", 2, 2026, durable=True)
    again = Registry.open(engine, CODE, key)
    assert again.journal.committed_seq == head_seq + 2
    assert again.ledger.state_digest() == writer.ledger.state_digest()
    again.check_conservation()
