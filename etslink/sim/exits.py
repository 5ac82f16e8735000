"""A programme's exit: a registry leaves its links and ends its programme on a date.

A scenario's `[[exits]]` entry (Ontario: 3 July 2018, the final compliance date of the
Cap and Trade Cancellation Act 2018; shared/reference/registry-and-linking.md A22, D21)
becomes one kernel event at 00:00 UTC of its day. The run then:

1. terminates every link touching the registry at the gateway (`terminate_links`): the
   transfers in flight on it are terminated and their units return to the origin; units
   that already crossed stay where they are (A22: Ontario instruments held in California
   and Québec accounts stayed in the WCI system);
2. closes the compliance periods still open by the scenario's rule (`settle_to_date`:
   each firm reports and surrenders for its emissions from the year's start to the exit,
   and the book settles on them; `waive`: the obligation lapses, settled with no outcome);
3. brings the claims its venue's custody holds home and applies the units' fate to what
   every account of the registry holds (`apply_fate`): cancelled into its cancellation
   account, frozen by a registry-wide suspension, or left tradable at home;
4. stops the registry's government (no auction, reserve sale or allocation after), its
   firms (no obligation is left), and — unless the units stay tradable at home — its
   book.

Emissions are counted as the run saw them: the years the run reported in full, and the
exit year's part, its forecast pro rata of the days to the exit, less what the firm abates
then. Years before the run's start count nothing: the run did not see them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime
from fractions import Fraction

from compliance.book import ComplianceBook
from compliance.calendar import DeadlineKind
from etslink.scenario import OpenPeriodRule, ProgrammeExit, Scenario, UnitFate
from etslink.sim import compliance_cycle
from etslink.sim.access import MarketAccess
from etslink.sim.agents.firm import FirmAgent
from etslink.sim.record import FirmYear
from etslink.sim.valuation import year_end_abatement_t
from etslink.sim.world import World
from gateway.links import LinkState, allowed_transitions
from registry import AccountKind

EXIT_NOTE = "programme exit"


def exit_reason(item: ProgrammeExit) -> str:
    return f"the programme of {item.registry} ended on {item.day.isoformat()} (scenario exit)"


def terminate_links(
    world: World, scenario: Scenario, code: str, reason: str
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Terminate every link touching `code` at the gateway; return (links, transfers ended).

    A link already terminated is left as it is. The gateway's terminations are delivered
    at once, so the origins unlock the units of the transfers it ended.
    """
    federation = world.federation
    if federation is None:
        return (), ()
    gateway = federation.gateway
    links: list[str] = []
    ended: list[str] = []
    for link in sorted(scenario.links, key=lambda item: item.link_id):
        if code not in link.parties:
            continue
        state = gateway.links[link.link_id].state
        if LinkState.TERMINATED not in allowed_transitions(state):
            continue
        ended += gateway.set_link_state(link.link_id, LinkState.TERMINATED, reason)
        links.append(link.link_id)
    federation.pump()
    if ended:
        world.exchange.settle()  # trades whose transfers ended fail and unwind now
    return tuple(links), tuple(ended)


def open_periods(book: ComplianceBook, year: int) -> list[int]:
    """Return the periods, up to the one `year` is in, whose surrender is not settled."""
    calendar = book.regime.calendar
    if year < calendar.first_year:
        return []
    last = calendar.period_of(year)
    return [
        period
        for period in calendar.periods(year)
        if book.schedule.first_period <= period <= last
        and (DeadlineKind.SURRENDER_DUE, period) not in book.schedule.fired
    ]


def exit_year_share(scenario: Scenario, moment: datetime) -> Fraction:
    """Return the share of the exit year's forecast emitted before `moment`."""
    opening = max(date(moment.year, 1, 1), scenario.calendar.start)
    closing = date(moment.year + 1, 1, 1)
    return Fraction((moment.date() - opening).days, (closing - opening).days)


def settle_firm_to_date(
    access: MarketAccess,
    book: ComplianceBook,
    firm: FirmAgent,
    share: Fraction,
    day: date,
    allocated_t: int,
    bank_minor: Fraction,
    borrowing: compliance_cycle.Borrowing,
) -> FirmYear:
    """Close the firm's part of the exit year: abate, emit and surrender for it.

    There is no emissions report: the book settles on what the run counts (the regime's
    report for the part year would fall due after the programme ended).
    """
    plan = firm.plan
    assert plan is not None
    forecast_t = math.floor(plan.forecast_t * share)
    need_t = forecast_t + book.carried_t(firm.member)
    firm.plan = replace(plan, forecast_t=forecast_t, need_t=need_t, bank_minor=bank_minor)
    compliance_cycle.withdraw_from_custody(access, firm)
    held = firm.covered(firm.holdings_units(access))
    abated_t = year_end_abatement_t(
        firm.curve, forecast_t, need_t, held, bank_minor, firm.penalty_minor
    )
    emissions_t = forecast_t - abated_t
    surrendered_t, note = 0, "does not surrender (surrender_failure_share)"
    if not firm.fails_to_surrender:
        surrendered_t, note = compliance_cycle.surrender(access, book, firm, emissions_t, borrowing)
    return FirmYear(
        firm.member,
        firm.registry,
        plan.year,
        forecast_t,
        allocated_t,
        abated_t,
        firm.curve.total_cost(abated_t),
        emissions_t,
        surrendered_t,
        f"{EXIT_NOTE}: to {day.isoformat()}" + (f"; {note}" if note else ""),
        year_share=share,
    )


def period_emissions_t(
    book: ComplianceBook,
    period: int,
    firms: Sequence[FirmAgent],
    firm_years: Sequence[FirmYear],
    exit_year: int,
) -> dict[str, int]:
    """Return each firm's emissions in `period` up to the exit, as the run recorded them."""
    last = min(book.regime.calendar.period_last_year(period), exit_year)
    emissions = {firm.member: 0 for firm in firms}
    for row in firm_years:
        if row.entity_id in emissions and period <= row.year <= last:
            emissions[row.entity_id] += row.emissions_t
    return emissions


def close_open_periods(
    item: ProgrammeExit,
    book: ComplianceBook,
    firms: Sequence[FirmAgent],
    firm_years: Sequence[FirmYear],
    price_minor: int | None,
) -> tuple[int, ...]:
    """Settle (or waive) every period the exit leaves open; return their first years."""
    year = item.day.year
    periods = open_periods(book, year)
    if periods and price_minor is not None:
        book.set_average_price(year, price_minor)
    for period in periods:
        if item.open_period is OpenPeriodRule.WAIVE:
            book.settle_early(period, {})
        else:
            emissions = period_emissions_t(book, period, firms, firm_years, year)
            book.settle_early(period, emissions, price_year=year)
    return tuple(periods)


def apply_fate(world: World, item: ProgrammeExit) -> tuple[tuple[str, str, int], ...]:
    """Bring the venue's custody claims home, then cancel, freeze or keep what the
    registry's accounts hold; return it by (origin, unit type, tonnes)."""
    code = item.registry
    exchange = world.exchange
    registry = world.registries[code]
    kept = _withdraw_claims(world, code)
    held: dict[tuple[str, str], int] = {}
    moves: list[tuple[str, str, int]] = []
    for account in registry.accounts():
        if account.kind.terminal or account.kind is AccountKind.PENDING_OUT:
            continue
        for unit_type in account.holding.unit_types():
            quantity_t = account.holding.balance(unit_type) - kept.get(
                (account.account_id, unit_type), 0
            )
            if quantity_t <= 0:
                continue
            key = (world.unit_types[unit_type].origin, unit_type)
            held[key] = held.get(key, 0) + quantity_t
            moves.append((account.account_id, unit_type, quantity_t))
    if item.units is UnitFate.CANCELLED:
        for account_id, unit_type, quantity_t in moves:
            registry.cancel(account_id, unit_type, quantity_t)
    elif item.units is UnitFate.FROZEN:
        registry.suspend(exit_reason(item))
    exchange.check_conservation()
    return tuple((origin, unit, held[(origin, unit)]) for origin, unit in sorted(held))


def _withdraw_claims(world: World, code: str) -> dict[tuple[str, str], int]:
    """Move the free custody claims of the registry's own members on its venue's books
    back to their accounts; return what custody keeps for others, by (account, unit)."""
    exchange = world.exchange
    kept: dict[tuple[str, str], int] = {}
    for listing_code in sorted(exchange.listings):
        listing = exchange.listings[listing_code]
        if listing.registry != code:
            continue
        for member in sorted(exchange.custody.members()):
            free_t = exchange.custody.free_of(member, listing_code)
            if free_t > 0 and exchange.members[member].registry == code:
                exchange.withdraw_units(member, listing_code, free_t)
        key = (listing.custody_account, listing.unit)
        kept[key] = kept.get(key, 0) + exchange.custody.total(listing_code)
    return kept


__all__ = [
    "apply_fate",
    "close_open_periods",
    "exit_reason",
    "exit_year_share",
    "open_periods",
    "period_emissions_t",
    "settle_firm_to_date",
    "terminate_links",
]
