"""The run's reports agree with each other and with the world they describe.

EU–Switzerland's first two years (fixtures/scenarios/eu-switzerland.toml; the
registry link from 2020-09-21): Swiss firms surrender EUAs bought over the link
in 2021, so foreign shares and link flows are not empty.
"""

from __future__ import annotations

import csv
import json
import re
from collections import defaultdict
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from rich.console import Console

from compliance.events import PeriodOutcome, Status
from compliance.penalties import assess_penalty
from etslink.cli import cli
from etslink.cli import run as run_cli
from etslink.reports import schema
from etslink.reports.csvs import compliance_rows
from etslink.reports.summary import records_of, registry_rows
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
    years = records_of(linked.summary, "links", link_id="eu-ch")
    assert all(
        (row["registry_a"], row["registry_b"], row["direction"]) == ("EU", "CH", "bilateral")
        for row in years
    )
    transfers = _rows(linked.out_dir / "transfers.csv")
    completed: dict[int, int] = defaultdict(int)
    for row in transfers:
        if row["status"] == "completed":
            completed[int(row["proposed_at"][:4])] += int(row["quantity_t"])
    assert completed, "no transfer completed over the link"
    assert {row["year"]: row["completed_t"] for row in years} == dict(completed)
    for row in years:
        lanes = records_of(linked.summary, "link_flows", link_id="eu-ch", year=row["year"])
        assert row["completed_t"] == sum(lane["completed_t"] for lane in lanes)
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
    summary = linked.summary
    exact = {(r["registry"], r["year"]): r for r in summary["exact"]["registries"]}
    for row in summary["registries"]:
        code, year = row["registry"], row["year"]
        mix = records_of(summary, "surrenders", registry=code, year=year)
        assert sum(m["surrendered_t"] for m in mix) == row["surrendered_t"], (code, year)
        home = row["allowance"]
        assert row["foreign_t"] == sum(m["surrendered_t"] for m in mix if m["unit_type"] != home)
        total = row["surrendered_t"]
        share = Fraction(row["foreign_t"], total) if total else Fraction(0)
        assert Fraction(exact[(code, year)]["foreign_share"]) == share
        assert row["foreign_share"] == pytest.approx(float(share), abs=1e-6)
        assert row["offsets_t"] == 0  # the scenario issues no offset credits
        foreign_seen += row["foreign_t"]
    assert foreign_seen > 0, "no Swiss firm surrendered an EUA"


def test_a_standalone_run_has_no_links_and_no_transfers(tmp_path: Path) -> None:
    result = run_scenario(
        load_scenario("fixtures/scenarios/kazakhstan.toml"), tmp_path, years=1, days=5
    )
    assert result.summary["links"] == [] and result.summary["link_flows"] == []
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
    rows, exact = registry_rows(record, "QC")
    years = {row["year"]: row for row in rows}
    assert [years[year]["period"] for year in (2018, 2019, 2020)] == [None, None, "2018-2020"]
    last = years[2020]
    assert (last["entities"], last["compliant_entities"]) == (2, 1)
    assert (last["obligation_t"], last["period_surrendered_t"], last["shortfall_t"]) == (
        3_900,
        3_800,
        100,
    )
    assert exact[-1]["period_surrendered_t"] == "3800"
    cells = [run_cli._compliance_cells(years[year], 1) for year in (2018, 2020)]
    assert [(c["period"], c["owed"], c["surrendered"], c["ok"]) for c in cells] == [
        ("", "", "", "–"),
        ("2018-2020", "3,900", "3,800", "1/2"),
    ]
    assert cells[1]["fines"] == "0.00"  # CAD, in major units under a "fines CAD" header
    # a year the run did not reach, holding surrenders towards a period still open
    pending = dict(last, allocated_t=None, period=None)
    assert run_cli._compliance_cells(pending, 1)["period"] == "pending"
    rows = compliance_rows(record)
    assert [(row["period"], row["period_last_year"]) for row in rows] == [(2018, 2020)] * 2
    assert [(row["surrendered_t"], row["surrendered_exact"]) for row in rows] == [
        (3_000, "3000"),
        (800, "800"),
    ]


# ---------------------------------------------------------------- the schema and its doc

DOC = Path(__file__).parents[2] / "docs" / "summary-json.md"


def _documented() -> dict[str, list[str]]:
    """Return docs/summary-json.md's sections ("markets", "exact.markets", "comparison
    markets", …) and the keys each table lists, in order."""
    sections: dict[str, list[str]] = {}
    current = None
    for line in DOC.read_text(encoding="utf-8").splitlines():
        heading = re.fullmatch(r"### (comparison )?`([a-z_.]+)`", line)
        if heading:
            current = f"{heading.group(1) or ''}{heading.group(2)}"
            sections[current] = []
            continue
        key = re.match(r"\| `([a-z_]+)` \|", line)
        if key and current is not None:
            sections[current].append(key.group(1))
    return sections


def test_the_doc_lists_every_section_and_key_the_program_declares_in_order() -> None:
    declared = {
        **{name: list(keys) for name, keys in schema.SUMMARY_SECTIONS.items()},
        **{f"exact.{name}": list(keys) for name, keys in schema.SUMMARY_EXACT.items()},
        **{f"comparison {name}": list(k) for name, k in schema.COMPARISON_SECTIONS.items()},
        **{f"comparison exact.{name}": list(k) for name, k in schema.COMPARISON_EXACT.items()},
    }
    assert _documented() == declared


def _assert_flat(
    doc: dict[str, Any],
    sections: dict[str, tuple[str, ...]],
    objects: Any,
    fractions: bool = False,
) -> None:
    for name, keys in sections.items():
        value = doc[name]
        records = [value] if name in objects else value
        assert isinstance(records, list), name
        for record in records:
            if record is None and name in objects:
                continue
            assert tuple(record) == keys, name
            assert not any(isinstance(v, dict | list) for v in record.values()), name
            assert fractions or not any(
                isinstance(v, str) and re.fullmatch(r"-?\d+/\d+", v) for v in record.values()
            ), f"a fraction outside exact in {name}"


def test_summary_json_holds_exactly_the_documented_sections_as_flat_records(
    linked: RunResult,
) -> None:
    doc = json.loads((linked.out_dir / "summary.json").read_text(encoding="utf-8"))
    assert doc["schema"] == "etslink.summary/2"
    assert set(doc) == {"schema", "exact", *schema.SUMMARY_SECTIONS}
    assert set(doc["exact"]) == set(schema.SUMMARY_EXACT)
    _assert_flat(doc, schema.SUMMARY_SECTIONS, schema.SUMMARY_OBJECTS)
    _assert_flat(doc["exact"], schema.SUMMARY_EXACT, schema.SUMMARY_EXACT_OBJECTS, True)
    for name in ("markets", "registries", "auctions", "links", "systems", "link_pairs"):
        assert doc[name], f"the linked run wrote no {name}"


def test_money_in_summary_and_csvs_is_major_units_beside_the_exact_minor_integer(
    linked: RunResult,
) -> None:
    for row in linked.summary["markets"]:
        if row["trades"]:
            assert row["low"] == row["low_minor"] / 100  # EUR and CHF have cents
            assert row["currency"] in ("EUR", "CHF")
    for row in _rows(linked.out_dir / "trades.csv"):
        assert Fraction(row["price"]) * 100 == int(row["price_minor"])
    for row in _rows(linked.out_dir / "prices.csv"):
        assert Fraction(row["close"]) * 100 == int(row["close_minor"])
        assert row["currency"] == linked.record.books[row["instrument"]].currency
    totals = linked.summary["totals"]
    cost = Fraction(linked.summary["exact"]["totals"]["abatement_cost_minor"])
    assert totals["abatement_cost"] == pytest.approx(float(cost) / 100, abs=0.005)
    assert abs(totals["abatement_cost_minor"] - cost) <= Fraction(1, 2)


def test_the_run_tables_fit_80_columns_and_cut_no_number(linked: RunResult) -> None:
    console = Console(width=80, record=True, color_system=None)
    run_cli.print_report(linked, console)
    text = console.export_text()
    assert all(len(line) <= 80 for line in text.splitlines()), text
    for row in linked.summary["markets"]:
        if row["trades"]:
            assert f"{row['volume_t']:,}" in text  # whole, with its separators
    totals = linked.summary["totals"]
    assert f"abatement {totals['abatement_t']:,} t at EUR " in text
    assert "minor units" not in text


def test_run_json_prints_summary_json_on_the_seed_it_is_given(tmp_path: Path) -> None:
    out = tmp_path / "kz"
    args = ["run", "fixtures/scenarios/kazakhstan.toml", "--out", str(out), "--years", "1"]
    outcome = CliRunner().invoke(cli, [*args, "--days", "5", "--seed", "11", "--json"])
    assert outcome.exit_code == 0, outcome.output
    assert outcome.stdout == (out / "summary.json").read_text(encoding="utf-8")
    assert json.loads(outcome.stdout)["run"]["seed"] == 11


def test_run_refuses_a_seed_that_is_not_a_whole_number(tmp_path: Path) -> None:
    args = ["run", "fixtures/scenarios/kazakhstan.toml", "--out", str(tmp_path), "--seed", "x"]
    outcome = CliRunner().invoke(cli, args)
    assert outcome.exit_code == 2
    assert "a seed is a whole number" in outcome.output
