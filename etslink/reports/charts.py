"""PNG charts of a run: price paths, compliance outcomes and flows across links.

`write_charts(result, run)` writes into the run's out dir:

- `price_paths.png`: each book's daily settlement price (settlements.csv), converted into
  the scenario's currency so linked books share one axis, in major units per tonne; a
  line breaks where a book went unpriced for more than three weeks.
- `compliance.png`: compliant and short entities per registry and year (summary.json's
  `registries.<code>.years.<year>` counts).
- `flows.png`: tonnes settled across registries per year, by direction (an exchange trade
  whose buyer is a member of another registry than the instrument's); a run with no
  such trade gets a chart that says "no cross-registry flows".

Deterministic: matplotlib's Agg canvas without pyplot's global state, a fixed size and
dpi, the bundled DejaVu font, and no Software entry in the PNG metadata (matplotlib
writes no timestamp into PNGs), so the same run gives the same bytes. Charts are
display only: the floats they plot are read from the exact reports, never fed back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from compliance.presets import CURRENCY_MINOR_DIGITS
from etslink.sim.record import RunRecord, settled

if TYPE_CHECKING:
    from matplotlib.figure import Figure

FIGURE_SIZE_IN = (8.0, 4.5)
DPI = 100
PNG_METADATA: dict[str, Any] = {"Software": None}  # keep the bytes free of the version
SERIES_MAX = 50  # markets or bars drawn on one chart; more are left out and the title says so

Flows = dict[tuple[str, str], dict[int, int]]  # (from registry, to registry) → year → t


def _figure(title: str) -> tuple[Figure, Any]:
    # The Agg canvas directly, not pyplot: no display, no global backend switched on. Imported
    # here, not at module level: every `etslink` command would otherwise pay for matplotlib.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=FIGURE_SIZE_IN, dpi=DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.set_title(title)
    return figure, axes


def _save(figure: Figure, path: Path) -> Path:
    figure.tight_layout()
    figure.savefig(path, format="png", dpi=DPI, metadata=PNG_METADATA)
    return path


def _empty(axes: Any, text: str) -> None:
    axes.text(0.5, 0.5, text, ha="center", va="center", transform=axes.transAxes)
    axes.set_xticks([])
    axes.set_yticks([])


PricePoint = tuple[date, float]
GAP_DAYS_MAX = 21  # a line breaks where a book has no price for longer than this


def settled_series(record: RunRecord, into: str | None = None) -> dict[str, list[PricePoint]]:
    """Return each book's daily settlement prices for plotting, in major units per tonne.

    In `into`'s currency when given (the scenario's: linked books then share one axis),
    else each book's own. Display only: floats read off the exact record.
    """
    series: dict[str, list[PricePoint]] = {}
    # a book whose venue's programme ended (`[[exits]]`) has no price after the exit
    ends = {item.registry: item.day for item in record.exits}
    for row in record.settlements:
        if row.settle_minor is None:
            continue
        book = record.books[row.instrument]
        if book.registry in ends and row.day >= ends[book.registry]:
            continue
        currency = into or book.currency
        factor = record.scenario.fx.minor_factor(book.currency, currency)
        major = row.settle_minor * float(factor) / 10 ** CURRENCY_MINOR_DIGITS[currency]
        series.setdefault(row.instrument, []).append((date.fromisoformat(row.day), major))
    return series


def _with_gaps(points: Sequence[PricePoint]) -> tuple[list[date], list[float]]:
    """Return the points as x and y, with a NaN where the book went unpriced for weeks, so a
    line never bridges a stretch without prices."""
    days: list[date] = []
    values: list[float] = []
    for index, (day, value) in enumerate(points):
        if index and (day - points[index - 1][0]).days > GAP_DAYS_MAX:
            days.append(points[index - 1][0])
            values.append(float("nan"))
        days.append(day)
        values.append(value)
    return days, values


def price_paths_chart(record: RunRecord, path: Path) -> Path:
    """Plot each book's daily settlement price in the scenario's currency, major units."""
    currency = record.scenario.currency
    figure, axes = _figure(f"Daily settlement price per book ({currency} per t)")
    series = settled_series(record, currency)
    if not series:
        _empty(axes, "no prices")
        return _save(figure, path)
    for code in sorted(series)[:SERIES_MAX]:
        days, values = _with_gaps(series[code])
        own = record.books[code].currency
        label = code if own == currency else f"{code} (from {own})"
        axes.plot(days, values, label=label, linewidth=1)
    axes.set_ylabel(f"{currency} per t")
    axes.legend(loc="best", fontsize="small")
    figure.autofmt_xdate()
    return _save(figure, path)


def compared_price_paths_chart(runs: Sequence[tuple[str, RunRecord]], path: Path) -> Path:
    """Plot several runs' settlement prices on one chart: each run its own line style.

    `runs` holds (label, record) per run, in the first run's scenario currency; the first
    run's lines are solid, the second's dashed, and so on, each book keeping its colour.
    """
    currency = runs[0][1].scenario.currency
    title = "Daily settlement price: " + " vs ".join(label for label, _ in runs)
    figure, axes = _figure(title)
    styles = ("-", "--", ":", "-.")
    books = sorted({code for _, record in runs for code in record.books})[:SERIES_MAX]
    colours = {code: f"C{index % 10}" for index, code in enumerate(books)}
    drawn = False
    for index, (label, record) in enumerate(runs):
        series = settled_series(record, currency)
        for code in sorted(series):
            if code not in colours:
                continue
            days, values = _with_gaps(series[code])
            axes.plot(
                days,
                values,
                styles[index % len(styles)],
                color=colours[code],
                label=f"{code}, {label}",
                linewidth=1,
            )
            drawn = True
    if not drawn:
        _empty(axes, "no prices")
        return _save(figure, path)
    axes.set_ylabel(f"{currency} per t")
    axes.legend(loc="best", fontsize="small")
    figure.autofmt_xdate()
    return _save(figure, path)


def compliance_chart(registries: Mapping[str, Any], path: Path) -> Path:
    """Plot compliant vs short entities per registry and year, stacked."""
    figure, axes = _figure("Compliance outcomes: entities per registry and year")
    labels: list[str] = []
    compliant: list[int] = []
    short: list[int] = []
    for code in sorted(registries):
        for year, row in sorted(registries[code]["years"].items()):
            entities = row.get("entities", 0)
            if entities == 0:
                continue
            labels.append(f"{code} {year}")
            compliant.append(row.get("compliant_entities", 0))
            short.append(entities - row.get("compliant_entities", 0))
    labels, compliant, short = labels[:SERIES_MAX], compliant[:SERIES_MAX], short[:SERIES_MAX]
    if not labels:
        _empty(axes, "no compliance deadline reached")
        return _save(figure, path)
    positions = list(range(len(labels)))
    axes.bar(positions, compliant, label="compliant", color="tab:green")
    axes.bar(positions, short, bottom=compliant, label="short", color="tab:red")
    axes.set_xticks(positions, labels, rotation=45, ha="right", fontsize="small")
    axes.set_ylabel("entities")
    axes.legend(loc="best", fontsize="small")
    return _save(figure, path)


def flows_chart(flows: Flows, path: Path) -> Path:
    """Plot tonnes settled across registries per year, one bar group per direction."""
    figure, axes = _figure("Settled cross-registry flows (t per year)")
    if not flows:
        _empty(axes, "no cross-registry flows (no link carried a trade)")
        return _save(figure, path)
    years = sorted({year for by_year in flows.values() for year in by_year})
    directions = sorted(flows)[:SERIES_MAX]
    width = 0.8 / len(directions)
    for index, direction in enumerate(directions):
        positions = [k + index * width for k in range(len(years))]
        heights = [flows[direction].get(year, 0) for year in years]
        axes.bar(positions, heights, width=width, label=f"{direction[0]} → {direction[1]}")
    axes.set_xticks(
        [k + width * (len(directions) - 1) / 2 for k in range(len(years))], [str(y) for y in years]
    )
    axes.set_ylabel("t")
    axes.legend(loc="best", fontsize="small")
    return _save(figure, path)


def cross_registry_flows(record: RunRecord) -> Flows:
    """Return settled tonnes per (venue registry → buyer's registry) and year."""
    flows: Flows = {}
    for trade in record.trades:
        if not settled(trade) or trade.venue == trade.buyer_registry or not trade.day:
            continue
        by_year = flows.setdefault((trade.venue, trade.buyer_registry), {})
        year = int(trade.day[:4])
        by_year[year] = by_year.get(year, 0) + trade.quantity_t
    return flows


def write_charts(record: RunRecord, summary: Mapping[str, Any], out: Path) -> list[Path]:
    """Write the three charts into `out`; return their paths."""
    return [
        price_paths_chart(record, out / "price_paths.png"),
        compliance_chart(summary["registries"], out / "compliance.png"),
        flows_chart(cross_registry_flows(record), out / "flows.png"),
    ]


__all__ = [
    "compared_price_paths_chart",
    "compliance_chart",
    "cross_registry_flows",
    "flows_chart",
    "price_paths_chart",
    "write_charts",
]
