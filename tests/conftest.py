"""Shared pytest configuration for eslab.

Keep this file light: the notebook-execution harness lives in ``tests/notebooks/`` and the
real-browser harness in ``tests/browser/`` (each with its own conftest). Fixtures shared by
the unit tests (e.g. an in-memory ``store``) belong here.
"""

import itertools
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from eslab import EventStore
from eslab.pgcluster import INSTALL_HINT, PgCluster, find_bin_dir

ENGINES = ["duckdb", "postgres"]
"""The engines the store's tests run on (the ``engine`` fixture's parameters)."""

StoreFactory = Callable[..., EventStore]
_schemas = itertools.count(1)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    """A throwaway PostgreSQL cluster on 127.0.0.1 (wal_level=logical) for the session.

    Skipped locally when the server binaries are missing (the message says how to install
    them); under ``CI`` that is a failure.
    """
    if find_bin_dir() is None:
        message = f"PostgreSQL tests need the server binaries. {INSTALL_HINT}"
        if os.environ.get("CI"):
            pytest.fail(message + " [CI is set: a missing server is a failure]", pytrace=False)
        pytest.skip(message)
    with tempfile.TemporaryDirectory(prefix="eslab-pg-") as folder:
        cluster = PgCluster(Path(folder) / "cluster").start()
        try:
            yield cluster
        finally:
            cluster.destroy()


@pytest.fixture
def pg_url(pg_cluster: PgCluster) -> str:
    """A URL to the session's cluster, in a fresh, empty schema of its own (isolation).

    A schema is ~100x cheaper than a database per test; ``search_path`` points the
    connection at it, so the store's tables are made there.
    """
    schema = f"t{os.getpid()}_{next(_schemas)}"
    with psycopg.connect(pg_cluster.url(), autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        conn.execute(f"CREATE SCHEMA {schema}")
    return f"{pg_cluster.url()}?options=-csearch_path%3D{schema}"


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    """The engine a store test runs on: each such test runs once per engine."""
    return str(request.param)


@pytest.fixture
def store_factory(engine: str, request: pytest.FixtureRequest) -> Iterator[StoreFactory]:
    """Make stores on this test's engine: memory (DuckDB) or a fresh schema (PostgreSQL).

    Every store made on PostgreSQL shares the test's schema (like processes sharing a
    server); all are closed at the end.
    """
    made: list[EventStore] = []
    url = request.getfixturevalue("pg_url") if engine == "postgres" else None

    def make(**options: Any) -> EventStore:
        store = EventStore(url, **options)
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()
