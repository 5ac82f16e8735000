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

from etslink.scenario import load_scenario
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
