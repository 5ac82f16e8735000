"""`etslink verify SCENARIO`: check a scenario's rules with Hypothesis state machines.

The result prints as a summary that fits the terminal, or with `--json` every
figure (and the counter-example's replay script), `--csv` one row per invariant.

Exit codes: 0 every invariant held; 1 a counter-example was found (printed,
shrunk and replayable); 2 the scenario file or an option is wrong (the
message names the file, key and what was expected).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click

from etslink.cli.output import Column, Report, Section, emit, format_options
from etslink.cli.support import EXIT_USAGE, SCENARIO, console, fail, guarded, seed_option
from etslink.scenario import load_scenario
from etslink.verify.machine import (
    EXAMPLES_MAX,
    INVARIANTS,
    STEPS_MAX,
    VerificationResult,
    verify,
)

EXIT_COUNTER_EXAMPLE = 1
EXAMPLES_DEFAULT = 100
STEPS_DEFAULT = 20

_INVARIANT_TEXT = {
    "conservation": "every issued serial in exactly one place (registries, gateway, exchange); "
    "reconciliations agree",
    "link-rules": "transfers only over active links in effect, in a permitted direction, "
    "of listed unit types, within period caps and per-transfer limits",
    "surrender-caps": "surrenders within the regime's offset / international limits and the "
    "links' foreign share caps",
    "admission": "no unit reaches a registry whose regime does not admit it",
}


@click.command("verify")
@click.argument("scenario_path", metavar="SCENARIO", type=SCENARIO)
@click.option(
    "--examples",
    type=click.IntRange(1, EXAMPLES_MAX),
    default=EXAMPLES_DEFAULT,
    show_default=True,
    help="How many random step sequences to try (shrinking a counter-example runs more).",
)
@click.option(
    "--steps",
    type=click.IntRange(1, STEPS_MAX),
    default=STEPS_DEFAULT,
    show_default=True,
    help="At most this many steps in each sequence.",
)
@seed_option
@format_options()
def verify_command(
    scenario_path: Path, examples: int, steps: int, seed: int | None, fmt: str | None
) -> None:
    """Check SCENARIO's registries, links and rules against etslink's invariants.

    Runs random transfers, trades, reports, surrenders, link suspensions,
    time jumps and (with [faults]) message faults; prints the shortest
    sequence of steps that breaks an invariant, if there is one.
    """
    with guarded():
        scenario = load_scenario(scenario_path)
        started = time.perf_counter()  # wall time for the summary only, never for the checks
        try:
            result = verify(scenario, examples, steps, seed)
        except ValueError as error:
            fail(EXIT_USAGE, f"{scenario_path}: verify cannot drive this scenario: {error}")
        elapsed_s = time.perf_counter() - started
    if fmt:
        emit(_report(scenario.name, result, elapsed_s), fmt)
    else:
        emit(Report("verify", [_summary_section(scenario.name, result, elapsed_s)]), None)
        console.print()
        if result.passed:
            console.print(
                f"[bold green]passed[/]: every invariant held in {result.examples_run:,} examples",
                highlight=False,
            )
        else:
            _print_counter_example(result)
    if not result.passed:
        raise SystemExit(EXIT_COUNTER_EXAMPLE)


def _summary_section(name: str, result: VerificationResult, elapsed_s: float) -> Section:
    rows = [
        ("scenario", result.scenario),
        ("machine", f"VerifyMachine, {len(result.rules)} rules: {', '.join(result.rules)}"),
        *((f"invariant {invariant}", _INVARIANT_TEXT[invariant]) for invariant in INVARIANTS),
        (
            "budget",
            f"{result.examples_max:,} examples of up to {result.steps_max:,} steps, "
            f"seed {result.seed}",
        ),
        ("ran", f"{result.examples_run:,} examples in {elapsed_s:.1f} s"),
        ("activity", ", ".join(f"{what} {count:,}" for what, count in result.activity)),
    ]
    columns = [Column("what", "what", "id"), Column("value", "value")]
    return Section(
        "summary",
        [{"what": what, "value": value} for what, value in rows],
        columns,
        title=f"etslink verify: {name}",
    )


def _report(name: str, result: VerificationResult, elapsed_s: float) -> Report:
    """Return the run's figures for tools: one row per invariant, the rest as fields."""
    invariants = [
        {
            "invariant": invariant,
            "held": result.invariant != invariant,
            "meaning": _INVARIANT_TEXT[invariant],
        }
        for invariant in INVARIANTS
    ]
    columns = [
        Column("invariant", "invariant", "id"),
        Column("held", "held", "id"),
        Column("meaning", "meaning"),
    ]
    extra: dict[str, Any] = {
        "name": name,
        "scenario": result.scenario,
        "passed": result.passed,
        "seed": result.seed,
        "examples_max": result.examples_max,
        "steps_max": result.steps_max,
        "examples_run": result.examples_run,
        "elapsed_s": round(elapsed_s, 3),
        "rules": list(result.rules),
        "activity": {what.replace(" ", "_"): count for what, count in result.activity},
        "counter_example": None
        if result.passed
        else {
            "invariant": result.invariant,
            "detail": result.detail,
            "explanation": result.explanation,
            "rule_calls": _step_count(result),
            "steps": list(result.steps),
            "replay_script": result.replay_script(),
        },
    }
    return Report("verify", [Section("invariants", invariants, columns)], extra)


def _print_counter_example(result: VerificationResult) -> None:
    console.print(f"[bold red]counter-example[/]: invariant {result.invariant}", highlight=False)
    console.print(f"  found: {result.detail}", highlight=False, markup=False)
    console.print(f"  what it means: {result.explanation}", highlight=False, markup=False)
    console.print(
        f"  shrunk steps ({_step_count(result)} rule calls; invariants_hold() is the check "
        "run after each step). Replay them in Python:",
        highlight=False,
    )
    console.print(result.replay_script(), highlight=False, markup=False, soft_wrap=True)


def _step_count(result: VerificationResult) -> int:
    ignored = ("state = ", "state.invariants_hold(", "state.teardown(")
    return sum(1 for line in result.steps if not line.startswith(ignored))


__all__ = ["EXIT_COUNTER_EXAMPLE", "verify_command"]
