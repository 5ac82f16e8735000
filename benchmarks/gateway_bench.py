"""Measure the linking gateway's signed transfer protocol against its targets (2-core machine).

    python benchmarks/gateway_bench.py [--quick] [--profile]

Prints one line per measurement for people and, as its last line, one JSON
object for machines. Everything is journaled to one SQLite file (the gateway,
two registries and their endpoints: five hash-chained streams), group commit.

- `crypto_floor_transfers_per_s`: transfers per second if nothing ran but the
  Ed25519 work one unbatched transfer needs in this protocol: 5 signatures
  (proposal, forward, acceptance, two completions) and 6 verifications
  (gateway: proposal, acceptance; destination: forward, the origin's proposal
  inside it, completion; origin: completion), over messages of the real sizes.
- `signed_transfers_per_s`: unbatched transfers end to end (one transfer per
  proposal, every message signed and verified, every step journaled) —
  target >= 70% of the floor (`ratio_signed_to_floor` >= 0.70).
- `batched_transfers_per_s`: transfers end to end in proposals of 100 —
  target >= 20,000/s.
- `blocks_per_transfer_scaling`: the time of one transfer carrying 1,000
  blocks over one carrying a single block (median of repeats) — target <= 3.

End to end means: the origin locks the units and signs; the gateway verifies,
checks and countersigns; the destination verifies both signatures, checks and
signs its acceptance; the gateway completes and notifies both; the origin
exports and the destination credits; every participant commits. Transfers are
pipelined (many proposals in flight at once), as a registry under load would.

Not part of the test suite: nothing here is collected by pytest.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import platform
import pstats
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gateway.endpoint import TransferOrder
from gateway.federation import Federation
from gateway.links import Direction, Link, LinkState
from gateway.messages import (
    Acceptance,
    Completion,
    Forward,
    SignedMessage,
    TransactionStatus,
    Transfer,
    TransferProposal,
)
from registry import (
    AccountKind,
    GroupCommit,
    Registry,
    SigningKey,
    SimulatedClock,
    UnitBlock,
    UnitKind,
    UnitType,
    make_engine,
)

EUA = UnitType("EUA", UnitKind.ALLOWANCE, "EU")
CHU = UnitType("CHU", UnitKind.ALLOWANCE, "CH")
START = datetime(2024, 3, 5, 10, tzinfo=UTC)
LINK = Link(
    link_id="eu-ch",
    registry_a="EU",
    registry_b="CH",
    direction=Direction.BILATERAL,
    unit_types=frozenset({"EUA", "CHU"}),
    effective_from=datetime(2020, 9, 21, tzinfo=UTC),
    state=LinkState.ACTIVE,
)
TARGET_SIGNED_TO_FLOOR = 0.70
TARGET_BATCHED_PER_S = 20_000
TARGET_SCALING = 3.0
SCATTERED_BLOCKS = 1_000


class Bench:
    """Two registries (EU, CH) and a gateway in one SQLite file."""

    def __init__(self, directory: Path, name: str, scattered: bool = False) -> None:
        self.engine = make_engine(f"sqlite:///{directory / name}.db")
        self.clock = SimulatedClock(START)
        self.keys = {code: SigningKey.generate() for code in ("EU", "CH", "GW")}
        commit = GroupCommit(events_max=10_000, delay_ms_max=1_000_000)
        members = []
        for code in ("EU", "CH"):
            registry = Registry.create(
                self.engine, code, code, self.keys[code], self.clock, [EUA, CHU], commit
            )
            registry.open_account(AccountKind.COMPLIANCE, "Operator", "operator")
            members.append((registry, self.keys[code]))
        eu = members[0][0]
        issuance = eu.ledger.singleton(AccountKind.ISSUANCE).account_id
        if scattered:
            # Every other serial: the account holds SCATTERED_BLOCKS separate blocks.
            for index in range(SCATTERED_BLOCKS * 2):
                eu.issue("EUA", 2023, 1, start_serial=2 * index + 1)
        eu.issue("EUA", 2024, 100_000_000)
        eu.allocate(issuance, "operator", "EUA", eu.ledger.issued("EUA"))
        self.federation = Federation.create(
            self.engine, self.keys["GW"], members, [LINK], self.clock, group_commit=commit
        )
        self.next_id = 0

    def orders(self, count: int, quantity: int = 10) -> list[TransferOrder]:
        found = []
        for _ in range(count):
            self.next_id += 1
            found.append(
                TransferOrder(
                    f"T{self.next_id}", "operator", "CH", "operator", "EUA", quantity, 2024
                )
            )
        return found

    def run(self, batches: list[list[TransferOrder]]) -> float:
        """Propose every batch, deliver until settled; return the seconds taken."""
        federation = self.federation
        began = time.perf_counter()
        for batch in batches:
            federation.propose("EU", batch)
        federation.pump()
        elapsed = time.perf_counter() - began
        last = batches[-1][-1].transaction_id
        assert federation.gateway.status(last) is TransactionStatus.COMPLETED
        return elapsed


def crypto_floor(transfers: int) -> float:
    """Return transfers/s doing only one unbatched transfer's signatures and verifications."""
    keys = {code: SigningKey.generate() for code in ("EU", "CH", "GW")}
    block = UnitBlock("EU", "EUA", 2024, 10_000_001, 10_000_010)
    transfer = Transfer("T1", "EU", "EU-100-1-0-00", "CH", "CH-100-1-0-00", (block,))
    proposal = TransferProposal(
        sender_id="EU",
        recipient_id="GW",
        sequence=1,
        transaction_id="T1",
        transfers=(transfer,),
        proposed_at="2024-03-05T10:00:00Z",
    )
    signed_proposal = SignedMessage.sign(proposal, keys["EU"])
    header = {"sequence": 1, "transaction_id": "T1"}
    forward = Forward(
        sender_id="GW", recipient_id="CH", proposal=signed_proposal, transfers=("T1",), **header
    )
    acceptance = Acceptance(sender_id="CH", recipient_id="GW", accepted=("T1",), **header)
    completion = Completion(sender_id="GW", recipient_id="EU", completed=("T1",), **header)
    # (signer, bytes) of each signature; (verifier key, bytes, signature) of each check.
    signs = [
        (keys["EU"], proposal.signed_bytes()),
        (keys["GW"], forward.signed_bytes()),
        (keys["CH"], acceptance.signed_bytes()),
        (keys["GW"], completion.signed_bytes()),
        (keys["GW"], completion.signed_bytes()),
    ]
    checks = [
        (keys["EU"].verify_key, proposal.signed_bytes()),  # gateway: the proposal
        (keys["GW"].verify_key, forward.signed_bytes()),  # destination: the forward
        (keys["EU"].verify_key, proposal.signed_bytes()),  # destination: the origin's
        (keys["CH"].verify_key, acceptance.signed_bytes()),  # gateway: the acceptance
        (keys["GW"].verify_key, completion.signed_bytes()),  # origin: completion
        (keys["GW"].verify_key, completion.signed_bytes()),  # destination: completion
    ]
    signatures = [key.sign(data) for key, data in signs]
    signers = ["EU", "GW", "EU", "CH", "GW", "GW"]
    verifications = [
        (verify_key, data, keys[code].sign(data))
        for (verify_key, data), code in zip(checks, signers, strict=True)
    ]
    assert all(verify_key.verify(sig, data) for verify_key, data, sig in verifications)
    del signatures
    began = time.perf_counter()
    for _ in range(transfers):
        for key, data in signs:
            key.sign(data)
        for verify_key, data, signature in verifications:
            verify_key.verify(signature, data)
    return transfers / (time.perf_counter() - began)


def scaling(directory: Path, repeats: int) -> tuple[float, float, float]:
    """Return (seconds for 1 block, seconds for 1,000 blocks, ratio), medians of repeats."""
    bench = Bench(directory, "scaling", scattered=True)
    eu = bench.federation.registry("EU")
    one, many = [], []
    for repeat in range(repeats):
        scattered = [
            block
            for block in eu.ledger.account("operator").holding.blocks("EUA")
            if block.vintage == 2023
        ]
        wide = scattered[:SCATTERED_BLOCKS] if repeat == 0 else None
        single = bench.orders(1)
        one.append(bench.run([single]))
        if wide is None:
            continue
        order = TransferOrder("WIDE", "operator", "CH", "operator", blocks=tuple(wide))
        many.append(bench.run([[order]]))
    # Send the wide transfer's blocks home and out again for each further repeat.
    ch_operator = "operator"
    for repeat in range(1, repeats):
        ch = bench.federation.registry("CH")
        back = tuple(
            block
            for block in ch.ledger.account(ch_operator).holding.blocks("EUA")
            if block.vintage == 2023
        )
        home = TransferOrder(f"HOME{repeat}", ch_operator, "EU", "operator", blocks=back)
        bench.federation.propose("CH", [home])
        bench.federation.pump()
        wide = tuple(
            block
            for block in eu.ledger.account("operator").holding.blocks("EUA")
            if block.vintage == 2023
        )[:SCATTERED_BLOCKS]
        assert len(wide) == SCATTERED_BLOCKS, len(wide)
        order = TransferOrder(f"WIDE{repeat}", "operator", "CH", "operator", blocks=wide)
        many.append(bench.run([[order]]))
    single_s, many_s = statistics.median(one), statistics.median(many)
    return single_s, many_s, many_s / single_s


@contextmanager
def _profiled(enabled: bool) -> Iterator[None]:
    if not enabled:
        yield
        return
    profiler = cProfile.Profile()
    profiler.enable()
    yield
    profiler.disable()
    pstats.Stats(profiler).sort_stats(os.environ.get("SORT", "cumulative")).print_stats(40)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a fast smoke run")
    parser.add_argument(
        "--profile",
        choices=["batched", "unbatched"],
        help="cProfile one run and print the top functions (sorted by $SORT, default cumulative)",
    )
    args = parser.parse_args()
    unbatched = 300 if args.quick else 2_000
    batched = 2_000 if args.quick else 20_000
    repeats = 3 if args.quick else 7

    floor = crypto_floor(unbatched)
    print(f"crypto floor            {floor:10,.0f} transfers/s (5 signatures + 6 verifications)")
    with tempfile.TemporaryDirectory() as folder:
        directory = Path(folder)
        bench = Bench(directory, "unbatched")
        bench.run([bench.orders(1) for _ in range(50)])  # warm up
        with _profiled(args.profile == "unbatched"):
            signed = unbatched / bench.run([bench.orders(1) for _ in range(unbatched)])
        bench.federation.check_conservation()
        print(
            f"signed, unbatched       {signed:10,.0f} transfers/s "
            f"({signed / floor:.0%} of the floor; target >= {TARGET_SIGNED_TO_FLOOR:.0%})"
        )
        bench = Bench(directory, "batched")
        bench.run([bench.orders(100)])  # warm up
        work = [bench.orders(100) for _ in range(batched // 100)]
        with _profiled(args.profile == "batched"):
            seconds = bench.run(work)
        batched_per_s = batched / seconds
        bench.federation.check_conservation()
        print(
            f"batched (100)           {batched_per_s:10,.0f} transfers/s "
            f"(target >= {TARGET_BATCHED_PER_S:,})"
        )
        single_s, many_s, ratio = scaling(directory, repeats)
        print(
            f"1,000 blocks vs 1 block {ratio:10.2f} x ({many_s * 1000:.1f} ms vs "
            f"{single_s * 1000:.1f} ms; target <= {TARGET_SCALING})"
        )
    result: dict[str, Any] = {
        "crypto_floor_transfers_per_s": round(floor),
        "signed_transfers_per_s": round(signed),
        "ratio_signed_to_floor": round(signed / floor, 3),
        "batched_transfers_per_s": round(batched_per_s),
        "ratio_batched_to_target": round(batched_per_s / TARGET_BATCHED_PER_S, 3),
        "blocks_per_transfer_scaling": round(ratio, 3),
        "single_block_transfer_ms": round(single_s * 1000, 2),
        "thousand_block_transfer_ms": round(many_s * 1000, 2),
        "unbatched_transfers": unbatched,
        "batched_transfers": batched,
        "store": "sqlite file",
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
    }
    print(json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    main()
