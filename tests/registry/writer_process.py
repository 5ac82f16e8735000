"""A registry writer that the single-writer and crash-safety tests run as a real process.

    python -m tests.registry.writer_process contend --url URL --key PEM --tag A --accounts 20
    python -m tests.registry.writer_process crash --url URL --key PEM --seed 7

It speaks one line per message on stdout, flushed at once:

    OPENED <seq>                    the registry is open for writing at <seq>
    COMMITTED <seq> <hash> <digest> (contend) every command it ran is committed
    CONFLICT <message>              (contend) its commit failed: ConcurrentWriterError; exit 3
    ACK <seq>                       (crash) a durable flush returned: all through <seq> is stored
    STALLED <committed> <seq>       (crash) it stopped mid-batch, <seq> appended, <committed> stored

`contend` waits for a line `GO` on stdin after OPENED, so a test can open two
writers first and then decide who commits when. `crash` writes batches of
seeded random commands until it is killed (or `--batches-max` is reached);
with `--stall-after N` it stops after N commands, in the middle of a batch,
and waits to be killed there.

The module also holds what the tests share with the process: how the KR
registry is founded, the seeded workload, and a child-process handle with
bounded waits, so a test and its writer cannot drift apart.
"""

from __future__ import annotations

import argparse
import queue
import random
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine

from registry import (
    AccountKind,
    ConcurrentWriterError,
    GroupCommit,
    LockPurpose,
    Registry,
    RegistryError,
    SigningKey,
    SimulatedClock,
    UnitKind,
    UnitType,
)

CODE = "KR"
CLOCK_START = datetime(2026, 1, 1, tzinfo=UTC)
UNIT_TYPES = (
    UnitType("KAU", UnitKind.ALLOWANCE, "KR", "Korean Allowance Unit"),
    UnitType("KOC", UnitKind.OFFSET_CREDIT, "KR", "Korean Offset Credit"),
)
HOLDERS = ("posco", "kepco", "broker")
ALLOCATION_T = 300_000
BATCH_TIME_STEP = timedelta(hours=6)
# Long enough that only the batch size or an explicit flush commits a batch.
DELAY_MS_NEVER = 3_600_000
# The crash writer commits by size inside a batch too, and snapshots now and then.
CRASH_EVENTS_MAX = 7
CRASH_SNAPSHOT_EVERY_EVENTS = 50
REPO_ROOT = Path(__file__).resolve().parents[2]
LINE_WAIT_S_MAX = 60.0


# ---------------------------------------------------------------- shared set-up


def found_registry(
    store: str | Engine, key: SigningKey, group_commit: GroupCommit | None = None
) -> Registry:
    """Create registry KR with two unit types, three holders and allocated KAU, committed."""
    registry = Registry.create(
        store,
        CODE,
        "Korea Emissions Trading Registry",
        key,
        SimulatedClock(CLOCK_START),
        UNIT_TYPES,
        group_commit,
    )
    registry.open_account(AccountKind.COMPLIANCE, "POSCO", "posco")
    registry.open_account(AccountKind.COMPLIANCE, "KEPCO", "kepco")
    registry.open_account(AccountKind.TRADING, "Broker", "broker")
    issuance = registry.ledger.singleton(AccountKind.ISSUANCE).account_id
    registry.issue("KAU", 2026, 3 * ALLOCATION_T)
    registry.issue("KOC", 2025, 50_000, project_id="KOC-PRJ-0042")
    for holder in HOLDERS:
        registry.allocate(issuance, holder, "KAU", ALLOCATION_T, durable=holder == HOLDERS[-1])
    registry.flush()
    return registry


def random_command(registry: Registry, rng: random.Random, number: int) -> bool:
    """Run one seeded random command; return True if it was accepted (one event journaled)."""
    choice = rng.randrange(100)
    source, target = rng.sample(HOLDERS, 2)
    quantity = rng.randint(1, 5_000)
    durable = rng.randrange(10) == 0
    try:
        if choice < 40:
            registry.transfer(source, target, "KAU", quantity, durable=durable)
        elif choice < 48:
            registry.issue("KAU", 2026, quantity, durable=durable)
        elif choice < 55:
            issuance = registry.ledger.singleton(AccountKind.ISSUANCE).account_id
            registry.allocate(issuance, target, "KAU", quantity, durable=durable)
        elif choice < 70:
            registry.surrender(source, "KAU", quantity, 2026, durable=durable)
        elif choice < 85:
            registry.lock(
                f"L{number}",
                source,
                "KAU",
                quantity,
                LockPurpose.EXTERNAL_TRANSFER,
                durable=durable,
            )
        else:
            locks = registry.ledger.locks()
            if not locks:
                return False
            registry.unlock(locks[rng.randrange(len(locks))].lock_id, durable=durable)
    except RegistryError:
        return False
    return True


def workload(
    registry: Registry, seed: int, batches_max: int, batch_commands: int
) -> Iterator[bool]:
    """Run batches of seeded commands; yield False after each command, True after each flush.

    A caller that replays the same seed against the same founded registry
    produces the same events, sim times and hashes.
    """
    rng = random.Random(seed)
    number = 0
    for _ in range(batches_max):
        registry.clock.advance(BATCH_TIME_STEP)
        for _ in range(batch_commands):
            random_command(registry, rng, number)
            number += 1
            yield False
        registry.flush()
        yield True


# ---------------------------------------------------------------- child handle


class Child:
    """A writer process with line-by-line stdout and bounded waits."""

    def __init__(self, mode: str, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.registry.writer_process", mode, *args],
            cwd=REPO_ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            # A line cut off by a kill has no newline: it was never fully written.
            if line.endswith("\n"):
                self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def expect(self, word: str) -> list[str]:
        """Return the next line's fields after `word`; fail with the child's stderr otherwise."""
        try:
            line = self.lines.get(timeout=LINE_WAIT_S_MAX)
        except queue.Empty:
            self.kill()
            raise AssertionError(f"writer said nothing for {LINE_WAIT_S_MAX} s") from None
        if line is None or not line.startswith(word + " "):
            self.kill()
            raise AssertionError(f"expected {word}, writer said {line!r}; stderr:\n{self.stderr()}")
        return line[len(word) + 1 :].split(" ")

    def send(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def wait(self) -> int:
        return self.process.wait(timeout=LINE_WAIT_S_MAX)

    def kill(self) -> None:
        """Send SIGKILL (if still running) and reap the process."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=LINE_WAIT_S_MAX)

    def remaining_lines(self) -> list[str]:
        """Return every complete line still queued, after the process has ended."""
        self._reader.join(timeout=LINE_WAIT_S_MAX)
        lines = []
        while (line := self.lines.get_nowait()) is not None:
            lines.append(line)
        return lines

    def stderr(self) -> str:
        if self.process.poll() is None:
            return "(still running)"
        assert self.process.stderr is not None
        return self.process.stderr.read()

    def close(self) -> None:
        self.kill()
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


# ---------------------------------------------------------------- the process


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def contend(url: str, key: SigningKey, tag: str, accounts: int, events_max: int) -> int:
    """Open, wait for GO, open `accounts` trading accounts funded from posco, commit."""
    registry = Registry.open(
        url, CODE, key, SimulatedClock(CLOCK_START), GroupCommit(events_max, DELAY_MS_NEVER)
    )
    _say(f"OPENED {registry.journal.committed_seq}")
    if sys.stdin.readline().strip() != "GO":
        return 2
    try:
        for number in range(accounts):
            label = f"{tag}{number}"
            registry.open_account(AccountKind.TRADING, f"{tag} trader {number}", label)
            registry.transfer("posco", label, "KAU", 10 + number)
        registry.flush()
    except ConcurrentWriterError as error:
        _say(f"CONFLICT {error}")
        return 3
    journal = registry.journal
    digest = registry.ledger.state_digest()
    _say(f"COMMITTED {journal.committed_seq} {journal.committed_hash} {digest}")
    return 0


def crash(
    url: str,
    key: SigningKey,
    seed: int,
    batches_max: int,
    batch_commands: int,
    stall_after: int | None,
) -> int:
    """Write seeded batches, acknowledging each durable flush, until killed."""
    registry = Registry.open(
        url,
        CODE,
        key,
        SimulatedClock(CLOCK_START),
        GroupCommit(CRASH_EVENTS_MAX, DELAY_MS_NEVER),
        snapshot_every_events=CRASH_SNAPSHOT_EVERY_EVENTS,
    )
    _say(f"OPENED {registry.journal.committed_seq}")
    commands = 0
    for end_of_batch in workload(registry, seed, batches_max, batch_commands):
        if end_of_batch:
            _say(f"ACK {registry.journal.committed_seq}")
            continue
        commands += 1
        if commands == stall_after:
            _say(f"STALLED {registry.journal.committed_seq} {registry.journal.seq}")
            sys.stdin.readline()  # blocks until the test kills this process
            return 4
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["contend", "crash"])
    parser.add_argument("--url", required=True)
    parser.add_argument("--key", required=True, type=Path)
    parser.add_argument("--tag", default="A")
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument("--events-max", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batches-max", type=int, default=100_000)
    parser.add_argument("--batch-commands", type=int, default=20)
    parser.add_argument("--stall-after", type=int, default=None)
    args = parser.parse_args(argv)
    key = SigningKey.load(args.key)
    if args.mode == "contend":
        return contend(args.url, key, args.tag, args.accounts, args.events_max)
    return crash(args.url, key, args.seed, args.batches_max, args.batch_commands, args.stall_after)


if __name__ == "__main__":
    sys.exit(main())
