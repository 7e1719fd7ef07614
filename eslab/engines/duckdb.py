"""The DuckDB engine: the store's tables in one embedded DuckDB database (file or memory).

The default engine (``EventStore()``, ``EventStore("file.duckdb")``): no server, one
process writes a file at a time (a second one gets :class:`StoreLockedError`), each
thread has its own cursor. DuckDB-only extras: Arrow bulk inserts (``bulk_insert``, big
units of work) and DuckDB SQL in ``store.sql``.
"""

from __future__ import annotations

import re
import threading
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from eslab.errors import (
    BadInputError,
    NotAStoreError,
    StoreError,
    StoreLockedError,
    StoreNotFoundError,
)

INSERT_EVENTS = """
INSERT INTO events (event_id, event_type, event_data, entity_type, entity_id,
                    entity_version, schema_version, triggering_event, metadata, created_at)
SELECT unnest($event_ids), unnest($event_types), unnest($event_data), unnest($entity_types),
       unnest($entity_ids), unnest($versions), unnest($schema_versions),
       unnest($triggering), unnest($metadata), unnest($created_at)
"""


def schema_sql() -> str:
    """The DDL of the store on DuckDB (``eslab/schema.sql``)."""
    return resources.files("eslab").joinpath("schema.sql").read_text(encoding="utf-8")


class DuckDBEngine:
    """One DuckDB database: a file at ``path``, or memory when ``path`` is None."""

    name = "duckdb"
    errors: tuple[type[BaseException], ...] = (duckdb.Error,)
    insert_events = INSERT_EVENTS
    columnar = True
    """Big batches go in as Arrow tables (``cursor.register``)."""

    def __init__(self, path: Path | None, *, read_only: bool = False) -> None:
        self.path = path
        self.read_only = read_only
        self.connection = connect(path, read_only)
        self._local = threading.local()

    def describe(self) -> str:
        return str(self.path) if self.path else "memory"

    def cursor(self) -> duckdb.DuckDBPyConnection:
        cur = getattr(self._local, "cursor", None)
        if cur is None:
            cur = self._local.cursor = self.connection.cursor()
        return cur

    def public_cursor(self) -> duckdb.DuckDBPyConnection:
        """This thread's cursor for your own SQL (DuckDB's own)."""
        return self.cursor()

    def execute(
        self, sql: str, params: dict[str, Any] | list[Any] | None, cur: duckdb.DuckDBPyConnection
    ) -> duckdb.DuckDBPyConnection:
        return cur.execute(sql, params or [])

    def changed(self, result: duckdb.DuckDBPyConnection) -> int:
        rows = result.fetchall()
        return int(rows[0][0]) if rows else 0

    def frame(self, result: duckdb.DuckDBPyConnection) -> pd.DataFrame:
        return result.df()

    def rollback(self, cur: duckdb.DuckDBPyConnection) -> None:
        try:
            cur.execute("ROLLBACK")
        except duckdb.Error:
            pass  # DuckDB already rolled back a transaction that failed at COMMIT

    def create_schema(self) -> None:
        try:
            self.connection.execute(schema_sql())
        except duckdb.Error as exc:
            self.connection.close()
            raise NotAStoreError(
                f"{self.path} is a DuckDB database, but not one eslab can use: making "
                f"its tables failed ({first_line(exc)}). Open a new file for the "
                "store, or the file that eslab made."
            ) from exc

    def has_table(self, cur: duckdb.DuckDBPyConnection, name: str) -> bool:
        found = cur.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = $n", {"n": name}
        ).fetchone()
        return bool(found and found[0])

    def kind(self, exc: BaseException) -> str | None:
        """What a DuckDB error means to the store: full, unique, check, closed, missing."""
        text = str(exc)
        if isinstance(exc, duckdb.IOException | duckdb.TransactionException) and (
            "File too large" in text or "No space left" in text or "Could not write" in text
        ):
            return "full"
        if isinstance(exc, duckdb.ConstraintException):
            return "check" if "CHECK constraint" in text else "unique"
        if isinstance(exc, duckdb.TransactionException) and (
            "constraint" in text.lower() or "Conflict" in text
        ):
            return "unique"
        if isinstance(exc, duckdb.ConnectionException) and "closed" in text.lower():
            return "closed"
        if isinstance(exc, duckdb.CatalogException):
            return "missing"
        if isinstance(exc, duckdb.ConversionException):
            return "json"
        return None

    def unavailable(self, exc: BaseException) -> StoreError | None:
        """DuckDB is in-process: it is never out of reach."""
        return None

    def close(self) -> None:
        self.connection.close()


def connect(path: Path | None, read_only: bool) -> duckdb.DuckDBPyConnection:
    """Open the DuckDB database, turning its refusals into eslab errors that say why."""
    if path is None:
        if read_only:
            raise BadInputError(
                "An in-memory store cannot be read-only: there is nothing to read. Pass the "
                "path of a store file: EventStore(path, read_only=True)."
            )
        return duckdb.connect(":memory:")
    if read_only and not path.exists():
        raise StoreNotFoundError(
            f"There is no store file at {path}. A store opened read-only must already exist: "
            "check the path, or create the store first with EventStore(path) (read-write)."
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True) if not read_only else None
        return duckdb.connect(str(path), read_only=read_only)
    except duckdb.ConnectionException as exc:
        if "different configuration" not in str(exc):
            raise StoreError(f"Cannot open {path}: {first_line(exc)}.") from exc
        mode, other = ("read-only", "read-write") if read_only else ("read-write", "read-only")
        raise StoreLockedError(
            f"This Python process already has {path} open {other}, so it cannot open it "
            f"{mode} as well (DuckDB opens one file one way per process). Use the store you "
            "already have — it reads and writes — or close it first (store.close())."
        ) from exc
    except duckdb.IOException as exc:
        text = str(exc)
        if "lock" in text.lower():
            holder = re.search(r"held in (.*?) \(PID (\d+)\)", text)
            who = f"{holder.group(1)} (PID {holder.group(2)})" if holder else "another process"
            raise StoreLockedError(
                f"{path} is open in {who}. DuckDB lets one process write a file at a time. "
                "Close the store there (store.close(), or restart that notebook's kernel), "
                "then open it here. EventStore(path, read_only=True) works in many processes "
                "at once, but only while no process has it open for writing."
            ) from exc
        if "not a valid DuckDB database" in text or "serializ" in text.lower():
            raise NotAStoreError(
                f"{path} is not a DuckDB database file this DuckDB can read "
                f"({first_line(exc)}). Point EventStore at a store eslab made, or at a new "
                "path to create one."
            ) from exc
        raise StoreError(
            f"Cannot open {path} ({first_line(exc)}). Check that the path names a file "
            "(not a folder) you may read and write."
        ) from exc
    except duckdb.Error as exc:
        raise StoreError(f"Cannot open {path} ({first_line(exc)}).") from exc


def first_line(exc: BaseException) -> str:
    """The first line of an error's message (drivers add context lines)."""
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
