"""Projections: read models (CQRS) kept up to date from the event log, with checkpoints.

Querying the events table is hard (seed §9, 이벤트 저장소를 쿼리하기 어렵다): "orders of
consumer X over 30 € placed yesterday" needs the *current* total and state of every order,
which only a replay — or SQL that re-implements the replay — can tell. CQRS answers with a
**projection**: a handler that reads the log in global position order and keeps its own
table (the read model) up to date, so the query becomes a plain ``SELECT``.

A :class:`Projection` says *what* to do: its ``on_<x>(event, stored)`` methods turn one
event into :class:`Upsert` / :class:`Update` / :class:`Delete` changes of its tables.
A :class:`Projector` does the *how*, in the same way for every projection:

* **checkpoint** — the global position it has handled, in the store's ``checkpoints``
  table, written in the **same transaction** as the read-model changes;
* **catch-up** — a new projection starts at position 0 and reads the whole log;
* **resume** — after a restart it goes on after its checkpoint: nothing skipped, nothing
  applied twice;
* **redelivery** — an event at or below the checkpoint is skipped (idempotent);
* **rebuild** — when the projection's ``version`` (its code) changes, its tables are
  dropped and built again from position 0;
* **quarantine** — a row it cannot decode (bad JSON, an unknown type, fields that do
  not fit the class) is set aside in the store's ``quarantine`` table under
  ``projection:<name>`` with the reason, and the projection goes on past it.

Table and column names always come from the projection's code (checked against a strict
pattern); values are always SQL parameters. The course's example, FTGO's ``OrderHistory``,
is in :mod:`eslab.lessons.nb09_queries_and_projections`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, cast

import pandas as pd

from eslab.aggregate import collect_handlers
from eslab.errors import BadInputError, EslabError
from eslab.events import Event, StoredEvent
from eslab.store import EventStore, ReadBatch, UnitOfWork

VERSIONS_TABLE = "projection_versions"
"""Which code version built each projection's tables (created by the first Projector)."""

_VERSIONS_DDL = f"""
CREATE TABLE IF NOT EXISTS {VERSIONS_TABLE} (
    name       VARCHAR   PRIMARY KEY,
    version    INTEGER   NOT NULL,
    tables     JSON      NOT NULL,
    rebuilt_at TIMESTAMP NOT NULL
)"""

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_STORE_TABLES = frozenset(
    {
        "events",
        "entities",
        "snapshots",
        "processed_messages",
        "checkpoints",
        VERSIONS_TABLE,
        "subject_keys",
        "quarantine",
    }  # the last one holds eslab.shredding's keys
)

ProgressCallback = Callable[[int, int], None]
"""``on_progress(done, total)``: events handled so far of the events to handle."""


class ProjectionError(EslabError):
    """A projection is defined wrongly or its handler failed (nothing of that batch kept)."""


# -- what a handler returns ---------------------------------------------------------------


@dataclass(frozen=True)
class Upsert:
    """Insert the row with ``key``, or update its ``values`` if it is already there."""

    table: str
    key: dict[str, Any]
    values: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Update:
    """``UPDATE table SET values WHERE where`` (every row that matches)."""

    table: str
    where: dict[str, Any]
    values: dict[str, Any]


@dataclass(frozen=True)
class Delete:
    """``DELETE FROM table WHERE where``."""

    table: str
    where: dict[str, Any]


Change = Upsert | Update | Delete

_HANDLERS: dict[type, dict[type, Callable[..., Any]]] = {}


# -- the projection: what to do with each event ------------------------------------------


class Projection:
    """A read model: its tables, its code ``version`` and one ``on_<x>`` method per event.

    ``tables`` maps each table name to its column definitions (the inside of ``CREATE
    TABLE name (...)``); every ``Upsert`` target needs a PRIMARY KEY on its key columns.
    Handlers look like ``def on_created(self, event: OrderCreated, stored: StoredEvent)
    -> list[Change]`` and are found by the event type in the annotation; events of other
    types are skipped without being decoded. Bump ``version`` whenever the tables or the
    handlers change: the next :class:`Projector` rebuilds the read model from zero.
    """

    name: ClassVar[str] = ""
    version: ClassVar[int] = 1
    tables: ClassVar[dict[str, str]] = {}

    def handlers(self) -> dict[type, Callable[..., Any]]:
        """{event class: on_* method} of this projection (found once per class)."""
        cls = type(self)
        if cls not in _HANDLERS:
            _HANDLERS[cls] = collect_handlers(cls, "on")
        return _HANDLERS[cls]

    def event_types(self) -> list[str]:
        """The names of the event types this projection handles."""
        return sorted(cast("type[Event]", cls).event_type for cls in self.handlers())

    def handle(self, stored: StoredEvent) -> list[Change]:
        """The changes one stored event causes (none for event types without a handler)."""
        handler = self.handlers().get(type(stored.event))
        if handler is None:
            return []
        changes = handler(self, stored.event, stored)
        if changes is None:
            return []
        return [changes] if isinstance(changes, Upsert | Update | Delete) else list(changes)


# -- the projector: checkpoints, catch-up, redelivery, rebuild ---------------------------


@dataclass
class ProjectionRun:
    """What one catch-up, delivery or rebuild did."""

    from_position: int
    to_position: int
    events: int = 0
    changes: int = 0
    skipped: int = 0
    batches: int = 0
    rebuilt: bool = False
    quarantined: list[int] = field(default_factory=list)
    """Positions set aside because they could not be decoded (see ``store.quarantined()``)."""

    def __str__(self) -> str:
        done = (
            f"handled {self.events} events ({self.changes} changes) in {self.batches} "
            f"transaction(s); checkpoint {self.from_position} → {self.to_position}"
        )
        skipped = f"; skipped {self.skipped} already-seen event(s)" if self.skipped else ""
        aside = (
            f"; set aside {len(self.quarantined)} unreadable row(s) at {self.quarantined} "
            "(store.quarantined())"
            if self.quarantined
            else ""
        )
        return ("rebuilt from zero: " if self.rebuilt else "") + done + skipped + aside


class Projector:
    """Keeps one projection's read model up to date from a store's event log.

    Creating a projector creates the read model's tables if they are missing — and drops
    and recreates them when the stored code version differs from ``projection.version``
    (``self.rebuild_reason`` then says why). Then :meth:`catch_up` reads the log from the
    checkpoint on, ``batch_size`` events per transaction.
    """

    def __init__(
        self, store: EventStore, projection: Projection, *, batch_size: int = 1000
    ) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise BadInputError(f"batch_size must be an int ≥ 1, got {batch_size!r}.")
        self.store = store
        self.projection = projection
        self.batch_size = batch_size
        _check_projection(projection)
        self._event_types = projection.event_types()
        self.rebuild_reason: str | None = None
        self._prepare()

    @property
    def checkpoint_name(self) -> str:
        """This projection's row in the ``checkpoints`` table."""
        return f"projection:{self.projection.name}"

    @property
    def position(self) -> int:
        """The checkpoint: every event up to this global position has been handled."""
        return self.store.checkpoint(self.checkpoint_name)

    def behind(self) -> int:
        """How many events of the types it handles are still to be projected (the lag)."""
        return self._count_pending(self.position, self.store.last_position())

    # -- reading the log ----------------------------------------------------------------

    def catch_up(
        self, *, max_events: int | None = None, on_progress: ProgressCallback | None = None
    ) -> ProjectionRun:
        """Project every event after the checkpoint (or the next ``max_events`` of them)."""
        start = self.position
        head = self.store.last_position()
        total = self._count_pending(start, head)
        if max_events is not None:
            total = min(total, max_events)
        run = ProjectionRun(start, start)
        if on_progress is not None:
            on_progress(0, total)
        while True:
            limit = (
                self.batch_size
                if max_events is None
                else min(self.batch_size, max_events - run.events)
            )
            if limit <= 0:
                break
            rows = self._read(run.to_position, head, limit)
            seen = rows.positions()  # decoded and set-aside rows
            full = len(seen) == limit
            end = seen[-1] if full else head  # nothing more of ours up to head
            if end == run.to_position:
                break
            run.changes += self._commit(rows, end)
            run.events += len(rows)
            run.quarantined.extend(q.position for q in rows.quarantined)
            run.batches += 1
            run.to_position = end
            if on_progress is not None:
                on_progress(run.events, total)
            if not full:
                break
        return run

    def deliver(self, events: Iterable[StoredEvent]) -> ProjectionRun:
        """Project events pushed by a subscription; those at or below the checkpoint are
        redeliveries and are skipped (that is what makes the projection idempotent)."""
        start = self.position
        ordered = sorted(events, key=lambda e: e.position)
        fresh = [e for e in ordered if e.position > start]
        run = ProjectionRun(start, start, skipped=len(ordered) - len(fresh))
        if fresh:
            wanted = [e for e in fresh if e.event_type in self._event_types]
            run.changes = self._commit(wanted, fresh[-1].position)
            run.events, run.batches, run.to_position = len(wanted), 1, fresh[-1].position
        return run

    def rebuild(self, *, on_progress: ProgressCallback | None = None) -> ProjectionRun:
        """Drop the read model, recreate it empty at checkpoint 0 and catch up from zero."""
        self._reset()
        run = self.catch_up(on_progress=on_progress)
        run.rebuilt = True
        return run

    def read_model(self, table: str | None = None, *, order_by: str | None = None) -> pd.DataFrame:
        """A read-model table as a DataFrame (the first table by default)."""
        table = table or next(iter(self.projection.tables))
        _check_table(self.projection, table)
        sql = f"SELECT * FROM {table}"
        if order_by is not None:
            _check_identifier("column", order_by)
            sql += f" ORDER BY {order_by}"
        return self.store.sql(sql)

    # -- internals ----------------------------------------------------------------------

    def _prepare(self) -> None:
        self.store.cursor().execute(_VERSIONS_DDL)
        row = (
            self.store.cursor()
            .execute(
                f"SELECT version, tables FROM {VERSIONS_TABLE} WHERE name = $n",
                {"n": self.projection.name},
            )
            .fetchone()
        )
        if row is None:
            self._reset()
        elif row[0] != self.projection.version:
            self.rebuild_reason = (
                f"{type(self.projection).__name__} is now version {self.projection.version}; "
                f"its tables were built by version {row[0]}, so they were dropped and the "
                "read model is rebuilt from position 0."
            )
            self._reset(old_tables=json.loads(row[1]))

    def _reset(self, old_tables: Sequence[str] = ()) -> None:
        """Drop and recreate the tables, checkpoint 0, record the version: one transaction."""
        with self.store.unit_of_work() as uow:
            for table in [*old_tables, *self.projection.tables]:
                _check_identifier("table", table)
                uow.execute(f"DROP TABLE IF EXISTS {table}")
            for table, columns in self.projection.tables.items():
                uow.execute(f"CREATE TABLE {table} ({columns})")
            self._save_checkpoint(uow, 0)
            uow.execute(
                f"INSERT OR REPLACE INTO {VERSIONS_TABLE} VALUES ($n, $v, $t, $at)",
                {
                    "n": self.projection.name,
                    "v": self.projection.version,
                    "t": json.dumps(list(self.projection.tables)),
                    "at": self.store.clock(),
                },
            )

    def _count_pending(self, after: int, head: int) -> int:
        if not self._event_types:
            return 0
        return int(
            self.store.cursor()
            .execute(
                "SELECT count(*) FROM events WHERE position > $a AND position <= $h "
                "AND event_type IN (SELECT unnest($types))",
                {"a": after, "h": head, "types": self._event_types},
            )
            .fetchall()[0][0]
        )

    def _read(self, after: int, head: int, limit: int) -> ReadBatch:
        if not self._event_types or limit == 0:
            return ReadBatch()
        return self.store.read_all(
            after,
            limit,
            up_to_position=head,
            event_types=self._event_types,
            quarantine_as=self.checkpoint_name,
        )

    def _commit(self, events: Sequence[StoredEvent], checkpoint: int) -> int:
        """Apply the events' changes and move the checkpoint, in one transaction."""
        changes: list[Change] = []
        for stored in events:
            try:
                found = self.projection.handle(stored)
            except Exception as exc:
                raise ProjectionError(
                    f"{type(self.projection).__name__} failed on {stored.event_type} at "
                    f"position {stored.position} ({type(exc).__name__}: {exc}). Nothing of this "
                    f"batch was written; the checkpoint stays at {self.position}. Fix the "
                    "handler and catch up again."
                ) from exc
            for change in found:
                _check_table(self.projection, change.table)
            changes.extend(found)
        with self.store.unit_of_work() as uow:
            for sql, params in statements(changes):
                uow.execute(sql, params)
            self._save_checkpoint(uow, checkpoint)
        return len(changes)

    def _save_checkpoint(self, uow: UnitOfWork, position: int) -> None:
        uow.execute(
            "INSERT OR REPLACE INTO checkpoints VALUES ($n, $p, $t)",
            {"n": self.checkpoint_name, "p": position, "t": self.store.clock()},
        )


# -- changes → SQL --------------------------------------------------------------------------


def statements(changes: Sequence[Change]) -> list[tuple[str, dict[str, Any]]]:
    """Turn changes into few parameterised statements, keeping their order.

    Upserts of the same row are merged (later values win) and rows with the same columns
    go into one ``INSERT … ON CONFLICT DO UPDATE`` — a batch of 1,000 events is then a
    handful of statements, not 1,000. An Update or Delete first writes the upserts before it.
    """
    out: list[tuple[str, dict[str, Any]]] = []
    pending: dict[tuple[str, tuple[tuple[str, Any], ...]], Upsert] = {}
    for change in changes:
        if isinstance(change, Upsert):
            row_key = (change.table, tuple(sorted(change.key.items())))
            old = pending.get(row_key)
            values = {**old.values, **change.values} if old else dict(change.values)
            pending[row_key] = Upsert(change.table, change.key, values)
            continue
        out.extend(_upsert_statements(pending.values()))
        pending.clear()
        out.append(_where_statement(change))
    out.extend(_upsert_statements(pending.values()))
    return out


def _upsert_statements(upserts: Iterable[Upsert]) -> list[tuple[str, dict[str, Any]]]:
    groups: dict[tuple[str, tuple[str, ...], tuple[str, ...]], list[Upsert]] = {}
    for up in upserts:
        shape = (up.table, tuple(up.key), tuple(up.values))
        groups.setdefault(shape, []).append(up)
    out = []
    for (table, keys, values), rows in groups.items():
        columns = [*keys, *values]
        for name in columns:
            _check_identifier("column", name)
        params = {
            f"c{i}": [({**r.key, **r.values})[c] for r in rows] for i, c in enumerate(columns)
        }
        select = ", ".join(f"unnest($c{i})" for i in range(len(columns)))
        action = (
            "DO UPDATE SET " + ", ".join(f"{v} = excluded.{v}" for v in values)
            if values
            else "DO NOTHING"
        )
        out.append(
            (
                f"INSERT INTO {table} ({', '.join(columns)}) SELECT {select} "
                f"ON CONFLICT ({', '.join(keys)}) {action}",
                params,
            )
        )
    return out


def _where_statement(change: Update | Delete) -> tuple[str, dict[str, Any]]:
    if not change.where:
        raise ProjectionError(
            f"{type(change).__name__} on {change.table} needs a `where`; "
            "a change of every row is almost always a bug."
        )
    params: dict[str, Any] = {}
    conditions = []
    for i, (name, value) in enumerate(change.where.items()):
        _check_identifier("column", name)
        conditions.append(f"{name} = $w{i}")
        params[f"w{i}"] = value
    where = " AND ".join(conditions)
    if isinstance(change, Delete):
        return f"DELETE FROM {change.table} WHERE {where}", params
    sets = []
    for i, (name, value) in enumerate(change.values.items()):
        _check_identifier("column", name)
        sets.append(f"{name} = $v{i}")
        params[f"v{i}"] = value
    return f"UPDATE {change.table} SET {', '.join(sets)} WHERE {where}", params


def _check_identifier(kind: str, name: object) -> None:
    if not isinstance(name, str) or not _IDENTIFIER.match(name):
        raise ProjectionError(
            f"{kind} name {name!r} is not allowed: use lower-case letters, digits and _ "
            "(names come from the projection's code, never from user input)."
        )


def _check_table(projection: Projection, table: str) -> None:
    if table not in projection.tables:
        raise ProjectionError(
            f"{type(projection).__name__} changes the table {table!r}, which is not one of its "
            f"tables {sorted(projection.tables)}. Add it to `tables` (and bump `version`)."
        )


def _check_projection(projection: Projection) -> None:
    if not isinstance(projection, Projection):
        raise BadInputError(
            f"{projection!r:.80} is not a Projection instance; pass e.g. "
            "OrderHistory() (note the brackets)."
        )
    _check_identifier("projection", projection.name)
    if not projection.tables:
        raise ProjectionError(f"{type(projection).__name__} has no `tables`.")
    for table in projection.tables:
        _check_identifier("table", table)
        if table in _STORE_TABLES:
            raise ProjectionError(
                f"{type(projection).__name__} may not own the store's table {table!r}: a "
                "rebuild drops a projection's tables. Give the read model its own name."
            )
