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


def fresh_schema_url(cluster: PgCluster) -> str:
    """A URL to ``cluster`` in a new, empty schema (``search_path`` points at it).

    A schema is far cheaper than a database per test, and isolates as well: the store's
    tables are made in it.
    """
    schema = f"t{os.getpid()}_{next(_schemas)}"
    with psycopg.connect(cluster.url(), autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        conn.execute(f"CREATE SCHEMA {schema}")
    return f"{cluster.url()}?options=-csearch_path%3D{schema}"


@pytest.fixture
def pg_url(pg_cluster: PgCluster) -> str:
    """A URL to the session's cluster, in a fresh, empty schema of this test's own."""
    return fresh_schema_url(pg_cluster)


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    """The engine a store test runs on: each such test runs once per engine."""
    return str(request.param)


@pytest.fixture
def store_factory(engine: str, request: pytest.FixtureRequest) -> Iterator[StoreFactory]:
    """Make stores on this test's engine: memory (DuckDB) or a fresh schema (PostgreSQL).

    On PostgreSQL every store made shares the test's schema (like processes sharing a
    server), unless ``fresh=True`` (a new, empty store, as ``EventStore()`` is on
    DuckDB). All are closed at the end.
    """
    made: list[EventStore] = []
    url = request.getfixturevalue("pg_url") if engine == "postgres" else None

    def make(*, fresh: bool = False, **options: Any) -> EventStore:
        where = url
        if fresh and engine == "postgres":
            where = fresh_schema_url(request.getfixturevalue("pg_cluster"))
        store = EventStore(where, **options)
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Launch headless Debian Chromium once per session (the browser and hub tests share it:
    Playwright's sync API allows one running instance per thread)."""
    from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, require_chromium

    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()
