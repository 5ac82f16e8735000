"""`etslink assess-link A B`: how compatible two jurisdiction presets are for a link.

The table (point, each side's value, verdict) fits the terminal, and each
point's why follows it as a paragraph; `--json` and `--csv` give every point's
fields.
"""

from __future__ import annotations

from typing import Any

import click

from compliance.presets import YEAR_MAX, YEAR_MIN, list_presets, load_preset
from etslink.cli.output import Column, Report, Section, emit, format_options
from etslink.cli.support import EXIT_USAGE, fail, guarded
from etslink.link_assessment import ASSESSMENT_YEAR_DEFAULT, LinkAssessment, LinkPoint, assess_link

_U_NOTE = (
    "[U]: a compared value the preset lists as unverified; "
    "'etslink jurisdictions show KEY' lists them."
)


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
@format_options()
def assess_link_command(a: str, b: str, year: int, fmt: str | None) -> None:
    """Assess a link between presets A and B (keys as 'etslink jurisdictions' lists them)."""
    if a == b:
        fail(EXIT_USAGE, f"A and B are both {a!r}; a link needs two different presets")
    with guarded():
        known = list_presets()
    for name, key in (("A", a), ("B", b)):
        if key not in known:
            fail(EXIT_USAGE, f"{name}: no preset {key!r}; presets: {', '.join(known)}")
    with guarded():
        regime_a, regime_b = load_preset(a), load_preset(b)
    assessment = assess_link(regime_a, regime_b, year)
    emit(_report(assessment, regime_a.name, regime_b.name), fmt)


def _report(assessment: LinkAssessment, name_a: str, name_b: str) -> Report:
    counts = {verdict.value: count for verdict, count in assessment.counts().items()}
    shown_counts = ", ".join(f"{verdict} {count}" for verdict, count in counts.items())
    columns = [
        Column("title", "point"),
        Column("a_shown", assessment.a_key, drop=2),
        Column("b_shown", assessment.b_key, drop=1),
        Column("verdict", "verdict", "id"),
    ]
    # The why is long prose: it reads best as a paragraph per point below the table.
    whys = [f"{point.title} ({point.verdict.value}): {point.why}" for point in assessment.points]
    section = Section(
        "points",
        [_point_row(point) for point in assessment.points],
        columns,
        title=f"Link assessment: {name_a} ({assessment.a_key}) ↔ {name_b} "
        f"({assessment.b_key}), as of {assessment.year}",
        notes=[
            "",
            *whys,
            "",
            f"Summary: {shown_counts}",
            f"Recommendation: {assessment.recommendation}",
            _U_NOTE,
        ],
    )
    extra = {
        "a": assessment.a_key,
        "b": assessment.b_key,
        "a_name": name_a,
        "b_name": name_b,
        "year": assessment.year,
        "counts": counts,
        "recommendation": assessment.recommendation,
    }
    return Report("assess-link", [section], extra)


def _point_row(point: LinkPoint) -> dict[str, Any]:
    return {
        "key": point.key,
        "title": point.title,
        "verdict": point.verdict.value,
        "a_value": point.a.value,
        "a_unverified": point.a.unverified,
        "a_shown": point.a.shown(),
        "b_value": point.b.value,
        "b_unverified": point.b.unverified,
        "b_shown": point.b.shown(),
        "why": point.why,
    }


__all__ = ["assess_link_command"]
