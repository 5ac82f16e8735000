"""The live objects a scenario describes, built and wired, ready for a run loop.

`build_world` turns a loaded `Scenario` into one simulated clock, one store,
a journaled registry and compliance book per registry, a federation over the
scenario's links, and an exchange with a listing per instrument and a member
per trader. It moves no units: the run loop issues, allocates and trades.

Choices made here (each one a decision the scenario files leave open):

- **Unit types and their origin.** One catalogue serves the whole world, so a
  code means the same unit type in every registry:
  1. a registry's allowance type (`Regime.allowance_unit_type`) is an
     allowance of that registry;
  2. any other type a regime's surrender rules name (ARBOC, CCER, KZO...) is
     an offset credit of the first registry (in scenario order) whose regime
     names it. The presets do not say where those credits come from, so they
     are kept domestic, and `World.notes` says so for each;
  3. a link's unit type that is in the catalogue is known to both parties of
     the link, so units can arrive; one that is not (EUAA, CHUA: aviation
     allowances no regime here names) has no origin to give it and is
     skipped, with a note.
  Each registry knows its own allowance, its own eligible types, and the
  catalogued types of every link it is a party to.
- **Accounts.** Account labels may not contain '-', so a label is the id with
  '-' written '_': entity `ch-cement-1` holds compliance account
  `ch_cement_1`; custody is `exchange_custody`; zero-intelligence trader `zi-3`
  holds trading account `zi_3` in its book's venue registry; dealer `dealer-1` holds
  `dealer_1_eu` in the EU registry, one seat per venue it serves. No government or
  auction account is opened: `ComplianceBook.allocate` issues into and
  allocates from the registry's issuance account, which is where auctioned
  units also come from.
- **Monitoring plans.** Each entity's plan covers exactly what its regime
  counts: the regime's gases, and indirect emissions when the regime covers
  them. A report the run loop writes in covered gases is then never refused
  for its plan, and nothing the regime ignores is committed to.
- **Federation.** Only registries party to a link join it (a registry no link
  reaches has nothing for a gateway to carry); with no links there is none.
- **Keys.** One Ed25519 key per registry (signing its journal, its compliance
  book's journal and its link endpoint), one for the gateway (`GW`) and one
  for the exchange's journal (`X`); written as `<name>.pem` under `keys_dir`
  when one is given (an existing file is never overwritten). Keys are random,
  so journal signatures differ between builds; a run's reports must not use them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from fractions import Fraction
from pathlib import Path

from sqlalchemy import Engine

from compliance.book import ComplianceBook
from compliance.mrv import MonitoringPlan
from compliance.regime import Regime
from compliance.surrender_rules import Valuation, domestic_valuation
from etslink.scenario import (
    CsvAgent,
    DealerAgents,
    Entity,
    InteractiveAgent,
    Scenario,
    ZicAgents,
)
from exchange.market import Exchange, Listing, Member
from gateway.federation import GATEWAY_ID, Federation
from gateway.links import Link
from registry import AccountKind, Registry, SigningKey, UnitKind, UnitType
from registry.clock import SimulatedClock
from registry.journal import Journal
from registry.store import make_engine

EXCHANGE_ID = "X"  # the exchange's journal stream and key name
CUSTODY_LABEL = "exchange_custody"
ZI_PREFIX = "zi-"
GOVERNMENT_PREFIX = "gov-"
DEALER_PREFIX = "dealer-"
GOVERNMENT_LABEL = "government"
MONITORING_METHOD = "calculation (scenario baseline emissions)"


@dataclass(frozen=True, slots=True)
class WorldEntity:
    """A covered entity as built: its home registry and compliance account."""

    entity_id: str
    registry: str
    account_id: str


@dataclass(frozen=True, slots=True)
class ZicTrader:
    """A zero-intelligence-constrained trader as built: member id, registry and account."""

    member_id: str
    registry: str
    account_id: str
    instrument: str


@dataclass(frozen=True, slots=True)
class DealerMember:
    """One dealer's seat in one registry: its member id and trading account there."""

    dealer: str
    registry: str
    member_id: str
    account_id: str


@dataclass(frozen=True, slots=True)
class Holder:
    """An exchange member that is not a covered entity: its member id, registry and account.

    Each registry's government (auctions, the reserve, proceeds) holds a reserve account;
    each human participant a trading account.
    """

    member_id: str
    registry: str
    account_id: str


@dataclass
class World:
    """Everything a run loop drives, built from one scenario."""

    scenario: Scenario
    clock: SimulatedClock
    engine: Engine
    keys: dict[str, SigningKey]
    unit_types: dict[str, UnitType]
    registries: dict[str, Registry]
    books: dict[str, ComplianceBook]
    federation: Federation | None
    exchange: Exchange
    entities: dict[str, WorldEntity]
    custody_accounts: dict[str, str]  # registry code → custody account id
    zic_traders: tuple[ZicTrader, ...]
    governments: dict[str, Holder] = field(default_factory=dict)  # registry code → government
    participants: dict[str, Holder] = field(default_factory=dict)  # participant id → holder
    dealers: tuple[DealerMember, ...] = ()
    notes: list[str] = field(default_factory=list)

    def check_invariants(self) -> None:
        """Assert units conserved in each registry, across links, and at the exchange."""
        for code in sorted(self.registries):
            self.registries[code].check_conservation()
        if self.federation is not None:
            self.federation.check_conservation()
        self.exchange.clearing.check_conservation()
        self.exchange.custody.check_conservation()
        for listing in self.exchange.listings.values():
            self._check_custody(listing)

    def _check_custody(self, listing: Listing) -> None:
        """Assert members' claims equal what custody holds plus what settlement locked."""
        ledger = self.registries[listing.registry].ledger
        custody = ledger.account(listing.custody_account)
        held_t = custody.holding.balance(listing.unit)
        locked_t = sum(
            block.quantity
            for lock in ledger.locks()
            if lock.account_id == custody.account_id
            for block in lock.blocks
            if block.unit_type == listing.unit
        )
        claimed_t = self.exchange.custody.total(listing.code)
        assert claimed_t == held_t + locked_t, (
            f"{listing.code}: members claim {claimed_t:,} t in custody, the custody account "
            f"{custody.account_id} holds {held_t:,} t and {locked_t:,} t are locked"
        )


def build_world(
    scenario: Scenario,
    store_url: str = "sqlite://",
    keys_dir: Path | None = None,
    *,
    durable: bool = True,
) -> World:
    """Build the registries, books, federation and exchange `scenario` describes.

    `durable=False` is for a scratch store (a run's): SQLite commits without fsync.
    """
    notes: list[str] = []
    start = datetime.combine(scenario.calendar.start, time(0), tzinfo=UTC)
    clock = SimulatedClock(start)
    engine = make_engine(store_url, durable=durable)
    names = [registry.code for registry in scenario.registries] + [GATEWAY_ID, EXCHANGE_ID]
    keys = {name: _key(name, keys_dir) for name in names}
    catalogue = unit_catalogue(
        [registry.regime for registry in scenario.registries], scenario.links, notes
    )
    registries: dict[str, Registry] = {}
    books: dict[str, ComplianceBook] = {}
    for item in scenario.registries:
        known = known_unit_types(item.regime, scenario.links, catalogue)
        registry = Registry.create(
            engine, item.code, item.regime.name, keys[item.code], clock, known
        )
        registries[item.code] = registry
        books[item.code] = ComplianceBook.create(
            registry,
            item.regime,
            keys[item.code],
            valuation=linked_valuation(item.regime, scenario.links),
        )
    _check_instruments(scenario, registries)
    entities = _register_entities(scenario, registries, books)
    custody = _open_custody(scenario, registries)
    traders = _open_zic_traders(scenario, registries, set(entities))
    taken = set(entities) | {t.member_id for t in traders}
    governments = _open_governments(scenario, registries, taken)
    participants = _open_participants(scenario, registries, taken)
    dealers = _open_dealers(scenario, registries, taken)
    federation = _federate(scenario, engine, keys, registries, clock)
    members = [Member(e.entity_id, e.registry, e.account_id) for e in entities.values()]
    members += [Member(t.member_id, t.registry, t.account_id) for t in traders]
    members += [
        Member(h.member_id, h.registry, h.account_id)
        for h in [*governments.values(), *participants.values()]
    ]
    members += [Member(d.member_id, d.registry, d.account_id) for d in dealers]
    listings = [
        Listing(item.instrument, item.registry, custody[item.registry], item.unit)
        for item in scenario.instruments
    ]
    journal = Journal.create(engine, EXCHANGE_ID, keys[EXCHANGE_ID])
    exchange = Exchange(listings, members, registries, federation, EXCHANGE_ID, journal)
    for code in registries:
        books[code].flush()
    journal.flush()
    return World(
        scenario=scenario,
        clock=clock,
        engine=engine,
        keys=keys,
        unit_types=catalogue,
        registries=registries,
        books=books,
        federation=federation,
        exchange=exchange,
        entities=entities,
        custody_accounts=custody,
        zic_traders=traders,
        governments=governments,
        participants=participants,
        dealers=dealers,
        notes=notes,
    )


# ---------------------------------------------------------------- unit types


def unit_catalogue(
    regimes: Iterable[Regime], links: Iterable[Link], notes: list[str]
) -> dict[str, UnitType]:
    """Return one unit type per code for the whole world (the rule in the module docstring).

    Appends to `notes` each offset type kept domestic and each link type skipped.
    """
    regimes = list(regimes)
    catalogue = {
        regime.allowance_unit_type: UnitType(
            regime.allowance_unit_type, UnitKind.ALLOWANCE, regime.registry_code, regime.name
        )
        for regime in regimes
    }
    assert len(catalogue) == len(regimes), "two regimes allocate the same allowance type"
    for regime in regimes:
        for code in sorted(regime.surrender.eligible_unit_types - set(catalogue)):
            origin = regime.surrender.origin_of_type(code, regime.registry_code)
            catalogue[code] = UnitType(code, UnitKind.OFFSET_CREDIT, origin)
            if origin == regime.registry_code:
                notes.append(
                    f"{code}: eligible in {regime.name}, origin not named by the preset; "
                    f"kept domestic as an offset credit of {regime.registry_code}"
                )
    for link in links:
        for code in sorted(link.unit_types - set(catalogue)):
            notes.append(
                f"{code}: crosses link {link.link_id} but is no declared registry's allowance "
                "or eligible type, so its origin is unknown; skipped (no registry knows it)"
            )
    return catalogue


def known_unit_types(
    regime: Regime, links: Iterable[Link], catalogue: dict[str, UnitType]
) -> list[UnitType]:
    """Return the unit types `regime`'s registry must know, sorted by code."""
    code = regime.registry_code
    wanted = {regime.allowance_unit_type} | set(regime.surrender.eligible_unit_types)
    for link in links:
        if code in (link.registry_a, link.registry_b):
            wanted |= {unit for unit in link.unit_types if unit in catalogue}
    return [catalogue[unit] for unit in sorted(wanted)]


# ---------------------------------------------------------------- accounts


def account_label(name: str) -> str:
    """Return the account label for an entity or trader id ('-' is not allowed in labels)."""
    return name.replace("-", "_")


def _check_instruments(scenario: Scenario, registries: dict[str, Registry]) -> None:
    for item in scenario.instruments:
        known = registries[item.registry].ledger.unit_types
        if item.unit not in known:
            raise ValueError(
                f"instrument {item.code} settles in {item.registry}, which does not "
                f"know it (knows {', '.join(sorted(known))}); see World.notes"
            )


def _register_entities(
    scenario: Scenario, registries: dict[str, Registry], books: dict[str, ComplianceBook]
) -> dict[str, WorldEntity]:
    """Open each entity's compliance account and register it, with its plan, in its book."""
    entities: dict[str, WorldEntity] = {}
    labels: dict[str, str] = {}
    for item in scenario.registries:
        registry, book = registries[item.code], books[item.code]
        for entity in item.entities:
            label = _unique_label(entity.entity_id, labels)
            opened = registry.open_account(AccountKind.COMPLIANCE, _entity_name(entity), label)
            plan = monitoring_plan(entity.entity_id, item.regime)
            book.register_entity(entity.entity_id, _entity_name(entity), opened.account_id, plan)
            entities[entity.entity_id] = WorldEntity(entity.entity_id, item.code, opened.account_id)
    return entities


def monitoring_plan(entity_id: str, regime: Regime) -> MonitoringPlan:
    """Return a plan covering what the regime counts: its gases, indirect if it covers them."""
    return MonitoringPlan(
        entity_id, regime.coverage.gases, regime.coverage.indirect_emissions, MONITORING_METHOD
    )


def _entity_name(entity: Entity) -> str:
    return f"{entity.entity_id} ({entity.sector})"


def _unique_label(name: str, labels: dict[str, str]) -> str:
    label = account_label(name)
    if label in labels:
        raise ValueError(
            f"ids {labels[label]!r} and {name!r} both map to account label {label!r}; "
            "rename one ('-' and '_' are the same in a label)"
        )
    labels[label] = name
    return label


def _open_custody(scenario: Scenario, registries: dict[str, Registry]) -> dict[str, str]:
    """Open the exchange's custody account in each registry an instrument settles in."""
    custody: dict[str, str] = {}
    for item in scenario.instruments:
        if item.registry not in custody:
            opened = registries[item.registry].open_account(
                AccountKind.EXCHANGE_CUSTODY, "Exchange (custody)", CUSTODY_LABEL
            )
            custody[item.registry] = opened.account_id
    return custody


def _open_zic_traders(
    scenario: Scenario, registries: dict[str, Registry], taken: set[str]
) -> tuple[ZicTrader, ...]:
    """Open a trading account per ZI-C trader (numbered from 1 across the scenario)."""
    by_instrument = {item.code: item.registry for item in scenario.instruments}
    traders: list[ZicTrader] = []
    for agents in scenario.agents:
        if not isinstance(agents, ZicAgents):
            continue
        code = by_instrument[agents.instrument]
        for _ in range(agents.count):
            member_id = f"{ZI_PREFIX}{len(traders) + 1}"
            if member_id in taken:
                raise ValueError(f"ZI trader {member_id!r} has an entity's id")
            opened = registries[code].open_account(
                AccountKind.TRADING, f"ZI trader {member_id}", account_label(member_id)
            )
            traders.append(ZicTrader(member_id, code, opened.account_id, agents.instrument))
    return tuple(traders)


def _open_governments(
    scenario: Scenario, registries: dict[str, Registry], taken: set[str]
) -> dict[str, Holder]:
    """Open each registry's government reserve account (auctions, reserve, proceeds)."""
    governments: dict[str, Holder] = {}
    for item in scenario.registries:
        member_id = f"{GOVERNMENT_PREFIX}{item.code.lower()}"
        if member_id in taken:
            raise ValueError(f"member id {member_id!r} is the government's of {item.code}")
        opened = registries[item.code].open_account(
            AccountKind.RESERVE, f"Government of {item.code} (auctions, reserve)", GOVERNMENT_LABEL
        )
        governments[item.code] = Holder(member_id, item.code, opened.account_id)
        taken.add(member_id)
    return governments


def dealer_registries(scenario: Scenario, books: Iterable[str]) -> list[str]:
    """Return the registries a dealer of `books` needs a seat in: each book's venue."""
    return sorted({scenario.book(code).registry for code in books})


def _open_dealers(
    scenario: Scenario, registries: dict[str, Registry], taken: set[str]
) -> tuple[DealerMember, ...]:
    """Open a trading account for each dealer in each registry whose venue it serves.

    Dealers are numbered from 1 across the scenario: dealer `dealer-2` has member
    `dealer-2-ch` and account `dealer_2_ch` in the Swiss registry.
    """
    seats: list[DealerMember] = []
    number = 0
    for agents in scenario.agents:
        if not isinstance(agents, DealerAgents):
            continue
        for _ in range(agents.count):
            number += 1
            dealer = f"{DEALER_PREFIX}{number}"
            for code in dealer_registries(scenario, agents.books):
                member_id = f"{dealer}-{code.lower()}"
                if member_id in taken:
                    raise ValueError(f"dealer member {member_id!r} has another member's id")
                opened = registries[code].open_account(
                    AccountKind.TRADING, f"Dealer {dealer}", account_label(member_id)
                )
                seats.append(DealerMember(dealer, code, member_id, opened.account_id))
                taken.add(member_id)
    return tuple(seats)


def _open_participants(
    scenario: Scenario, registries: dict[str, Registry], taken: set[str]
) -> dict[str, Holder]:
    """Open a trading account for each human participant in its registry."""
    participants: dict[str, Holder] = {}
    for agent in scenario.agents:
        if not isinstance(agent, CsvAgent | InteractiveAgent):
            continue
        if agent.participant in taken:
            raise ValueError(
                f"participant {agent.participant!r} has the id of an entity, trader or "
                "government; rename the participant"
            )
        opened = registries[agent.registry].open_account(
            AccountKind.TRADING,
            f"Participant {agent.participant}",
            account_label(f"participant-{agent.participant}"),
        )
        participants[agent.participant] = Holder(
            agent.participant, agent.registry, opened.account_id
        )
        taken.add(agent.participant)
    return participants


# ---------------------------------------------------------------- federation and keys


def _federate(
    scenario: Scenario,
    engine: Engine,
    keys: dict[str, SigningKey],
    registries: dict[str, Registry],
    clock: SimulatedClock,
) -> Federation | None:
    """Join the registries party to a link through one gateway; None without links."""
    if not scenario.links:
        return None
    parties = {code for link in scenario.links for code in (link.registry_a, link.registry_b)}
    members = [(registries[code], keys[code]) for code in registries if code in parties]
    return Federation.create(engine, keys[GATEWAY_ID], members, scenario.links, clock)


def _key(name: str, keys_dir: Path | None) -> SigningKey:
    """Generate a signing key; save it as `<name>.pem` under `keys_dir` when given."""
    key = SigningKey.generate()
    if keys_dir is not None:
        keys_dir.mkdir(parents=True, exist_ok=True)
        key.save(keys_dir / f"{name}.pem")
    return key


def linked_valuation(regime: Regime, links: Sequence[Link]) -> Valuation:
    """Value the regime's own eligible units at 1, and a linked party's allowance at the rate.

    The domestic valuation alone would count no unit that came over a link. A regime
    with `foreign_units_via_links` counts an allowance of the other party of a link that
    lists it at the link's rate into this registry.
    """
    domestic = domestic_valuation(regime)
    code = regime.registry_code
    foreign: dict[str, Fraction] = {}
    if regime.surrender.foreign_units_via_links:
        for link in sorted(links, key=lambda item: item.link_id):
            if code in link.parties:
                for unit in sorted(link.unit_types):
                    foreign.setdefault(unit, link.rate_into(code))

    def value(unit_type: UnitType) -> Fraction | None:
        own = domestic(unit_type)
        if own is not None:
            return own
        if unit_type.kind is UnitKind.ALLOWANCE and unit_type.origin != code:
            return foreign.get(unit_type.code)
        return None

    return value
