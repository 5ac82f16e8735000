"""`etslink registry …`: sessions, queries and commands on one registry."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from etslink.cli.support import (
    EXIT_REFUSED,
    at_option,
    console,
    db_option,
    default_key_path,
    existing_engine,
    fail,
    guarded,
    load_key,
    open_registry,
    pick_registry,
    prepare_store,
)
from etslink.sessions.registry import (
    RegistrySession,
    SessionResult,
    build_registry,
    load_session,
    run_operations,
)
from registry import (
    AccountKind,
    Registry,
    SigningKey,
    SimulatedClock,
    StoreError,
    make_engine,
    verify_journal,
)
from registry.controls import PendingTransfer
from registry.events import event_from_data
from registry.journal import read_entries


@click.group()
def registry() -> None:
    """Work with one emissions-trading registry: units, accounts, its journal."""


# ---------------------------------------------------------------- session


@registry.command("session")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@db_option
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
    with guarded():
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
            fail(
                EXIT_REFUSED,
                f"{file}: operation {rehearsal.failed.operation.index} did not go as "
                "written; nothing was stored",
            )
        key_file = default_key_path(db, session.code, key_path)
        prepare_store(db, session.code, key_file, replace)
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
@db_option
def holdings_command(
    account: str | None, show_blocks: bool, db: str, code: str | None, key_path: Path | None
) -> None:
    """Show holdings by account, unit type and vintage (optionally one ACCOUNT)."""
    with open_registry(db, code, key_path) as opened, guarded():
        _print_holdings(opened, account, show_blocks)
        _print_totals(opened)


@registry.command("accounts")
@db_option
def accounts_command(db: str, code: str | None, key_path: Path | None) -> None:
    """List accounts with their identifiers, kinds and statuses."""
    with open_registry(db, code, key_path) as opened:
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
@db_option
def journal_command(last: int, db: str, code: str | None, key_path: Path | None) -> None:
    """Show the latest journal events: seq, simulated time, kind, body, hash."""
    with open_registry(db, code, key_path) as opened:
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
@db_option
def verify_command(db: str, code: str | None, key_path: Path | None) -> None:
    """Verify the whole hash chain, the signed head and conservation of units."""
    with guarded():
        engine = existing_engine(db)
        code = pick_registry(engine, db, code)
        key = load_key(default_key_path(db, code, key_path))
        seq, head = verify_journal(engine, code, key.verify_key)
    with open_registry(db, code, key_path) as opened:
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

    @db_option
    @at_option
    def command(
        db: str, code: str | None, key_path: Path | None, at: datetime | None, **values: Any
    ) -> None:
        with open_registry(db, code, key_path, at) as opened, guarded():
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
    if isinstance(event, PendingTransfer):
        when = "" if event.execute_at is None else f", executes {event.execute_at.isoformat()}"
        return (
            f"transfer {event.transaction_id} {event.quantity:,} t {event.unit_type} "
            f"{event.from_account} -> {event.to_account}: status {int(event.status)} "
            f"{event.status.name.lower()}{when}"
        )
    if isinstance(event, list):
        return f"{len(event)} due transfer(s) executed or ended"
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
    "Suspend the registry: only allocation and surrender go on.",
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

# ---------------------------------------------------------------- transfer controls

_representative = click.Option(
    ["--as", "representative"], required=True, help="The authorised representative acting."
)
_command(
    "add-representative",
    "Name REPRESENTATIVE an authorised representative of ACCOUNT (administrator).",
    [click.Argument(["account"]), click.Argument(["representative"])],
    lambda r, **v: r.add_representative(v["account"], v["representative"]),
)
_command(
    "add-trusted",
    "Put PAYEE on ACCOUNT's trusted list; it counts after the registry's delay.",
    [
        click.Argument(["account"]),
        click.Argument(["payee"]),
        click.Option(["--registry", "payee_registry"], default=None, help="Payee's registry."),
    ],
    lambda r, **v: r.add_trusted_account(v["account"], v["payee"], v["payee_registry"]),
)
_command(
    "initiate",
    "Initiate transfer ID of QUANTITY UNIT_TYPE from SOURCE to TARGET as a representative.",
    [
        click.Argument(["transaction_id"]),
        click.Argument(["source"]),
        click.Argument(["target"]),
        click.Argument(["unit_type"]),
        click.Argument(["quantity"], type=int),
        _representative,
        _vintage,
    ],
    lambda r, **v: r.initiate_transfer(
        v["transaction_id"],
        v["source"],
        v["target"],
        v["unit_type"],
        v["quantity"],
        v["representative"],
        v["vintage"],
    ),
)
_command(
    "approve",
    "Approve transfer TRANSACTION_ID as a second authorised representative.",
    [click.Argument(["transaction_id"]), _representative],
    lambda r, **v: r.approve_transfer(v["transaction_id"], v["representative"]),
)
_command(
    "cancel-transfer",
    "Cancel transfer TRANSACTION_ID while it awaits approval or its execution time.",
    [click.Argument(["transaction_id"]), _representative],
    lambda r, **v: r.cancel_transfer(v["transaction_id"], v["representative"]),
)
_command(
    "release",
    "Execute the approved internal transfers whose delay has run out (use --at).",
    [],
    lambda r, **v: r.release_due(),
)
