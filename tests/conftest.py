"""Shared pytest configuration for eslab.

Keep this file light: the notebook-execution harness lives in ``tests/notebooks/`` and the
real-browser harness in ``tests/browser/`` (each with its own conftest). Fixtures shared by
the unit tests (e.g. an in-memory ``store``) belong here.
"""

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from eslab.pgcluster import INSTALL_HINT, PgCluster, find_bin_dir


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
