"""The teams' scoreboard: what each human participant ends a run with, and its rank.

One row per participant (a team) of the run's record, flat and JSON-ready, in rank order:

- **value** at the closing price: the team's cash in every currency plus its holdings of
  each listed book valued at that book's last settlement price (`SettlementRow`), all in
  the scenario's currency at its exchange rates. A book that never settled values at
  nothing; `unpriced` names it.
- **gain**: value minus what the team was given at the start (its cash and allowances)
  valued at the same prices — what its trading earned over simply holding.
- **compliance**: the obligation, surrendered tonnes, shortfall and penalties of the
  deadlines the team's id met as a covered entity; **costs**: its abatement cost as an
  entity, its auction spend and its trading spend (settled purchases less settled
  sales). A participant holds a trading account, not an obligation, and does not bid at
  auctions (the run asks firms and traders for bids): those figures are 0 for it, kept so
  that every team's row has the same columns.

Money comes twice, as `etslink.reports.figures` decides: `value` in major units (a JSON
number) and `value_minor`, the exact whole minor units; `currency` names both. Every row
has summary.json's `teams` keys (`etslink.reports.schema`), in that order; `etslink run`
prints them as a table.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from etslink.reports import figures
from etslink.reports.schema import TEAM_MONEY_FIELDS, summary_row
from etslink.scenario import CsvAgent, InteractiveAgent
from etslink.sim.record import RunRecord, settled

PARTICIPANT = "participant"  # `HolderEnd.kind` of a team


def closing_prices_minor(record: RunRecord) -> dict[str, int | None]:
    """Return each book's last settlement price over the run, None for one never settled."""
    prices: dict[str, int | None] = dict.fromkeys(record.books)
    for row in record.settlements:  # in session order: the last one with a price wins
        if row.settle_minor is not None:
            prices[row.instrument] = row.settle_minor
    return prices


def scoreboard_rows(record: RunRecord) -> list[dict[str, Any]]:
    """Return one flat row per team of `record`, best value first (ties share a rank)."""
    currency = record.scenario.currency
    prices = closing_prices_minor(record)
    rows = [
        _team_row(record, end.member, currency, prices)
        for end in record.holders
        if end.kind == PARTICIPANT
    ]
    rows.sort(key=lambda row: (-row["value_minor"], row["team"]))
    ranked: list[dict[str, Any]] = []
    for index, row in enumerate(rows):
        tied = bool(ranked) and ranked[-1]["value_minor"] == row["value_minor"]
        rank = ranked[-1]["rank"] if tied else index + 1
        ranked.append(summary_row("teams", rank=rank, **row))
    return ranked


def _team_row(
    record: RunRecord, team: str, currency: str, prices: Mapping[str, int | None]
) -> dict[str, Any]:
    """Return the row of one team, without its rank."""
    end = next(e for e in record.holders if e.member == team and e.kind == PARTICIPANT)
    cash = sum(
        (
            amount * record.scenario.fx.minor_factor(held_in, currency)
            for held_in, amount in end.cash_minor
        ),
        Fraction(0),
    )
    holdings = _worth(record, dict(end.holdings_t), prices, currency)
    start = _start_value(record, team, prices, currency)
    compliance, penalties = _compliance(record, team, currency)
    money = {
        "value": cash + holdings,
        "cash": cash,
        "holdings_value": holdings,
        "start_value": start,
        "gain": cash + holdings - start,
        "trading_spend": _trading_spend(record, team, currency),
        "auction_spend": Fraction(0),  # participants do not bid at auctions
        "abatement_cost": _abatement_cost(record, team, currency),
        "penalties": penalties,
    }
    row: dict[str, Any] = {
        "team": team,
        "registry": end.registry,
        "currency": currency,
        "left_early": end.left_early,
    }
    for name in TEAM_MONEY_FIELDS:
        row[name] = figures.major(money[name], currency)
        row[f"{name}_minor"] = figures.minor(money[name])
    row.update(trades=end.trades, bought_t=end.bought_t, sold_t=end.sold_t, **compliance)
    row["unpriced"] = ", ".join(b for b, t in end.holdings_t if t and prices.get(b) is None)
    row["valued_at"] = _valued_at(record, prices)
    return row


def _compliance(record: RunRecord, team: str, currency: str) -> tuple[dict[str, Any], Fraction]:
    """Return the team's deadlines as a covered entity (tonnes), and its fines in `currency`.

    A participant's id is never an entity's (the world refuses that), so a team has none.
    """
    fines = Fraction(0)
    obligation_t = shortfall_t = 0
    surrendered_t = Fraction(0)
    for code, outcomes in sorted(record.outcomes.items()):
        factor = record.scenario.fx.minor_factor(record.scenario.registry(code).currency, currency)
        for outcome in outcomes:
            if outcome.entity_id != team:
                continue
            obligation_t += outcome.obligation_t
            surrendered_t += outcome.surrendered_value
            shortfall_t += outcome.shortfall_t
            fines += outcome.penalty.fine_minor * factor
    tonnes = {
        "obligation_t": obligation_t,
        "surrendered_t": figures.number(surrendered_t),
        "shortfall_t": shortfall_t,
    }
    return tonnes, fines


def _abatement_cost(record: RunRecord, team: str, currency: str) -> Fraction:
    """Return what the team spent abating as a covered entity, in `currency`'s minor units."""
    return sum(
        (
            year.abatement_cost_minor
            * record.scenario.fx.minor_factor(
                record.scenario.registry(year.registry).currency, currency
            )
            for year in record.firm_years
            if year.entity_id == team
        ),
        Fraction(0),
    )


def _worth(
    record: RunRecord,
    held_t: Mapping[str, int],
    prices: Mapping[str, int | None],
    currency: str,
) -> Fraction:
    """Return tonnes held by book valued at the books' prices, in `currency`'s minor units."""
    total = Fraction(0)
    for book, quantity_t in held_t.items():
        price_minor = prices.get(book)
        if price_minor is None or quantity_t == 0:
            continue
        factor = record.scenario.fx.minor_factor(record.books[book].currency, currency)
        total += quantity_t * price_minor * factor
    return total


def _start_value(
    record: RunRecord, team: str, prices: Mapping[str, int | None], currency: str
) -> Fraction:
    """Return what the team was given (cash and first-year allowances) at today's prices."""
    scenario = record.scenario
    agent = next(
        a
        for a in scenario.agents
        if isinstance(a, CsvAgent | InteractiveAgent) and a.participant == team
    )
    item = scenario.registry(agent.registry)
    cash = agent.cash_minor * scenario.fx.minor_factor(item.currency, currency)
    unit_type = item.regime.allowance_unit_type
    home = [
        code
        for code, book in sorted(record.books.items())
        if book.unit_type == unit_type and book.registry == agent.registry
    ]
    given = {home[0]: agent.allowances_t} if home else {}
    return cash + _worth(record, given, prices, currency)


def _trading_spend(record: RunRecord, team: str, currency: str) -> Fraction:
    """Return the team's settled purchases less its settled sales, in `currency`."""
    spend = Fraction(0)
    for trade in record.trades:
        if team not in (trade.buyer, trade.seller) or not settled(trade):
            continue
        notional = trade.price_minor * trade.quantity_t
        factor = record.scenario.fx.minor_factor(record.currency_of(trade.instrument), currency)
        sign = 1 if trade.buyer == team else -1
        if trade.buyer == trade.seller:
            sign = 0  # a team meeting its own order pays itself
        spend += sign * notional * factor
    return spend


def _valued_at(record: RunRecord, prices: Mapping[str, int | None]) -> str:
    """Return the prices the values use, for people: "CHU CHF 31.20, EUA EUR 28.97"."""
    return ", ".join(
        f"{book} {figures.money(price, record.currency_of(book))}"
        if price is not None
        else f"{book} no price"
        for book, price in sorted(prices.items())
    )


__all__ = ["closing_prices_minor", "scoreboard_rows"]
