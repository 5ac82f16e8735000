"""The agents a scenario's world needs, built from the scenario and the world.

- **Books** as agents see them (`BookInfo`): every listing, with its unit type and venue.
- **Firms**, one per covered entity (`FirmAgent`), with the books it may use: every book
  whose unit type its regime accepts (`world.linked_valuation`), valued at that rate; a
  book on another registry's venue is bought through the gateway and only while a link
  that carries the unit into the firm's registry is open.
- **Zero-intelligence traders** (`ZiTraderAgent`), each with its own random stream.
- **Dealers** (`DealerAgent`): a seat per venue they serve, routes between venues of the
  same unit type that a link joins, the link's typical wait for a window as their carry.
- **Governments** (`Government`) and **participants' seats** (`Seat`).

Cash: each firm gets, once, its first-year forecast × its penalty price in each currency
it may buy in; a zero-intelligence trader `HOLD_LOTS_MAX` lots at its top value; a dealer
its capital in each currency it trades in; participants what the scenario gives them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction

from compliance.regime import PenaltyKind, Regime
from etslink.scenario import (
    CsvAgent,
    DealerAgents,
    FirmsAgents,
    InteractiveAgent,
    Scenario,
    ZicAgents,
)
from etslink.sim.access import BookInfo
from etslink.sim.agents.dealer import DealerAgent, DealerSeat, VenueRoute
from etslink.sim.agents.firm import FirmAgent, FirmBook
from etslink.sim.agents.government import Government
from etslink.sim.agents.participant import Seat
from etslink.sim.agents.zi_trader import HOLD_LOTS_MAX, ZiTraderAgent
from etslink.sim.allocation import forecast_t
from etslink.sim.kernel import agent_random
from etslink.sim.participants import InteractiveSession, Participant, Prompt, load_schedule
from etslink.sim.world import Holder, World, linked_valuation
from gateway.links import Link
from registry import UnitKind

PENALTY_PRICE_DEFAULT_MINOR = 10_000_000  # a firm's bid cap when its regime names no price
CARRY_DAYS_DEFAULT = 1  # a link with no windows: the next midnight's settlement
WINDOW_LOOK_DAYS = 14


def make_books(scenario: Scenario) -> dict[str, BookInfo]:
    return {
        item.code: BookInfo(
            item.code,
            item.unit,
            item.registry,
            item.instrument.currency,
            item.instrument.lot_t,
            item.instrument.tick_minor,
        )
        for item in scenario.instruments
    }


def penalty_price_minor(regime: Regime) -> int:
    """Return the most a firm pays per tonne rather than fall short."""
    penalty = regime.penalty
    if penalty.kind is PenaltyKind.FIXED_PER_TONNE and penalty.fixed_per_t_minor > 0:
        return penalty.fixed_per_t_minor
    if penalty.cap_per_t_minor:
        return penalty.cap_per_t_minor
    return PENALTY_PRICE_DEFAULT_MINOR


# ---------------------------------------------------------------- firms


def firm_books(
    scenario: Scenario, world: World, code: str, books: dict[str, BookInfo]
) -> tuple[FirmBook, ...]:
    """Return the books a firm of registry `code` may use, home allowance first."""
    item = scenario.registry(code)
    value_of = linked_valuation(item.regime, scenario.links)
    known = world.registries[code].ledger.unit_types
    chosen = []
    for listed in books.values():
        unit = world.unit_types.get(listed.unit_type)
        if unit is None or listed.unit_type not in known:
            continue
        value = value_of(unit)
        if value is None or unit.kind is not UnitKind.ALLOWANCE:
            continue
        if listed.registry != code and not carrying_links(scenario, listed, code):
            continue
        chosen.append(
            FirmBook(
                listed.code,
                listed.unit_type,
                value,
                scenario.fx.minor_factor(item.currency, listed.currency),
                listed.lot_t,
                foreign=unit.origin != code,
                sellable=listed.registry == code,
                cross_registry=listed.registry != code,
            )
        )
    home = item.regime.allowance_unit_type
    chosen.sort(key=lambda b: (b.unit_type != home, b.cross_registry, b.code))
    return tuple(chosen)


def carrying_links(scenario: Scenario, book: BookInfo, into: str) -> list[Link]:
    """Return the links that could carry `book`'s units from its venue into `into`."""
    return [
        link
        for link in sorted(scenario.links, key=lambda item: item.link_id)
        if link.permits_direction(book.registry, into) and book.unit_type in link.unit_types
    ]


def make_firms(scenario: Scenario, world: World, books: dict[str, BookInfo]) -> list[FirmAgent]:
    failing = failing_entities(scenario)
    firms = []
    for item in scenario.registries:
        usable = firm_books(scenario, world, item.code, books)
        home = item.regime.allowance_unit_type
        for entity in sorted(item.entities, key=lambda e: e.entity_id):
            built = world.entities[entity.entity_id]
            firms.append(
                FirmAgent(
                    entity.entity_id,
                    entity,
                    item.code,
                    built.account_id,
                    entity.mac,
                    item.currency,
                    home,
                    penalty_price_minor(item.regime),
                    usable,
                    fails_to_surrender=entity.entity_id in failing,
                )
            )
    return firms


def failing_entities(scenario: Scenario) -> set[str]:
    share = next(
        (a.surrender_failure_share for a in scenario.agents if isinstance(a, FirmsAgents)),
        Fraction(0),
    )
    ids = sorted(e.entity_id for r in scenario.registries for e in r.entities)
    count = math.floor(share * len(ids))
    return set(agent_random(scenario.seed, "surrender-failures").sample(ids, count))


def endow_firms(scenario: Scenario, world: World, firms: Sequence[FirmAgent]) -> None:
    exchange = world.exchange
    for firm in firms:
        first_t = forecast_t(firm.entity, 0)
        for currency in sorted(
            {world.exchange.listings[b.code].instrument.currency for b in firm.books}
        ):
            factor = scenario.fx.minor_factor(firm.currency, currency)
            amount = math.ceil(first_t * firm.penalty_minor * factor)
            if amount > 0:
                exchange.deposit_cash(firm.member, currency, amount)


# ---------------------------------------------------------------- traders and dealers


def make_zi_traders(
    scenario: Scenario, world: World, books: dict[str, BookInfo]
) -> list[ZiTraderAgent]:
    specs = [a for a in scenario.agents if isinstance(a, ZicAgents)]
    traders = []
    built = iter(world.zic_traders)
    for spec in specs:
        for _ in range(spec.count):
            trader = next(built)
            assert trader.instrument == spec.instrument, (trader, spec)
            book = books[spec.instrument]
            traders.append(
                ZiTraderAgent(
                    trader.member_id,
                    trader.registry,
                    trader.account_id,
                    book,
                    spec.value_min_minor,
                    spec.value_max_minor,
                    spec.constrained,
                    agent_random(scenario.seed, trader.member_id),
                    spec.value_band,
                )
            )
            cash = HOLD_LOTS_MAX * book.lot_t * spec.value_max_minor
            world.exchange.deposit_cash(trader.member_id, book.currency, cash)
    return traders


def make_dealers(scenario: Scenario, world: World, books: dict[str, BookInfo]) -> list[DealerAgent]:
    dealers = []
    seats_by_dealer: dict[str, dict[str, DealerSeat]] = {}
    for seat in world.dealers:
        seats_by_dealer.setdefault(seat.dealer, {})[seat.registry] = DealerSeat(
            seat.registry, seat.member_id, seat.account_id
        )
    names = iter(sorted(seats_by_dealer, key=lambda name: int(name.rsplit("-", 1)[1])))
    for spec in (a for a in scenario.agents if isinstance(a, DealerAgents)):
        served = tuple(books[code] for code in spec.books)
        routes = venue_routes(scenario, served)
        for _ in range(spec.count):
            name = next(names)
            dealer = DealerAgent(
                name,
                seats_by_dealer[name],
                served,
                spec.spread,
                spec.quote_lots,
                spec.inventory_t_max,
                scenario.interest_rate,
                routes,
                peers=venue_peers(scenario, world, served),
            )
            endow_dealer(scenario, world, dealer, spec.capital_minor)
            dealers.append(dealer)
    return dealers


def venue_routes(scenario: Scenario, served: Sequence[BookInfo]) -> tuple[VenueRoute, ...]:
    """Return the moves between venues of one unit type that some link may carry."""
    routes = []
    for source in served:
        for target in served:
            if source.unit_type != target.unit_type or source.registry == target.registry:
                continue
            links = carrying_links(scenario, source, target.registry)
            if links:
                routes.append(
                    VenueRoute(
                        source.code,
                        target.code,
                        scenario.fx.minor_factor(source.currency, target.currency),
                        carry_days(links[0]),
                    )
                )
    return tuple(routes)


def carry_days(link: Link) -> int:
    """Return the days a dealer carries units over the link: its longest window wait, or the
    next midnight's settlement when it has no windows."""
    return max(CARRY_DAYS_DEFAULT, link.longest_wait_days(link.effective_from, WINDOW_LOOK_DAYS))


def venue_peers(
    scenario: Scenario, world: World, served: Sequence[BookInfo]
) -> dict[str, list[tuple[str, Fraction]]]:
    """Return, per book, the books whose prices imply its price, with their factors.

    The same unit type on another venue implies its price converted at the scenario's
    rates; another unit type that the book's registry accepts at rate r (a linked party's
    allowance) implies it converted and divided by r — what a firm there would pay for a
    tonne either way. Same-unit peers come first.
    """
    peers: dict[str, list[tuple[str, Fraction]]] = {}
    for book in served:
        regime = scenario.registry(book.registry).regime
        value_of = linked_valuation(regime, scenario.links)
        same, fungible = [], []
        for other in served:
            if other.code == book.code:
                continue
            factor = scenario.fx.minor_factor(other.currency, book.currency)
            if other.unit_type == book.unit_type:
                same.append((other.code, factor))
                continue
            unit = world.unit_types.get(other.unit_type)
            value = None if unit is None else value_of(unit)
            if value:
                fungible.append((other.code, factor / value))
        peers[book.code] = same + fungible
    return peers


def endow_dealer(scenario: Scenario, world: World, dealer: DealerAgent, capital_minor: int) -> None:
    """Give each of the dealer's seats its capital in each currency it may trade in."""
    for seat in dealer.seats.values():
        currencies = {b.currency for b in dealer.books if b.registry == seat.registry}
        currencies |= {
            world.exchange.listings[route.source].instrument.currency
            for route in dealer.routes
            if dealer.books and world.exchange.listings[route.target].registry == seat.registry
        }
        for currency in sorted(currencies):
            amount = math.ceil(
                capital_minor * scenario.fx.minor_factor(scenario.currency, currency)
            )
            world.exchange.deposit_cash(seat.member, currency, amount)


# ---------------------------------------------------------------- governments and people


def make_governments(scenario: Scenario, world: World) -> dict[str, Government]:
    governments = {}
    start_year = scenario.calendar.start.year
    for item in scenario.registries:
        listed = next(
            (
                i
                for i in scenario.instruments
                if i.registry == item.code and i.unit == item.regime.allowance_unit_type
            ),
            None,
        )
        instrument = None if listed is None else listed.instrument
        government = Government(item, world.governments[item.code], instrument)
        government.issue_reserve(world, start_year)
        governments[item.code] = government
    return governments


def make_seats(scenario: Scenario, world: World, prompt: Prompt | None) -> list[Seat]:
    """Load each participant's schedule or open its prompt; give it its endowment."""
    seats = []
    listed = sorted(item.code for item in scenario.instruments)
    rounds = scenario.calendar.years * scenario.calendar.trading_days_per_year
    for agent in scenario.agents:
        participant: Participant
        if isinstance(agent, CsvAgent):
            schedule = load_schedule(agent.path, agent.participant)
            schedule.check_instruments(listed)
            schedule.check_rounds(rounds)
            participant = schedule
        elif isinstance(agent, InteractiveAgent):
            if prompt is None:
                raise ValueError(
                    f"participant {agent.participant} types orders at a prompt: run the "
                    "scenario with `etslink run` in a terminal, or make it a csv participant"
                )
            participant = InteractiveSession(
                agent.participant,
                [item.instrument for item in scenario.instruments],
                prompt.read_line,
                prompt.write,
                narrative=scenario.narrative,
            )
        else:
            continue
        holder = world.participants[agent.participant]
        endow_participant(scenario, world, agent, holder)
        seats.append(Seat(participant, holder))
    return seats


def endow_participant(
    scenario: Scenario, world: World, agent: CsvAgent | InteractiveAgent, holder: Holder
) -> None:
    """Give the participant its cash and first-year allowances, through its government."""
    item = scenario.registry(agent.registry)
    if agent.cash_minor:
        world.exchange.deposit_cash(holder.member_id, item.currency, agent.cash_minor)
    if agent.allowances_t:
        registry = world.registries[agent.registry]
        government = world.governments[agent.registry].account_id
        unit_type, year = item.regime.allowance_unit_type, scenario.calendar.start.year
        registry.issue(unit_type, year, agent.allowances_t, account=government)
        registry.transfer(government, holder.account_id, unit_type, agent.allowances_t)


__all__ = [
    "endow_firms",
    "firm_books",
    "make_books",
    "make_dealers",
    "make_firms",
    "make_governments",
    "make_seats",
    "make_zi_traders",
    "penalty_price_minor",
]
