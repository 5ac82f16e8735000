"""The run loop: shipped scenarios run end to end, report consistently, and replay byte for byte.

Kazakhstan runs standalone (fixtures/scenarios/kazakhstan.toml); EU–Switzerland
runs its linked year 2020 (registry link from 2020-09-21,
fixtures/links/eu-switzerland.toml), where cross-registry trades settle
through the gateway.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from fractions import Fraction
from pathlib import Path

import pytest
from click.testing import CliRunner

from compliance.presets import load_preset
from etslink.cli import cli
from etslink.scenario import load_scenario
from etslink.sim.access import Quote
from etslink.sim.participants import Prompt
from etslink.sim.run import RunResult, run_scenario
from etslink.sim.valuation import foreign_share_max
from exchange.market import TradeStatus

REPORTS = ("summary.json", "trades.csv", "prices.csv", "compliance.csv")
KAZAKHSTAN = "fixtures/scenarios/kazakhstan.toml"
EU_SWITZERLAND = "fixtures/scenarios/eu-switzerland.toml"


@pytest.fixture(scope="module")
def kazakhstan(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    return run_scenario(load_scenario(KAZAKHSTAN), tmp_path_factory.mktemp("kz"))


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_kazakhstan_runs_end_to_end_and_writes_every_report(kazakhstan: RunResult) -> None:
    for name in REPORTS:
        assert (kazakhstan.out_dir / name).is_file(), name
    summary = json.loads((kazakhstan.out_dir / "summary.json").read_text(encoding="utf-8"))
    assert summary["run"]["years_run"] == 3
    assert [row["year"] for row in summary["registries"] if row["registry"] == "KZ"] == [
        2018,
        2019,
        2020,
    ]
    assert summary["totals"]["trades"] > 0
    compliance = _rows(kazakhstan.out_dir / "compliance.csv")
    assert len(compliance) == 20 * 3  # every entity settled at each of the three deadlines


def test_kazakhstan_summary_totals_agree_with_trades_csv(kazakhstan: RunResult) -> None:
    summary = json.loads((kazakhstan.out_dir / "summary.json").read_text(encoding="utf-8"))
    trades = _rows(kazakhstan.out_dir / "trades.csv")
    volume: dict[tuple[str, int], int] = defaultdict(int)
    notional: dict[tuple[str, int], int] = defaultdict(int)
    for row in trades:
        key = (row["instrument"], int(row["day"][:4]))
        volume[key] += int(row["quantity_t"])
        notional[key] += int(row["price_minor"]) * int(row["quantity_t"])
    assert summary["totals"]["trades"] == len(trades)
    assert summary["totals"]["volume_t"] == sum(volume.values())
    pairs = zip(summary["markets"], summary["exact"]["markets"], strict=True)
    for stats, exact in pairs:
        key = (stats["instrument"], stats["year"])
        assert (exact["instrument"], exact["year"]) == key
        assert stats["volume_t"] == volume[key]
        assert Fraction(exact["vwap_minor"]) == Fraction(notional[key], volume[key])
        assert stats["vwap"] == round(notional[key] / volume[key] / 100, 4)  # KZT has tiyn
    prices = _rows(kazakhstan.out_dir / "prices.csv")
    assert sum(int(row["volume_t"]) for row in prices) == sum(volume.values())


def test_kazakhstan_registry_totals_agree_with_compliance_csv(kazakhstan: RunResult) -> None:
    summary = kazakhstan.summary
    rows = _rows(kazakhstan.out_dir / "compliance.csv")
    for stats in summary["registries"]:
        in_year = [row for row in rows if int(row["period"]) == stats["year"]]
        assert stats["verified_emissions_t"] == sum(int(row["emissions_t"]) for row in in_year)
        assert stats["compliant_entities"] == sum(row["status"] == "compliant" for row in in_year)
        assert stats["penalties_minor"] == sum(int(row["penalty_minor"]) for row in in_year)


def test_kazakhstan_world_invariants_hold_after_the_run(kazakhstan: RunResult) -> None:
    assert kazakhstan.world is not None
    kazakhstan.world.check_invariants()
    trades = kazakhstan.world.exchange.trades.values()
    assert all(trade.status is TradeStatus.SETTLED for trade in trades)


def test_same_scenario_and_seed_give_byte_identical_reports(
    kazakhstan: RunResult, tmp_path: Path
) -> None:
    again = run_scenario(load_scenario(KAZAKHSTAN), tmp_path)
    for name in REPORTS:
        assert (again.out_dir / name).read_bytes() == (kazakhstan.out_dir / name).read_bytes(), name


def test_another_seed_gives_another_run(tmp_path: Path) -> None:
    first = run_scenario(load_scenario(KAZAKHSTAN), tmp_path / "a", years=1)
    scenario = load_scenario(KAZAKHSTAN)
    from dataclasses import replace

    second = run_scenario(replace(scenario, seed=scenario.seed + 1), tmp_path / "b", years=1)
    assert (first.out_dir / "trades.csv").read_bytes() != (
        second.out_dir / "trades.csv"
    ).read_bytes()


def test_eu_switzerland_linked_year_settles_cross_registry_trades_through_the_gateway(
    tmp_path: Path,
) -> None:
    result = run_scenario(load_scenario(EU_SWITZERLAND), tmp_path, years=1)
    world = result.world
    assert world is not None and world.federation is not None
    members = world.exchange.members
    cross = [
        trade
        for trade in world.exchange.trades.values()
        if members[trade.buyer].registry != world.exchange.listings[trade.instrument].registry
    ]
    assert cross, "no firm bought over the link in 2020"
    assert all(trade.transfer_id is not None for trade in cross)
    assert any(trade.status is TradeStatus.SETTLED for trade in cross)
    assert len(world.federation.gateway.transfers) > 0
    world.check_invariants()  # registries, gateway, clearing and custody all conserve
    assert sorted({row["registry"] for row in result.summary["registries"]}) == ["CH", "EU"]


def test_cli_run_writes_reports_into_out_and_exits_zero(tmp_path: Path) -> None:
    out = tmp_path / "kz"
    outcome = CliRunner().invoke(
        cli, ["run", KAZAKHSTAN, "--out", str(out), "--years", "1", "--days", "10"]
    )
    assert outcome.exit_code == 0, outcome.output
    assert "KZU" in outcome.output
    for name in REPORTS:
        assert (out / name).is_file()


def test_cli_run_of_a_missing_file_exits_non_zero(tmp_path: Path) -> None:
    outcome = CliRunner().invoke(cli, ["run", str(tmp_path / "nope.toml")])
    assert outcome.exit_code != 0


# ---------------------------------------------------------------- quotes


def test_reference_price_moves_to_a_better_quote() -> None:
    assert Quote(None, None, None).reference_minor() is None
    assert Quote(120, None, 100).reference_minor() == 120
    assert Quote(None, 90, 100).reference_minor() == 90
    assert Quote(None, 150, None).reference_minor() is None  # a lone quote is no price
    assert Quote(100, 150, None).reference_minor() == 125  # no trade yet: the midpoint
    assert Quote(None, 90, 100, 95).reference_minor() == 90  # the settlement, then quotes
    assert Quote(None, None, 100, 95).reference_minor() == 95


def test_ctrl_c_stops_the_run_and_writes_what_was_done(tmp_path: Path) -> None:
    def interrupt_on_day_5(done: int, total: int) -> None:
        if done == 5:
            raise KeyboardInterrupt

    result = run_scenario(load_scenario(KAZAKHSTAN), tmp_path, progress=interrupt_on_day_5)
    assert result.interrupted
    summary = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert summary["run"]["interrupted"] is True
    assert summary["registries"] == []  # no year closed yet
    assert len(_rows(tmp_path / "trades.csv")) == summary["totals"]["trades"]


def test_summary_abatement_totals_are_the_firms_years(kazakhstan: RunResult) -> None:
    totals = kazakhstan.summary["totals"]
    assert totals["abatement_t"] == sum(row.abatement_t for row in kazakhstan.firm_years)
    by_year = kazakhstan.summary["registries"]
    assert totals["abatement_t"] == sum(year["abatement_t"] for year in by_year)
    for row in kazakhstan.firm_years:
        assert row.emissions_t == row.forecast_t - row.abatement_t


def test_australias_preset_caps_foreign_allowances_at_half_of_liability() -> None:
    # International units <= 50% of liability (DOMAIN.md, the Australia-EU interim link;
    # reference A21), in the australia preset.
    assert foreign_share_max(load_preset("australia"), 2016) == Fraction(1, 2)
    assert foreign_share_max(load_preset("eu"), 2016) is None  # no such limit


def _no_one_at_the_prompt(prompt: str) -> str:
    raise EOFError


@pytest.mark.parametrize(
    "path", sorted(Path("fixtures/scenarios").glob("*.toml")), ids=lambda path: path.stem
)
def test_every_shipped_scenario_runs_its_first_days_and_keeps_the_invariants(
    path: Path, tmp_path: Path
) -> None:
    prompt = Prompt(_no_one_at_the_prompt, lambda text: None)
    result = run_scenario(load_scenario(path), tmp_path, years=1, days=3, prompt=prompt)
    assert result.world is not None and not result.interrupted
    result.world.check_invariants()
    assert (tmp_path / "summary.json").is_file()


KOREA_SHORT = """\
[scenario]
name = "korea-short"
narrative = "Korean firms allocated half their emissions, abating dearer than the penalty cap."
seed = 7
currency = "KRW"

[calendar]
start = 2021-01-01
years = 2
trading_days_per_year = 4

[[registry]]
code = "KR"
preset = "korea"

[[registry.entities]]
id = "kr-steel-1"
sector = "steel"
baseline_t = 1_000_000
growth = "0"
allocation_share = "0.5"
mac = { kind = "linear", slope_minor_per_t = "1/10", intercept_minor = 150_000 }

[[registry.entities]]
id = "kr-power-1"
sector = "power"
baseline_t = 2_000_000
growth = "0"
allocation_share = "0.5"
mac = { kind = "linear", slope_minor_per_t = "1/10", intercept_minor = 150_000 }

[[instrument]]
unit_type = "KAU"
registry = "KR"
currency = "KRW"
tick_minor = 50
lot_t = 100

[[agents]]
kind = "firms"
"""


def test_a_short_korean_firm_borrows_up_to_a_tenth_of_its_obligation_from_next_year(
    tmp_path: Path,
) -> None:
    # Korea's borrowing limit, 10% of the obligation (preset korea.toml,
    # borrowing_share_max [U]); abating costs more than the KRW 100,000 penalty cap
    # (DOMAIN.md, Korea), so both firms end 2021 short.
    path = tmp_path / "korea-short.toml"
    path.write_text(KOREA_SHORT, encoding="utf-8")
    result = run_scenario(load_scenario(path), tmp_path / "out")
    (kr_2021,) = [
        row
        for row in result.summary["registries"]
        if (row["registry"], row["year"]) == ("KR", 2021)
    ]
    assert kr_2021["borrowed_t"] == 300_000  # 10% of the 3,000,000 t verified
    world = result.world
    assert world is not None
    ledger = world.registries["KR"].ledger
    borrowed = [
        block
        for record in ledger.surrenders(period=2021)
        for block in record.blocks
        if block.vintage == 2022
    ]
    assert sum(block.quantity for block in borrowed) == 300_000
    mix = [r for r in result.summary["surrenders"] if (r["registry"], r["year"]) == ("KR", 2021)]
    assert kr_2021["surrendered_t"] == sum(r["surrendered_t"] for r in mix)
