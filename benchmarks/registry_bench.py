"""Measure the registry core against its performance targets (2-core machine).

    python benchmarks/registry_bench.py [--quick] [--seed N] [--postgres-url URL]

Prints one line per measurement for people and, as its last line, one JSON
object for machines. Figures and targets:

- `transfers_per_s_memory`   >= 50,000  internal transfers, `Ledger` alone
- `transfers_per_s_sqlite`   >= 20,000  `Registry` on a SQLite file, group commit
- `transfers_per_s_postgres` >= 10,000  `Registry` on PostgreSQL (null + reason if unreachable)
- `replay_events_per_s`      >= 100,000 `Registry.open` of the SQLite journal, full chain
                                        verification from genesis, no snapshot
- `issue_china_cap_s`        < 1 s      open 2,225 compliance accounts, issue 4.5 billion
- `issue_china_cap_peak_mb`  < 50 MB    CEA, allocate to all 2,225 (peak by tracemalloc)

Every `ratio_*` is how many times the target is met: value / target for a
throughput, target / value for a time or memory limit; >= 1 means met.

The workload is the same for every store: 1,000 compliance accounts, each
allocated CEA of three vintages (log-uniform 30 kt .. 3 Mt per vintage),
then random transfers between random accounts of log-uniform quantities
(1 t .. 100 kt), half "oldest vintage first", half of a named vintage. The
operations are drawn from `random.Random(seed)` before any timing, with
balances tracked so every transfer is accepted; blocks fragment as they do in
a market where every holder receives pieces from many others. Simulated time
moves one minute every 1,000 transfers.

Not part of the test suite: nothing here is collected by pytest.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import random
import sys
import tempfile
import time
import tracemalloc
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from registry import (
    AccountKind,
    GroupCommit,
    Ledger,
    Registry,
    SigningKey,
    SimulatedClock,
    UnitKind,
    UnitType,
    make_engine,
)

TARGET_TRANSFERS_PER_S_MEMORY = 50_000
TARGET_TRANSFERS_PER_S_SQLITE = 20_000
TARGET_TRANSFERS_PER_S_POSTGRES = 10_000
TARGET_REPLAY_EVENTS_PER_S = 100_000
TARGET_CHINA_CAP_S = 1.0
TARGET_CHINA_CAP_PEAK_MB = 50.0

CODE = "CN"
NAME = "China National ETS Registry"
CEA = UnitType("CEA", UnitKind.ALLOWANCE, CODE, "Chinese Emission Allowance")
VINTAGES = (2021, 2022, 2023)
ACCOUNTS = 1_000
TRANSFERS_FULL = 100_000
TRANSFERS_QUICK = 10_000
CHINA_ACCOUNTS = 2_225
CHINA_CAP_T = 4_500_000_000
CHINA_VINTAGE = 2023
TRANSFERS_PER_CLOCK_MINUTE = 1_000
DEFAULT_PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
# A snapshot would be a different measurement; keep the journal snapshot-free.
NO_SNAPSHOTS = 10**12


@dataclass(frozen=True, slots=True)
class Transfer:
    from_index: int
    to_index: int
    quantity_t: int
    vintage: int | None


@dataclass(frozen=True, slots=True)
class Workload:
    seed: int
    accounts: int
    allocations: tuple[tuple[int, int, int], ...]  # (account index, vintage, quantity_t)
    transfers: tuple[Transfer, ...]

    def issued_t(self, vintage: int) -> int:
        return sum(quantity for _, year, quantity in self.allocations if year == vintage)


def make_workload(seed: int, accounts: int, transfers: int) -> Workload:
    """Draw allocations and feasible transfers from `random.Random(seed)`."""
    rng = random.Random(seed)
    balances = [[0] * len(VINTAGES) for _ in range(accounts)]
    allocations = []
    for index in range(accounts):
        for position, vintage in enumerate(VINTAGES):
            quantity = int(10 ** rng.uniform(4.5, 6.5))
            balances[index][position] = quantity
            allocations.append((index, vintage, quantity))
    moves: list[Transfer] = []
    while len(moves) < transfers:
        source = rng.randrange(accounts)
        target = rng.randrange(accounts - 1)
        target += target >= source
        held = balances[source]
        wanted = int(10 ** rng.uniform(0, 5))
        if rng.random() < 0.5:
            available = sum(held)
            if available == 0:
                continue
            quantity = min(wanted, available)
            remaining = quantity
            for position in range(len(VINTAGES)):  # oldest vintage first, as the ledger does
                taken = min(remaining, held[position])
                held[position] -= taken
                balances[target][position] += taken
                remaining -= taken
            moves.append(Transfer(source, target, quantity, None))
        else:
            position = rng.randrange(len(VINTAGES))
            if held[position] == 0:
                continue
            quantity = min(wanted, held[position])
            held[position] -= quantity
            balances[target][position] += quantity
            moves.append(Transfer(source, target, quantity, VINTAGES[position]))
    return Workload(seed, accounts, tuple(allocations), tuple(moves))


def seeded_key(seed: int) -> SigningKey:
    """Return a signing key derived from the seed, so a run is reproducible."""
    return SigningKey(Ed25519PrivateKey.from_private_bytes(random.Random(seed).randbytes(32)))


def populate(target: Ledger | Registry, workload: Workload) -> list[str]:
    """Open the accounts, issue every vintage and allocate it; return the account ids."""
    ids = [
        target.open_account(AccountKind.COMPLIANCE, f"Entity {index:04d}").account_id
        for index in range(workload.accounts)
    ]
    for vintage in VINTAGES:
        target.issue(CEA.code, vintage, workload.issued_t(vintage))
    issuance = ledger_of(target).singleton(AccountKind.ISSUANCE).account_id
    for index, vintage, quantity in workload.allocations:
        target.allocate(issuance, ids[index], CEA.code, quantity, vintage)
    return ids


def ledger_of(target: Ledger | Registry) -> Ledger:
    return target if isinstance(target, Ledger) else target.ledger


def run_transfers(
    target: Ledger | Registry, ids: list[str], workload: Workload, clock: SimulatedClock
) -> tuple[float, int]:
    """Run every transfer of the workload (and commit the last batch).

    Return the seconds taken and the number of blocks the transfers moved.
    """
    transfer = target.transfer
    code = CEA.code
    minute = timedelta(minutes=1)
    blocks = 0
    started = time.perf_counter()
    for number, move in enumerate(workload.transfers, 1):
        event = transfer(
            ids[move.from_index], ids[move.to_index], code, move.quantity_t, move.vintage
        )
        blocks += len(event.blocks)
        if number % TRANSFERS_PER_CLOCK_MINUTE == 0:
            clock.advance(minute)
    if isinstance(target, Registry):
        target.journal.flush()
    return time.perf_counter() - started, blocks


def fragmentation(ledger: Ledger) -> dict[str, float]:
    counts = [
        sum(1 for _ in record.holding.blocks())
        for record in ledger.accounts()
        if record.kind is AccountKind.COMPLIANCE
    ]
    return {
        "blocks_per_account_mean": sum(counts) / len(counts),
        "blocks_per_account_max": max(counts),
    }


# ---------------------------------------------------------------- measurements


def bench_memory(workload: Workload) -> dict[str, Any]:
    ledger = Ledger()
    ledger.create(CODE, NAME)
    ledger.register_unit_type(CEA)
    ids = populate(ledger, workload)
    clock = SimulatedClock()
    seconds, blocks = run_transfers(ledger, ids, workload, clock)
    ledger.check_conservation()
    rate = len(workload.transfers) / seconds
    shape = fragmentation(ledger)
    shape["blocks_per_transfer_mean"] = blocks / len(workload.transfers)
    print(
        f"memory   : {len(workload.transfers):,} transfers in {seconds:.3f} s = {rate:,.0f}/s "
        f"(blocks per transfer: mean {shape['blocks_per_transfer_mean']:.2f}; blocks per "
        f"account at the end: mean {shape['blocks_per_account_mean']:.1f}, "
        f"max {shape['blocks_per_account_max']:.0f})"
    )
    return {"rate": rate, "digest": ledger.state_digest(), **shape}


def bench_journaled(url: str, workload: Workload, label: str) -> dict[str, Any]:
    """Run the workload on a `Registry` at `url`; return the rate and the final digest."""
    engine = make_engine(url)
    try:
        key = seeded_key(workload.seed)
        clock = SimulatedClock()
        registry = Registry.create(
            engine,
            CODE,
            NAME,
            key,
            clock=clock,
            unit_types=[CEA],
            group_commit=GroupCommit(),
            snapshot_every_events=NO_SNAPSHOTS,
        )
        ids = populate(registry, workload)
        registry.journal.flush()
        seq_before = registry.journal.committed_seq
        seconds, _ = run_transfers(registry, ids, workload, clock)
        assert registry.journal.committed_seq == seq_before + len(workload.transfers)
        rate = len(workload.transfers) / seconds
        print(
            f"{label:<9}: {len(workload.transfers):,} transfers in {seconds:.3f} s = {rate:,.0f}/s "
            f"(group commit {registry.journal.group_commit.events_max} events / "
            f"{registry.journal.group_commit.delay_ms_max} ms)"
        )
        digest = registry.ledger.state_digest()
        registry.close()
        return {
            "rate": rate,
            "digest": digest,
            "events": registry.journal.committed_seq,
            "key": key,
        }
    finally:
        engine.dispose()


def bench_replay(url: str, key: SigningKey, events: int) -> dict[str, Any]:
    engine = make_engine(url)
    try:
        gc.collect()
        started = time.perf_counter()
        registry = Registry.open(engine, CODE, key, verify_from_genesis=True)
        seconds = time.perf_counter() - started
        assert registry.snapshot_seq == 0, "replay must start from genesis, not a snapshot"
        assert registry.journal.committed_seq == events
        rate = events / seconds
        print(
            f"replay   : {events:,} events in {seconds:.3f} s = {rate:,.0f}/s "
            "(chain verified, no snapshot)"
        )
        return {"rate": rate, "digest": registry.ledger.state_digest()}
    finally:
        engine.dispose()


def china_allocations(seed: int) -> list[int]:
    """Split the 4.5 billion t cap over 2,225 entities, skewed as power plants are."""
    rng = random.Random(seed)
    weights = [rng.lognormvariate(0.0, 1.0) for _ in range(CHINA_ACCOUNTS)]
    total = sum(weights)
    shares = [max(1, math.floor(CHINA_CAP_T * weight / total)) for weight in weights]
    shares[-1] += CHINA_CAP_T - sum(shares)
    assert shares[-1] > 0 and sum(shares) == CHINA_CAP_T
    return shares


def issue_china_cap(shares: list[int]) -> Ledger:
    ledger = Ledger()
    ledger.create(CODE, NAME)
    ledger.register_unit_type(CEA)
    ids = [
        ledger.open_account(AccountKind.COMPLIANCE, f"Power company {index:04d}").account_id
        for index in range(CHINA_ACCOUNTS)
    ]
    ledger.issue(CEA.code, CHINA_VINTAGE, CHINA_CAP_T)
    issuance = ledger.singleton(AccountKind.ISSUANCE).account_id
    for account_id, quantity in zip(ids, shares, strict=True):
        ledger.allocate(issuance, account_id, CEA.code, quantity, CHINA_VINTAGE)
    return ledger


def bench_china(seed: int, repeats: int) -> dict[str, Any]:
    shares = china_allocations(seed)
    timings = []
    for _ in range(repeats):
        gc.collect()
        started = time.perf_counter()
        ledger = issue_china_cap(shares)
        timings.append(time.perf_counter() - started)
        assert ledger.singleton(AccountKind.ISSUANCE).holding.balance() == 0
        del ledger
    gc.collect()
    tracemalloc.start()
    started = time.perf_counter()
    ledger = issue_china_cap(shares)
    traced_s = time.perf_counter() - started
    peak_bytes = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    ledger.check_conservation()
    seconds = min(timings)
    peak_mb = peak_bytes / 1e6
    print(
        f"china cap: {CHINA_ACCOUNTS:,} accounts, {CHINA_CAP_T:,} t issued and allocated in "
        f"{seconds:.3f} s (best of {repeats}; {traced_s:.3f} s under tracemalloc), "
        f"peak {peak_mb:.1f} MB traced"
    )
    return {"seconds": seconds, "traced_seconds": traced_s, "peak_mb": peak_mb}


def postgres_database(admin_url: str) -> tuple[str | None, str | None, Any]:
    """Create a scratch database; return (url, None, admin engine) or (None, reason, None)."""
    try:
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        url = make_url(admin_url)
        if url.get_driver_name() in ("psycopg", "psycopg2") and "connect_timeout" not in url.query:
            url = url.update_query_dict({"connect_timeout": "5"})  # fail fast, not at TCP's pace
        admin = create_engine(url, isolation_level="AUTOCOMMIT")
        name = f"etslink_bench_{uuid.uuid4().hex[:12]}"
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as error:  # the server is what is being probed
        first_line = (str(error).splitlines() or [""])[0]
        return (
            None,
            f"PostgreSQL unreachable at {admin_url}: {type(error).__name__}: {first_line}",
            None,
        )
    scratch = url.set(database=name).render_as_string(hide_password=False)
    return scratch, None, (admin, name)


def drop_database(handle: Any) -> None:
    from sqlalchemy import text

    admin, name = handle
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def ratio(value: float | None, target: float, higher_is_better: bool) -> float | None:
    if value is None:
        return None
    return round(value / target if higher_is_better else target / value, 3)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a fast smoke run (10,000 transfers)")
    parser.add_argument("--seed", type=int, default=20_210_716, help="workload seed")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("ETSLINK_BENCH_PG_URL", DEFAULT_PG_ADMIN_URL),
        help="an admin URL; a scratch database is created on that server and dropped",
    )
    parser.add_argument(
        "--transfers", type=int, default=None, help="override the number of transfers"
    )
    args = parser.parse_args(argv)

    transfers = args.transfers or (TRANSFERS_QUICK if args.quick else TRANSFERS_FULL)
    load_before = os.getloadavg()[0]
    print(
        f"etslink registry benchmark: python {platform.python_version()}, {os.cpu_count()} cores, "
        f"seed {args.seed}, {ACCOUNTS:,} accounts, {transfers:,} transfers"
        f"{' (quick)' if args.quick else ''}; load average {load_before:.2f}"
    )
    workload = make_workload(args.seed, ACCOUNTS, transfers)
    result: dict[str, Any] = {
        "seed": args.seed,
        "quick": args.quick,
        "accounts": ACCOUNTS,
        "transfers": transfers,
    }

    memory = bench_memory(workload)
    result["transfers_per_s_memory"] = round(memory["rate"])
    result["blocks_per_account_mean"] = round(memory["blocks_per_account_mean"], 1)
    result["blocks_per_account_max"] = memory["blocks_per_account_max"]
    result["blocks_per_transfer_mean"] = round(memory["blocks_per_transfer_mean"], 2)

    with tempfile.TemporaryDirectory(prefix="etslink_bench_") as scratch:
        url = f"sqlite:///{Path(scratch) / 'registry.db'}"
        sqlite = bench_journaled(url, workload, "sqlite")
        result["transfers_per_s_sqlite"] = round(sqlite["rate"])
        replay = bench_replay(url, sqlite["key"], sqlite["events"])
        result["replay_events_per_s"] = round(replay["rate"])
        result["replay_events"] = sqlite["events"]
    assert sqlite["digest"] == memory["digest"] == replay["digest"], (
        "stores disagree on the final state"
    )

    pg_url, reason, handle = postgres_database(args.postgres_url)
    if pg_url is None:
        print(f"postgres : skipped ({reason})")
        result["transfers_per_s_postgres"] = None
        result["transfers_per_s_postgres_reason"] = reason
    else:
        try:
            postgres = bench_journaled(pg_url, workload, "postgres")
            assert postgres["digest"] == memory["digest"], "PostgreSQL disagrees on the final state"
            result["transfers_per_s_postgres"] = round(postgres["rate"])
        finally:
            drop_database(handle)

    china = bench_china(args.seed, repeats=1 if args.quick else 3)
    result["issue_china_cap_s"] = round(china["seconds"], 4)
    result["issue_china_cap_traced_s"] = round(china["traced_seconds"], 4)
    result["issue_china_cap_peak_mb"] = round(china["peak_mb"], 2)

    checks = [
        ("transfers_memory", result["transfers_per_s_memory"], TARGET_TRANSFERS_PER_S_MEMORY, True),
        ("transfers_sqlite", result["transfers_per_s_sqlite"], TARGET_TRANSFERS_PER_S_SQLITE, True),
        (
            "transfers_postgres",
            result["transfers_per_s_postgres"],
            TARGET_TRANSFERS_PER_S_POSTGRES,
            True,
        ),
        ("replay_events", result["replay_events_per_s"], TARGET_REPLAY_EVENTS_PER_S, True),
        ("china_cap_s", result["issue_china_cap_s"], TARGET_CHINA_CAP_S, False),
        ("china_cap_peak_mb", result["issue_china_cap_peak_mb"], TARGET_CHINA_CAP_PEAK_MB, False),
    ]
    print("targets  :")
    for name, value, target, higher in checks:
        value_ratio = ratio(value, target, higher)
        result[f"ratio_{name}"] = value_ratio
        result[f"target_{name}"] = target
        verdict = "n/a" if value_ratio is None else ("met" if value_ratio >= 1 else "NOT met")
        relation = ">=" if higher else "<"
        print(f"  {name:<20} {value!s:>12} {relation} {target:<8} ratio {value_ratio}  {verdict}")
    # Other processes on the machine slow every figure: read them with the load.
    result["load_average_1min"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    result["targets_met"] = all(
        r is not None and r >= 1 for r in (result[f"ratio_{name}"] for name, *_ in checks)
    )
    print(json.dumps(result, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
