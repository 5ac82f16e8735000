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
- No session, trade or auction falls on a Saturday, a Sunday or a public holiday of its
  jurisdiction (`compliance.business_days`; the holiday calendars are the presets'
  `[trading] holidays`).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from pathlib import Path

import pytest

from compliance.business_days import is_business_day
from etslink.scenario import Scenario, load_scenario
from etslink.sim.participants import Prompt
from etslink.sim.run import RunResult, Simulation, run_scenario
from etslink.sim.valuation import bank_value_minor

SCENARIOS = Path("fixtures/scenarios")
LINKED = ("eu-switzerland", "california-quebec-ontario", "australia-eu-interim", "northeast-asia")
SHIPPED = sorted(SCENARIOS.glob("*.toml"))
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
    pairs = runs[name].summary["link_pairs"]
    whole = [pair for pair in pairs if pair["open_whole_year"]]
    assert whole, f"{name}: no link open for a whole year"
    for pair in whole:
        assert pair["within_band"], (
            f"{pair['link_id']} {pair['year']}: gap {pair['currency']} {pair['gap']} against "
            f"the benchmark's {pair['benchmark_gap']}, band {pair['band']}"
        )


@pytest.mark.parametrize("name", LINKED)
def test_books_trade_on_most_trading_days(runs: dict[str, RunResult], name: str) -> None:
    record = runs[name].record
    sessions = record.years_run * record.days_run
    traded: dict[str, set[str]] = defaultdict(set)
    for row in record.prices:
        traded[row.instrument].add(row.day)
    # A book whose venue's programme ended (Ontario, 3 July 2018) counts its sessions before.
    session_days = {row.day for row in record.settlements}
    ends = {item.registry: item.day for item in record.exits}
    open_sessions = {
        code: sum(day < ends[book.registry] for day in session_days)
        if book.registry in ends
        else sessions
        for code, book in record.books.items()
    }
    shares = {code: len(traded[code]) / open_sessions[code] for code in record.books}
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


def _holidays(scenario: Scenario, code: str) -> str:
    return scenario.registry(code).regime.trading.holidays


def _no_one_at_the_prompt(prompt: str) -> str:
    raise EOFError


@pytest.mark.parametrize("path", SHIPPED, ids=[path.stem for path in SHIPPED])
def test_no_session_or_auction_is_scheduled_on_a_weekend_or_a_public_holiday(path: Path) -> None:
    scenario = load_scenario(path)
    run = Simulation(scenario, None, None, prompt=Prompt(_no_one_at_the_prompt, print))
    calendars = {item.code: item.regime.trading.holidays for item in scenario.registries}
    for year, sessions in run.sessions.items():
        assert sessions, f"{path.stem}: no session in {year}"
        for day in sessions:
            closed = [
                code for code, holidays in calendars.items() if not is_business_day(holidays, day)
            ]
            assert not closed, f"{path.stem}: a session on {day:%A %d %B %Y}, closed in {closed}"
        for code, government in run.governments.items():
            for number in government.auction_days(sessions):
                day = sessions[number - 1]
                assert is_business_day(calendars[code], day), f"{code} auctions on {day}"


@pytest.mark.parametrize("name", LINKED)
def test_no_trade_settlement_or_auction_falls_on_a_weekend_or_a_public_holiday(
    runs: dict[str, RunResult], name: str
) -> None:
    record = runs[name].record
    scenario = record.scenario
    dated = [(row.day, record.books[row.instrument].registry) for row in record.trades]
    dated += [(row.day, record.books[row.instrument].registry) for row in record.settlements]
    dated += [(row.day, row.registry) for row in record.auctions]
    assert dated
    for day, code in dated:
        when = date.fromisoformat(day)
        assert is_business_day(_holidays(scenario, code), when), f"{code} on {when:%A %d %B %Y}"


@pytest.mark.parametrize("name", LINKED)
def test_no_auction_sells_below_its_reserve(runs: dict[str, RunResult], name: str) -> None:
    auctions = runs[name].record.auctions
    for row in auctions:
        if row.sold_t > 0:
            assert row.clearing_price_minor >= row.reserve_price_minor, row
    # Korea's reserve comes from recent market prices, never KRW 1 (issue 13)
    assert all(row.reserve_price_minor > 1 for row in auctions if row.registry == "KR")


@pytest.mark.parametrize("name", LINKED)
def test_nothing_is_auctioned_allocated_or_traded_in_a_programme_after_its_exit(
    runs: dict[str, RunResult], name: str
) -> None:
    record = runs[name].record
    for item in record.exits:
        after = str(item.day)
        assert not [a for a in record.auctions if a.registry == item.registry and a.day >= after]
        assert not [
            row
            for row in record.firm_years
            if row.registry == item.registry and row.year > int(after[:4])
        ]
        venue_books = {
            code for code, book in record.books.items() if book.registry == item.registry
        }
        assert not [t for t in record.trades if t.instrument in venue_books and t.day >= after]
