"""Engines: the databases an :class:`~eslab.store.EventStore` can keep its tables in.

The store writes one SQL dialect (DuckDB's, with ``$name`` parameters); an engine runs
it on its database and says what its errors mean. Two engines, one module each:

* :mod:`eslab.engines.duckdb` — embedded, the default (a file, or memory). No server.
* :mod:`eslab.engines.postgres` — a PostgreSQL server reached through psycopg 3: the
  shared classroom store, and the engine with a real transaction log to tail.

``open_engine(target)`` picks one from what ``EventStore(...)`` was given.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import pandas as pd


class Engine(Protocol):
    """What the store needs from a database (see the two modules for the details)."""

    name: str
    """``"duckdb"`` or ``"postgresql"``."""
    errors: tuple[type[BaseException], ...]
    """The exception classes the engine's driver raises."""
    read_only: bool
    insert_events: str
    """The engine's ``INSERT INTO events`` of prepared rows (``$name`` lists)."""
    columnar: bool
    """Can it take a big batch as an Arrow table (DuckDB)?"""

    def kind(self, exc: BaseException) -> str | None:
        """What a driver error means to the store: full, unique, check, missing, json, …"""

    def unavailable(self, exc: BaseException) -> Any:
        """The eslab error for a server out of reach (None when that is not the cause)."""

    def cursor(self) -> Any:
        """This thread's cursor (its own transaction)."""

    def public_cursor(self) -> Any:
        """This thread's cursor for the caller's own SQL, in the store's dialect."""

    def execute(self, sql: str, params: dict[str, Any] | list[Any] | None, cur: Any) -> Any:
        """Run ``sql`` (``$name`` / ``?`` parameters); return something with fetchone/all."""

    def changed(self, result: Any) -> int:
        """Rows the last INSERT/UPDATE/DELETE on ``result`` changed."""

    def frame(self, result: Any) -> pd.DataFrame:
        """The rows of ``result`` as a DataFrame."""

    def rollback(self, cur: Any) -> None:
        """Roll back this cursor's transaction (quietly if there is none)."""

    def create_schema(self) -> None:
        """Create the store's tables if they are missing."""

    def has_table(self, cur: Any, name: str) -> bool:
        """Does the database have this table?"""

    def describe(self) -> str:
        """Where the tables are, for messages and ``repr``."""

    def close(self) -> None:
        """Close every connection."""


def is_server_url(target: object) -> bool:
    """Does ``target`` name a PostgreSQL server (``postgresql://`` or ``postgres://``)?"""
    return isinstance(target, str) and target.startswith(("postgresql://", "postgres://"))


def open_engine(target: str | Path | None, *, read_only: bool = False) -> Engine:
    """The engine for a target: a ``postgresql://`` URL, a DuckDB file path, or memory."""
    if is_server_url(target):
        from eslab.engines.postgres import PostgresEngine

        return PostgresEngine(str(target), read_only=read_only)
    from eslab.engines.duckdb import DuckDBEngine

    return DuckDBEngine(Path(target) if target is not None else None, read_only=read_only)
