"""`etslink compliance …`: compliance sessions, status and an entity's position."""

from __future__ import annotations

# ---------------------------------------------------------------- compliance
# Kept as one section (imports included) so the rest of the CLI is untouched.
import math
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from rich.table import Table

from compliance.book import ComplianceBook, compliance_stream, founding_regime_key
from compliance.calendar import DeadlineKind as _DeadlineKind
from compliance.events import PeriodOutcome, Status
from compliance.gases import Gas
from compliance.presets import load_preset
from etslink.cli.jurisdiction import money_text, percent_text, print_fields, yes_text
from etslink.cli.support import (
    EXIT_REFUSED,
    console,
    db_option,
    default_key_path,
    fail,
    guarded,
    load_key,
    open_registry,
    prepare_store,
)
from etslink.sessions.compliance import (
    Advance,
    Allocate,
    ComplianceSession,
    IssueOffsets,
    Report,
    SessionRun,
    SetPrice,
    Step,
    SurrenderUnits,
    Transfer,
    Verify,
    limit_rooms,
    load_compliance_session,
    open_periods,
    period_emissions,
    positions,
    run_session,
    tonnes_text,
    verify_book_journal,
)
from registry import (
    SigningKey,
    StoreError,
    make_engine,
    verify_journal,
)
from registry.clock import parse_time
from registry.journal import last_sim_time, list_streams

_COMPLIANCE_FIXTURE = "fixtures/compliance/korea-2015.toml"
_ALLOCATIONS_SHOWN_MAX = 6


@click.group("compliance")
def compliance() -> None:
    """Run a compliance cycle on a registry: entities, MRV, surrender, deadlines, penalties."""


@compliance.command("session")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@db_option
@click.option(
    "--replace", is_flag=True, help="Delete an existing SQLite store (and its key) first."
)
def compliance_session_command(
    file: Path, db: str, code: str | None, key_path: Path | None, replace: bool
) -> None:
    """Create a registry and its compliance book from FILE and run its steps.

    The whole session is rehearsed in memory first: a step that does not go
    as written (an unexpected refusal or acceptance) stores nothing.
    """
    with guarded():
        session = load_compliance_session(file)
        if code is not None and code != session.code:
            raise StoreError(f"{file} runs registry {session.code}, not {code}")
        rehearsal = run_session(session, "sqlite://", SigningKey.generate())
        failed = rehearsal.failed
        if failed is not None:
            _print_steps(session, rehearsal)
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
        console.rule(f"[bold]{session.regime.name}[/] ({session.code}) — {file}")
        if session.description:
            console.print(session.description.strip(), highlight=False)
        _print_steps(session, run)
        _print_status(run.book)
        run.registry.check_conservation()
        registry_seq, registry_head = verify_journal(store, session.code, key.verify_key)
        book_seq, book_head = verify_book_journal(store, session.code, key.verify_key)
        console.print(
            f"[green]✓[/] conservation: every issued serial is in exactly one account\n"
            f"[green]✓[/] journals verified, signed by key {key.fingerprint}: "
            f"{session.code} {registry_seq} events (head {registry_head[:16]}…), "
            f"{compliance_stream(session.code)} {book_seq} events (head {book_head[:16]}…)\n"
            f"store: {db}   key: {key_file}\n"
            "next: etslink compliance status | compliance entity ENTITY | registry holdings",
            highlight=False,
        )
        run.registry.close()


@compliance.command("status")
@db_option
def compliance_status_command(db: str, code: str | None, key_path: Path | None) -> None:
    """Show each entity's status per period: emissions, obligation, surrendered, penalty."""
    with _open_book(db, code, key_path) as book:
        console.rule(f"[bold]{book.regime.name}[/] ({book.registry.code}) — {db}")
        _print_status(book)
        console.print(
            f"[green]✓[/] journals {book.registry.code} and {compliance_stream(book.registry.code)}"
            " verified on opening",
            highlight=False,
        )


@compliance.command("entity")
@click.argument("entity")
@click.option(
    "--period",
    type=int,
    default=None,
    help="Judge the holdings for this compliance period (default: the earliest open one).",
)
@db_option
def compliance_entity_command(
    entity: str, period: int | None, db: str, code: str | None, key_path: Path | None
) -> None:
    """Show ENTITY's obligation per open period and what of its holdings it may surrender."""
    with _open_book(db, code, key_path) as book:
        account = book.registry.account(book.account_of(entity))
        plan = book.mrv.entity(entity).plan
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
        print_fields(
            f"{entity}: {book.mrv.entity(entity).name}",
            [
                ("account", f"{account.account_id} ({account.label}, {account.status.value})"),
                (
                    "gases monitored",
                    ", ".join(gas.value for gas in sorted(plan.gases, key=list(Gas).index)),
                ),
                ("indirect emissions", yes_text(plan.indirect)),
                ("monitoring method", plan.method),
                ("regime", f"{regime.name} ({regime.key})"),
                ("now (simulated)", f"{book.now:%Y-%m-%d %H:%M} UTC"),
            ],
        )
        _print_open_periods(book, entity, periods)
        for outcome in book.outcomes(entity):
            console.print(f"settled: {_outcome_line(book, outcome)}", highlight=False)
        _print_positions(book, entity, judged)
        _print_limit_rooms(book, entity, judged)


@contextmanager
def _open_book(db: str, code: str | None, key_path: Path | None) -> Iterator[ComplianceBook]:
    """Open a registry and its compliance book (regime from its founding event)."""
    with open_registry(db, code, key_path) as opened:
        engine = opened.journal.engine
        stream = compliance_stream(opened.code)
        if stream not in list_streams(engine):
            raise StoreError(
                f"registry {opened.code} in {db} has no compliance book; start one with "
                f"'etslink compliance session {_COMPLIANCE_FIXTURE}'"
            )
        key = load_key(default_key_path(db, opened.code, key_path))
        last = last_sim_time(engine, stream)
        if last is not None and parse_time(last) > opened.clock.now():
            opened.clock.set(parse_time(last))  # a deadline handled after the last unit moved
        regime = load_preset(founding_regime_key(opened, key))
        book = ComplianceBook.open(opened, regime, key)
        yield book


def _default_period(book: ComplianceBook, periods: list[int]) -> int:
    if periods:
        return periods[0]
    return book.regime.calendar.period_of(max(book.now.year, book.regime.calendar.first_year))


def _print_steps(session: ComplianceSession, run: SessionRun) -> None:
    table = Table(title="Steps", title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("time (UTC)", no_wrap=True)
    for column in ("step", "result", "note"):
        table.add_column(column, overflow="fold")
    shown_time = ""
    for outcome in run.outcomes:
        step = outcome.step
        moment = f"{outcome.moment:%Y-%m-%d %H:%M}"
        if outcome.accepted:
            verdict = (
                f"[green]accepted[/]: {outcome.message}"
                if outcome.as_expected
                else f"[red]accepted, expected refusal {int(step.expect_code or 0)}[/]: "
                f"{outcome.message}"
            )
        else:
            colour = "yellow" if outcome.as_expected else "red"
            verdict = f"[{colour}]refused {int(outcome.code or 0)}[/]: {outcome.message}"
        table.add_row(
            str(step.index),
            moment if moment != shown_time else "",
            _describe_step(step, session),
            verdict,
            step.note,
        )
        shown_time = moment
    console.print(table)


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
        case Report() as report:
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
            return f"average price {year}: {money_text(price_minor, regime.currency)}/t"
        case Advance(to=to):
            return f"advance to {to:%Y-%m-%d %H:%M} UTC"
    raise AssertionError(f"no description for {step.action!r}")


def _gases_text(quantities: tuple[tuple[Gas, int], ...]) -> str:
    return ", ".join(f"{gas.value} {quantity_t:,}" for gas, quantity_t in quantities)


def _print_status(book: ComplianceBook) -> None:
    regime = book.regime
    table = Table(
        title=f"Compliance status, {book.now:%Y-%m-%d %H:%M} UTC (t = tonnes CO2e)",
        title_justify="left",
    )
    table.add_column("entity", no_wrap=True)
    table.add_column("period", justify="right")
    for column in ("emissions (t)", "carried in (t)", "obligation (t)", "surrendered (t)"):
        table.add_column(column, justify="right")
    table.add_column("shortfall (t)", justify="right")
    table.add_column("status", overflow="fold")
    table.add_column("fine", justify="right")
    table.add_column("added obligation (t)", justify="right")
    table.add_column("carried (t)", justify="right")
    periods = open_periods(book)
    for entity_id in book.entities():
        for outcome in book.outcomes(entity_id):
            table.add_row(*_outcome_row(book, outcome))
        for period in periods:
            table.add_row(*_open_row(book, entity_id, period))
    console.print(table)
    short = [outcome for outcome in book.outcomes() if outcome.shortfall_t]
    for outcome in short:
        console.print(
            f"penalty {outcome.entity_id} {outcome.period}: {outcome.penalty.rule_text}",
            highlight=False,
        )
    if book.outcomes():
        fines_minor = sum(outcome.penalty.fine_minor for outcome in book.outcomes())
        console.print(
            f"{len(book.outcomes())} settled, {len(short)} short; "
            f"fines {money_text(fines_minor, regime.currency)} in all",
            highlight=False,
        )


def _outcome_row(book: ComplianceBook, outcome: PeriodOutcome) -> list[str]:
    penalty = outcome.penalty
    status = "[green]compliant[/]" if outcome.status is Status.COMPLIANT else "[red]shortfall[/]"
    return [
        outcome.entity_id,
        str(outcome.period),
        f"{outcome.emissions_t:,}" + (" (estimated)" if outcome.estimated else ""),
        f"{outcome.carried_in_t:,}",
        f"{outcome.obligation_t:,}",
        tonnes_text(outcome.surrendered_value),
        f"{outcome.shortfall_t:,}",
        status,
        money_text(penalty.fine_minor, book.regime.currency) if penalty.fine_minor else "—",
        f"{penalty.added_obligation_t:,}" if penalty.added_obligation_t else "—",
        f"{penalty.carried_t:,}" if penalty.carried_t else "—",
    ]


def _open_row(book: ComplianceBook, entity_id: str, period: int) -> list[str]:
    emissions = period_emissions(book, entity_id, period)
    obligation_t = book.obligation_t(entity_id, period)
    return [
        entity_id,
        str(period),
        "not yet verified"
        if emissions is None
        else f"{emissions[0]:,}" + (" (estimated)" if emissions[1] else ""),
        f"{book.carried_t(entity_id):,}",
        "not yet verified" if obligation_t is None else f"{obligation_t:,}",
        tonnes_text(book.surrendered_value(entity_id, period)),
        "—",
        _open_status(book, period),
        "—",
        "—",
        "—",
    ]


def _open_status(book: ComplianceBook, period: int) -> str:
    deadline = book.regime.calendar.deadline(_DeadlineKind.SURRENDER_DUE, period)
    if deadline is None:
        return "open (no surrender deadline)"
    if book.now > deadline.due:
        return f"[yellow]deadline {deadline.due:%Y-%m-%d %H:%M} UTC passed, not yet settled[/]"
    return f"open, surrender by {deadline.due:%Y-%m-%d %H:%M} UTC"


def _outcome_line(book: ComplianceBook, outcome: PeriodOutcome) -> str:
    text = (
        f"{outcome.period}: {outcome.status.value}, obligation {outcome.obligation_t:,} t, "
        f"surrendered {tonnes_text(outcome.surrendered_value)} t"
    )
    if outcome.shortfall_t:
        text += f", short {outcome.shortfall_t:,} t"
    if outcome.penalty.fine_minor:
        text += f", fined {money_text(outcome.penalty.fine_minor, book.regime.currency)}"
    return text


def _print_open_periods(book: ComplianceBook, entity_id: str, periods: list[int]) -> None:
    table = Table(title="Open periods", title_justify="left")
    table.add_column("period", justify="right")
    table.add_column("surrender by (UTC)", no_wrap=True)
    for column in ("emissions (t)", "obligation (t)", "surrendered (t)", "still to surrender (t)"):
        table.add_column(column, justify="right")
    for period in periods:
        deadline = book.regime.calendar.deadline(_DeadlineKind.SURRENDER_DUE, period)
        emissions = period_emissions(book, entity_id, period)
        obligation_t = book.obligation_t(entity_id, period)
        surrendered = book.surrendered_value(entity_id, period)
        table.add_row(
            str(period),
            "—" if deadline is None else f"{deadline.due:%Y-%m-%d %H:%M}",
            "not yet verified"
            if emissions is None
            else f"{emissions[0]:,}" + (" (estimated)" if emissions[1] else ""),
            "not yet verified" if obligation_t is None else f"{obligation_t:,}",
            tonnes_text(surrendered),
            "not yet verified"
            if obligation_t is None
            else f"{max(0, math.ceil(obligation_t - surrendered)):,}",
        )
    console.print(table)


def _print_positions(book: ComplianceBook, entity_id: str, period: int) -> None:
    table = Table(
        title=f"Holdings of {entity_id}, judged for surrender for period {period}",
        title_justify="left",
    )
    for column in ("unit", "kind", "vintage", "origin"):
        table.add_column(column, no_wrap=True)
    table.add_column("quantity (t)", justify="right")
    for column in ("unit type", "vintage use"):
        table.add_column(column)
    table.add_column("may surrender (t)", justify="right")
    table.add_column("why not all", overflow="fold")
    for position in positions(book, entity_id, period):
        if position.may_surrender_t is None:
            may = "[yellow]after verification[/]"
        elif position.may_surrender_t == position.quantity_t:
            may = f"[green]all {position.quantity_t:,}[/]"
        elif position.may_surrender_t == 0:
            may = "[red]none[/]"
        else:
            may = f"[yellow]{position.may_surrender_t:,}[/]"
        table.add_row(
            position.unit_type,
            position.kind.value.replace("_", " "),
            str(position.vintage),
            f"{position.origin} ({position.origin_use.value})",
            f"{position.quantity_t:,}",
            "eligible" if position.type_eligible else "[red]not eligible[/]",
            position.vintage_use,
            may,
            position.reason,
        )
    console.print(table)


def _print_limit_rooms(book: ComplianceBook, entity_id: str, period: int) -> None:
    rooms = limit_rooms(book, entity_id, period)
    if not rooms:
        return
    table = Table(title=f"Quantitative limits for period {period}", title_justify="left")
    for column in ("limit", "share", "units", "origin"):
        table.add_column(column)
    for column in ("used (t)", "allowed (t)", "room left (t)"):
        table.add_column(column, justify="right")
    for room in rooms:
        limit = room.limit
        table.add_row(
            limit.name,
            percent_text(limit.share),
            "/".join(sorted(kind.value.replace("_", " ") for kind in limit.unit_kinds)),
            limit.origin.value,
            f"{room.used_t:,}",
            "not yet verified" if room.allowed_t is None else f"{room.allowed_t:,}",
            "—" if room.room_t is None else f"{room.room_t:,}",
        )
    console.print(table)
