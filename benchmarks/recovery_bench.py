"""Crash recovery: reopen a registry store of 1,000,000 journal events and be ready to serve.

    python benchmarks/recovery_bench.py [--quick] [--events N] [--seed N]

Builds a SQLite registry whose journal holds `--events` events (1,000 compliance
accounts, three vintages each, then random transfers as in `registry_bench.py`,
so holdings fragment as in a market), with a signed snapshot every
`SNAPSHOT_EVERY_EVENTS` events as a running registry takes them. The builder is
then dropped without a clean close, as a crash would leave it (everything it
reported durable is committed), and the store is reopened three ways:

- `recovery_s` (target <= 10 s): `Registry.open(..., verify_from_genesis=False)` —
  verify the signed head and the latest signed snapshot, load it, replay and
  chain-check the events after it. What a restarted registry service does.
- `recovery_full_verify_s` (reported, no target): the same from genesis: every
  event's hash re-checked up to the snapshot, then the tail.
- `snapshot_tail_events`: how many events were replayed after the snapshot.

The state digest after each reopening equals the builder's. Prints a line per
figure for people and, last, one JSON object with each figure, its target and
ratio (target / value: >= 1 means met).

Not part of the test suite: nothing here is collected by pytest.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from registry_bench import (
    CEA,
    CODE,
    NAME,
    make_workload,
    populate,
    run_transfers,
    seeded_key,
)

from registry import GroupCommit, Registry, SimulatedClock, make_engine
from registry.registry import SNAPSHOT_EVERY_EVENTS

EVENTS_DEFAULT = 1_000_000
EVENTS_QUICK = 60_000
ACCOUNTS = 1_000
TARGET_RECOVERY_S = 10.0


def build(url: str, seed: int, events: int) -> tuple[str, int, int]:
    """Write a registry of about `events` events; return its digest, head and snapshot seq."""
    engine = make_engine(url)
    key = seeded_key(seed)
    clock = SimulatedClock()
    registry = Registry.create(
        engine,
        CODE,
        NAME,
        key,
        clock=clock,
        unit_types=[CEA],
        group_commit=GroupCommit(),
        snapshot_every_events=SNAPSHOT_EVERY_EVENTS,
    )
    setup_events = ACCOUNTS * 4 + 8  # accounts, issuances and allocations, roughly
    workload = make_workload(seed, ACCOUNTS, max(events - setup_events, 1))
    ids = populate(registry, workload)
    started = time.perf_counter()
    run_transfers(registry, ids, workload, clock)
    registry.journal.flush()
    print(
        f"built    : {registry.journal.committed_seq:,} events in "
        f"{time.perf_counter() - started:.1f} s (snapshot every {SNAPSHOT_EVERY_EVENTS:,})"
    )
    digest = registry.ledger.state_digest()
    head, snapshot = registry.journal.committed_seq, registry.snapshot_seq
    # No close(): the process "dies" here; the store holds what was committed.
    engine.dispose()
    return digest, head, snapshot


def reopen(url: str, seed: int, verify_from_genesis: bool) -> tuple[float, Registry]:
    engine = make_engine(url)
    gc.collect()
    started = time.perf_counter()
    registry = Registry.open(
        engine, CODE, seeded_key(seed), verify_from_genesis=verify_from_genesis
    )
    return time.perf_counter() - started, registry


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{EVENTS_QUICK:,} events")
    parser.add_argument("--events", type=int, default=None)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args(argv)
    events = args.events or (EVENTS_QUICK if args.quick else EVENTS_DEFAULT)

    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'recovery.db'}"
        digest, head, snapshot = build(url, args.seed, events)
        figures: dict[str, Any] = {"events": head, "snapshot_seq": snapshot}
        for label, from_genesis in (("recovery_s", False), ("recovery_full_verify_s", True)):
            seconds, registry = reopen(url, args.seed, from_genesis)
            tail = head - registry.snapshot_seq
            assert registry.ledger.state_digest() == digest, "reopened state differs"
            assert registry.journal.committed_seq == head
            figures[label] = round(seconds, 3)
            figures["snapshot_tail_events"] = tail
            how = "chain verified from genesis" if from_genesis else "from the latest snapshot"
            print(
                f"reopen   : {seconds:.3f} s, {how} ({tail:,} events replayed after the "
                f"snapshot at seq {registry.snapshot_seq:,}; state digest equal)"
            )
            # Dropped without close(): a close would snapshot the head and change what
            # the next reopening starts from.
            registry.journal.engine.dispose()
        database_mb = (Path(folder) / "recovery.db").stat().st_size / 2**20
    figures["store_mb"] = round(database_mb, 1)
    figures["target_recovery_s"] = TARGET_RECOVERY_S
    figures["ratio_recovery_s"] = round(TARGET_RECOVERY_S / figures["recovery_s"], 2)
    figures["meets_targets"] = figures["recovery_s"] <= TARGET_RECOVERY_S
    figures.update(
        {"quick": args.quick, "python": platform.python_version(), "cpus": os.cpu_count()}
    )
    print(
        f"recovery : {figures['recovery_s']:.3f} s against a target of {TARGET_RECOVERY_S} s "
        f"(ratio {figures['ratio_recovery_s']}); store {database_mb:.0f} MB"
    )
    print(json.dumps(figures, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
