"""Two runs side by side: EU–Switzerland linked against its unlinked twin (2020–21, 10 days
each; the link opens on 21 September 2020, so it carries units in 2021's days)."""

from __future__ import annotations

import json
import re
from fractions import Fraction
from pathlib import Path

import pytest
from click.testing import CliRunner

from etslink.cli import cli
from etslink.reports import schema
from etslink.reports.benchmark import run_abatement_cost_minor
from etslink.reports.comparison import compare
from etslink.scenario import load_scenario
from etslink.sim.run import RunResult, run_scenario

LINKED = "fixtures/scenarios/eu-switzerland.toml"
UNLINKED = "fixtures/scenarios/eu-switzerland-unlinked.toml"
FRACTION = re.compile(r"-?\d+/\d+$")


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[RunResult, RunResult]:
    out = tmp_path_factory.mktemp("compare")
    first, second = (
        run_scenario(load_scenario(path), out / name, years=2, days=10)
        for path, name in ((LINKED, "a"), (UNLINKED, "b"))
    )
    return first, second


def test_each_figure_is_the_runs_own_summary_keyed_by_scenario(
    runs: tuple[RunResult, RunResult],
) -> None:
    first, second = runs
    comparison = compare(first, second)
    assert comparison["schema"] == "etslink.comparison/2"
    assert [run["scenario"] for run in comparison["runs"]] == [first.scenario, second.scenario]
    vwaps = {
        (row["scenario"], row["instrument"], row["year"]): row["vwap_minor"]
        for row in comparison["exact"]["markets"]
    }
    markets = {(r["scenario"], r["instrument"], r["year"]): r for r in comparison["markets"]}
    for run in runs:
        pairs = zip(run.summary["markets"], run.summary["exact"]["markets"], strict=True)
        for row, exact in pairs:
            if row["trades"]:
                key = (run.scenario, row["instrument"], row["year"])
                assert vwaps[key] == exact["vwap_minor"]
                assert markets[key]["vwap"] == row["vwap"]
                assert markets[key]["currency"] == row["currency"]
        totals = next(t for t in comparison["totals"] if t["scenario"] == run.scenario)
        assert totals["abatement_t"] == run.summary["totals"]["abatement_t"]
        assert totals["abatement_cost"] == run.summary["totals"]["abatement_cost"]
        mine = [r for r in comparison["registries"] if r["scenario"] == run.scenario]
        assert [(r["registry"], r["year"], r["abatement_t"]) for r in mine] == [
            (r["registry"], r["year"], r["abatement_t"]) for r in run.summary["registries"]
        ]


def test_comparison_json_is_flat_records_with_money_as_numbers(
    runs: tuple[RunResult, RunResult],
) -> None:
    comparison = compare(*runs)
    for name, keys in schema.COMPARISON_SECTIONS.items():
        value = comparison[name]
        records = [value] if name in schema.COMPARISON_OBJECTS else value
        for record in records:
            assert tuple(record) == keys, name
            assert not any(isinstance(v, dict | list) for v in record.values()), name
            fractions = [v for v in record.values() if isinstance(v, str) and FRACTION.match(v)]
            assert not fractions, name
    linking = comparison["linking"]
    assert isinstance(linking["gain"], float) and linking["currency"] == "EUR"


def test_the_linked_markets_converge_and_the_unlinked_stay_apart(
    runs: tuple[RunResult, RunResult],
) -> None:
    rows = {(r["scenario"], r["year"]): r for r in compare(*runs)["convergence"]}
    linked, unlinked = rows[(runs[0].scenario, 2021)], rows[(runs[1].scenario, 2021)]
    assert linked["registries"] == unlinked["registries"] == "CH EU"
    assert linked["closing_spread"] < unlinked["closing_spread"]


def test_a_linked_scenario_and_its_twin_show_the_gain_from_linking(
    runs: tuple[RunResult, RunResult],
) -> None:
    first, second = runs
    linking = compare(first, second)["linking"]
    assert (linking["linked"], linking["unlinked"]) == (first.scenario, second.scenario)
    exact = compare(first, second)["exact"]["linking"]
    costs = [run_abatement_cost_minor(run.record) for run in runs]
    assert Fraction(exact["gain_minor"]) == costs[1] - costs[0]
    assert linking["gain"] == pytest.approx(float(costs[1] - costs[0]) / 100, abs=0.005)
    assert Fraction(exact["benchmark_gain_minor"]) > 0
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
    names = {row["scenario"] for row in comparison["totals"]}
    assert names == {"eu-switzerland", "eu-switzerland-unlinked"}
    assert (tmp_path / "price_paths_compared.png").read_bytes().startswith(b"\x89PNG")
    for name in names:
        assert (tmp_path / name / "summary.json").is_file()
    assert all(len(line) <= 80 for line in outcome.output.splitlines()), outcome.output
    assert "minor units" not in outcome.output and "gain from linking" in outcome.output


def test_the_cli_prints_comparison_json_on_the_seed_it_is_given(tmp_path: Path) -> None:
    args = [LINKED, UNLINKED, "--out", str(tmp_path), "--years", "1", "--days", "5"]
    outcome = CliRunner().invoke(cli, ["compare", *args, "--seed", "7", "--json"])
    assert outcome.exit_code == 0, outcome.output
    printed = json.loads(outcome.stdout)
    assert printed == json.loads((tmp_path / "comparison.json").read_text(encoding="utf-8"))
    assert [run["seed"] for run in printed["runs"]] == [7, 7]


def test_the_cli_refuses_the_same_scenario_twice(tmp_path: Path) -> None:
    outcome = CliRunner().invoke(cli, ["compare", LINKED, LINKED, "--out", str(tmp_path)])
    assert outcome.exit_code == 1
    assert "compare two different ones" in outcome.output
    assert not any(tmp_path.iterdir())
