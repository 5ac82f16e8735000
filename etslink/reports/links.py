"""Each linked pair in a run beside its benchmark: the price gap, the flow and the band.

For each link and each year it carries units (`benchmark.counts_in`), one record of
summary.json's `link_pairs`, money in the scenario's currency (major units; exact minor
units under `exact.link_pairs`):

- `exporter_price`, `importer_price`: each party's allowance, its closing price on its own
  venue (`etslink.reports.prices`); `benchmark_exporter_price` and
  `benchmark_importer_price` the benchmark's.
- `exporter` → `importer`: the way units flow in the benchmark (or, with no flow, the way
  the link permits first: registry A to B); `rate`: what one unit of the exporter counts
  for at surrender in the importer.
- `gap`: the importer's price minus the exporter's divided by the rate — what a
  tonne of the importer's obligation costs at home less what it costs with the
  exporter's units, in the scenario's currency. Arbitrage drives it to 0 while units flow
  freely; a binding cap (or share) holds it open at the scarcity rent the benchmark shows
  (`benchmark_gap`).
- `band`: how far the run's gap may sit from the benchmark's before a person should
  ask why — `MARKET_RESOLUTION` (2%) of the importer's price, the resolution of a market
  of lots, ticks and sessions in which firms close a quarter of their gap a day (the
  linear-case tests show runs land within it), plus the cost of carrying a unit through
  the link's longest wait for a transfer window at the scenario's interest rate (EU–CH
  since 2023: Tuesdays and Thursdays, up to four days), plus half of each book's closing
  bid-ask spread (the exporter's over the rate): an arbitrageur buys at one book's ask and
  sells at the other's bid, so prices inside that spread leave it nothing to gain (a
  thin book — Québec's — quotes wide). `within_band` says whether it did.
- `flow_t` (exporter → importer) and `reverse_flow_t`: units that completed a transfer
  over the link in the run (exchange settlements and dealers' moves alike); `net_flow_t`
  the one less the other; `benchmark_flow_t` and `benchmark_reverse_flow_t` the
  benchmark's; and `cap_binds` whether the benchmark's route is at its cap.
- `open_whole_year`: whether the link carried units all year. In the year a link opens (or
  closes) prices are still finding each other when the year ends: the gap is reported, but
  the band is a statement about years the link is open throughout.
"""

from __future__ import annotations

from datetime import UTC, datetime
from fractions import Fraction
from typing import Any

from etslink.reports.benchmark import Benchmark, counts_in
from etslink.reports.figures import major, number
from etslink.reports.numbers import exact, exact_or_none
from etslink.reports.prices import closing_price_minor, closing_spread_minor
from etslink.reports.schema import summary_exact, summary_row
from etslink.sim.record import RunRecord
from gateway.links import Link

MARKET_RESOLUTION = Fraction(2, 100)
PRICE_PLACES = 2  # prices and gaps keep two more places than the currency
DAYS_PER_YEAR = 365
WAIT_LOOK_DAYS = 14


def own_closing_minor(record: RunRecord, code: str, year: int) -> Fraction | None:
    """Return the registry's allowance's closing price on its own venue, scenario currency."""
    scenario = record.scenario
    unit = scenario.registry(code).regime.allowance_unit_type
    book = next(
        (b for b in record.books.values() if b.unit_type == unit and b.registry == code), None
    )
    if book is None:
        return None
    closing = closing_price_minor(record, book.code, year)
    if closing is None:
        return None
    return closing * scenario.fx.minor_factor(book.currency, scenario.currency)


def own_closing_spread_minor(record: RunRecord, code: str, year: int) -> Fraction:
    """Return the registry's allowance's closing bid-ask spread on its own venue, in the
    scenario's currency (0 when its book never closed with both sides quoted)."""
    scenario = record.scenario
    unit = scenario.registry(code).regime.allowance_unit_type
    book = next(
        (b for b in record.books.values() if b.unit_type == unit and b.registry == code), None
    )
    spread = None if book is None else closing_spread_minor(record, book.code, year)
    if book is None or spread is None:
        return Fraction(0)
    return spread * scenario.fx.minor_factor(book.currency, scenario.currency)


def band_minor(
    link: Link,
    year: int,
    importer_price: Fraction,
    interest_rate: Fraction,
    spread_cost: Fraction = Fraction(0),
) -> Fraction:
    """Return the band a run's gap may sit in around the benchmark's (the module docstring);
    `spread_cost` is half the importer's closing spread plus half the exporter's over the
    rate."""
    start = max(link.effective_from, datetime(year, 1, 1, tzinfo=UTC))
    wait_days = link.longest_wait_days(start, WAIT_LOOK_DAYS)
    carry = interest_rate * wait_days / DAYS_PER_YEAR
    return importer_price * (MARKET_RESOLUTION + carry) + spread_cost


def link_pairs(
    record: RunRecord, found: Benchmark
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Return each link's pair record per year it carries units, and their exact figures."""
    rows, exact_rows = [], []
    years = sorted({firm.year for firm in record.firm_years})
    # A registry whose programme ended has no firms in the years after: no pair there.
    present = {(firm.registry, firm.year) for firm in record.firm_years}
    for link in sorted(record.scenario.links, key=lambda item: item.link_id):
        for year in years:
            if counts_in(link, year) and all((code, year) in present for code in link.parties):
                pair, pair_exact = _pair_year(record, found, link, year)
                rows.append(pair)
                exact_rows.append(pair_exact)
    return rows, exact_rows


def _pair_year(
    record: RunRecord, found: Benchmark, link: Link, year: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    a, b = link.registry_a, link.registry_b
    flows = {f"{origin}→{into}": Fraction(0) for origin, into in ((a, b), (b, a))}
    binds = {key: False for key in flows}
    for flow in found.linked.routes:
        route = flow.route
        key = f"{route.from_system}→{route.to_system}"
        if route.year == year and key in flows and _route_of(found, link, route):
            flows[key] += flow.flow_t
            binds[key] = binds[key] or flow.cap_binds
    origin, into = (b, a) if flows[f"{b}→{a}"] > flows[f"{a}→{b}"] else (a, b)
    forward, backward = f"{origin}→{into}", f"{into}→{origin}"
    rate = link.rate_into(into)
    prices = {code: own_closing_minor(record, code, year) for code in (a, b)}
    analytic = {code: found.linked.node(code, year).price_common_minor for code in (a, b)}
    gap = None
    origin_price, into_price = prices[origin], prices[into]
    if origin_price is not None and into_price is not None:
        gap = into_price - origin_price / rate
    analytic_gap = analytic[into] - analytic[origin] / rate
    spreads = {code: own_closing_spread_minor(record, code, year) for code in (a, b)}
    spread_cost = (spreads[into] + spreads[origin] / rate) / 2
    band = band_minor(link, year, analytic[into], record.scenario.interest_rate, spread_cost)
    flown = simulated_flows(record, link, year)
    currency = record.scenario.currency

    def money(value: Fraction | None) -> float | int | None:
        return major(value, currency, PRICE_PLACES)

    pair = summary_row(
        "link_pairs",
        link_id=link.link_id,
        year=year,
        currency=currency,
        exporter=origin,
        importer=into,
        rate=number(rate),
        open_whole_year=open_whole_year(link, year),
        exporter_price=money(origin_price),
        importer_price=money(into_price),
        benchmark_exporter_price=money(analytic[origin]),
        benchmark_importer_price=money(analytic[into]),
        gap=money(gap),
        benchmark_gap=money(analytic_gap),
        band=money(band),
        within_band=None if gap is None else abs(gap - analytic_gap) <= band,
        flow_t=flown[forward],
        reverse_flow_t=flown[backward],
        net_flow_t=flown[forward] - flown[backward],
        benchmark_flow_t=number(flows[forward], 1),
        benchmark_reverse_flow_t=number(flows[backward], 1),
        cap_binds=binds[forward],
    )
    pair_exact = summary_exact(
        "link_pairs",
        link_id=link.link_id,
        year=year,
        rate=exact(rate),
        exporter_price_minor=exact_or_none(origin_price),
        importer_price_minor=exact_or_none(into_price),
        benchmark_exporter_price_minor=exact(analytic[origin]),
        benchmark_importer_price_minor=exact(analytic[into]),
        gap_minor=exact_or_none(gap),
        benchmark_gap_minor=exact(analytic_gap),
        band_minor=exact(band),
        benchmark_flow_t=exact(flows[forward]),
        benchmark_reverse_flow_t=exact(flows[backward]),
    )
    return pair, pair_exact


def open_whole_year(link: Link, year: int) -> bool:
    start = datetime(year, 1, 1, tzinfo=UTC)
    end = datetime(year + 1, 1, 1, tzinfo=UTC)
    return link.effective_from <= start and (link.effective_to is None or link.effective_to >= end)


def _route_of(found: Benchmark, link: Link, route: Any) -> bool:
    return any(source.link_id == link.link_id and source.route == route for source in found.routes)


def simulated_flows(record: RunRecord, link: Link, year: int) -> dict[str, int]:
    """Return units that completed a transfer over the link in `year`, per direction."""
    a, b = link.registry_a, link.registry_b
    flows = {f"{a}→{b}": 0, f"{b}→{a}": 0}
    for row in record.transfers:
        if row.link_id == link.link_id and row.period == year and row.status == "completed":
            key = f"{row.from_registry}→{row.to_registry}"
            flows[key] = flows.get(key, 0) + row.quantity_t
    return flows


__all__ = ["MARKET_RESOLUTION", "band_minor", "link_pairs", "own_closing_minor", "simulated_flows"]
