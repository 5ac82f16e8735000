"""The shipped linked scenarios behave like the linked markets they model.

- After a link opens, the converted gap between the linked parties' allowances stays
  within the band the link's frictions explain, in every year the link is open throughout
  (etslink/reports/links.py states the band: 2% of the importer's price for a market of
  lots, ticks and weekly sessions, plus carrying a unit through the longest wait for a
  transfer window at the scenario's interest rate).
- Books trade on most trading days.
- With a floor that escalates and banking (California and Québec: USD 10 in 2012 + 5% a
  year, DOMAIN.md; banking [U] in the presets), no secondary trade clears below what its
  seller could get by banking the unit to a known floor, discounted at the scenario's
  interest rate (etslink/sim/valuation.py, `bank_value_minor`).
- Dealers bring EU allowances to the Swiss venue over the link, through the gateway.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

from etslink.scenario import load_scenario
from etslink.sim.run import RunResult, run_scenario
from etslink.sim.valuation import bank_value_minor

SCENARIOS = Path("fixtures/scenarios")
LINKED = ("eu-switzerland", "california-quebec-ontario", "australia-eu-interim", "northeast-asia")
TRADED_SHARE_MIN = 0.4  # of sessions, per book; most books trade on far more


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, RunResult]:
    folder = tmp_path_factory.mktemp("shipped")
    return {
        name: run_scenario(load_scenario(SCENARIOS / f"{name}.toml"), folder / name)
        for name in LINKED
    }


@pytest.mark.parametrize("name", LINKED)
def test_the_gap_between_linked_allowances_stays_in_the_links_band(
    runs: dict[str, RunResult], name: str
) -> None:
    links = runs[name].summary["equilibrium"]["links"]
    whole = [
        (link_id, year, pair)
        for link_id, link in links.items()
        for year, pair in link["years"].items()
        if pair["open_whole_year"]
    ]
    assert whole, f"{name}: no link open for a whole year"
    for link_id, year, pair in whole:
        assert pair["within_band"], (
            f"{link_id} {year}: gap {pair['rounded']['gap_minor']} against the benchmark's "
            f"{pair['rounded']['analytic_gap_minor']}, band {pair['rounded']['band_minor']}"
        )


@pytest.mark.parametrize("name", LINKED)
def test_books_trade_on_most_trading_days(runs: dict[str, RunResult], name: str) -> None:
    record = runs[name].record
    sessions = record.years_run * record.days_run
    traded: dict[str, set[str]] = defaultdict(set)
    for row in record.prices:
        traded[row.instrument].add(row.day)
    shares = {code: len(traded[code]) / sessions for code in record.books}
    assert sum(shares.values()) / len(shares) > 0.5, shares  # on average, most days
    assert min(shares.values()) >= TRADED_SHARE_MIN, shares


def test_no_secondary_trade_clears_below_what_banking_to_a_known_floor_pays(
    runs: dict[str, RunResult],
) -> None:
    record = runs["california-quebec-ontario"].record
    scenario = record.scenario
    last_year = scenario.calendar.start.year + record.years_run - 1
    checked = 0
    for trade in record.trades:
        year = int(trade.day[:4])
        seller = scenario.registry(trade.seller_registry)
        bank = bank_value_minor(seller.regime, year, last_year, scenario.interest_rate)
        book = record.books[trade.instrument]
        bank_there = bank * scenario.fx.minor_factor(seller.currency, book.currency)
        assert trade.price_minor >= bank_there, (trade, float(bank_there))
        checked += bank > 0
    assert checked > 100, "no trade was checked against a positive bank value"


def test_dealers_bring_eu_allowances_to_the_swiss_venue_over_the_link(
    runs: dict[str, RunResult],
) -> None:
    record = runs["eu-switzerland"].record
    dealer_accounts = {
        seat.account_id
        for seat in runs["eu-switzerland"].world.dealers  # type: ignore[union-attr]
        if seat.registry == "CH"
    }
    carried = [
        row
        for row in record.transfers
        if row.status == "completed"
        and row.from_registry == "EU"
        and row.to_account in dealer_accounts
        and dict(row.by_unit_t).get("EUA")
    ]
    assert carried, "no dealer moved EUAs over the link"
    sold = [t for t in record.trades if t.instrument == "EUA@CH" and t.seller.startswith("dealer-")]
    assert sold, "no dealer sold EUAs on the Swiss venue"
