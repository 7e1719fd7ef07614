"""The PostgreSQL engine: the store's tables on a PostgreSQL server, through psycopg 3.

``EventStore("postgresql://user:password@host:port/dbname")`` opens it. Many processes
(a classroom of notebooks) can share one store; the ``UNIQUE`` key on
``(entity_type, entity_id, entity_version)`` is the optimistic lock for all of them, and
a clash is the same :class:`~eslab.errors.ConcurrencyError` as on DuckDB.

What this engine guarantees, and what it does not:

* An append is one statement (a unit of work one transaction): all of it or nothing, also
  when the server crashes; versions stay gap-free.
* Positions are a ``BIGSERIAL``, taken at INSERT. **Inside one EventStore object** the
  store's write lock makes position order = commit order. **Across processes it does
  not hold**: a transaction can take position 7, another 8 and commit first. A reader
  that polls "position > last seen" may then skip 7; read the transaction log instead.
* Each thread has its own connection. When the server goes away, calls raise
  :class:`~eslab.errors.StoreUnavailableError`; the store opens a new connection on the
  next call, so it works again once the server is back. No call is retried for you: an
  append that raised may or may not have been committed — load the stream to see.

The store speaks DuckDB's SQL with ``$name`` parameters; :func:`translate` turns the few
DuckDB-only forms eslab uses (``$name``, ``?``, ``INSERT OR REPLACE``, ``INSERT OR
IGNORE``, ``IN (SELECT unnest($list))``) into PostgreSQL's. Your own SQL in
``store.sql`` goes through the same translation; the rest of it must be PostgreSQL.
"""

from __future__ import annotations

import functools
import re
import threading
from importlib import resources
from typing import Any

import pandas as pd
import psycopg
from psycopg import errors as pg_errors
from psycopg.conninfo import conninfo_to_dict
from psycopg.types.string import TextLoader

from eslab.errors import (
    StoreAccessError,
    StoreError,
    StoreNotFoundError,
    StoreUnavailableError,
)

INSERT_EVENTS = """
INSERT INTO events (event_id, event_type, event_data, entity_type, entity_id,
                    entity_version, schema_version, triggering_event, metadata, created_at)
SELECT r.event_id, r.event_type, r.event_data::json, r.entity_type, r.entity_id,
       r.entity_version, r.schema_version, r.triggering_event, r.metadata::json, r.created_at
FROM unnest($event_ids::text[], $event_types::text[], $event_data::text[],
            $entity_types::text[], $entity_ids::text[], $versions::bigint[],
            $schema_versions::int[], $triggering::text[], $metadata::text[],
            $created_at::timestamp[])
     WITH ORDINALITY AS r(event_id, event_type, event_data, entity_type, entity_id,
                          entity_version, schema_version, triggering_event, metadata,
                          created_at, n)
ORDER BY r.n
"""

SCHEMA_LOCK = 7_150_315
"""Advisory lock id held while creating the tables (many learners may open at once)."""

# Tables whose primary key never changes: their upsert is worked out once per process.
_FIXED_TABLES = ("snapshots", "checkpoints", "quarantine", "processed_messages")


def schema_sql() -> str:
    """The DDL of the store on PostgreSQL (``eslab/schema_postgres.sql``)."""
    return resources.files("eslab").joinpath("schema_postgres.sql").read_text(encoding="utf-8")


class PostgresEngine:
    """A store's tables in one PostgreSQL database, one connection per thread."""

    name = "postgresql"
    errors: tuple[type[BaseException], ...] = (psycopg.Error,)
    insert_events = INSERT_EVENTS
    columnar = False

    def __init__(self, url: str, *, read_only: bool = False) -> None:
        self.url = url
        self.read_only = read_only
        try:
            info = conninfo_to_dict(url)
        except psycopg.ProgrammingError as exc:
            raise StoreError(
                f"{_safe(url)} is not a connection string PostgreSQL understands ({exc}). "
                "Write it as postgresql://user:password@host:port/dbname."
            ) from exc
        self._options = info.get("options", "")
        self.where = (
            f"postgresql://{info.get('user', '')}@{info.get('host', 'localhost')}:"
            f"{info.get('port', 5432)}/{info.get('dbname', '')}"
        )
        self._local = threading.local()
        self._connections: list[psycopg.Connection[Any]] = []
        self._lock = threading.Lock()
        self._upserts: dict[str, tuple[list[str], list[str]]] = {}
        self.cursor()  # connect now: a wrong URL fails here, with a message that says why

    def describe(self) -> str:
        return self.where

    # -- connections --------------------------------------------------------------------

    def connect(self) -> psycopg.Connection[Any]:
        """A new connection (autocommit; the store sends BEGIN/COMMIT itself)."""
        options = (str(self._options or "") + " -c timezone=UTC").strip()
        if self.read_only:
            options += " -c default_transaction_read_only=on"
        try:
            conn = psycopg.connect(self.url, autocommit=True, connect_timeout=5, options=options)
        except psycopg.Error as exc:
            raise self.unavailable(exc) or StoreError(str(exc)) from exc
        for json_type in ("json", "jsonb"):  # JSON comes back as text, as on DuckDB
            conn.adapters.register_loader(json_type, TextLoader)
        with self._lock:
            self._connections.append(conn)
        return conn

    def cursor(self) -> psycopg.Cursor[Any]:
        """This thread's cursor; a new connection if the old one broke (server restart)."""
        cur = getattr(self._local, "cursor", None)
        if cur is None or cur.connection.closed or cur.connection.broken:
            if cur is not None:
                self._forget(cur.connection)
            cur = self._local.cursor = self.connect().cursor()
        return cur

    def public_cursor(self) -> SqlCursor:
        """This thread's cursor for your own SQL, speaking the store's dialect (``$name``)."""
        return SqlCursor(self, self.cursor())

    def _forget(self, conn: psycopg.Connection[Any]) -> None:
        with self._lock:
            if conn in self._connections:
                self._connections.remove(conn)
        conn.close()

    def close(self) -> None:
        with self._lock:
            connections, self._connections = self._connections, []
        for conn in connections:
            conn.close()

    # -- statements ---------------------------------------------------------------------

    def execute(
        self, sql: str, params: dict[str, Any] | list[Any] | None, cur: psycopg.Cursor[Any]
    ) -> psycopg.Cursor[Any]:
        text = translate(sql, isinstance(params, dict))
        if "INSERT OR " in text:
            text = self._upsert(cur, text)
        if isinstance(params, dict):
            for name, value in params.items():  # psycopg sends str lists untyped
                if isinstance(value, list) and _first_is_str(value):
                    text = text.replace(f"%({name})s", f"%({name})s::text[]")
        return cur.execute(text, params or None)

    def changed(self, result: psycopg.Cursor[Any]) -> int:
        return max(result.rowcount, 0)

    def frame(self, result: psycopg.Cursor[Any]) -> pd.DataFrame:
        if result.description is None:  # a statement without rows (CREATE, INSERT)
            return pd.DataFrame()
        columns = [d.name for d in result.description]
        return pd.DataFrame(result.fetchall(), columns=columns)

    def rollback(self, cur: psycopg.Cursor[Any]) -> None:
        try:
            cur.execute("ROLLBACK")
        except psycopg.Error:
            pass  # the connection broke: the server rolled the transaction back

    def create_schema(self) -> None:
        cur = self.cursor()
        try:
            cur.execute("BEGIN")
            cur.execute("SELECT pg_advisory_xact_lock(%s)", [SCHEMA_LOCK])
            cur.execute(schema_sql())
            cur.execute("COMMIT")
        except psycopg.Error as exc:
            self.rollback(cur)
            if isinstance(exc, pg_errors.InsufficientPrivilege):
                return  # a learner role may not create tables: the instructor made them
            raise

    def has_table(self, cur: psycopg.Cursor[Any], name: str) -> bool:
        found = cur.execute("SELECT to_regclass(%s) IS NOT NULL", [name]).fetchone()
        return bool(found and found[0])

    def _upsert(self, cur: psycopg.Cursor[Any], sql: str) -> str:
        """``INSERT OR REPLACE/IGNORE INTO t …`` → ``INSERT INTO t … ON CONFLICT …``."""
        found = _INSERT_OR.match(sql)
        if found is None:
            return sql
        how, table, rest = found.group(1).upper(), found.group(2), found.group(3)
        body = rest.rstrip().rstrip(";")
        if how == "IGNORE":
            return f"INSERT INTO {table}{body} ON CONFLICT DO NOTHING"
        columns, key = self._table_keys(cur, table)
        listed = re.match(r"\s*\(([^)]*)\)\s*(VALUES|SELECT)", body, re.IGNORECASE)
        if listed:
            columns = [c.strip() for c in listed.group(1).split(",")]
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns if c not in key)
        action = f"DO UPDATE SET {updates}" if updates else "DO NOTHING"
        return f"INSERT INTO {table}{body} ON CONFLICT ({', '.join(key)}) {action}"

    def _table_keys(self, cur: psycopg.Cursor[Any], table: str) -> tuple[list[str], list[str]]:
        """The columns of ``table`` and its primary key (looked up in the catalog)."""
        if table in self._upserts:
            return self._upserts[table]
        lookup = cur.connection.cursor()
        columns = [
            r[0]
            for r in lookup.execute(
                "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass "
                "AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
                [table],
            ).fetchall()
        ]
        key = [
            r[0]
            for r in lookup.execute(
                "SELECT a.attname FROM pg_index i JOIN pg_attribute a "
                "ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
                "WHERE i.indrelid = %s::regclass AND i.indisprimary",
                [table],
            ).fetchall()
        ]
        if not key:
            raise StoreError(
                f"INSERT OR REPLACE INTO {table} needs a primary key on {table} to know which "
                "row to replace; PostgreSQL's table has none. Give the table a PRIMARY KEY."
            )
        if table in _FIXED_TABLES:
            self._upserts[table] = (columns, key)
        return columns, key

    # -- errors -------------------------------------------------------------------------

    def kind(self, exc: BaseException) -> str | None:
        """What a PostgreSQL error means to the store: full, unique, check, missing, …"""
        if isinstance(exc, pg_errors.DiskFull):
            return "full"
        if isinstance(exc, pg_errors.UniqueViolation):
            return "unique"
        if isinstance(exc, pg_errors.CheckViolation):
            return "check"
        if isinstance(exc, pg_errors.UndefinedTable):
            return "missing"
        if isinstance(exc, pg_errors.InvalidTextRepresentation | pg_errors.InvalidJsonText):
            return "json"
        if isinstance(exc, pg_errors.ReadOnlySqlTransaction):
            return "read_only"
        if isinstance(exc, psycopg.DataError) and "NUL" in str(exc):
            return "nul"
        return None

    def unavailable(self, exc: BaseException) -> StoreError | None:
        """The eslab error for a server out of reach, a missing database, a refused login."""
        if not isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError):
            return None
        text = str(exc)
        first = text.strip().splitlines()[-1] if text.strip() else type(exc).__name__
        if re.search(r'database ".*" does not exist', text):
            return StoreNotFoundError(
                f"{self.where}: the server runs, but has no such database ({first}). "
                "Check the name at the end of the URL, or create it (CREATE DATABASE …); "
                "`python -m eslab classroom url` prints a URL that works."
            )
        if (
            "password authentication failed" in text
            or re.search(r'role ".*" does not exist', text)
            or "no pg_hba.conf entry" in text
            or "no password supplied" in text
        ):
            return StoreAccessError(
                f"{self.where}: the server refused the login ({first}). Check the user "
                "and password in the URL (ask the instructor for the classroom URL)."
            )
        if isinstance(exc, pg_errors.InsufficientPrivilege):
            return None
        return StoreUnavailableError(
            f"{self.where}: the PostgreSQL server cannot be reached or dropped the connection "
            f"({first}). Start the server (python -m eslab classroom start, or "
            "PgCluster(...).start()) and call again: the store reconnects on the next "
            "call. An append that raised this may or may not have been written: load the "
            "stream before you retry it."
        )


class SqlCursor:
    """A psycopg cursor that takes the store's SQL (``$name``/``?``, ``INSERT OR …``).

    ``execute`` returns the cursor, as DuckDB's does; ``cursor()`` gives a cursor on a new
    connection of its own (its own transaction, like DuckDB's ``con.cursor()``); ``df()``
    the rows as a DataFrame. Everything else is psycopg's cursor (``.connection`` …).
    """

    def __init__(self, engine: PostgresEngine, raw: psycopg.Cursor[Any]) -> None:
        self._engine, self.raw = engine, raw

    def execute(self, sql: str, params: dict[str, Any] | list[Any] | None = None) -> SqlCursor:
        self._engine.execute(sql, params, self.raw)
        return self

    def cursor(self) -> SqlCursor:
        return SqlCursor(self._engine, self._engine.connect().cursor())

    def df(self) -> pd.DataFrame:
        return self._engine.frame(self.raw)

    def close(self) -> None:
        self.raw.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.raw, name)


_INSERT_OR = re.compile(r"\s*INSERT\s+OR\s+(REPLACE|IGNORE)\s+INTO\s+(\w+)(.*)\Z", re.I | re.S)
_IN_UNNEST = re.compile(r"IN\s*\(\s*SELECT\s+unnest\(\s*(\$\w+)\s*\)\s*\)", re.I)
_PARAM = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|\$(\w+)|\?|%|::")


@functools.lru_cache(maxsize=512)
def translate(sql: str, named: bool) -> str:
    """DuckDB-style SQL (``$name`` or ``?`` parameters) → psycopg's (``%(name)s``, ``%s``).

    Quoted strings, identifiers and comments are left alone; ``%`` becomes ``%%``;
    ``IN (SELECT unnest($list))`` becomes ``= ANY($list)`` (also right for an empty list).
    """
    sql = _IN_UNNEST.sub(r"= ANY(\1)", sql)

    def swap(found: re.Match[str]) -> str:
        token = found.group(0)
        if found.group(1) is not None:
            return f"%({found.group(1)})s" if named else token
        if token == "?":
            return "%s"
        if token == "%":
            return "%%"
        return token

    return _PARAM.sub(swap, sql)


def _first_is_str(values: list[Any]) -> bool:
    """Is the list's first non-None value a str (then it goes to the server as text[])?"""
    return isinstance(next((v for v in values if v is not None), None), str)


def _safe(url: str) -> str:
    """The URL without its password, for messages."""
    return re.sub(r"(://[^:/@]*):[^@]*@", r"\1:***@", url)
