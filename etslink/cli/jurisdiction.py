"""`etslink jurisdictions`: the presets and their key parameters."""

from __future__ import annotations

# ---------------------------------------------------------------- jurisdictions
# Kept as one section (imports included) so the rest of the CLI is untouched.
from decimal import Decimal
from fractions import Fraction

import click
from rich.table import Table

from compliance.calendar import DeadlineKind, DeadlineRule
from compliance.gases import Gas
from compliance.presets import CURRENCY_MINOR_DIGITS, list_presets, load_preset
from compliance.regime import AuctionReserve, PenaltyKind, QuantitativeLimit, Regime
from etslink.cli.support import (
    console,
    guarded,
)

_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


@click.group("jurisdictions", invoke_without_command=True)
@click.pass_context
def jurisdictions(context: click.Context) -> None:
    """List the jurisdiction presets (fixtures/jurisdictions/) and their key rules."""
    if context.invoked_subcommand is not None:
        return
    with guarded():
        regimes = [load_preset(key) for key in list_presets()]
    table = Table(title="Jurisdiction presets", title_justify="left")
    table.add_column("key", no_wrap=True)
    for column in ("system", "registry", "cap", "gases", "coverage threshold", "offset limits"):
        table.add_column(column, overflow="fold")
    for column in ("penalty", "surrender deadline"):
        table.add_column(column, overflow="fold")
    table.add_column("[U]", justify="right")
    for regime in regimes:
        table.add_row(
            regime.key,
            regime.name,
            regime.registry_code,
            regime.cap_type.value,
            _gas_families(regime),
            _thresholds(regime),
            "; ".join(_limit_brief(limit) for limit in regime.surrender.limits) or "—",
            _penalty_text(regime),
            _deadlines_brief(_rules(regime, DeadlineKind.SURRENDER_DUE)),
            str(len(regime.unverified)),
        )
    console.print(table)
    console.print(
        "[U]: values nobody has confirmed, kept as configurable defaults; "
        "'etslink jurisdictions show KEY' lists them.",
        highlight=False,
    )


@jurisdictions.command("show")
@click.argument("key")
def jurisdictions_show(key: str) -> None:
    """Show preset KEY in full, including its unverified values."""
    with guarded():
        regime = load_preset(key)
    console.rule(f"[bold]{regime.name}[/] ({regime.key}, registry {regime.registry_code})")
    print_fields(
        "Regime",
        [
            ("currency", f"{regime.currency} ({_minor_unit_text(regime.currency)})"),
            ("cap type", regime.cap_type.value),
            ("GWP set", regime.gwp_set),
            (
                "gases",
                ", ".join(gas.value for gas in sorted(regime.coverage.gases, key=list(Gas).index)),
            ),
            ("indirect emissions", yes_text(regime.coverage.indirect_emissions)),
            ("coverage threshold", _thresholds(regime)),
        ],
    )
    _print_calendar(regime)
    _print_allocation(regime)
    _print_surrender(regime)
    print_fields("Trading: business days and auctions", _trading_fields(regime))
    print_fields("Penalty, estimate, stability", _consequence_fields(regime))
    listing = "\n".join(f"  • {path}" for path in regime.unverified) or "  none"
    console.print(
        f"[bold]Unverified values ({len(regime.unverified)})[/]\n{listing}", highlight=False
    )
    if regime.notes:
        console.print(f"[bold]Notes[/]\n{regime.notes}", highlight=False)


def print_fields(title: str, rows: list[tuple[str, str]]) -> None:
    table = Table(title=title, title_justify="left", show_header=False)
    table.add_column("field", style="bold", no_wrap=True)
    table.add_column("value", overflow="fold")
    for name, value in rows:
        table.add_row(name, value)
    console.print(table)


def _print_calendar(regime: Regime) -> None:
    calendar = regime.calendar
    last = f" to {calendar.last_year}" if calendar.last_year else ""
    table = Table(
        title=f"Calendar: {calendar.period_years}-year periods from {calendar.first_year}{last}",
        title_justify="left",
    )
    for column in ("deadline", "rule", "periods", "example (UTC)"):
        table.add_column(column, overflow="fold")
    for rule in sorted(calendar.rules, key=lambda rule: (rule.kind, rule.first_period)):
        table.add_row(
            rule.kind.name.lower(),
            _deadline_text(rule),
            _years_text(rule.first_period, rule.last_period),
            _example_text(regime, rule),
        )
    console.print(table)
    if calendar.phases:
        phases = ", ".join(f"{p.name} {p.first_year}–{p.last_year}" for p in calendar.phases)
        console.print(f"phases: {phases}", highlight=False)


def _print_allocation(regime: Regime) -> None:
    table = Table(title="Allocation", title_justify="left")
    for column in ("years", "category", "method", "ratios"):
        table.add_column(column, overflow="fold")
    for rule in regime.allocation:
        ratios = [
            f"{name} {percent_text(value)}"
            for name, value, default in (
                ("grandparenting factor", rule.grandparenting_factor, Fraction(1)),
                ("pre-allocation", rule.preallocation_share, Fraction(0)),
                ("compliance factor", rule.compliance_factor, Fraction(0)),
                ("auctioned", rule.auction_share, Fraction(0)),
                ("new-entrant reserve", rule.new_entrant_reserve_share, Fraction(0)),
            )
            if value != default
        ]
        table.add_row(
            _years_text(rule.first_year, rule.last_year),
            rule.category or "all",
            rule.method.value,
            ", ".join(ratios) or "—",
        )
    console.print(table)


def _print_surrender(regime: Regime) -> None:
    rules = regime.surrender
    print_fields(
        "Surrender",
        [
            ("eligible unit types", ", ".join(sorted(rules.eligible_unit_types))),
            ("foreign units via links", yes_text(rules.foreign_units_via_links)),
            ("ineligible origins", ", ".join(sorted(rules.ineligible_origins)) or "—"),
            ("banking", yes_text(rules.banking)),
            ("banking across phases", yes_text(rules.banking_across_phases)),
            ("borrowing", percent_text(rules.borrowing_share_max) + " of the obligation at most"),
            ("limits", "; ".join(_limit_text(limit) for limit in rules.limits) or "—"),
        ],
    )


def _trading_fields(regime: Regime) -> list[tuple[str, str]]:
    """Return the `[trading]` table's rows: whose holidays it keeps, when it auctions."""
    trading = regime.trading
    holidays = (
        f"{trading.holidays}: weekdays less its public holidays (holidays library)"
        if trading.holidays
        else "none: every weekday is a business day"
    )
    rows = [("holiday calendar", holidays)]
    if trading.auction_months:
        months = ", ".join(_MONTHS[month - 1] for month in trading.auction_months)
        most = len(trading.auction_months) * trading.auctions_per_month
        rows += [
            ("auction months", months),
            ("auctions a month", f"at most {trading.auctions_per_month}"),
            ("auctions a year", f"at most {most} (never more than the sessions run)"),
        ]
    else:
        rows.append(("auction calendar", "none: auctions may fall on any session"))
    return rows


def _auction_reserve_text(regime: Regime) -> str:
    stability = regime.stability
    if stability.auction_reserve is AuctionReserve.RECENT_MARKET:
        return (
            "from recent market prices: (mean of the last 3 months + of the last month "
            "+ of the last 3 days with a price) / 3"
        )
    if stability.price_floor_minor is not None:
        return "the price floor for the year"
    return "none"


def _consequence_fields(regime: Regime) -> list[tuple[str, str]]:
    estimate = regime.estimate
    stability = regime.stability
    rows = [
        ("penalty", _penalty_text(regime)),
        (
            "missing report",
            f"{estimate.rule.value} ({estimate.years} years, "
            f"uplift {percent_text(estimate.uplift)})",
        ),
    ]
    if stability.price_floor_minor is not None:
        rows.append(
            (
                "price floor",
                _price_path(
                    regime,
                    stability.price_floor_minor,
                    stability.base_year,
                    stability.price_floor_escalation,
                ),
            )
        )
    if stability.price_ceiling_minor is not None:
        rows.append(
            (
                "price ceiling",
                _price_path(
                    regime,
                    stability.price_ceiling_minor,
                    stability.price_ceiling_base_year or stability.base_year,
                    stability.price_ceiling_escalation,
                ),
            )
        )
    if stability.trigger_months is not None and stability.trigger_multiple is not None:
        rows.append(
            (
                "stabilisation trigger",
                f"price {stability.trigger_months} consecutive months ≥ "
                f"{_times(stability.trigger_multiple)} the average of the previous "
                f"{stability.trigger_lookback_years} years; reserve release ≤ "
                f"{percent_text(stability.reserve_release_share_max)}",
            )
        )
    rows.append(("auction reserve", _auction_reserve_text(regime)))
    discount = stability.auction_cancellation_discount
    if discount is not None:
        rows.append(
            (
                "auction cancellation",
                f"clearing price below {percent_text(1 - discount)} of the secondary "
                "market's price (Reg. 1031/2010 Art. 7(6)); its volume goes to later auctions",
            )
        )
    return rows


def _price_path(regime: Regime, price_minor: int, base_year: int | None, rise: Fraction) -> str:
    text = f"{money_text(price_minor, regime.currency)}/t"
    if base_year is not None:
        text += f" in {base_year}"
    if rise:
        text += f", +{percent_text(rise)} a year"
    return text


def _rules(regime: Regime, kind: DeadlineKind) -> list[DeadlineRule]:
    return sorted(
        (rule for rule in regime.calendar.rules if rule.kind is kind),
        key=lambda rule: rule.first_period,
    )


def _deadline_text(rule: DeadlineRule) -> str:
    after = {0: "same year", 1: "year after"}.get(
        rule.years_after, f"{rule.years_after} years after"
    )
    when = f"{rule.day} {_MONTHS[rule.month - 1]} {rule.hour:02d}:{rule.minute:02d}"
    return f"{when} {rule.timezone}, {after}"


def _deadlines_brief(rules: list[DeadlineRule]) -> str:
    """Return e.g. '30 Apr (to 2022), 30 Sep (from 2023) 23:59 Europe/Brussels, year after'."""
    if not rules:
        return "—"
    whens: list[tuple[str, str]] = []
    for rule in rules:
        when = f"{rule.day} {_MONTHS[rule.month - 1]}"
        if whens and whens[-1][0] == when:
            continue  # the same day again (a rule carried forward): show it once
        whens.append((when, _years_text(rule.first_period, rule.last_period)))
    if len(whens) == 1:
        days = whens[0][0]
    else:
        days = ", ".join(f"{when} ({years})" for when, years in whens)
    last = rules[-1]
    after = {0: "same year", 1: "year after"}.get(last.years_after, f"+{last.years_after} years")
    return f"{days} {last.hour:02d}:{last.minute:02d} {last.timezone}, {after}"


def _limit_brief(limit: QuantitativeLimit) -> str:
    """Return e.g. '8% (2013–2020)' or 'international 5% (2018–2020)' for the list."""
    origin = "" if limit.origin.value == "any" else f"{limit.origin.value} "
    kinds = {kind.value for kind in limit.unit_kinds}
    what = "" if kinds == {"offset_credit"} else "all units "
    years = _years_text(limit.first_year, limit.last_year)
    return f"{origin}{what}{percent_text(limit.share)} ({years})"


def _example_text(regime: Regime, rule: DeadlineRule) -> str:
    """Return the first moment the rule gives, in UTC, e.g. '2013: 2014-11-02 00:00'."""
    calendar = regime.calendar
    period = calendar.period_of(max(rule.first_period, calendar.first_year))
    if period < rule.first_period:
        period += calendar.period_years
    if not rule.applies(period):
        return "—"
    moment = rule.moment(calendar.period_last_year(period))
    return f"period {period}: {moment:%Y-%m-%d %H:%M}"


def _years_text(first: int, last: int) -> str:
    if first <= 0 and last >= 9999:
        return "all"
    if first <= 0:
        return f"to {last}"
    if last >= 9999:
        return f"from {first}"
    return f"{first}–{last}" if first != last else str(first)


def _gas_families(regime: Regime) -> str:
    families: list[str] = []
    for gas in Gas:
        if gas in regime.coverage.gases and gas.family not in families:
            families.append(gas.family)
    return ", ".join(families)


def _thresholds(regime: Regime) -> str:
    coverage = regime.coverage
    sign = ">" if coverage.strict else "≥"
    parts = [
        f"{label} {sign} {value:,} {unit}"
        for label, value, unit in (
            ("entity", coverage.entity_threshold_t, "t"),
            ("installation", coverage.installation_threshold_t, "t"),
            ("energy", coverage.energy_threshold_kl_coe, "kL COE"),
        )
        if value is not None
    ]
    return "; ".join(parts) or "by activity"


def _limit_text(limit: QuantitativeLimit) -> str:
    origin = "" if limit.origin.value == "any" else f" {limit.origin.value}"
    kinds = "/".join(sorted(kind.value.replace("_", " ") for kind in limit.unit_kinds))
    years = _years_text(limit.first_year, limit.last_year)
    return f"{limit.name}: {percent_text(limit.share)}{origin} {kinds} ({years})"


def _penalty_text(regime: Regime) -> str:
    penalty = regime.penalty
    if penalty.kind is PenaltyKind.FIXED_PER_TONNE:
        text = f"{money_text(penalty.fixed_per_t_minor, regime.currency)}/t"
    elif penalty.kind is PenaltyKind.MARKET_PRICE_MULTIPLE:
        text = f"{_times(penalty.price_multiple)} {penalty.price_window_months}-month avg price"
        if penalty.cap_per_t_minor is not None:
            text += f", at most {money_text(penalty.cap_per_t_minor, regime.currency)}/t"
    elif penalty.kind is PenaltyKind.ADDED_OBLIGATION:
        text = f"surrender {_times(penalty.obligation_multiple)} the shortfall"
        if penalty.allowance_share_min:
            text += f", ≥ {percent_text(penalty.allowance_share_min)} allowances"
    else:
        text = "none"
    return text + (" + make good" if penalty.make_good else "")


def money_text(minor: int, currency: str) -> str:
    digits = CURRENCY_MINOR_DIGITS[currency]
    if digits == 0:
        return f"{currency} {minor:,}"
    major, rest = divmod(minor, 10**digits)
    return f"{currency} {major:,}.{rest:0{digits}d}"


def _minor_unit_text(currency: str) -> str:
    digits = CURRENCY_MINOR_DIGITS[currency]
    return "whole units" if digits == 0 else f"minor units of 1/{10**digits}"


def percent_text(share: Fraction) -> str:
    return f"{_decimal(share * 100)}%"


def _times(multiple: Fraction) -> str:
    return f"{_decimal(multiple)}×"


def _decimal(value: Fraction) -> str:
    """Return an exact decimal for `value` when it has one (up to 4 places), else the ratio."""
    text = Decimal(value.numerator) / Decimal(value.denominator)
    rounded = text.quantize(Decimal("0.0001"))
    if Fraction(rounded) != value:
        return str(value)
    return f"{rounded.normalize():f}"


def yes_text(flag: bool) -> str:
    return "yes" if flag else "no"
