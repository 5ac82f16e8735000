"""`etslink compliance …`: compliance sessions, status and an entity's position.

Each command shows tables that fit the terminal, or `--json` / `--csv` for tools
(`etslink.cli.output`). Money is shown in major units with its currency
(`etslink.reports.figures`); JSON rows carry it as `…_minor` integers beside
major-unit numbers and a `currency` field.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from compliance.book import ComplianceBook, compliance_stream, founding_regime_key
from compliance.calendar import DeadlineKind
from compliance.events import PeriodOutcome
from compliance.gases import Gas
from compliance.presets import load_preset
from etslink.cli.output import (
    HASH_SHOWN_CHARS,
    Column,
    Report,
    Section,
    emit,
    format_options,
    print_titled,
)
from etslink.cli.support import (
    EXIT_REFUSED,
    db_option,
    default_key_path,
    existing_engine,
    fail,
    guarded,
    load_key,
    open_registry,
    pick_registry,
    prepare_store,
    start_hint,
)
from etslink.reports import figures
from etslink.reports.numbers import exact
from etslink.sessions.compliance import (
    Advance,
    Allocate,
    ComplianceSession,
    IssueOffsets,
    ReportEmissions,
    SessionRun,
    SetPrice,
    Step,
    StepOutcome,
    SurrenderUnits,
    Transfer,
    Verify,
    limit_rooms,
    load_compliance_session,
    open_periods,
    period_emissions,
    positions,
    run_session,
    verify_book_journal,
)
from registry import SigningKey, StoreError, make_engine, verify_journal
from registry.clock import format_time, parse_time
from registry.config_reader import YEAR_MAX, YEAR_MIN
from registry.journal import last_sim_time, list_streams

COMPLIANCE_START = "etslink compliance session fixtures/compliance/korea-2015.toml"
_ALLOCATIONS_SHOWN_MAX = 6
_UNVERIFIED = "unverified"


@click.group("compliance")
def compliance() -> None:
    """Run a compliance cycle on a registry: entities, MRV, surrender, deadlines, penalties."""


def _console() -> Console:
    # Made per command, so the width is the terminal's (or COLUMNS) when it runs.
    return Console(highlight=False)


def _minutes(moment: datetime | None) -> str:
    return "-" if moment is None else f"{moment:%Y-%m-%d %H:%M}"


# ---------------------------------------------------------------- session


@compliance.command("session")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@db_option
@click.option(
    "--replace", is_flag=True, help="Delete an existing SQLite store (and its key) first."
)
@format_options()
def compliance_session_command(
    file: Path, db: str, code: str | None, key_path: Path | None, replace: bool, fmt: str | None
) -> None:
    """Create a registry and its compliance book from FILE and run its steps.

    The whole session is rehearsed in memory first: a step that does not go
    as written (an unexpected refusal or acceptance) stores nothing. `--csv`
    writes the steps.
    """
    with guarded():
        session = load_compliance_session(file)
        if code is not None and code != session.code:
            raise StoreError(f"{file} runs registry {session.code}, not {code}")
        rehearsal = run_session(session, "sqlite://", SigningKey.generate())
        failed = rehearsal.failed
        if failed is not None:
            emit(Report("compliance-session", [_steps_section(session, rehearsal)]), fmt)
            fail(
                EXIT_REFUSED,
                f"{file}: steps[{failed.step.index}] ({failed.step.op}) did not go as written; "
                "nothing was stored",
            )
        key_file = default_key_path(db, session.code, key_path)
        prepare_store(db, session.code, key_file, replace)
        key = SigningKey.generate()
        key.save(key_file)
        store = make_engine(db)
        run = run_session(session, store, key)
        if [o.verdict for o in run.outcomes] != [o.verdict for o in rehearsal.outcomes]:
            raise StoreError(
                f"the run on {db} went otherwise than its rehearsal, which is a bug; "
                f"the store is incomplete: delete it and {key_file}"
            )
        run.registry.snapshot()
        run.registry.check_conservation()
        report = _session_report(session, run, file, db, key_file, key, fmt == "json")
        if fmt is None:
            _print_session(session, file, report)
        else:
            emit(report, fmt)
        run.registry.close()


def _session_report(
    session: ComplianceSession,
    run: SessionRun,
    file: Path,
    db: str,
    key_file: Path,
    key: SigningKey,
    with_exact: bool,
) -> Report:
    """Verify both journals of the stored run; return its steps, status and penalties."""
    store = run.registry.journal.engine
    registry_seq, registry_head = verify_journal(store, session.code, key.verify_key)
    book_seq, book_head = verify_book_journal(store, session.code, key.verify_key)
    status = _status_report(run.book, with_exact)
    return Report(
        "compliance-session",
        [_steps_section(session, run), *status.sections],
        {
            **status.extra,
            "file": str(file),
            "store": db,
            "key_file": str(key_file),
            "key_fingerprint": key.fingerprint,
            "journals": {
                session.code: {"events": registry_seq, "head": registry_head},
                compliance_stream(session.code): {"events": book_seq, "head": book_head},
            },
            "conservation": True,
        },
        csv_section="steps",
    )


def _print_session(session: ComplianceSession, file: Path, report: Report) -> None:
    out = _console()
    print_titled(
        report, f"{session.regime.name} ({session.code}) — {file}", session.description, out
    )
    extra = report.extra
    journals = ", ".join(
        f"{stream} {journal['events']} events (head {journal['head'][:HASH_SHOWN_CHARS]}…)"
        for stream, journal in extra["journals"].items()
    )
    db = extra["store"]
    out.print(
        Text(
            "✓ conservation: every issued serial is in exactly one account\n"
            f"✓ journals verified, signed by key {extra['key_fingerprint']}: {journals}\n"
            f"store: {db}   key: {extra['key_file']}\n"
            f"next: {start_hint(db, 'etslink compliance status')}\n"
            f"      {start_hint(db, 'etslink compliance entity ENTITY')}\n"
            f"      {start_hint(db, 'etslink registry holdings')}"
        )
    )


def _steps_section(session: ComplianceSession, run: SessionRun) -> Section:
    return Section(
        "steps",
        [_step_row(session, outcome) for outcome in run.outcomes],
        [
            Column("index", "#", "number", show=str),
            Column("time", "time", "id", show=lambda value: value[:16].replace("T", " ")),
            Column("description", "step"),
            Column("result_text", "result"),
            Column("note", "note", drop=1),
        ],
        title="Steps (simulated time, UTC)",
    )


def _step_row(session: ComplianceSession, outcome: StepOutcome) -> dict[str, Any]:
    step = outcome.step
    expected = None if step.expect_code is None else int(step.expect_code)
    if outcome.accepted:
        text = (
            f"accepted: {outcome.message}"
            if outcome.as_expected
            else f"accepted, expected refusal {expected}: {outcome.message}"
        )
    else:
        text = f"refused {int(outcome.code or 0)}: {outcome.message}"
    return {
        "index": step.index,
        "op": step.op,
        "at": None if step.at is None else format_time(step.at),
        "time": format_time(outcome.moment),
        "description": _describe_step(step, session),
        "accepted": outcome.accepted,
        "code": None if outcome.code is None else int(outcome.code),
        "code_name": None if outcome.code is None else outcome.code.name,
        "expect_code": expected,
        "as_expected": outcome.as_expected,
        "message": outcome.message,
        "result_text": text,
        "note": step.note,
        **_step_money(step, session),
    }


def _step_money(step: Step, session: ComplianceSession) -> dict[str, Any]:
    """Return a step's money for tools: minor units, major units and the currency."""
    if not isinstance(step.action, SetPrice):
        return {}
    currency = session.regime.currency
    price_minor = step.action.average_price_minor
    return {
        "average_price_minor": price_minor,
        "average_price": figures.major(price_minor, currency),
        "currency": currency,
    }


def _describe_step(step: Step, session: ComplianceSession) -> str:
    """Return a line a trainer can read out, e.g. 'surrender cement for 2015: 9,500,000 t KAU'."""
    regime = session.regime
    match step.action:
        case Allocate(year=year, allocations_t=allocations_t):
            shown = ", ".join(
                f"{entity} {quantity_t:,}"
                for entity, quantity_t in allocations_t[:_ALLOCATIONS_SHOWN_MAX]
            )
            more = (
                f", … ({len(allocations_t)} entities)"
                if len(allocations_t) > _ALLOCATIONS_SHOWN_MAX
                else ""
            )
            return f"allocate {regime.allowance_unit_type} {year} (t): {shown}{more}"
        case IssueOffsets() as issue:
            return (
                f"issue {issue.quantity_t:,} t {issue.unit_type} {issue.vintage} "
                f"for project {issue.project_id} → {issue.to}"
            )
        case Transfer(arguments=values):
            vintage = f" {values['vintage']}" if values.get("vintage") is not None else ""
            return (
                f"transfer {values['quantity']:,} t {values['unit_type']}{vintage} "
                f"{values['from_account']} → {values['to_account']}"
            )
        case ReportEmissions() as report:
            gases = _gases_text(report.direct_t)
            if report.indirect_t:
                gases += f"; indirect {_gases_text(report.indirect_t)}"
            return f"report {report.entity_id} {report.year} (t of gas): {gases or 'nothing'}"
        case Verify() as verify:
            forged = (
                f", signed with {verify.signed_by}'s key"
                if verify.signed_by != verify.verifier_id
                else ""
            )
            return f"verify {verify.entity_id} {verify.year} as {verify.verifier_id}{forged}"
        case SurrenderUnits(entity_id=entity_id, period=period, requests=requests):
            units = " + ".join(
                f"{request.quantity:,} t {request.unit_type}"
                + ("" if request.vintage is None else f" {request.vintage}")
                for request in requests
            )
            return f"surrender {entity_id} for {period}: {units}"
        case SetPrice(year=year, average_price_minor=price_minor):
            return f"average price {year}: {figures.money(price_minor, regime.currency)}/t"
        case Advance(to=to):
            return f"advance to {to:%Y-%m-%d %H:%M} UTC"
    raise AssertionError(f"no description for {step.action!r}")


def _gases_text(quantities: tuple[tuple[Gas, int], ...]) -> str:
    return ", ".join(f"{gas.value} {quantity_t:,}" for gas, quantity_t in quantities)


# ---------------------------------------------------------------- status


@compliance.command("status")
@db_option
@format_options()
def compliance_status_command(
    db: str, code: str | None, key_path: Path | None, fmt: str | None
) -> None:
    """Show each entity's status per period: emissions, obligation, surrendered, penalty.

    `--csv` writes the status rows (penalties included, one row per entity and period).
    """
    with _open_book(db, code, key_path) as book:
        report = _status_report(book, fmt == "json")
        if fmt is not None:
            emit(report, fmt)
            return
        out = _console()
        out.print(Text(f"{book.regime.name} ({book.registry.code}) — {db}", style="bold"))
        emit(report, fmt, out)
        out.print(
            Text(
                f"✓ journals {book.registry.code} and {compliance_stream(book.registry.code)}"
                " verified on opening"
            )
        )


def _status_report(book: ComplianceBook, with_exact: bool) -> Report:
    """Return the status of every entity and period, the penalties and the book's totals."""
    regime = book.regime
    periods = open_periods(book)
    status_rows: list[dict[str, Any]] = []
    for entity_id in book.entities():
        status_rows.extend(_settled_row(book, outcome) for outcome in book.outcomes(entity_id))
        status_rows.extend(_open_row(book, entity_id, period) for period in periods)
    outcomes = book.outcomes()
    short = [outcome for outcome in outcomes if outcome.shortfall_t]
    fines_minor = sum(outcome.penalty.fine_minor for outcome in outcomes)
    status = _status_section(book, status_rows)
    if outcomes:
        status.notes.append(
            f"{len(outcomes)} settled, {len(short)} short; "
            f"fines {figures.money(fines_minor, regime.currency)} in all"
        )
    sections = [status, _penalties_section(book, short)]
    if with_exact:
        sections.append(_exact_section(status_rows, book))
    extra = {
        "registry": book.registry.code,
        "regime": {"key": regime.key, "name": regime.name},
        "now": format_time(book.now),
        "currency": regime.currency,
        "settled": len(outcomes),
        "short": len(short),
        "fines_minor": fines_minor,
        "fines": figures.major(fines_minor, regime.currency),
    }
    return Report("compliance-status", sections, extra, csv_section="status")


def _status_section(
    book: ComplianceBook, rows: list[dict[str, Any]], name: str = "status", title: str = ""
) -> Section:
    return Section(
        name,
        rows,
        [
            Column("entity_id", "entity", "id"),
            Column("period", "period", "number", show=str),
            Column("emissions_t", "emissions", "number", show=_tonnes_or_unverified, drop=3),
            Column("carried_in_t", "carried", "number", drop=1),
            Column("obligation_t", "obligation", "number", show=_tonnes_or_unverified),
            Column("surrendered_t", "surrendered", "number", show=_tonnes_shown),
            Column("shortfall_t", "shortfall", "number", drop=2),
            Column("status_text", "status"),
        ],
        title=title or f"Compliance status at {_minutes(book.now)} UTC (t CO2e; times UTC)",
    )


def _tonnes_or_unverified(value: Any) -> str:
    return _UNVERIFIED if value is None else figures.whole(value)


def _tonnes_shown(value: Any) -> str:
    # Surrendered value may be fractional (exchange rates, discounts): JSON keeps it exact.
    return figures.whole(value) if value is not None else "-"


def _settled_row(book: ComplianceBook, outcome: PeriodOutcome) -> dict[str, Any]:
    penalty = outcome.penalty
    currency = book.regime.currency
    deadline = book.regime.calendar.deadline(DeadlineKind.SURRENDER_DUE, outcome.period)
    text = outcome.status.value + ("; emissions estimated" if outcome.estimated else "")
    return {
        "entity_id": outcome.entity_id,
        "period": outcome.period,
        "state": outcome.status.value,
        "settled": True,
        "emissions_t": outcome.emissions_t,
        "emissions_estimated": outcome.estimated,
        "carried_in_t": outcome.carried_in_t,
        "obligation_t": outcome.obligation_t,
        "surrendered_t": figures.number(outcome.surrendered_value),
        "shortfall_t": outcome.shortfall_t,
        "surrender_due": None if deadline is None else format_time(deadline.due),
        "currency": currency,
        "fine_minor": penalty.fine_minor,
        "fine": figures.major(penalty.fine_minor, currency),
        "added_obligation_t": penalty.added_obligation_t,
        "carried_t": penalty.carried_t,
        "status_text": text,
    }


def _open_row(book: ComplianceBook, entity_id: str, period: int) -> dict[str, Any]:
    emissions = period_emissions(book, entity_id, period)
    deadline = book.regime.calendar.deadline(DeadlineKind.SURRENDER_DUE, period)
    passed = deadline is not None and book.now > deadline.due
    if deadline is None:
        text = "open (no surrender deadline)"
    elif passed:
        text = f"deadline {_minutes(deadline.due)} passed, not yet settled"
    else:
        text = f"open, surrender by {_minutes(deadline.due)}"
    if emissions is not None and emissions[1]:
        text += "; emissions estimated"
    return {
        "entity_id": entity_id,
        "period": period,
        "state": "deadline_passed" if passed else "open",
        "settled": False,
        "emissions_t": None if emissions is None else emissions[0],
        "emissions_estimated": emissions is not None and emissions[1],
        "carried_in_t": book.carried_t(entity_id),
        "obligation_t": book.obligation_t(entity_id, period),
        "surrendered_t": figures.number(book.surrendered_value(entity_id, period)),
        "shortfall_t": None,
        "surrender_due": None if deadline is None else format_time(deadline.due),
        "currency": book.regime.currency,
        "fine_minor": None,
        "fine": None,
        "added_obligation_t": None,
        "carried_t": None,
        "status_text": text,
    }


def _penalties_section(book: ComplianceBook, short: list[PeriodOutcome]) -> Section:
    currency = book.regime.currency
    rows = [
        {
            "entity_id": outcome.entity_id,
            "period": outcome.period,
            "shortfall_t": outcome.shortfall_t,
            "currency": currency,
            "fine_minor": outcome.penalty.fine_minor,
            "fine": figures.major(outcome.penalty.fine_minor, currency),
            "added_obligation_t": outcome.penalty.added_obligation_t,
            "carried_t": outcome.penalty.carried_t,
            "rule": outcome.penalty.rule_text,
        }
        for outcome in short
    ]
    return Section(
        "penalties",
        rows,
        [
            Column("entity_id", "entity", "id"),
            Column("period", "period", "number", show=str),
            Column("shortfall_t", "shortfall", "number"),
            Column("fine_minor", "fine", "number", show=lambda v: figures.money(v, currency)),
            Column("added_obligation_t", "added", "number", drop=2),
            Column("carried_t", "carried", "number", drop=1),
        ],
        title="Penalties (t; added: added to a later obligation; carried: still owed)",
        notes=[f"{row['entity_id']} {row['period']}: {row['rule']}" for row in rows],
        empty="none: no settled period is short",
    )


def _exact_section(rows: list[dict[str, Any]], book: ComplianceBook) -> Section:
    """The surrendered values exactly ("p" or "p/q" t), for tools that need them."""
    exact_rows = []
    for row in rows:
        entity_id, period = row["entity_id"], row["period"]
        if row["settled"]:
            outcome = next(o for o in book.outcomes(entity_id) if o.period == period)
            value = outcome.surrendered_value
        else:
            value = book.surrendered_value(entity_id, period)
        exact_rows.append({"entity_id": entity_id, "period": period, "surrendered_t": exact(value)})
    return Section("exact", exact_rows, [])


# ---------------------------------------------------------------- entity


@compliance.command("entity")
@click.argument("entity")
@click.option(
    "--period",
    type=click.IntRange(YEAR_MIN, YEAR_MAX),
    default=None,
    help="Judge the holdings for this compliance period (default: the earliest open one).",
)
@db_option
@format_options()
def compliance_entity_command(
    entity: str,
    period: int | None,
    db: str,
    code: str | None,
    key_path: Path | None,
    fmt: str | None,
) -> None:
    """Show ENTITY's obligation per open period and what of its holdings it may surrender.

    `--csv` writes the judged holdings.
    """
    with _open_book(db, code, key_path) as book:
        facts = _entity_facts(book, entity)
        regime = book.regime
        periods = open_periods(book)
        judged = period if period is not None else _default_period(book, periods)
        calendar = regime.calendar
        if judged < calendar.first_year or calendar.period_of(judged) != judged:
            raise click.BadParameter(
                f"{judged} does not start a compliance period of {regime.name} "
                f"(periods of {calendar.period_years} year(s) from {calendar.first_year})",
                param_hint="--period",
            )
        report = Report(
            "compliance-entity",
            [
                _open_periods_section(book, entity, periods),
                _status_section(
                    book,
                    [_settled_row(book, outcome) for outcome in book.outcomes(entity)],
                    "settled",
                    "Settled periods (t CO2e)",
                ),
                _positions_section(book, entity, judged),
                _limits_section(book, entity, judged),
            ],
            {
                "entity": facts,
                "registry": book.registry.code,
                "regime": {"key": regime.key, "name": regime.name},
                "now": format_time(book.now),
                "judged_period": judged,
            },
            csv_section="positions",
        )
        if fmt is not None:
            emit(report, fmt)
            return
        out = _console()
        _print_facts(out, facts, regime.name, regime.key, book.now)
        emit(report, fmt, out)


def _entity_facts(book: ComplianceBook, entity_id: str) -> dict[str, Any]:
    """Return who the entity is: its name, account and monitoring plan."""
    account = book.registry.account(book.account_of(entity_id))
    record = book.mrv.entity(entity_id)
    plan = record.plan
    return {
        "entity_id": entity_id,
        "name": record.name,
        "account_id": account.account_id,
        "account_label": account.label,
        "account_status": account.status.value,
        "gases": [gas.value for gas in sorted(plan.gases, key=list(Gas).index)],
        "indirect": plan.indirect,
        "method": plan.method,
    }


def _print_facts(
    out: Console, facts: dict[str, Any], regime_name: str, regime_key: str, now: datetime
) -> None:
    lines = [
        ("account", f"{facts['account_id']} ({facts['account_label']}, {facts['account_status']})"),
        ("gases monitored", ", ".join(facts["gases"])),
        ("indirect emissions", "yes" if facts["indirect"] else "no"),
        ("monitoring method", facts["method"]),
        ("regime", f"{regime_name} ({regime_key})"),
        ("now (simulated)", f"{_minutes(now)} UTC"),
    ]
    out.print(Text(f"{facts['entity_id']}: {facts['name']}", style="bold"))
    grid = Table.grid(padding=(0, 2), pad_edge=True)
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    for name, value in lines:
        grid.add_row(Text(name), Text(value))
    out.print(grid)
    out.print()


def _default_period(book: ComplianceBook, periods: list[int]) -> int:
    if periods:
        return periods[0]
    return book.regime.calendar.period_of(max(book.now.year, book.regime.calendar.first_year))


def _open_periods_section(book: ComplianceBook, entity_id: str, periods: list[int]) -> Section:
    rows = []
    for period in periods:
        deadline = book.regime.calendar.deadline(DeadlineKind.SURRENDER_DUE, period)
        emissions = period_emissions(book, entity_id, period)
        obligation_t = book.obligation_t(entity_id, period)
        surrendered = book.surrendered_value(entity_id, period)
        rows.append(
            {
                "period": period,
                "surrender_due": None if deadline is None else format_time(deadline.due),
                "emissions_t": None if emissions is None else emissions[0],
                "emissions_estimated": emissions is not None and emissions[1],
                "obligation_t": obligation_t,
                "surrendered_t": figures.number(surrendered),
                "to_surrender_t": None
                if obligation_t is None
                else max(0, math.ceil(obligation_t - surrendered)),
            }
        )
    return Section(
        "open_periods",
        rows,
        [
            Column("period", "period", "number", show=str),
            Column("surrender_due", "due", "id", show=_due_shown),
            Column("emissions_t", "emissions", "number", show=_tonnes_or_unverified, drop=1),
            Column("obligation_t", "obligation", "number", show=_tonnes_or_unverified),
            Column("surrendered_t", "surrendered", "number", show=_tonnes_shown, drop=2),
            Column("to_surrender_t", "to go", "number", show=_tonnes_or_unverified),
        ],
        title="Open periods (t CO2e; due: surrender deadline, UTC)",
    )


def _due_shown(value: Any) -> str:
    return "-" if value is None else _minutes(parse_time(value))


def _positions_section(book: ComplianceBook, entity_id: str, period: int) -> Section:
    rows = []
    for position in positions(book, entity_id, period):
        may_t = position.may_surrender_t
        if may_t is None:
            may = "after verification"
        elif may_t == position.quantity_t:
            may = f"all {may_t:,}"
        elif may_t == 0:
            may = "none"
        else:
            may = f"{may_t:,}"
        rows.append(
            {
                "unit_type": position.unit_type,
                "unit_kind": position.kind.value,
                "vintage": position.vintage,
                "origin": position.origin,
                "origin_use": position.origin_use.value,
                "quantity_t": position.quantity_t,
                "type_eligible": position.type_eligible,
                "vintage_use": position.vintage_use,
                "may_surrender_t": may_t,
                "may_surrender_text": may,
                "reason": position.reason,
            }
        )
    return Section(
        "positions",
        rows,
        [
            Column("unit_type", "unit", "id"),
            Column("unit_kind", "kind", show=lambda v: v.replace("_", " "), drop=1),
            Column("vintage", "vintage", "number", show=str),
            Column("origin", "origin", "id", drop=3),
            Column("quantity_t", "quantity", "number"),
            Column("type_eligible", "eligible", drop=2),
            Column("vintage_use", "use"),
            Column("may_surrender_text", "may surrender"),
        ],
        title=f"Holdings of {entity_id}, judged for surrender for period {period} (t)",
        notes=[
            f"why not all {row['unit_type']} {row['vintage']} ({row['origin']}): {row['reason']}"
            for row in rows
            if row["reason"]
        ],
    )


def _limits_section(book: ComplianceBook, entity_id: str, period: int) -> Section:
    rows = [
        {
            "limit": room.limit.name,
            "share": figures.number(room.limit.share),
            "unit_kinds": sorted(kind.value for kind in room.limit.unit_kinds),
            "origin": room.limit.origin.value,
            "used_t": room.used_t,
            "allowed_t": room.allowed_t,
            "room_t": room.room_t,
        }
        for room in limit_rooms(book, entity_id, period)
    ]
    return Section(
        "limits",
        rows,
        [
            Column("limit", "limit"),
            Column("share", "share", "number", show=figures.percent),
            Column(
                "unit_kinds",
                "units",
                show=lambda kinds: "/".join(kind.replace("_", " ") for kind in kinds),
                drop=2,
            ),
            Column("origin", "origin", drop=1),
            Column("used_t", "used", "number", drop=3),
            Column("allowed_t", "allowed", "number", show=_tonnes_or_unverified),
            Column("room_t", "room", "number", show=lambda v: "-" if v is None else f"{v:,}"),
        ],
        title=f"Quantitative limits for period {period} (t)",
        empty="none for this period",
    )


@contextmanager
def _open_book(db: str, code: str | None, key_path: Path | None) -> Iterator[ComplianceBook]:
    """Open a registry and its compliance book (regime from its founding event)."""
    with guarded():
        code = pick_registry(existing_engine(db, COMPLIANCE_START), db, code, COMPLIANCE_START)
    with open_registry(db, code, key_path) as opened:
        engine = opened.journal.engine
        stream = compliance_stream(opened.code)
        if stream not in list_streams(engine):
            other = "sqlite:///korea-2015.db"
            raise StoreError(
                f"registry {opened.code} in {db} has no compliance book; a compliance session "
                f"founds a registry with its book, in a store of its own: "
                f"'{start_hint(other, COMPLIANCE_START)}', then pass --db {other}"
            )
        key = load_key(default_key_path(db, opened.code, key_path))
        last = last_sim_time(engine, stream)
        if last is not None and parse_time(last) > opened.clock.now():
            opened.clock.set(parse_time(last))  # a deadline handled after the last unit moved
        regime = load_preset(founding_regime_key(opened, key))
        book = ComplianceBook.open(opened, regime, key)
        yield book
