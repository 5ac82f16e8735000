"""The run's PNG charts: written into the out dir, valid PNGs, the same bytes on a replay."""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

from click.testing import CliRunner

from etslink.cli import cli
from etslink.reports import charts
from etslink.reports.charts import closing_series, flows_chart, with_gaps
from etslink.scenario import load_scenario
from etslink.sim.run import run_scenario

KAZAKHSTAN = "fixtures/scenarios/kazakhstan.toml"
EU_SWITZERLAND = "fixtures/scenarios/eu-switzerland.toml"
CHARTS = ("price_paths.png", "compliance.png", "flows.png")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_BYTES_MIN = 2_000  # a blank 800×450 PNG is smaller than any chart with axes and text


def _is_png(path: Path) -> bool:
    data = path.read_bytes()
    return data.startswith(PNG_SIGNATURE) and len(data) > PNG_BYTES_MIN


def test_a_run_writes_each_chart_as_a_valid_png_and_lists_it(tmp_path: Path) -> None:
    result = run_scenario(load_scenario(KAZAKHSTAN), tmp_path, years=1, days=10)
    for name in CHARTS:
        assert _is_png(tmp_path / name), name
        assert tmp_path / name in result.files


def test_the_same_run_gives_byte_identical_charts(tmp_path: Path) -> None:
    run_scenario(load_scenario(KAZAKHSTAN), tmp_path / "a", years=1, days=10)
    run_scenario(load_scenario(KAZAKHSTAN), tmp_path / "b", years=1, days=10)
    for name in CHARTS:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_flows_chart_draws_flows_and_says_so_when_there_are_none(tmp_path: Path) -> None:
    drawn = flows_chart({("EU", "CH"): {2020: 5_000, 2021: 7_000}}, tmp_path / "flows.png")
    empty = flows_chart({}, tmp_path / "none.png")
    assert _is_png(drawn) and _is_png(empty)
    assert drawn.read_bytes() != empty.read_bytes()


def test_cli_run_names_the_charts_it_wrote(tmp_path: Path) -> None:
    out = tmp_path / "kz"
    outcome = CliRunner().invoke(
        cli, ["run", KAZAKHSTAN, "--out", str(out), "--years", "1", "--days", "5"]
    )
    assert outcome.exit_code == 0, outcome.output
    assert "price_paths.png" in outcome.output
    assert all((out / name).is_file() for name in CHARTS)


def test_a_price_line_joins_only_consecutive_trading_sessions() -> None:
    sessions = [date(2020, 1, day) for day in range(1, 31)]
    points = [(sessions[0], 10.0), (sessions[1], 11.0), (sessions[3], 12.0), (sessions[4], 12.5)]
    days, values = with_gaps(points, sessions)
    assert days[:2] == [sessions[0], sessions[1]] and values[:2] == [10.0, 11.0]
    assert math.isnan(values[2])  # a session without a trade: no line across it
    assert days[3:] == [sessions[3], sessions[4]] and values[3:] == [12.0, 12.5]
    weekly = [date(2020, 1, 1), date(2020, 1, 8), date(2020, 3, 4)]  # sessions a week apart
    days, values = with_gaps([(day, 1.0) for day in weekly], weekly)
    assert len(days) == 4 and math.isnan(values[2])  # nor across eight weeks without one


def test_each_books_closing_series_is_in_major_units_of_its_own_currency(tmp_path: Path) -> None:
    result = run_scenario(load_scenario(EU_SWITZERLAND), tmp_path, years=1, days=10)
    record = result.record
    for book in ("EUA", "CHU"):
        rows = [row for row in record.prices if row.instrument == book]
        series = closing_series(record, book)
        assert [value for _, value in series] == [row.close_minor / 100 for row in rows]
    assert _is_png(tmp_path / "price_paths.png")


def test_flows_chart_marks_each_pairs_net_flow_beside_the_benchmarks(tmp_path: Path) -> None:
    """Net flow = exporter → importer less the reverse; the run's and the benchmark's are
    marked per year so a class sees what the equilibrium would have moved."""
    pairs = [
        {
            "year": 2020,
            "exporter": "EU",
            "importer": "CH",
            "net_flow_t": 3_000,
            "benchmark_flow_t": 4_500.0,
            "benchmark_reverse_flow_t": 500.0,
        }
    ]
    flows = {("EU", "CH"): {2020: 5_000}, ("CH", "EU"): {2020: 2_000}}
    assert flows_chart(flows, tmp_path / "flows.png", pairs).stat().st_size > 0

    drawn: list[tuple[str, list[float]]] = []

    class _Axes:  # records what would be drawn
        def plot(self, xs: list[float], ys: list[float], *args: object, **kwargs: object) -> None:
            drawn.append((str(kwargs["label"]), list(ys)))

    charts._mark_net_flows(_Axes(), pairs, {2020: 0.2})  # type: ignore[arg-type]
    assert drawn == [("net EU → CH", [3_000]), ("net EU → CH, benchmark", [4_000.0])]
