"""Human participants in a run: a CSV team and a team at the prompt.

The classroom scenario (fixtures/scenarios/classroom.toml) is EU–Switzerland's 2020
with twenty rounds; each team starts
with 2,000 EUAs and EUR 100,000 (10,000,000 cents).
"""

from __future__ import annotations

import csv
import dataclasses
import json
import shutil
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from compliance.business_days import is_business_day
from etslink.cli import cli
from etslink.cli.support import EXIT_USAGE
from etslink.scenario import load_scenario
from etslink.sim.run import Prompt, run_scenario
from etslink.sim.timeline import year_sessions

CLASSROOM = Path("fixtures/scenarios/classroom.toml")
START_CASH_MINOR = 10_000_000
START_EUA_T = 2_000


def _run(tmp_path: Path, lines: list[str]) -> tuple[dict, list[str]]:
    said: list[str] = []
    feed = iter(lines)

    def read_line(prompt: str) -> str:
        try:
            return next(feed)
        except StopIteration:
            raise EOFError from None

    result = run_scenario(
        load_scenario(CLASSROOM), tmp_path, days=6, prompt=Prompt(read_line, said.append)
    )
    return result.summary, said


def _balanced(summary: dict, trades: list[dict[str, str]], member: str) -> None:
    """Each team's holdings and cash are its start plus its own trades, nothing else."""
    mine = summary["participants"][member]
    bought = [t for t in trades if t["buyer"] == member]
    sold = [t for t in trades if t["seller"] == member]
    assert mine["bought_t"] == sum(int(t["quantity_t"]) for t in bought)
    assert mine["sold_t"] == sum(int(t["quantity_t"]) for t in sold)
    assert mine["holdings_t"]["EUA"] == START_EUA_T + mine["bought_t"] - mine["sold_t"]
    cost = sum(int(t["price_minor"]) * int(t["quantity_t"]) for t in bought)
    proceeds = sum(int(t["price_minor"]) * int(t["quantity_t"]) for t in sold)
    assert mine["cash_minor"]["EUR"] == START_CASH_MINOR - cost + proceeds


def _trades(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_a_typed_order_trades_and_the_team_sees_its_fill_next_round(tmp_path: Path) -> None:
    summary, said = _run(tmp_path, ["buy EUA 1000 at 3600", "done", "", "quit"])
    text = "\n".join(said)
    assert "placed: order" in text and "buy EUA 1000 at 3600" in text
    team_b = summary["participants"]["team-b"]
    assert team_b["left_early"] is True
    assert team_b["bought_t"] == 1_000  # team A's resting ask at 3,500 meets the bid
    assert "bought 1,000 t EUA at" in text
    trades = _trades(tmp_path / "trades.csv")
    _balanced(summary, trades, "team-b")
    _balanced(summary, trades, "team-a")


def test_a_refused_order_is_told_with_its_code_and_changes_nothing(tmp_path: Path) -> None:
    summary, said = _run(tmp_path, ["sell EUA 500 at 3000", "done", "quit"])
    assert any("refused (11006 bad_lot)" in line for line in said)  # EUA lots are 1,000 t
    team_b = summary["participants"]["team-b"]
    assert (team_b["trades"], team_b["holdings_t"]["EUA"]) == (0, START_EUA_T)
    assert team_b["cash_minor"]["EUR"] == START_CASH_MINOR


def test_end_of_input_leaves_the_run_and_the_run_goes_on(tmp_path: Path) -> None:
    summary, _ = _run(tmp_path, [])
    assert summary["participants"]["team-b"]["left_early"] is True
    assert summary["totals"]["trades"] > 0
    assert summary["participants"]["team-a"]["trades"] > 0  # the spreadsheet team kept going


def test_the_cli_reads_the_prompt_from_standard_input(tmp_path: Path) -> None:
    outcome = CliRunner().invoke(
        cli,
        ["run", str(CLASSROOM), "--out", str(tmp_path / "out"), "--days", "3"],
        input="help\nbuy EUA 1000 market\ndone\nquit\n",
    )
    assert outcome.exit_code == 0, outcome.output
    assert "team-b round 1>" in outcome.output
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert set(summary["participants"]) == {"team-a", "team-b"}


def test_an_interactive_scenario_without_a_prompt_is_refused_before_anything_runs(
    tmp_path: Path,
) -> None:
    with pytest.raises(ValueError, match="types orders at a prompt"):
        run_scenario(load_scenario(CLASSROOM), tmp_path / "out", days=2)
    assert not (tmp_path / "out").exists()


def test_a_schedule_naming_an_unlisted_instrument_stops_the_cli_with_its_line(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "scenarios"
    shutil.copytree(CLASSROOM.parent / "participants", folder / "participants")
    shutil.copytree(CLASSROOM.parent.parent / "links", tmp_path / "links")
    (folder / "classroom.toml").write_text(CLASSROOM.read_text(encoding="utf-8"), "utf-8")
    schedule = folder / "participants" / "classroom-orders.csv"
    schedule.write_text(
        schedule.read_text(encoding="utf-8") + "6,KAU,buy,limit,2500,1000\n", "utf-8"
    )
    outcome = CliRunner().invoke(
        cli, ["run", str(folder / "classroom.toml"), "--out", str(tmp_path / "out")], input=""
    )
    assert outcome.exit_code == EXIT_USAGE, outcome.output
    assert "classroom-orders.csv" in outcome.output and "KAU" in outcome.output
    assert not (tmp_path / "out").exists()  # refused before the run: nothing written


def test_no_classroom_round_falls_on_sunday_19_january_2020(tmp_path: Path) -> None:
    _run(tmp_path, [])
    with (tmp_path / "settlements.csv").open(encoding="utf-8") as handle:
        rounds = sorted({date.fromisoformat(row["day"]) for row in csv.DictReader(handle)})
    assert len(rounds) == 6
    assert date(2020, 1, 19) not in rounds  # where evenly spaced calendar days put round 2
    assert rounds[1] == date(2020, 1, 20)  # the Monday after
    for day in rounds:  # business days on both venues: TARGET2 (EU) and Switzerland
        assert is_business_day("ECB", day) and is_business_day("CH", day), day


def test_a_scenario_can_put_its_rounds_on_evenly_spaced_calendar_days() -> None:
    scenario = load_scenario(CLASSROOM)
    calendar = dataclasses.replace(scenario.calendar, business_days=False)
    every_day = year_sessions(dataclasses.replace(scenario, calendar=calendar), 2020)
    assert every_day[:2] == [date(2020, 1, 1), date(2020, 1, 19)]  # 366 days / 20 rounds
    assert len(every_day) == 20
