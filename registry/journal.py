"""The append-only, hash-chained, signed journal of one stream, with group commit.

Each entry's hash is SHA-256 over the previous hash, its sequence number,
simulated time, kind and canonical body. At every commit the stream's head
(sequence number and hash) is signed with the stream's Ed25519 key, so a
journal edited behind the writer's back fails verification when opened.

Single writer, enforced: a commit inserts entries under a unique (stream,
seq) key and moves the head only from the sequence number this writer last
saw. A second writer loses on either and gets `ConcurrentWriterError`.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Dialect, Engine, insert, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from registry import canonical
from registry.errors import ConcurrentWriterError, JournalIntegrityError, StoreError
from registry.keys import SigningKey, VerifyKey
from registry.store import heads_table, journal_table

GENESIS_HASH = "0" * 64
BATCH_EVENTS_MAX = 100_000
# A buffered entry is a row of the journal table, its values in this order.
_ENTRY_COLUMNS = ("stream", "seq", "sim_time", "kind", "body", "prev_hash", "hash")


@dataclass(frozen=True, slots=True)
class JournalEntry:
    stream: str
    seq: int
    sim_time: str
    kind: str
    body: str
    prev_hash: str
    hash: str

    @property
    def data(self) -> Any:
        return canonical.decode(self.body)


def entry_hash(prev_hash: str, seq: int, sim_time: str, kind: str, body: str) -> str:
    """Return the chained hash of one entry."""
    header = f"{prev_hash}|{seq}|{sim_time}|{kind}|"
    return hashlib.sha256((header + body).encode("utf-8")).hexdigest()


def head_message(stream: str, seq: int, head_hash: str) -> bytes:
    """Return the bytes a head signature covers."""
    return canonical.encode({"stream": stream, "seq": seq, "hash": head_hash})


@dataclass(frozen=True, slots=True)
class GroupCommit:
    """When a batch is committed: at `events_max` entries, or when an append
    finds the oldest buffered entry older than `delay_ms_max`, or on demand."""

    events_max: int = 1_000
    delay_ms_max: int = 50

    def __post_init__(self) -> None:
        if not 1 <= self.events_max <= BATCH_EVENTS_MAX:
            raise ValueError(f"batch size must be 1..{BATCH_EVENTS_MAX}, was {self.events_max}")
        if self.delay_ms_max < 0:
            raise ValueError(f"batch delay must be >= 0 ms, was {self.delay_ms_max}")


class Journal:
    """The writer's handle on one stream's journal."""

    def __init__(
        self,
        engine: Engine,
        stream: str,
        key: SigningKey,
        head_seq: int,
        head_hash: str,
        group_commit: GroupCommit,
    ) -> None:
        self.engine = engine
        self.stream = stream
        self._key = key
        self.committed_seq = head_seq
        self.committed_hash = head_hash
        self.seq = head_seq
        self.hash = head_hash
        self.group_commit = group_commit
        self._buffer: list[tuple[Any, ...]] = []
        self._buffer_since = 0.0
        self._insert: tuple[str, tuple[str, ...] | None] | None = None
        self._head_stored = True
        self.failed: Exception | None = None
        # Called before each commit of a non-empty batch: another journal this one's
        # entries depend on commits first (a registry's, before its endpoint's).
        self.before_commit: Callable[[], None] | None = None

    @classmethod
    def create(
        cls, engine: Engine, stream: str, key: SigningKey, group_commit: GroupCommit | None = None
    ) -> Journal:
        """Start a new, empty stream; refuse one that exists.

        The head is stored by the first commit, in the same transaction as the
        first entries, so a crash never leaves a stream that exists but is empty.
        """
        with engine.connect() as connection:
            exists = connection.execute(
                select(heads_table.c.stream).where(heads_table.c.stream == stream)
            ).first()
        if exists is not None:
            raise StoreError(f"stream {stream!r} already exists in this store")
        journal = cls(engine, stream, key, 0, GENESIS_HASH, group_commit or GroupCommit())
        journal._head_stored = False
        return journal

    @classmethod
    def open(
        cls, engine: Engine, stream: str, key: SigningKey, group_commit: GroupCommit | None = None
    ) -> Journal:
        """Open an existing stream for writing, after checking its signed head."""
        seq, head_hash = read_head(engine, stream, key.verify_key)
        return cls(engine, stream, key, seq, head_hash, group_commit or GroupCommit())

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message)

    @property
    def pending(self) -> int:
        return len(self._buffer)

    def append(self, sim_time: str, kind: str, data: dict[str, Any]) -> int:
        """Buffer one entry; commit the batch if it is full or old. Return its seq."""
        self._refuse_if_failed()
        return self.append_text(sim_time, kind, canonical.encode_text(data))

    def append_text(self, sim_time: str, kind: str, body: str) -> int:
        """Buffer one entry whose data the caller has encoded: `body` must be
        exactly `canonical.encode_text` of it. Return its seq."""
        self._refuse_if_failed()
        seq = self.seq + 1
        digest = entry_hash(self.hash, seq, sim_time, kind, body)
        if not self._buffer:
            self._buffer_since = time.monotonic()
        self._buffer.append((self.stream, seq, sim_time, kind, body, self.hash, digest))
        self.seq = seq
        self.hash = digest
        if len(self._buffer) >= self.group_commit.events_max or (
            (time.monotonic() - self._buffer_since) * 1000 >= self.group_commit.delay_ms_max
        ):
            self.flush()
        return seq

    def _refuse_if_failed(self) -> None:
        if self.failed is not None:
            raise ConcurrentWriterError(
                f"journal {self.stream!r} stopped after a failed commit ({self.failed}); reopen it"
            )

    def flush(self) -> None:
        """Commit the buffered batch and the signed head in one transaction."""
        if not self._buffer:
            return
        if self.failed is not None:
            raise ConcurrentWriterError(f"journal {self.stream!r} already failed: {self.failed}")
        if self.before_commit is not None:
            self.before_commit()
        signature = self._key.sign(head_message(self.stream, self.seq, self.hash)).hex()
        try:
            with self.engine.begin() as connection:
                if self._head_stored:
                    self._move_head(connection, signature)
                else:
                    self._insert_head(connection, signature)
                self._insert_buffer(connection)
        except IntegrityError as error:
            if not self._head_stored:
                self.failed = StoreError(
                    f"stream {self.stream!r} was created by another writer at the same time"
                )
                raise self.failed from error
            self.failed = ConcurrentWriterError(
                f"journal {self.stream!r}: seq {self.committed_seq + 1} was already taken by "
                "another writer; this writer's batch was not committed"
            )
            raise self.failed from error
        except ConcurrentWriterError as error:
            self.failed = error
            raise
        except Exception as error:
            self.failed = error
            raise
        self._head_stored = True
        self._buffer.clear()
        self.committed_seq = self.seq
        self.committed_hash = self.hash

    def _insert_head(self, connection: Connection, signature: str) -> None:
        connection.execute(
            insert(heads_table),
            {
                "stream": self.stream,
                "seq": self.seq,
                "hash": self.hash,
                "signature": signature,
                "key_fingerprint": self._key.fingerprint,
                "public_key": self._key.verify_key.to_pem().decode(),
            },
        )

    def _move_head(self, connection: Connection, signature: str) -> None:
        """Move the head from the seq this writer last committed, or fail: single writer."""
        moved = connection.execute(
            update(heads_table)
            .where(heads_table.c.stream == self.stream)
            .where(heads_table.c.seq == self.committed_seq)
            .values(seq=self.seq, hash=self.hash, signature=signature)
        )
        if moved.rowcount != 1:
            raise ConcurrentWriterError(
                f"journal {self.stream!r}: another writer moved the head past seq "
                f"{self.committed_seq}; this writer's batch of {len(self._buffer)} "
                "entries was not committed"
            )

    def _insert_buffer(self, connection: Connection) -> None:
        """Insert the buffered rows by the driver's fastest bulk path.

        Core's executemany of `insert(journal_table)` would process every row's
        parameters in Python; these columns need no conversion, so the driver
        gets the statement, compiled once, and the rows as they are. On psycopg
        a COPY costs the server less again than a statement per row. Errors are
        SQLAlchemy's either way (a duplicate seq is an IntegrityError).
        """
        if connection.dialect.driver == "psycopg":
            _copy_rows(connection, self._buffer)
            return
        if self._insert is None:
            self._insert = _compile_insert(connection.dialect)
        sql, names = self._insert
        if names is None:
            connection.exec_driver_sql(sql, self._buffer)
        else:
            rows = [dict(zip(names, row, strict=True)) for row in self._buffer]
            connection.exec_driver_sql(sql, rows)


_COPY_ENTRIES = f"COPY {journal_table.name} ({', '.join(_ENTRY_COLUMNS)}) FROM STDIN"


def _copy_rows(connection: Connection, rows: list[tuple[Any, ...]]) -> None:
    """COPY `rows` into the journal on the connection's psycopg connection, in
    its transaction; raise a driver error as the SQLAlchemy error it maps to."""
    dbapi = connection.dialect.loaded_dbapi
    driver_connection: Any = connection.connection.driver_connection
    try:
        with driver_connection.cursor() as cursor, cursor.copy(_COPY_ENTRIES) as copy:
            for row in rows:
                copy.write_row(row)
    except dbapi.Error as error:
        raise DBAPIError.instance(
            _COPY_ENTRIES, None, error, dbapi.Error, dialect=connection.dialect
        ) from error


def _compile_insert(dialect: Dialect) -> tuple[str, tuple[str, ...] | None]:
    """Return the journal insert for `dialect` and, for a named paramstyle, the
    parameter names of a row (None: rows go as tuples in `_ENTRY_COLUMNS` order)."""
    compiled = insert(journal_table).compile(dialect=dialect)
    if compiled.positional:
        assert tuple(compiled.positiontup or ()) == _ENTRY_COLUMNS, compiled.positiontup
        return str(compiled), None
    return str(compiled), _ENTRY_COLUMNS


def read_head(engine: Engine, stream: str, verify_key: VerifyKey) -> tuple[int, str]:
    """Return the stream's signed (seq, hash), checking the signature with `verify_key`."""
    with engine.connect() as connection:
        row = connection.execute(
            select(heads_table).where(heads_table.c.stream == stream)
        ).one_or_none()
    if row is None:
        raise StoreError(f"no stream {stream!r} in this store")
    if row.key_fingerprint != verify_key.fingerprint:
        raise JournalIntegrityError(
            f"journal {stream!r} is signed by key {row.key_fingerprint}, "
            f"but the key given is {verify_key.fingerprint}"
        )
    if not verify_key.verify(bytes.fromhex(row.signature), head_message(stream, row.seq, row.hash)):
        raise JournalIntegrityError(f"journal {stream!r}: the head signature does not verify")
    return row.seq, row.hash


def stored_public_key(engine: Engine, stream: str) -> VerifyKey:
    """Return the public key recorded with a stream (for display, not for trust)."""
    with engine.connect() as connection:
        pem = connection.execute(
            select(heads_table.c.public_key).where(heads_table.c.stream == stream)
        ).scalar_one_or_none()
    if pem is None:
        raise StoreError(f"no stream {stream!r} in this store")
    return VerifyKey.from_pem(pem.encode())


def last_sim_time(engine: Engine, stream: str) -> str | None:
    """Return the simulated time of the stream's last committed entry, if any."""
    with engine.connect() as connection:
        return connection.execute(
            select(journal_table.c.sim_time)
            .where(journal_table.c.stream == stream)
            .order_by(journal_table.c.seq.desc())
            .limit(1)
        ).scalar_one_or_none()


def list_streams(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return list(connection.execute(select(heads_table.c.stream).order_by("stream")).scalars())


def read_entries(
    engine: Engine,
    stream: str,
    after_seq: int = 0,
    through_seq: int | None = None,
    chunk: int = 10_000,
) -> Iterator[JournalEntry]:
    """Yield entries of `stream` with after_seq < seq <= through_seq, in order, in chunks."""
    last = after_seq
    while True:
        query = (
            select(journal_table)
            .where(journal_table.c.stream == stream)
            .where(journal_table.c.seq > last)
            .order_by(journal_table.c.seq)
            .limit(chunk)
        )
        if through_seq is not None:
            query = query.where(journal_table.c.seq <= through_seq)
        with engine.connect() as connection:
            rows = connection.execute(query).all()
        for row in rows:
            yield JournalEntry(*row)
        if len(rows) < chunk:
            return
        last = rows[-1].seq


class ChainVerifier:
    """Check entries one by one against the chain: consecutive seqs, linked hashes."""

    __slots__ = ("hash", "seq", "stream")

    def __init__(self, stream: str, seq: int = 0, head_hash: str = GENESIS_HASH) -> None:
        self.stream = stream
        self.seq = seq
        self.hash = head_hash

    def check(self, entry: JournalEntry) -> None:
        if entry.seq != self.seq + 1:
            raise JournalIntegrityError(
                f"journal {self.stream!r}: expected seq {self.seq + 1}, found {entry.seq}"
            )
        if entry.prev_hash != self.hash:
            raise JournalIntegrityError(
                f"journal {self.stream!r} seq {entry.seq}: previous hash does not link"
            )
        digest = entry_hash(entry.prev_hash, entry.seq, entry.sim_time, entry.kind, entry.body)
        if digest != entry.hash:
            raise JournalIntegrityError(
                f"journal {self.stream!r} seq {entry.seq}: content does not match its hash "
                "(the entry was altered)"
            )
        self.seq = entry.seq
        self.hash = digest

    def finish(self, head_seq: int, head_hash: str) -> None:
        if (self.seq, self.hash) != (head_seq, head_hash):
            raise JournalIntegrityError(
                f"journal {self.stream!r}: entries end at seq {self.seq}, "
                f"but the signed head is seq {head_seq}"
            )
