"""`etslink verify SCENARIO`: check a scenario's rules with Hypothesis state machines.

Exit codes: 0 every invariant held; 1 a counter-example was found (printed,
shrunk and replayable); 2 the scenario file or an option is wrong (the
message names the file, key and what was expected).
"""

from __future__ import annotations

import time
from pathlib import Path

import click
from rich import box
from rich.table import Table

from etslink.cli.support import EXIT_USAGE, console, fail, guarded
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
@click.argument(
    "scenario_path",
    metavar="SCENARIO",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
)
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
@click.option(
    "--seed",
    type=click.IntRange(0, 2**63 - 1),
    default=None,
    help="Seed of Hypothesis's search (default: the scenario's seed). Same seed, same output.",
)
def verify_command(scenario_path: Path, examples: int, steps: int, seed: int | None) -> None:
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
    _print_summary(scenario.name, result, elapsed_s)
    if result.passed:
        console.print(
            f"[bold green]passed[/]: every invariant held in {result.examples_run:,} examples",
            highlight=False,
        )
        return
    _print_counter_example(result)
    raise SystemExit(EXIT_COUNTER_EXAMPLE)


def _print_summary(name: str, result: VerificationResult, elapsed_s: float) -> None:
    table = Table(
        title=f"etslink verify: {name}",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_header=False,
        pad_edge=False,
    )
    table.add_column("what", style="bold")
    table.add_column("value", overflow="fold")
    table.add_row("scenario", result.scenario)
    table.add_row("machine", f"VerifyMachine, {len(result.rules)} rules: {', '.join(result.rules)}")
    for invariant in INVARIANTS:
        table.add_row(f"invariant {invariant}", _INVARIANT_TEXT[invariant])
    table.add_row(
        "budget",
        f"{result.examples_max:,} examples of up to {result.steps_max:,} steps, seed {result.seed}",
    )
    table.add_row("ran", f"{result.examples_run:,} examples in {elapsed_s:.1f} s")
    table.add_row("activity", ", ".join(f"{name} {count:,}" for name, count in result.activity))
    console.print(table, highlight=False)


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
