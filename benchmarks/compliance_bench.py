"""Measure one full annual compliance cycle against its performance target (2-core machine).

    python benchmarks/compliance_bench.py [--quick] [--seed N] [--entities N] [--unjournaled-book]

Prints one line per measurement for people and, as its last line, one JSON
object for machines. Figures and targets:

- `cycle_10k_entities_s`    <= 10 s    one annual cycle for 10,000 entities (EU size)
                                       on a `Registry` on a SQLite file, group commit
- `verify_signatures_per_s`  reported  Ed25519 verification alone, over 5,000 statements
                                       (no target; the cycle verifies one per entity)
- `verify_statements_per_s`  reported  the same with each statement's canonical encoding
                                       (`VerificationStatement.verifies`)
- `phase_<name>_s`           reported  each phase of the cycle, listed below

Every `ratio_*` is how many times the target is met: target / value for a
time limit; >= 1 means met. `--quick` and `--entities` run another size;
the cycle figure and its ratio are then for that size, and `targets_met`
is null, because the target is for 10,000 entities.

The regime is the EU preset (`compliance.presets.load_preset("eu")`: annual
periods, EUR 100/t with make-good, surrender by 30 September of the following
year from the 2023 period). The cycle is the
2024 period; the book is founded in 2024, so it settles 2024 and not the
years before it.

Set-up (not timed): the registry on a SQLite file in a temporary folder, the
compliance book journaled to its own stream in the same file
(`ComplianceBook.create`; `--unjournaled-book` keeps the book in memory only),
10,000 compliance accounts, entities with monitoring plans (CO2, CH4, N2O),
four accredited verifiers. The workload is drawn from `random.Random(seed)`
before any timing: CO2 log-uniform 3 kt .. 3 Mt per entity, N2O for some,
CH4 (reported, not covered by the EU) for some; 90% are allocated 100-120%
of their obligation and surrender exactly the obligation, 10% are allocated
50-95% and surrender all they hold, so fall short. The EU admits only EUAs,
so no entity surrenders offsets. The timed cycle, in the calendar's order:

1. allocate  15 Jun 2024: one `ComplianceBook.allocate` call for every entity
2. report    15 Feb 2025: every entity submits its report (kg of each gas)
3. sign      a verifier signs each report's statement (`sign_verification`)
4. record    the book records each statement (the signature is verified there)
5. surrender  1 Sep 2025: every entity surrenders, one `surrender` call each
6. deadline   1 Oct 2025: `advance()` closes the year and evaluates all outcomes
7. flush     `ComplianceBook.flush()` (`Registry.flush()` when the book is not
             journaled): everything is committed to SQLite

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
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from compliance.book import ComplianceBook, PeriodOutcome, Status, SurrenderRequest
from compliance.calendar import DeadlineKind
from compliance.gases import Gas
from compliance.mrv import (
    EmissionsReport,
    MonitoringPlan,
    VerificationStatement,
    Verifier,
    sign_verification,
)
from compliance.presets import load_preset
from compliance.regime import (
    PenaltyKind,
    Regime,
)
from registry import (
    AccountKind,
    GroupCommit,
    Registry,
    SigningKey,
    SimulatedClock,
    UnitKind,
    UnitType,
    make_engine,
)

TARGET_CYCLE_10K_S = 10.0
ENTITIES_FULL = 10_000
ENTITIES_QUICK = 1_000
VERIFY_STATEMENTS_FULL = 5_000
VERIFY_STATEMENTS_QUICK = 1_000
VERIFIERS = 4
YEAR = 2024
SHORT_SHARE = Fraction(1, 10)  # entities that fall short at the deadline
N2O_SHARE = Fraction(1, 5)
CH4_SHARE = Fraction(3, 10)
EUA = "EUA"
EU_PENALTY_PER_T_MINOR = 10_000

SETUP_AT = datetime(YEAR, 1, 1, tzinfo=UTC)
ALLOCATE_AT = datetime(YEAR, 6, 15, tzinfo=UTC)
REPORT_AT = datetime(YEAR + 1, 2, 15, tzinfo=UTC)
SURRENDER_AT = datetime(YEAR + 1, 9, 1, tzinfo=UTC)
DEADLINE_PASSED_AT = datetime(YEAR + 1, 10, 1, tzinfo=UTC)

PHASES = ("allocate", "report", "sign", "record", "surrender", "deadline", "flush")


# ---------------------------------------------------------------- the regime


def load_regime() -> tuple[Regime, str]:
    """Return the EU preset and a line naming it."""
    regime = load_preset("eu")
    return regime, f"preset {regime.key!r} ({regime.name})"


def check_regime(regime: Regime) -> None:
    """Refuse a regime the workload does not fit (the cycle assumes these)."""
    calendar = regime.calendar
    assert calendar.period_years == 1 and calendar.first_year <= YEAR, calendar
    surrender_due = calendar.deadline(DeadlineKind.SURRENDER_DUE, YEAR)
    assert surrender_due is not None and SURRENDER_AT < surrender_due.due < DEADLINE_PASSED_AT
    assert regime.penalty.kind is PenaltyKind.FIXED_PER_TONNE and regime.penalty.make_good
    assert EUA in regime.surrender.eligible_unit_types, regime.surrender


# ---------------------------------------------------------------- the workload


@dataclass(frozen=True, slots=True)
class Entity:
    entity_id: str
    report: EmissionsReport
    obligation_t: int
    allocation_t: int
    surrender_t: int
    verifier: int  # index of the verifier that signs its statement

    @property
    def shortfall_t(self) -> int:
        return self.obligation_t - self.surrender_t


def make_workload(seed: int, entities: int, regime: Regime) -> list[Entity]:
    """Draw every entity's emissions, allocation and surrender from `random.Random(seed)`."""
    rng = random.Random(seed)
    drawn = []
    for index in range(entities):
        entity_id = f"EU{index:05d}"  # also the account label: no '-'
        co2_t = 10 ** rng.uniform(3.5, 6.5)
        direct_kg = {Gas.CO2: round(co2_t * 1_000)}
        if rng.random() < N2O_SHARE:
            direct_kg[Gas.N2O] = round(co2_t * rng.uniform(0.0001, 0.01))  # kg of N2O
        if rng.random() < CH4_SHARE:
            direct_kg[Gas.CH4] = round(co2_t * rng.uniform(0.01, 0.1))  # kg of CH4
        report = EmissionsReport(entity_id, YEAR, direct_kg)
        obligation_t = report.covered_t(regime)
        if rng.random() < SHORT_SHARE:
            allocation_t = max(1, math.floor(obligation_t * rng.uniform(0.5, 0.95)))
            surrender_t = allocation_t
        else:
            allocation_t = math.ceil(obligation_t * rng.uniform(1.0, 1.2))
            surrender_t = obligation_t
        drawn.append(
            Entity(entity_id, report, obligation_t, allocation_t, surrender_t, index % VERIFIERS)
        )
    return drawn


def seeded_key(rng: random.Random) -> SigningKey:
    """Return a signing key drawn from `rng`, so a run is reproducible."""
    return SigningKey(Ed25519PrivateKey.from_private_bytes(rng.randbytes(32)))


# ---------------------------------------------------------------- set-up


@dataclass(slots=True)
class World:
    registry: Registry
    book: ComplianceBook
    clock: SimulatedClock
    verifier_ids: list[str]
    verifier_keys: list[SigningKey]


def set_up(
    url: str, seed: int, regime: Regime, workload: list[Entity], journaled_book: bool
) -> World:
    """Found the registry and the book, open the accounts, register entities and verifiers;
    commit."""
    rng = random.Random(seed + 1)
    clock = SimulatedClock(SETUP_AT)
    key = seeded_key(rng)
    registry = Registry.create(
        make_engine(url),
        regime.registry_code,
        "EU registry (benchmark)",
        key,
        clock=clock,
        unit_types=[UnitType(EUA, UnitKind.ALLOWANCE, regime.registry_code, "EU Allowance")],
        group_commit=GroupCommit(),
    )
    if journaled_book:
        book = ComplianceBook.create(registry, regime, key, group_commit=GroupCommit())
    else:
        book = ComplianceBook(registry, regime)
    gases = frozenset({Gas.CO2, Gas.CH4, Gas.N2O})
    for entity in workload:
        account = registry.open_account(
            AccountKind.COMPLIANCE, f"Operator of {entity.entity_id}", entity.entity_id
        ).account_id
        plan = MonitoringPlan(entity.entity_id, gases, False, "calculation")
        book.register_entity(entity.entity_id, f"Installation {entity.entity_id}", account, plan)
    verifier_ids = [f"V-{number}" for number in range(1, VERIFIERS + 1)]
    verifier_keys = [seeded_key(rng) for _ in verifier_ids]
    for verifier_id, verifier_key in zip(verifier_ids, verifier_keys, strict=True):
        book.accredit_verifier(
            Verifier(verifier_id, f"Verifier {verifier_id}", verifier_key.verify_key)
        )
    book.flush()
    return World(registry, book, clock, verifier_ids, verifier_keys)


# ---------------------------------------------------------------- the cycle


def timed(phase: str, seconds: dict[str, float], action: Callable[[], Any]) -> Any:
    """Run `action`, store its time under `phase`, return its result."""
    gc.collect()
    started = time.perf_counter()
    result = action()
    seconds[phase] = time.perf_counter() - started
    return result


def run_cycle(
    world: World, regime: Regime, workload: list[Entity]
) -> tuple[dict[str, float], list[PeriodOutcome], list[VerificationStatement]]:
    """Run the annual cycle phase by phase; return each phase's seconds and what it produced."""
    book, clock = world.book, world.clock
    seconds: dict[str, float] = {}

    clock.set(ALLOCATE_AT)
    allocations = {entity.entity_id: entity.allocation_t for entity in workload}
    timed("allocate", seconds, lambda: book.allocate(YEAR, allocations))

    clock.set(REPORT_AT)

    def report() -> None:
        submit = book.submit_report
        for entity in workload:
            submit(entity.report)

    timed("report", seconds, report)

    def sign() -> list[VerificationStatement]:
        keys, ids = world.verifier_keys, world.verifier_ids
        return [
            sign_verification(keys[entity.verifier], ids[entity.verifier], entity.report, regime)
            for entity in workload
        ]

    statements: list[VerificationStatement] = timed("sign", seconds, sign)

    def record() -> None:
        record_verification = book.record_verification
        for statement in statements:
            record_verification(statement)

    timed("record", seconds, record)

    clock.set(SURRENDER_AT)

    def surrender() -> None:
        for entity in workload:
            book.surrender(entity.entity_id, YEAR, [SurrenderRequest(EUA, entity.surrender_t)])

    timed("surrender", seconds, surrender)

    clock.set(DEADLINE_PASSED_AT)
    outcomes: list[PeriodOutcome] = timed("deadline", seconds, book.advance)
    timed("flush", seconds, book.flush)
    return seconds, outcomes, statements


def check_outcomes(world: World, workload: list[Entity], outcomes: list[PeriodOutcome]) -> int:
    """Assert every entity's outcome is what the workload planned; return the shortfalls."""
    assert len(outcomes) == len(workload), (len(outcomes), len(workload))
    by_entity = {outcome.entity_id: outcome for outcome in outcomes}
    fine_per_t_minor = world.book.regime.penalty.fixed_per_t_minor
    shortfalls = 0
    for entity in workload:
        outcome = by_entity[entity.entity_id]
        assert outcome.period == YEAR and not outcome.estimated, outcome
        assert outcome.obligation_t == entity.obligation_t, outcome
        assert outcome.shortfall_t == entity.shortfall_t, (outcome, entity)
        assert outcome.penalty.fine_minor == entity.shortfall_t * fine_per_t_minor
        assert world.book.carried_t(entity.entity_id) == entity.shortfall_t  # make-good
        expected = Status.SHORTFALL if entity.shortfall_t else Status.COMPLIANT
        assert outcome.status is expected, outcome
        shortfalls += entity.shortfall_t > 0
    world.registry.check_conservation()
    assert world.registry.journal.committed_seq == world.registry.journal.seq
    journal = world.book.journal
    assert journal is None or journal.committed_seq == journal.seq
    return shortfalls


# ---------------------------------------------------------------- signatures alone


def bench_verify(world: World, statements: list[VerificationStatement]) -> dict[str, float]:
    """Time Ed25519 verification alone, then with the statement's canonical encoding."""
    keys = [key.verify_key for key in world.verifier_keys]
    index = {verifier_id: number for number, verifier_id in enumerate(world.verifier_ids)}
    work = [
        (keys[index[statement.verifier_id]], statement.signature, statement.signed_bytes())
        for statement in statements
    ]
    gc.collect()
    started = time.perf_counter()
    valid = sum(key.verify(signature, data) for key, signature, data in work)
    raw_s = time.perf_counter() - started
    assert valid == len(work), "every statement was signed by its verifier"
    started = time.perf_counter()
    valid = sum(statement.verifies(keys[index[statement.verifier_id]]) for statement in statements)
    encoded_s = time.perf_counter() - started
    assert valid == len(statements)
    return {"raw": len(work) / raw_s, "with_encoding": len(statements) / encoded_s}


# ---------------------------------------------------------------- main


def book_seq(world: World) -> int:
    journal = world.book.journal
    return 0 if journal is None else journal.committed_seq


def ratio(value: float, target: float, higher_is_better: bool) -> float:
    return round(value / target if higher_is_better else target / value, 3)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a fast smoke run (1,000 entities)")
    parser.add_argument("--seed", type=int, default=20_240_930, help="workload seed")
    parser.add_argument(
        "--entities", type=int, default=None, help="override the number of entities"
    )
    parser.add_argument(
        "--unjournaled-book",
        action="store_true",
        help="keep the compliance book in memory only (the registry is journaled either way)",
    )
    args = parser.parse_args(argv)

    entities = args.entities or (ENTITIES_QUICK if args.quick else ENTITIES_FULL)
    statements_max = VERIFY_STATEMENTS_QUICK if args.quick else VERIFY_STATEMENTS_FULL
    load_before = os.getloadavg()[0]
    print(
        f"etslink compliance benchmark: python {platform.python_version()}, "
        f"{os.cpu_count()} cores, seed {args.seed}, {entities:,} entities, period {YEAR}"
        f"{' (quick)' if args.quick else ''}; load average {load_before:.2f}"
    )
    regime, source = load_regime()
    check_regime(regime)
    print(f"regime   : {source}")
    if not any(code != EUA for code in regime.surrender.eligible_unit_types):
        print(f"offsets  : none surrendered ({regime.key} admits only {EUA})")
    workload = make_workload(args.seed, entities, regime)
    short = sum(entity.shortfall_t > 0 for entity in workload)

    with tempfile.TemporaryDirectory(prefix="etslink_bench_") as scratch:
        url = f"sqlite:///{Path(scratch) / 'registry.db'}"
        started = time.perf_counter()
        world = set_up(url, args.seed, regime, workload, not args.unjournaled_book)
        setup_s = time.perf_counter() - started
        print(
            f"set-up   : {entities:,} compliance accounts and entities, {VERIFIERS} verifiers "
            f"in {setup_s:.2f} s (not timed in the cycle); the book is "
            f"{'in memory only' if args.unjournaled_book else 'journaled to SQLite'}"
        )
        seq_before = world.registry.journal.committed_seq
        book_seq_before = book_seq(world)
        snapshot_before = world.registry.snapshot_seq
        seconds, outcomes, statements = run_cycle(world, regime, workload)
        cycle_s = sum(seconds.values())
        shortfalls = check_outcomes(world, workload, outcomes)
        assert shortfalls == short, (shortfalls, short)
        events = world.registry.journal.committed_seq - seq_before
        book_events = book_seq(world) - book_seq_before
        snapshotted = world.registry.snapshot_seq != snapshot_before
        for phase in PHASES:
            print(
                f"  {phase:<10} {seconds[phase]:7.3f} s  "
                f"{entities / seconds[phase]:>10,.0f} entities/s"
            )
        print(
            f"cycle    : {cycle_s:.3f} s for {entities:,} entities ({short:,} short, "
            f"{events:,} registry and {book_events:,} book events committed"
            f"{', flush took a snapshot' if snapshotted else ''})"
        )
        verify = bench_verify(world, statements[:statements_max])
        print(
            f"verify   : {min(len(statements), statements_max):,} statements: Ed25519 alone "
            f"{verify['raw']:,.0f}/s, with the statement's canonical encoding "
            f"{verify['with_encoding']:,.0f}/s"
        )
        world.registry.close()

    full_size = entities == ENTITIES_FULL
    result: dict[str, Any] = {
        "seed": args.seed,
        "quick": args.quick,
        "entities": entities,
        "regime": regime.key,
        "regime_source": source,
        "short_entities": short,
        "cycle_events": events,
        "cycle_book_events": book_events,
        "book_journaled": not args.unjournaled_book,
        "setup_s": round(setup_s, 3),
        "cycle_s": round(cycle_s, 3),
        "cycle_10k_entities_s": round(cycle_s, 3) if full_size else None,
        "verify_signatures_per_s": round(verify["raw"]),
        "verify_statements_per_s": round(verify["with_encoding"]),
        "target_cycle_10k_entities_s": TARGET_CYCLE_10K_S,
    }
    for phase in PHASES:
        result[f"phase_{phase}_s"] = round(seconds[phase], 4)
    cycle_ratio = ratio(cycle_s, TARGET_CYCLE_10K_S, False)
    result["ratio_cycle_10k_entities"] = cycle_ratio if full_size else None
    result["ratio_cycle_at_size"] = cycle_ratio
    verdict = ("met" if cycle_ratio >= 1 else "NOT met") if full_size else "n/a (not 10,000)"
    print("targets  :")
    print(
        f"  cycle_10k_entities_s {cycle_s:>9.3f} <= {TARGET_CYCLE_10K_S:<6} "
        f"ratio {cycle_ratio}  {verdict}"
    )
    # Other processes on the machine slow every figure: read them with the load.
    result["load_average_1min"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    result["targets_met"] = cycle_ratio >= 1 if full_size else None
    print(json.dumps(result, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
