"""A covered firm's year end: abatement, a verified report, a surrender, borrowing.

At each year's close, for every registry whose regime runs that year, each firm

1. takes back what it still has in the exchange's custody (`Exchange.withdraw_units`),
   and gets its allocation trued up where its regime's method does (China: to the year's
   actual output; a claw-back takes back at most the year's allowances it still holds,
   and the report says how much could not be recovered);
2. abates what its holdings still lack while that is cheaper than the penalty, and every
   tonne cheaper than the bank value beyond that (`valuation.year_end_abatement_t`);
3. reports emissions = forecast − abatement as CO2, verified and signed by the registry's
   one accredited verifier (its key derived from the scenario's seed);
4. surrenders what covers its obligation (emissions + what was carried forward): its own
   allowances first, then foreign ones by compliance value — each counting the link's
   rate — within the regime's cap on foreign units; a surrender the rules refuse is tried
   again with its own allowances only. Firms named by `surrender_failure_share` surrender
   nothing.

A firm still short when its period ends, where the regime lets firms borrow (Korea: 10%
of the obligation), surrenders allowances of the next vintage for it as soon as they are
allocated, before the deadline (`borrow`). The year's average price of each registry's
allowance (volume-weighted; the last known price in a year without trades; the firms'
mean MAC at their abatement when the market never traded, said so in the report) goes to
the book for penalties that multiply it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from compliance.book import ComplianceBook, SurrenderRequest
from compliance.calendar import DeadlineKind
from compliance.gases import Gas
from compliance.mrv import EmissionsReport, sign_verification
from etslink.sessions.compliance import KG_PER_T, verifier_key
from etslink.sim.access import MarketAccess
from etslink.sim.agents.firm import FirmAgent
from etslink.sim.allocation import YearAllocation
from etslink.sim.record import FirmYear
from etslink.sim.valuation import foreign_share_max, year_end_abatement_t
from registry import RegistryError

VERIFIER_PREFIX = "verifier-"


@dataclass
class Borrowing:
    """What firms still owe at the end of a period, to be covered by borrowing."""

    owed: dict[str, tuple[int, int]]  # member → (period, t short)
    borrowed_t: dict[tuple[str, int], int]  # (registry, period) → t borrowed


def verifier_id(registry: str) -> str:
    return f"{VERIFIER_PREFIX}{registry}"


def settle_firm(
    access: MarketAccess,
    book: ComplianceBook,
    firm: FirmAgent,
    allocation: YearAllocation,
    seed: int,
    borrowing: Borrowing,
) -> FirmYear:
    """Close one firm's year (the module docstring's steps 1–4) and return its record."""
    plan = firm.plan
    assert plan is not None
    withdraw_from_custody(access, firm)
    true_up_t, true_up_note = true_up(book, firm.member, plan.year, allocation.true_up_t)
    held = firm.covered(firm.holdings_units(access))
    abated_t = year_end_abatement_t(
        firm.curve, plan.forecast_t, plan.need_t, held, plan.bank_minor, firm.penalty_minor
    )
    emissions_t = plan.forecast_t - abated_t
    report = EmissionsReport(firm.member, plan.year, {Gas.CO2: emissions_t * KG_PER_T})
    book.submit_report(report)
    verifier = verifier_id(firm.registry)
    key = verifier_key(f"{seed}", verifier)
    book.record_verification(sign_verification(key, verifier, report, book.regime))
    note = ""
    surrendered_t = 0
    if firm.fails_to_surrender:
        note = "does not surrender (surrender_failure_share)"
    else:
        surrendered_t, note = surrender(access, book, firm, emissions_t, borrowing)
    return FirmYear(
        firm.member,
        firm.registry,
        plan.year,
        plan.forecast_t,
        allocation.at_open_t + true_up_t,
        abated_t,
        firm.curve.total_cost(abated_t),
        emissions_t,
        surrendered_t,
        "; ".join(text for text in (true_up_note, note) if text),
        true_up_t,
    )


def withdraw_from_custody(access: MarketAccess, firm: FirmAgent) -> None:
    """Take back everything the firm still has in the exchange's custody (step 1)."""
    for listed in firm.books:
        if listed.sellable:
            access.withdraw_all(firm.member, listed.code)


def true_up(book: ComplianceBook, member: str, year: int, wanted_t: int) -> tuple[int, str]:
    """Apply `wanted_t` (+ allocates, − claws back) to `year`'s allocation; return (t, note).

    A claw-back takes at most the year's allowances the entity still holds (sold ones
    cannot be taken back); the note says what could not be recovered.
    """
    if wanted_t == 0:
        return 0, ""
    if wanted_t > 0:
        book.true_up(year, {member: wanted_t})
        return wanted_t, f"true-up +{wanted_t:,} t to actual output"
    unit_type = book.regime.allowance_unit_type
    held_t = book.registry.account(book.account_of(member)).holding.balance(unit_type, year)
    clawed_t = min(held_t, -wanted_t)
    if clawed_t:
        book.true_up(year, {member: -clawed_t})
    note = f"true-up claws back {clawed_t:,} t to actual output"
    if clawed_t < -wanted_t:
        note += f" ({-wanted_t - clawed_t:,} t of {year} already sold, not recovered)"
    return -clawed_t, note


def surrender_requests(
    access: MarketAccess, book: ComplianceBook, firm: FirmAgent, want_t: int
) -> list[SurrenderRequest]:
    """Return what covers `want_t` tonnes: home allowances, then foreign ones by value."""
    plan = firm.plan
    assert plan is not None
    home = firm.home_unit
    requests: list[SurrenderRequest] = []
    home_t = min(access.account_t(firm.registry, firm.account, home), want_t)
    if home_t > 0:
        requests.append(SurrenderRequest(home, home_t))
    left = Fraction(want_t - home_t)
    share = foreign_share_max(book.regime, plan.year)
    foreign_left = None if share is None else math.floor(share * want_t)
    values = sorted(
        {b.unit_type: b.value for b in firm.books if b.unit_type != home}.items(),
        key=lambda item: (-item[1], item[0]),
    )
    for unit_type, value in values:
        if left <= 0:
            break
        units = min(
            access.account_t(firm.registry, firm.account, unit_type), math.ceil(left / value)
        )
        if foreign_left is not None:
            units = min(units, foreign_left)
            foreign_left -= max(0, units)
        if units > 0:
            requests.append(SurrenderRequest(unit_type, units))
            left -= units * value
    return requests


def surrender(
    access: MarketAccess,
    book: ComplianceBook,
    firm: FirmAgent,
    emissions_t: int,
    borrowing: Borrowing,
) -> tuple[int, str]:
    """Surrender for the year; return the units surrendered and a note for the report."""
    plan = firm.plan
    assert plan is not None
    period = book.regime.calendar.period_of(plan.year)
    want_t = emissions_t + book.carried_t(firm.member)
    requests = surrender_requests(access, book, firm, want_t)
    if not requests:
        return 0, "held nothing to surrender"
    try:
        assessment = book.surrender(firm.member, period, requests)
    except RegistryError as error:
        home = [r for r in requests if r.unit_type == firm.home_unit]
        if not home or home == requests:
            return 0, f"surrender refused ({int(error.code)}): {error.message}"
        try:
            book.surrender(firm.member, period, home)
        except RegistryError as again:
            return 0, f"surrender refused ({int(again.code)}): {again.message}"
        short_t = want_t - home[0].quantity
        note_shortfall(book, firm, plan.year, short_t, borrowing)
        return home[0].quantity, f"foreign units refused ({int(error.code)}); home allowances only"
    covered_t = math.floor(assessment.value)
    note_shortfall(book, firm, plan.year, want_t - covered_t, borrowing)
    return sum(r.quantity for r in requests), ""


def note_shortfall(
    book: ComplianceBook, firm: FirmAgent, year: int, short_t: int, borrowing: Borrowing
) -> None:
    """Remember a shortfall at a period's last year where the regime lets firms borrow."""
    regime = book.regime
    period = regime.calendar.period_of(year)
    ends_now = regime.calendar.period_last_year(period) == year
    if short_t > 0 and regime.surrender.borrowing_share_max > 0 and ends_now:
        borrowing.owed[firm.member] = (period, short_t)


def borrow(
    access: MarketAccess,
    books: dict[str, ComplianceBook],
    firms: Sequence[FirmAgent],
    year: int,
    borrowing: Borrowing,
) -> None:
    """Cover last period's shortfalls with this year's allowances, as far as the rules let.

    A firm still short when its period ended surrenders allowances of the new vintage for
    it, before the deadline, up to `borrowing_share_max` of its obligation.
    """
    for firm in firms:
        owed = borrowing.owed.pop(firm.member, None)
        if owed is None:
            continue
        period, short_t = owed
        book = books[firm.registry]
        obligation_t = book.obligation_t(firm.member, period)
        if obligation_t is None or (DeadlineKind.SURRENDER_DUE, period) in book.schedule.fired:
            continue
        limit_t = math.floor(book.regime.surrender.borrowing_share_max * obligation_t)
        holding = access.account_vintage_t(firm.registry, firm.account, firm.home_unit, year)
        quantity_t = min(short_t, limit_t, holding)
        if quantity_t <= 0:
            continue
        try:
            book.surrender(
                firm.member, period, [SurrenderRequest(firm.home_unit, quantity_t, year)]
            )
        except RegistryError:
            continue  # the rules refused it: the shortfall stands, as at the deadline
        key = (firm.registry, period)
        borrowing.borrowed_t[key] = borrowing.borrowed_t.get(key, 0) + quantity_t


def average_price_minor(
    vwap_minor: Fraction | None, firms: Sequence[FirmAgent], years: Sequence[FirmYear]
) -> tuple[int, str]:
    """Return the year's average price for penalties, and where it came from.

    No trade ever: penalties that multiply the average price still need one; the firms'
    mean MAC at their abatement is what a market would have shown.
    """
    if vwap_minor is not None and vwap_minor >= 1:
        return math.floor(vwap_minor), "market"
    costs = []
    for firm, year in zip(firms, years, strict=True):
        limit = firm.curve.max_abatement_t
        if limit is not None and year.abatement_t > limit:
            costs.append(Fraction(firm.penalty_minor))
        else:
            mac = firm.curve.marginal_cost(max(0, year.abatement_t))
            costs.append(min(mac, Fraction(firm.penalty_minor)))
    price = sum(costs, Fraction(0)) / max(1, len(costs))
    return max(1, math.floor(price)), "mac proxy (no trade)"


__all__ = [
    "Borrowing",
    "average_price_minor",
    "borrow",
    "settle_firm",
    "surrender",
    "surrender_requests",
    "verifier_id",
]
