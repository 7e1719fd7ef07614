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

from bench.domain import OpenRestaurant, PeerRestaurant, PlaceOrders, Restaurant
from bench.workloads import Timing, _commands, big_table
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
        return EventStore(self.cluster.url(dbname=self.fresh("eslab")))

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


# -- 1. per-command append -------------------------------------------------------------


def per_command_eslab(db: Databases, aggregates: int, per: int) -> Timing:
    store = db.eslab()
    repo = AggregateRepository(store, Restaurant)
    live = [repo.save(OpenRestaurant(f"r{a}"), entity_id=f"r{a}") for a in range(aggregates)]
    commands = _commands(aggregates, per)
    started = time.perf_counter()
    for a, count in commands:
        agg = live[a]
        new = agg.process(PlaceOrders(count, 1250))
        agg.version = store.append("Restaurant", agg.id, new, agg.version)
        Restaurant.replay(new, agg)
    elapsed = time.perf_counter() - started
    store.close()
    return elapsed, len(commands)


def per_command_peer(db: Databases, aggregates: int, per: int) -> Timing:
    app = db.peer()
    live = [PeerRestaurant(f"r{a}") for a in range(aggregates)]
    app.save(*live)
    commands = _commands(aggregates, per)
    started = time.perf_counter()
    for a, count in commands:
        live[a].place_orders(count, 1250)
        app.save(live[a])
    elapsed = time.perf_counter() - started
    app.close()
    return elapsed, len(commands)


# -- 2. batched append (one transaction) ---------------------------------------------


def batched_eslab(db: Databases, aggregates: int, per: int) -> Timing:
    store = db.eslab()
    started = time.perf_counter()
    with store.unit_of_work() as uow:
        for a in range(aggregates):
            agg = Restaurant()
            new = agg.process(OpenRestaurant(f"r{a}"))
            Restaurant.replay(new, agg)
            more = agg.process(PlaceOrders(per - 1, 1250))
            Restaurant.replay(more, agg)
            uow.append("Restaurant", f"r{a}", new + more, 0)
    elapsed = time.perf_counter() - started
    store.close()
    return elapsed, aggregates * per


def batched_peer(db: Databases, aggregates: int, per: int) -> Timing:
    app = db.peer()
    started = time.perf_counter()
    live = []
    for a in range(aggregates):
        agg = PeerRestaurant(f"r{a}")
        agg.place_orders(per - 1, 1250)
        live.append(agg)
    app.save(*live)
    elapsed = time.perf_counter() - started
    app.close()
    return elapsed, aggregates * per


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


def load_eslab(db: Databases, dbname: str, busy: int) -> Timing:
    with EventStore(db.cluster.url(dbname=dbname), read_only=True) as store:
        repo = AggregateRepository(store, Restaurant)
        started = time.perf_counter()
        agg = repo.find("r0")
        elapsed = time.perf_counter() - started
    assert agg.orders == busy - 1
    return elapsed, busy


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


def snapshot_load_eslab(db: Databases, dbname: str, events: int) -> Timing:
    with EventStore(db.cluster.url(dbname=dbname), read_only=True) as store:
        repo = AggregateRepository(store, Restaurant, snapshots=SnapshotStrategy(every=None))
        started = time.perf_counter()
        agg = repo.find("r0")
        elapsed = time.perf_counter() - started
    assert agg.version == events and repo.last_events_read == 0
    return elapsed, 1


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
