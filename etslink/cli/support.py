"""What every `etslink` command shares: the store and key options, opening a registry,
and turning the errors a person can act on into a message and an exit code."""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.text import Text

from registry.account_ids import is_registry_code
from registry.clock import SimulatedClock, format_time, parse_time
from registry.config_reader import ConfigError, one_line
from registry.errors import ConcurrentWriterError, JournalIntegrityError, RegistryError, StoreError

if TYPE_CHECKING:
    from registry import Registry, SigningKey

# The store (SQLAlchemy) and the keys (cryptography) load when a command opens them, not
# when a command module is imported: `etslink jurisdictions` and every `--help` stay fast.

DEFAULT_DB = "sqlite:///etslink.db"
EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_INTEGRITY = 3

console = Console()
errors = Console(stderr=True)


def db_option(function: Callable[..., Any]) -> Callable[..., Any]:
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


def default_key_path(db: str, code: str, key_path: Path | None) -> Path:
    if key_path is not None:
        return key_path
    sqlite_file = sqlite_file_of(db)
    if sqlite_file is not None:
        return sqlite_file.with_name(f"{sqlite_file.name}.{code}.key.pem")
    return Path(f"{code}.key.pem")


def sqlite_file_of(db: str) -> Path | None:
    prefix = "sqlite:///"
    if db.startswith(prefix) and db not in ("sqlite:///:memory:",):
        return Path(db[len(prefix) :])
    return None


def fail(code: int, message: str) -> None:
    """Print `message` as one line, read as plain text (never as markup), and exit."""
    line = Text.assemble(("error", "bold red"), ": ", one_line(message))
    errors.print(line, highlight=False, soft_wrap=True)
    sys.exit(code)


@contextmanager
def guarded() -> Iterator[None]:
    """Turn the errors a person can act on into a message and an exit code."""
    try:
        yield
    except RegistryError as error:
        fail(
            EXIT_REFUSED,
            f"refused with check {int(error.code)} ({error.code.name}): {error.message}",
        )
    except ConfigError as error:
        fail(EXIT_USAGE, str(error))
    except JournalIntegrityError as error:
        fail(EXIT_INTEGRITY, f"the journal does not verify: {error}")
    except (StoreError, ConcurrentWriterError) as error:
        fail(EXIT_REFUSED, str(error))


@contextmanager
def open_registry(
    db: str, code: str | None, key_path: Path | None, at: datetime | None = None
) -> Iterator[Registry]:
    """Open a registry for writing; commit and close it on the way out."""
    with guarded():
        engine = existing_engine(db)
        code = pick_registry(engine, db, code)
        key = load_key(default_key_path(db, code, key_path))
        from registry.journal import last_sim_time

        last = last_sim_time(engine, code)
        clock = SimulatedClock(parse_time(last) if last else None)
        if at is not None:
            refuse_past(at, clock.now(), f"registry {code}'s")
            clock.set(at)
        from registry import Registry

        registry = Registry.open(engine, code, key, clock)
        try:
            yield registry
        finally:
            registry.close()


REGISTRY_START = "etslink registry session fixtures/registries/korea-phase1.toml"


def start_hint(db: str, command: str = REGISTRY_START) -> str:
    """Return `command` as a person can run it to create the store `db`.

    It carries `--db` whenever `db` is not the default, so followed literally
    it creates this store and not a SQLite file in the current folder.
    """
    return command if db == DEFAULT_DB else f"{command} --db {shlex.quote(db)}"


def existing_engine(db: str, command: str = REGISTRY_START) -> Any:
    """Return an engine for a store that exists; a missing SQLite file is an error.

    `command` is what starts such a store (default: a registry session).
    """
    sqlite_file = sqlite_file_of(db)
    if sqlite_file is not None and not sqlite_file.exists():
        raise StoreError(f"no store at {sqlite_file}; start one with '{start_hint(db, command)}'")
    from registry.store import make_engine

    return make_engine(db)


def pick_registry(engine: Any, db: str, code: str | None, command: str = REGISTRY_START) -> str:
    """Return the code of the registry to open: `code`, or the store's only one.

    `command` is what starts a registry in an empty store (default: a registry session).
    Other streams (a registry's compliance book, later the gateway) share the store.
    """
    from registry.journal import list_streams

    codes = [stream for stream in list_streams(engine) if is_registry_code(stream)]
    if code is not None:
        if code not in codes:
            raise StoreError(
                f"no registry {code!r} in {db}; it holds: {', '.join(codes) or 'none'}"
            )
        return code
    if not codes:
        raise StoreError(f"{db} holds no registry yet; start one with '{start_hint(db, command)}'")
    if len(codes) > 1:
        raise StoreError(f"{db} holds registries {', '.join(codes)}; choose one with --registry")
    return codes[0]


def load_key(path: Path) -> SigningKey:
    from registry.keys import SigningKey

    try:
        return SigningKey.load(path)
    except FileNotFoundError:
        raise StoreError(f"registry key {path} not found; pass --key") from None
    except ValueError as error:
        raise StoreError(f"registry key {path} is not an Ed25519 PEM key: {error}") from None


class MomentType(click.ParamType):
    """An ISO 8601 moment, the one form every `--at` takes: `2024-03-05`,
    `2024-03-05T10:00:00`, `2024-03-05T10:00:00Z` or with an offset (`+09:00`).
    Without a zone it is UTC. Converted to an aware UTC datetime."""

    name = "ISO-TIME"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, datetime):
            moment = value
        else:
            try:
                moment = datetime.fromisoformat(str(value))
            except ValueError:
                self.fail(
                    "expected an ISO 8601 time like 2024-03-05, 2024-03-05T10:00:00 or "
                    f"2024-03-05T10:00:00Z, found {value!r}",
                    param,
                    ctx,
                )
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


MOMENT = MomentType()

at_option = click.option(
    "--at",
    type=MOMENT,
    default=None,
    help="Move the simulated clock forward to this moment first (ISO 8601, e.g. "
    "2024-03-05 or 2024-03-05T10:00:00Z; UTC when no offset is given); a moment before "
    "the simulated now is refused (exit 2).",
)


class SeedType(click.ParamType):
    """A run's seed: a whole number from 0 to 2**63 - 1."""

    name = "SEED"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, int):
            seed = value
        else:
            try:
                seed = int(str(value), 10)
            except ValueError:
                self.fail(f"a seed is a whole number like 42, found {value!r}", param, ctx)
        if not 0 <= seed < SEED_LIMIT:
            self.fail(f"a seed is from 0 to {SEED_LIMIT - 1:,}, found {seed}", param, ctx)
        return seed


SEED_LIMIT = 2**63

seed_option = click.option(
    "--seed",
    type=SeedType(),
    default=None,
    help="Seed of the run's random state (default: the scenario's). Generated entities "
    "keep the file's seed.",
)


class ScenarioType(click.ParamType):
    """A scenario: a file, or the name of a shipped one (`eu-switzerland`)."""

    name = "scenario"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from etslink.scenario.shipped import UnknownScenarioError, scenario_path

        try:
            return scenario_path(value)
        except UnknownScenarioError as error:
            self.fail(f"{value}: {error.message}", param, ctx)


SCENARIO = ScenarioType()


def reason_option(required: bool) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The one way a command takes a reason: `--reason TEXT`, kept in the journal."""
    if required:
        return click.option("--reason", required=True, help="Why (kept in the journal).")
    return click.option("--reason", default="", help="Why (kept in the journal). Optional.")


def refuse_past(at: datetime, now: datetime, whose: str) -> None:
    """Exit 2 before anything is written when `at` is earlier than `whose` simulated now."""
    if at < now:
        fail(
            EXIT_USAGE,
            f"--at {format_time(at)} is before {whose} simulated now {format_time(now)}; "
            "simulated time never goes backwards",
        )


def prepare_store(db: str, code: str, key_file: Path, replace: bool) -> None:
    """Make way for a new registry in `db`: refuse an existing one unless replacing a file."""
    sqlite_file = sqlite_file_of(db)
    if replace:
        if sqlite_file is None:
            raise StoreError("--replace deletes SQLite files only; drop a server database yourself")
        for path in (sqlite_file, Path(f"{sqlite_file}-wal"), Path(f"{sqlite_file}-shm"), key_file):
            path.unlink(missing_ok=True)
    from registry.journal import list_streams
    from registry.store import make_engine

    if code in list_streams(make_engine(db)):
        hint = " (or pass --replace)" if sqlite_file is not None else ""
        raise StoreError(f"registry {code} already exists in {db}; use another --db{hint}")
    if key_file.exists():
        raise StoreError(f"key file {key_file} already exists; move it away or pass --key")


def exact_text(value: str | None) -> str:
    """Return an exact report number ("p" or "p/q") rounded to two places for a table."""
    if value is None:
        return "-"
    numerator, _, denominator = value.partition("/")
    return f"{int(numerator) / int(denominator or '1'):,.2f}"  # display only
