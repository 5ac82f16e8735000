"""PNG charts of a run and of two runs compared, made to be read on a slide.

`write_charts(record, summary, out)` writes into the run's out dir:

- `price_paths.png`: each book's daily closing price (prices.csv's `close`), in major
  units per tonne of the book's own currency, one panel per currency (CHF and EUR never
  share an axis). A line joins only consecutive sessions that both traded (a dot marks
  each trading day): where nothing traded there is a gap, not a straight line. Auctions are
  marked at their clearing price (▼; a cancelled one ×); the days a link opened or
  closed and a programme ended are dashed vertical lines, surrender deadlines dotted.
- `compliance.png`: compliant and short entities per registry and compliance period.
- `flows.png`: tonnes settled across registries per year, by direction (an exchange trade
  whose buyer is a member of another registry than the instrument's); a run with no
  such trade gets a chart that says "no cross-registry flows".

`compared_price_paths_chart` draws `etslink compare`'s convergence chart.

Deterministic: matplotlib's Agg canvas without pyplot's global state, fixed sizes and
dpi, the bundled DejaVu font, and no Software entry in the PNG metadata (matplotlib
writes no timestamp into PNGs), so the same run gives the same bytes. Charts are
display only: the floats they plot are read from the exact record, never fed back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from compliance.calendar import DeadlineKind
from etslink.reports.figures import major, per_tonne
from etslink.sim.record import RunRecord, settled

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# matplotlib's stubs take no dates on the x axis, which its date converter handles: the
# charts talk to their axes untyped.
Axes = Any

WIDTH_IN = 11.0
PANEL_HEIGHT_IN = 3.6
TITLE_HEIGHT_IN = 0.9
DPI = 100
PNG_METADATA: dict[str, Any] = {"Software": None}  # keep the bytes free of the version
SERIES_MAX = 50  # markets or bars drawn on one chart; more are left out and the title says so
PANELS_MAX = 6  # currencies drawn on one chart, one panel each
GAP_SESSIONS = 1  # a line joins trading days at most this many sessions apart: no bridging
FONT_SIZE = 11
DAYS_APART_MAX = 14  # and never across more calendar days than this (a stretch without sessions)
MARKER_SIZE = 2.5  # a dot on each trading day: a day between two gaps still shows
AUCTIONS_MANY = 20  # a book with more auctions than this gets smaller, fainter markers

Flows = dict[tuple[str, str], dict[int, int]]  # (from registry, to registry) → year → t
PricePoint = tuple[date, float]


def _figure(panels: int = 1, height_in: float | None = None) -> tuple[Figure, list[Axes]]:
    # The Agg canvas directly, not pyplot: no display, no global backend switched on. Imported
    # here, not at module level: every `etslink` command would otherwise pay for matplotlib.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    height = height_in or TITLE_HEIGHT_IN + PANEL_HEIGHT_IN * panels
    figure = Figure(figsize=(WIDTH_IN, height), dpi=DPI)
    FigureCanvasAgg(figure)
    axes = [figure.add_subplot(panels, 1, index + 1) for index in range(panels)]
    for one in axes:
        one.tick_params(labelsize=FONT_SIZE - 1)
        one.grid(True, color="0.9", linewidth=0.8)
        one.set_axisbelow(True)
    return figure, axes


def _save(figure: Figure, path: Path) -> Path:
    figure.tight_layout()
    figure.savefig(path, format="png", dpi=DPI, metadata=PNG_METADATA)
    return path


def _empty(axes: Axes, text: str) -> None:
    axes.text(
        0.5, 0.5, text, ha="center", va="center", transform=axes.transAxes, fontsize=FONT_SIZE
    )
    axes.set_xticks([])
    axes.set_yticks([])


def _legend(axes: Axes) -> None:
    """Put the legend right of the panel: it never hides a line."""
    handles, _ = axes.get_legend_handles_labels()
    if handles:
        axes.legend(
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
            fontsize=FONT_SIZE - 2,
            frameon=False,
        )


# ---------------------------------------------------------------- price series


def session_days(record: RunRecord) -> list[date]:
    """Return the run's trading sessions, in order (each day a book closed)."""
    return sorted({date.fromisoformat(row.day) for row in record.settlements})


def closing_series(
    record: RunRecord, book: str, into: str | None = None
) -> list[tuple[date, float]]:
    """Return the book's closing price on each day it traded, in major units per tonne of
    its currency (or of `into`, converted at the scenario's rates). Display only.

    A book whose venue's programme ended (`[[exits]]`) has no price after the exit.
    """
    info = record.books[book]
    ends = {item.registry: item.day for item in record.exits}
    currency = into or info.currency
    factor = record.scenario.fx.minor_factor(info.currency, currency)
    points = []
    for row in record.prices:
        if row.instrument != book or (info.registry in ends and row.day >= ends[info.registry]):
            continue
        value = major(row.close_minor * factor, currency, 2)
        assert value is not None
        points.append((date.fromisoformat(row.day), float(value)))
    return points


def with_gaps(
    points: Sequence[PricePoint], sessions: Sequence[date]
) -> tuple[list[date], list[float]]:
    """Return the points as x and y with a NaN between two trading days more than
    `GAP_SESSIONS` sessions (or `DAYS_APART_MAX` days) apart, so a line never bridges a
    stretch without trades."""
    index = {day: position for position, day in enumerate(sessions)}
    days: list[date] = []
    values: list[float] = []
    for position, (day, value) in enumerate(points):
        if position:
            before = points[position - 1][0]
            apart = index.get(day, 0) - index.get(before, 0)
            if apart > GAP_SESSIONS or (day - before).days > DAYS_APART_MAX:
                days.append(before)
                values.append(float("nan"))
        days.append(day)
        values.append(value)
    return days, values


def _events(record: RunRecord, first: date, last: date) -> list[tuple[date, str, str]]:
    """Return the run's dated events between `first` and `last`: (day, kind, label)."""
    events: list[tuple[date, str, str]] = []
    for link in record.scenario.links:
        for moment, what in ((link.effective_from, "opens"), (link.effective_to, "closes")):
            if moment is not None and first <= moment.date() <= last:
                events.append((moment.date(), "link", f"link {link.link_id} {what}"))
    for item in record.scenario.exits:
        if first <= item.day <= last:
            events.append((item.day, "exit", f"{item.registry} leaves its programme"))
    for registry in record.scenario.registries:
        calendar = registry.regime.calendar
        for period in calendar.periods(last.year):
            deadline = calendar.deadline(DeadlineKind.SURRENDER_DUE, period)
            due = None if deadline is None else _day(deadline.due)
            if due is not None and first <= due <= last:
                events.append((due, "deadline", f"{registry.code} surrender deadline"))
    return sorted(events)


def _day(moment: datetime | date) -> date:
    return moment.date() if isinstance(moment, datetime) else moment


EVENT_STYLES = {
    "link": {"color": "tab:purple", "linestyle": "--", "linewidth": 1.2},
    "exit": {"color": "tab:red", "linestyle": "--", "linewidth": 1.2},
    "deadline": {"color": "0.55", "linestyle": ":", "linewidth": 1.0},
}
EVENT_LEGEND = {
    "link": "link opens / closes",
    "exit": "programme exit",
    "deadline": "surrender deadline",
}


def _mark_events(axes: Axes, events: Iterable[tuple[date, str, str]]) -> None:
    """Draw each event as a vertical line; the legend names each kind once."""
    named: set[str] = set()
    for day, kind, label in events:
        style = EVENT_STYLES[kind]
        legend = EVENT_LEGEND[kind] if kind not in named else "_nolegend_"
        if kind == "link":
            legend = label  # each link's opening is worth its own entry
        named.add(kind)
        axes.axvline(day, label=legend, **style)


def _currencies(record: RunRecord) -> list[str]:
    return sorted({book.currency for book in record.books.values()})


def price_paths_chart(record: RunRecord, path: Path) -> Path:
    """Plot each book's daily closing price, one panel per currency (the module docstring)."""
    currencies = _currencies(record)[:PANELS_MAX]
    figure, panels = _figure(max(1, len(currencies)))
    figure.suptitle(f"{record.scenario.name}: daily closing price per book", fontsize=FONT_SIZE + 2)
    sessions = session_days(record)
    if not sessions or not record.prices:
        _empty(panels[0], "no trades: no prices")
        return _save(figure, path)
    events = _events(record, sessions[0], sessions[-1])
    books = sorted(record.books)[:SERIES_MAX]
    colours = {code: f"C{index % 10}" for index, code in enumerate(books)}
    for axes, currency in zip(panels, currencies, strict=False):
        closes: list[float] = []
        for code in books:
            if record.books[code].currency != currency:
                continue
            points = closing_series(record, code)
            closes += [value for _, value in points]
            days, values = with_gaps(points, sessions)
            if days:
                axes.plot(
                    days,
                    values,
                    color=colours[code],
                    linewidth=1.4,
                    marker="o",
                    markersize=MARKER_SIZE,
                    label=code,
                    zorder=2,
                )
            _mark_auctions(axes, record, code, colours[code])
        _mark_events(axes, events)
        _fit_prices(axes, closes)
        axes.set_ylabel(per_tonne(currency), fontsize=FONT_SIZE)
        axes.yaxis.set_major_formatter(_grouped())
        axes.set_title(f"books priced in {currency}", fontsize=FONT_SIZE, loc="left")
        axes.set_xlim(sessions[0], sessions[-1])
        _legend(axes)
    return _save(figure, path)


def _fit_prices(axes: Axes, closes: Sequence[float]) -> None:
    """Scale the price axis to the closing prices: an auction far off them (the first,
    before the book has a price) is left at the edge rather than flattening the lines."""
    if not closes:
        return
    low, high = min(closes), max(closes)
    pad = max((high - low) * 0.08, high * 0.02, 0.01)
    axes.set_ylim(max(0.0, low - pad), high + pad)


def _mark_auctions(axes: Axes, record: RunRecord, code: str, colour: str) -> None:
    """Mark the book's auctions at their clearing price: ▼ held, × cancelled."""
    currency = record.books[code].currency
    many = sum(a.instrument == code for a in record.auctions) > AUCTIONS_MANY
    for cancelled, marker, label in ((False, "v", "auction"), (True, "x", "auction cancelled")):
        points = [
            (date.fromisoformat(a.day), float(major(a.clearing_price_minor, currency) or 0))
            for a in record.auctions
            if a.instrument == code and a.cancelled is cancelled
        ]
        if points:
            axes.scatter(
                [day for day, _ in points],
                [value for _, value in points],
                marker=marker,
                s=12 if many else 30,
                color=colour,
                alpha=0.55 if many else 0.9,
                edgecolors="black" if not cancelled else None,
                linewidths=0.4,
                zorder=3,
                label=f"{code} {label}",
            )


# ---------------------------------------------------------------- compliance and flows


def compliance_chart(registries: Sequence[Mapping[str, Any]], path: Path) -> Path:
    """Plot compliant vs short entities per registry and period, stacked
    (summary.json's `registries` records)."""
    figure, (axes,) = _figure(1, height_in=5.0)
    axes.set_title("Compliance outcomes: entities per registry and period", fontsize=FONT_SIZE + 2)
    rows = [row for row in registries if row.get("entities")]
    rows = sorted(rows, key=lambda row: (row["registry"], row["year"]))[:SERIES_MAX]
    if not rows:
        _empty(axes, "no compliance deadline reached")
        return _save(figure, path)
    labels = [f"{row['registry']} {row['period']}" for row in rows]
    compliant = [row["compliant_entities"] for row in rows]
    short = [row["entities"] - row["compliant_entities"] for row in rows]
    positions = list(range(len(rows)))
    axes.bar(positions, compliant, label="compliant", color="tab:green")
    axes.bar(positions, short, bottom=compliant, label="short", color="tab:red")
    axes.set_xticks(positions, labels, rotation=45, ha="right", fontsize=FONT_SIZE - 1)
    axes.set_ylabel("entities", fontsize=FONT_SIZE)
    _legend(axes)
    return _save(figure, path)


def flows_chart(flows: Flows, path: Path, pairs: Sequence[Mapping[str, Any]] = ()) -> Path:
    """Plot tonnes settled across registries per year, one bar group per direction.

    With `pairs` (summary.json's `link_pairs`), each linked pair's net flow in the run
    (exporter → importer less the reverse) is marked over its year beside the
    benchmark's: what the class did against what the competitive equilibrium moves.
    """
    figure, (axes,) = _figure(1, height_in=5.0)
    axes.set_title("Settled cross-registry flows (t per year)", fontsize=FONT_SIZE + 2)
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
    centres = {year: k + width * (len(directions) - 1) / 2 for k, year in enumerate(years)}
    axes.set_xticks(list(centres.values()), [str(y) for y in years])
    _mark_net_flows(axes, pairs, centres)
    axes.set_ylabel("t", fontsize=FONT_SIZE)
    axes.yaxis.set_major_formatter(_thousands())
    _legend(axes)
    return _save(figure, path)


def _mark_net_flows(
    axes: Axes, pairs: Sequence[Mapping[str, Any]], centres: Mapping[int, float]
) -> None:
    """Mark each linked pair's net flow per year: the run's (dot) and the benchmark's (ring)."""
    by_way: dict[str, list[Mapping[str, Any]]] = {}
    for row in pairs:
        if row["year"] in centres and row.get("benchmark_flow_t") is not None:
            by_way.setdefault(f"{row['exporter']} → {row['importer']}", []).append(row)
    for way, rows in sorted(by_way.items())[:SERIES_MAX]:
        xs = [centres[row["year"]] for row in rows]
        benchmark = [row["benchmark_flow_t"] - row["benchmark_reverse_flow_t"] for row in rows]
        axes.plot(xs, [row["net_flow_t"] for row in rows], "o", color="black", label=f"net {way}")
        axes.plot(
            xs,
            benchmark,
            "o",
            markerfacecolor="none",
            markeredgecolor="black",
            markersize=12,
            label=f"net {way}, benchmark",
        )


def _grouped() -> Any:
    """Return a tick formatter that groups thousands: KRW 40,000, EUR 27.5."""
    from matplotlib.ticker import StrMethodFormatter

    return StrMethodFormatter("{x:,g}")


def _thousands() -> Any:
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda value, _: f"{value:,.0f}")


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


# ---------------------------------------------------------------- two runs compared


def home_book(record: RunRecord, code: str) -> str | None:
    """Return the book of `code`'s own allowance on its own venue, if listed."""
    unit = record.scenario.registry(code).regime.allowance_unit_type
    books = [b for b in record.books.values() if b.unit_type == unit and b.registry == code]
    return min((b.code for b in books), default=None)


def compared_price_paths_chart(
    runs: Sequence[tuple[str, RunRecord]],
    path: Path,
    benchmark: Mapping[tuple[str, int], float] | None = None,
    registries: Sequence[str] | None = None,
) -> Path:
    """Plot two runs' convergence: each registry's allowance price, and their spread.

    Top: each of `registries`' own allowance (default: every registry) at its daily
    close, converted into the first run's scenario currency (the title says which): the
    first run solid, the second dashed, each registry its colour, and the `benchmark`
    price per (registry, year) as a dotted step. Bottom: the spread between their prices
    (highest less lowest) on each day all of them traded, per run: linked markets' prices
    converge, unlinked ones stay apart.
    """
    currency = runs[0][1].scenario.currency
    figure, (prices, spread) = _figure(2)
    names = " vs ".join(label for label, _ in runs)
    figure.suptitle(
        f"{names}: allowance prices in {currency} (converted at the scenario's rates)",
        fontsize=FONT_SIZE + 1,
    )
    codes = sorted(registries or {r.code for _, record in runs for r in record.scenario.registries})
    colours = {code: f"C{index % 10}" for index, code in enumerate(codes[:SERIES_MAX])}
    styles = ("-", "--", ":", "-.")
    drawn = False
    for index, (label, record) in enumerate(runs):
        sessions = session_days(record)
        by_code: dict[str, dict[date, float]] = {}
        for code in colours:
            if code not in {r.code for r in record.scenario.registries}:
                continue
            book = home_book(record, code)
            if book is None:
                continue
            points = closing_series(record, book, currency)
            by_code[code] = dict(points)
            days, values = with_gaps(points, sessions)
            if days:
                prices.plot(
                    days,
                    values,
                    styles[index % len(styles)],
                    color=colours[code],
                    linewidth=1.2,
                    marker="o",
                    markersize=MARKER_SIZE - 0.5,
                    label=f"{code}, {label}",
                )
                drawn = True
        _plot_spread(spread, by_code, sessions, styles[index % len(styles)], label)
    if benchmark:
        _plot_benchmark(prices, benchmark, colours)
    if not drawn:
        _empty(prices, "no prices")
        _empty(spread, "no prices")
        return _save(figure, path)
    prices.set_ylabel(per_tonne(currency), fontsize=FONT_SIZE)
    for axes in (prices, spread):
        axes.yaxis.set_major_formatter(_grouped())
    prices.set_title("each registry's allowance, daily close", fontsize=FONT_SIZE, loc="left")
    spread.set_ylabel(per_tonne(currency), fontsize=FONT_SIZE)
    spread.set_title(
        "spread between the registries' prices (highest − lowest) on days all traded",
        fontsize=FONT_SIZE,
        loc="left",
    )
    spread.axhline(0, color="black", linewidth=0.8)
    for _, record in runs:
        sessions = session_days(record)
        if sessions:
            links = [e for e in _events(record, sessions[0], sessions[-1]) if e[1] == "link"]
            for axes in (prices, spread):
                _mark_events(axes, links)
    for axes in (prices, spread):
        _legend(axes)
    return _save(figure, path)


def _plot_spread(
    axes: Axes,
    by_code: Mapping[str, Mapping[date, float]],
    sessions: Sequence[date],
    style: str,
    label: str,
) -> None:
    if len(by_code) < 2:
        return
    days = sorted(set.intersection(*(set(points) for points in by_code.values())))
    points = [
        (day, max(p[day] for p in by_code.values()) - min(p[day] for p in by_code.values()))
        for day in days
    ]
    x, y = with_gaps(points, sessions)
    axes.plot(x, y, style, color="black", linewidth=1.1, label=f"spread, {label}")


def _plot_benchmark(
    axes: Axes, benchmark: Mapping[tuple[str, int], float], colours: Mapping[str, str]
) -> None:
    named = False
    for (code, year), value in sorted(benchmark.items()):
        if code not in colours:
            continue
        axes.hlines(
            value,
            date(year, 1, 1),
            date(year, 12, 31),
            colors=colours[code],
            linestyles=":",
            linewidth=2.0,
            label="benchmark (linked), per year" if not named else "_nolegend_",
        )
        named = True


def write_charts(record: RunRecord, summary: Mapping[str, Any], out: Path) -> list[Path]:
    """Write the three charts into `out`; return their paths."""
    return [
        price_paths_chart(record, out / "price_paths.png"),
        compliance_chart(summary["registries"], out / "compliance.png"),
        flows_chart(cross_registry_flows(record), out / "flows.png", summary["link_pairs"]),
    ]


__all__ = [
    "closing_series",
    "compared_price_paths_chart",
    "compliance_chart",
    "cross_registry_flows",
    "flows_chart",
    "home_book",
    "price_paths_chart",
    "session_days",
    "with_gaps",
    "write_charts",
]
