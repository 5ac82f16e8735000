"""`etslink registry …`: sessions, queries and commands on one registry.

Every query shows a table that fits the terminal, or `--json` / `--csv` for tools
(`etslink.cli.output`); every command that acts prints the accepted event, or
with `--json` the event as JSON.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.text import Text

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
    at_option,
    db_option,
    default_key_path,
    existing_engine,
    fail,
    guarded,
    load_key,
    open_registry,
    pick_registry,
    prepare_store,
    reason_option,
    start_hint,
)
from etslink.sessions.registry import (
    Outcome,
    RegistrySession,
    SessionResult,
    build_registry,
    load_session,
    run_operations,
)
from registry import (
    AccountKind,
    CheckCode,
    Registry,
    RegistryError,
    SigningKey,
    SimulatedClock,
    StoreError,
    make_engine,
    verify_journal,
)
from registry.clock import format_time
from registry.controls import PendingTransfer
from registry.events import event_from_data
from registry.journal import read_entries

JOURNAL_LAST_MAX = 100_000  # events one `journal` call reads; `verify` reads them all


@click.group()
def registry() -> None:
    """Work with one emissions-trading registry: units, accounts, its journal."""


def _console() -> Console:
    # Made per command, so the width is the terminal's (or COLUMNS) when it runs.
    return Console(highlight=False)


# ---------------------------------------------------------------- session


@registry.command("session")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@db_option
@click.option(
    "--replace", is_flag=True, help="Delete an existing SQLite store (and its key) first."
)
@format_options()
def session_command(
    file: Path, db: str, code: str | None, key_path: Path | None, replace: bool, fmt: str | None
) -> None:
    """Create a registry from FILE and run its scripted operations.

    The whole session is rehearsed in memory first, so a mistake in FILE
    leaves no half-built registry behind. `--csv` writes the operations.
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
            emit(Report("registry-session", [_operations_section(rehearsal)]), fmt)
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
        registry.check_conservation()
        report = _session_report(session, result, registry, file, db, key_file, key)
        if fmt is None:
            _print_session(session, file, report)
        else:
            emit(report, fmt)
        registry.close()


def _session_report(
    session: RegistrySession,
    result: SessionResult,
    registry: Registry,
    file: Path,
    db: str,
    key_file: Path,
    key: SigningKey,
) -> Report:
    """Verify the stored session's journal; return its operations, holdings and totals."""
    seq, head = verify_journal(registry.journal.engine, session.code, key.verify_key)
    return Report(
        "registry-session",
        [_operations_section(result), _holdings_section(registry), _totals_section(registry)],
        {
            "file": str(file),
            "registry": session.code,
            "name": session.name,
            "store": db,
            "key_file": str(key_file),
            "key_fingerprint": key.fingerprint,
            "journal": {"events": seq, "head": head},
            "conservation": True,
        },
        csv_section="operations",
    )


def _print_session(session: RegistrySession, file: Path, report: Report) -> None:
    out = _console()
    print_titled(report, f"{session.name} ({session.code}) — {file}", session.description, out)
    extra = report.extra
    journal = extra["journal"]
    db = extra["store"]
    out.print(
        Text(
            "✓ conservation: every issued serial is in exactly one account\n"
            f"✓ journal verified: {journal['events']} events, "
            f"head {journal['head'][:HASH_SHOWN_CHARS]}…, "
            f"signed by key {extra['key_fingerprint']}\n"
            f"store: {db}   key: {extra['key_file']}\n"
            f"next: {start_hint(db, 'etslink registry holdings')}\n"
            f"      {start_hint(db, 'etslink registry journal')}\n"
            f"      {start_hint(db, 'etslink registry verify')}\n"
            "      etslink registry --help"
        )
    )


def _run_session(session: RegistrySession, create: Callable[..., Registry]) -> SessionResult:
    registry = build_registry(session, create)
    return run_operations(registry, session)


def _operations_section(result: SessionResult) -> Section:
    return Section(
        "operations",
        [_outcome_row(outcome) for outcome in result.outcomes],
        [
            Column("index", "#", "number", show=str),
            Column("description", "operation"),
            Column("result_text", "result"),
            Column("note", "note", drop=1),
        ],
        title="Operations",
    )


def _outcome_row(outcome: Outcome) -> dict[str, Any]:
    operation = outcome.operation
    expected = None if operation.expect_code is None else int(operation.expect_code)
    if outcome.accepted:
        text = "accepted" if outcome.as_expected else f"accepted, expected {expected}"
    else:
        text = f"refused {int(outcome.code or 0)}: {outcome.message}"
    return {
        "index": operation.index,
        "op": operation.op,
        "arguments": {key: _plain(value) for key, value in operation.arguments.items()},
        "at": None if operation.at is None else format_time(operation.at),
        "description": operation.describe(),
        "accepted": outcome.accepted,
        "code": None if outcome.code is None else int(outcome.code),
        "code_name": None if outcome.code is None else outcome.code.name,
        "expect_code": expected,
        "as_expected": outcome.as_expected,
        "message": outcome.message,
        "result_text": text,
        "note": operation.note,
    }


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


# ---------------------------------------------------------------- queries


def _holdings_section(registry: Registry, account: str | None = None) -> Section:
    rows = []
    records = [registry.account(account)] if account else registry.accounts()
    for record in records:
        positions: dict[tuple[str, int], int] = {}
        for block in record.holding.blocks():
            key = (block.unit_type, block.vintage)
            positions[key] = positions.get(key, 0) + block.quantity
        for (unit_type, vintage), quantity_t in sorted(positions.items()):
            rows.append(
                {
                    "account_id": record.account_id,
                    "label": record.label,
                    "account_kind": record.kind.value,
                    "unit_type": unit_type,
                    "vintage": vintage,
                    "quantity_t": quantity_t,
                }
            )
    return Section(
        "holdings",
        rows,
        [
            Column("account_id", "account", "id"),
            Column("label", "label", drop=2),
            Column("account_kind", "kind", drop=1),
            Column("unit_type", "unit", "id"),
            Column("vintage", "vintage", "number", show=str),
            Column("quantity_t", "quantity", "number"),
        ],
        title=f"Holdings in {registry.code}" + (f", account {account}" if account else "") + " (t)",
    )


def _blocks_section(registry: Registry, account: str | None = None) -> Section:
    rows = []
    records = [registry.account(account)] if account else registry.accounts()
    for record in records:
        for block in record.holding.blocks():
            rows.append(
                {
                    "account_id": record.account_id,
                    "label": record.label,
                    "origin": block.origin,
                    "unit_type": block.unit_type,
                    "vintage": block.vintage,
                    "serial_start": block.start,
                    "serial_end": block.end,
                    "quantity_t": block.quantity,
                    "project_id": block.project_id,
                    "article6_authorized": block.article6_authorized,
                }
            )
    return Section(
        "blocks",
        rows,
        [
            Column("account_id", "account", "id"),
            Column("label", "label", drop=2),
            Column("unit_type", "unit", "id"),
            Column("vintage", "vintage", "number", show=str),
            Column("serial_start", "first", "number", show=str),
            Column("serial_end", "last", "number", show=str),
            Column("quantity_t", "quantity", "number", drop=1),
        ],
        title="Serial blocks (first and last serial; quantity in t)",
    )


def _totals_section(registry: Registry) -> Section:
    rows = []
    for code in sorted(registry.ledger.unit_types):
        totals = registry.ledger.totals(code)
        if any((totals.issued, totals.held, totals.locked)):
            rows.append(
                {
                    "unit_type": code,
                    "issued_t": totals.issued,
                    "held_t": totals.held,
                    "locked_t": totals.locked,
                    "surrendered_t": totals.surrendered,
                    "cancelled_t": totals.cancelled,
                    "retired_t": totals.retired,
                }
            )
    return Section(
        "totals",
        rows,
        [
            Column("unit_type", "unit", "id"),
            Column("issued_t", "issued", "number"),
            Column("held_t", "held", "number"),
            Column("locked_t", "locked", "number", drop=3),
            Column("surrendered_t", "surrendered", "number"),
            Column("cancelled_t", "cancelled", "number", drop=2),
            Column("retired_t", "retired", "number", drop=1),
        ],
        title="Totals by unit type (t)",
    )


@registry.command("holdings")
@click.argument("account", required=False)
@click.option("--blocks", "show_blocks", is_flag=True, help="Show serial ranges too.")
@db_option
@format_options()
def holdings_command(
    account: str | None,
    show_blocks: bool,
    db: str,
    code: str | None,
    key_path: Path | None,
    fmt: str | None,
) -> None:
    """Show holdings by account, unit type and vintage (optionally one ACCOUNT).

    `--csv` writes the holdings, or with `--blocks` the serial blocks.
    """
    with open_registry(db, code, key_path) as opened, guarded():
        if account is not None:
            _check_account(opened, account)
        sections = [_holdings_section(opened, account)]
        if show_blocks:
            sections.append(_blocks_section(opened, account))
        sections.append(_totals_section(opened))
        csv_section = "blocks" if show_blocks else "holdings"
        emit(Report("registry-holdings", sections, {"registry": opened.code}, csv_section), fmt)


def _check_account(registry: Registry, reference: str) -> None:
    """Exit 1 naming the account when `reference` is no label or id in `registry`."""
    try:
        registry.account(reference)
    except RegistryError as error:
        if error.code is not CheckCode.TRANSFERRING_ACCOUNT_DOES_NOT_EXIST:
            raise
        fail(
            EXIT_REFUSED,
            f"no account {reference!r} in registry {registry.code}; "
            "'etslink registry accounts' lists its labels and ids",
        )


@registry.command("accounts")
@db_option
@format_options()
def accounts_command(db: str, code: str | None, key_path: Path | None, fmt: str | None) -> None:
    """List accounts with their identifiers, kinds, holders, statuses and balances."""
    with open_registry(db, code, key_path) as opened:
        representatives = opened.ledger.controls.state.representatives
        rows = [
            {
                "account_id": record.account_id,
                "label": record.label,
                "account_kind": record.kind.value,
                "holder": record.holder,
                "status": record.status.value,
                "balance_t": record.holding.balance(),
                "representatives": list(representatives.get(record.account_id, ())),
            }
            for record in opened.accounts()
        ]
        columns = [
            Column("account_id", "account", "id"),
            Column("label", "label"),
            Column("account_kind", "kind", drop=1),
            Column("holder", "holder", drop=2),
            Column("status", "status"),
            Column("balance_t", "balance", "number"),
        ]
        title = f"Accounts in {opened.code} (balances in t)"
        section = Section("accounts", rows, columns, title=title)
        emit(Report("registry-accounts", [section], {"registry": opened.code}), fmt)


@registry.command("journal")
@click.option(
    "--last",
    type=click.IntRange(1, JOURNAL_LAST_MAX),
    default=20,
    show_default=True,
    help=f"How many of the latest events to show (1 to {JOURNAL_LAST_MAX:,}).",
)
@db_option
@format_options()
def journal_command(
    last: int, db: str, code: str | None, key_path: Path | None, fmt: str | None
) -> None:
    """Show the latest journal events: seq, simulated time, kind, event, hash.

    `--json` and `--csv` give each event's full hash and its data as journaled.
    """
    with open_registry(db, code, key_path) as opened:
        head = opened.journal.committed_seq
        rows = []
        for entry in read_entries(opened.journal.engine, opened.code, max(0, head - last)):
            event = event_from_data(entry.kind, entry.data)
            rows.append(
                {
                    "seq": entry.seq,
                    "sim_time": entry.sim_time,
                    "kind": entry.kind,
                    "event": _describe(event),
                    "hash": entry.hash,
                    "data": entry.data,
                }
            )
        columns = [
            Column("seq", "seq", "number", show=str),
            Column("sim_time", "time", "id"),
            Column("kind", "kind", drop=2),
            Column("event", "event"),
            Column("hash", "hash", "id", show=lambda value: value[:HASH_SHOWN_CHARS], drop=1),
        ]
        section = Section(
            "events",
            rows,
            columns,
            title=f"Journal of {opened.code} (head seq {head}; simulated time, UTC)",
        )
        extra = {"registry": opened.code, "head_seq": head}
        emit(Report("registry-journal", [section], extra), fmt)


@registry.command("transfers")
@click.option("--open", "open_only", is_flag=True, help="Only those awaiting approval or delayed.")
@db_option
@format_options()
def transfers_command(
    open_only: bool, db: str, code: str | None, key_path: Path | None, fmt: str | None
) -> None:
    """List the transfers representatives initiated under the transfer controls."""
    with open_registry(db, code, key_path) as opened:
        state = opened.ledger.controls.state
        records = (state.open if open_only else state.transfers).values()
        rows = [_transfer_row(record) for record in records]
        columns = [
            Column("transaction_id", "transfer", "id"),
            Column("from_account", "from", "id"),
            Column("to_account", "to", "id"),
            Column("unit_type", "unit", "id", drop=3),
            Column("quantity_t", "quantity", "number"),
            Column("status", "status"),
            Column("execute_at", "executes", "id", drop=1),
            Column("initiator", "initiator", drop=2),
        ]
        section = Section(
            "transfers",
            rows,
            columns,
            title=f"Controlled transfers in {opened.code} (t; times UTC)",
        )
        emit(Report("registry-transfers", [section], {"registry": opened.code}), fmt)


def _transfer_row(record: PendingTransfer) -> dict[str, Any]:
    return {
        "transaction_id": record.transaction_id,
        "from_account": record.from_account,
        "to_registry": record.to_registry,
        "to_account": record.to_account,
        "unit_type": record.unit_type,
        "vintage": record.vintage,
        "quantity_t": record.quantity,
        "initiator": record.initiator,
        "approver": record.approver,
        "status": record.status.name.lower(),
        "status_code": int(record.status),
        "execute_at": None if record.execute_at is None else format_time(record.execute_at),
        "code": record.code or None,
        "message": record.message,
    }


@registry.command("verify")
@db_option
@format_options(csv_ok=False)
def verify_command(db: str, code: str | None, key_path: Path | None, fmt: str | None) -> None:
    """Verify the whole hash chain, the signed head and conservation of units."""
    with guarded():
        engine = existing_engine(db)
        code = pick_registry(engine, db, code)
        key = load_key(default_key_path(db, code, key_path))
        seq, head = verify_journal(engine, code, key.verify_key)
    with open_registry(db, code, key_path) as opened:
        opened.check_conservation()
    if fmt == "json":
        extra = {
            "registry": code,
            "events": seq,
            "head": head,
            "key_fingerprint": key.fingerprint,
            "chain_verified": True,
            "conservation": True,
        }
        emit(Report("registry-verify", [], extra), fmt)
        return
    _console().print(
        Text(
            f"✓ {code}: {seq} events, chain and signatures verify "
            f"(head {head[:HASH_SHOWN_CHARS]}…, key {key.fingerprint}); conservation holds"
        )
    )


# ---------------------------------------------------------------- commands


def _command(
    name: str,
    help_text: str,
    arguments: list[click.Parameter],
    run: Callable[..., Any],
    reason: bool | None = None,
) -> None:
    """Register `etslink registry NAME`: open, run one registry command, report, commit.

    `reason`: None when the command takes no `--reason`, else whether it must be given.
    """

    @db_option
    @at_option
    @format_options(csv_ok=False)
    def command(
        db: str,
        code: str | None,
        key_path: Path | None,
        at: datetime | None,
        fmt: str | None,
        **values: Any,
    ) -> None:
        if reason and values["reason"] is None:
            # Click 8.4 passes None for a required option whose default is None.
            raise click.MissingParameter(param_hint="'--reason'", param_type="option")
        with open_registry(db, code, key_path, at) as opened, guarded():
            event = run(opened, **values)
            opened.flush()
            seq = opened.journal.committed_seq
            if fmt == "json":
                accepted = {
                    "registry": opened.code,
                    "seq": seq,
                    "sim_time": format_time(opened.clock.now()),
                    "description": _describe(event),
                    **_event_data(event),
                }
                emit(Report("registry-accepted", [], accepted), fmt)
            else:
                _console().print(Text(f"accepted (seq {seq}): {_describe(event)}"))

    command.__doc__ = help_text
    if reason is not None:
        command = reason_option(reason)(command)
    click_command = click.command(name, help=help_text)(command)
    click_command.params.extend(arguments)
    registry.add_command(click_command)


def _event_data(event: Any) -> dict[str, Any]:
    """Return what a command accepted as JSON-ready data: its event, or its transfer(s)."""
    if isinstance(event, PendingTransfer):
        return {"kind": "controlled_transfer", "transfer": _transfer_row(event)}
    if isinstance(event, list):
        return {
            "kind": "released",
            "events": [
                {"kind": item.kind, "data": item.to_data()}
                if hasattr(item, "to_data")
                else {"kind": type(item).__name__, "data": str(item)}
                for item in event
            ],
        }
    return {"kind": event.kind, "data": event.to_data()}


def _describe(event: Any) -> str:
    if isinstance(event, PendingTransfer):
        when = "" if event.execute_at is None else f", executes {format_time(event.execute_at)}"
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
    fields = ", ".join(
        f"{key} {_field_text(value)}"
        for key, value in event.to_data().items()
        if value not in (None, "")
    )
    return f"{event.kind.replace('_', ' ')}: {fields}"


def _field_text(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


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
    [click.Argument(["account"])],
    lambda r, **v: r.block_account(v["account"], v["reason"]),
    reason=False,
)
_command(
    "unblock",
    "Unblock ACCOUNT.",
    [click.Argument(["account"])],
    lambda r, **v: r.unblock_account(v["account"], v["reason"]),
    reason=False,
)
_command(
    "close",
    "Close an empty ACCOUNT for good.",
    [click.Argument(["account"])],
    lambda r, **v: r.close_account(v["account"], v["reason"]),
    reason=False,
)
_command(
    "suspend",
    "Suspend the registry: only allocation and surrender go on.",
    [],
    lambda r, **v: r.suspend(v["reason"]),
    reason=True,
)
_command(
    "resume",
    "Lift a registry-wide suspension.",
    [],
    lambda r, **v: r.resume(v["reason"]),
    reason=True,
)
_command(
    "quarantine",
    "Quarantine serials START..END of UNIT_TYPE and VINTAGE: nothing may move them.",
    [
        click.Argument(["unit_type"]),
        click.Argument(["vintage"], type=int),
        click.Argument(["start"], type=int),
        click.Argument(["end"], type=int),
    ],
    lambda r, **v: r.quarantine_serials(
        v["unit_type"], v["vintage"], v["start"], v["end"], v["reason"]
    ),
    reason=True,
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
        click.Option(
            ["--payee-registry"], default=None, help="The payee's registry (default: this one)."
        ),
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
