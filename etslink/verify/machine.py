"""`etslink verify`: Hypothesis state machines over a scenario's own registries, links and rules.

`machine_for(scenario)` builds a `RuleBasedStateMachine` class for one scenario.
Each example builds the scenario's world (`etslink.sim.world.build_world`: every
registry, compliance book, the gateway over the scenario's links and the
exchange), endows a few entities per registry, then runs random steps:
transfers over every link in each direction it permits with any unit type the
sender's registry knows, relays over two links (an indirect link), trades on the listed
instruments, emissions reports and surrenders, link suspensions and
resumptions, time moving forward (by days, or to the next link date), and,
when the scenario has `[faults]`, deliveries of held-back messages.
`verify(scenario)` runs it and returns a `VerificationResult`: passed, or the
invariant broken and the minimised, replayable steps (`minimise`, `replay`).

After every step the machine checks, in this order (DESIGN.md "Invariants"):

1. `conservation` — every issued serial in exactly one place, in each registry,
   across the gateway and at the exchange (`World.check_invariants`), and every
   scheduled reconciliation of a registry with the gateway consistent.
2. `link-rules` — each transfer that completed went over a link that was
   active (as this machine set it) and in effect during the step, in a
   direction it permits, with unit types it lists; no period cap or
   per-transfer limit is exceeded.
3. `surrender-caps` — everything an entity surrendered for a period keeps each
   quantitative limit of its regime (offset and international shares, with the
   scenario's overrides as the loader applied them) and each link's foreign-unit
   share cap.
4. `admission` — no unit reaches a registry whose regime does not admit it
   (`rule_oracles.admission_refusal`): arriving directly or through a third
   registry. The checks themselves are pure functions in `etslink.verify.oracles`.

A step that raises anything but a refusal with a check code (`RegistryError`,
`ExchangeError`) is reported as `unexpected-error`.

Choices made here:

- **Who acts.** The first `ENTITIES_PER_REGISTRY` entities of each registry by
  id. Each gets `ENDOWMENT_T` of its registry's allowance (allocated by its
  book) and of each offset type the world's catalogue gives that registry as
  origin (issued for the drill: the presets do not say where credits come
  from), all of the start year's vintage, and cash in every instrument's
  currency.
- **What time does.** Advancing moves the exchange's clock, so trades settle at
  each midnight and the gateway forwards and times out on the way; it
  reconciles every registry each `RECONCILIATION_INTERVAL` (a week, where the
  gateway's daily schedule would be most of an example's cost). Compliance
  deadlines are not fired: verify checks what crosses and what is surrendered,
  not penalties (`etslink run` does those).
- **Faults.** `[faults]` drop, duplicate and delay become the gateway network's
  seeded `FaultyTransport` (seeded from the scenario seed). `delay_days_max`
  is not modelled: a held message is released at a later delivery, at random.
- **Shrinking.** Hypothesis's own shrinker replays a failing example hundreds
  of times, each building a world; `minimise` instead drops steps and lowers
  quantities within `MINIMISE_REPLAYS_MAX` replays, and writes a relay as its
  two transfers.
- **Reproducible.** Hypothesis runs with `database=None` and an explicit seed
  (the scenario's unless `seed` is given), so the same scenario, budget and seed
  give the same result and the same steps.
"""

from __future__ import annotations

import ast
import dataclasses
import re
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, Phase, Verbosity, seed, settings
from hypothesis import strategies as st
from hypothesis.reporting import with_reporter
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from compliance.book import SurrenderRequest
from compliance.gases import Gas
from compliance.mrv import EmissionsReport, Verifier, sign_verification
from etslink.scenario import Scenario, ScenarioRegistry, ZicAgents
from etslink.sessions.compliance import KG_PER_T, verifier_key
from etslink.sim.world import World, build_world, known_unit_types, unit_catalogue
from etslink.verify.oracles import (
    admission_refusal,
    link_breach,
    period_cap_breach,
    surrender_cap_breach,
)
from exchange.book import OrderType, Side
from exchange.errors import ExchangeError
from exchange.market import TradeStatus
from gateway.endpoint import TransferOrder
from gateway.errors import GatewayError
from gateway.links import LinkState
from gateway.messages import TransactionStatus
from gateway.network import Faults as NetworkFaults
from gateway.network import FaultyTransport
from registry import AccountKind, RegistryError, UnitKind

ENTITIES_PER_REGISTRY = 2
ENDOWMENT_T = 1_000  # of each unit type an acting entity starts with
QUANTITY_T_MAX = 1_500  # a transfer or surrender asks for 1 .. this (more than is held, at times)
EMISSIONS_T_MAX = 5_000
CASH_MINOR = 10**11  # per member and currency: enough never to be the reason a bid is refused
PRICE_MINOR_MAX = 10_000
LOTS_MAX = 3
EXAMPLES_MAX = 100_000
STEPS_MAX = 1_000
MINIMISE_REPLAYS_MAX = 400  # replays spent dropping steps Hypothesis's shrinker left in
ADVANCE_DAYS = (1, 2, 7, 30, 120)
# Scheduled reconciliation every week of simulated time, not daily as in `etslink link`:
# a daily one is most of an example's cost, and a week still reconciles every jump.
RECONCILIATION_INTERVAL = timedelta(days=7)
DRILL_REASON = "etslink verify drill"
ACCOUNTS_ARROW = " -> "  # between sender and receiver in a transfer step's `accounts`
DRILL_PROJECT = "verify-drill"  # the project id of credits issued for the drill
VERIFIER_PREFIX = "verify-verifier-"

# A refusal with a check code: the command changed nothing, and the machine goes on.
REFUSALS = (RegistryError, ExchangeError)

ACTIVITY = (
    "transfers completed",
    "transfers rejected or terminated",
    "trades settled",
    "surrenders accepted",
    "link state changes",
)
INVARIANTS = ("conservation", "link-rules", "surrender-caps", "admission")
UNEXPECTED = "unexpected-error"

EXPLANATIONS = {
    "conservation": (
        "A serial is missing or in two places: units were created or lost. That is a bug in "
        "etslink's registry, gateway or exchange, not in the scenario; please report it with "
        "the steps below."
    ),
    "link-rules": (
        "A transfer completed over a link that was not active or not in effect, in a direction "
        "the link does not permit, or beyond the link's period cap or per-transfer limit. The "
        "gateway should have refused it; please report it with the steps below."
    ),
    "surrender-caps": (
        "An entity surrendered more offsets or foreign units for a period than its regime's "
        "quantitative limits (or a link's foreign-unit share cap) allow. Check the scenario's "
        "offset_cap override and the links' entity_share_cap: the compliance book does not "
        "apply a rule the scenario states."
    ),
    "admission": (
        "A unit reached a registry whose regime does not admit it. Follow the unit's route in "
        "the steps below: a link that lists this unit type lets it in directly, and a link with "
        "reexport_allowed = true lets units of a third registry through. Remove the unit type "
        "from the link's unit_types, or set reexport_allowed = false on the link that passed it on."
    ),
    UNEXPECTED: (
        "A step raised an error that is not a refusal with a check code. That is a bug in "
        "etslink (or a scenario it cannot drive); please report it with the steps below."
    ),
}


class InvariantBroken(AssertionError):
    """An invariant failed after a step: its name and what was found."""

    def __init__(self, invariant_name: str, detail: str) -> None:
        super().__init__(f"{invariant_name}: {detail}")
        self.invariant_name = invariant_name
        self.detail = detail


@dataclass(frozen=True, slots=True)
class VerificationResult:
    """The outcome of one `verify` run.

    `steps` are the shrunk, replayable lines Hypothesis printed (`state = ...`,
    `state.rule(...)`, `state.teardown()`); empty when every invariant held.
    `examples_run` counts the examples Hypothesis ran; `activity` what they did
    (summed over examples: a pass where nothing crossed a link proves little).
    """

    scenario: str
    passed: bool
    examples_max: int
    steps_max: int
    seed: int
    examples_run: int
    rules: tuple[str, ...]
    invariants: tuple[str, ...] = INVARIANTS
    activity: tuple[tuple[str, int], ...] = ()  # what the examples did, in `ACTIVITY` order
    invariant: str | None = None
    detail: str = ""
    steps: tuple[str, ...] = ()

    @property
    def explanation(self) -> str:
        return "" if self.invariant is None else EXPLANATIONS[self.invariant]

    def replay_script(self) -> str:
        """Return Python that replays the counter-example against the same scenario file."""
        lines = [
            "from etslink.scenario import load_scenario",
            "from etslink.verify.machine import machine_for",
            "",
            f"VerifyMachine = machine_for(load_scenario({self.scenario!r}))",
            *self.steps,
        ]
        return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- the machine


@dataclass(frozen=True, slots=True)
class Plan:
    """What a scenario's machine may do: its actors, routes and unit types (fixed per class)."""

    scenario: Scenario
    actors: dict[str, tuple[str, ...]]  # registry code -> acting entity ids
    known: dict[str, tuple[str, ...]]  # registry code -> unit types its registry knows
    routes: tuple[tuple[str, str, str], ...]  # (link id, from, to): each way a link permits
    instruments: tuple[str, ...]
    faults: NetworkFaults | None
    lighter: Scenario  # the scenario with only the acting entities, and no ZI-C traders
    link_dates: tuple[datetime, ...] = field(default=())


def _plan(scenario: Scenario) -> Plan:
    regimes = [item.regime for item in scenario.registries]
    catalogue = unit_catalogue(regimes, scenario.links, [])
    actors = {
        item.code: tuple(sorted(entity.entity_id for entity in item.entities))[
            :ENTITIES_PER_REGISTRY
        ]
        for item in scenario.registries
    }
    known = {
        item.code: tuple(
            unit.code for unit in known_unit_types(item.regime, scenario.links, catalogue)
        )
        for item in scenario.registries
    }
    # The directions each link permits: a unilateral link's other way is refused (9002)
    # before anything moves, which the gateway's own tests cover.
    routes = tuple(
        (link.link_id, here, there)
        for link in sorted(scenario.links, key=lambda item: item.link_id)
        for here, there in ((link.registry_a, link.registry_b), (link.registry_b, link.registry_a))
        if link.permits_direction(here, there)
    )
    dates = sorted(
        {link.effective_from for link in scenario.links}
        | {link.effective_to for link in scenario.links if link.effective_to is not None}
    )
    return Plan(
        scenario=scenario,
        actors=actors,
        known=known,
        routes=routes,
        instruments=tuple(item.instrument.code for item in scenario.instruments),
        faults=_network_faults(scenario),
        lighter=_lighter(scenario, actors),
        link_dates=tuple(dates),
    )


def _lighter(scenario: Scenario, actors: dict[str, tuple[str, ...]]) -> Scenario:
    """Return `scenario` with only the acting entities and no ZI-C traders (nothing else changes).

    Every entity's account and book registration costs journal writes in each example;
    the machine acts for a few entities only.
    """
    registries = tuple(
        dataclasses.replace(
            item,
            entities=tuple(e for e in item.entities if e.entity_id in actors[item.code]),
        )
        for item in scenario.registries
    )
    agents = tuple(agent for agent in scenario.agents if not isinstance(agent, ZicAgents))
    return dataclasses.replace(scenario, registries=registries, agents=agents)


def _network_faults(scenario: Scenario) -> NetworkFaults | None:
    faults = scenario.faults
    if faults is None or not (faults.drop or faults.duplicate or faults.delay):
        return None
    for name, chance in (
        ("drop", faults.drop),
        ("duplicate", faults.duplicate),
        ("delay", faults.delay),
    ):
        if chance >= 1:
            raise ValueError(
                f"faults.{name} is {chance}; verify needs a chance below 1 "
                "(with 1 no message would ever arrive)"
            )
    return NetworkFaults(faults.drop, faults.duplicate, faults.delay)


class ScenarioMachine(RuleBasedStateMachine):
    """The state a scenario's machine keeps; `machine_for` adds the scenario's rules."""

    plan: Plan
    runs: list[int]  # one counter per class, shared by its examples
    activity: dict[str, int]  # what the examples did, summed at each teardown (`ACTIVITY`)
    relay_parts: dict[str, tuple[str, str]]  # relay rule -> its two transfer rules

    def __init__(self) -> None:
        super().__init__()
        type(self).runs[0] += 1
        scenario = self.plan.scenario
        self.world: World = build_world(self.plan.lighter)
        self.year = self.world.clock.now().year
        self.next_id = 0
        self.link_changes = 0
        self.judged: set[str] = set()
        self.link_states = self._gateway_link_states()
        self.states_before = dict(self.link_states)
        self.step_from = self.world.clock.now()
        self.faulty: FaultyTransport | None = None
        if self.world.federation is not None:
            self.world.federation.reconciliation_interval = RECONCILIATION_INTERVAL
        self.reconciliations_seen = 0
        if self.plan.faults is not None and self.world.federation is not None:
            network = self.world.federation.network
            self.faulty = FaultyTransport(network.direct, self.plan.faults, scenario.seed)
            network.transport = self.faulty
        self._endow()

    # ------------------------------------------------------------ set-up

    def _endow(self) -> None:
        world, scenario = self.world, self.plan.scenario
        vintage = self.year
        for item in scenario.registries:
            actors = self.plan.actors[item.code]
            book, registry = world.books[item.code], world.registries[item.code]
            book.allocate(vintage, {entity_id: ENDOWMENT_T for entity_id in actors})
            issuance = registry.ledger.singleton(AccountKind.ISSUANCE).account_id
            for code in self.plan.known[item.code]:
                unit = world.unit_types[code]
                if unit.kind is UnitKind.ALLOWANCE or unit.origin != item.code:
                    continue
                project = f"{DRILL_PROJECT}-{code.lower()}"
                registry.issue(code, vintage, ENDOWMENT_T * len(actors), project_id=project)
                for entity_id in actors:
                    account = world.entities[entity_id].account_id
                    registry.allocate(issuance, account, code, ENDOWMENT_T, vintage)
            verifier_id = f"{VERIFIER_PREFIX}{item.code}"
            key = verifier_key(str(scenario.seed), verifier_id)
            book.accredit_verifier(Verifier(verifier_id, f"verify: {item.code}", key.verify_key))
        currencies = sorted({item.instrument.currency for item in scenario.instruments})
        for actors in self.plan.actors.values():
            for entity_id in actors:
                for currency in currencies:
                    world.exchange.deposit_cash(entity_id, currency, CASH_MINOR)

    def _gateway_link_states(self) -> dict[str, LinkState]:
        federation = self.world.federation
        if federation is None:
            return {}
        return {link_id: link.state for link_id, link in federation.gateway.links.items()}

    def _fresh_id(self, prefix: str) -> str:
        self.next_id += 1
        return f"{prefix}{self.next_id:05d}"

    def _now(self) -> datetime:
        return self.world.clock.now()

    # ------------------------------------------------------------ the steps the rules take

    def do_transfer(
        self, route: tuple[str, str, str], sender: str, receiver: str, unit: str, quantity: int
    ) -> None:
        federation = self.world.federation
        assert federation is not None, "routes exist only where links do"
        _, origin, destination = route
        order = TransferOrder(
            self._fresh_id("V"),
            self.world.entities[sender].account_id,
            destination,
            self.world.entities[receiver].account_id,
            unit,
            quantity,
        )
        with suppress(*REFUSALS):
            federation.transfer(origin, order)

    def do_trade(
        self, instrument: str, seller: str, buyer: str, lots: int, price_minor: int
    ) -> None:
        exchange = self.world.exchange
        lot_t = next(
            item.instrument.lot_t
            for item in self.plan.scenario.instruments
            if item.instrument.code == instrument
        )
        quantity_t = lots * lot_t
        with suppress(*REFUSALS):
            exchange.deposit_units(seller, instrument, quantity_t)
        with suppress(*REFUSALS):
            exchange.submit(
                instrument,
                OrderType.LIMIT,
                self.next_order(),
                seller,
                Side.SELL,
                price_minor,
                quantity_t,
            )
        with suppress(*REFUSALS):
            exchange.submit(
                instrument,
                OrderType.LIMIT,
                self.next_order(),
                buyer,
                Side.BUY,
                price_minor,
                quantity_t,
            )

    def next_order(self) -> int:
        self.next_id += 1
        return self.next_id

    def do_report(self, entity_id: str, emissions_t: int) -> None:
        code = self.world.entities[entity_id].registry
        book = self.world.books[code]
        year = self._now().year - 1
        report = EmissionsReport(entity_id, year, {Gas.CO2: emissions_t * KG_PER_T})
        verifier_id = f"{VERIFIER_PREFIX}{code}"
        key = verifier_key(str(self.plan.scenario.seed), verifier_id)
        with suppress(*REFUSALS):
            book.submit_report(report)
            book.record_verification(sign_verification(key, verifier_id, report, book.regime))

    def do_surrender(self, entity_id: str, unit: str, quantity: int, last_year: bool) -> None:
        code = self.world.entities[entity_id].registry
        book = self.world.books[code]
        calendar = book.regime.calendar
        year = self._now().year - (1 if last_year else 0)
        if year < calendar.first_year:
            return
        with suppress(*REFUSALS):
            book.surrender(entity_id, calendar.period_of(year), [SurrenderRequest(unit, quantity)])

    def do_set_link_state(self, link_id: str, state: LinkState) -> None:
        federation = self.world.federation
        assert federation is not None, "links exist only in a federation"
        with suppress(*REFUSALS):
            federation.gateway.set_link_state(link_id, state, DRILL_REASON)
            self.link_states[link_id] = state
            self.link_changes += 1
            federation.pump()

    def do_advance(self, until: datetime) -> None:
        with suppress(*REFUSALS):
            self.world.exchange.advance(until)

    def do_deliver_held(self) -> None:
        federation = self.world.federation
        assert federation is not None and self.faulty is not None
        self.faulty.flush_held()
        with suppress(*REFUSALS):
            federation.pump()

    def teardown(self) -> None:
        """Add what this example did to the class's `activity` (so a pass is not vacuous)."""
        tally = type(self).activity
        federation = self.world.federation
        if federation is not None:
            for record in federation.gateway.transfers.values():
                if record.status is TransactionStatus.COMPLETED:
                    tally["transfers completed"] += 1
                elif record.is_final:
                    tally["transfers rejected or terminated"] += 1
        tally["trades settled"] += sum(
            1
            for trade in self.world.exchange.trades.values()
            if trade.status is TradeStatus.SETTLED
        )
        tally["surrenders accepted"] += sum(
            len(registry.ledger.surrenders()) for registry in self.world.registries.values()
        )
        tally["link state changes"] += self.link_changes

    # ------------------------------------------------------------ invariants

    @invariant()
    def invariants_hold(self) -> None:
        try:
            self.world.check_invariants()
        except AssertionError as error:
            raise InvariantBroken("conservation", str(error)) from None
        self._check_reconciliations()
        self._check_completed_transfers()
        self._check_surrenders()
        self.states_before = dict(self.link_states)
        self.step_from = self._now()

    def _check_reconciliations(self) -> None:
        """Assert every scheduled reconciliation since the last step agreed (or was deferred)."""
        federation = self.world.federation
        if federation is None:
            return
        runs = federation.reconciliation_runs[self.reconciliations_seen :]
        self.reconciliations_seen = len(federation.reconciliation_runs)
        for run in runs:
            if isinstance(run.outcome, GatewayError) or run.is_consistent:
                continue  # denied while transfers were open (9022): it runs again next time
            raise InvariantBroken(
                "conservation",
                f"the scheduled reconciliation of {run.registry} at {run.at.isoformat()} found "
                f"the registry and the gateway disagree: {run.outcome}",
            )

    def _check_completed_transfers(self) -> None:
        federation = self.world.federation
        if federation is None:
            return
        gateway = federation.gateway
        scenario = self.plan.scenario
        year = self._now().year
        for transfer_id, record in gateway.transfers.items():
            if record.status is not TransactionStatus.COMPLETED or transfer_id in self.judged:
                continue
            self.judged.add(transfer_id)
            transfer = record.transfer
            assert record.link_id is not None, f"completed transfer {transfer_id} has no link"
            link = gateway.links[record.link_id]
            active = LinkState.ACTIVE in (
                self.states_before.get(link.link_id),
                self.link_states.get(link.link_id),
            )
            breach = link_breach(
                link,
                transfer_id,
                transfer.from_registry,
                transfer.to_registry,
                frozenset(block.unit_type for block in transfer.blocks),
                active,
                self.step_from,
                self._now(),
            )
            if breach is not None:
                raise InvariantBroken("link-rules", breach)
            limit = link.per_transfer_limit_t
            if limit is not None and transfer.quantity_t > limit:
                raise InvariantBroken(
                    "link-rules",
                    f"transfer {transfer_id} of {transfer.quantity_t:,} t over link "
                    f"{link.link_id} exceeds its per-transfer limit of {limit:,} t",
                )
            destination = scenario.registry(transfer.to_registry)
            for block in transfer.blocks:
                refusal = admission_refusal(
                    destination.regime,
                    scenario.links,
                    self.world.unit_types[block.unit_type],
                    block.origin,
                    year,
                )
                if refusal is not None:
                    raise InvariantBroken(
                        "admission",
                        f"transfer {transfer_id} over link {link.link_id} "
                        f"({transfer.from_registry} -> {transfer.to_registry}) delivered "
                        f"{block.quantity:,} t of {block.unit_type} {block.vintage} "
                        f"(origin {block.origin}): {refusal}",
                    )
        self._check_period_caps()

    def _check_period_caps(self) -> None:
        federation = self.world.federation
        assert federation is not None
        gateway = federation.gateway
        flows: dict[tuple[str, int], int] = {}
        for record in gateway.transfers.values():
            if record.status is TransactionStatus.COMPLETED and record.link_id is not None:
                assert record.period is not None, f"completed {record.transfer} has no period"
                key = (record.link_id, record.period)
                flows[key] = flows.get(key, 0) + record.transfer.quantity_t
        breach = period_cap_breach(gateway.links, flows)
        if breach is not None:
            raise InvariantBroken("link-rules", breach)

    def _check_surrenders(self) -> None:
        scenario = self.plan.scenario
        for item in scenario.registries:
            book = self.world.books[item.code]
            ledger = self.world.registries[item.code].ledger
            for entity_id in self.plan.actors[item.code]:
                account = self.world.entities[entity_id].account_id
                periods = sorted({record.period for record in ledger.surrenders(account)})
                for period in periods:
                    blocks = [
                        block
                        for record in ledger.surrenders(account, period)
                        for block in record.blocks
                    ]
                    breach = surrender_cap_breach(
                        item.regime,
                        scenario.links,
                        self.world.unit_types,
                        entity_id,
                        period,
                        book.obligation_t(entity_id, period),
                        blocks,
                    )
                    if breach is not None:
                        raise InvariantBroken("surrender-caps", breach)


# ---------------------------------------------------------------- building the class


def _name(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def _transfer_name(route: tuple[str, str, str]) -> str:
    link_id, origin, destination = route
    return f"transfer_{_name(origin)}_to_{_name(destination)}_on_{_name(link_id)}"


def _transfer_rule(plan: Plan, route: tuple[str, str, str]) -> Callable[..., None] | None:
    link_id, origin, destination = route
    link = next(item for item in plan.scenario.links if item.link_id == link_id)
    # Every unit type the sender's registry knows, those the link lists first (Hypothesis
    # tries earlier choices more often): the others must be refused (9001).
    listed = [unit for unit in plan.known[origin] if unit in link.unit_types]
    if not listed:
        return None
    units = listed + [unit for unit in plan.known[origin] if unit not in link.unit_types]
    pairs = [
        f"{sender}{ACCOUNTS_ARROW}{receiver}"
        for sender in plan.actors[origin]
        for receiver in plan.actors[destination]
    ]

    def transfer(self: ScenarioMachine, accounts: str, unit: str, quantity: int) -> None:
        sender, receiver = accounts.split(ACCOUNTS_ARROW)
        self.do_transfer(route, sender, receiver, unit, quantity)

    transfer.__name__ = _transfer_name(route)
    transfer.__doc__ = f"Propose a transfer {origin} -> {destination} over link {link_id}."
    # Three arguments, not four: Hypothesis tries rules with fewer arguments first, and a
    # route's transfers are what most rule mistakes need.
    return rule(
        accounts=st.sampled_from(pairs),
        unit=st.sampled_from(units),
        quantity=st.integers(1, QUANTITY_T_MAX),
    )(transfer)


def _relay_rule(
    plan: Plan, first: tuple[str, str, str], second: tuple[str, str, str]
) -> Callable[..., None] | None:
    """Return a rule passing units on over two links (an indirect link), or None if none can.

    One step where two would do: Hypothesis tries only some rules in each example, so a
    rule mistake that needs two particular transfers in a row is found far sooner this way.
    """
    (first_link, origin, middle), (second_link, _, destination) = first, second
    links = {link.link_id: link for link in plan.scenario.links}
    units = [
        unit
        for unit in plan.known[origin]
        if unit in links[first_link].unit_types and unit in links[second_link].unit_types
    ]
    if not units:
        return None
    chains = [
        ACCOUNTS_ARROW.join((sender, relay, receiver))
        for sender in plan.actors[origin]
        for relay in plan.actors[middle]
        for receiver in plan.actors[destination]
    ]

    def relay(self: ScenarioMachine, accounts: str, unit: str, quantity: int) -> None:
        sender, middleman, receiver = accounts.split(ACCOUNTS_ARROW)
        self.do_transfer(first, sender, middleman, unit, quantity)
        self.do_transfer(second, middleman, receiver, unit, quantity)

    relay.__name__ = (
        f"relay_{_name(origin)}_to_{_name(destination)}_via_{_name(middle)}"
        f"_on_{_name(first_link)}_and_{_name(second_link)}"
    )
    relay.__doc__ = f"Transfer {origin} -> {middle}, then pass the units on to {destination}."
    return rule(
        accounts=st.sampled_from(chains),
        unit=st.sampled_from(units),
        quantity=st.integers(1, QUANTITY_T_MAX),
    )(relay)


def _trade_rule(plan: Plan, instrument: str) -> Callable[..., None]:
    listed = next(i for i in plan.scenario.instruments if i.instrument.code == instrument)
    everyone = tuple(entity for actors in plan.actors.values() for entity in actors)

    def trade(self: ScenarioMachine, seller: str, buyer: str, lots: int, price_minor: int) -> None:
        self.do_trade(instrument, seller, buyer, lots, price_minor)

    trade.__name__ = f"trade_{_name(instrument)}"
    trade.__doc__ = f"Deposit, offer and bid {instrument} on the exchange at one price."
    tick = listed.instrument.tick_minor
    return rule(
        seller=st.sampled_from(plan.actors[listed.registry]),
        buyer=st.sampled_from(everyone),
        lots=st.integers(1, LOTS_MAX),
        price_minor=st.integers(1, PRICE_MINOR_MAX).map(lambda ticks: ticks * tick),
    )(trade)


def _report_rule(plan: Plan) -> Callable[..., None]:
    everyone = tuple(entity for actors in plan.actors.values() for entity in actors)

    def report_emissions(self: ScenarioMachine, entity: str, emissions_t: int) -> None:
        self.do_report(entity, emissions_t)

    report_emissions.__doc__ = "Report and verify an entity's emissions of last year."
    return rule(entity=st.sampled_from(everyone), emissions_t=st.integers(0, EMISSIONS_T_MAX))(
        report_emissions
    )


def _surrender_rule(plan: Plan, item: ScenarioRegistry) -> Callable[..., None]:
    def surrender(
        self: ScenarioMachine, entity: str, unit: str, quantity: int, last_year: bool
    ) -> None:
        self.do_surrender(entity, unit, quantity, last_year)

    surrender.__name__ = f"surrender_in_{_name(item.code)}"
    surrender.__doc__ = f"Surrender units for this or last year's period in {item.code}."
    return rule(
        entity=st.sampled_from(plan.actors[item.code]),
        unit=st.sampled_from(plan.known[item.code]),
        quantity=st.integers(1, QUANTITY_T_MAX),
        last_year=st.booleans(),
    )(surrender)


def _link_rules(plan: Plan) -> list[Callable[..., None]]:
    link_ids = sorted({link_id for link_id, _, _ in plan.routes})

    def suspend(self: ScenarioMachine, link: str) -> None:
        self.do_set_link_state(link, LinkState.SUSPENDED)

    def resume(self: ScenarioMachine, link: str) -> None:
        self.do_set_link_state(link, LinkState.ACTIVE)

    suspend.__doc__ = "Suspend a link: its transfers in flight are terminated."
    resume.__doc__ = "Make a link active: resume a suspended one, or activate a proposed one."
    links = st.sampled_from(link_ids)
    return [rule(link=links)(suspend), rule(link=links)(resume)]


def _time_rules(plan: Plan) -> list[Callable[..., None]]:
    def advance_days(self: ScenarioMachine, days: int) -> None:
        self.do_advance(self._now() + timedelta(days=days))

    def advance_to_next_link_date(self: ScenarioMachine) -> None:
        now = self._now()
        ahead = [moment for moment in plan.link_dates if moment > now]
        self.do_advance(min(ahead) + timedelta(minutes=1))

    advance_days.__doc__ = "Move simulated time forward; trades settle, the gateway acts."
    advance_to_next_link_date.__doc__ = "Move to just after the next link effective date."
    rules = [rule(days=st.sampled_from(ADVANCE_DAYS))(advance_days)]
    if plan.link_dates:
        ahead = precondition(lambda self: any(m > self._now() for m in plan.link_dates))
        rules.append(ahead(rule()(advance_to_next_link_date)))
    return rules


def _fault_rules(plan: Plan) -> list[Callable[..., None]]:
    if plan.faults is None or not plan.routes:
        return []

    def deliver_held_messages(self: ScenarioMachine) -> None:
        self.do_deliver_held()

    deliver_held_messages.__doc__ = "Deliver every message the faulty network held back."
    return [rule()(deliver_held_messages)]


def machine_for(scenario: Scenario) -> type[ScenarioMachine]:
    """Return a state machine class whose rules are `scenario`'s routes, instruments and rules."""
    plan = _plan(scenario)
    transfers = [_transfer_rule(plan, route) for route in plan.routes]
    relays: list[Callable[..., None]] = []
    relay_parts: dict[str, tuple[str, str]] = {}  # relay rule -> the two transfer rules it is
    for first in plan.routes:
        for second in plan.routes:
            if first[2] != second[1] or first[1] == second[2] or first[0] == second[0]:
                continue
            relay = _relay_rule(plan, first, second)
            if relay is not None:
                relays.append(relay)
                relay_parts[relay.__name__] = (_transfer_name(first), _transfer_name(second))
    rules: list[Callable[..., None]] = [item for item in transfers if item is not None] + relays
    rules += [_trade_rule(plan, code) for code in plan.instruments]
    rules.append(_report_rule(plan))
    rules += [_surrender_rule(plan, item) for item in scenario.registries]
    if plan.routes:
        rules += _link_rules(plan)
        rules += _fault_rules(plan)
    rules += _time_rules(plan)
    namespace: dict[str, Any] = {
        "plan": plan,
        "runs": [0],
        "activity": dict.fromkeys(ACTIVITY, 0),
        "relay_parts": relay_parts,
    }
    for function in rules:
        namespace[function.__name__] = function
    return type("VerifyMachine", (ScenarioMachine,), namespace)


def rule_names(machine: type[ScenarioMachine]) -> tuple[str, ...]:
    """Return the names of a machine's rules, sorted."""
    return tuple(
        sorted(
            name
            for name, value in vars(machine).items()
            if callable(value) and hasattr(value, "hypothesis_stateful_rule")
        )
    )


# ---------------------------------------------------------------- running it


def verify(
    scenario: Scenario,
    examples: int = 100,
    steps: int = 20,
    seed_value: int | None = None,
) -> VerificationResult:
    """Run the scenario's machine; return whether every invariant held, or the shrunk steps."""
    if not 1 <= examples <= EXAMPLES_MAX:
        raise ValueError(f"examples must be 1..{EXAMPLES_MAX:,}, was {examples}")
    if not 1 <= steps <= STEPS_MAX:
        raise ValueError(f"steps must be 1..{STEPS_MAX:,}, was {steps}")
    chosen_seed = scenario.seed if seed_value is None else seed_value
    machine = seed(chosen_seed)(machine_for(scenario))
    # A world the scenario cannot build is the file's fault (ValueError), not a counter-example.
    build_world(machine.plan.lighter)
    budget = settings(
        max_examples=examples,
        stateful_step_count=steps,
        deadline=None,
        database=None,
        derandomize=False,
        report_multiple_bugs=False,
        print_blob=False,
        verbosity=Verbosity.normal,
        phases=[Phase.explicit, Phase.generate],  # `minimise` shrinks, within a bound
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.filter_too_much,
            HealthCheck.data_too_large,
        ],
    )
    lines: list[str] = []

    def collect(value: object) -> None:
        lines.append(str(value))

    def result(passed: bool, invariant: str | None = None, detail: str = "") -> VerificationResult:
        return VerificationResult(
            scenario=str(scenario.path),
            passed=passed,
            examples_max=examples,
            steps_max=steps,
            seed=chosen_seed,
            examples_run=machine.runs[0],
            rules=rule_names(machine),
            activity=tuple((name, machine.activity[name]) for name in ACTIVITY),
            invariant=invariant,
            detail=detail,
            steps=() if passed else _steps(lines, failure),
        )

    failure: BaseException | None = None
    try:
        with with_reporter(collect):
            run_state_machine_as_test(machine, settings=budget)
    except InvariantBroken as error:
        failure = error
        broken = result(False, error.invariant_name, error.detail)
    except Exception as error:  # any other error is the counter-example
        failure = error
        broken = result(False, UNEXPECTED, f"{type(error).__name__}: {error}")
    else:
        return result(True)
    return minimise(machine, broken)


# ---------------------------------------------------------------- replaying and minimising

Call = tuple[str, dict[str, Any]]  # a rule's name and its keyword arguments
_SKIPPED_CALLS = ("invariants_hold", "teardown")


def parse_steps(steps: tuple[str, ...]) -> list[Call]:
    """Return the rule calls of Hypothesis's printed steps (`state.rule(k=literal, ...)`)."""
    calls: list[Call] = []
    for line in steps:
        if not line.startswith("state."):
            continue
        node = ast.parse(line, mode="eval").body
        assert isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute), line
        if node.func.attr in _SKIPPED_CALLS:
            continue
        arguments = {item.arg: ast.literal_eval(item.value) for item in node.keywords if item.arg}
        calls.append((node.func.attr, arguments))
    return calls


def render_steps(machine: type[ScenarioMachine], calls: list[Call]) -> tuple[str, ...]:
    """Return `calls` as replayable lines, with the invariant check after each (as Hypothesis)."""
    lines = [f"state = {machine.__name__}()", "state.invariants_hold()"]
    for name, arguments in calls:
        shown = ", ".join(f"{key}={value!r}" for key, value in sorted(arguments.items()))
        lines += [f"state.{name}({shown})", "state.invariants_hold()"]
    return (*lines, "state.teardown()")


def replay(machine: type[ScenarioMachine], calls: list[Call]) -> tuple[str, str] | None:
    """Run `calls` on a fresh machine; return (invariant, detail) of the first failure, or None.

    A call whose rule's precondition does not hold makes the sequence invalid (None).
    """
    try:
        state = machine()
        state.invariants_hold()
        for name, arguments in calls:
            function = getattr(machine, name)
            stateful_rule = function.hypothesis_stateful_rule
            if not all(check(state) for check in stateful_rule.preconditions):
                return None
            function(state, **arguments)
            state.invariants_hold()
    except InvariantBroken as error:
        return error.invariant_name, error.detail
    except Exception as error:  # the same rule as `verify`: any other error is a failure
        return UNEXPECTED, f"{type(error).__name__}: {error}"
    return None


def minimise(machine: type[ScenarioMachine], result: VerificationResult) -> VerificationResult:
    """Shrink a counter-example: drop steps, then lower whole-number arguments, while the same
    invariant still breaks.

    Hypothesis's own shrinker replays a stateful example hundreds of times, and each
    replay here builds a world: a minute on a small budget. This pass is bounded
    (`MINIMISE_REPLAYS_MAX` replays) and deterministic: it removes each step whose
    removal keeps the failure, until none can go, then tries 1 (else halves) for each
    whole-number argument, so every step printed is needed and quantities are small.
    """
    assert result.invariant is not None, "only a counter-example is minimised"
    wanted = _signature((result.invariant, result.detail))
    calls = parse_steps(result.steps)
    if not calls or _failure(machine, calls) != wanted:
        return result  # not replayable as printed: keep Hypothesis's steps untouched
    budget = [MINIMISE_REPLAYS_MAX]

    def still_fails(candidate: list[Call]) -> bool:
        if budget[0] <= 0:
            return False
        budget[0] -= 1
        return _failure(machine, candidate) == wanted

    expanded = _expand_relays(machine, calls)
    if expanded != calls and still_fails(expanded):
        calls = expanded  # each gateway transfer its own step: the route reads hop by hop
    calls = _drop_steps(calls, still_fails)
    calls = _lower_numbers(calls, still_fails)
    outcome = replay(machine, calls)
    assert outcome is not None and _signature(outcome) == wanted, "minimising lost the failure"
    return dataclasses.replace(result, detail=outcome[1], steps=render_steps(machine, calls))


def _signature(outcome: tuple[str, str]) -> str:
    """Return what makes two failures the same: the invariant, or the error's type."""
    invariant, detail = outcome
    return f"{invariant}: {detail.split(':')[0]}" if invariant == UNEXPECTED else invariant


def _failure(machine: type[ScenarioMachine], calls: list[Call]) -> str | None:
    outcome = replay(machine, calls)
    return None if outcome is None else _signature(outcome)


def _expand_relays(machine: type[ScenarioMachine], calls: list[Call]) -> list[Call]:
    """Return `calls` with each relay written as the two transfers it makes."""
    expanded: list[Call] = []
    for name, arguments in calls:
        parts = machine.relay_parts.get(name)
        if parts is None:
            expanded.append((name, arguments))
            continue
        sender, middleman, receiver = arguments["accounts"].split(ACCOUNTS_ARROW)
        for part, accounts in zip(parts, ((sender, middleman), (middleman, receiver)), strict=True):
            hop = {**arguments, "accounts": ACCOUNTS_ARROW.join(accounts)}
            expanded.append((part, hop))
    return expanded


def _drop_steps(calls: list[Call], still_fails: Callable[[list[Call]], bool]) -> list[Call]:
    changed = True
    while changed:
        changed = False
        index = 0
        while index < len(calls):
            shorter = calls[:index] + calls[index + 1 :]
            if still_fails(shorter):
                calls, changed = shorter, True
            else:
                index += 1
    return calls


def _lower_numbers(calls: list[Call], still_fails: Callable[[list[Call]], bool]) -> list[Call]:
    """Lower each whole-number argument as far as the failure allows; repeat while any moves
    (a later step's quantity may hold up an earlier one's)."""
    changed = True
    while changed:
        changed = False
        for index in range(len(calls)):
            name, arguments = calls[index]
            for key in sorted(arguments):
                value = arguments[key]
                if type(value) is not int or value <= 1:
                    continue
                for lower in (1, *_halvings(value)):
                    candidate = {**arguments, key: lower}
                    trial = [*calls[:index], (name, candidate), *calls[index + 1 :]]
                    if still_fails(trial):
                        arguments, calls, changed = candidate, trial, True
                        break
    return calls


def _halvings(value: int) -> list[int]:
    """Return value // 2, value // 4, ... down to 2, largest reduction last tried first."""
    lowered = []
    while value > 2:
        value //= 2
        lowered.append(value)
    return lowered[::-1]


def _steps(lines: list[str], error: BaseException | None) -> tuple[str, ...]:
    """Return the replayable lines Hypothesis reported, or attached to the error as notes."""
    notes = [str(note) for note in getattr(error, "__notes__", ())]
    return tuple(
        line for text in [*lines, *notes] for line in text.splitlines() if line.startswith("state")
    )


__all__ = [
    "EXPLANATIONS",
    "INVARIANTS",
    "UNEXPECTED",
    "InvariantBroken",
    "VerificationResult",
    "machine_for",
    "minimise",
    "parse_steps",
    "render_steps",
    "replay",
    "verify",
]
