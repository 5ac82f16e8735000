"""Scenario files: the shipped ones load; every broken one is refused at its key path."""

from __future__ import annotations

import dataclasses
import shutil
from dataclasses import replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from compliance.errors import ComplianceCode, ComplianceError
from compliance.presets import load_preset
from compliance.regime import PenaltyKind, UnitOrigin
from compliance.surrender_rules import assess_surrender
from etslink.economics import LinearMac, PiecewiseMac
from etslink.scenario import (
    AuctionPlan,
    CsvAgent,
    DealerAgents,
    FirmsAgents,
    ReservePlan,
    Scenario,
    ZicAgents,
    load_scenario,
    with_link_caps,
)
from etslink.sim.world import linked_valuation, unit_catalogue
from gateway.links import LinkState, load_links
from registry.config_reader import ConfigError
from registry.units import UnitBlock, UnitKind, UnitType

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "fixtures" / "scenarios"
SHIPPED = sorted(SCENARIOS.glob("*.toml"))

# A small valid scenario; each broken case below edits one thing in it.
BASE = """\
[scenario]
name = "drill"
narrative = "Two registries, one link."
seed = 7
currency = "EUR"

[calendar]
start = 2021-01-01
years = 2
trading_days_per_year = 10

[[registry]]
code = "EU"
preset = "eu"

[[registry.entities]]
id = "eu-power-1"
sector = "power"
baseline_t = 1_000_000
growth = "0.02"
allocation_share = "1/2"
mac = { kind = "linear", slope_minor_per_t = "1/3", intercept_minor = 500 }

[[registry.entities]]
id = "eu-steel-1"
sector = "steel"
baseline_t = 400_000
growth = "-0.01"
allocation_rule = "preset"
products = [{ product = "hot-metal", output = 300_000, benchmark_t_per_unit = "1.328" }]
mac = { kind = "piecewise", segments = [
    { up_to_t = 1_000, cost_minor = 2_000 },
    { up_to_t = 5_000, cost_minor = 9_000 },
] }

[[registry]]
code = "CH"
preset = "switzerland"

[registry.overrides]
cap_scale = "0.9"
offset_cap = "0"
price_floor_minor = 1_000
price_ceiling_minor = 20_000
penalty_per_t_minor = 12_500

[registry.auctions]
share = "1/2"
per_year = 2
bidder_share_max = "3/10"
unsold = "cancel"

[registry.reserve]
size_t = 50_000

[[registry.entities]]
id = "ch-cement-1"
sector = "cement"
baseline_t = 600_000
growth = "0"
allocation_share = "0.9"
mac = { kind = "linear", slope_minor_per_t = "0.1" }

[[registry.entities]]
id = "ch-refinery-1"
sector = "refining"
baseline_t = 500_000
growth = "0"
allocation_share = "0.8"
mac = { kind = "linear", slope_minor_per_t = "0.2" }

[[links]]
file = "links/eu-switzerland.toml"

[[links.override]]
id = "eu-ch"
state = "suspended"
effective_from = 2021-06-01

[[instrument]]
unit_type = "EUA"
registry = "EU"
tick_minor = 1
lot_t = 1_000

[[instrument]]
unit_type = "CHU"
registry = "CH"
currency = "CHF"

[fx]
CHF_per_EUR = "1.07"

[[agents]]
kind = "firms"
surrender_failure_share = "1/10"

[[agents]]
kind = "zi-c"
count = 3
instrument = "EUA"
value_min_minor = 1_000
value_max_minor = 9_000

[[agents]]
kind = "csv"
participant = "class-a"
path = "orders.csv"
registry = "EU"
cash_minor = 5_000_000
allowances_t = 2_000

[[agents]]
kind = "interactive"
participant = "trainer"
registry = "CH"

[faults]
drop = "1/100"
duplicate = "0.005"
delay = "1/20"
delay_days_max = 3
"""


def _write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "links").mkdir(exist_ok=True)
    shutil.copy(ROOT / "fixtures" / "links" / "eu-switzerland.toml", tmp_path / "links")
    (tmp_path / "orders.csv").write_text("day,side,quantity_t,price_minor\n")
    path = tmp_path / "drill.toml"
    path.write_text(text)
    return path


def _edit(old: str, new: str) -> str:
    assert BASE.count(old) >= 1, old  # a case that edits nothing would prove nothing
    return BASE.replace(old, new, 1)


def _floats_in(value: Any, where: str = "scenario") -> list[str]:
    """Return the paths of every float in a loaded value tree."""
    if isinstance(value, float):
        return [where]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [
            found
            for field in dataclasses.fields(value)
            for found in _floats_in(getattr(value, field.name), f"{where}.{field.name}")
        ]
    if isinstance(value, tuple | list | frozenset | set):
        return [found for item in value for found in _floats_in(item, f"{where}[]")]
    return []


@pytest.mark.parametrize("path", SHIPPED, ids=[path.stem for path in SHIPPED])
def test_every_shipped_scenario_loads_small_and_float_free(path: Path) -> None:
    scenario = load_scenario(path)
    assert scenario.name == path.stem
    assert scenario.narrative
    assert all(10 <= len(registry.entities) <= 50 for registry in scenario.registries)
    assert _floats_in(scenario) == []


def test_the_brief_s_scenarios_and_unlinked_variants_are_shipped() -> None:
    names = {path.stem for path in SHIPPED}
    linked = {
        "northeast-asia",
        "eu-switzerland",
        "california-quebec-ontario",
        "australia-eu-interim",
    }
    assert linked | {f"{name}-unlinked" for name in linked} <= names
    assert "kazakhstan" in names


@pytest.mark.parametrize(
    "name",
    ["northeast-asia", "eu-switzerland", "california-quebec-ontario", "australia-eu-interim"],
)
def test_unlinked_variant_differs_from_its_scenario_only_by_links(name: str) -> None:
    linked = load_scenario(SCENARIOS / f"{name}.toml")
    unlinked = load_scenario(SCENARIOS / f"{name}-unlinked.toml")
    assert linked.links and not unlinked.links
    assert linked.registries == unlinked.registries
    assert linked.exits == unlinked.exits  # a programme exit applies unlinked too
    # Only the books that need the link go: a unit listed on a foreign venue ("EUA@CH").
    own_venue = tuple(item for item in linked.instruments if "@" not in item.code)
    assert own_venue == unlinked.instruments
    assert [_without_venues(a) for a in linked.agents] == list(unlinked.agents)
    assert (linked.seed, linked.calendar, linked.fx) == (
        unlinked.seed,
        unlinked.calendar,
        unlinked.fx,
    )


def _without_venues(agent: object) -> object:
    if isinstance(agent, DealerAgents):
        return replace(agent, books=tuple(code for code in agent.books if "@" not in code))
    return agent


def test_northeast_asia_links_tokyo_and_saitama_only() -> None:
    scenario = load_scenario(SCENARIOS / "northeast-asia.toml")
    assert [registry.code for registry in scenario.registries] == ["CN", "KR", "TK", "ST"]
    assert [sorted(link.parties) for link in scenario.links] == [["ST", "TK"]]


def test_base_scenario_reads_every_section(tmp_path: Path) -> None:
    scenario = load_scenario(_write(tmp_path, BASE))
    eu, ch = scenario.registries
    assert (eu.code, eu.currency, ch.currency) == ("EU", "EUR", "CHF")
    assert ch.overrides.cap_scale == Fraction(9, 10)
    assert ch.overrides.price_ceiling_minor == 20_000
    assert eu.entities[1].allocation.rule == "preset"
    (link,) = scenario.links
    assert link.state is LinkState.SUSPENDED
    assert link.effective_from.isoformat() == "2021-06-01T00:00:00+00:00"
    assert [item.instrument.code for item in scenario.instruments] == ["EUA", "CHU"]
    assert scenario.instruments[0].instrument.lot_t == 1_000
    assert scenario.instruments[1].instrument.currency == "CHF"
    kinds = [type(agent) for agent in scenario.agents]
    assert kinds[:3] == [FirmsAgents, ZicAgents, CsvAgent]
    csv_agent = scenario.agents[2]
    assert isinstance(csv_agent, CsvAgent)
    assert (csv_agent.registry, csv_agent.cash_minor, csv_agent.allowances_t) == (
        "EU",
        5_000_000,
        2_000,
    )
    assert ch.auctions == AuctionPlan(Fraction(1, 2), 2, None, Fraction(3, 10), "cancel")
    assert ch.reserve == ReservePlan(50_000)
    assert eu.auctions is None and eu.reserve is None
    assert scenario.faults is not None and scenario.faults.delay_days_max == 3


def test_overrides_are_applied_to_the_regime_the_run_and_the_books_use(tmp_path: Path) -> None:
    ch = load_scenario(_write(tmp_path, BASE)).registry("CH")
    preset = load_preset(ch.preset)
    regime = ch.regime
    assert regime.stability.price_floor_minor == 1_000
    assert regime.stability.price_ceiling_minor == 20_000
    assert regime.stability.price_floor_escalation == preset.stability.price_floor_escalation
    assert regime.penalty.kind is PenaltyKind.FIXED_PER_TONNE
    assert regime.penalty.fixed_per_t_minor == 12_500
    assert regime.penalty.make_good == preset.penalty.make_good
    offset_limits = [
        limit for limit in regime.surrender.limits if UnitKind.OFFSET_CREDIT in limit.unit_kinds
    ]
    assert offset_limits and all(limit.share == 0 for limit in offset_limits)  # "0" bans them
    eu = load_scenario(_write(tmp_path, BASE)).registry("EU")
    assert eu.regime == load_preset(eu.preset)  # no overrides: the preset as it is


def test_numbers_come_back_as_exact_fractions_and_never_floats(tmp_path: Path) -> None:
    scenario = load_scenario(_write(tmp_path, BASE))
    power, steel = scenario.registries[0].entities
    assert power.growth == Fraction(2, 100) and type(power.growth) is Fraction
    assert power.allocation.share == Fraction(1, 2)
    assert isinstance(power.mac, LinearMac)
    assert power.mac.slope_minor_per_t2 == Fraction(1, 3)
    assert power.mac.marginal_cost(3) == 501
    assert isinstance(steel.mac, PiecewiseMac)
    assert steel.mac.marginal_cost(999) == 2_000
    assert steel.mac.max_abatement_t == 5_000  # nothing to abate beyond the last step
    assert scenario.fx.rate("CHF", "EUR") == Fraction(107, 100)
    assert scenario.fx.rate("EUR", "CHF") == Fraction(100, 107)
    assert scenario.faults is not None and scenario.faults.duplicate == Fraction(1, 200)
    assert _floats_in(scenario) == []


def test_a_float_anywhere_is_refused_at_its_key(tmp_path: Path) -> None:
    path = _write(tmp_path, _edit('growth = "0.02"', "growth = 0.02"))
    with pytest.raises(ConfigError) as caught:
        load_scenario(path)
    assert caught.value.key == "registry[0].entities[0].growth"
    assert "floats are not exact" in caught.value.message


_GENERATE = """
[registry.generate]
count = 12
sector_mix = { chemicals = "1/3", industry = "2/3" }
baseline_min_t = 20_000
baseline_max_t = 300_000
growth = "-0.01"
allocation_share = "0.8"
mac_slope_min_minor_per_t = "1/50"
mac_slope_max_minor_per_t = "1/5"

[[links]]"""


def test_generated_entities_follow_the_seed_and_the_sector_mix(tmp_path: Path) -> None:
    text = _edit("\n[[links]]", _GENERATE)
    first = load_scenario(_write(tmp_path, text)).registry("CH").entities
    again = load_scenario(_write(tmp_path, text)).registry("CH").entities
    other = load_scenario(_write(tmp_path, text.replace("seed = 7", "seed = 8")))
    generated = first[2:]
    assert first == again
    assert other.registry("CH").entities != first
    assert [entity.sector for entity in generated].count("industry") == 8
    assert all(20_000 <= entity.baseline_t <= 300_000 for entity in generated)
    assert all(
        isinstance(entity.mac, LinearMac)
        and Fraction(1, 50) <= entity.mac.slope_minor_per_t2 <= Fraction(1, 5)
        for entity in generated
    )


# (case, old text, new text, the key path the error must name)
BROKEN = [
    ("unknown key", "seed = 7\n", 'seed = 7\ncolour = "red"\n', "scenario.colour"),
    ("unknown top-level table", "[fx]", "[fxx]", "fxx"),
    ("missing key", "seed = 7\n", "", "scenario.seed"),
    ("missing calendar key", "years = 2\n", "", "calendar.years"),
    ("bad fraction", 'growth = "0.02"', 'growth = "2%"', "registry[0].entities[0].growth"),
    (
        "bad slope",
        'slope_minor_per_t = "0.2"',
        'slope_minor_per_t = "fast"',
        "registry[1].entities[1].mac.slope_minor_per_t",
    ),
    (
        "unknown MAC key",
        'slope_minor_per_t = "0.1" }',
        'slope = "0.1" }',
        "registry[1].entities[0].mac.slope",
    ),
    (
        "unknown MAC kind",
        'kind = "linear", slope_minor_per_t = "1/3"',
        'kind = "cubic"',
        "registry[0].entities[0].mac.kind",
    ),
    (
        "falling MAC segments",
        "up_to_t = 5_000, cost_minor = 9_000",
        "up_to_t = 5_000, cost_minor = 1_000",
        "registry[0].entities[1].mac.segments[1]",
    ),
    ("growth of -100%", 'growth = "-0.01"', 'growth = "-1"', "registry[0].entities[1].growth"),
    ("unknown preset", 'preset = "switzerland"', 'preset = "atlantis"', "registry[1].preset"),
    ("code not the preset's", 'code = "CH"', 'code = "SW"', "registry[1].code"),
    (
        "duplicate registry",
        'code = "CH"\npreset = "switzerland"',
        'code = "EU"\npreset = "eu"',
        "registry[1].code",
    ),
    (
        "duplicate entity id",
        'id = "ch-refinery-1"',
        'id = "ch-cement-1"',
        "registry[1].entities[1].id",
    ),
    (
        "entity id shared across registries",
        'id = "ch-cement-1"',
        'id = "eu-power-1"',
        "registry[1].entities[0].id",
    ),
    (
        "baseline out of range",
        "baseline_t = 400_000",
        "baseline_t = 0",
        "registry[0].entities[1].baseline_t",
    ),
    (
        "share above one",
        'allocation_share = "0.9"',
        'allocation_share = "9/5"',
        "registry[1].entities[0].allocation_share",
    ),
    (
        "unknown allocation rule",
        'allocation_rule = "preset"',
        'allocation_rule = "higher"',
        "registry[0].entities[1].allocation_rule",
    ),
    (
        "ceiling under floor",
        "price_ceiling_minor = 20_000",
        "price_ceiling_minor = 900",
        "registry[1].overrides.price_ceiling_minor",
    ),
    (
        "unknown override",
        'cap_scale = "0.9"',
        'cap_factor = "0.9"',
        "registry[1].overrides.cap_factor",
    ),
    (
        "missing link file",
        'file = "links/eu-switzerland.toml"',
        'file = "links/nowhere.toml"',
        "links[0].file",
    ),
    ("override of an unknown link", 'id = "eu-ch"', 'id = "eu-uk"', "links[0].override[0].id"),
    (
        "override to an unknown state",
        'state = "suspended"',
        'state = "paused"',
        "links[0].override[0].state",
    ),
    (
        "instrument of an unknown unit type",
        'unit_type = "CHU"',
        'unit_type = "XYZ"',
        "instrument[1].unit_type",
    ),
    (
        "instrument on an undeclared registry",
        'registry = "EU"\ntick_minor',
        'registry = "KR"\ntick_minor',
        "instrument[0].registry",
    ),
    (
        "instrument with a zero tick",
        "tick_minor = 1\n",
        "tick_minor = 0\n",
        "instrument[0].tick_minor",
    ),
    ("fx key not a pair", 'CHF_per_EUR = "1.07"', 'CHF_EUR = "1.07"', "fx.CHF_EUR"),
    ("fx rate not a fraction", 'CHF_per_EUR = "1.07"', 'CHF_per_EUR = "one"', "fx.CHF_per_EUR"),
    ("unknown agent kind", 'kind = "interactive"', 'kind = "robot"', "agents[3].kind"),
    ("agent key of another kind", 'participant = "trainer"', "count = 2", "agents[3].count"),
    (
        "zi-c on an unlisted instrument",
        'instrument = "EUA"',
        'instrument = "KAU"',
        "agents[1].instrument",
    ),
    (
        "zi-c value range upside down",
        "value_max_minor = 9_000",
        "value_max_minor = 999",
        "agents[1].value_max_minor",
    ),
    ("missing order schedule", 'path = "orders.csv"', 'path = "missing.csv"', "agents[2].path"),
    (
        "duplicate participant",
        'participant = "trainer"',
        'participant = "class-a"',
        "agents[3].participant",
    ),
    ("fault chance above one", 'drop = "1/100"', 'drop = "3/2"', "faults.drop"),
    (
        "auction share of one",
        'share = "1/2"\nper_year',
        'share = "1"\nper_year',
        "registry[1].auctions.share",
    ),
    ("auctions per year", "per_year = 2", "per_year = 13", "registry[1].auctions.per_year"),
    ("unsold rule", 'unsold = "cancel"', 'unsold = "burn"', "registry[1].auctions.unsold"),
    ("unknown auction key", "per_year = 2", "per_month = 2", "registry[1].auctions.per_month"),
    ("empty reserve", "size_t = 50_000", "size_t = 0", "registry[1].reserve.size_t"),
    (
        "participant registry",
        'registry = "EU"\ncash',
        'registry = "XX"\ncash',
        "agents[2].registry",
    ),
    ("calendar start not a date", "start = 2021-01-01", 'start = "2021"', "calendar.start"),
    (
        "business days not a boolean",
        "trading_days_per_year = 10",
        'trading_days_per_year = 10\nbusiness_days = "no"',
        "calendar.business_days",
    ),
]


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [case[1:] for case in BROKEN],
    ids=[case[0] for case in BROKEN],
)
def test_broken_scenario_is_refused_at_its_key_path(
    tmp_path: Path, old: str, new: str, key: str
) -> None:
    path = _write(tmp_path, _edit(old, new))
    with pytest.raises(ConfigError) as caught:
        load_scenario(path)
    assert (caught.value.path, caught.value.key) == (str(path), key), caught.value
    assert str(caught.value).startswith(f"{path}: {key}: ")


def test_a_link_to_an_undeclared_registry_is_refused_naming_both(tmp_path: Path) -> None:
    start = BASE.index('[[registry]]\ncode = "CH"')
    end = BASE.index("[[links]]")
    text = BASE[:start] + BASE[end:]
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_scenario(path)
    assert caught.value.key == "links[0].file"
    assert "joins EU and CH" in caught.value.message
    assert "no [[registry]] CH" in caught.value.message


def test_a_currency_no_rate_reaches_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, _edit('CHF_per_EUR = "1.07"', 'CHF_per_USD = "0.9"'))
    with pytest.raises(ConfigError) as caught:
        load_scenario(path)
    assert caught.value.key == "fx"
    assert "CHF" in caught.value.message and "EUR" in caught.value.message


def test_a_missing_file_is_refused() -> None:
    with pytest.raises(ConfigError) as caught:
        load_scenario(SCENARIOS / "nowhere.toml")
    assert caught.value.key == "(file)"


def _scenario_type_is_frozen(scenario: Scenario) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        scenario.seed = 1  # type: ignore[misc]


def test_loaded_scenario_cannot_be_changed(tmp_path: Path) -> None:
    _scenario_type_is_frozen(load_scenario(_write(tmp_path, BASE)))


def test_a_generated_id_clashing_with_an_explicit_one_is_refused_at_generate(
    tmp_path: Path,
) -> None:
    text = _edit("\n[[links]]", _GENERATE).replace('"ch-cement-1"', '"ch-industry-0001"')
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_scenario(path)
    assert caught.value.key == "registry[1].generate"
    assert "ch-industry-0001" in caught.value.message


def test_a_links_per_entity_cap_becomes_a_surrender_limit_of_the_importing_regime() -> None:
    # AU–EU interim link: EUAs one way into Australia, at most 50% of an entity's
    # liability (DOMAIN.md; reference A21; fixtures/links/australia-eu-interim.toml).
    (link,) = load_links(Path("fixtures/links/australia-eu-interim.toml"))
    australia = load_preset("australia")
    bare = dataclasses.replace(
        australia, surrender=dataclasses.replace(australia.surrender, limits=())
    )
    capped = with_link_caps(bare, [link])
    (limit,) = capped.surrender.limits
    assert (limit.name, limit.share, limit.origin) == (
        "link-au-eu-interim",
        Fraction(1, 2),
        UnitOrigin.INTERNATIONAL,
    )
    assert limit.first_year == 2015
    assert with_link_caps(australia, [link]) == australia  # its own 50% cap is as tight
    eu = load_preset("eu")
    assert with_link_caps(eu, [link]) == eu  # nothing comes into the EU over a one-way link


def _australian_surrender(
    catalogue: dict[str, UnitType], eua_t: int, kyoto_t: int, obligation_t: int
) -> list[UnitBlock]:
    """Blocks of EUAs, Kyoto units and the rest in AUAs, as the run's catalogue types them."""
    blocks = []
    for code, quantity in (
        ("EUA", eua_t),
        ("AUK", kyoto_t),
        ("AUA", obligation_t - eua_t - kyoto_t),
    ):
        if not quantity:
            continue
        unit_type = catalogue[code]
        project = "" if unit_type.kind is UnitKind.ALLOWANCE else "CDM-1"
        blocks.append(UnitBlock(unit_type.origin, code, 2016, 1, quantity, project))
    return blocks


def test_australia_eu_kyoto_units_count_in_the_50_and_the_12_5_percent_caps_a21() -> None:
    # Reference A21 [V]: international units <= 50% of liability, Kyoto units
    # <= 12.5%. 45% EUAs + 10% Kyoto units is 55% international: refused.
    scenario = load_scenario(SCENARIOS / "australia-eu-interim.toml")
    catalogue = unit_catalogue(
        [registry.regime for registry in scenario.registries], scenario.links, []
    )
    assert catalogue["AUK"].origin == "UN"
    australia = scenario.registry("AU").regime
    valuation = linked_valuation(australia, scenario.links)
    with pytest.raises(ComplianceError) as caught:
        assess_surrender(
            australia,
            2016,
            1_000_000,
            catalogue,
            [],
            _australian_surrender(catalogue, 450_000, 100_000, 1_000_000),
            valuation,
        )
    assert caught.value.code is ComplianceCode.QUANTITATIVE_LIMIT_EXCEEDED
    assert "550,000 t of 1,000,000 t is 55%, over the cap of 50% (500,000 t)" in (
        caught.value.message
    )
    accepted = assess_surrender(
        australia,
        2016,
        1_000_000,
        catalogue,
        [],
        _australian_surrender(catalogue, 450_000, 50_000, 1_000_000),
        valuation,
    )
    assert {use.limit.name: use.used_t for use in accepted.limits}["kyoto"] == 50_000
    with pytest.raises(ComplianceError) as caught:
        assess_surrender(
            australia,
            2016,
            1_000_000,
            catalogue,
            [],
            _australian_surrender(catalogue, 0, 125_001, 1_000_000),
            valuation,
        )
    assert "kyoto limit: 125,001 t of 1,000,000 t is 12.5001%, over the cap of 12.5%" in (
        caught.value.message
    )


def test_eu_auctions_per_year_above_twelve_are_accepted_up_to_the_preset_calendar(
    tmp_path: Path,
) -> None:
    """The EU auctions several times a week (EEX: Mondays, Tuesdays, Thursdays [P]); its
    preset's [trading] offers at most 12 a month, 144 a year, never more than the
    sessions a year."""
    text = _edit("trading_days_per_year = 10", "trading_days_per_year = 250").replace(
        'code = "EU"\npreset = "eu"\n',
        'code = "EU"\npreset = "eu"\n\n[registry.auctions]\nshare = "0.57"\nper_year = 144\n',
    )
    scenario = load_scenario(_write(tmp_path, text))
    eu = scenario.registry("EU")
    assert eu.auctions is not None and eu.auctions.per_year == 144
    path = _write(tmp_path, text.replace("per_year = 144", "per_year = 145"))
    with pytest.raises(ConfigError) as caught:
        load_scenario(path)
    assert caught.value.key == "registry[0].auctions.per_year"
    assert "at most the 144 auctions its calendar offers a year" in str(caught.value)
    assert "found 145" in str(caught.value)


def test_auctions_per_year_never_exceed_the_sessions_a_year(tmp_path: Path) -> None:
    """Switzerland has no auction calendar: every session may hold one, no more."""
    with pytest.raises(ConfigError) as caught:
        load_scenario(_write(tmp_path, _edit("per_year = 2", "per_year = 11")))
    assert caught.value.key == "registry[1].auctions.per_year"
    assert "one a session, 10 sessions a year" in str(caught.value)
    assert load_scenario(_write(tmp_path, _edit("per_year = 2", "per_year = 10")))
