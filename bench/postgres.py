"""eslab's PostgreSQL engine beside the ``eventsourcing`` library's own PostgreSQL module.

Both run on the same throwaway server (a :class:`~eslab.pgcluster.PgCluster` in a temp
folder, 127.0.0.1), each in a database of its own, measured in alternation:
per-command append, batched append, stream load, snapshot load. Sizes are smaller than
the DuckDB workloads (a server round trip per statement dominates, and the machine is
shared); ``scale`` multiplies them.
"""

from __future__ import annotations

import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg

from bench.domain import PeerRestaurant, Restaurant
from bench.workloads import Timing, big_table
from eslab import AggregateRepository, EventStore
from eslab.pgcluster import PgCluster
from eslab.snapshots import SnapshotStrategy


@contextmanager
def server() -> Iterator[PgCluster]:
    """A throwaway cluster for the bench, destroyed afterwards."""
    with tempfile.TemporaryDirectory(prefix="eslab-bench-pg-") as folder:
        cluster = PgCluster(Path(folder) / "cluster").start()
        try:
            yield cluster
        finally:
            cluster.destroy()


class Databases:
    """A fresh database per run, for eslab (a URL) and for the peer (its env)."""

    def __init__(self, cluster: PgCluster) -> None:
        self.cluster = cluster

    def fresh(self, prefix: str) -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(self.cluster.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return name

    def eslab(self) -> EventStore:
        return EventStore(self.url(self.fresh("eslab")))

    def url(self, dbname: str) -> str:
        return self.cluster.url(dbname=dbname)

    def peer_env(self, dbname: str | None = None, snapshots: bool = False) -> dict[str, str]:
        env = {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": dbname or self.fresh("peer"),
            "POSTGRES_HOST": self.cluster.host,
            "POSTGRES_PORT": str(self.cluster.port),
            "POSTGRES_USER": "eslab",
            "POSTGRES_PASSWORD": "unused",  # the throwaway cluster trusts 127.0.0.1
        }
        if snapshots:
            env["IS_SNAPSHOTTING_ENABLED"] = "y"
        return env

    def peer(self, dbname: str | None = None, snapshots: bool = False) -> Any:
        from eventsourcing.application import Application

        return Application(env=self.peer_env(dbname, snapshots))


# -- 3. load a busy stream among others ----------------------------------------------


def seed_load(db: Databases, streams: int, total: int, busy: int) -> tuple[str, str, uuid.UUID]:
    """The same events in both databases: ``busy`` in r0, the rest spread over streams."""
    eslab_db = db.fresh("eslab")
    with EventStore(db.cluster.url(dbname=eslab_db)) as store:
        store.bulk_insert(big_table(streams=streams, total=total, busy=busy))
    peer_db = db.fresh("peer")
    app = db.peer(peer_db)
    r0 = PeerRestaurant("r0")
    r0.place_orders(busy - 1, 1250)
    app.save(r0)
    per = (total - busy) // (streams - 1)
    for first in range(1, streams, 100):  # its batched save, 100 aggregates at a time
        others = []
        for a in range(first, min(first + 100, streams)):
            agg = PeerRestaurant(f"r{a}")
            agg.place_orders(per - 1, 1250)
            others.append(agg)
        app.save(*others)
    app.close()
    return eslab_db, peer_db, r0.id


def load_peer(db: Databases, dbname: str, busy_id: uuid.UUID, busy: int) -> Timing:
    app = db.peer(dbname)
    started = time.perf_counter()
    agg = app.repository.get(busy_id)
    elapsed = time.perf_counter() - started
    app.close()
    assert agg.orders == busy - 1
    return elapsed, busy


# -- 4. load with a snapshot ---------------------------------------------------------


def snapshot_store_eslab(db: Databases, events: int) -> str:
    dbname = db.fresh("eslab")
    with EventStore(db.cluster.url(dbname=dbname)) as store:
        store.bulk_insert(big_table(streams=2, total=events + 1, busy=events))
        repo = AggregateRepository(store, Restaurant, snapshots=SnapshotStrategy(every=None))
        repo.snapshots.take(repo, repo.find("r0"))
    return dbname


def snapshot_store_peer(db: Databases, events: int) -> tuple[str, uuid.UUID]:
    dbname = db.fresh("peer")
    app = db.peer(dbname, snapshots=True)
    agg = PeerRestaurant("r0")
    agg.place_orders(events - 1, 1250)
    app.save(agg)
    app.take_snapshot(agg.id)
    app.close()
    return dbname, agg.id


def snapshot_load_peer(db: Databases, where: tuple[str, uuid.UUID], events: int) -> Timing:
    app = db.peer(where[0], snapshots=True)
    started = time.perf_counter()
    agg = app.repository.get(where[1])
    elapsed = time.perf_counter() - started
    app.close()
    assert agg.version == events
    return elapsed, 1
