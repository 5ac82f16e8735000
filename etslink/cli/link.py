"""`etslink link …`: registries joined by a gateway, driven from a federation file.

Every command reads the federation file, opens the gateway and each
registry with its endpoint from their stores (replaying and verifying their
journals), acts, lets the network deliver every message, and commits. All
participants share one simulated clock: it starts at the latest moment
found in their journals, and `--at` moves it forward first (and with it the
gateway's time-outs and transfer windows).

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
from rich.table import Table
from sqlalchemy import Engine

from etslink.cli.support import (
    EXIT_REFUSED,
    EXIT_USAGE,
    MOMENT,
    console,
    errors,
    existing_engine,
    fail,
    guarded,
    refuse_past,
    sqlite_file_of,
)
from etslink.sessions.federation import FederationFile, load_federation
from gateway.article6 import REPORT_COLUMNS
from gateway.endpoint import RegistryEndpoint, TransferOrder, link_stream
from gateway.errors import GatewayError, LinkCode
from gateway.federation import Federation, ScheduledReconciliation
from gateway.gateway import Gateway, TransferRecord
from gateway.links import Direction, Link, LinkState
from gateway.messages import ID_LENGTH_MAX, TransactionStatus
from gateway.reconciliation import ReconciliationReport
from registry import Registry, SigningKey, SimulatedClock, StoreError, make_engine
from registry.clock import format_time, parse_time
from registry.errors import CheckCode
from registry.journal import last_sim_time, list_streams

TRANSFER_ID_ATTEMPTS_MAX = 1_000  # generated ids tried past the count before giving up


_federation_argument = click.argument(
    "federation_file", type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
_at_option = click.option(
    "--at",
    type=MOMENT,
    default=None,
    help="Move the shared simulated clock forward to this moment first "
    "(e.g. 2024-03-05T10:00:00Z; UTC when no offset is given).",
)


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
def open_federation(spec: FederationFile, at: datetime | None = None) -> Iterator[Federation]:
    """Open the gateway and every registry's endpoint; move time to `at`; commit on the way out.

    Messages left undelivered by an earlier run, and work that fell due
    (time-outs, opened windows), are dealt with before the command acts.
    """
    stores = _Stores({})
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
        _move_time(federation, at)
        yield federation
        federation.flush()
    finally:
        for registry, _ in registries:
            registry.close()


def _move_time(federation: Federation, at: datetime | None) -> None:
    clock = federation.gateway.clock
    if at is not None:
        refuse_past(at, clock.now(), "the federation's")
    before = _open_statuses(federation.gateway)
    runs = federation.advance(at or clock.now())
    if at is not None:
        console.print(f"simulated time: {format_time(clock.now())}", highlight=False)
    _print_changes(federation.gateway, before)
    _print_scheduled_reconciliations(runs)


def _print_scheduled_reconciliations(runs: list[ScheduledReconciliation]) -> None:
    """Summarise the daily reconciliations time passed through; name each that did not pass."""
    if not runs:
        return
    passed = sum(1 for run in runs if run.is_consistent)
    console.print(f"scheduled reconciliations: {passed} of {len(runs)} consistent", highlight=False)
    for run in runs:
        if isinstance(run.outcome, ReconciliationReport):
            if not run.is_consistent:
                status = run.outcome.status
                console.print(
                    f"  {format_time(run.at)} {run.registry}: {status.name} ({int(status)}), "
                    f"{len(run.outcome.discrepancies)} discrepancies — "
                    "see 'etslink link reconcile'",
                    highlight=False,
                )
        else:
            console.print(
                f"  {format_time(run.at)} {run.registry}: START_REQUEST_DENIED (7): "
                f"{run.outcome.message}",
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


def _print_changes(gateway: Gateway, before: dict[str, TransactionStatus]) -> None:
    """Print each transfer that left the status it had in `before`."""
    for transfer_id, status in before.items():
        record = gateway.transfers[transfer_id]
        if record.status is not status:
            console.print(
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
        _print_participants(spec, federation)
        _print_links(federation.gateway)
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


def _print_participants(spec: FederationFile, federation: Federation) -> None:
    table = Table(title="Participants", title_justify="left")
    for column in ("id", "role", "store", "key", "journal seq"):
        table.add_column(column, overflow="fold")
    gateway = federation.gateway
    table.add_row(
        spec.gateway_id,
        "gateway",
        spec.gateway_db,
        f"{spec.gateway_key_path} ({gateway.key.fingerprint})",
        str(gateway.committed_seq),
    )
    for member in spec.members:
        endpoint = federation.endpoints[member.code]
        table.add_row(
            member.code,
            "registry",
            member.db,
            f"{member.key_path} ({endpoint.key.fingerprint})",
            f"{endpoint.registry.journal.committed_seq} (endpoint {endpoint.committed_seq})",
        )
    console.print(table)


# ---------------------------------------------------------------- show


@link.command("show")
@_federation_argument
def show_command(federation_file: Path) -> None:
    """Show the links with their state and counters."""
    with guarded():
        spec = load_federation(federation_file)
        with open_federation(spec) as federation:
            console.print(
                f"{spec.name}: gateway {spec.gateway_id}, simulated now "
                f"{format_time(federation.gateway.clock.now())}",
                highlight=False,
            )
            _print_links(federation.gateway)


def _print_links(gateway: Gateway) -> None:
    """Print one column per link, one row per property and counter (fits a narrow terminal)."""
    table = Table(title=f"Links at gateway {gateway.participant_id}", title_justify="left")
    table.add_column("", style="bold", no_wrap=True)
    ids = sorted(gateway.links)
    for link_id in ids:
        table.add_column(link_id, overflow="fold")
    rows: dict[str, list[str]] = {}
    for link_id in ids:
        link = gateway.links[link_id]
        counters = gateway.counters(link_id)
        flows = ", ".join(f"{year}: {t:,}" for year, t in counters.flows_t.items())
        values = {
            "parties": f"{link.registry_a} – {link.registry_b}",
            "direction": _direction(link),
            "state": _state(link.state),
            "unit types": ", ".join(sorted(link.unit_types)),
            "exchange rate": _rate(link),
            "period cap (t)": "none" if link.period_cap_t is None else f"{link.period_cap_t:,}",
            "per-transfer limit (t)": (
                "none" if link.per_transfer_limit_t is None else f"{link.per_transfer_limit_t:,}"
            ),
            "completed": str(counters.completed),
            "rejected": str(counters.rejected),
            "terminated": str(counters.terminated),
            "waiting for a window": str(counters.waiting),
            "in flight (t)": f"{counters.in_flight_t:,}",
            "flows (t) per year": flows or "none",
        }
        for name, value in values.items():
            rows.setdefault(name, []).append(value)
    for name, cells in rows.items():
        table.add_row(name, *cells)
    console.print(table)


def _direction(link: Link) -> str:
    if link.direction is Direction.BILATERAL:
        return f"bilateral {link.registry_a} ↔ {link.registry_b}"
    return f"unilateral {link.registry_a} → {link.registry_b}"


def _state(state: LinkState) -> str:
    colour = {LinkState.ACTIVE: "green", LinkState.SUSPENDED: "yellow"}.get(state, "red")
    return f"[{colour}]{state.value}[/]"


def _rate(link: Link) -> str:
    overrides = ", ".join(f"into {code}: {rate}" for code, rate in link.exchange_rate_into)
    return f"{link.exchange_rate}" + (f" ({overrides})" if overrides else "")


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
@_at_option
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
) -> None:
    """Propose one transfer through the origin's endpoint and deliver it to its end.

    Exits 0 when it completed or waits for the link's transfer window, 1 when
    it was refused, rejected or terminated.
    """
    refusal: str | None = None
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
        with open_federation(spec, at) as federation:
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
    if status.is_final:
        return f"transfer {transfer.transaction_id} {status.name.lower()}{_codes_suffix(record)}"
    return None


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
def transfers_command(federation_file: Path, open_only: bool, stuck: bool) -> None:
    """List the gateway's transfers: status, link, quantity and check codes."""
    with guarded():
        spec = load_federation(federation_file)
        with open_federation(spec) as federation:
            gateway = federation.gateway
            if stuck:
                _print_stuck(federation)
                return
            records = gateway.open_transfers() if open_only else list(gateway.transfers.values())
            _print_transfers(records, "Open transfers" if open_only else "Transfers")


def _print_stuck(federation: Federation) -> None:
    """Print what holds units with no final word in sight, at the log and at each origin,
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
    if at_log:
        _print_transfers(at_log, "Open at the log past the answer time-out, or held")
    else:
        console.print("No transfer is open at the log past its answer time-out, or held.")
    table = Table(title="Locked at the origin with no final word", title_justify="left")
    for column in ("id", "route", "proposed", "withdrawn", "at the log"):
        table.add_column(column, overflow="fold")
    table.add_column("quantity (t)", justify="right", no_wrap=True)
    rows = 0
    for code in sorted(federation.endpoints):
        endpoint = federation.endpoints[code]
        for transfer, proposed, withdrawn in endpoint.stuck():
            known = gateway.transfers.get(transfer.transaction_id)
            table.add_row(
                transfer.transaction_id,
                f"{transfer.from_registry} → {transfer.to_registry}",
                format_time(proposed),
                "" if withdrawn is None else format_time(withdrawn),
                "never received" if known is None else _status(known.status),
                f"{transfer.quantity_t:,}",
            )
            rows += 1
    if rows:
        console.print(table)
    else:
        console.print("No transfer is locked at its origin past its time-out.")
    alerts = [
        (participant, alert)
        for participant in (
            gateway,
            *(federation.endpoints[c] for c in sorted(federation.endpoints)),
        )
        for alert in participant.alerts
    ]
    for participant, alert in alerts:
        console.print(
            f"alert at {participant.participant_id}, {alert.at}: {alert.code} "
            f"{_code_name(alert.code)} from {alert.sender_id} (message {alert.sequence}): "
            f"{alert.detail}",
            highlight=False,
        )
    if not alerts:
        console.print("No protocol alerts.")


def _print_transfers(records: list[TransferRecord], title: str) -> None:
    """Print a table of transfers, then each one's codes and notes below it (they are long)."""
    table = Table(title=f"{title} ({len(records)})", title_justify="left")
    for column in ("id", "link", "route", "units"):
        table.add_column(column, overflow="fold")
    table.add_column("quantity (t)", justify="right", no_wrap=True)
    table.add_column("status", no_wrap=True)
    notes = []
    for record in records:
        transfer = record.transfer
        units = sorted({f"{b.unit_type} {b.vintage}" for b in transfer.blocks})
        table.add_row(
            transfer.transaction_id,
            record.link_id or "",
            f"{transfer.from_registry} → {transfer.to_registry}",
            ", ".join(units),
            f"{transfer.quantity_t:,}",
            _status(record.status),
        )
        note = _note(record)
        if note:
            notes.append(f"{transfer.transaction_id}: {note}")
    console.print(table)
    for note in notes:
        console.print(note, highlight=False)


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
                f"link {link_id} is now {_state(gateway.links[link_id].state)} "
                f"({reason or 'no reason given'})",
                highlight=False,
            )
            if ended:
                _print_transfers(
                    [gateway.transfers[t] for t in ended], "Transfers terminated in flight"
                )
            else:
                console.print("no transfers were in flight on this link", highlight=False)
            if freeze_units:
                console.print(
                    "units that crossed this link are frozen: no link carries them again (9005)",
                    highlight=False,
                )


_reason_option = click.option(
    "--reason", required=True, help="Why (kept in the gateway's journal)."
)


@link.command("suspend")
@_federation_argument
@click.argument("link_id")
@_reason_option
@_at_option
def suspend_command(federation_file: Path, link_id: str, reason: str, at: datetime | None) -> None:
    """Suspend LINK_ID: new proposals are rejected (9005), transfers in flight terminated."""
    _change_state(federation_file, link_id, LinkState.SUSPENDED, reason, at)


@link.command("resume")
@_federation_argument
@click.argument("link_id")
@_reason_option
@_at_option
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
@_at_option
def terminate_command(
    federation_file: Path, link_id: str, reason: str, freeze_units: bool, at: datetime | None
) -> None:
    """Terminate LINK_ID for good; units that crossed stay where they are."""
    _change_state(federation_file, link_id, LinkState.TERMINATED, reason, at, freeze_units)


# ---------------------------------------------------------------- time


@link.command("advance")
@_federation_argument
@click.option("--at", type=MOMENT, required=True, help="The new simulated now (ISO time).")
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
@_at_option
def reconcile_command(federation_file: Path, codes: tuple[str, ...], at: datetime | None) -> None:
    """Reconcile each registry (default: all) with the gateway's record of crossed units.

    Exits 1 when any registry is inconsistent (it may not transfer until
    `etslink link resolve`) or could not be reconciled.
    """
    failures: list[str] = []
    with guarded():
        spec = load_federation(federation_file)
        unknown = [code for code in codes if code not in spec.codes]
        if unknown:
            fail(
                EXIT_USAGE,
                f"{', '.join(unknown)}: not a registry of {federation_file} "
                f"({', '.join(spec.codes)})",
            )
        with open_federation(spec, at) as federation:
            for code in codes or spec.codes:
                try:
                    report = federation.reconcile(code)
                except GatewayError as error:
                    failures.append(f"{code}: refused with check {int(error.code)}")
                    console.print(
                        f"[red]{code}[/]: refused with check {int(error.code)} "
                        f"({error.code.name}): {error.message}",
                        highlight=False,
                    )
                    continue
                _print_reconciliation(report)
                if not report.is_consistent:
                    failures.append(f"{code}: {report.status.name}")
    if failures:
        fail(EXIT_REFUSED, "reconciliation failed for " + "; ".join(failures))


def _print_reconciliation(report: ReconciliationReport) -> None:
    colour = "green" if report.is_consistent else "red"
    table = Table(
        title=f"Reconciliation of {report.registry} as of {report.as_of}: "
        f"[{colour}]{report.status.name} ({int(report.status)})[/]",
        title_justify="left",
    )
    for column in ("side", "origin", "unit", "vintage"):
        table.add_column(column)
    for column in ("gateway (t)", "registry (t)"):
        table.add_column(column, justify="right")
    table.add_column("status")
    for row in report.rows:
        origin, unit_type, vintage = row.key
        table.add_row(
            row.side.value,
            origin,
            unit_type,
            str(vintage),
            f"{row.gateway_total_t:,}",
            f"{row.registry_total_t:,}",
            f"{row.status.name} ({int(row.status)})",
        )
    console.print(table)
    if not report.rows:
        console.print(f"{report.registry}: no units have crossed a link yet", highlight=False)
    for item in report.discrepancies:
        console.print(
            f"[red]{int(item.code)} {item.code.name}[/] {item.side.value} "
            f"{'/'.join(str(part) for part in item.key)}: {item.message}",
            highlight=False,
        )


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
def article6_command(federation_file: Path) -> None:
    """Print the Article 6.2 adjustments per Party and year, and whether they balance."""
    balanced = True
    with guarded():
        spec = load_federation(federation_file)
        with open_federation(spec) as federation:
            report = federation.gateway.article6_report()
            table = Table(title="Article 6.2 corresponding adjustments", title_justify="left")
            for index, column in enumerate(REPORT_COLUMNS):
                table.add_column(column, justify="left" if index < 2 else "right")
            for cells in report.to_rows():
                table.add_row(*cells)
            console.print(table)
            if not report.rows:
                console.print("no Article 6 transfers recorded", highlight=False)
            balanced = report.balances()
            mark = "[green]✓[/] balances" if balanced else "[red]✗ does not balance[/]"
            console.print(
                f"{mark}: Σ adjustments over Parties and years = "
                f"{report.totals().adjustment_t:+,} t; first transferred "
                f"{report.totals().first_transferred_t:,} t",
                highlight=False,
            )
    if not balanced:
        fail(EXIT_REFUSED, "the Article 6 report does not balance")


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
def alerts_command(federation_file: Path, window_hours: int, hops_max: int) -> None:
    """List circular trading (A → B → … → A) in the registries' journals: alerts, not refusals."""
    from datetime import timedelta

    from gateway.circular_trading import CycleRules, find_circular_trading
    from gateway.journal_transfers import read_transfer_history
    from registry.journal import read_entries

    with guarded():
        spec = load_federation(federation_file)
        with open_federation(spec) as federation:
            journals = {
                member.code: read_entries(
                    federation.registry(member.code).journal.engine, member.code
                )
                for member in spec.members
            }
            history = read_transfer_history(journals)
        rules = CycleRules(window=timedelta(hours=window_hours), hops_max=hops_max)
        report = find_circular_trading(history.transfers, rules, history.custody_accounts)
        table = Table(title=f"Circular trading alerts ({len(report.alerts)})", title_justify="left")
        table.add_column("#", justify="right", no_wrap=True)
        table.add_column("evidence", no_wrap=True)
        table.add_column("route", overflow="fold")
        table.add_column("quantity (t)", justify="right", no_wrap=True)
        table.add_column("first → last", overflow="fold")
        for number, alert in enumerate(report.alerts, start=1):
            table.add_row(
                str(number),
                alert.evidence.value,
                alert.route(),
                f"{alert.quantity_t:,}",
                f"{format_time(alert.first_at)} → {format_time(alert.last_at)}",
            )
        if report.alerts:
            console.print(table)
        else:
            console.print("No circular trading found.")
        for number, alert in enumerate(report.alerts, start=1):
            console.print(f"#{number}: {', '.join(alert.transfer_ids)}", highlight=False)
        examined = report.transfers_examined
        console.print(
            f"{examined:,} completed transfer{'' if examined == 1 else 's'} examined; window "
            f"{window_hours} h, at most {hops_max} transfers per cycle",
            highlight=False,
        )
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
