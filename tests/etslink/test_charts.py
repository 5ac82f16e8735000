"""The run's PNG charts: written into the out dir, valid PNGs, the same bytes on a replay."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from etslink.cli import cli
from etslink.reports.charts import flows_chart
from etslink.scenario import load_scenario
from etslink.sim.run import run_scenario

KAZAKHSTAN = "fixtures/scenarios/kazakhstan.toml"
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
