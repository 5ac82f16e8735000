"""`etslink assess-link A B`: how compatible two jurisdiction presets are for a link."""

from __future__ import annotations

import json

import click
from rich.table import Table

from compliance.presets import YEAR_MAX, YEAR_MIN, list_presets, load_preset
from etslink.cli.support import console, guarded
from etslink.link_assessment import ASSESSMENT_YEAR_DEFAULT, LinkAssessment, Verdict, assess_link

_STYLES = {
    Verdict.COMPATIBLE: "green",
    Verdict.NEEDS_HARMONISATION: "yellow",
    Verdict.BARRIER: "bold red",
    Verdict.UNKNOWN: "dim",
}


@click.command("assess-link")
@click.argument("a")
@click.argument("b")
@click.option(
    "--year",
    type=click.IntRange(YEAR_MIN, YEAR_MAX),
    default=ASSESSMENT_YEAR_DEFAULT,
    show_default=True,
    help="The year whose offset limits and price paths are compared.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the assessment as JSON.")
def assess_link_command(a: str, b: str, year: int, as_json: bool) -> None:
    """Assess a link between presets A and B (keys as 'etslink jurisdictions' lists them)."""
    if a == b:
        raise click.UsageError(f"A and B are both {a!r}; a link needs two different presets")
    with guarded():
        known = list_presets()
    for name, key in (("A", a), ("B", b)):
        if key not in known:
            raise click.BadParameter(
                f"no preset {key!r}; presets: {', '.join(known)}", param_hint=name
            )
    with guarded():
        regime_a, regime_b = load_preset(a), load_preset(b)
    assessment = assess_link(regime_a, regime_b, year)
    if as_json:
        click.echo(json.dumps(assessment.to_data(), indent=2, ensure_ascii=False))
        return
    _print(assessment, regime_a.name, regime_b.name)


def _print(assessment: LinkAssessment, name_a: str, name_b: str) -> None:
    table = Table(
        title=f"Link assessment: {name_a} ({assessment.a_key}) ↔ {name_b} ({assessment.b_key}), "
        f"as of {assessment.year}",
        title_justify="left",
        expand=True,
    )
    # Ratios share the width out so the why stays readable on an 80-column terminal.
    table.add_column("point", ratio=2, overflow="fold")
    table.add_column(assessment.a_key, ratio=3, overflow="fold")
    table.add_column(assessment.b_key, ratio=3, overflow="fold")
    table.add_column("verdict", ratio=2, overflow="fold")
    table.add_column("why", ratio=5, overflow="fold")
    for point in assessment.points:
        style = _STYLES[point.verdict]
        table.add_row(
            point.title,
            point.a.shown(),
            point.b.shown(),
            f"[{style}]{point.verdict.value}[/]",
            point.why,
        )
    console.print(table, highlight=False)
    counts = ", ".join(f"{verdict.value} {count}" for verdict, count in assessment.counts().items())
    console.print(f"[bold]Summary[/]: {counts}", highlight=False)
    console.print(f"[bold]Recommendation[/]: {assessment.recommendation}", highlight=False)
    console.print(
        "[U]: a compared value the preset lists as unverified; "
        "'etslink jurisdictions show KEY' lists them.",
        highlight=False,
        markup=False,
    )
