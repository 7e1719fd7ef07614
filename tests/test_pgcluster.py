"""The throwaway PostgreSQL cluster the PostgreSQL tests and the classroom store run on."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from eslab.pgcluster import PgCluster, PgClusterError


def test_cluster_accepts_connections_and_has_logical_wal(pg_cluster: PgCluster) -> None:
    """The session's cluster runs, answers SQL and can decode its own log."""
    assert pg_cluster.running()
    out = subprocess.run(
        [*pg_cluster.psql_args(), "-d", "eslab", "-tAc", "SHOW wal_level"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "logical"
    assert pg_cluster.url().startswith(f"postgresql://eslab@127.0.0.1:{pg_cluster.port}/eslab")


def test_crash_and_restart_keep_the_data(pg_cluster: PgCluster) -> None:
    """An immediate stop is a crash; the next start recovers committed rows."""
    # Not pytest's tmp_path: another pytest run resets /tmp/pytest-of-root to 0700, and the
    # server's own user could then no longer reach its folder.
    folder = Path(tempfile.mkdtemp(prefix="eslab-pg-crash-"))
    cluster = PgCluster(folder / "own").start()
    try:
        sql = [*cluster.psql_args(), "-d", "eslab", "-tAc"]
        subprocess.run([*sql, "CREATE TABLE t(x int); INSERT INTO t VALUES (7)"], check=True)
        cluster.stop(mode="immediate")
        assert not cluster.running()
        cluster.start()
        out = subprocess.run([*sql, "SELECT x FROM t"], capture_output=True, text=True, check=True)
        assert out.stdout.strip() == "7"
    finally:
        cluster.destroy()
        shutil.rmtree(folder, ignore_errors=True)
    assert not (folder / "own").exists()


def test_bad_stop_mode_is_refused(pg_cluster: PgCluster) -> None:
    """A stop mode pg_ctl does not know is an eslab error, and the server keeps running."""
    with pytest.raises(PgClusterError, match="immediate"):
        pg_cluster.stop(mode="now")
    assert pg_cluster.running()
