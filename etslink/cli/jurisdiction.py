"""`etslink jurisdictions`: the presets and their key parameters.

`etslink jurisdictions` lists every preset; `etslink jurisdictions show KEY`
shows one in full. Both print tables that fit the terminal, or with `--json`
(and `--csv`) every field for tools: money as `…_minor` integers, major-unit
numbers and the currency; shares and multiples as numbers.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any

import click
from rich.console import Console

from compliance.calendar import DeadlineKind, DeadlineRule
from compliance.gases import Gas
from compliance.presets import list_presets, load_preset
from compliance.regime import AuctionReserve, PenaltyKind, QuantitativeLimit, Regime
from etslink.cli.output import Column, Report, Section, emit, format_options
from etslink.cli.support import guarded
from etslink.reports.figures import major, minor_digits, money, number

_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
_FIELD_COLUMNS = [Column("field", "field", "id"), Column("value", "value")]
_U_NOTE = (
    "[U]: values nobody has confirmed, kept as configurable defaults; "
    "'etslink jurisdictions show KEY' lists them."
)


@click.group("jurisdictions", invoke_without_command=True)
@format_options()
@click.pass_context
def jurisdictions(context: click.Context, fmt: str | None) -> None:
    """List the jurisdiction presets (fixtures/jurisdictions/) and their key rules."""
    if context.invoked_subcommand is not None:
        if fmt:
            raise click.UsageError(
                f"--{fmt} goes after the subcommand: 'etslink jurisdictions "
                f"{context.invoked_subcommand} KEY --{fmt}'"
            )
        return
    with guarded():
        regimes = [load_preset(key) for key in list_presets()]
    columns = [
        Column("key", "key", "id"),
        Column("name", "system", drop=1),
        Column("registry_code", "registry", "id", drop=2),
        Column("cap_type", "cap", "id"),
        Column("gases_text", "gases", drop=3),
        Column("coverage_threshold", "threshold", drop=4),
        Column("offset_limits", "offsets", drop=6),
        Column("penalty", "penalty", drop=7),
        Column("surrender_deadline", "surrender", drop=5),
        Column("unverified", "[U]", "number"),
    ]
    rows = [_preset_row(regime) for regime in regimes]
    section = Section(
        "presets", rows, columns, title=f"Jurisdiction presets ({len(rows)})", notes=[_U_NOTE]
    )
    emit(Report("jurisdictions", [section]), fmt)


def _preset_row(regime: Regime) -> dict[str, Any]:
    """Return one preset's key rules: figures for tools, texts for the table."""
    coverage = regime.coverage
    return {
        "key": regime.key,
        "name": regime.name,
        "registry_code": regime.registry_code,
        "currency": regime.currency,
        "cap_type": regime.cap_type.value,
        "gwp_set": regime.gwp_set,
        "gas_families": _gas_families(regime),
        "gases_text": ", ".join(_gas_families(regime)),
        "gases": [gas.value for gas in sorted(coverage.gases, key=list(Gas).index)],
        "indirect_emissions": coverage.indirect_emissions,
        "entity_threshold_t": coverage.entity_threshold_t,
        "installation_threshold_t": coverage.installation_threshold_t,
        "energy_threshold_kl_coe": coverage.energy_threshold_kl_coe,
        "threshold_strict": coverage.strict,
        "coverage_threshold": _thresholds(regime),
        "offset_limits": "; ".join(_limit_brief(limit) for limit in regime.surrender.limits) or "—",
        "penalty": _penalty_text(regime),
        **_penalty_figures(regime),
        "surrender_deadline": _deadlines_brief(_rules(regime, DeadlineKind.SURRENDER_DUE)),
        "unverified": len(regime.unverified),
    }


@jurisdictions.command("show")
@click.argument("key")
@format_options()
def jurisdictions_show(key: str, fmt: str | None) -> None:
    """Show preset KEY in full, including its unverified values.

    `--json` prints every rule with its figures; `--csv` the field/value rows.
    """
    with guarded():
        regime = load_preset(key)
    sections = _show_sections(regime)
    if fmt:
        fields = [
            {"group": section.title, **row}
            for section in sections
            if section.columns is _FIELD_COLUMNS
            for row in section.rows
        ]
        tables = [section for section in sections if section.columns is not _FIELD_COLUMNS]
        report = Report(
            "jurisdictions.show",
            [*tables, Section("fields", fields, _FIELD_COLUMNS)],
            _preset_data(regime),
            csv_section="fields",
        )
        emit(report, fmt)
        return
    screen = Console(highlight=False)  # measured now: the width the tables are fitted to
    screen.rule(f"[bold]{regime.name}[/] ({regime.key}, registry {regime.registry_code})")
    emit(Report("jurisdictions.show", sections), None, screen)
    screen.print()
    listing = "\n".join(f"  • {path}" for path in regime.unverified) or "  none"
    screen.print(f"[bold]Unverified values ({len(regime.unverified)})[/]\n{listing}")
    if regime.notes:
        screen.print("[bold]Notes[/]")
        screen.print(regime.notes, markup=False)


def _show_sections(regime: Regime) -> list[Section]:
    regime_fields = [
        ("currency", f"{regime.currency} ({_minor_unit_text(regime.currency)})"),
        ("cap type", regime.cap_type.value),
        ("GWP set", regime.gwp_set),
        (
            "gases",
            ", ".join(gas.value for gas in sorted(regime.coverage.gases, key=list(Gas).index)),
        ),
        ("indirect emissions", yes_text(regime.coverage.indirect_emissions)),
        ("coverage threshold", _thresholds(regime)),
    ]
    return [
        _fields("regime", "Regime", regime_fields),
        _calendar_section(regime),
        _allocation_section(regime),
        _limits_section(regime),
        _fields("surrender", "Surrender", _surrender_fields(regime)),
        _fields("trading", "Trading: business days and auctions", _trading_fields(regime)),
        _fields("consequences", "Penalty, estimate, stability", _consequence_fields(regime)),
    ]


def _fields(name: str, title: str, rows: list[tuple[str, str]]) -> Section:
    """Return a two-column section of named values."""
    return Section(
        name, [{"field": field, "value": value} for field, value in rows], _FIELD_COLUMNS, title
    )


def _calendar_section(regime: Regime) -> Section:
    calendar = regime.calendar
    last = f" to {calendar.last_year}" if calendar.last_year else ""
    rows = [
        {
            "deadline": rule.kind.name.lower(),
            "rule": _deadline_text(rule),
            "years_after": rule.years_after,
            "month": rule.month,
            "day": rule.day,
            "hour": rule.hour,
            "minute": rule.minute,
            "timezone": rule.timezone,
            "first_period": rule.first_period,
            "last_period": rule.last_period,
            "periods": _years_text(rule.first_period, rule.last_period),
            "example_utc": _example_text(regime, rule),
        }
        for rule in sorted(calendar.rules, key=lambda rule: (rule.kind, rule.first_period))
    ]
    columns = [
        Column("deadline", "deadline", "id"),
        Column("rule", "rule"),
        Column("periods", "periods", drop=2),
        Column("example_utc", "example (UTC)", drop=1),
    ]
    notes = []
    if calendar.phases:
        phases = ", ".join(f"{p.name} {p.first_year}–{p.last_year}" for p in calendar.phases)
        notes.append(f"phases: {phases}")
    title = f"Calendar: {calendar.period_years}-year periods from {calendar.first_year}{last}"
    return Section("deadlines", rows, columns, title, notes)


def _allocation_section(regime: Regime) -> Section:
    rows = []
    for rule in regime.allocation:
        ratios = [
            (name, key, value)
            for name, key, value, default in (
                ("grandparenting factor", "grandparenting_factor", rule.grandparenting_factor, 1),
                ("pre-allocation", "preallocation_share", rule.preallocation_share, 0),
                ("compliance factor", "compliance_factor", rule.compliance_factor, 0),
                ("auctioned", "auction_share", rule.auction_share, 0),
                (
                    "new-entrant reserve",
                    "new_entrant_reserve_share",
                    rule.new_entrant_reserve_share,
                    0,
                ),
            )
            if value != default
        ]
        rows.append(
            {
                "first_year": rule.first_year,
                "last_year": rule.last_year,
                "years": _years_text(rule.first_year, rule.last_year),
                "category": rule.category or "all",
                "method": rule.method.value,
                **{key: number(value) for _, key, value in ratios},
                "ratios": ", ".join(f"{name} {percent_text(value)}" for name, _, value in ratios)
                or "—",
            }
        )
    columns = [
        Column("years", "years", "id"),
        Column("category", "category", drop=1),
        Column("method", "method"),
        Column("ratios", "ratios"),
    ]
    return Section("allocation", rows, columns, "Allocation")


def _limits_section(regime: Regime) -> Section:
    rows = [
        {
            "name": limit.name,
            "share": number(limit.share),
            "share_text": percent_text(limit.share),
            "origin": limit.origin.value,
            "unit_kinds": sorted(kind.value for kind in limit.unit_kinds),
            "first_year": limit.first_year,
            "last_year": limit.last_year,
            "years": _years_text(limit.first_year, limit.last_year),
        }
        for limit in regime.surrender.limits
    ]
    columns = [
        Column("name", "limit", "id"),
        Column("share_text", "share", "number"),
        Column("origin", "origin", drop=2),
        Column(
            "unit_kinds", "units", show=lambda kinds: ", ".join(kinds).replace("_", " "), drop=1
        ),
        Column("years", "years", "id"),
    ]
    return Section("limits", rows, columns, "Surrender limits", empty="none")


def _surrender_fields(regime: Regime) -> list[tuple[str, str]]:
    rules = regime.surrender
    return [
        ("eligible unit types", ", ".join(sorted(rules.eligible_unit_types))),
        ("foreign units via links", yes_text(rules.foreign_units_via_links)),
        ("ineligible origins", ", ".join(sorted(rules.ineligible_origins)) or "—"),
        ("banking", yes_text(rules.banking)),
        ("banking across phases", yes_text(rules.banking_across_phases)),
        ("borrowing", percent_text(rules.borrowing_share_max) + " of the obligation at most"),
    ]


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
    text = f"{money(price_minor, regime.currency)}/t"
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


def _gas_families(regime: Regime) -> list[str]:
    families: list[str] = []
    for gas in Gas:
        if gas in regime.coverage.gases and gas.family not in families:
            families.append(gas.family)
    return families


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
        text = f"{money(penalty.fixed_per_t_minor, regime.currency)}/t"
    elif penalty.kind is PenaltyKind.MARKET_PRICE_MULTIPLE:
        text = f"{_times(penalty.price_multiple)} {penalty.price_window_months}-month avg price"
        if penalty.cap_per_t_minor is not None:
            text += f", at most {money(penalty.cap_per_t_minor, regime.currency)}/t"
    elif penalty.kind is PenaltyKind.ADDED_OBLIGATION:
        text = f"surrender {_times(penalty.obligation_multiple)} the shortfall"
        if penalty.allowance_share_min:
            text += f", ≥ {percent_text(penalty.allowance_share_min)} allowances"
    else:
        text = "none"
    return text + (" + make good" if penalty.make_good else "")


def _minor_unit_text(currency: str) -> str:
    digits = minor_digits(currency)
    return "whole units" if digits == 0 else f"minor units of 1/{10**digits}"


def _penalty_figures(regime: Regime) -> dict[str, Any]:
    """Return the penalty's figures for tools: money in minor and major units."""
    penalty = regime.penalty
    currency = regime.currency
    fixed = penalty.fixed_per_t_minor if penalty.kind is PenaltyKind.FIXED_PER_TONNE else None
    return {
        "penalty_kind": penalty.kind.value,
        "penalty_make_good": penalty.make_good,
        "penalty_fixed_per_t_minor": fixed,
        "penalty_fixed_per_t": major(fixed, currency),
        "penalty_price_multiple": number(penalty.price_multiple) or None,
        "penalty_price_window_months": penalty.price_window_months,
        "penalty_cap_per_t_minor": penalty.cap_per_t_minor,
        "penalty_cap_per_t": major(penalty.cap_per_t_minor, currency),
        "penalty_obligation_multiple": number(penalty.obligation_multiple) or None,
        "penalty_allowance_share_min": number(penalty.allowance_share_min),
    }


def _preset_data(regime: Regime) -> dict[str, Any]:
    """Return the preset's rules that are not tables, for `show --json`."""
    rules = regime.surrender
    stability = regime.stability
    estimate = regime.estimate
    currency = regime.currency
    row = _preset_row(regime)
    del row["gases_text"]
    return {
        **row,
        "currency_minor_digits": minor_digits(currency),
        "calendar": {
            "period_years": regime.calendar.period_years,
            "first_year": regime.calendar.first_year,
            "last_year": regime.calendar.last_year,
            "phases": [
                {"name": p.name, "first_year": p.first_year, "last_year": p.last_year}
                for p in regime.calendar.phases
            ],
        },
        "surrender": {
            "eligible_unit_types": sorted(rules.eligible_unit_types),
            "foreign_units_via_links": rules.foreign_units_via_links,
            "ineligible_origins": sorted(rules.ineligible_origins),
            "banking": rules.banking,
            "banking_across_phases": rules.banking_across_phases,
            "borrowing_share_max": number(rules.borrowing_share_max),
        },
        "estimate": {
            "rule": estimate.rule.value,
            "years": estimate.years,
            "uplift": number(estimate.uplift),
            "fallback_t": estimate.fallback_t,
        },
        "stability": {
            "price_floor_minor": stability.price_floor_minor,
            "price_floor": major(stability.price_floor_minor, currency),
            "price_floor_escalation": number(stability.price_floor_escalation),
            "price_ceiling_minor": stability.price_ceiling_minor,
            "price_ceiling": major(stability.price_ceiling_minor, currency),
            "price_ceiling_escalation": number(stability.price_ceiling_escalation),
            "base_year": stability.base_year,
            "price_ceiling_base_year": stability.price_ceiling_base_year,
            "trigger_months": stability.trigger_months,
            "trigger_multiple": number(stability.trigger_multiple),
            "trigger_lookback_years": stability.trigger_lookback_years,
            "reserve_release_share_max": number(stability.reserve_release_share_max),
            "auction_reserve": stability.auction_reserve.value,
            "auction_cancellation_discount": number(stability.auction_cancellation_discount),
        },
        "trading": {
            "holidays": regime.trading.holidays or None,
            "auction_months": list(regime.trading.auction_months),
            "auctions_per_month": regime.trading.auctions_per_month,
        },
        "unverified_paths": list(regime.unverified),
        "notes": regime.notes,
    }


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
