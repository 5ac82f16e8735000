"""The run's reports agree with each other and with the world they describe.

EU–Switzerland's first two years (fixtures/scenarios/eu-switzerland.toml; the
registry link from 2020-09-21): Swiss firms surrender EUAs bought over the link
in 2021, so foreign shares and link flows are not empty.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from fractions import Fraction
from pathlib import Path

import pytest

from compliance.events import PeriodOutcome, Status
from compliance.penalties import assess_penalty
from etslink.cli import run as run_cli
from etslink.reports.summary import _registry_summary, compliance_rows
from etslink.scenario import load_scenario
from etslink.sim.record import FirmYear, RunRecord
from etslink.sim.run import RunResult, run_scenario
from exchange.market import TradeStatus

EU_SWITZERLAND = "fixtures/scenarios/eu-switzerland.toml"


@pytest.fixture(scope="module")
def linked(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    return run_scenario(load_scenario(EU_SWITZERLAND), tmp_path_factory.mktemp("euch"), years=2)


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_link_flows_are_the_completed_transfers_and_the_settled_cross_trades(
    linked: RunResult,
) -> None:
    flows = linked.summary["links"]["eu-ch"]
    assert flows["registries"] == ["EU", "CH"] and flows["direction"] == "bilateral"
    transfers = _rows(linked.out_dir / "transfers.csv")
    completed: dict[str, int] = defaultdict(int)
    for row in transfers:
        if row["status"] == "completed":
            completed[row["proposed_at"][:4]] += int(row["quantity_t"])
    assert completed, "no transfer completed over the link"
    assert {year: row["completed_t"] for year, row in flows["years"].items()} == dict(completed)
    for row in flows["years"].values():
        assert row["completed_t"] == sum(sum(lane.values()) for lane in row["flows"].values())
    world = linked.world
    assert world is not None
    exchange = world.exchange
    crossed = sum(
        trade.quantity_t
        for trade in exchange.trades.values()
        if trade.status is TradeStatus.SETTLED
        and exchange.members[trade.buyer].registry != exchange.listings[trade.instrument].registry
    )
    assert crossed == sum(completed.values())  # netting moves each settled tonne exactly once


def test_surrender_mix_adds_up_to_what_each_registry_surrendered(linked: RunResult) -> None:
    foreign_seen = 0
    for code, registry in linked.summary["registries"].items():
        for year, row in registry["years"].items():
            by_type = row["surrendered_by_unit_type_t"]
            assert sum(by_type.values()) == row["surrendered_t"], (code, year)
            home = registry["allowance"]
            assert row["foreign_t"] == sum(t for unit, t in by_type.items() if unit != home)
            total = row["surrendered_t"]
            assert Fraction(row["foreign_share"]) == (
                Fraction(row["foreign_t"], total) if total else 0
            )
            assert row["offsets_t"] == 0  # the scenario issues no offset credits
            foreign_seen += row["foreign_t"]
    assert foreign_seen > 0, "no Swiss firm surrendered an EUA"


def test_a_standalone_run_has_no_links_and_no_transfers(tmp_path: Path) -> None:
    result = run_scenario(
        load_scenario("fixtures/scenarios/kazakhstan.toml"), tmp_path, years=1, days=5
    )
    assert result.summary["links"] == {}
    assert _rows(tmp_path / "transfers.csv") == []


def _quebec_record_2018_to_2020() -> RunRecord:
    """A run's record with Québec's 2018-2020 period settled for two entities."""
    # Québec: three-year compliance periods (MELCCFP; fixtures/jurisdictions/quebec.toml).
    scenario = load_scenario("fixtures/scenarios/california-quebec-ontario.toml")
    none = assess_penalty(scenario.registry("QC").regime.penalty, 0, None)
    short = assess_penalty(scenario.registry("QC").regime.penalty, 100, None)
    outcomes = (
        PeriodOutcome(
            "qc-a", 2018, 3_000, False, 0, 3_000, Fraction(3_000), 0, Status.COMPLIANT, none
        ),
        PeriodOutcome(
            "qc-b", 2018, 900, False, 0, 900, Fraction(800), 100, Status.SHORTFALL, short
        ),
    )
    firm_years = tuple(
        FirmYear("qc-a", "QC", year, 1_000, 1_000, 0, Fraction(0), 1_000, 0, "")
        for year in (2018, 2019, 2020)
    )
    return RunRecord(
        scenario,
        3,
        250,
        False,
        {},
        (),
        (),
        (),
        (),
        firm_years,
        (),
        (),
        {"QC": outcomes},
        (),
        {},
        {},
        {},
        (),
        (),
        0,
    )


def test_a_three_year_period_is_reported_once_in_its_last_year_not_as_0_of_0() -> None:
    record = _quebec_record_2018_to_2020()
    years = _registry_summary(record, "QC")["years"]
    assert [years[year]["period"] for year in ("2018", "2019", "2020")] == [
        None,
        None,
        "2018-2020",
    ]
    last = years["2020"]
    assert (last["entities"], last["compliant_entities"]) == (2, 1)
    assert (last["obligation_t"], last["period_surrendered"], last["shortfall_t"]) == (
        3_900,
        "3800",
        100,
    )
    assert [run_cli._period_cells(years[year], 1)[2:] for year in ("2018", "2020")] == [
        ("", "", "", "–", ""),
        ("2018-2020", "3,900", "3,800", "1/2", "0"),
    ]
    # a year the run did not reach, holding surrenders towards a period still open
    assert run_cli._period_cells({"period": None, "surrendered_by_unit_type_t": {}}, 1) == (
        "",
        "",
        "pending",
        "",
        "",
        "–",
        "",
    )
    rows = compliance_rows(record)
    assert [(row[2], row[3]) for row in rows] == [(2018, 2020), (2018, 2020)]
