"""A programme's exit as a scenario event: Ontario leaves the WCI on 3 July 2018.

Ontario's Cap and Trade Cancellation Act 2018 (Bill 4) made 3 July 2018 the final
compliance date and cancelled the instruments held in Ontario (shared/DOMAIN.md
"De-linking"; shared/reference/registry-and-linking.md A22); the gateway terminates the
link with transfers in flight terminated (reference D21). The shipped scenario
california-quebec-ontario.toml (and its unlinked twin) carries that exit.
"""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

import pytest

from compliance.calendar import DeadlineKind
from etslink.reports.charts import closing_series
from etslink.scenario import OpenPeriodRule, UnitFate, load_scenario
from etslink.sim.run import RunResult, run_scenario
from gateway.links import LinkState
from registry import AccountKind
from registry.config_reader import ConfigError

SCENARIOS = Path("fixtures/scenarios")
LINKED = SCENARIOS / "california-quebec-ontario.toml"
UNLINKED = SCENARIOS / "california-quebec-ontario-unlinked.toml"
EXIT_DAY = "2018-07-03"  # final compliance date, A22 [V]
EXIT_BLOCK = """[[exits]]
registry = "ON"
date = 2018-07-03
units = "cancelled"
open_period = "settle_to_date"
"""


@pytest.fixture(scope="module")
def linked(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    return run_scenario(load_scenario(LINKED), tmp_path_factory.mktemp("cqo"))


@pytest.fixture(scope="module")
def frozen_waived(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    """The linked scenario with Ontario's units frozen and its open period waived."""
    folder = tmp_path_factory.mktemp("cqo-frozen")
    text = LINKED.read_text(encoding="utf-8").replace(
        EXIT_BLOCK,
        EXIT_BLOCK.replace('"cancelled"', '"frozen"').replace('"settle_to_date"', '"waive"'),
    )
    text = text.replace('file = "../links/', f'file = "{Path.cwd() / "fixtures/links"}/')
    path = folder / "frozen.toml"
    path.write_text(text, encoding="utf-8")
    return run_scenario(load_scenario(path), folder / "out", years=1)


def _rows(result: RunResult, name: str) -> list[dict[str, str]]:
    with (result.out_dir / name).open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _summary(result: RunResult) -> dict:
    return json.loads((result.out_dir / "summary.json").read_text(encoding="utf-8"))


def _ontario(summary: dict, section: str) -> list[dict]:
    return [row for row in summary[section] if row["registry"] == "ON"]


def _years(summary: dict) -> dict[int, dict]:
    return {row["year"]: row for row in _ontario(summary, "registries")}


def test_shipped_scenario_and_its_twin_carry_ontario_s_exit_of_3_july_2018() -> None:
    for path in (LINKED, UNLINKED):
        (item,) = load_scenario(path).exits
        assert (item.registry, item.day) == ("ON", date(2018, 7, 3))  # A22 [V]
        assert item.units is UnitFate.CANCELLED  # Ontario-held instruments cancelled, A22
        assert item.open_period is OpenPeriodRule.SETTLE_TO_DATE


def test_ontario_holds_no_auction_and_gets_no_allocation_after_its_exit(
    linked: RunResult,
) -> None:
    auctions = [row for row in _rows(linked, "auctions.csv") if row["registry"] == "ON"]
    assert auctions, "Ontario auctioned before it left (first joint auction Feb 2018, A22)"
    assert all(row["day"] < EXIT_DAY for row in auctions), auctions
    years = _years(_summary(linked))
    assert 2019 not in years, "no Ontario allocation, report or auction in 2019"
    assert years[2018]["allocated_t"] > 0  # the 2018 allocation came before the exit
    assert {row.year for row in linked.record.firm_years if row.registry == "ON"} == {2018}
    governments = [g for g in linked.record.governments if g.registry == "ON" and g.year == 2019]
    assert all(g.auctioned_t == 0 for g in governments)


def test_no_trade_in_an_ontario_book_after_3_july_2018(linked: RunResult) -> None:
    oca = [row for row in _rows(linked, "trades.csv") if row["instrument"] == "OCA"]
    assert oca, "the Ontario book traded while the programme ran"
    assert max(row["day"] for row in oca) < EXIT_DAY


def test_the_price_chart_draws_no_ontario_price_after_3_july_2018(linked: RunResult) -> None:
    oca, cca = (closing_series(linked.record, book) for book in ("OCA", "CCA"))
    assert oca and max(day for day, _ in oca) < date(2018, 7, 3)
    assert max(day for day, _ in cca) > date(2019, 1, 1)  # the others go on


def test_links_on_ca_and_on_qc_are_terminated_at_the_exit(linked: RunResult) -> None:
    world = linked.world
    assert world is not None and world.federation is not None
    links = world.federation.gateway.links
    assert links["on-ca"].state is LinkState.TERMINATED  # D21
    assert links["on-qc"].state is LinkState.TERMINATED
    assert links["ca-qc"].state is LinkState.ACTIVE
    (exit_,) = _ontario(_summary(linked), "exits")
    assert exit_["links_terminated"] == "on-ca on-qc"
    terminated = {row["transaction_id"] for row in _rows(linked, "transfers.csv")}
    ids = set(exit_["transfer_ids_terminated"].split())
    assert ids <= terminated and len(ids) == exit_["transfers_terminated"]


def test_ontario_held_units_are_cancelled_and_reported_by_origin(linked: RunResult) -> None:
    world = linked.world
    assert world is not None
    registry = world.registries["ON"]
    live_t = sum(
        account.holding.balance()
        for account in registry.accounts()
        if not account.kind.terminal and account.kind is not AccountKind.PENDING_OUT
    )
    assert live_t == 0, "every instrument held in Ontario was cancelled (A22)"
    summary = _summary(linked)
    (exit_,) = _ontario(summary, "exits")
    assert exit_["units"] == "cancelled"
    held = {(r["origin"], r["unit_type"]): r["held_t"] for r in _ontario(summary, "exit_units")}
    assert held[("ON", "OCA")] > 0
    assert sum(held.values()) == exit_["units_total_t"]
    cancelled_t = registry.ledger.singleton(AccountKind.CANCELLATION).holding.balance()
    assert cancelled_t >= exit_["units_total_t"] > 0
    world.check_invariants()


def test_ontario_s_open_period_is_settled_on_emissions_to_the_exit(linked: RunResult) -> None:
    world = linked.world
    assert world is not None
    book = world.books["ON"]
    assert (DeadlineKind.SURRENDER_DUE, 2017) in book.schedule.fired
    summary = _summary(linked)
    assert _ontario(summary, "deadlines_pending") == []
    (settled,) = _ontario(summary, "exit_periods")
    assert (settled["period"], settled["rule"]) == ("2017-2018", "settle_to_date")
    assert settled["entities"] == 20
    assert settled["currency"] == "CAD"
    # Emissions to 3 July: about half of the year's (184 of 365 days), less abatement.
    year_2018 = _years(summary)[2018]
    assert settled["obligation_t"] == year_2018["verified_emissions_t"] == year_2018["obligation_t"]
    assert year_2018["period"] == "2017-2018"


def test_frozen_units_stay_held_and_a_waived_period_has_no_outcome(
    frozen_waived: RunResult,
) -> None:
    world = frozen_waived.world
    assert world is not None
    registry = world.registries["ON"]
    assert registry.ledger.suspension_reason is not None
    summary = _summary(frozen_waived)
    (exit_,) = _ontario(summary, "exits")
    assert exit_["units"] == "frozen"
    (waived,) = _ontario(summary, "exit_periods")
    assert (waived["period"], waived["rule"], waived["entities"]) == ("2017-2018", "waive", 0)
    assert world.books["ON"].outcomes() == []
    oca = [row for row in _rows(frozen_waived, "trades.csv") if row["instrument"] == "OCA"]
    assert oca and max(row["day"] for row in oca) < EXIT_DAY
    held_t = sum(
        account.holding.balance() for account in registry.accounts() if not account.kind.terminal
    )
    assert held_t == exit_["units_total_t"]


# ---------------------------------------------------------------- the loader


def _write(tmp_path: Path, block: str) -> Path:
    text = UNLINKED.read_text(encoding="utf-8").replace(EXIT_BLOCK, block)
    path = tmp_path / "exit.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("block", "key", "words"),
    [
        (EXIT_BLOCK.replace('"ON"', '"KR"'), "exits[0].registry", "declared registry"),
        (EXIT_BLOCK.replace("2018-07-03", "2020-01-01"), "exits[0].date", "inside the run"),
        (EXIT_BLOCK.replace("2018-07-03", "2017-12-31"), "exits[0].date", "inside the run"),
        (EXIT_BLOCK.replace('"cancelled"', '"burnt"'), "exits[0].units", "cancelled"),
        (EXIT_BLOCK.replace('"settle_to_date"', '"later"'), "exits[0].open_period", "waive"),
        (EXIT_BLOCK + 'reason = "x"\n', "exits[0].reason", "unknown key"),
        (EXIT_BLOCK + "\n" + EXIT_BLOCK, "exits[1].registry", "already has an exit"),
    ],
)
def test_loader_refuses_a_bad_exit_naming_its_key(
    tmp_path: Path, block: str, key: str, words: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_scenario(_write(tmp_path, block))
    assert caught.value.key == key
    assert words in caught.value.message
