"""`etslink link …`: registries joined by a gateway, driven from a federation file.

Every command reads the federation file, opens the gateway and each
registry with its endpoint from their stores (replaying and verifying their
journals), acts, lets the network deliver every message, and commits. All
participants share one simulated clock: it starts at the latest moment
found in their journals, and `--at` moves it forward first (and with it the
gateway's time-outs and transfer windows).

Commands that list or report (`show`, `transfers`, `reconcile`, `article6`,
`alerts`, and `transfer`'s outcome) print a table that fits the terminal, or
with `--json` / `--csv` every field for tools (`etslink/cli/output.py`); then
what time passing did (transfers that moved on, scheduled reconciliations) goes
to standard error, so standard output holds the document alone.

Exit codes, as for every etslink command: 0 done; 1 refused (the check code
and message are printed), a transfer rejected or terminated, or a
reconciliation inconsistent; 2 a usage or federation-file error; 3 a
journal that does not verify.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from sqlalchemy import Engine

from etslink.cli.output import Column, Report, Section, emit, format_options
from etslink.cli.support import (
    EXIT_REFUSED,
    EXIT_USAGE,
    MOMENT,
    at_option,
    console,
    errors,
    existing_engine,
    fail,
    guarded,
    reason_option,
    refuse_past,
    sqlite_file_of,
)
from etslink.reports.figures import number
from etslink.sessions.federation import FederationFile, load_federation
from gateway.article6 import Article6ReportRow
from gateway.endpoint import RegistryEndpoint, TransferOrder, link_stream
from gateway.errors import GatewayError, LinkCode
from gateway.federation import Federation, ScheduledReconciliation
from gateway.gateway import Gateway, TransferRecord
from gateway.links import Direction, Link, LinkState
from gateway.messages import ID_LENGTH_MAX, TransactionStatus
from gateway.reconciliation import ReconciliationReport, ReconciliationStatus, TotalsRow
from registry import Registry, SigningKey, SimulatedClock, StoreError, make_engine
from registry.clock import format_time, parse_time
from registry.errors import CheckCode
from registry.journal import last_sim_time, list_streams

TRANSFER_ID_ATTEMPTS_MAX = 1_000  # generated ids tried past the count before giving up


# A missing or unreadable file is the loader's one-line error (exit 2), like any other.
_federation_argument = click.argument("federation_file", type=click.Path(path_type=Path))
_formats = format_options()


def _notices(fmt: str | None) -> Console:
    """Where what time passing did is printed: standard error when stdout is for tools."""
    return errors if fmt else console


@click.group()
def link() -> None:
    """Registries joined by a linking gateway: transfers, link states, reconciliation."""


# ---------------------------------------------------------------- opening


@dataclass
class _Stores:
    """One engine per store URL: registries may share a store or each have their own."""

    engines: dict[str, Engine]

    def existing(self, url: str) -> Engine:
        if url not in self.engines:
            self.engines[url] = existing_engine(url)
        return self.engines[url]

    def any(self, url: str) -> Engine:
        if url not in self.engines:
            self.engines[url] = make_engine(url)
        return self.engines[url]


def _load_key(path: Path, whose: str) -> SigningKey:
    try:
        return SigningKey.load(path)
    except FileNotFoundError:
        raise StoreError(
            f"{whose}'s key {path} not found; set `key` in the federation file"
        ) from None
    except ValueError as error:
        raise StoreError(f"{whose}'s key {path} is not an Ed25519 PEM key: {error}") from None


def _open_registries(
    spec: FederationFile, stores: _Stores, clock: SimulatedClock
) -> list[tuple[Registry, SigningKey]]:
    opened = []
    for member in spec.members:
        key = _load_key(member.key_path, f"registry {member.code}")
        opened.append((Registry.open(stores.existing(member.db), member.code, key, clock), key))
    return opened


def _require_registries(spec: FederationFile, stores: _Stores, endpoints: bool) -> None:
    """Check each registry exists, and has (or, before setup, has not) its endpoint journal."""
    for member in spec.members:
        streams = list_streams(stores.existing(member.db))
        if member.code not in streams:
            raise StoreError(
                f"no registry {member.code} in {member.db}; create it first with "
                f"'etslink registry session FILE --db {member.db}'"
            )
        joined = link_stream(member.code) in streams
        if endpoints and not joined:
            raise StoreError(
                f"registry {member.code} in {member.db} has no endpoint journal "
                f"({link_stream(member.code)}); run 'etslink link setup {spec.path}'"
            )
        if not endpoints and joined:
            raise StoreError(
                f"registry {member.code} in {member.db} was joined to a gateway before (its "
                f"endpoint journal {link_stream(member.code)} exists); {_start_over(spec)}"
            )


def _start_over(spec: FederationFile) -> str:
    gateway_file = sqlite_file_of(spec.gateway_db)
    gateway = (
        f"delete {gateway_file} and {spec.gateway_key_path}"
        if gateway_file is not None
        else f"drop the gateway's database {spec.gateway_db} and delete {spec.gateway_key_path}"
    )
    return (
        f"to start over, {gateway}, re-create each registry with "
        "'etslink registry session FILE --db URL --replace', then run setup again"
    )


def _start_time(spec: FederationFile, stores: _Stores, streams: list[tuple[str, str]]) -> datetime:
    """Return the latest simulated time in the participants' journals (or the clock's start)."""
    times = [last_sim_time(stores.existing(url), stream) for url, stream in streams]
    found = [parse_time(text) for text in times if text is not None]
    return max(found) if found else SimulatedClock().now()


def _participant_streams(spec: FederationFile) -> list[tuple[str, str]]:
    streams = [(spec.gateway_db, spec.gateway_id)]
    for member in spec.members:
        streams += [(member.db, member.code), (member.db, link_stream(member.code))]
    return streams


@contextmanager
def open_federation(
    spec: FederationFile, at: datetime | None = None, notices: Console = console
) -> Iterator[Federation]:
    """Open the gateway and every registry's endpoint; move time to `at`; commit on the way out.

    Messages left undelivered by an earlier run, and work that fell due
    (time-outs, opened windows), are dealt with before the command acts; what
    they changed is printed on `notices`.
    """
    stores = _Stores({})
    gateway_file = sqlite_file_of(spec.gateway_db)
    if gateway_file is not None and not gateway_file.exists():
        raise StoreError(
            f"no gateway store at {gateway_file}; run 'etslink link setup {spec.path}' first"
        )
    gateway_engine = stores.existing(spec.gateway_db)
    if spec.gateway_id not in list_streams(gateway_engine):
        raise StoreError(
            f"no gateway {spec.gateway_id} in {spec.gateway_db}; run 'etslink link setup "
            f"{spec.path}' first"
        )
    _require_registries(spec, stores, endpoints=True)
    gateway_key = _load_key(spec.gateway_key_path, f"gateway {spec.gateway_id}")
    clock = SimulatedClock(_start_time(spec, stores, _participant_streams(spec)))
    registries = _open_registries(spec, stores, clock)
    try:
        gateway = Gateway.open(gateway_engine, spec.gateway_id, gateway_key, clock)
        # The gateway's journal is the record of the links (and their states) since setup.
        links = list(gateway.links.values())
        _warn_if_links_changed(spec, links)
        endpoints = [
            RegistryEndpoint.open(registry, key, spec.gateway_id, links)
            for registry, key in registries
        ]
        federation = Federation(gateway, endpoints, {r.code: k for r, k in registries})
        _move_time(federation, at, notices)
        yield federation
        federation.flush()
    finally:
        for registry, _ in registries:
            registry.close()


def _move_time(federation: Federation, at: datetime | None, notices: Console) -> None:
    clock = federation.gateway.clock
    if at is not None:
        refuse_past(at, clock.now(), "the federation's")
    before = _open_statuses(federation.gateway)
    runs = federation.advance(at or clock.now())
    if at is not None:
        notices.print(f"simulated time: {format_time(clock.now())}", highlight=False)
    _print_changes(federation.gateway, before, notices)
    _print_scheduled_reconciliations(runs, notices)


def _print_scheduled_reconciliations(runs: list[ScheduledReconciliation], notices: Console) -> None:
    """Summarise the daily reconciliations time passed through; name each that did not pass."""
    if not runs:
        return
    passed = sum(1 for run in runs if run.is_consistent)
    notices.print(f"scheduled reconciliations: {passed} of {len(runs)} consistent", highlight=False)
    for run in runs:
        if isinstance(run.outcome, ReconciliationReport):
            if not run.is_consistent:
                notices.print(
                    f"  {format_time(run.at)} {run.registry}: {run.outcome.status.label}, "
                    f"{len(run.outcome.discrepancies)} discrepancies — "
                    "see 'etslink link reconcile'",
                    highlight=False,
                )
        else:
            notices.print(
                f"  {format_time(run.at)} {run.registry}: "
                f"{ReconciliationStatus.START_REQUEST_DENIED.label}: {run.outcome.message}",
                highlight=False,
            )


def _warn_if_links_changed(spec: FederationFile, recorded: list[Link]) -> None:
    by_id = {link.link_id: link for link in recorded}
    for link in spec.links:
        kept = by_id.get(link.link_id)
        if kept is None:
            errors.print(
                f"[yellow]warning[/]: link {link.link_id} in the link files was not added at "
                "setup; the gateway does not know it",
                highlight=False,
            )
        elif _without_state(kept) != _without_state(link):
            errors.print(
                f"[yellow]warning[/]: link {link.link_id} in the link files differs from the "
                "gateway's record made at setup; the gateway's record applies",
                highlight=False,
            )


def _without_state(link: Link) -> dict[str, Any]:
    data = link.to_data()
    del data["state"]
    return data


def _open_statuses(gateway: Gateway) -> dict[str, TransactionStatus]:
    return {r.transfer.transaction_id: r.status for r in gateway.open_transfers()}


def _print_changes(
    gateway: Gateway, before: dict[str, TransactionStatus], notices: Console
) -> None:
    """Print each transfer that left the status it had in `before`."""
    for transfer_id, status in before.items():
        record = gateway.transfers[transfer_id]
        if record.status is not status:
            notices.print(
                f"transfer {transfer_id}: {status.name} → {_status(record.status)}"
                f"{_codes_suffix(record)}",
                highlight=False,
            )


# ---------------------------------------------------------------- setup


@link.command("setup")
@_federation_argument
def setup_command(federation_file: Path) -> None:
    """Found the gateway and each registry's endpoint for FEDERATION_FILE.

    The registries must exist already (`etslink registry session`). The
    gateway's key is generated beside its store unless the file names one
    that exists.
    """
    with guarded():
        spec = load_federation(federation_file)
        stores = _Stores({})
        gateway_file = sqlite_file_of(spec.gateway_db)
        if gateway_file is None or gateway_file.exists():
            streams = list_streams(stores.any(spec.gateway_db))
            if spec.gateway_id in streams:
                raise StoreError(
                    f"gateway {spec.gateway_id} already exists in {spec.gateway_db}; "
                    f"{_start_over(spec)}"
                )
        _require_registries(spec, stores, endpoints=False)
        clock = SimulatedClock(_start_time(spec, stores, [(m.db, m.code) for m in spec.members]))
        generated = not spec.gateway_key_path.exists()
        gateway_key = (
            SigningKey.generate()
            if generated
            else _load_key(spec.gateway_key_path, f"gateway {spec.gateway_id}")
        )
        registries = _open_registries(spec, stores, clock)
        try:
            if generated:
                gateway_key.save(spec.gateway_key_path)
            federation = Federation.create(
                stores.any(spec.gateway_db),
                gateway_key,
                registries,
                spec.links,
                clock,
                spec.gateway_id,
            )
            _admit_article6(spec, federation.gateway)
            federation.flush()
        finally:
            for registry, _ in registries:
                registry.close()
        console.rule(f"[bold]{spec.name}[/] — {federation_file}")
        if spec.description:
            console.print(spec.description.strip(), highlight=False)
        sections = [_participants_section(spec, federation), _links_section(federation.gateway)]
        emit(Report("link.setup", sections), None)
        origin = "generated" if generated else "existing"
        console.print(
            f"[green]✓[/] gateway {spec.gateway_id} founded in {spec.gateway_db} at "
            f"{format_time(clock.now())}; {origin} key {spec.gateway_key_path} "
            f"({gateway_key.fingerprint})\n"
            f"next: etslink link transfer {federation_file} --help",
            highlight=False,
        )


def _admit_article6(spec: FederationFile, gateway: Gateway) -> None:
    """Register the file's Article 6 Parties and authorisations (rehearsed when it was read)."""
    for party in spec.parties:
        gateway.register_article6_party(
            party.code, party.ndc_first_year, party.ndc_last_year, party.method
        )
    for item in spec.authorisations:
        gateway.authorise_article6(
            item.authorisation_id,
            item.party,
            item.unit_type,
            item.vintage,
            item.start,
            item.end,
            item.purposes,
        )


def _participants_section(spec: FederationFile, federation: Federation) -> Section:
    gateway = federation.gateway
    rows: list[dict[str, Any]] = [
        {
            "id": spec.gateway_id,
            "role": "gateway",
            "db": spec.gateway_db,
            "key": str(spec.gateway_key_path),
            "fingerprint": gateway.key.fingerprint,
            "journal_seq": gateway.committed_seq,
            "endpoint_seq": None,
        }
    ]
    for member in spec.members:
        endpoint = federation.endpoints[member.code]
        rows.append(
            {
                "id": member.code,
                "role": "registry",
                "db": member.db,
                "key": str(member.key_path),
                "fingerprint": endpoint.key.fingerprint,
                "journal_seq": endpoint.registry.journal.committed_seq,
                "endpoint_seq": endpoint.committed_seq,
            }
        )
    columns = [
        Column("id", "id", "id"),
        Column("role", "role", drop=3),
        Column("db", "store"),
        Column("key", "key", drop=2),
        Column("fingerprint", "fingerprint", "id", drop=1),
        Column("journal_seq", "journal", "number", drop=4),
        Column("endpoint_seq", "endpoint", "number", drop=5),
    ]
    return Section("participants", rows, columns, title="Participants")


# ---------------------------------------------------------------- show


@link.command("show")
@_federation_argument
@_formats
def show_command(federation_file: Path, fmt: str | None) -> None:
    """Show the links with their state and counters (`--json`/`--csv`: every field)."""
    with guarded():
        spec = load_federation(federation_file)
        with open_federation(spec, notices=_notices(fmt)) as federation:
            gateway = federation.gateway
            extra = {
                "federation": spec.name,
                "gateway": spec.gateway_id,
                "simulated_now": format_time(gateway.clock.now()),
            }
            report = Report("link.show", [_links_section(gateway)], extra)
    if not fmt:
        Console(highlight=False).print(
            f"{spec.name}: gateway {spec.gateway_id}, simulated now {extra['simulated_now']}"
        )
    emit(report, fmt)


def _links_section(gateway: Gateway) -> Section:
    """Return one row per link: its terms, its state and its counters."""
    rows = [_link_row(gateway.links[link_id], gateway) for link_id in sorted(gateway.links)]
    columns = [
        Column("link_id", "link", "id"),
        Column("route", "parties", "id"),
        Column("state", "state", "id"),
        Column("unit_types", "units", "text", ", ".join, drop=8),
        Column("exchange_rate_exact", "rate", "number", drop=6),
        Column("per_transfer_limit_t", "per-transfer", "number", _tonnes_or_none, drop=4),
        Column("period_cap_t", "cap", "number", _tonnes_or_none, drop=5),
        Column("completed", "done", "number"),
        Column("rejected", "rej.", "number", drop=2),
        Column("terminated", "term.", "number", drop=3),
        Column("waiting", "wait", "number", drop=1),
        Column("in_flight_t", "in-flight", "number", drop=7),
        Column("flows_t", "t/year", "id", _flows_text, drop=9),
    ]
    title = f"Links at gateway {gateway.participant_id} ({len(rows)})"
    return Section("links", rows, columns, title=title, empty="no links")


def _link_row(link: Link, gateway: Gateway) -> dict[str, Any]:
    counters = gateway.counters(link.link_id)
    return {
        "link_id": link.link_id,
        "registry_a": link.registry_a,
        "registry_b": link.registry_b,
        "direction": link.direction.value,
        "route": _route(link),
        "state": link.state.value,
        "unit_types": sorted(link.unit_types),
        "exchange_rate": number(link.exchange_rate),
        "exchange_rate_exact": str(link.exchange_rate),
        "exchange_rate_into": {code: number(rate) for code, rate in link.exchange_rate_into},
        "per_transfer_limit_t": link.per_transfer_limit_t,
        "period_cap_t": link.period_cap_t,
        "completed": counters.completed,
        "rejected": counters.rejected,
        "terminated": counters.terminated,
        "waiting": counters.waiting,
        "in_flight_t": counters.in_flight_t,
        "flows_t": {str(year): t for year, t in counters.flows_t.items()},
    }


def _route(link: Link) -> str:
    arrow = "↔" if link.direction is Direction.BILATERAL else "→"
    return f"{link.registry_a} {arrow} {link.registry_b}"


def _tonnes_or_none(value: int | None) -> str:
    return "none" if value is None else f"{value:,}"


def _flows_text(flows_t: dict[str, int]) -> str:
    return ", ".join(f"{year}: {t:,}" for year, t in flows_t.items()) or "none"


# ---------------------------------------------------------------- transfer


@link.command("transfer")
@_federation_argument
@click.option("--from", "origin", required=True, help="Origin registry code, e.g. EU.")
@click.option("--from-account", required=True, help="Sending account (id or label).")
@click.option("--to", "destination", required=True, help="Destination registry code, e.g. CH.")
@click.option("--to-account", required=True, help="Receiving account in the destination.")
@click.option("--unit", "unit_type", required=True, help="Unit type, e.g. EUA.")
@click.option("--quantity", type=int, required=True, help="Tonnes, oldest vintage first.")
@click.option("--vintage", type=int, default=None, help="Take only units of this vintage.")
@click.option("--id", "transfer_id", default=None, help="Transaction id (default: EU-000001…).")
@at_option
@format_options(csv_ok=False)
def transfer_command(
    federation_file: Path,
    origin: str,
    from_account: str,
    destination: str,
    to_account: str,
    unit_type: str,
    quantity: int,
    vintage: int | None,
    transfer_id: str | None,
    at: datetime | None,
    fmt: str | None,
) -> None:
    """Propose one transfer through the origin's endpoint and deliver it to its end.

    Exits 0 when it completed or waits for the link's transfer window, 1 when
    it was refused, rejected or terminated (with `--json`, the transfer's record
    is printed either way).
    """
    refusal: str | None = None
    if quantity < 1:  # refused before the federation opens: time does not move for it
        fail(
            EXIT_USAGE,
            f"--quantity: expected a whole number of tonnes of 1 or more, found {quantity}",
        )
    with guarded():
        spec = load_federation(federation_file)
        for option, code in (("--from", origin), ("--to", destination)):
            if code not in spec.codes:
                fail(
                    EXIT_USAGE,
                    f"{option} {code}: not a registry of {federation_file} "
                    f"({', '.join(spec.codes)})",
                )
        if transfer_id is not None and not 1 <= len(transfer_id) <= ID_LENGTH_MAX:
            fail(EXIT_USAGE, f"--id: expected 1 to {ID_LENGTH_MAX} characters")
        with open_federation(spec, at, _notices(fmt)) as federation:
            chosen = transfer_id or next_transfer_id(federation, origin)
            if chosen in federation.gateway.transfers:
                raise GatewayError(
                    CheckCode.TRANSACTION_ID_EXISTS, f"transaction id {chosen} was used before"
                )
            order = TransferOrder(
                chosen, from_account, destination, to_account, unit_type, quantity, vintage
            )
            federation.propose(origin, [order])
            federation.pump()
            record = federation.gateway.transfers.get(chosen)
            if record is None:  # refused without being recorded (the log was full)
                final = federation.endpoints[origin].finished[chosen]
                refusal = f"transfer {chosen} {final.status.name}: " + "; ".join(
                    f"{code} {text}" for code, text in zip(final.codes, final.messages, strict=True)
                )
            elif fmt:
                refusal = _refusal(record)
                emit(Report("link.transfer", [_transfers_section([record], "Transfer")]), fmt)
            else:
                refusal = _print_outcome(record, federation_file)
    if refusal is not None:
        fail(EXIT_REFUSED, refusal)


def next_transfer_id(federation: Federation, origin: str) -> str:
    """Return `<origin>-<n>`, n one past the origin's transfers at the gateway, unused."""
    gateway = federation.gateway
    endpoint = federation.endpoints[origin]
    number = 1 + sum(1 for r in gateway.transfers.values() if r.transfer.from_registry == origin)
    for offset in range(TRANSFER_ID_ATTEMPTS_MAX):
        candidate = f"{origin}-{number + offset:06d}"
        if not (
            candidate in gateway.transfers
            or candidate in endpoint.outgoing
            or candidate in endpoint.finished
        ):
            return candidate
    raise GatewayError(
        CheckCode.TRANSACTION_ID_EXISTS,
        f"no free transaction id among {TRANSFER_ID_ATTEMPTS_MAX} after {origin}-{number:06d}; "
        "pass --id",
    )


def _print_outcome(record: TransferRecord, federation_file: Path) -> str | None:
    """Print where a transfer stands; return a refusal message if it failed."""
    transfer = record.transfer
    console.print(
        f"transfer {transfer.transaction_id}: {transfer.quantity_t:,} t "
        f"{transfer.from_registry} {transfer.from_account} → "
        f"{transfer.to_registry} {transfer.to_account}  [{_blocks(record)}]",
        highlight=False,
    )
    status = record.status
    link = f" on link {record.link_id}" if record.link_id else ""
    console.print(f"status: {_status(status)}{link}", highlight=False)
    for code, message in zip(record.codes, record.messages, strict=True):
        console.print(f"  {code} {_code_name(code)}: {message}", highlight=False)
    if status is TransactionStatus.COMPLETED:
        return None
    if record.waiting_until is not None:
        console.print(
            f"waiting for the transfer window of link {record.link_id}: it opens "
            f"{format_time(record.waiting_until)}; move time with "
            f"'etslink link advance {federation_file} --at {format_time(record.waiting_until)}'",
            highlight=False,
        )
        return None
    if status is TransactionStatus.CHECKED_NO_DISCREPANCY:
        due = format_time(record.answer_due) if record.answer_due else "?"
        console.print(f"forwarded; the destination must answer by {due}", highlight=False)
        return None
    return _refusal(record)


def _refusal(record: TransferRecord) -> str | None:
    """Return why a transfer failed (rejected, terminated, cancelled), or None."""
    if record.status is TransactionStatus.COMPLETED or not record.status.is_final:
        return None
    return (
        f"transfer {record.transfer.transaction_id} {record.status.name.lower()}"
        f"{_codes_suffix(record)}"
    )


def _status(status: TransactionStatus) -> str:
    return f"{status.name} ({int(status)})"


def _codes_suffix(record: TransferRecord) -> str:
    if not record.codes:
        return ""
    return " with check " + ", ".join(f"{c} ({_code_name(c)})" for c in record.codes)


def _code_name(code: int) -> str:
    for numbering in (LinkCode, CheckCode):
        if code in numbering._value2member_map_:
            return numbering(code).name
    return "?"


def _blocks(record: TransferRecord) -> str:
    blocks = record.transfer.blocks
    shown = ", ".join(str(block) for block in blocks[:3])
    return shown + (f", … {len(blocks) - 3} more" if len(blocks) > 3 else "")


# ---------------------------------------------------------------- transfers


@link.command("transfers")
@_federation_argument
@click.option("--open", "open_only", is_flag=True, help="Only transfers not yet final.")
@click.option(
    "--stuck",
    is_flag=True,
    help="Only transfers with units locked and no final word past their time-outs, and the "
    "protocol alerts.",
)
@_formats
def transfers_command(federation_file: Path, open_only: bool, stuck: bool, fmt: str | None) -> None:
    """List the gateway's transfers: status, link, quantity and check codes.

    `--csv` writes the transfers (with `--stuck`: those open at the log);
    `--json` every section.
    """
    with guarded():
        spec = load_federation(federation_file)
        with open_federation(spec, notices=_notices(fmt)) as federation:
            gateway = federation.gateway
            if stuck:
                report = _stuck_report(federation)
            else:
                records = (
                    gateway.open_transfers() if open_only else list(gateway.transfers.values())
                )
                title = "Open transfers" if open_only else "Transfers"
                report = Report("link.transfers", [_transfers_section(records, title)])
    emit(report, fmt)


def _stuck_report(federation: Federation) -> Report:
    """Return what holds units with no final word in sight, at the log and at each origin,
    then every protocol alert: what an operator must look at."""
    gateway = federation.gateway
    now = gateway.clock.now()
    at_log = [
        record
        for record in gateway.open_transfers()
        if record.held
        or (
            record.link_id is not None
            and now >= record.proposed_at + gateway.links[record.link_id].answer_timeout
        )
    ]
    log_section = _transfers_section(at_log, "Open at the log past the answer time-out, or held")
    log_section.name = "at_log"
    log_section.empty = "No transfer is open at the log past its answer time-out, or held."
    origin_rows: list[dict[str, Any]] = []
    for code in sorted(federation.endpoints):
        for transfer, proposed, withdrawn in federation.endpoints[code].stuck():
            known = gateway.transfers.get(transfer.transaction_id)
            origin_rows.append(
                {
                    "transfer_id": transfer.transaction_id,
                    "from_registry": transfer.from_registry,
                    "to_registry": transfer.to_registry,
                    "route": f"{transfer.from_registry} → {transfer.to_registry}",
                    "proposed_at": format_time(proposed),
                    "withdrawn_at": None if withdrawn is None else format_time(withdrawn),
                    "log_status": None if known is None else int(known.status),
                    "log_status_name": "never received" if known is None else known.status.name,
                    "quantity_t": transfer.quantity_t,
                }
            )
    origin_columns = [
        Column("transfer_id", "id", "id"),
        Column("route", "route", "id", drop=3),
        Column("proposed_at", "proposed", "id", drop=2),
        Column("withdrawn_at", "withdrawn", "id", drop=1),
        Column("log_status_name", "at-log", "id"),
        Column("quantity_t", "tonnes", "number"),
    ]
    origin_section = Section(
        "at_origin",
        origin_rows,
        origin_columns,
        title="Locked at the origin with no final word",
        empty="No transfer is locked at its origin past its time-out.",
    )
    participants = (gateway, *(federation.endpoints[c] for c in sorted(federation.endpoints)))
    alert_rows = [
        {
            "participant": participant.participant_id,
            "at": alert.at,
            "code": alert.code,
            "code_name": _code_name(alert.code),
            "sender": alert.sender_id,
            "sequence": alert.sequence,
            "detail": alert.detail,
        }
        for participant in participants
        for alert in participant.alerts
    ]
    alert_columns = [
        Column("participant", "at", "id"),
        Column("at", "when", "id", drop=2),
        Column("code", "code", "number"),
        Column("code_name", "name", "id", drop=1),
        Column("sender", "from", "id", drop=3),
        Column("sequence", "message", "number", drop=4),
        Column("detail", "detail"),
    ]
    alert_section = Section(
        "alerts", alert_rows, alert_columns, title="Protocol alerts", empty="No protocol alerts."
    )
    return Report("link.stuck", [log_section, origin_section, alert_section], csv_section="at_log")


def _transfers_section(records: list[TransferRecord], title: str) -> Section:
    """Return a table of transfers, each one's codes and notes below it (they are long)."""
    rows = [_transfer_row(record) for record in records]
    columns = [
        Column("transfer_id", "id", "id"),
        Column("link_id", "link", "id", drop=3),
        Column("route", "route", "id", drop=2),
        Column("units", "units", show=", ".join, drop=1),
        Column("quantity_t", "tonnes", "number"),
        Column("status_label", "status", "id"),
    ]
    notes = [f"{row['transfer_id']}: {row['note']}" for row in rows if row["note"]]
    return Section(
        "transfers", rows, columns, title=f"{title} ({len(rows)})", notes=notes, empty="none"
    )


def _transfer_row(record: TransferRecord) -> dict[str, Any]:
    transfer = record.transfer
    return {
        "transfer_id": transfer.transaction_id,
        "link_id": record.link_id,
        "from_registry": transfer.from_registry,
        "from_account": transfer.from_account,
        "to_registry": transfer.to_registry,
        "to_account": transfer.to_account,
        "route": f"{transfer.from_registry} → {transfer.to_registry}",
        "units": sorted({f"{b.unit_type} {b.vintage}" for b in transfer.blocks}),
        "blocks": [str(block) for block in transfer.blocks],
        "quantity_t": transfer.quantity_t,
        "status": int(record.status),
        "status_name": record.status.name,
        "status_label": _status(record.status),
        "is_final": record.is_final,
        "proposed_at": format_time(record.proposed_at),
        "waiting_until": _time_or_none(record.waiting_until),
        "answer_due": _time_or_none(record.answer_due),
        "expires_at": _time_or_none(record.expires_at),
        "held": record.held,
        "codes": list(record.codes),
        "code_names": [_code_name(code) for code in record.codes],
        "messages": list(record.messages),
        "note": _note(record),
    }


def _time_or_none(moment: datetime | None) -> str | None:
    return None if moment is None else format_time(moment)


def _note(record: TransferRecord) -> str:
    if record.held and not record.is_final:
        return (
            "held: a party registry is suspended; it goes on when the registry resumes, "
            f"or ends at {format_time(record.expires_at)}"
            if record.expires_at is not None
            else "held: a party registry is suspended"
        )
    if record.waiting_until is not None and not record.is_final:
        return f"waits for the window: {format_time(record.waiting_until)}"
    if record.answer_due is not None:
        return f"answer due {format_time(record.answer_due)}"
    return "; ".join(
        f"{code} {_code_name(code)}: {message}"
        for code, message in zip(record.codes, record.messages, strict=True)
    )


# ---------------------------------------------------------------- link states


def _change_state(
    federation_file: Path,
    link_id: str,
    state: LinkState,
    reason: str,
    at: datetime | None,
    freeze_units: bool = False,
) -> None:
    with guarded():
        spec = load_federation(federation_file)
        with open_federation(spec, at) as federation:
            gateway = federation.gateway
            ended = gateway.set_link_state(link_id, state, reason, freeze_units)
            federation.pump()
            console.print(
                f"link {link_id} is now {gateway.links[link_id].state.value} "
                f"({reason or 'no reason given'})",
                highlight=False,
            )
            if ended:
                records = [gateway.transfers[t] for t in ended]
                title = "Transfers terminated in flight"
                emit(Report("link.state", [_transfers_section(records, title)]), None)
            else:
                console.print("no transfers were in flight on this link", highlight=False)
            if freeze_units:
                console.print(
                    "units that crossed this link are frozen: no link carries them again (9005)",
                    highlight=False,
                )


_reason_option = reason_option(required=True)


@link.command("suspend")
@_federation_argument
@click.argument("link_id")
@_reason_option
@at_option
def suspend_command(federation_file: Path, link_id: str, reason: str, at: datetime | None) -> None:
    """Suspend LINK_ID: new proposals are rejected (9005), transfers in flight terminated."""
    _change_state(federation_file, link_id, LinkState.SUSPENDED, reason, at)


@link.command("resume")
@_federation_argument
@click.argument("link_id")
@_reason_option
@at_option
def resume_command(federation_file: Path, link_id: str, reason: str, at: datetime | None) -> None:
    """Make a suspended (or proposed) LINK_ID active again."""
    _change_state(federation_file, link_id, LinkState.ACTIVE, reason, at)


@link.command("terminate")
@_federation_argument
@click.argument("link_id")
@_reason_option
@click.option(
    "--freeze-units",
    is_flag=True,
    help="Units that already crossed may never cross any link again.",
)
@at_option
def terminate_command(
    federation_file: Path, link_id: str, reason: str, freeze_units: bool, at: datetime | None
) -> None:
    """Terminate LINK_ID for good; units that crossed stay where they are."""
    _change_state(federation_file, link_id, LinkState.TERMINATED, reason, at, freeze_units)


# ---------------------------------------------------------------- time


@link.command("advance")
@_federation_argument
@click.option(
    "--at",
    type=MOMENT,
    required=True,
    help="The new simulated now (ISO 8601, e.g. 2024-03-07 or 2024-03-07T09:00:00Z; UTC when "
    "no offset is given); a moment before the simulated now is refused (exit 2).",
)
def advance_command(federation_file: Path, at: datetime) -> None:
    """Move simulated time: forward transfers whose window opened, terminate overdue ones."""
    with guarded():
        spec = load_federation(federation_file)
        with open_federation(spec, at) as federation:
            still_open = federation.gateway.open_transfers()
            console.print(f"{len(still_open)} transfers still open", highlight=False)


# ---------------------------------------------------------------- reconciliation


@link.command("reconcile")
@_federation_argument
@click.argument("codes", nargs=-1)
@at_option
@_formats
def reconcile_command(
    federation_file: Path, codes: tuple[str, ...], at: datetime | None, fmt: str | None
) -> None:
    """Reconcile each registry (default: all) with the gateway's record of crossed units.

    Exits 1 when any registry is inconsistent (it may not transfer until
    `etslink link resolve`) or could not be reconciled. `--csv` writes the
    compared totals; `--json` also each registry's outcome and discrepancies.
    """
    failures: list[str] = []
    outcomes: list[dict[str, Any]] = []
    reports: list[ReconciliationReport] = []
    with guarded():
        spec = load_federation(federation_file)
        unknown = [code for code in codes if code not in spec.codes]
        if unknown:
            fail(
                EXIT_USAGE,
                f"{', '.join(unknown)}: not a registry of {federation_file} "
                f"({', '.join(spec.codes)})",
            )
        with open_federation(spec, at, _notices(fmt)) as federation:
            for code in codes or spec.codes:
                try:
                    report = federation.reconcile(code)
                except GatewayError as error:
                    failures.append(f"{code}: refused with check {int(error.code)}")
                    outcomes.append(_refused_outcome(code, error))
                    continue
                reports.append(report)
                outcomes.append(_outcome_row(report))
                if not report.is_consistent:
                    failures.append(f"{code}: {report.status.label}")
    if fmt:
        emit(_reconciliation_document(outcomes, reports), fmt)
    else:
        sections = [_reconciliation_section(report) for report in reports]
        emit(Report("link.reconcile", sections), None)
        for outcome in outcomes:
            if outcome["refused_code"] is not None:
                console.print(
                    f"{outcome['registry']}: refused with check {outcome['refused_code']} "
                    f"({outcome['refused_name']}): {outcome['message']}",
                    highlight=False,
                )
    if failures:
        fail(EXIT_REFUSED, "reconciliation failed for " + "; ".join(failures))


def _outcome_row(report: ReconciliationReport) -> dict[str, Any]:
    return {
        "registry": report.registry,
        "as_of": report.as_of,
        "reconciliation_status": int(report.status),
        "reconciliation_status_name": report.status.name,
        "consistent": report.is_consistent,
        "discrepancies": len(report.discrepancies),
        "refused_code": None,
        "refused_name": None,
        "message": "",
    }


def _refused_outcome(code: str, error: GatewayError) -> dict[str, Any]:
    return {
        "registry": code,
        "as_of": None,
        "reconciliation_status": None,
        "reconciliation_status_name": None,
        "consistent": False,
        "discrepancies": None,
        "refused_code": int(error.code),
        "refused_name": error.code.name,
        "message": error.message,
    }


def _totals_row(registry: str, row: TotalsRow) -> dict[str, Any]:
    origin, unit_type, vintage = row.key
    return {
        "registry": registry,
        "side": row.side.value,
        "origin": origin,
        "unit_type": unit_type,
        "vintage": vintage,
        "gateway_total_t": row.gateway_total_t,
        "registry_total_t": row.registry_total_t,
        "reconciliation_status": int(row.status),
        "reconciliation_status_name": row.status.name,
        "status_label": row.status.label,
    }


_TOTALS_COLUMNS = [
    Column("side", "side", "id"),
    Column("origin", "origin", "id"),
    Column("unit_type", "unit", "id"),
    Column("vintage", "vintage", "id", str),
    Column("gateway_total_t", "gateway t", "number"),
    Column("registry_total_t", "registry t", "number"),
    Column("reconciliation_status_name", "status", "id"),
]


def _reconciliation_section(report: ReconciliationReport) -> Section:
    """Return one registry's compared totals, its discrepancies below them."""
    notes = [
        f"{int(item.code)} {item.code.name} {item.side.value} "
        f"{'/'.join(str(part) for part in item.key)}: {item.message}"
        for item in report.discrepancies
    ]
    return Section(
        report.registry,
        [_totals_row(report.registry, row) for row in report.rows],
        _TOTALS_COLUMNS,
        title=f"Reconciliation of {report.registry} as of {report.as_of}: {report.status.label}",
        notes=notes,
        empty=f"{report.registry}: no units have crossed a link yet",
    )


def _reconciliation_document(
    outcomes: list[dict[str, Any]], reports: list[ReconciliationReport]
) -> Report:
    """Return every registry's outcome, compared totals and discrepancies, for tools."""
    totals = [_totals_row(report.registry, row) for report in reports for row in report.rows]
    discrepancies = [
        {
            "registry": report.registry,
            "code": int(item.code),
            "code_name": item.code.name,
            "side": item.side.value,
            "origin": item.key[0],
            "unit_type": item.key[1],
            "vintage": item.key[2],
            "gateway_total_t": item.gateway_total_t,
            "registry_total_t": item.registry_total_t,
            "missing": [list(pair) for pair in item.missing],
            "extra": [list(pair) for pair in item.extra],
            "message": item.message,
        }
        for report in reports
        for item in report.discrepancies
    ]
    sections = [
        Section("registries", outcomes, []),
        Section("totals", totals, _TOTALS_COLUMNS),
        Section("discrepancies", discrepancies, []),
    ]
    return Report("link.reconcile", sections, csv_section="totals")


@link.command("resolve")
@_federation_argument
@click.argument("code")
@click.option("--note", required=True, help="What was done to resolve the discrepancies.")
def resolve_command(federation_file: Path, code: str, note: str) -> None:
    """Record manual intervention on CODE's inconsistent reconciliation; it may transfer again."""
    with guarded():
        spec = load_federation(federation_file)
        with open_federation(spec) as federation:
            federation.gateway.resolve_reconciliation(code, note)
            console.print(f"{code}: reconciliation resolved ({note})", highlight=False)


# ---------------------------------------------------------------- Article 6


@link.command("article6")
@_federation_argument
@_formats
def article6_command(federation_file: Path, fmt: str | None) -> None:
    """Print the Article 6.2 adjustments per Party and year, and whether they balance."""
    with guarded():
        spec = load_federation(federation_file)
        with open_federation(spec, notices=_notices(fmt)) as federation:
            report = federation.gateway.article6_report()
    totals = report.totals()
    balanced = report.balances()
    mark = "✓ balances" if balanced else "✗ does not balance"
    note = (
        f"{mark}: Σ adjustments over Parties and years = {totals.adjustment_t:+,} t; "
        f"first transferred {totals.first_transferred_t:,} t"
    )
    rows = [row.to_data() for row in report.rows]
    columns = [
        Column("party", "party", "id"),
        Column("year", "year", "id", lambda year: "" if year is None else str(year)),
        Column("first_transferred_t", "first transferred t", "number"),
        Column("transferred_t", "transferred t", "number"),
        Column("acquired_t", "acquired t", "number"),
        Column("adjustment_t", "adjustment t", "number", show="{:+,}".format),
    ]
    shown = rows if fmt or not rows else [*rows, _totals_row_data(totals)]
    section = Section(
        "adjustments",
        shown,
        columns,
        title="Article 6.2 corresponding adjustments",
        notes=[note],
        empty="no Article 6 transfers recorded",
    )
    extra = {"totals": totals.to_data(), "balances": balanced}
    emit(Report("link.article6", [section], extra), fmt)
    if not balanced:
        fail(EXIT_REFUSED, "the Article 6 report does not balance")


def _totals_row_data(totals: Article6ReportRow) -> dict[str, Any]:
    """Return the totals row as the table shows it: party "all" and no year."""
    data = totals.to_data()
    data["party"], data["year"] = "all", None
    return data


# ---------------------------------------------------------------- circular trading

WINDOW_HOURS_MAX = 24 * 366  # a year: longer windows say nothing about carousels


@link.command("alerts")
@_federation_argument
@click.option(
    "--window-hours",
    type=click.IntRange(1, WINDOW_HOURS_MAX),
    default=72,
    show_default=True,
    help="Flag cycles whose last transfer is at most this long after the first.",
)
@click.option(
    "--hops-max",
    type=click.IntRange(2, 12),
    default=6,
    show_default=True,
    help="Longest cycle looked for, in transfers (2: wash trades A → B → A).",
)
@_formats
def alerts_command(
    federation_file: Path, window_hours: int, hops_max: int, fmt: str | None
) -> None:
    """List circular trading (A → B → … → A) in the registries' journals: alerts, not refusals."""
    from datetime import timedelta

    from gateway.circular_trading import CycleRules, find_circular_trading
    from gateway.journal_transfers import read_transfer_history
    from registry.journal import read_entries

    with guarded():
        spec = load_federation(federation_file)
        with open_federation(spec, notices=_notices(fmt)) as federation:
            journals = {
                member.code: read_entries(
                    federation.registry(member.code).journal.engine, member.code
                )
                for member in spec.members
            }
            history = read_transfer_history(journals)
        rules = CycleRules(window=timedelta(hours=window_hours), hops_max=hops_max)
        report = find_circular_trading(history.transfers, rules, history.custody_accounts)
    rows = [
        {"number": number, **alert.to_data(), "route": alert.route(), "hops": alert.hops}
        for number, alert in enumerate(report.alerts, start=1)
    ]
    examined = report.transfers_examined
    notes = [f"#{row['number']}: {', '.join(row['transfer_ids'])}" for row in rows]
    notes.append(
        f"{examined:,} completed transfer{'' if examined == 1 else 's'} examined; window "
        f"{window_hours} h, at most {hops_max} transfers per cycle"
    )
    columns = [
        Column("number", "#", "number"),
        Column("evidence", "evidence", "id", drop=2),
        Column("route", "route"),
        Column("quantity_t", "tonnes", "number"),
        Column("first_at", "first", "id", drop=3),
        Column("last_at", "last", "id", drop=1),
    ]
    section = Section(
        "alerts",
        rows,
        columns,
        title=f"Circular trading alerts ({len(rows)})",
        notes=notes,
        empty="No circular trading found.",
    )
    extra = {
        "transfers_examined": examined,
        "window_hours": window_hours,
        "hops_max": hops_max,
        "searches_cut": report.searches_cut,
        "alerts_cut": report.alerts_cut,
        "unmatched_imports": list(history.unmatched_imports),
    }
    emit(Report("link.alerts", [section], extra), fmt)
    for transfer_id in history.unmatched_imports:
        errors.print(
            f"[yellow]warning[/]: import {transfer_id} has no export in the federation's "
            "journals; its sending account is unknown and it is left out",
            highlight=False,
        )
    if report.searches_cut or report.alerts_cut:
        errors.print(
            f"[yellow]warning[/]: {report.searches_cut:,} searches reached their limit"
            + ("; the alert limit was reached" if report.alerts_cut else "")
            + "; some cycles may be missing",
            highlight=False,
        )
