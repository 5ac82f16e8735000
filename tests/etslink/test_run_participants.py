"""Human participants in a run: a CSV team and a team at the prompt.

The classroom scenario (fixtures/scenarios/classroom.toml) is EU–Switzerland's 2020
with twenty rounds; each team starts
with 2,000 EUAs and EUR 100,000 (`cash_minor` 10,000,000 cents). Team B types prices in
euros ("buy EUA 1000 at 36") and reads them in euros.
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
    mine = _member(summary, "participants", member)
    bought = [t for t in trades if t["buyer"] == member]
    sold = [t for t in trades if t["seller"] == member]
    assert mine["bought_t"] == sum(int(t["quantity_t"]) for t in bought)
    assert mine["sold_t"] == sum(int(t["quantity_t"]) for t in sold)
    assert _held_t(summary, member) == START_EUA_T + mine["bought_t"] - mine["sold_t"]
    cost = sum(int(t["price_minor"]) * int(t["quantity_t"]) for t in bought)
    proceeds = sum(int(t["price_minor"]) * int(t["quantity_t"]) for t in sold)
    cash = _cash(summary, member)
    assert cash["cash_minor"] == START_CASH_MINOR - cost + proceeds
    assert cash["cash"] == cash["cash_minor"] / 100  # EUR, in major units beside the cents


def _member(summary: dict, section: str, member: str) -> dict:
    (found,) = [row for row in summary[section] if row["member"] == member]
    return found


def _held_t(summary: dict, member: str, book: str = "EUA") -> int:
    (found,) = [
        row["held_t"]
        for row in summary["holdings"]
        if (row["member"], row["instrument"]) == (member, book)
    ]
    return found


def _cash(summary: dict, member: str, currency: str = "EUR") -> dict:
    (found,) = [
        row for row in summary["cash"] if (row["member"], row["currency"]) == (member, currency)
    ]
    return found


def _trades(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_a_typed_order_trades_and_the_team_sees_its_fill_next_round(tmp_path: Path) -> None:
    summary, said = _run(tmp_path, ["buy EUA 1000 at 36", "done", "", "quit"])
    text = "\n".join(said)
    assert "queued 1: buy 1,000 t EUA at EUR 36.00 per t or better" in said
    assert "placed: order" in text and "buy EUA 1000 at 36.00" in text  # as it was typed
    team_b = _member(summary, "participants", "team-b")
    assert team_b["left_early"] is True
    assert team_b["bought_t"] == 1_000  # team A's resting ask at EUR 35.00 meets the bid
    assert "bought 1,000 t EUA at" in text
    trades = _trades(tmp_path / "trades.csv")
    _balanced(summary, trades, "team-b")
    _balanced(summary, trades, "team-a")


def test_a_refused_order_is_told_with_its_code_and_changes_nothing(tmp_path: Path) -> None:
    summary, said = _run(tmp_path, ["sell EUA 500 at 30", "done", "quit"])
    # EUA lots are 1,000 t: the prompt refuses the order before it reaches the exchange
    assert any("whole lots of 1,000 t for EUA" in line and "found 500 t" in line for line in said)
    team_b = _member(summary, "participants", "team-b")
    assert (team_b["trades"], _held_t(summary, "team-b")) == (0, START_EUA_T)
    assert _cash(summary, "team-b")["cash_minor"] == START_CASH_MINOR


def test_the_team_reads_the_books_and_quotes_in_major_units(tmp_path: Path) -> None:
    summary, said = _run(tmp_path, ["buy EUA 1000 at 25.001", "buy EUA 1000 at 25.00", "quit"])
    assert "the books (prices per t in the book's currency, quantities in whole lots):" in said
    books = [line for line in said if line.startswith(("  CHU (CHF): ", "  EUA (EUR): "))]
    assert books == [
        "  CHU (CHF): lot 100 t, tick CHF 0.01; one order 100 to 1,099,511,627,700 t at "
        "CHF 0.01 to CHF 10,000,000,000.00",
        "  EUA (EUR): lot 1,000 t, tick EUR 0.01; one order 1,000 to 1,099,511,627,000 t at "
        "EUR 0.01 to EUR 10,000,000,000.00",
    ]
    # round 1: team A's schedule bids 25.00 and asks 35.00 for EUA (classroom-orders.csv)
    assert "  EUA EUR/t: bid 25.00, ask 35.00, last none; lot 1,000 t, tick 0.01" in said
    assert "  CHU CHF/t: bid none, ask none, last none; lot 100 t, tick 0.01" in said
    assert "  free cash: CHF 0.00, EUR 100,000.00" in said
    assert any("EUR prices have at most 2 decimals" in line for line in said)
    assert "queued 1: buy 1,000 t EUA at EUR 25.00 per t or better" in said
    assert not any("minor units" in line or "cents" in line for line in said)
    assert _member(summary, "participants", "team-b")["trades"] == 0  # it quit: dropped


def test_end_of_input_leaves_the_run_and_the_run_goes_on(tmp_path: Path) -> None:
    summary, _ = _run(tmp_path, [])
    assert _member(summary, "participants", "team-b")["left_early"] is True
    assert summary["totals"]["trades"] > 0
    assert (
        _member(summary, "participants", "team-a")["trades"] > 0
    )  # the spreadsheet team kept going


def test_the_cli_reads_the_prompt_from_standard_input(tmp_path: Path) -> None:
    outcome = CliRunner().invoke(
        cli,
        ["run", str(CLASSROOM), "--out", str(tmp_path / "out"), "--days", "3"],
        input="help\nbuy EUA 1000 market\nbuy EUA 1000 at 25.10\ndone\nquit\n",
    )
    assert outcome.exit_code == 0, outcome.output
    assert "team-b round 1>" in outcome.output
    assert "queued 2: buy 1,000 t EUA at EUR 25.10 per t or better" in outcome.output
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert {row["member"] for row in summary["participants"]} == {"team-a", "team-b"}


def test_with_json_the_prompt_talks_on_stderr_and_stdout_is_the_summary(tmp_path: Path) -> None:
    outcome = CliRunner().invoke(
        cli,
        ["run", str(CLASSROOM), "--out", str(tmp_path / "out"), "--days", "3", "--json"],
        input="buy EUA 1000 market\ndone\nquit\n",
    )
    assert outcome.exit_code == 0, outcome.output
    assert "team-b round 1>" in outcome.stderr and "team-b" not in outcome.stdout.split("{")[0]
    summary = json.loads(outcome.stdout)
    assert {row["member"] for row in summary["participants"]} == {"team-a", "team-b"}


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
