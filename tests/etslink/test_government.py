"""The government in a run: scheduled auctions, the reserve at the price ceiling, triggers.

Figures: the WCI auction reserve price, USD 10 in 2012 rising 5% a year (DOMAIN.md,
California / Québec; preset fixtures/jurisdictions/california.toml); Korea's
stabilisation trigger, six consecutive months at ≥ 3× the mean of the previous two
years, releasing up to 25% of the reserve (DOMAIN.md, Korea; preset korea.toml).
"""

from __future__ import annotations

import csv
import shutil
from dataclasses import replace
from datetime import date
from fractions import Fraction
from pathlib import Path

import pytest

from compliance.business_days import is_business_day
from compliance.stability import (
    MonthlyPrice,
    StabilityEventKind,
    price_floor_minor,
    recent_market_reserve_minor,
)
from etslink.scenario import ScenarioRegistry, load_scenario
from etslink.sim.agents.government import Government
from etslink.sim.kernel import YearOpened
from etslink.sim.run import RunResult, Simulation, run_scenario
from etslink.sim.timeline import year_sessions
from etslink.sim.world import Holder
from exchange.book import Instrument

CALIFORNIA_QUEBEC = Path("fixtures/scenarios/california-quebec-ontario.toml")
NORTHEAST_ASIA = Path("fixtures/scenarios/northeast-asia.toml")
EU_SWITZERLAND = Path("fixtures/scenarios/eu-switzerland.toml")


@pytest.fixture(scope="module")
def wci(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    return run_scenario(load_scenario(CALIFORNIA_QUEBEC), tmp_path_factory.mktemp("wci"), years=1)


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _government(registry: ScenarioRegistry, lot_t: int = 1) -> Government:
    code = registry.regime.allowance_unit_type
    instrument = Instrument(code, registry.currency, lot_t=lot_t)
    return Government(registry, Holder("gov", registry.code, "acct"), instrument)


def test_wci_auctions_are_held_mid_month_in_february_may_august_and_november() -> None:
    scenario = load_scenario(CALIFORNIA_QUEBEC)
    sessions = year_sessions(scenario, 2018)
    days = sorted(
        sessions[n - 1] for n in _government(scenario.registry("CA")).auction_days(sessions)
    )
    assert [day.month for day in days] == [2, 5, 8, 11]  # quarterly joint auctions (CARB)
    assert _government(scenario.registry("CA")).auction_days(sessions[:2]) == set()  # January


def test_no_wci_auction_falls_on_saturday_12_may_2018(wci: RunResult) -> None:
    days = {row["day"] for row in _rows(wci.out_dir / "auctions.csv")}
    assert "2018-05-12" not in days  # where evenly spaced calendar days put one
    for day in days:
        for code in ("US-CA", "CA-QC", "CA-ON"):
            assert is_business_day(code, date.fromisoformat(day)), (day, code)


def test_korea_auctions_the_presets_ten_percent_in_phase_three() -> None:
    kr = load_scenario(NORTHEAST_ASIA).registry("KR")
    government = _government(kr)
    assert kr.auctions is not None and kr.auctions.share is None  # the preset decides
    assert government.auction_share(2021) == Fraction(1, 10)  # >= 10% in phase 3 (preset)


def test_korean_auctions_take_their_reserve_from_recent_market_prices_never_one_won(
    tmp_path: Path,
) -> None:
    """Korea's auction floor: (3-month mean + last month's mean + last 3 days' mean) / 3 of
    market prices (ICAP news 553, 2018 [P]; preset korea.toml). The run used to auction
    at a reserve of KRW 1 (389,500 t cleared at KRW 1/t on 2022-08-15)."""
    result = run_scenario(load_scenario(NORTHEAST_ASIA), tmp_path / "out", years=1, days=40)
    korean = [row for row in _rows(result.out_dir / "auctions.csv") if row["registry"] == "KR"]
    assert korean, "the year held Korean auctions"
    settlements = [
        (date.fromisoformat(row["day"]), int(row["settle_minor"]))
        for row in _rows(result.out_dir / "settlements.csv")
        if row["instrument"] == "KAU" and row["settle_minor"]
    ]
    for row in korean:
        day = date.fromisoformat(row["day"])
        assert int(row["reserve_price_minor"]) == recent_market_reserve_minor(settlements, day)
        assert int(row["reserve_price_minor"]) > 1_000
        assert int(row["sold_t"]) == 0 or (
            int(row["clearing_price_minor"]) >= int(row["reserve_price_minor"])
        )


def test_wci_auctions_clear_at_or_above_the_escalated_reserve_price(wci: RunResult) -> None:
    rows = _rows(wci.out_dir / "auctions.csv")
    assert [row["registry"] for row in rows].count("CA") == 4
    floor_2018 = price_floor_minor(
        load_scenario(CALIFORNIA_QUEBEC).registry("CA").regime.stability, 2018
    )
    assert floor_2018 == 1_341  # USD 10.00 in 2012, +5% a year, rounded each year
    for row in rows:
        assert int(row["reserve_price_minor"]) == floor_2018
        assert int(row["clearing_price_minor"]) >= floor_2018
        assert int(row["sold_t"]) + int(row["unsold_t"]) == int(row["supply_t"])
        assert int(row["sold_t"]) % 1_000 == 0  # 1,000-allowance lots


def _registry_year(summary: dict, code: str, year: int) -> dict:
    (found,) = [r for r in summary["registries"] if (r["registry"], r["year"]) == (code, year)]
    return found


def test_auction_proceeds_and_supply_reach_the_summary(wci: RunResult) -> None:
    summary = wci.summary
    ca_year = _registry_year(summary, "CA", 2018)
    auctions = [
        a for a in summary["auctions"] if a["instrument"] == "CCA" and a["day"].startswith("2018")
    ]
    assert ca_year["auction_sold_t"] == sum(a["sold_t"] for a in auctions)
    assert ca_year["cap_t"] == ca_year["allocated_t"] + ca_year["auctioned_t"]
    assert ca_year["price_floor_minor"] == 1_341
    assert (ca_year["price_floor"], ca_year["currency"]) == (13.41, "USD")
    market = next(m for m in summary["markets"] if (m["instrument"], m["year"]) == ("CCA", 2018))
    assert market["auctions"] == len(auctions)
    world = wci.world
    assert world is not None
    government = world.governments["CA"].member_id
    proceeds = sum(a["proceeds_minor"] for a in auctions)
    assert world.exchange.clearing.balance(government, "USD").total >= proceeds
    world.check_invariants()  # every auctioned unit and cent is accounted for


def _with_ceiling_and_reserve(tmp_path: Path) -> Path:
    """The EU of eu-switzerland.toml with a price ceiling of EUR 20 and a 3 Mt reserve,
    its scheduled auctions kept: one account holds the reserve and the auction volume."""
    text = EU_SWITZERLAND.read_text(encoding="utf-8").replace(
        'code = "EU"\npreset = "eu"\n',
        'code = "EU"\npreset = "eu"\n\n[registry.overrides]\nprice_ceiling_minor = 2_000\n\n'
        "[registry.reserve]\nsize_t = 3_000_000\n",
    )
    assert "[registry.auctions]          # the EU's" in text
    return _beside_links(tmp_path, text)


def test_the_reserve_is_sold_at_the_price_ceiling_and_nothing_trades_above_it(
    tmp_path: Path,
) -> None:
    scenario = load_scenario(_with_ceiling_and_reserve(tmp_path))
    result = run_scenario(scenario, tmp_path / "out", years=1, days=20)
    eu_2020 = _registry_year(result.summary, "EU", 2020)
    assert eu_2020["price_ceiling_minor"] == 2_000
    assert eu_2020["price_ceiling"] == 20.0  # EUR 20.00
    assert eu_2020["ceiling_sold_t"] > 0
    assert eu_2020["auctioned_t"] > 0 and eu_2020["auction_sold_t"] > 0  # both, side by side
    assert result.world is not None
    holder = result.world.governments["EU"]
    government = holder.member_id
    at_ceiling = [r for r in result.trades if r.seller == government]
    assert at_ceiling and all(r.price_minor == 2_000 for r in at_ceiling)
    assert sum(r.quantity_t for r in at_ceiling) == eu_2020["ceiling_sold_t"]
    if eu_2020["ceiling_sold_t"] < 3_000_000:  # while the reserve lasts, the ceiling holds
        assert max(r.price_minor for r in result.trades if r.instrument == "EUA") <= 2_000
    # Each kept its own units: what is left of the reserve is in custody for the ceiling's
    # offers, what the auctions did not sell is in the government's account.
    exchange = result.world.exchange
    claim_t = exchange.custody.total_of(government, "EUA") + exchange.unsettled_t(government, "EUA")
    assert claim_t == 3_000_000 - eu_2020["ceiling_sold_t"]
    account = result.world.registries["EU"].account(holder.account_id)
    assert account.holding.balance("EUA") == eu_2020["auctioned_t"] - eu_2020["auction_sold_t"]


def test_a_reserve_release_takes_the_reserve_not_the_auction_volume(tmp_path: Path) -> None:
    run = Simulation(load_scenario(_with_ceiling_and_reserve(tmp_path)), years=1, days=20)
    run.on_year_opened(YearOpened(2020, 0), run.kernel.now)
    government = run.governments["EU"]
    member, account = government.holder.member_id, government.holder.account_id
    custody = run.world.exchange.custody

    def held() -> tuple[int, int]:
        return run.access.account_t("EU", account, "EUA"), custody.total_of(member, "EUA")

    assert held() == (government.auction_left_t + 3_000_000, 0)
    run._ceiling_offers(2020)
    assert held() == (government.auction_left_t, 3_000_000)  # only the reserve offered
    run.access.close_session()
    government.release_due_t = 1_000_000
    run._release_reserves(run.kernel.now)
    record = government.records[-1]
    assert record.kind == "reserve release" and record.sold_t > 0
    assert government.reserve_left_t == 3_000_000 - record.sold_t
    assert sum(held()) == government.auction_left_t + government.reserve_left_t
    run._ceiling_offers(2020)
    assert held() == (government.auction_left_t, government.reserve_left_t)
    run.world.check_invariants()


def _beside_links(tmp_path: Path, text: str) -> Path:
    """Write the scenario with a copy of fixtures/links, so its relative link paths resolve."""
    shutil.copytree(EU_SWITZERLAND.parent.parent / "links", tmp_path / "links")
    (tmp_path / "scenarios").mkdir()
    target = tmp_path / "scenarios" / "ceiling.toml"
    target.write_text(text, encoding="utf-8")
    return target


def test_a_korean_trigger_releases_a_quarter_of_the_reserve_by_auction() -> None:
    kr = load_scenario(NORTHEAST_ASIA).registry("KR")
    government = _government(kr, lot_t=100)
    government.reserve_left_t = government.reserve_start_t = 2_000_000
    calm = [MonthlyPrice(2019 + m // 12, 1 + m % 12, 10_000) for m in range(24)]
    spike = [MonthlyPrice(2021, month, 30_000) for month in range(1, 7)]
    for month in range(1, 6):
        government.check_month(2021, month, calm + spike[:month])
    assert government.release_due_t == 0  # five months at 3x: not yet
    government.check_month(2021, 6, calm + spike)
    assert [e.kind for e in government.events].count(
        StabilityEventKind.RESERVE_RELEASE_TRIGGERED
    ) == 1
    assert government.release_due_t == 500_000  # 25% of the 2,000,000 t reserve


def test_a_short_firm_bids_its_demand_curve_at_auction() -> None:
    run = Simulation(load_scenario(CALIFORNIA_QUEBEC), years=1, days=4)
    run.on_year_opened(YearOpened(2018, 0), run.kernel.now)
    government = run.governments["CA"]
    bids = run._auction_bids(government, 1)
    firms = {firm.member: firm for firm in run.firms if firm.registry == "CA"}
    by_firm: dict[str, list[tuple[int, int]]] = {}
    for bid in bids:
        if bid.bidder in firms:
            by_firm.setdefault(bid.bidder, []).append((bid.price_minor, bid.quantity_t))
    assert by_firm, "no Californian firm was short after its 2018 free allocation"
    for member, schedule in by_firm.items():
        prices = [price for price, _ in schedule]  # the bids go in shuffled
        assert len(set(prices)) == len(prices) <= 4  # one bid per step of the curve
        assert all(quantity % 1_000 == 0 and quantity > 0 for _, quantity in schedule)
        firm = firms[member]
        assert firm.plan is not None
        need_t = firm.plan.need_t - firm.covered(firm.holdings_units(run.access))
        assert sum(quantity for _, quantity in schedule) <= need_t  # never more than it lacks


@pytest.fixture(scope="module")
def eu_ch(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    return run_scenario(
        load_scenario(EU_SWITZERLAND), tmp_path_factory.mktemp("eu-ch"), years=1, days=20
    )


def test_eu_and_swiss_governments_auction_their_shares_none_below_reserve(
    eu_ch: RunResult,
) -> None:
    """EU phase 4: 57% of the cap auctioned (Directive 2003/87/EC Art. 10(1) [V]); the
    Swiss share is illustrative (fixtures/scenarios/eu-switzerland.toml)."""
    rows = _rows(eu_ch.out_dir / "auctions.csv")
    by_registry = {code: [r for r in rows if r["registry"] == code] for code in ("EU", "CH")}
    assert len(by_registry["EU"]) == 20  # one a session: per_year 50, 20 sessions run
    assert by_registry["CH"], "the Swiss government auctioned nothing"
    for row in rows:
        assert int(row["sold_t"]) + int(row["unsold_t"]) == int(row["supply_t"])
        if row["cancelled"] == "False" and int(row["sold_t"]):
            assert int(row["clearing_price_minor"]) >= int(row["reserve_price_minor"])
    eu_2020 = _registry_year(eu_ch.summary, "EU", 2020)
    assert eu_2020["auctioned_t"] * 43 // 57 - eu_2020["allocated_t"] in range(-100, 100_000)


def test_an_eu_auction_is_cancelled_exactly_when_it_clears_below_90_percent_of_secondary(
    eu_ch: RunResult,
) -> None:
    """Reg. 1031/2010 Art. 7(6), with the eu preset's [U] threshold of 90%: the run compares
    each EU auction with the last settlement price before it."""
    for row in _rows(eu_ch.out_dir / "auctions.csv"):
        if row["registry"] != "EU" or not row["secondary_price_minor"]:
            assert row["cancelled"] == "False"
            continue
        below = int(row["clearing_price_minor"]) * 10 < 9 * int(row["secondary_price_minor"])
        assert (row["cancelled"] == "True") == below, row


def test_a_cancelled_eu_auction_sells_nothing_says_why_and_keeps_its_volume(
    tmp_path: Path,
) -> None:
    """Art. 7(6): the volume of a cancelled auction goes to later auctions. A discount of 0
    (threshold = the secondary price) makes the run cancel some."""
    scenario = load_scenario(EU_SWITZERLAND)
    eu = scenario.registry("EU")
    stability = replace(eu.regime.stability, auction_cancellation_discount=Fraction(0))
    eu = replace(eu, regime=replace(eu.regime, stability=stability))
    scenario = replace(
        scenario,
        registries=tuple(eu if r.code == "EU" else r for r in scenario.registries),
    )
    result = run_scenario(scenario, tmp_path / "out", years=1, days=20)
    cancelled = [r for r in result.record.auctions if r.cancelled]
    assert cancelled, "no EU auction cleared below the secondary price"
    for record in cancelled:
        assert record.secondary_price_minor is not None
        assert record.clearing_price_minor < record.secondary_price_minor
        assert (record.sold_t, record.proceeds_minor, record.unsold_t) == (0, 0, record.supply_t)
        assert record.note.startswith(
            f"cancelled: clearing price {record.clearing_price_minor:,} below 100% of "
            f"secondary {record.secondary_price_minor:,}"
        )
    assert result.world is not None
    government = result.world.governments["EU"]
    held_t = result.world.registries["EU"].ledger.account(government.account_id).holding
    eu_2020 = _registry_year(result.summary, "EU", 2020)
    sold_t = sum(r.sold_t for r in result.record.auctions if r.registry == "EU")
    assert held_t.balance("EUA") == eu_2020["auctioned_t"] - sold_t  # nothing cancelled
