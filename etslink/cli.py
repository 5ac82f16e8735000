"""The `etslink` command line.

`etslink registry session FILE` runs a scripted registry session on the
embedded SQLite default; the other `etslink registry` commands work on the
registry it left (or any `--db` URL): issue, allocate, transfer, surrender,
holdings, journal, verify. A refused command prints its check code and
message and exits 1; a store that does not verify exits 3.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from etslink.registry_session import (
    RegistrySession,
    SessionResult,
    build_registry,
    load_session,
    run_operations,
)
from registry import (
    AccountKind,
    ConcurrentWriterError,
    JournalIntegrityError,
    Registry,
    RegistryError,
    SigningKey,
    SimulatedClock,
    StoreError,
    make_engine,
    verify_journal,
)
from registry.account_ids import is_registry_code
from registry.clock import parse_time
from registry.config_reader import ConfigError
from registry.events import event_from_data
from registry.journal import last_sim_time, list_streams, read_entries

DEFAULT_DB = "sqlite:///etslink.db"
EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_INTEGRITY = 3

console = Console()
errors = Console(stderr=True)


def main() -> None:
    """Run the CLI, turning known failures into a message and an exit code."""
    try:
        cli(standalone_mode=True)
    except KeyboardInterrupt:
        errors.print("interrupted")
        sys.exit(130)


@click.group()
@click.version_option(package_name="etslink")
def cli() -> None:
    """etslink: a multi-registry allowance-trading emulator."""


@cli.group()
def registry() -> None:
    """Work with one emissions-trading registry: units, accounts, its journal."""


def _db_option(function: Callable[..., Any]) -> Callable[..., Any]:
    function = click.option(
        "--key",
        "key_path",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="The registry's Ed25519 private key (PEM). Default: beside a SQLite file, "
        "'<db file>.<CODE>.key.pem'; for other stores, ./<CODE>.key.pem.",
    )(function)
    function = click.option(
        "--registry", "code", default=None, help="Registry code, when the store holds several."
    )(function)
    return click.option(
        "--db",
        default=lambda: os.environ.get("ETSLINK_DB", DEFAULT_DB),
        show_default="$ETSLINK_DB or " + DEFAULT_DB,
        help="SQLAlchemy URL of the store (sqlite:///file.db or postgresql+psycopg://...).",
    )(function)


def _key_path(db: str, code: str, key_path: Path | None) -> Path:
    if key_path is not None:
        return key_path
    sqlite_file = _sqlite_file(db)
    if sqlite_file is not None:
        return sqlite_file.with_name(f"{sqlite_file.name}.{code}.key.pem")
    return Path(f"{code}.key.pem")


def _sqlite_file(db: str) -> Path | None:
    prefix = "sqlite:///"
    if db.startswith(prefix) and db not in ("sqlite:///:memory:",):
        return Path(db[len(prefix) :])
    return None


def _fail(code: int, message: str) -> None:
    errors.print(f"[bold red]error[/]: {message}", highlight=False)
    sys.exit(code)


@contextmanager
def _guarded() -> Iterator[None]:
    """Turn the errors a person can act on into a message and an exit code."""
    try:
        yield
    except RegistryError as error:
        _fail(
            EXIT_REFUSED,
            f"refused with check {int(error.code)} ({error.code.name}): {error.message}",
        )
    except ConfigError as error:
        _fail(EXIT_USAGE, str(error))
    except JournalIntegrityError as error:
        _fail(EXIT_INTEGRITY, f"the journal does not verify: {error}")
    except (StoreError, ConcurrentWriterError) as error:
        _fail(EXIT_REFUSED, str(error))


@contextmanager
def _open(
    db: str, code: str | None, key_path: Path | None, at: datetime | None = None
) -> Iterator[Registry]:
    """Open a registry for writing; commit and close it on the way out."""
    with _guarded():
        engine = _existing_engine(db)
        code = _pick_registry(engine, db, code)
        key = _load_key(_key_path(db, code, key_path))
        last = last_sim_time(engine, code)
        clock = SimulatedClock(parse_time(last) if last else None)
        if at is not None:
            clock.set(at)
        registry = Registry.open(engine, code, key, clock)
        try:
            yield registry
        finally:
            registry.close()


def _existing_engine(db: str) -> Any:
    """Return an engine for a store that exists; a missing SQLite file is an error."""
    sqlite_file = _sqlite_file(db)
    if sqlite_file is not None and not sqlite_file.exists():
        raise StoreError(
            f"no store at {sqlite_file}; start one with "
            "'etslink registry session fixtures/registries/korea-phase1.toml'"
        )
    return make_engine(db)


def _pick_registry(engine: Any, db: str, code: str | None) -> str:
    # Other streams (a registry's compliance book, later the gateway) share the store.
    codes = [stream for stream in list_streams(engine) if is_registry_code(stream)]
    if code is not None:
        if code not in codes:
            raise StoreError(
                f"no registry {code!r} in {db}; it holds: {', '.join(codes) or 'none'}"
            )
        return code
    if not codes:
        raise StoreError(
            f"{db} holds no registry yet; start one with "
            "'etslink registry session fixtures/registries/korea-phase1.toml'"
        )
    if len(codes) > 1:
        raise StoreError(f"{db} holds registries {', '.join(codes)}; choose one with --registry")
    return codes[0]


def _load_key(path: Path) -> SigningKey:
    try:
        return SigningKey.load(path)
    except FileNotFoundError:
        raise StoreError(f"registry key {path} not found; pass --key") from None
    except ValueError as error:
        raise StoreError(f"registry key {path} is not an Ed25519 PEM key: {error}") from None


_at_option = click.option(
    "--at",
    type=click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]),
    default=None,
    help="Move the registry's simulated clock forward to this moment (UTC) first.",
)


def _utc(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.replace(tzinfo=UTC)


# ---------------------------------------------------------------- session


@registry.command("session")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_db_option
@click.option(
    "--replace", is_flag=True, help="Delete an existing SQLite store (and its key) first."
)
def session_command(
    file: Path, db: str, code: str | None, key_path: Path | None, replace: bool
) -> None:
    """Create a registry from FILE and run its scripted operations.

    The whole session is rehearsed in memory first, so a mistake in FILE
    leaves no half-built registry behind.
    """
    with _guarded():
        session = load_session(file)
        if code is not None and code != session.code:
            raise StoreError(f"{file} defines registry {session.code}, not {code}")
        rehearsal = _run_session(
            session,
            lambda c, n, u: Registry.create(
                "sqlite://", c, n, SigningKey.generate(), SimulatedClock(session.start), u
            ),
        )
        if rehearsal.failed is not None:
            _print_outcomes(session, rehearsal)
            _fail(
                EXIT_REFUSED,
                f"{file}: operation {rehearsal.failed.operation.index} did not go as "
                "written; nothing was stored",
            )
        key_file = _key_path(db, session.code, key_path)
        _prepare_store(db, session.code, key_file, replace)
        key = SigningKey.generate()
        key.save(key_file)
        store = make_engine(db)
        holder: dict[str, Registry] = {}

        def create(code_: str, name: str, unit_types: Any) -> Registry:
            holder["registry"] = Registry.create(
                store, code_, name, key, SimulatedClock(session.start), unit_types
            )
            return holder["registry"]

        result = _run_session(session, create)
        registry = holder["registry"]
        registry.snapshot()
        console.rule(f"[bold]{session.name}[/] ({session.code}) — {file}")
        if session.description:
            console.print(session.description.strip(), highlight=False)
        _print_outcomes(session, result)
        _print_holdings(registry)
        _print_totals(registry)
        registry.check_conservation()
        seq, head = verify_journal(store, session.code, key.verify_key)
        console.print(
            f"[green]✓[/] conservation: every issued serial is in exactly one account\n"
            f"[green]✓[/] journal verified: {seq} events, head {head[:16]}…, "
            f"signed by key {key.fingerprint}\n"
            f"store: {db}   key: {key_file}\n"
            "next: etslink registry holdings | journal | verify | transfer --help",
            highlight=False,
        )
        registry.close()


def _run_session(session: RegistrySession, create: Callable[..., Registry]) -> SessionResult:
    registry = build_registry(session, create)
    return run_operations(registry, session)


def _prepare_store(db: str, code: str, key_file: Path, replace: bool) -> None:
    sqlite_file = _sqlite_file(db)
    if replace:
        if sqlite_file is None:
            raise StoreError("--replace deletes SQLite files only; drop a server database yourself")
        for path in (sqlite_file, Path(f"{sqlite_file}-wal"), Path(f"{sqlite_file}-shm"), key_file):
            path.unlink(missing_ok=True)
    if code in list_streams(make_engine(db)):
        hint = " (or pass --replace)" if sqlite_file is not None else ""
        raise StoreError(f"registry {code} already exists in {db}; use another --db{hint}")
    if key_file.exists():
        raise StoreError(f"key file {key_file} already exists; move it away or pass --key")


def _print_outcomes(session: RegistrySession, result: SessionResult) -> None:
    table = Table(title="Operations", title_justify="left")
    table.add_column("#", justify="right")
    for column in ("operation", "result", "note"):
        table.add_column(column, overflow="fold")
    for outcome in result.outcomes:
        operation = outcome.operation
        if outcome.accepted:
            verdict = (
                "[green]accepted[/]"
                if outcome.as_expected
                else f"[red]accepted, expected {int(operation.expect_code or 0)}[/]"
            )
        else:
            colour = "yellow" if outcome.as_expected else "red"
            verdict = f"[{colour}]refused {int(outcome.code or 0)}[/]: {outcome.message}"
        table.add_row(str(operation.index), operation.describe(), verdict, operation.note)
    console.print(table)


def _print_holdings(
    registry: Registry, account: str | None = None, show_blocks: bool = False
) -> None:
    table = Table(title=f"Holdings in {registry.code}", title_justify="left")
    table.add_column("account", no_wrap=True)
    for column in ("label", "kind", "unit", "vintage"):
        table.add_column(column)
    table.add_column("quantity (t)", justify="right", no_wrap=True)
    if show_blocks:
        table.add_column("serials", overflow="fold")
    records = [registry.account(account)] if account else registry.accounts()
    for record in records:
        positions: dict[tuple[str, int], list[Any]] = {}
        for block in record.holding.blocks():
            positions.setdefault((block.unit_type, block.vintage), []).append(block)
        for (unit_type, vintage), blocks in sorted(positions.items()):
            row = [
                record.account_id,
                record.label,
                record.kind.value,
                unit_type,
                str(vintage),
                f"{sum(b.quantity for b in blocks):,}",
            ]
            if show_blocks:
                row.append(", ".join(f"{b.start}-{b.end}" for b in blocks))
            table.add_row(*row)
    console.print(table)


def _print_totals(registry: Registry) -> None:
    table = Table(title="Totals by unit type (t)", title_justify="left")
    for column in ("unit", "issued", "held", "locked", "surrendered", "cancelled", "retired"):
        table.add_column(column, justify="right", no_wrap=True)
    for code in sorted(registry.ledger.unit_types):
        totals = registry.ledger.totals(code)
        if any((totals.issued, totals.held, totals.locked)):
            table.add_row(
                code,
                *(
                    f"{value:,}"
                    for value in (
                        totals.issued,
                        totals.held,
                        totals.locked,
                        totals.surrendered,
                        totals.cancelled,
                        totals.retired,
                    )
                ),
            )
    console.print(table)


# ---------------------------------------------------------------- queries


@registry.command("holdings")
@click.argument("account", required=False)
@click.option("--blocks", "show_blocks", is_flag=True, help="Show serial ranges.")
@_db_option
def holdings_command(
    account: str | None, show_blocks: bool, db: str, code: str | None, key_path: Path | None
) -> None:
    """Show holdings by account, unit type and vintage (optionally one ACCOUNT)."""
    with _open(db, code, key_path) as opened, _guarded():
        _print_holdings(opened, account, show_blocks)
        _print_totals(opened)


@registry.command("accounts")
@_db_option
def accounts_command(db: str, code: str | None, key_path: Path | None) -> None:
    """List accounts with their identifiers, kinds and statuses."""
    with _open(db, code, key_path) as opened:
        table = Table(title=f"Accounts in {opened.code}", title_justify="left")
        for column in ("account", "label", "kind", "holder", "status", "balance (t)"):
            table.add_column(column)
        for record in opened.accounts():
            table.add_row(
                record.account_id,
                record.label,
                record.kind.value,
                record.holder,
                record.status.value,
                f"{record.holding.balance():,}",
            )
        console.print(table)


@registry.command("journal")
@click.option(
    "--last", default=20, show_default=True, help="How many of the latest events to show."
)
@_db_option
def journal_command(last: int, db: str, code: str | None, key_path: Path | None) -> None:
    """Show the latest journal events: seq, simulated time, kind, body, hash."""
    with _open(db, code, key_path) as opened:
        head = opened.journal.committed_seq
        table = Table(title=f"Journal of {opened.code} (head seq {head})", title_justify="left")
        for column in ("seq", "sim time", "kind", "event", "hash"):
            table.add_column(column, overflow="fold")
        for entry in read_entries(opened.journal.engine, opened.code, max(0, head - last)):
            event = event_from_data(entry.kind, entry.data)
            table.add_row(
                str(entry.seq), entry.sim_time, entry.kind, _describe(event), entry.hash[:16]
            )
        console.print(table)


@registry.command("verify")
@_db_option
def verify_command(db: str, code: str | None, key_path: Path | None) -> None:
    """Verify the whole hash chain, the signed head and conservation of units."""
    with _guarded():
        engine = _existing_engine(db)
        code = _pick_registry(engine, db, code)
        key = _load_key(_key_path(db, code, key_path))
        seq, head = verify_journal(engine, code, key.verify_key)
    with _open(db, code, key_path) as opened:
        opened.check_conservation()
        console.print(
            f"[green]✓[/] {code}: {seq} events, chain and signatures verify (head {head[:16]}…, "
            f"key {key.fingerprint}); conservation holds",
            highlight=False,
        )


# ---------------------------------------------------------------- commands


def _command(
    name: str, help_text: str, arguments: list[click.Parameter], run: Callable[..., Any]
) -> None:
    """Register `etslink registry NAME`: open, run one registry command, report, commit."""

    @_db_option
    @_at_option
    def command(
        db: str, code: str | None, key_path: Path | None, at: datetime | None, **values: Any
    ) -> None:
        with _open(db, code, key_path, _utc(at)) as opened, _guarded():
            event = run(opened, **values)
            opened.flush()
            console.print(
                f"[green]accepted[/] (seq {opened.journal.committed_seq}): {_describe(event)}",
                highlight=False,
            )

    command.__doc__ = help_text
    click_command = click.command(name, help=help_text)(command)
    click_command.params.extend(arguments)
    registry.add_command(click_command)


def _describe(event: Any) -> str:
    blocks = getattr(event, "blocks", None)
    if blocks is not None:
        return (
            f"{event.transaction_type.value} {event.quantity:,} t "
            f"{event.from_account} -> {event.to_account}: " + ", ".join(str(b) for b in blocks)
        )
    block = getattr(event, "block", None)
    if block is not None:
        return f"issued {block.quantity:,} t into {event.account_id}: {block}"
    return f"{event.kind} {event.to_data()}"


_vintage = click.Option(
    ["--vintage"], type=int, default=None, help="Take only units of this vintage."
)
_kinds = click.Choice([kind.value for kind in AccountKind if not kind.singleton])

_command(
    "issue",
    "Issue QUANTITY new units of UNIT_TYPE and VINTAGE (into the issuance account).",
    [
        click.Argument(["unit_type"]),
        click.Argument(["vintage"], type=int),
        click.Argument(["quantity"], type=int),
        click.Option(["--to", "account"], default=None, help="Issuance or reserve account."),
        click.Option(
            ["--project-id"], default="", help="Offset project the credits were verified for."
        ),
    ],
    lambda r, **v: r.issue(
        v["unit_type"], v["vintage"], v["quantity"], v["account"], v["project_id"]
    ),
)
_command(
    "allocate",
    "Allocate QUANTITY units from the issuance account (or --from a reserve) to ACCOUNT.",
    [
        click.Argument(["account"]),
        click.Argument(["unit_type"]),
        click.Argument(["quantity"], type=int),
        click.Option(["--from", "source"], default="issuance", show_default=True),
        _vintage,
    ],
    lambda r, **v: r.allocate(
        v["source"], v["account"], v["unit_type"], v["quantity"], v["vintage"]
    ),
)
_command(
    "transfer",
    "Transfer QUANTITY units of UNIT_TYPE from SOURCE to TARGET, oldest vintage first.",
    [
        click.Argument(["source"]),
        click.Argument(["target"]),
        click.Argument(["unit_type"]),
        click.Argument(["quantity"], type=int),
        _vintage,
    ],
    lambda r, **v: r.transfer(
        v["source"], v["target"], v["unit_type"], v["quantity"], v["vintage"]
    ),
)
_command(
    "surrender",
    "Surrender QUANTITY units from ACCOUNT for compliance --period.",
    [
        click.Argument(["account"]),
        click.Argument(["unit_type"]),
        click.Argument(["quantity"], type=int),
        click.Option(["--period"], type=int, required=True, help="Compliance period (year)."),
        _vintage,
    ],
    lambda r, **v: r.surrender(
        v["account"], v["unit_type"], v["quantity"], v["period"], v["vintage"]
    ),
)
_command(
    "cancel",
    "Cancel QUANTITY units held by ACCOUNT; they never move again.",
    [
        click.Argument(["account"]),
        click.Argument(["unit_type"]),
        click.Argument(["quantity"], type=int),
        _vintage,
    ],
    lambda r, **v: r.cancel(v["account"], v["unit_type"], v["quantity"], v["vintage"]),
)
_command(
    "retire",
    "Retire QUANTITY units held by ACCOUNT; they never move again.",
    [
        click.Argument(["account"]),
        click.Argument(["unit_type"]),
        click.Argument(["quantity"], type=int),
        _vintage,
    ],
    lambda r, **v: r.retire(v["account"], v["unit_type"], v["quantity"], v["vintage"]),
)
_command(
    "open-account",
    "Open an account of KIND for HOLDER.",
    [
        click.Argument(["kind"], type=_kinds),
        click.Argument(["holder"]),
        click.Option(
            ["--label"], default="", help="A short name to use instead of the account id."
        ),
    ],
    lambda r, **v: r.open_account(AccountKind(v["kind"]), v["holder"], v["label"]),
)
_command(
    "block",
    "Block ACCOUNT: it can neither send nor receive units.",
    [click.Argument(["account"]), click.Option(["--reason"], default="")],
    lambda r, **v: r.block_account(v["account"], v["reason"]),
)
_command(
    "unblock",
    "Unblock ACCOUNT.",
    [click.Argument(["account"]), click.Option(["--reason"], default="")],
    lambda r, **v: r.unblock_account(v["account"], v["reason"]),
)
_command(
    "close",
    "Close an empty ACCOUNT for good.",
    [click.Argument(["account"]), click.Option(["--reason"], default="")],
    lambda r, **v: r.close_account(v["account"], v["reason"]),
)
_command(
    "suspend",
    "Suspend the registry: only issuance, allocation and surrender go on.",
    [click.Argument(["reason"])],
    lambda r, **v: r.suspend(v["reason"]),
)
_command(
    "resume",
    "Lift a registry-wide suspension.",
    [click.Argument(["reason"])],
    lambda r, **v: r.resume(v["reason"]),
)
_command(
    "quarantine",
    "Quarantine serials START..END of UNIT_TYPE and VINTAGE: nothing may move them.",
    [
        click.Argument(["unit_type"]),
        click.Argument(["vintage"], type=int),
        click.Argument(["start"], type=int),
        click.Argument(["end"], type=int),
        click.Option(["--reason"], required=True),
    ],
    lambda r, **v: r.quarantine_serials(
        v["unit_type"], v["vintage"], v["start"], v["end"], v["reason"]
    ),
)
_command(
    "lift-quarantine",
    "Lift the quarantine of exactly serials START..END.",
    [
        click.Argument(["unit_type"]),
        click.Argument(["vintage"], type=int),
        click.Argument(["start"], type=int),
        click.Argument(["end"], type=int),
    ],
    lambda r, **v: r.lift_quarantine(v["unit_type"], v["vintage"], v["start"], v["end"]),
)


# ---------------------------------------------------------------- jurisdictions
# Kept as one section (imports included) so the rest of the CLI is untouched.

from decimal import Decimal  # noqa: E402
from fractions import Fraction  # noqa: E402

from compliance.calendar import DeadlineKind, DeadlineRule  # noqa: E402
from compliance.gases import Gas  # noqa: E402
from compliance.presets import CURRENCY_MINOR_DIGITS, list_presets, load_preset  # noqa: E402
from compliance.regime import PenaltyKind, QuantitativeLimit, Regime  # noqa: E402

_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


@cli.group("jurisdictions", invoke_without_command=True)
@click.pass_context
def jurisdictions(context: click.Context) -> None:
    """List the jurisdiction presets (fixtures/jurisdictions/) and their key rules."""
    if context.invoked_subcommand is not None:
        return
    with _guarded():
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
    with _guarded():
        regime = load_preset(key)
    console.rule(f"[bold]{regime.name}[/] ({regime.key}, registry {regime.registry_code})")
    _print_fields(
        "Regime",
        [
            ("currency", f"{regime.currency} ({_minor_unit_text(regime.currency)})"),
            ("cap type", regime.cap_type.value),
            ("GWP set", regime.gwp_set),
            (
                "gases",
                ", ".join(gas.value for gas in sorted(regime.coverage.gases, key=list(Gas).index)),
            ),
            ("indirect emissions", _yes(regime.coverage.indirect_emissions)),
            ("coverage threshold", _thresholds(regime)),
        ],
    )
    _print_calendar(regime)
    _print_allocation(regime)
    _print_surrender(regime)
    _print_fields("Penalty, estimate, stability", _consequence_fields(regime))
    listing = "\n".join(f"  • {path}" for path in regime.unverified) or "  none"
    console.print(
        f"[bold]Unverified values ({len(regime.unverified)})[/]\n{listing}", highlight=False
    )
    if regime.notes:
        console.print(f"[bold]Notes[/]\n{regime.notes}", highlight=False)


def _print_fields(title: str, rows: list[tuple[str, str]]) -> None:
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
            f"{name} {_percent(value)}"
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
    _print_fields(
        "Surrender",
        [
            ("eligible unit types", ", ".join(sorted(rules.eligible_unit_types))),
            ("foreign units via links", _yes(rules.foreign_units_via_links)),
            ("ineligible origins", ", ".join(sorted(rules.ineligible_origins)) or "—"),
            ("banking", _yes(rules.banking)),
            ("banking across phases", _yes(rules.banking_across_phases)),
            ("borrowing", _percent(rules.borrowing_share_max) + " of the obligation at most"),
            ("limits", "; ".join(_limit_text(limit) for limit in rules.limits) or "—"),
        ],
    )


def _consequence_fields(regime: Regime) -> list[tuple[str, str]]:
    estimate = regime.estimate
    stability = regime.stability
    rows = [
        ("penalty", _penalty_text(regime)),
        (
            "missing report",
            f"{estimate.rule.value} ({estimate.years} years, uplift {_percent(estimate.uplift)})",
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
                f"{_percent(stability.reserve_release_share_max)}",
            )
        )
    return rows


def _price_path(regime: Regime, price_minor: int, base_year: int | None, rise: Fraction) -> str:
    text = f"{_money(price_minor, regime.currency)}/t"
    if base_year is not None:
        text += f" in {base_year}"
    if rise:
        text += f", +{_percent(rise)} a year"
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
    return f"{origin}{what}{_percent(limit.share)} ({years})"


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
    return f"{limit.name}: {_percent(limit.share)}{origin} {kinds} ({years})"


def _penalty_text(regime: Regime) -> str:
    penalty = regime.penalty
    if penalty.kind is PenaltyKind.FIXED_PER_TONNE:
        text = f"{_money(penalty.fixed_per_t_minor, regime.currency)}/t"
    elif penalty.kind is PenaltyKind.MARKET_PRICE_MULTIPLE:
        text = f"{_times(penalty.price_multiple)} {penalty.price_window_months}-month avg price"
        if penalty.cap_per_t_minor is not None:
            text += f", at most {_money(penalty.cap_per_t_minor, regime.currency)}/t"
    elif penalty.kind is PenaltyKind.ADDED_OBLIGATION:
        text = f"surrender {_times(penalty.obligation_multiple)} the shortfall"
        if penalty.allowance_share_min:
            text += f", ≥ {_percent(penalty.allowance_share_min)} allowances"
    else:
        text = "none"
    return text + (" + make good" if penalty.make_good else "")


def _money(minor: int, currency: str) -> str:
    digits = CURRENCY_MINOR_DIGITS[currency]
    if digits == 0:
        return f"{currency} {minor:,}"
    major, rest = divmod(minor, 10**digits)
    return f"{currency} {major:,}.{rest:0{digits}d}"


def _minor_unit_text(currency: str) -> str:
    digits = CURRENCY_MINOR_DIGITS[currency]
    return "whole units" if digits == 0 else f"minor units of 1/{10**digits}"


def _percent(share: Fraction) -> str:
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


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


# ---------------------------------------------------------------- compliance
# Kept as one section (imports included) so the rest of the CLI is untouched.

import math  # noqa: E402

from compliance.book import ComplianceBook, compliance_stream, founding_regime_key  # noqa: E402
from compliance.calendar import DeadlineKind as _DeadlineKind  # noqa: E402
from compliance.events import PeriodOutcome, Status  # noqa: E402
from etslink.compliance_session import (  # noqa: E402
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
    book_founded_at,
    limit_rooms,
    load_compliance_session,
    open_periods,
    period_emissions,
    positions,
    run_session,
    tonnes_text,
    verify_book_journal,
)

_COMPLIANCE_FIXTURE = "fixtures/compliance/korea-2015.toml"
_ALLOCATIONS_SHOWN_MAX = 6


@cli.group("compliance")
def compliance() -> None:
    """Run a compliance cycle on a registry: entities, MRV, surrender, deadlines, penalties."""


@compliance.command("session")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_db_option
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
    with _guarded():
        session = load_compliance_session(file)
        if code is not None and code != session.code:
            raise StoreError(f"{file} runs registry {session.code}, not {code}")
        rehearsal = run_session(session, "sqlite://", SigningKey.generate())
        failed = rehearsal.failed
        if failed is not None:
            _print_steps(session, rehearsal)
            _fail(
                EXIT_REFUSED,
                f"{file}: steps[{failed.step.index}] ({failed.step.op}) did not go as written; "
                "nothing was stored",
            )
        key_file = _key_path(db, session.code, key_path)
        _prepare_store(db, session.code, key_file, replace)
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
        _print_status(run.book, session.start.year)
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
@_db_option
def compliance_status_command(db: str, code: str | None, key_path: Path | None) -> None:
    """Show each entity's status per period: emissions, obligation, surrendered, penalty."""
    with _open_book(db, code, key_path) as (book, since_year):
        console.rule(f"[bold]{book.regime.name}[/] ({book.registry.code}) — {db}")
        _print_status(book, since_year)
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
@_db_option
def compliance_entity_command(
    entity: str, period: int | None, db: str, code: str | None, key_path: Path | None
) -> None:
    """Show ENTITY's obligation per open period and what of its holdings it may surrender."""
    with _open_book(db, code, key_path) as (book, since_year):
        account = book.registry.account(book.account_of(entity))
        plan = book.mrv.entity(entity).plan
        regime = book.regime
        periods = open_periods(book, since_year)
        judged = period if period is not None else _default_period(book, periods)
        calendar = regime.calendar
        if judged < calendar.first_year or calendar.period_of(judged) != judged:
            raise click.BadParameter(
                f"{judged} does not start a compliance period of {regime.name} "
                f"(periods of {calendar.period_years} year(s) from {calendar.first_year})",
                param_hint="--period",
            )
        _print_fields(
            f"{entity}: {book.mrv.entity(entity).name}",
            [
                ("account", f"{account.account_id} ({account.label}, {account.status.value})"),
                (
                    "gases monitored",
                    ", ".join(gas.value for gas in sorted(plan.gases, key=list(Gas).index)),
                ),
                ("indirect emissions", _yes(plan.indirect)),
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
def _open_book(
    db: str, code: str | None, key_path: Path | None
) -> Iterator[tuple[ComplianceBook, int]]:
    """Open a registry and its compliance book (regime from its founding event)."""
    with _open(db, code, key_path) as opened:
        engine = opened.journal.engine
        stream = compliance_stream(opened.code)
        if stream not in list_streams(engine):
            raise StoreError(
                f"registry {opened.code} in {db} has no compliance book; start one with "
                f"'etslink compliance session {_COMPLIANCE_FIXTURE}'"
            )
        key = _load_key(_key_path(db, opened.code, key_path))
        last = last_sim_time(engine, stream)
        if last is not None and parse_time(last) > opened.clock.now():
            opened.clock.set(parse_time(last))  # a deadline handled after the last unit moved
        regime = load_preset(founding_regime_key(opened, key))
        book = ComplianceBook.open(opened, regime, key)
        yield book, book_founded_at(engine, opened.code).year


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
            return f"average price {year}: {_money(price_minor, regime.currency)}/t"
        case Advance(to=to):
            return f"advance to {to:%Y-%m-%d %H:%M} UTC"
    raise AssertionError(f"no description for {step.action!r}")


def _gases_text(quantities: tuple[tuple[Gas, int], ...]) -> str:
    return ", ".join(f"{gas.value} {quantity_t:,}" for gas, quantity_t in quantities)


def _print_status(book: ComplianceBook, since_year: int) -> None:
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
    periods = open_periods(book, since_year)
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
            f"fines {_money(fines_minor, regime.currency)} in all",
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
        _money(penalty.fine_minor, book.regime.currency) if penalty.fine_minor else "—",
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
        text += f", fined {_money(outcome.penalty.fine_minor, book.regime.currency)}"
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
            _percent(limit.share),
            "/".join(sorted(kind.value.replace("_", " ") for kind in limit.unit_kinds)),
            limit.origin.value,
            f"{room.used_t:,}",
            "not yet verified" if room.allowed_t is None else f"{room.allowed_t:,}",
            "—" if room.room_t is None else f"{room.room_t:,}",
        )
    console.print(table)
