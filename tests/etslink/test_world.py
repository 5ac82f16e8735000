"""Building a scenario's world: registries, books, federation and exchange, wired and conserved.

Every shipped scenario is built on in-memory SQLite; the linked EU–Switzerland
world carries allowances across its link (fixtures/links/eu-switzerland.toml:
registry link from 2020-09-21, working days until 2022).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from etslink.scenario import ZicAgents, load_scenario
from etslink.sim.world import World, build_world
from gateway.endpoint import TransferOrder
from gateway.messages import TransactionStatus
from registry import AccountKind, UnitKind

SCENARIOS = sorted(Path("fixtures/scenarios").glob("*.toml"))
BUILD_S_MAX = 10.0


def build(name: str) -> World:
    return build_world(load_scenario(f"fixtures/scenarios/{name}.toml"))


def test_every_shipped_scenario_is_found() -> None:
    assert len(SCENARIOS) >= 8, SCENARIOS


@pytest.mark.parametrize("path", SCENARIOS, ids=[path.stem for path in SCENARIOS])
def test_every_shipped_scenario_builds_quickly_and_conserves(path: Path) -> None:
    scenario = load_scenario(path)
    started = time.monotonic()
    world = build_world(scenario)
    assert time.monotonic() - started < BUILD_S_MAX
    world.check_invariants()
    start = world.clock.now()
    assert (start.date(), start.hour, start.minute) == (scenario.calendar.start, 0, 0)
    assert start.utcoffset() == timedelta(0)
    assert sorted(world.registries) == sorted(r.code for r in scenario.registries)
    assert sorted(world.books) == sorted(world.registries)
    assert (world.federation is None) == (not scenario.links)


@pytest.mark.parametrize("path", SCENARIOS, ids=[path.stem for path in SCENARIOS])
def test_each_registry_knows_its_allowance_and_its_linked_partners_allowances(
    path: Path,
) -> None:
    scenario = load_scenario(path)
    world = build_world(scenario)
    allowance_of = {r.code: r.regime.allowance_unit_type for r in scenario.registries}
    for code, registry in world.registries.items():
        known = registry.ledger.unit_types
        partners = {code}
        for link in scenario.links:
            if code in (link.registry_a, link.registry_b):
                # A partner's allowance is known where the link carries it (AU–EU: EUAs only).
                partners |= {
                    partner
                    for partner in (link.registry_a, link.registry_b)
                    if allowance_of[partner] in link.unit_types
                }
        for partner in partners:
            unit_type = known[allowance_of[partner]]
            assert (unit_type.kind, unit_type.origin) == (UnitKind.ALLOWANCE, partner)
        for other in set(allowance_of) - partners:
            assert allowance_of[other] not in known, (code, other)


@pytest.mark.parametrize("path", SCENARIOS, ids=[path.stem for path in SCENARIOS])
def test_every_entity_has_a_compliance_account_and_is_registered_in_its_book(
    path: Path,
) -> None:
    scenario = load_scenario(path)
    world = build_world(scenario)
    expected = {e.entity_id: r.code for r in scenario.registries for e in r.entities}
    assert {e: w.registry for e, w in world.entities.items()} == expected
    for entity_id, built in world.entities.items():
        registry, book = world.registries[built.registry], world.books[built.registry]
        assert registry.account(built.account_id).kind is AccountKind.COMPLIANCE
        assert book.account_of(entity_id) == built.account_id
        plan = book.mrv.entity(entity_id).plan
        assert plan.gases == book.regime.coverage.gases
        assert plan.indirect is book.regime.coverage.indirect_emissions
        member = world.exchange.members[entity_id]
        assert (member.registry, member.account) == (built.registry, built.account_id)


def test_listings_settle_in_custody_and_zic_traders_trade_from_their_instruments_registry() -> None:
    world = build("eu-switzerland")
    listings = world.exchange.listings
    assert sorted(listings) == ["CHU", "EUA", "EUA@CH"]
    for listing in listings.values():
        account = world.registries[listing.registry].account(listing.custody_account)
        assert account.kind is AccountKind.EXCHANGE_CUSTODY
    # EU allowances on the Swiss venue: francs, custody in the Swiss registry.
    venue = listings["EUA@CH"]
    assert (venue.unit, venue.registry, venue.instrument.currency) == ("EUA", "CH", "CHF")
    dealers = {seat.member_id: seat.registry for seat in world.dealers}
    assert dealers == {
        "dealer-1-ch": "CH",
        "dealer-1-eu": "EU",
        "dealer-2-ch": "CH",
        "dealer-2-eu": "EU",
    }
    wanted = sum(a.count for a in world.scenario.agents if isinstance(a, ZicAgents))
    assert len(world.zic_traders) == wanted == 14
    assert [t.member_id for t in world.zic_traders[:2]] == ["zi-1", "zi-2"]
    for trader in world.zic_traders:
        assert trader.registry == listings[trader.instrument].registry
        account = world.registries[trader.registry].account(trader.account_id)
        assert account.kind is AccountKind.TRADING
        assert world.exchange.members[trader.member_id].account == trader.account_id


def test_eu_allowances_allocated_in_the_eu_cross_the_link_to_a_swiss_entity() -> None:
    world = build("eu-switzerland")
    assert world.federation is not None
    world.books["EU"].allocate(2021, {"eu-power-0001": 500})
    sender = world.entities["eu-power-0001"]
    receiver = world.entities["ch-cement-1"]
    world.clock.set(datetime(2021, 3, 2, 10, tzinfo=UTC))  # a Tuesday: the link is open
    order = TransferOrder("eu-ch-1", sender.account_id, "CH", receiver.account_id, "EUA", 200)
    status = world.federation.transfer("EU", order)
    assert status is TransactionStatus.COMPLETED
    world.federation.flush()
    held = world.registries["CH"].account(receiver.account_id).holding
    assert held.balance("EUA") == 200
    assert world.registries["EU"].account(sender.account_id).holding.balance("EUA") == 300
    world.check_invariants()


def test_aviation_allowances_on_the_eu_ch_link_are_skipped_and_noted() -> None:
    world = build("eu-switzerland")
    for code in ("EUAA", "CHUA"):
        assert any(note.startswith(f"{code}:") for note in world.notes), world.notes
        assert all(code not in r.ledger.unit_types for r in world.registries.values())


def test_kazakhstan_is_standalone_and_keeps_its_offsets_domestic_with_a_note() -> None:
    world = build("kazakhstan")
    assert world.federation is None
    kzo = world.registries["KZ"].ledger.unit_types["KZO"]
    assert (kzo.kind, kzo.origin) == (UnitKind.OFFSET_CREDIT, "KZ")
    assert any(note.startswith("KZO:") for note in world.notes), world.notes


def test_a_custody_claim_without_units_in_custody_breaks_the_invariants() -> None:
    world = build("kazakhstan")
    member = next(iter(world.entities))
    world.exchange.custody.deposit(member, "KZU", 1_000)  # no units moved into custody
    with pytest.raises(AssertionError, match="KZU"):
        world.check_invariants()


def test_units_deposited_through_the_exchange_keep_custody_balanced() -> None:
    world = build("kazakhstan")
    world.books["KZ"].allocate(2018, {"kz-power-0001": 5_000})
    world.exchange.deposit_units("kz-power-0001", "KZU", 2_000)
    world.check_invariants()
    custody = world.registries["KZ"].account(world.custody_accounts["KZ"])
    assert custody.holding.balance("KZU") == 2_000


def test_keys_are_saved_under_keys_dir_when_given(tmp_path: Path) -> None:
    scenario = load_scenario("fixtures/scenarios/kazakhstan.toml")
    build_world(scenario, keys_dir=tmp_path / "keys")
    assert sorted(p.name for p in (tmp_path / "keys").iterdir()) == ["GW.pem", "KZ.pem", "X.pem"]
