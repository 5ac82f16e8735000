"""The SQL store: one schema for SQLite and PostgreSQL, through SQLAlchemy Core.

Tables:
- `journal`: the append-only, hash-chained events of every stream (a
  registry's code, later the gateway's and the exchange's names).
- `journal_heads`: per stream, the last committed sequence number and hash,
  signed by the stream's key at every commit.
- `snapshots`: full states at a sequence number, signed, to open fast.
- `holdings`: every held block at the latest snapshot, for plain SQL reads.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    make_url,
)
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlalchemy.pool import StaticPool

from registry.errors import StoreError

metadata = MetaData()

journal_table = Table(
    "journal",
    metadata,
    Column("stream", String(64), primary_key=True),
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("sim_time", String(20), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("body", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)

heads_table = Table(
    "journal_heads",
    metadata,
    Column("stream", String(64), primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
    Column("signature", String(128), nullable=False),
    Column("key_fingerprint", String(16), nullable=False),
    Column("public_key", Text, nullable=False),
)

snapshots_table = Table(
    "snapshots",
    metadata,
    Column("stream", String(64), primary_key=True),
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("hash", String(64), nullable=False),
    Column("state", Text, nullable=False),
    Column("state_sha256", String(64), nullable=False),
    Column("signature", String(128), nullable=False),
)

holdings_table = Table(
    "holdings",
    metadata,
    Column("registry", String(64), primary_key=True),
    Column("account_id", String(40), primary_key=True),
    Column("unit_type", String(32), primary_key=True),
    Column("vintage", Integer, primary_key=True, autoincrement=False),
    Column("serial_start", BigInteger, primary_key=True, autoincrement=False),
    Column("serial_end", BigInteger, nullable=False),
    Column("quantity", BigInteger, nullable=False),
    Column("origin", String(2), nullable=False),
    Column("project_id", String(200), nullable=False),
    Column("article6_authorized", Boolean, nullable=False),
    Column("account_kind", String(32), nullable=False),
    Column("holder", String(200), nullable=False),
    Column("label", String(200), nullable=False),
    Column("snapshot_seq", BigInteger, nullable=False),
)


SUPPORTED_SCHEMES = (
    "sqlite:///FILE (the default, no extra)",
    "postgresql+psycopg://USER@HOST:PORT/DATABASE (pip install 'etslink[pg]')",
)


def make_engine(url: str, echo: bool = False, *, durable: bool = True) -> Engine:
    """Create an engine for `url` and the schema if it is missing.

    SQLite runs in WAL mode with synchronous=FULL, so a committed batch
    survives a crash of the process and of the machine. `durable=False` is for a
    scratch store nobody keeps (a scenario run's): synchronous=OFF, no fsync at a
    commit. An in-memory SQLite database lives on one shared connection for the
    engine's lifetime.

    A URL that names no supported store, a driver that is not installed, a server
    that does not answer and a database that does not exist raise `StoreError`
    with one line that says what to do.
    """
    scheme = url.partition(":")[0]
    if not (scheme == "sqlite" or scheme.startswith("postgresql")):
        raise StoreError(
            f"unsupported store URL {_redacted(url)!r}; supported: {'; '.join(SUPPORTED_SCHEMES)}"
        )
    try:
        if url.startswith("sqlite"):
            in_memory = url in ("sqlite://", "sqlite:///:memory:")
            engine = create_engine(
                url,
                echo=echo,
                poolclass=StaticPool if in_memory else None,
                connect_args={"check_same_thread": False} if in_memory else {"timeout": 30},
            )
            event.listen(engine, "connect", _sqlite_pragmas if durable else _scratch_pragmas)
        else:
            engine = create_engine(url, echo=echo, pool_pre_ping=True)
    except (ArgumentError, NoSuchModuleError, ImportError) as error:
        raise StoreError(
            f"cannot use store URL {_redacted(url)!r}: {_first_line(error)}; "
            f"supported: {'; '.join(SUPPORTED_SCHEMES)}"
        ) from None
    try:
        metadata.create_all(engine)
    except OperationalError as error:
        engine.dispose()
        raise StoreError(
            f"cannot open the store {_redacted(url)}: {_first_line(error.orig or error)}"
        ) from None
    return engine


def _redacted(url: str) -> str:
    """Return `url` without a password, for a message."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def _first_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    _set_pragmas(dbapi_connection, "FULL")


def _scratch_pragmas(dbapi_connection: Any, _record: Any) -> None:
    _set_pragmas(dbapi_connection, "OFF")


def _set_pragmas(dbapi_connection: Any, synchronous: str) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA synchronous={synchronous}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
