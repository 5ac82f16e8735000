"""Two runs side by side: EU–Switzerland linked against its unlinked twin (2020, 10 days)."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import pytest
from click.testing import CliRunner

from etslink.cli import cli
from etslink.reports.benchmark import run_abatement_cost_minor
from etslink.reports.comparison import compare
from etslink.scenario import load_scenario
from etslink.sim.run import RunResult, run_scenario

LINKED = "fixtures/scenarios/eu-switzerland.toml"
UNLINKED = "fixtures/scenarios/eu-switzerland-unlinked.toml"


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[RunResult, RunResult]:
    out = tmp_path_factory.mktemp("compare")
    first, second = (
        run_scenario(load_scenario(path), out / name, years=1, days=10)
        for path, name in ((LINKED, "a"), (UNLINKED, "b"))
    )
    return first, second


def test_each_figure_is_the_runs_own_summary_keyed_by_scenario(
    runs: tuple[RunResult, RunResult],
) -> None:
    first, second = runs
    comparison = compare(first, second)
    assert [run["scenario"] for run in comparison["runs"]] == [first.scenario, second.scenario]
    for run in runs:
        for code, market in run.summary["markets"].items():
            for year, row in market["years"].items():
                if row["trades"]:
                    mine = comparison["markets"][code][year][run.scenario]
                    assert mine["vwap_minor"] == row["vwap_minor"]
        totals = comparison["totals"][run.scenario]
        assert totals["abatement_t"] == run.summary["totals"]["abatement_t"]
        for code, registry in run.summary["registries"].items():
            for year, row in registry["years"].items():
                mine = comparison["registries"][code][year][run.scenario]
                assert mine["abatement_t"] == row.get("abatement_t", 0)


def test_a_linked_scenario_and_its_twin_show_the_gain_from_linking(
    runs: tuple[RunResult, RunResult],
) -> None:
    first, second = runs
    linking = compare(first, second)["linking"]
    assert (linking["linked"], linking["unlinked"]) == (first.scenario, second.scenario)
    costs = [run_abatement_cost_minor(run.record) for run in runs]
    assert Fraction(linking["gain_minor"]) == costs[1] - costs[0]
    assert Fraction(linking["benchmark_gain_minor"]) > 0
    assert compare(second, first)["linking"] == linking  # whichever comes first


def test_a_scenario_is_not_compared_with_itself(runs: tuple[RunResult, RunResult]) -> None:
    with pytest.raises(ValueError, match="two different scenarios"):
        compare(runs[0], runs[0])


def test_the_cli_writes_both_runs_and_the_comparison(tmp_path: Path) -> None:
    outcome = CliRunner().invoke(
        cli, ["compare", LINKED, UNLINKED, "--out", str(tmp_path), "--years", "1", "--days", "5"]
    )
    assert outcome.exit_code == 0, outcome.output
    comparison = json.loads((tmp_path / "comparison.json").read_text(encoding="utf-8"))
    assert set(comparison["totals"]) == {"eu-switzerland", "eu-switzerland-unlinked"}
    assert (tmp_path / "price_paths_compared.png").read_bytes().startswith(b"\x89PNG")
    for name in comparison["totals"]:
        assert (tmp_path / name / "summary.json").is_file()


def test_the_cli_refuses_the_same_scenario_twice(tmp_path: Path) -> None:
    outcome = CliRunner().invoke(cli, ["compare", LINKED, LINKED, "--out", str(tmp_path)])
    assert outcome.exit_code == 1
    assert "compare two different ones" in outcome.output
    assert not any(tmp_path.iterdir())
