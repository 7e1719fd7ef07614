"""Transaction log tailing for real: read PostgreSQL's WAL through a logical replication slot.

The book's second relay (§6.1.4, seed: 트랜잭션 로그 테일링) does not query the ``events``
table at all: it reads the database's transaction log, where changes appear **per
transaction, in commit order**. Eventuate's CDC service tails MySQL's binlog or
PostgreSQL's WAL; :class:`WalTailer` tails PostgreSQL's WAL through *logical decoding*
with the ``test_decoding`` plugin that ships with the server, so learners see the raw
change lines::

    0/1528788 | 725 | BEGIN 725
    0/15287F0 | 725 | table public.events: INSERT: position[bigint]:1 event_id[…]:'…' …
    0/1528990 | 725 | COMMIT 725

One poll:

1. ``pg_logical_slot_peek_changes(slot, …)`` — read the decoded changes **without
   consuming** them;
2. for every committed transaction, in commit order, publish each inserted event to the
   broker (topic per aggregate type, as :class:`eslab.publishing.PollingPublisher` does);
3. ``pg_replication_slot_advance(slot, commit_lsn)`` — confirm that transaction, and only
   after it was published.

A crash between 2 and 3 sends that transaction again after a restart: **at least once**,
a duplicate, never a loss. The slot (on the server) remembers the confirmed position, so
a new tailer with the same slot name resumes there.

A replication slot nobody reads keeps WAL on disk forever (the server may not recycle a
segment the slot still needs): :meth:`WalTailer.drop_slot` when you are done, and
:func:`replication_slots` shows how much WAL each slot is holding back.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd
import psycopg

from eslab.errors import BadInputError, EslabError
from eslab.messaging import Message, MessageBroker, message_from_event
from eslab.publishing import RelayAction
from eslab.store import _stored_event

PLUGIN = "test_decoding"
PEEK = "SELECT lsn::text, xid::text, data FROM pg_logical_slot_peek_changes(%s, NULL, %s)"
ADVANCE = "SELECT pg_replication_slot_advance(%s, %s::pg_lsn)"
"""The SQL the tailer runs (``%s`` are psycopg parameters)."""

SLOT_NAME = re.compile(r"^[a-z0-9_]{1,63}$")
_COLUMN = re.compile(r"\"?(\w+)\"?\[([^\]]+)\]:('(?:[^']|'')*'|\S+)")
_STORED_COLUMNS = (
    "position",
    "event_id",
    "entity_type",
    "entity_id",
    "entity_version",
    "event_type",
    "schema_version",
    "event_data",
    "metadata",
    "created_at",
    "published",
    "triggering_event",
)


class LogTailingError(EslabError):
    """The WAL tailer could not reach its server or its slot; the message says what to do."""


class ForgottenSlotWarning(UserWarning):
    """A replication slot exists that keeps WAL on disk until it is read or dropped."""


@dataclass(frozen=True)
class WalChange:
    """One decoded line of the log: its LSN, transaction id and ``test_decoding`` text."""

    lsn: str
    xid: int
    data: str

    @property
    def kind(self) -> str:
        """``BEGIN``, ``COMMIT``, ``INSERT``, ``UPDATE``, ``DELETE`` or ``OTHER``."""
        head = self.data.split(" ", 1)[0]
        if head in ("BEGIN", "COMMIT"):
            return head
        for kind in ("INSERT", "UPDATE", "DELETE"):
            if f": {kind}:" in self.data:
                return kind
        return "OTHER"

    @property
    def table(self) -> str | None:
        """``schema.table`` of a row change (``None`` for BEGIN/COMMIT)."""
        match = re.match(r"table ([^:]+):", self.data)
        return match.group(1) if match else None

    def columns(self) -> dict[str, Any]:
        """The new row of an INSERT/UPDATE, typed (int, bool, datetime, str or None)."""
        body = self.data.split(f": {self.kind}: ", 1)[-1]
        return {name: _typed(kind, raw) for name, kind, raw in _COLUMN.findall(body)}


@dataclass(frozen=True)
class WalTransaction:
    """A committed transaction as the log shows it: its changes, BEGIN to COMMIT."""

    xid: int
    commit_lsn: str
    changes: tuple[WalChange, ...] = field(default_factory=tuple)


def _typed(kind: str, raw: str) -> Any:
    if raw == "null":
        return None
    text = raw[1:-1].replace("''", "'") if raw.startswith("'") else raw
    if kind in ("bigint", "integer", "smallint"):
        return int(text)
    if kind == "boolean":
        return text == "true"
    if kind.startswith("timestamp"):
        return datetime.fromisoformat(text)
    return text


def transactions(changes: Sequence[WalChange]) -> list[WalTransaction]:
    """Group decoded lines into committed transactions (an unfinished tail is left out)."""
    done: list[WalTransaction] = []
    current: list[WalChange] = []
    for change in changes:
        if change.kind == "BEGIN":
            current = [change]
        elif change.kind == "COMMIT":
            done.append(WalTransaction(change.xid, change.lsn, (*current, change)))
            current = []
        else:
            current.append(change)
    return done


def message_from_row(row: dict[str, Any]) -> Message:
    """The message for one inserted ``events`` row, as the log shows it.

    Same id, topic and headers as :func:`eslab.messaging.message_from_event`, built from
    the decoded columns (the event is decoded with the store's own reader).
    """
    missing = [c for c in _STORED_COLUMNS if c not in row]
    if missing:
        raise LogTailingError(
            f"The decoded row has no column(s) {missing}: is the tailer reading an eslab "
            "`events` table? (pass table='schema.events')"
        )
    return message_from_event(_stored_event(tuple(row[c] for c in _STORED_COLUMNS)))


def _connect(url: str) -> psycopg.Connection[Any]:
    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=10)
    except psycopg.Error as exc:
        raise LogTailingError(
            f"Cannot connect to PostgreSQL at {_redacted(url)}: {str(exc).strip()[:300]} "
            "Is the server running (`python -m eslab classroom status`) and the URL right?"
        ) from exc


def _redacted(url: str) -> str:
    return re.sub(r"//([^:/@]+):[^@]*@", r"//\1:***@", url)


class WalTailer:
    """Publishes the ``events`` inserts read from a logical replication slot, in commit order.

    ``url`` is a ``postgresql://`` connection string (or an open psycopg connection in
    autocommit mode). The slot is created on first use (``create=True``; the server needs
    ``wal_level=logical``, as :class:`eslab.pgcluster.PgCluster` sets it). Confirms a
    transaction only after publishing it; a restart resumes at the confirmed position.
    """

    def __init__(
        self,
        url: str | psycopg.Connection[Any],
        broker: MessageBroker,
        slot: str = "eslab_cdc",
        *,
        table: str = "public.events",
        create: bool = True,
    ) -> None:
        if not isinstance(broker, MessageBroker):
            raise BadInputError(f"broker must be an eslab MessageBroker, got {broker!r:.60}.")
        if not isinstance(slot, str) or not SLOT_NAME.match(slot):
            raise BadInputError(
                f"slot must be 1–63 lower-case letters, digits or '_', got {slot!r:.70}."
            )
        self.broker, self.slot, self.table = broker, slot, table
        self.connection = _connect(url) if isinstance(url, str) else url
        self.published: list[Message] = []
        """Every message this tailer sent, in order (a repeat means a duplicate)."""
        self.actions: list[RelayAction] = []
        self.log: list[WalChange] = []
        """Every decoded line this tailer read (for display)."""
        self._crash_next = False
        if create and not self.slot_exists():
            self.create_slot()

    # -- the slot ----------------------------------------------------------------------

    def slot_exists(self) -> bool:
        """Does the server have this tailer's slot?"""
        row = self._sql("SELECT 1 FROM pg_replication_slots WHERE slot_name = %s", (self.slot,))
        return bool(row)

    def create_slot(self) -> None:
        """Create the logical slot (``test_decoding``); warns that it keeps WAL until dropped."""
        self._sql("SELECT pg_create_logical_replication_slot(%s, %s)", (self.slot, PLUGIN))
        warnings.warn(
            f"Created replication slot {self.slot!r}. Until it is read or dropped "
            "(WalTailer.drop_slot()), PostgreSQL keeps every WAL segment it still needs on "
            "disk — a forgotten slot fills the disk.",
            ForgottenSlotWarning,
            stacklevel=2,
        )

    def drop_slot(self) -> None:
        """Drop the slot (the server may then recycle the WAL it held)."""
        if self.slot_exists():
            self._sql("SELECT pg_drop_replication_slot(%s)", (self.slot,))

    def confirmed_lsn(self) -> str:
        """The slot's confirmed position: everything committed up to it was published."""
        rows = self._sql(
            "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = %s",
            (self.slot,),
        )
        if not rows:
            raise LogTailingError(f"The replication slot {self.slot!r} does not exist.")
        return str(rows[0][0])

    # -- reading and publishing ----------------------------------------------------------

    def peek(self, limit: int | None = None) -> list[WalChange]:
        """The decoded changes after the confirmed position, not consumed."""
        rows = self._sql(PEEK, (self.slot, limit))
        return [WalChange(lsn, int(xid), data) for lsn, xid, data in rows]

    def changes_frame(self, limit: int | None = None) -> pd.DataFrame:
        """:meth:`peek` as a table (lsn, xid, kind, data) — the raw log, for learners."""
        return log_frame(self.peek(limit))

    def crash_next_poll(self) -> None:
        """Make the next poll crash after publishing, before confirming (then restart)."""
        self._crash_next = True

    def poll(self, limit: int | None = 10_000) -> list[Message]:
        """Publish every committed transaction not yet confirmed, confirming each after it.

        ``limit`` bounds the decoded lines read at once (a transaction that does not fit is
        read whole by the next poll: the server always finishes the transaction it is in).
        """
        changes = self.peek(limit)
        self.log.extend(changes)
        sent: list[Message] = []
        for txn in transactions(changes):
            inserts = [c for c in txn.changes if c.kind == "INSERT" and c.table == self.table]
            positions = []
            for change in inserts:
                message = message_from_row(change.columns())
                message = self.broker.publish(message.topic, message)
                self.published.append(message)
                sent.append(message)
                positions.append(int(message.headers["position"]))
            if positions:
                self._act("PUBLISH", f"transaction {txn.xid}: sent {positions}", positions)
            if self._crash_next:
                self._crash_next = False
                self._act("CRASH", f"crashed before confirming transaction {txn.xid}")
                return sent
            self._sql(ADVANCE, (self.slot, txn.commit_lsn))
            self._act("CONFIRM", f"slot {self.slot!r} advanced to {txn.commit_lsn}")
        return sent

    def run(self, max_polls: int = 1000) -> list[Message]:
        """Poll until nothing new is committed; return everything sent."""
        sent: list[Message] = []
        for _ in range(max_polls):
            batch = self.poll()
            if not batch and not transactions(self.peek(1000)):
                return sent
            sent.extend(batch)
        return sent

    def published_positions(self) -> list[int]:
        """Global positions of the events sent, in order, repeats included."""
        return [int(m.headers["position"]) for m in self.published]

    def close(self) -> None:
        """Close the connection (the slot stays: drop it with :meth:`drop_slot`)."""
        self.connection.close()

    # -- internals -------------------------------------------------------------------

    def _act(self, action: str, detail: str, positions: Sequence[int] = ()) -> None:
        self.actions.append(RelayAction("WAL tailer", action, detail, None, tuple(positions)))

    def _sql(self, query: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            cursor = self.connection.execute(query, params)
            return cursor.fetchall() if cursor.description else []
        except psycopg.OperationalError as exc:
            raise LogTailingError(
                f"Lost the connection to PostgreSQL while tailing slot {self.slot!r}: "
                f"{str(exc).strip()[:300]} Start a new WalTailer with the same slot once "
                "the server is back: it resumes at the confirmed position."
            ) from exc
        except psycopg.Error as exc:
            raise LogTailingError(
                f"PostgreSQL refused the tailer's query on slot {self.slot!r}: "
                f"{str(exc).strip()[:300]} (logical decoding needs wal_level=logical)"
            ) from exc


def log_frame(changes: Sequence[WalChange]) -> pd.DataFrame:
    """Decoded log lines as a table: lsn, xid, kind, data."""
    return pd.DataFrame(
        [{"lsn": c.lsn, "xid": c.xid, "kind": c.kind, "data": c.data} for c in changes],
        columns=["lsn", "xid", "kind", "data"],
    )


def replication_slots(url: str | psycopg.Connection[Any]) -> pd.DataFrame:
    """Every replication slot on the server and how many bytes of WAL it keeps on disk."""
    connection = _connect(url) if isinstance(url, str) else url
    try:
        rows = connection.execute(
            "SELECT slot_name, plugin, active, confirmed_flush_lsn::text, "
            "pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint "
            "FROM pg_replication_slots ORDER BY slot_name"
        ).fetchall()
    finally:
        if isinstance(url, str):
            connection.close()
    return pd.DataFrame(
        rows, columns=["slot_name", "plugin", "active", "confirmed_lsn", "retained_wal_bytes"]
    )
