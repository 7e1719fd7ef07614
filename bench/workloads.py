"""The workloads, each a pair of functions (eslab, peer) measured in alternation.

Every function does its own set-up outside the timed part and returns
``(seconds, units)``; the harness takes medians and ratios.
"""

from __future__ import annotations

import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from bench.domain import OpenRestaurant, PeerRestaurant, PlaceOrders, Restaurant
from eslab import AggregateRepository, EventStore
from eslab.snapshots import SnapshotStrategy

Timing = tuple[float, int]
START = datetime(2024, 1, 1)


@dataclass
class Workload:
    """One row of the results table."""

    name: str
    unit: str
    eslab: Callable[[], Timing]
    peer: Callable[[], Timing] | None
    floor: Callable[[], Timing] | None = None
    target: str = ""
    higher_is_better: bool = False  # seconds: lower is better


def _tmp() -> Path:
    return Path(tempfile.mkdtemp(prefix="eslab-bench-"))


def peer_app(path: Path, snapshots: bool = False):  # type: ignore[no-untyped-def]
    from eventsourcing.application import Application

    env = {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(path)}
    if snapshots:
        env["IS_SNAPSHOTTING_ENABLED"] = "y"
    return Application(env=env)


# -- 1. per-command append -------------------------------------------------------------


def _commands(aggregates: int, per: int) -> list[tuple[int, int]]:
    return [(a, 1 + (a + c) % 3) for c in range(per) for a in range(aggregates)]


def per_command_eslab(aggregates: int, per: int, store: EventStore | None = None) -> Timing:
    store = store or EventStore(_tmp() / "s.duckdb")
    repo = AggregateRepository(store, Restaurant)
    live = [repo.save(OpenRestaurant(f"r{a}"), entity_id=f"r{a}") for a in range(aggregates)]
    commands = _commands(aggregates, per)
    started = time.perf_counter()
    events = 0
    for a, count in commands:
        agg = live[a]
        new = agg.process(PlaceOrders(count, 1250))
        agg.version = store.append("Restaurant", agg.id, new, agg.version)
        Restaurant.replay(new, agg)
        events += len(new)
    elapsed = time.perf_counter() - started
    store.close()
    return elapsed, len(commands)


def per_command_peer(aggregates: int, per: int, app: Any = None) -> Timing:
    app = app or peer_app(_tmp() / "peer.sqlite")
    live = [PeerRestaurant(f"r{a}") for a in range(aggregates)]
    app.save(*live)
    commands = _commands(aggregates, per)
    started = time.perf_counter()
    for a, count in commands:
        live[a].place_orders(count, 1250)
        app.save(live[a])
    return time.perf_counter() - started, len(commands)


def per_command_floor(aggregates: int, per: int) -> Timing:
    """DuckDB's floor: one plain multi-row INSERT per command, nothing else."""
    store = EventStore(_tmp() / "floor.duckdb")
    cur = store.cursor()
    commands = _commands(aggregates, per)
    versions = [0] * aggregates
    started = time.perf_counter()
    for a, count in commands:
        rows = ", ".join(["(?, 'OrderPlaced', ?, 'Restaurant', ?, ?, ?)"] * count)
        params: list[object] = []
        for _ in range(count):
            versions[a] += 1
            params += [
                str(uuid.uuid4()),
                '{"order_id":1,"total_cents":1250}',
                f"r{a}",
                versions[a],
                START,
            ]
        cur.execute(
            "INSERT INTO events (event_id, event_type, event_data, entity_type, "
            f"entity_id, entity_version, created_at) VALUES {rows}",
            params,
        )
    elapsed = time.perf_counter() - started
    store.close()
    return elapsed, len(commands)


# -- 2. batched append (one unit of work) -------------------------------------------


def batched_eslab(aggregates: int, per: int, store: EventStore | None = None) -> Timing:
    store = store or EventStore(_tmp() / "s.duckdb")
    started = time.perf_counter()
    with store.unit_of_work() as uow:
        for a in range(aggregates):
            agg = Restaurant()
            new = agg.process(OpenRestaurant(f"r{a}"))
            Restaurant.replay(new, agg)
            for _ in range(per - 1):
                more = agg.process(PlaceOrders(1, 1250))
                Restaurant.replay(more, agg)
                new += more
            uow.append("Restaurant", f"r{a}", new, 0)
    elapsed = time.perf_counter() - started
    store.close()
    return elapsed, aggregates * per


def batched_peer(aggregates: int, per: int, app: Any = None) -> Timing:
    app = app or peer_app(_tmp() / "peer.sqlite")
    started = time.perf_counter()
    live = []
    for a in range(aggregates):
        agg = PeerRestaurant(f"r{a}")
        agg.place_orders(per - 1, 1250)
        live.append(agg)
    app.save(*live)
    return time.perf_counter() - started, aggregates * per


# -- the big dataset (1M events in 10k streams, one with 10k events) -----------------

BIG_STREAMS, BIG_EVENTS, BUSY = 10_000, 1_000_000, 10_000


def big_table(streams: int = BIG_STREAMS, total: int = BIG_EVENTS, busy: int = BUSY) -> pa.Table:
    """The events as Arrow columns, generated by DuckDB's vectorised SQL (no Python loop).

    Stream r0 has ``busy`` events; the others share the rest. Rows are ordered by
    (version, stream), so each stream's events are spread across the table.
    """
    per = (total - busy) // (streams - 1)
    return duckdb.sql(f"""
        WITH rows AS (
            SELECT 'r' || (1 + i // {per}) AS entity_id, 1 + i % {per} AS entity_version
            FROM range({per * (streams - 1)}) t(i)
            UNION ALL
            SELECT 'r0', 1 + i FROM range({busy}) t(i))
        SELECT 'Restaurant' AS entity_type, entity_id, entity_version,
               CASE WHEN entity_version = 1 THEN 'RestaurantOpened' ELSE 'OrderPlaced' END
                   AS event_type,
               CASE WHEN entity_version = 1 THEN '{{"name":"' || entity_id || '"}}'
                    ELSE '{{"order_id":' || entity_version || ',"total_cents":'
                         || (500 + (hash(entity_id) + entity_version) % 5000) || '}}' END
                   AS event_data,
               TIMESTAMP '2024-01-01' + to_seconds(
                   (row_number() OVER (ORDER BY entity_version, entity_id)) * 2)
                   AS created_at
        FROM rows ORDER BY entity_version, entity_id""").to_arrow_table()


def seed_eslab(path: Path) -> Timing:
    """Bulk seed end to end: generate the payloads and insert them (workload 5)."""
    started = time.perf_counter()
    table = big_table()
    with EventStore(path) as store:
        store.bulk_insert(table)
    return time.perf_counter() - started, table.num_rows


def seed_peer(path: Path) -> Timing:
    """The peer's fastest way in: aggregates saved in batches (its batched save)."""
    app = peer_app(path)
    per = (BIG_EVENTS - BUSY) // (BIG_STREAMS - 1)
    started = time.perf_counter()
    busy = PeerRestaurant("r0")
    busy.place_orders(BUSY - 1, 1250)
    app.save(busy)
    batch = []
    for a in range(1, BIG_STREAMS):
        agg = PeerRestaurant(f"r{a}")
        agg.place_orders(per - 1, 1250)
        batch.append(agg)
        if len(batch) == 200:
            app.save(*batch)
            batch = []
    app.save(*batch)
    elapsed = time.perf_counter() - started
    with open(path.with_suffix(".busy"), "w") as f:
        f.write(str(busy.id))
    return elapsed, BIG_EVENTS


# -- 3. load a 10k-event stream from the big store -----------------------------------


def load_eslab(path: Path | str) -> Timing:
    """Replay r0 (``path``: a DuckDB file, or a PostgreSQL URL)."""
    with EventStore(path, read_only=True) as store:
        repo = AggregateRepository(store, Restaurant)
        started = time.perf_counter()
        agg = repo.find("r0")
        elapsed = time.perf_counter() - started
    assert agg.orders == BUSY - 1
    return elapsed, BUSY


def load_peer(path: Path) -> Timing:
    app = peer_app(path)
    busy = uuid.UUID(path.with_suffix(".busy").read_text())
    started = time.perf_counter()
    agg = app.repository.get(busy)
    elapsed = time.perf_counter() - started
    assert agg.orders == BUSY - 1
    return elapsed, BUSY


def fetch_floor(path: Path) -> Timing:
    """DuckDB's floor for the load: fetch the stream's rows as tuples, decode nothing."""
    with EventStore(path, read_only=True) as store:
        started = time.perf_counter()
        rows = (
            store.cursor()
            .execute(
                "SELECT event_type, schema_version, event_data, entity_version FROM events "
                "WHERE entity_id = ? AND entity_type = ? ORDER BY entity_version",
                ["r0", "Restaurant"],
            )
            .fetchall()
        )
        elapsed = time.perf_counter() - started
    return elapsed, len(rows)


# -- 4. load with a snapshot at 100k events ------------------------------------------

SNAP_EVENTS = 100_000


def snapshot_store_eslab() -> Path:
    path = _tmp() / "snap.duckdb"
    table = big_table(streams=2, total=SNAP_EVENTS + 1, busy=SNAP_EVENTS)
    with EventStore(path) as store:
        store.bulk_insert(table)
        repo = AggregateRepository(store, Restaurant, snapshots=SnapshotStrategy(every=None))
        repo.snapshots.take(repo, repo.find("r0"))
    return path


def snapshot_load_eslab(path: Path | str, events: int = SNAP_EVENTS) -> Timing:
    """Load r0 from its snapshot (``path``: a DuckDB file, or a PostgreSQL URL)."""
    with EventStore(path, read_only=True) as store:
        repo = AggregateRepository(store, Restaurant, snapshots=SnapshotStrategy(every=None))
        started = time.perf_counter()
        agg = repo.find("r0")
        elapsed = time.perf_counter() - started
    assert agg.version == events and repo.last_events_read == 0
    return elapsed, 1


def snapshot_store_peer() -> tuple[Path, uuid.UUID]:
    path = _tmp() / "snap.sqlite"
    app = peer_app(path, snapshots=True)
    agg = PeerRestaurant("r0")
    agg.place_orders(SNAP_EVENTS - 1, 1250)
    app.save(agg)
    app.take_snapshot(agg.id)
    return path, agg.id


def snapshot_load_peer(where: tuple[Path, uuid.UUID]) -> Timing:
    app = peer_app(where[0], snapshots=True)
    started = time.perf_counter()
    agg = app.repository.get(where[1])
    elapsed = time.perf_counter() - started
    assert agg.version == SNAP_EVENTS
    return elapsed, 1


# -- 6. one analytical question over all events ---------------------------------------

REVENUE_SQL = """
SELECT entity_id AS restaurant, created_at::DATE AS day,
       sum((event_data->>'$.total_cents')::BIGINT) AS revenue_cents
FROM events WHERE event_type = 'OrderPlaced' GROUP BY ALL
"""


def revenue_eslab(path: Path) -> Timing:
    with EventStore(path, read_only=True) as store:
        started = time.perf_counter()
        frame = store.sql(REVENUE_SQL)
        elapsed = time.perf_counter() - started
    assert frame["revenue_cents"].sum() > 0
    return elapsed, BIG_EVENTS


def revenue_peer(path: Path) -> Timing:
    """The peer's way: read every notification, decode it, add it up in Python."""
    app = peer_app(path)
    started = time.perf_counter()
    totals: dict[tuple[str, object], int] = {}
    start = 1
    while True:
        page = app.recorder.select_notifications(start, 10_000)
        if not page:
            break
        for notification in page:
            domain_event = app.mapper.to_domain_event(notification)
            cents = getattr(domain_event, "total_cents", None)
            if cents is not None:
                key = (str(domain_event.originator_id), domain_event.timestamp.date())
                totals[key] = totals.get(key, 0) + cents
        start = page[-1].id + 1
    return time.perf_counter() - started, BIG_EVENTS


# -- the lock choice (issue 2): UNIQUE key vs the entities compare-and-set -------------


def lock_unique_key(commands: int = 2000) -> Timing:
    store = EventStore(_tmp() / "u.duckdb")
    store.append("Restaurant", "r", [OrderPlacedLike()], 0)
    started = time.perf_counter()
    for v in range(1, commands + 1):
        store.append("Restaurant", "r", [OrderPlacedLike()], v)
    elapsed = time.perf_counter() - started
    store.close()
    return elapsed, commands


def lock_entities_cas(commands: int = 2000) -> Timing:
    """The book's way: BEGIN; UPDATE entities … WHERE entity_version = <read>; INSERT; COMMIT."""
    con = duckdb.connect(str(_tmp() / "c.duckdb"))
    con.execute(
        "CREATE TABLE entities (entity_type VARCHAR, entity_id VARCHAR, "
        "entity_version BIGINT, PRIMARY KEY (entity_type, entity_id))"
    )
    con.execute(
        "CREATE TABLE events (event_id VARCHAR PRIMARY KEY, event_type VARCHAR, "
        "event_data JSON, entity_type VARCHAR, entity_id VARCHAR, "
        "entity_version BIGINT)"
    )
    con.execute("INSERT INTO entities VALUES ('Restaurant', 'r', 0)")
    started = time.perf_counter()
    for v in range(commands):
        con.execute("BEGIN")
        changed = con.execute(
            "UPDATE entities SET entity_version = ? WHERE entity_type = ? "
            "AND entity_id = ? AND entity_version = ?",
            [v + 1, "Restaurant", "r", v],
        ).fetchall()[0][0]
        assert changed == 1
        con.execute(
            "INSERT INTO events VALUES (?, 'OrderPlaced', ?, 'Restaurant', 'r', ?)",
            [str(uuid.uuid4()), '{"order_id":1,"total_cents":1}', v + 1],
        )
        con.execute("COMMIT")
    elapsed = time.perf_counter() - started
    con.close()
    return elapsed, commands


def OrderPlacedLike():  # type: ignore[no-untyped-def]  # noqa: N802
    from bench.domain import OrderPlaced

    return OrderPlaced(1, 1250)
