"""The event store: the book's tables, atomic appends with optimistic locking, loads.

The tables live in an engine (:mod:`eslab.engines`): DuckDB by default (memory or a
file, no server) or PostgreSQL (``EventStore("postgresql://…")``). The API, the tables
and the errors are the same on both.

How an append is locked (measured in ``bench/``, see the README): DuckDB charges about
half a millisecond per statement, so an append is **one** ``INSERT`` of all the
command's events. The ``UNIQUE (entity_type, entity_id, entity_version)`` key is the
optimistic lock: if another writer already added version ``expected + 1``, the insert
fails and eslab raises :class:`ConcurrencyError`. The book's alternative — an
``UPDATE entities SET entity_version = <new> WHERE … AND entity_version = <read>``
compare-and-set in the same transaction — costs three more statements per command
(BEGIN, UPDATE, COMMIT) for the same guarantee, so ``entities`` is a view here.

One more guard keeps streams gap-free: an expected version *higher* than the stream's
is refused. Versions only grow, so the store remembers the highest version it has seen
per stream and asks the database only when it cannot vouch for the expected version.

Appends through one EventStore object are serialised by a lock, which makes position
order equal commit order (a log tailer can then never skip an event), and every thread
gets its own cursor (DuckDB) or connection (PostgreSQL). On DuckDB one process owns the
file, so that holds for the whole store; on PostgreSQL several processes (each with its
own EventStore) append at once, and across them position order is NOT commit order.

No raw driver error leaves a public method: each becomes an eslab error that says what
to do (the driver's own error is its ``__cause__``). The exception is your own SQL
(``store.sql``, ``uow.execute``, ``store.cursor()``), which raises the driver's errors.

Readers that must not stop for one bad row (relays, projectors) read with
``quarantine_as=<their name>``: a row that cannot be decoded is recorded in the
``quarantine`` table with the reason and left out, and the reader goes on.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import numbers
import os
import threading
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd
import pyarrow as pa

from eslab import events as events_module
from eslab import serialization
from eslab.clock import Clock, IdFactory, new_id, utc_now
from eslab.engines import Engine, open_engine
from eslab.engines.duckdb import first_line as _first_line
from eslab.errors import (
    BadInputError,
    ConcurrencyError,
    DuplicateMessageError,
    EntityNotFoundError,
    EslabError,
    InvalidEventsError,
    InvalidIdError,
    ReadOnlyStoreError,
    SerializationError,
    StorageFullError,
    StoreClosedError,
    StoreError,
    StreamExistsError,
    WrongExpectedVersionError,
)
from eslab.events import Event, EventMetadata, StoredEvent

MAX_EVENT_BYTES = 4 * 1024 * 1024
"""The largest event payload (JSON) one event may have."""

_EVENT_COLUMNS = (
    "position, event_id, entity_type, entity_id, entity_version, event_type, "
    "schema_version, event_data, metadata, created_at, published, triggering_event"
)

_INSERT_EVENTS_FROM_BATCH = """
INSERT INTO events (event_id, event_type, event_data, entity_type, entity_id,
                    entity_version, schema_version, triggering_event, metadata, created_at)
SELECT event_ids, event_types, event_data, entity_types, entity_ids, versions,
       schema_versions, triggering, metadata, created_at FROM _eslab_batch
"""
_INSERT_QUARANTINE = """
INSERT OR IGNORE INTO quarantine (reader, position, event_id, entity_type, entity_id,
                                  entity_version, event_type, schema_version, error, reason,
                                  first_seen)
SELECT unnest(CAST($reader AS VARCHAR[])), unnest(CAST($position AS BIGINT[])),
       unnest(CAST($event_id AS VARCHAR[])), unnest(CAST($entity_type AS VARCHAR[])),
       unnest(CAST($entity_id AS VARCHAR[])), unnest(CAST($entity_version AS BIGINT[])),
       unnest(CAST($event_type AS VARCHAR[])), unnest(CAST($schema_version AS INTEGER[])),
       unnest(CAST($error AS VARCHAR[])), unnest(CAST($reason AS VARCHAR[])), $now
"""
ARROW_BATCH_ROWS = 64
"""From this many events on, a unit of work hands them to DuckDB as an Arrow table
(columnar: about half the cost of binding Python lists)."""


F = TypeVar("F", bound=Callable[..., Any])


def _guarded(method: F) -> F:
    """Turn a driver error escaping a public method into an eslab error (cause kept)."""

    @functools.wraps(method)
    def call(self: EventStore, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except self.engine.errors as exc:
            if getattr(exc, "_eslab_own_sql", False):
                raise  # the caller's own SQL (uow.execute): DuckDB's error, as documented
            raise self._wrap(exc, method.__name__) from exc

    return call  # type: ignore[return-value]


def schema_sql(engine: str = "duckdb") -> str:
    """The DDL of the store, to read or to show learners.

    ``eslab/schema.sql`` for DuckDB, ``eslab/schema_postgres.sql`` for ``"postgresql"``.
    """
    name = "schema_postgres.sql" if engine in ("postgresql", "postgres") else "schema.sql"
    return resources.files("eslab").joinpath(name).read_text(encoding="utf-8")


@dataclass
class PendingAppend:
    """Events for one stream, checked and serialised, waiting to be written."""

    entity_type: str
    entity_id: str
    expected_version: int
    events: list[Event]
    rows: dict[str, list[Any]]

    @property
    def new_version(self) -> int:
        return self.expected_version + len(self.events)


@dataclass
class SqlTrace:
    """One statement the store ran, kept when ``trace=True`` (for the labs)."""

    sql: str
    params: dict[str, Any] | list[Any] | None
    rows: int | None = None
    error: str | None = None


@dataclass(frozen=True)
class QuarantinedEvent:
    """A stored row a reader could not decode, set aside (``quarantine`` table) with why."""

    reader: str
    position: int
    event_id: str
    entity_type: str
    entity_id: str
    entity_version: int
    event_type: str
    schema_version: int
    error: str
    """The error's class name, e.g. ``UnknownEventTypeError``."""
    reason: str
    """The error's message: what is wrong with the row and what to do."""


class ReadBatch(list[StoredEvent]):
    """The events a read returned (a list), plus the rows it set aside.

    ``quarantined`` is empty unless the read was made with ``quarantine_as=...``.
    """

    def __init__(self, events: Sequence[StoredEvent] = ()) -> None:
        super().__init__(events)
        self.quarantined: list[QuarantinedEvent] = []

    def positions(self) -> list[int]:
        """Every position this read covered: decoded and quarantined rows, in order."""
        return sorted([e.position for e in self] + [q.position for q in self.quarantined])


@dataclass
class UnitOfWork:
    """Appends (and consumer bookkeeping) that commit together or not at all.

    Get one with ``store.unit_of_work()``; everything is written when the ``with`` block
    ends without an error, in one transaction.
    """

    store: EventStore
    appends: list[PendingAppend] = field(default_factory=list)
    processed: list[tuple[str, str]] = field(default_factory=list)
    snapshots: list[dict[str, Any]] = field(default_factory=list)
    statements: list[tuple[str, dict[str, Any] | list[Any]]] = field(default_factory=list)
    committed: bool = False

    def append(
        self,
        entity_type: str,
        entity_id: str,
        events: Sequence[Event],
        expected_version: int,
        *,
        metadata: EventMetadata | None = None,
        triggering_event: str | None = None,
    ) -> int:
        """Queue an append (same checks as :meth:`EventStore.append`); return the new version."""
        pending = self.pending_version(entity_type, entity_id)
        if pending is not None and pending != expected_version:
            raise ConcurrencyError(entity_type, entity_id, expected_version, pending)
        append = self.store.prepare(
            entity_type,
            entity_id,
            events,
            expected_version,
            metadata=metadata,
            triggering_event=triggering_event,
        )
        self.appends.append(append)
        return append.new_version

    def pending_version(self, entity_type: str, entity_id: str) -> int | None:
        """The version a stream will have after this unit of work, if it touches it."""
        versions = [
            a.new_version
            for a in self.appends
            if (a.entity_type, a.entity_id) == (entity_type, entity_id)
        ]
        return versions[-1] if versions else None

    def pending_events(self, entity_type: str, entity_id: str) -> list[Event]:
        """The events queued for one stream, in order."""
        return [
            e
            for a in self.appends
            if (a.entity_type, a.entity_id) == (entity_type, entity_id)
            for e in a.events
        ]

    def discard_appends(self) -> None:
        """Drop the queued appends (and snapshots); keep processed messages and statements.

        For a command that was refused when its message id and the reply must still be
        recorded: the refusal writes no business events, but the message counts as
        handled. Queued snapshots go too, as they may describe the dropped events.
        """
        self.appends.clear()
        self.snapshots.clear()

    def record_processed(self, consumer_id: str, message_id: str) -> None:
        """Insert (consumer_id, message_id) into ``processed_messages`` with the events."""
        _check_id("consumer_id", consumer_id)
        _check_id("message_id", message_id)
        self.processed.append((consumer_id, message_id))

    def save_snapshot(self, **row: Any) -> None:
        """Queue a ``snapshots`` row (see :meth:`EventStore.save_snapshot`)."""
        _check_snapshot_row(row)
        self.snapshots.append(row)

    def execute(self, sql: str, params: dict[str, Any] | list[Any] | None = None) -> None:
        """Queue a parameterised statement of your own (e.g. a read-model update)."""
        self.statements.append((sql, params or []))


class EventStore:
    """An event store: DuckDB in memory (the default), a DuckDB file, or PostgreSQL.

    ``EventStore()`` — memory; ``EventStore("shop.duckdb")`` — a file;
    ``EventStore("postgresql://user:pw@host:port/db")`` — a server (or pass
    ``engine=`` an engine from :mod:`eslab.engines`).
    """

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        engine: Engine | None = None,
        read_only: bool = False,
        clock: Clock | None = None,
        id_factory: IdFactory | None = None,
        trace: bool = False,
    ) -> None:
        if path is not None and not isinstance(path, str | os.PathLike):
            raise BadInputError(
                f"path must be a str or pathlib.Path naming the store file, or a "
                f"postgresql:// URL (or None for a store in memory), got {path!r:.80} "
                f"({type(path).__name__})."
            )
        if engine is not None and path is not None:
            raise BadInputError(
                "Pass either a path / URL or an engine, not both: EventStore(engine=…) "
                "already knows where its tables are."
            )
        _check_setup(path, clock, id_factory)
        self.read_only = read_only
        self.clock: Clock = clock or utc_now
        self.id_factory: IdFactory = id_factory or new_id
        self.trace: list[SqlTrace] | None = [] if trace else None
        self._closed = False
        self.engine: Engine = engine or open_engine(path, read_only=read_only)
        self.read_only = read_only or self.engine.read_only
        self.path = getattr(self.engine, "path", None)
        """The DuckDB file (None in memory and on PostgreSQL)."""
        self._write_lock = threading.RLock()
        self._heads: dict[tuple[str, str], int] = {}
        if not self.read_only:
            try:
                self.engine.create_schema()
            except self.engine.errors as exc:
                self.engine.close()
                raise self._wrap(exc, "EventStore") from exc

    # -- connection -----------------------------------------------------------------

    def cursor(self) -> Any:
        """This thread's own cursor for your own SQL (``$name`` / ``?`` parameters).

        DuckDB's cursor; on PostgreSQL a psycopg cursor that takes the same SQL forms
        (:class:`eslab.engines.postgres.SqlCursor`).
        """
        if self._closed:
            raise self._closed_error()
        try:
            return self.engine.public_cursor()
        except self.engine.errors as exc:
            raise self._wrap(exc, "cursor") from exc

    def _cursor(self) -> Any:
        """The engine's own cursor for this thread (the store's SQL, already translated)."""
        if self._closed:
            raise self._closed_error()
        return self.engine.cursor()

    def close(self) -> None:
        """Close the database (a file store can then be opened by another process)."""
        self._closed = True
        self.engine.close()

    @property
    def closed(self) -> bool:
        """True once :meth:`close` ran: every further call raises :class:`StoreClosedError`."""
        return self._closed

    def _closed_error(self) -> StoreClosedError:
        return StoreClosedError(
            f"{self} is closed (store.close() ran, or its `with` block ended). Open it "
            "again — EventStore(path) — to go on; an in-memory store's events are gone."
        )

    def _wrap(self, exc: BaseException, method: str) -> EslabError:
        """The eslab error for a driver error that no specific check caught."""
        kind = self.engine.kind(exc)
        if self._closed or kind == "closed":
            return self._closed_error()
        unavailable: EslabError | None = self.engine.unavailable(exc)
        if unavailable is not None:
            return unavailable
        if kind == "nul":
            return BadInputError(
                f"{self}: {method}() got text with a NUL character (\\x00), which "
                "PostgreSQL cannot store; nothing was written. Remove it from the ids / data."
            )
        if kind == "read_only":
            return ReadOnlyStoreError(
                f"{self} is read-only (the connection or the role may not write). Open it "
                "read-write to append."
            )
        if kind == "missing":
            return StoreError(
                f"{self}: {method}() needs a table this database does not have "
                f"({_first_line(exc)}). The file was made by another tool or an older eslab: "
                "open it once read-write — EventStore(path) — so eslab adds its tables."
            )
        return StoreError(
            f"{self}: {self.engine.name} failed in {method}() "
            f"({type(exc).__name__}: {_first_line(exc)}). "
            "A write that failed was rolled back. If the arguments look right, this is an "
            "eslab bug: please report it with this message."
        )

    def __enter__(self) -> EventStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        where = self.engine.describe()
        return f"EventStore({where!r}{', read_only' if self.read_only else ''})"

    def _run(
        self,
        sql: str,
        params: dict[str, Any] | list[Any] | None = None,
        cur: Any = None,
    ) -> Any:
        cur = cur or self._cursor()
        if self.trace is None:
            return self.engine.execute(sql, params, cur)
        entry = SqlTrace(" ".join(sql.split()), params)
        self.trace.append(entry)
        try:
            result = self.engine.execute(sql, params, cur)
        except self.engine.errors as exc:
            entry.error = f"{type(exc).__name__}: {exc}"
            raise
        if sql.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")):
            entry.rows = self.engine.changed(result)
        return result

    # -- appending --------------------------------------------------------------------

    def prepare(
        self,
        entity_type: str,
        entity_id: str,
        events: Sequence[Event],
        expected_version: int,
        *,
        metadata: EventMetadata | None = None,
        triggering_event: str | None = None,
    ) -> PendingAppend:
        """Check and serialise an append without writing it (raises on bad input)."""
        self._check_writable()
        _check_id("entity_type", entity_type)
        _check_id("entity_id", entity_id)
        _check_expected_version(expected_version)
        if isinstance(events, Event):
            raise InvalidEventsError("append() takes a list of events: wrap one event as [event].")
        if not isinstance(events, Sequence) or isinstance(events, str) or not events:
            raise InvalidEventsError(
                f"append() needs a non-empty list of events for {entity_type} {entity_id!r}, "
                f"got {events!r:.80}. A command that changes nothing should return no "
                "events, and then there is nothing to append."
            )
        data = []
        for i, event in enumerate(events):
            payload = events_module.serialize(event)
            size = len(_utf8(f"event {i} ({type(event).__name__})", payload))
            if size > MAX_EVENT_BYTES:
                raise SerializationError(
                    f"Event {i} ({type(event).__name__}) is {size:,} bytes of JSON; the "
                    f"limit is {MAX_EVENT_BYTES:,}. Store big blobs elsewhere and keep a "
                    "reference in the event."
                )
            data.append(payload)
        meta = _metadata_json(metadata)
        if triggering_event is None and metadata is not None:
            triggering_event = metadata.triggering_message_id
        if triggering_event not in (None, ""):
            _check_id("triggering_event", triggering_event)
        now = self.clock()
        n = len(events)
        event_ids = [self.id_factory() for _ in range(n)]
        _check_made(now, event_ids)
        rows: dict[str, list[Any]] = {
            "event_ids": event_ids,
            "event_types": [type(e).event_type for e in events],
            "event_data": data,
            "entity_types": [entity_type] * n,
            "entity_ids": [entity_id] * n,
            "versions": list(range(expected_version + 1, expected_version + n + 1)),
            "schema_versions": [type(e).schema_version for e in events],
            "triggering": [triggering_event] * n,
            "metadata": [meta] * n,
            "created_at": [now] * n,
        }
        return PendingAppend(entity_type, entity_id, expected_version, list(events), rows)

    @_guarded
    def append(
        self,
        entity_type: str,
        entity_id: str,
        events: Sequence[Event],
        expected_version: int,
        *,
        metadata: EventMetadata | None = None,
        triggering_event: str | None = None,
    ) -> int:
        """Append ``events`` atomically if the stream is at ``expected_version``.

        ``expected_version=0`` creates the stream. Returns the stream's new version.
        Raises :class:`ConcurrencyError` when someone else appended first,
        :class:`StreamExistsError` / :class:`EntityNotFoundError` for create/update of a
        stream that exists / does not exist. Either all events are written or none.
        """
        pending = self.prepare(
            entity_type,
            entity_id,
            events,
            expected_version,
            metadata=metadata,
            triggering_event=triggering_event,
        )
        with self._write_lock:
            self._check_heads([pending])
            try:
                self._run(self.engine.insert_events, pending.rows)
            except self.engine.errors as exc:
                error = self._translate(exc, [pending])
                if error is exc:
                    raise
                raise error from exc
            self._heads[(entity_type, entity_id)] = pending.new_version
        return pending.new_version

    @contextmanager
    def unit_of_work(self) -> Iterator[UnitOfWork]:
        """Collect appends (many streams) and commit them in one transaction at the end."""
        uow = UnitOfWork(self)
        yield uow
        self.commit(uow)

    @_guarded
    def commit(self, uow: UnitOfWork) -> None:
        """Write a unit of work in one transaction (all or nothing)."""
        if uow.committed:
            raise EslabError("This unit of work was already committed; start a new one.")
        if not (uow.appends or uow.processed or uow.snapshots or uow.statements):
            uow.committed = True
            return
        self._check_writable()
        with self._write_lock:
            self._check_heads(uow.appends)
            cur = self._cursor()
            self._run("BEGIN TRANSACTION", cur=cur)
            try:
                self._write(uow, cur)
                self._run("COMMIT", cur=cur)
            except self.engine.errors as exc:
                self.engine.rollback(cur)
                error = self._translate(exc, uow.appends, uow.processed)
                if error is exc:
                    raise  # the caller's own SQL, or nothing eslab can explain better
                raise error from exc
            except BaseException:
                self.engine.rollback(cur)
                raise
            for a in uow.appends:
                self._heads[(a.entity_type, a.entity_id)] = a.new_version
        uow.committed = True

    def _write(self, uow: UnitOfWork, cur: Any) -> None:
        if uow.processed:
            self._run(
                "INSERT INTO processed_messages SELECT unnest(CAST($c AS VARCHAR[])), "
                "unnest(CAST($m AS VARCHAR[])), $t",
                {
                    "c": [c for c, _ in uow.processed],
                    "m": [m for _, m in uow.processed],
                    "t": self.clock(),
                },
                cur=cur,
            )
        if uow.appends:
            rows: dict[str, list[Any]] = {k: [] for k in uow.appends[0].rows}
            for a in uow.appends:
                for k, v in a.rows.items():
                    rows[k].extend(v)
            if len(rows["event_ids"]) < ARROW_BATCH_ROWS or not self.engine.columnar:
                self._run(self.engine.insert_events, rows, cur=cur)
            else:
                self._insert_batch(rows, cur)
        for snap in uow.snapshots:
            self._insert_snapshot(cur, **snap)
        for sql, params in uow.statements:
            try:
                self._run(sql, params, cur=cur)
            except self.engine.errors as exc:
                exc._eslab_own_sql = True  # type: ignore[attr-defined]  # yours: the driver's
                raise

    def _insert_batch(self, rows: dict[str, list[Any]], cur: Any) -> None:
        """Insert many prepared rows through an Arrow table (one columnar statement)."""
        text = pa.string()
        table = pa.table(
            {
                k: pa.array(v, type=text) if k in ("triggering", "metadata") else v
                for k, v in rows.items()
            }
        )
        cur.register("_eslab_batch", table)
        self._run(_INSERT_EVENTS_FROM_BATCH, None, cur=cur)
        cur.unregister("_eslab_batch")  # (after a failure the next register replaces it)

    def _check_heads(self, appends: Sequence[PendingAppend]) -> None:
        """Refuse expected versions above a stream's head (they would leave a gap)."""
        appends = _first_per_stream(appends)
        unsure = [
            a
            for a in appends
            if a.expected_version > 0
            and self._heads.get((a.entity_type, a.entity_id), -1) < a.expected_version
        ]
        if not unsure:
            return
        heads = self.heads([(a.entity_type, a.entity_id) for a in unsure])
        for a in unsure:
            actual = heads.get((a.entity_type, a.entity_id), 0)
            if actual == 0:
                raise EntityNotFoundError(
                    a.entity_type,
                    a.entity_id,
                    f"You appended with expected_version={a.expected_version}; to create the "
                    "stream use expected_version=0.",
                )
            if actual > a.expected_version:
                raise ConcurrencyError(a.entity_type, a.entity_id, a.expected_version, actual)
            if actual < a.expected_version:
                raise WrongExpectedVersionError(
                    f"{a.entity_type} {a.entity_id!r} is at version {actual}, but you expected "
                    f"{a.expected_version}: that version does not exist yet. Use the version "
                    "you loaded (aggregate.version), never a guess."
                )

    def _translate(
        self,
        exc: BaseException,
        appends: Sequence[PendingAppend],
        processed: Sequence[tuple[str, str]] = (),
    ) -> BaseException:
        """Turn a driver error into the eslab error a learner can act on."""
        text = str(exc)
        if getattr(exc, "_eslab_own_sql", False):
            return exc
        kind = self.engine.kind(exc)
        if kind == "full":
            return StorageFullError(
                f"The disk is full (or the file-size limit reached) while writing {self}: "
                f"{text.splitlines()[0]}. Nothing of this append was kept; free space and retry."
            )
        if kind != "unique":
            return exc
        text += " " + str(getattr(getattr(exc, "diag", None), "table_name", "") or "")
        if "processed_messages" in text or (processed and not _mentions_events(text)):
            consumer, message = _find_processed_clash(text, processed)
            return DuplicateMessageError(
                f"Consumer {consumer!r} already processed message {message!r}: this is a "
                "redelivery, so nothing was written (that is what makes it idempotent)."
            )
        appends = _first_per_stream(appends)
        heads = self.heads([(a.entity_type, a.entity_id) for a in appends])
        for a in appends:
            actual = heads.get((a.entity_type, a.entity_id), 0)
            if actual == a.expected_version:
                continue
            if a.expected_version == 0:
                return StreamExistsError(a.entity_type, a.entity_id, actual)
            return ConcurrencyError(a.entity_type, a.entity_id, a.expected_version, actual)
        if appends:
            a = appends[0]
            return ConcurrencyError(a.entity_type, a.entity_id, a.expected_version, None)
        return exc

    @_guarded
    def bulk_insert(self, table: Any) -> int:
        """Insert many events at once from a pandas DataFrame or Arrow table (columnar).

        Columns: entity_type, entity_id, entity_version, event_type, event_data (JSON text);
        optional: event_id, schema_version, metadata, created_at, triggering_event. One
        statement, all or nothing; the UNIQUE key still refuses duplicate versions. Meant
        for seeding datasets: it does not check that versions start at 1 without gaps.
        """
        self._check_writable()
        names_of = getattr(table, "column_names", None) or getattr(table, "columns", None)
        if names_of is None or isinstance(table, type):
            raise BadInputError(
                f"bulk_insert() takes a pandas DataFrame or a pyarrow Table, got "
                f"{type(table).__name__}: e.g. bulk_insert(pd.DataFrame(rows))."
            )
        cols = set(names_of)
        needed = {"entity_type", "entity_id", "entity_version", "event_type", "event_data"}
        if missing := needed - cols:
            raise BadInputError(
                f"bulk_insert() needs the columns {sorted(missing)}; the table has {sorted(cols)}."
            )
        optional = {
            "event_id": "uuid()::VARCHAR",
            "schema_version": "1",
            "metadata": "NULL",
            "created_at": "$now",
            "triggering_event": "NULL",
        }
        select = (
            ", ".join(sorted(needed))
            + ", "
            + ", ".join(f"{c}" if c in cols else f"{expr} AS {c}" for c, expr in optional.items())
        )
        names = ", ".join(sorted(needed)) + ", " + ", ".join(optional)
        try:
            with self._write_lock:
                if self.engine.columnar:
                    inserted = self._bulk_insert_arrow(table, names, select)
                else:
                    rows = self._bulk_rows(table, cols)
                    inserted = self.engine.changed(self._run(self.engine.insert_events, rows))
        except self.engine.errors as exc:
            kind, first = self.engine.kind(exc), _first_line(exc)
            if kind == "json":
                raise SerializationError(
                    f"bulk_insert(): event_data must be JSON text: {first}"
                ) from exc
            if kind == "check":
                raise BadInputError(
                    f"bulk_insert(): every entity_version must be ≥ 1; nothing was inserted. "
                    f"{first}"
                ) from exc
            if kind == "unique":
                raise EslabError(
                    f"bulk_insert() would duplicate a (entity_type, entity_id, entity_version) "
                    f"already stored; nothing was inserted. {first}"
                ) from exc
            raise
        self._heads.clear()
        return inserted

    def _bulk_insert_arrow(self, table: Any, names: str, select: str) -> int:
        """DuckDB: one ``INSERT … SELECT`` straight from the registered Arrow table."""
        cur = self.engine.connection.cursor()  # type: ignore[attr-defined]
        cur.register("_eslab_bulk", table)
        try:
            params = {"now": self.clock()} if "$now" in select else {}
            result = self._run(
                f"INSERT INTO events ({names}) SELECT {select} FROM _eslab_bulk", params, cur=cur
            ).fetchall()
        finally:
            cur.unregister("_eslab_bulk")
            cur.close()
        return int(result[0][0]) if result else 0

    def _bulk_rows(self, table: Any, cols: set[str]) -> dict[str, list[Any]]:
        """PostgreSQL: the table's columns as lists, for the array insert appends use."""
        frame = table.to_pandas() if hasattr(table, "to_pandas") else table
        n = len(frame)

        def column(name: str, default: Callable[[], Any]) -> list[Any]:
            if name not in cols:
                return [default() for _ in range(n)]
            return [None if v is None or v != v else v for v in frame[name].tolist()]

        now = self.clock()
        return {
            "event_ids": column("event_id", self.id_factory),
            "event_types": column("event_type", str),
            "event_data": column("event_data", str),
            "entity_types": column("entity_type", str),
            "entity_ids": column("entity_id", str),
            "versions": column("entity_version", int),
            "schema_versions": column("schema_version", lambda: 1),
            "triggering": column("triggering_event", lambda: None),
            "metadata": column("metadata", lambda: None),
            "created_at": column("created_at", lambda: now),
        }

    # -- reading --------------------------------------------------------------------------

    @_guarded
    def head(self, entity_type: str, entity_id: str) -> int:
        """The stream's current version (0 when it has no events)."""
        return self.heads([(entity_type, entity_id)]).get((entity_type, entity_id), 0)

    @_guarded
    def heads(self, streams: Sequence[tuple[str, str]]) -> dict[tuple[str, str], int]:
        """Current versions of many streams in one query."""
        if not streams:
            return {}
        for stream in streams:
            if not (isinstance(stream, tuple) and len(stream) == 2):
                raise BadInputError(
                    f"heads() takes (entity_type, entity_id) pairs, got {stream!r:.80}."
                )
        for entity_type, entity_id in streams:
            _check_id("entity_type", entity_type)
            _check_id("entity_id", entity_id)
        rows = self._run(
            "SELECT e.entity_type, e.entity_id, max(e.entity_version) FROM events e "
            "JOIN (SELECT unnest(CAST($t AS VARCHAR[])) AS t, "
            "unnest(CAST($i AS VARCHAR[])) AS i) s "
            "ON e.entity_type = s.t AND e.entity_id = s.i GROUP BY e.entity_type, e.entity_id",
            {"t": [t for t, _ in streams], "i": [i for _, i in streams]},
        ).fetchall()
        found = {(t, i): v for t, i, v in rows}
        self._heads.update(found)
        return found

    @_guarded
    def load(
        self,
        entity_type: str,
        entity_id: str,
        *,
        after_version: int = 0,
        up_to_version: int | None = None,
        as_of: datetime | None = None,
    ) -> list[StoredEvent]:
        """The events of one stream in version order (optionally a slice of its history)."""
        rows = self._load_rows(
            _EVENT_COLUMNS, entity_type, entity_id, after_version, up_to_version, as_of
        )
        return [_stored_event(r) for r in rows]

    @_guarded
    def load_events(
        self,
        entity_type: str,
        entity_id: str,
        *,
        after_version: int = 0,
        up_to_version: int | None = None,
        as_of: datetime | None = None,
    ) -> tuple[list[Event], int]:
        """Just the decoded events and the last version read (the replay fast path)."""
        rows = self._load_rows(
            "event_type, schema_version, event_data, entity_version",
            entity_type,
            entity_id,
            after_version,
            up_to_version,
            as_of,
        )
        if not rows:
            return [], after_version
        decode = events_module.deserialize
        events = [decode(t, v, d) for t, v, d, _ in rows]
        last = rows[-1][3]
        if up_to_version is None and as_of is None:
            self._heads[(entity_type, entity_id)] = max(
                last, self._heads.get((entity_type, entity_id), 0)
            )
        return events, last

    def _load_rows(
        self,
        columns: str,
        entity_type: str,
        entity_id: str,
        after_version: int,
        up_to_version: int | None,
        as_of: datetime | None,
    ) -> list[tuple[Any, ...]]:
        _check_id("entity_type", entity_type)
        _check_id("entity_id", entity_id)
        _check_count("after_version", after_version)
        if up_to_version is not None:
            _check_count("up_to_version", up_to_version, "e.g. up_to_version=3, or None for all")
        as_of = _check_as_of(as_of)
        sql = (
            f"SELECT {columns} FROM events WHERE entity_id = $id AND entity_type = $type "
            "AND entity_version > $after"
        )
        params: dict[str, Any] = {"id": entity_id, "type": entity_type, "after": after_version}
        if up_to_version is not None:
            sql += " AND entity_version <= $upto"
            params["upto"] = up_to_version
        if as_of is not None:
            sql += " AND created_at <= $as_of"
            params["as_of"] = as_of
        rows: list[tuple[Any, ...]] = self._run(sql + " ORDER BY entity_version", params).fetchall()
        return rows

    @_guarded
    def read_all(
        self,
        after_position: int = 0,
        limit: int | None = None,
        entity_type: str | None = None,
        *,
        up_to_position: int | None = None,
        event_types: Sequence[str] | None = None,
        quarantine_as: str | None = None,
    ) -> ReadBatch:
        """Every event after ``after_position`` in global order (the ``$all`` log).

        Narrow it with ``entity_type``, ``event_types`` (a list of type names) and
        ``up_to_position``; ``limit`` caps the number of rows read.

        A row that cannot be decoded raises (an unknown type, bad JSON, fields that do not
        fit the class). A reader that must go on past such a row names itself with
        ``quarantine_as="my-reader"``: the row is recorded in the ``quarantine`` table
        (once; see :meth:`quarantined`), left out of the result, and listed in the
        result's ``.quarantined``.
        """
        _check_count("after_position", after_position)
        if limit is not None:
            _check_count("limit", limit)
        if quarantine_as is not None:
            _check_id("quarantine_as", quarantine_as)
        if up_to_position is not None:
            _check_count("up_to_position", up_to_position)
        if entity_type is not None:
            _check_id("entity_type", entity_type)
        if event_types is not None:
            if isinstance(event_types, str) or not isinstance(event_types, Collection):
                raise BadInputError(
                    f"event_types must be a list of event type names, got {event_types!r:.80}; "
                    "for one type write event_types=['OrderCreated']."
                )
            for name in event_types:
                _check_id("event type", name)
        sql = f"SELECT {_EVENT_COLUMNS} FROM events WHERE position > $after"
        params: dict[str, Any] = {"after": after_position}
        if entity_type is not None:
            _check_id("entity_type", entity_type)
            sql += " AND entity_type = $type"
            params["type"] = entity_type
        if up_to_position is not None:
            _check_count("up_to_position", up_to_position)
            sql += " AND position <= $upto"
            params["upto"] = up_to_position
        if event_types is not None:
            if isinstance(event_types, str) or not all(isinstance(t, str) for t in event_types):
                raise BadInputError(
                    f"event_types must be a list of event type names, got {event_types!r:.80}; "
                    "e.g. event_types=['OrderCreated']."
                )
            sql += " AND event_type IN (SELECT unnest($types))"
            params["types"] = list(event_types)
        sql += " ORDER BY position"
        if limit is not None:
            sql += " LIMIT $limit"
            params["limit"] = limit
        return self._decode(self._run(sql, params).fetchall(), quarantine_as)

    def _decode(self, rows: list[tuple[Any, ...]], quarantine_as: str | None) -> ReadBatch:
        """Decode rows; with a reader name, set undecodable rows aside instead of raising."""
        if quarantine_as is None:
            return ReadBatch([_stored_event(r) for r in rows])
        batch = ReadBatch()
        for row in rows:
            try:
                batch.append(_stored_event(row))
            except Exception as exc:  # any failure to decode this one row
                batch.quarantined.append(_quarantined(quarantine_as, row, exc))
        if batch.quarantined and not self.read_only:
            self._record_quarantine(batch.quarantined)
        return batch

    def _record_quarantine(self, found: Sequence[QuarantinedEvent]) -> None:
        """Insert quarantine rows; a row already there keeps its first_seen."""
        columns = [f.name for f in dataclasses.fields(QuarantinedEvent)]
        params: dict[str, Any] = {c: [getattr(q, c) for q in found] for c in columns}
        params["now"] = self.clock()
        with self._write_lock:
            self._run(_INSERT_QUARANTINE, params)

    @_guarded
    def quarantined(self, reader: str | None = None) -> pd.DataFrame:
        """The rows readers set aside because they could not decode them, with the reason.

        One row per (reader, position), oldest position first, with the stored
        ``event_data`` beside it; ``reader`` narrows it to one relay or projection.
        """
        sql = (
            "SELECT q.*, e.event_data FROM quarantine q "
            "LEFT JOIN events e ON e.position = q.position"
        )
        params: dict[str, Any] = {}
        if reader is not None:
            _check_id("reader", reader)
            sql += " WHERE q.reader = $reader"
            params["reader"] = reader
        if self.read_only and not self._has_table("quarantine"):  # a file from older eslab
            names = [f.name for f in dataclasses.fields(QuarantinedEvent)]
            return pd.DataFrame(columns=[*names, "first_seen", "event_data"])
        return self.engine.frame(self._run(sql + " ORDER BY q.position, q.reader", params))

    @_guarded
    def release_quarantined(
        self, reader: str | None = None, positions: Sequence[int] | None = None
    ) -> int:
        """Forget quarantine records (after fixing the cause); return how many went.

        A :class:`~eslab.publishing.PollingPublisher` then tries those rows again (they
        are still unpublished). Readers that follow a checkpoint (the log tailer, a
        projector) have already moved past them: rebuild the projection to read them.
        """
        self._check_writable()
        sql, params = "DELETE FROM quarantine WHERE true", dict[str, Any]()
        if reader is not None:
            _check_id("reader", reader)
            sql += " AND reader = $reader"
            params["reader"] = reader
        if positions is not None:
            for position in positions:
                _check_count("position", position)
            sql += " AND position IN (SELECT unnest($positions))"
            params["positions"] = list(positions)
        with self._write_lock:
            return self.engine.changed(self._run(sql, params))

    def _has_table(self, name: str) -> bool:
        return self.engine.has_table(self._cursor(), name)

    @_guarded
    def last_position(self) -> int:
        """The highest global position written so far (0 for an empty store)."""
        return int(self._run("SELECT coalesce(max(position), 0) FROM events").fetchall()[0][0])

    @_guarded
    def to_dataframe(
        self, entity_type: str | None = None, entity_id: str | None = None, after_position: int = 0
    ) -> pd.DataFrame:
        """The events table (or one stream's rows) as a pandas DataFrame."""
        _check_count("after_position", after_position)
        sql = (
            "SELECT position, entity_type, entity_id, entity_version, event_type, "
            "schema_version, event_data, metadata, created_at, published, triggering_event, "
            "event_id FROM events WHERE position > $after"
        )
        _check_count("after_position", after_position)
        params: dict[str, Any] = {"after": after_position}
        for name, value in (("entity_type", entity_type), ("entity_id", entity_id)):
            if value is not None:
                _check_id(name, value)
                sql += f" AND {name} = ${name}"
                params[name] = value
        return self.engine.frame(self._run(sql + " ORDER BY position", params))

    def sql(self, query: str, params: dict[str, Any] | list[Any] | None = None) -> pd.DataFrame:
        """Run your own (parameterised) SQL against the store; returns a DataFrame.

        Parameters are ``$name`` (a dict) or ``?`` (a list) on both engines; the rest of
        the query is the engine's SQL (DuckDB's, or PostgreSQL's).
        """
        return self.engine.frame(self._run(query, params))

    # -- snapshots ---------------------------------------------------------------------

    @_guarded
    def save_snapshot(
        self,
        entity_type: str,
        entity_id: str,
        entity_version: int,
        snapshot_type: str,
        snapshot_json: str,
        snapshot_version: int = 1,
        triggering_events: list[str] | None = None,
    ) -> None:
        """Store a snapshot row (replacing one at the same version)."""
        self._check_writable()
        _check_snapshot_row(
            {
                "entity_type": entity_type,
                "entity_id": entity_id,
                "entity_version": entity_version,
                "snapshot_type": snapshot_type,
                "snapshot_json": snapshot_json,
                "snapshot_version": snapshot_version,
                "triggering_events": triggering_events,
            }
        )
        with self._write_lock:
            self._insert_snapshot(
                self._cursor(),
                entity_type=entity_type,
                entity_id=entity_id,
                entity_version=entity_version,
                snapshot_type=snapshot_type,
                snapshot_json=snapshot_json,
                snapshot_version=snapshot_version,
                triggering_events=triggering_events,
            )

    def _insert_snapshot(
        self,
        cur: Any,
        *,
        entity_type: str,
        entity_id: str,
        entity_version: int,
        snapshot_type: str,
        snapshot_json: str,
        snapshot_version: int = 1,
        triggering_events: list[str] | None = None,
    ) -> None:
        self._run(
            "INSERT OR REPLACE INTO snapshots VALUES ($t, $i, $v, $st, $sv, $json, $trig, $now)",
            {
                "t": entity_type,
                "i": entity_id,
                "v": entity_version,
                "st": snapshot_type,
                "sv": snapshot_version,
                "json": snapshot_json,
                "trig": json.dumps(triggering_events) if triggering_events else None,
                "now": self.clock(),
            },
            cur=cur,
        )

    @_guarded
    def latest_snapshot(
        self, entity_type: str, entity_id: str, max_version: int | None = None
    ) -> dict[str, Any] | None:
        """The newest snapshot row at or below ``max_version`` (None if there is none)."""
        _check_id("entity_type", entity_type)
        _check_id("entity_id", entity_id)
        if max_version is not None:
            _check_count("max_version", max_version)
        sql = (
            "SELECT entity_version, snapshot_type, snapshot_version, snapshot_json, "
            "triggering_events FROM snapshots WHERE entity_type = $t AND entity_id = $i"
        )
        params: dict[str, Any] = {"t": entity_type, "i": entity_id}
        if max_version is not None:
            sql += " AND entity_version <= $v"
            params["v"] = max_version
        row = self._run(sql + " ORDER BY entity_version DESC LIMIT 1", params).fetchone()
        if row is None:
            return None
        keys = (
            "entity_version",
            "snapshot_type",
            "snapshot_version",
            "snapshot_json",
            "triggering_events",
        )
        snap = dict(zip(keys, row, strict=True))
        snap["triggering_events"] = json.loads(snap["triggering_events"] or "[]")
        return snap

    # -- outbox, consumers and checkpoints --------------------------------------------

    @_guarded
    def unpublished(self, limit: int = 100, *, quarantine_as: str | None = None) -> ReadBatch:
        """``SELECT * FROM events WHERE published = false ORDER BY position`` (the poller).

        With ``quarantine_as`` (the poller's name), rows that cannot be decoded are set
        aside as in :meth:`read_all`, and rows that reader already set aside are skipped:
        they stay unpublished until :meth:`release_quarantined`.
        """
        _check_count("limit", limit)
        sql = f"SELECT {_EVENT_COLUMNS} FROM events WHERE NOT published"
        params: dict[str, Any] = {"limit": limit}
        if quarantine_as is not None:
            _check_id("quarantine_as", quarantine_as)
            if not self.read_only or self._has_table("quarantine"):
                sql += " AND position NOT IN (SELECT position FROM quarantine WHERE reader = $r)"
                params["r"] = quarantine_as
        rows = self._run(sql + " ORDER BY position LIMIT $limit", params).fetchall()
        return self._decode(rows, quarantine_as)

    @_guarded
    def mark_published(self, positions: Sequence[int]) -> int:
        """``UPDATE events SET published = true WHERE position IN (…)``; rows changed."""
        self._check_writable()
        if isinstance(positions, str) or not isinstance(positions, Sequence):
            raise BadInputError(
                f"positions must be a list of event positions, got {positions!r:.80}."
            )
        for position in positions:
            _check_count("position", position)
        if not positions:
            return 0
        for position in positions:
            _check_count("position", position)
        with self._write_lock:
            result = self._run(
                "UPDATE events SET published = true WHERE position IN (SELECT unnest($p))",
                {"p": list(positions)},
            )
            return self.engine.changed(result)

    @_guarded
    def was_processed(self, consumer_id: str, message_id: str) -> bool:
        """Has ``consumer_id`` already recorded ``message_id`` in ``processed_messages``?"""
        _check_id("consumer_id", consumer_id)
        _check_id("message_id", message_id)
        return bool(
            self._run(
                "SELECT count(*) FROM processed_messages WHERE consumer_id = $c "
                "AND message_id = $m",
                {"c": consumer_id, "m": message_id},
            ).fetchall()[0][0]
            > 0
        )

    @_guarded
    def checkpoint(self, name: str) -> int:
        """Where the reader ``name`` got to in the log (0 if it never ran)."""
        _check_id("checkpoint name", name)
        row = self._run("SELECT position FROM checkpoints WHERE name = $n", {"n": name}).fetchone()
        return int(row[0]) if row else 0

    @_guarded
    def save_checkpoint(self, name: str, position: int) -> None:
        """Remember that reader ``name`` has handled everything up to ``position``."""
        self._check_writable()
        _check_id("checkpoint name", name)
        _check_count("position", position)
        with self._write_lock:
            self._run(
                "INSERT OR REPLACE INTO checkpoints VALUES ($n, $p, $t)",
                {"n": name, "p": position, "t": self.clock()},
            )

    def _check_writable(self) -> None:
        if self.read_only:
            raise ReadOnlyStoreError(
                f"{self} was opened read-only, so nothing can be written. Open it with "
                "EventStore(path) (read-write) in one process to append."
            )


# -- helpers ------------------------------------------------------------------------


def _check_setup(path: object, clock: object, id_factory: object) -> None:
    """Refuse a store configured with things it cannot use (before opening anything)."""
    if path is not None and not isinstance(path, str | os.PathLike):
        raise BadInputError(
            f"path must be a str or pathlib.Path (or None for memory), got {path!r:.80}."
        )
    for name, value, example in (
        ("clock", clock, "eslab.FixedClock()"),
        ("id_factory", id_factory, "eslab.SeededIds(seed)"),
    ):
        if value is not None and not callable(value):
            raise BadInputError(
                f"{name} must be a function to call (e.g. {example}), got {value!r:.80}."
            )


def _check_made(now: object, event_ids: list[Any]) -> None:
    """What the store's clock and id factory returned is a datetime and valid text ids."""
    if not isinstance(now, datetime):
        raise BadInputError(
            f"The store's clock returned {now!r:.80}, not a datetime: a clock is a function "
            "returning datetime (e.g. eslab.FixedClock())."
        )
    for event_id in event_ids:
        _check_id("an event id from the store's id_factory", event_id)


def _check_id(name: str, value: object) -> None:
    if not isinstance(value, str) or not value:
        raise InvalidIdError(
            f"{name} must be a non-empty str, got {value!r:.80} ({type(value).__name__}). "
            "Use e.g. str(uuid4()) or a readable name like 'order-42'."
        )
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise InvalidIdError(
                f"{name} {value!r:.80} is not valid text ({exc.reason} at "
                f"{exc.start}); DuckDB stores UTF-8 only."
            ) from None


def _metadata_json(metadata: object) -> str | None:
    """The JSON of an append's metadata (None when empty), refusing what JSON cannot hold."""
    if metadata is None:
        return None
    if not isinstance(metadata, EventMetadata):
        raise SerializationError(
            f"metadata must be an eslab.EventMetadata, got {type(metadata).__name__}."
        )
    data = metadata.to_dict()
    if not data:
        return None
    plain = serialization.encode(data, "metadata")  # refuses NaN, non-str keys, objects
    _utf8("the metadata", json.dumps(plain, ensure_ascii=False))
    return json.dumps(plain)


MAX_COUNT = 2**63 - 1
"""The largest position, version or limit the store's BIGINT columns hold."""


def _check_count(name: str, value: object, example: str = "") -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Integral)
        or not 0 <= int(value) <= MAX_COUNT
    ):
        raise BadInputError(
            f"{name} must be an int from 0 to 2**63 - 1, got {value!r:.80} "
            f"({type(value).__name__})" + (f"; {example}." if example else ".")
        )


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON (JSON has no NaN or Infinity)")


def _check_as_of(value: object) -> datetime | None:
    """``as_of`` must be a datetime; an aware one is turned into naive UTC (as stored)."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise BadInputError(
            f"as_of must be a datetime (the stored times are UTC), got {value!r:.80} "
            f"({type(value).__name__}); e.g. as_of=datetime(2024, 5, 1, 12, 0), or "
            "store.load(...)[i].created_at of an event you saw."
        )
    if value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def _check_snapshot_row(row: dict[str, Any]) -> None:
    for name in ("entity_type", "entity_id", "snapshot_type"):
        _check_id(name, row.get(name))
    _check_count("entity_version", row.get("entity_version"))
    _check_count("snapshot_version", row.get("snapshot_version", 1))
    _check_json("snapshot_json", row.get("snapshot_json"))
    _utf8("snapshot_json", row["snapshot_json"])
    triggering = row.get("triggering_events")
    if triggering is not None:
        if isinstance(triggering, str) or not isinstance(triggering, Sequence):
            raise BadInputError(
                f"triggering_events must be a list of event ids, got {triggering!r:.80}."
            )
        for event_id in triggering:
            _check_id("triggering event id", event_id)


def _check_json(name: str, text: object) -> None:
    try:
        if not isinstance(text, str):
            raise TypeError(f"a {type(text).__name__} is not a str")
        json.loads(text, parse_constant=_no_constant)
    except (TypeError, ValueError) as exc:
        raise SerializationError(f"{name} must be JSON text, got {text!r:.80}: {exc}.") from None


def _utf8(what: str, text: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise SerializationError(
            f"The JSON of {what} holds {text[exc.start : exc.end]!r}, which "
            f"is not valid text ({exc.reason}); DuckDB stores UTF-8 "
            "only. Decode the data with errors='replace'."
        ) from None


def _check_expected_version(value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise WrongExpectedVersionError(
            f"expected_version must be an int ≥ 0 (0 = create the stream), got {value!r} "
            f"({type(value).__name__}). Pass the version you loaded: aggregate.version."
        )


def _first_per_stream(appends: Sequence[PendingAppend]) -> list[PendingAppend]:
    """A unit of work may append to one stream twice; the first append holds the lock."""
    seen: dict[tuple[str, str], PendingAppend] = {}
    for a in appends:
        seen.setdefault((a.entity_type, a.entity_id), a)
    return list(seen.values())


def _mentions_events(text: str) -> bool:
    return "entity_type" in text or "events" in text


def _find_processed_clash(text: str, processed: Sequence[tuple[str, str]]) -> tuple[str, str]:
    for consumer, message in processed:
        if message in text:
            return consumer, message
    return processed[0] if processed else ("?", "?")


def _stored_event(row: tuple[Any, ...]) -> StoredEvent:
    (
        position,
        event_id,
        entity_type,
        entity_id,
        entity_version,
        event_type,
        schema_version,
        event_data,
        metadata,
        created_at,
        published,
        triggering_event,
    ) = row
    try:
        event = events_module.deserialize(event_type, schema_version, event_data)
        meta = EventMetadata.from_dict(json.loads(metadata) if metadata else None)
    except Exception as exc:
        exc.add_note(
            f"(the row at position {position}: {entity_type} {entity_id!r} v{entity_version}, "
            f"{event_type} v{schema_version}; relays and projectors read with "
            "quarantine_as=... and set such rows aside)"
        )
        raise
    return StoredEvent(
        position=position,
        event_id=event_id,
        entity_type=entity_type,
        entity_id=entity_id,
        entity_version=entity_version,
        event_type=event_type,
        schema_version=schema_version,
        event=event,
        metadata=meta,
        created_at=created_at,
        published=published,
        triggering_event=triggering_event,
    )


def _quarantined(reader: str, row: tuple[Any, ...], exc: Exception) -> QuarantinedEvent:
    """The quarantine record of a row that failed to decode with ``exc``."""
    position, event_id, entity_type, entity_id, version, event_type, schema_version = row[:7]
    return QuarantinedEvent(
        reader=reader,
        position=position,
        event_id=event_id,
        entity_type=entity_type,
        entity_id=entity_id,
        entity_version=version,
        event_type=event_type,
        schema_version=schema_version,
        error=type(exc).__name__,
        reason=str(exc),
    )
