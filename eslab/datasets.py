"""Datasets: the old-schema FTGO events in ``data/``, and big deterministic sets on demand.

* :func:`load` puts the files of ``data/`` into a store exactly as the old services wrote
  them (``OrderCreated`` at schema v1 and v2); :func:`ftgo_store` is a fresh in-memory
  store with all of them. Loading them through ``find`` runs the upcasters.
* :func:`generate_orders` writes N FTGO orders (any mix of schema versions, e.g. 400,000
  orders ≈ 1M events) and :func:`long_stream` one stream of 100,000 events, in seconds:
  the payloads are built by DuckDB SQL from a seeded plan and go in through
  ``store.bulk_insert`` (columnar, one statement per chunk), never one append at a time.

Same arguments, same events: ids are derived from the seed and the stream, times from a
fixed start. Nothing generated here is committed; ``data/`` stays small.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache, partial
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from eslab import events
from eslab.course import course_dir
from eslab.domain import bank, order, order_upcasters  # noqa: F401  (event classes, upcasters)
from eslab.errors import BadInputError, StreamExistsError
from eslab.store import EventStore

Progress = Callable[[int, int], None]
"""``progress(done, total)``: called after each chunk of events is written."""

DATA_FILES = ("ftgo_orders_v1", "ftgo_orders_mixed")
"""The committed old-schema files, oldest first (``data/<name>.jsonl``)."""

START = datetime(2024, 1, 1, 12, 0)
"""Generated events start at this (fixed) time."""

_ROW_COLUMNS = (
    "event_id",
    "entity_type",
    "entity_id",
    "entity_version",
    "event_type",
    "schema_version",
    "created_at",
    "event_data",
)


def data_dir() -> Path:
    """The ``data/`` folder (``$ESLAB_DATA_DIR`` if set, else the course's: see eslab.course)."""
    override = os.environ.get("ESLAB_DATA_DIR")
    return Path(override) if override else course_dir("data")


def data_path(name: str) -> Path:
    """Where the file ``name`` (e.g. ``"ftgo_orders_v1"``) lives; a clear error if absent."""
    path = data_dir() / f"{name.removesuffix('.jsonl')}.jsonl"
    if not path.exists():
        raise BadInputError(
            f"No dataset {name!r}: {path} does not exist. The files are "
            f"{', '.join(DATA_FILES)}; run `python data/generate.py` to re-create them."
        )
    return path


def read_rows(name: str) -> list[dict[str, Any]]:
    """The rows of one ``data/`` file, as written (``event_data`` is a dict)."""
    with data_path(name).open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


@cache
def catalog() -> dict[str, Any]:
    """``data/catalog.json``: FTGO restaurants, menus (cents) and addresses."""
    return json.loads((data_dir() / "catalog.json").read_text(encoding="utf-8"))


def rows_table(rows: Iterable[dict[str, Any]]) -> pa.Table:
    """Rows like :func:`read_rows` gives → an Arrow table ready for ``bulk_insert``."""
    rows = list(rows)
    columns = {c: [r[c] for r in rows] for c in _ROW_COLUMNS if c != "event_data"}
    return pa.table(
        {
            **{c: columns[c] for c in ("event_id", "entity_type", "entity_id", "event_type")},
            "entity_version": pa.array(columns["entity_version"], pa.int64()),
            "schema_version": pa.array(columns["schema_version"], pa.int32()),
            "created_at": pa.array(
                [datetime.fromisoformat(t) for t in columns["created_at"]], pa.timestamp("us")
            ),
            "event_data": [json.dumps(r["event_data"], separators=(",", ":")) for r in rows],
        }
    )


def load(store: EventStore, names: str | Sequence[str] = DATA_FILES) -> int:
    """Insert the ``data/`` file(s) into ``store`` as they are (old schemas kept); count."""
    names = [names] if isinstance(names, str) else list(names)
    return sum(store.bulk_insert(rows_table(read_rows(name))) for name in names)


def ftgo_store(names: str | Sequence[str] = DATA_FILES, **store_options: Any) -> EventStore:
    """A new in-memory :class:`EventStore` holding the old-schema FTGO orders of ``data/``."""
    store = EventStore(**store_options)
    load(store, names)
    return store


def seed_workshop(folder: Path, extra_orders: int = 0, *, progress: bool = True) -> dict[str, int]:
    """(Re)build the workshop's file stores in ``folder``; return {file name: events}.

    ``ftgo_old_orders.duckdb`` holds ``data/`` as stored (old schemas, notebook 07); with
    ``extra_orders`` > 0, ``ftgo_orders.duckdb`` holds that many generated orders (notebook 09).
    An existing store of the same name is replaced, so seeding twice gives the same stores.
    With ``progress``, a bar counts the steps (a terminal bar on stderr; in a notebook,
    ipywidgets — ``tqdm.auto`` picks).
    """
    from tqdm.auto import tqdm

    if isinstance(extra_orders, bool) or not isinstance(extra_orders, int) or extra_orders < 0:
        raise BadInputError(f"extra_orders must be an int ≥ 0, got {extra_orders!r}.")
    folder.mkdir(parents=True, exist_ok=True)
    steps: list[tuple[str, str, Callable[[EventStore], object]]] = [
        ("ftgo_old_orders.duckdb", f"load data/{name}.jsonl", partial(load, names=name))
        for name in DATA_FILES
    ]
    if extra_orders:
        steps.append(
            (
                "ftgo_orders.duckdb",
                f"generate {extra_orders:,} orders",
                lambda s: generate_orders_in_sql(s, extra_orders, seed=1),
            )
        )
    for name in dict.fromkeys(name for name, _, _ in steps):
        for old in (folder / name, folder / f"{name}.wal"):
            old.unlink(missing_ok=True)
    built = {}
    with tqdm(total=len(steps), desc="seeding", unit="step", disable=not progress) as bar:
        for name, what, fill in steps:
            bar.set_postfix_str(f"{name}: {what}")
            with EventStore(folder / name) as store:
                fill(store)
                built[name] = int(store.sql("SELECT count(*) AS n FROM events")["n"][0])
            bar.update()
    return built


# -- one long stream ------------------------------------------------------------------------

_LONG_STREAMS = {  # entity type: (SQL of event_type, SQL of event_data) for event k
    "BankAccount": (
        """
        CASE WHEN k = 1 THEN 'AccountOpened'
             WHEN k % 3 = 0 THEN 'MoneyWithdrawn' ELSE 'MoneyDeposited' END""",
        """
        CASE WHEN k = 1 THEN json_object('owner', 'Ada', 'initial_deposit', 100)
             WHEN k % 3 = 0 THEN json_object('amount', 5)
             ELSE json_object('amount', 10 + k % 7) END""",
    ),
    "Order": (
        """
        CASE WHEN k = 1 THEN 'OrderCreated' WHEN k = 2 THEN 'OrderAuthorized'
             WHEN k % 2 = 1 THEN 'OrderRevisionProposed' ELSE 'OrderRevised' END""",
        """
        CASE WHEN k = 1 THEN json_object(
                 'consumer_id', 'consumer-001', 'restaurant_id', 'rest-ajanta',
                 'line_items', [json_object('menu_item_id', 'aj-01', 'name', 'Chicken Vindaloo',
                     'quantity', 1, 'price', json_object('cents', 1295, 'currency', 'USD'))],
                 'total', json_object('cents', 1295, 'currency', 'USD'),
                 'delivery_address', json_object('street', '12 Oak St', 'city', 'Oakland',
                     'postcode', '94611'))
             WHEN k = 2 THEN json_object()
             WHEN k % 2 = 1 THEN json_object('quantities', json_object('aj-01', 1 + k // 2 % 5),
                 'new_total', json_object('cents', 1295 * (1 + k // 2 % 5), 'currency', 'USD'))
             ELSE json_object('line_items', [json_object('menu_item_id', 'aj-01',
                     'name', 'Chicken Vindaloo', 'quantity', 1 + (k - 1) // 2 % 5,
                     'price', json_object('cents', 1295, 'currency', 'USD'))],
                 'total', json_object('cents', 1295 * (1 + (k - 1) // 2 % 5),
                     'currency', 'USD')) END""",
    ),
}


def long_stream(
    store: EventStore,
    entity_id: str,
    n_events: int,
    *,
    entity_type: str = "BankAccount",
    chunk: int = 100_000,
    progress: Progress | None = None,
) -> int:
    """Write one stream of ``n_events`` events (a BankAccount or an Order); return n_events.

    A BankAccount opens with 100, then deposits 10–16 and withdraws 5 (every third
    event), so its balance never goes below zero. An Order is created and approved, then
    revised again and again (proposed, revised, ...). 100,000 events take about a second:
    the rows are built in SQL and bulk inserted.
    """
    if entity_type not in _LONG_STREAMS:
        raise BadInputError(
            f"long_stream() builds {' or '.join(_LONG_STREAMS)} streams, not {entity_type!r}."
        )
    if isinstance(n_events, bool) or not isinstance(n_events, int) or n_events < 1:
        raise BadInputError(f"n_events must be an int ≥ 1, got {n_events!r}.")
    if (head := store.head(entity_type, entity_id)) > 0:
        raise StreamExistsError(entity_type, entity_id, head)
    event_type_sql, event_data_sql = _LONG_STREAMS[entity_type]
    con = _generator()
    done = 0
    while done < n_events:
        upto = min(done + chunk, n_events)
        table = con.sql(
            f"""
            SELECT entity_type, entity_id, k AS entity_version, event_type,
                   {_schema_version_sql("event_type")} AS schema_version, event_data,
                   {_uuid_sql("h")} AS event_id, created_at
            FROM (SELECT $type AS entity_type, $id AS entity_id, k,
                         {event_type_sql} AS event_type, ({event_data_sql})::VARCHAR AS event_data,
                         md5($type || ':' || $id || ':' || k) AS h,
                         $start + to_seconds(k) AS created_at
                  FROM range($lo, $hi) r(k))
            ORDER BY k""",
            params={
                "type": entity_type,
                "id": entity_id,
                "lo": done + 1,
                "hi": upto + 1,
                "start": START,
            },
        ).to_arrow_table()
        store.bulk_insert(table)
        done = upto
        if progress is not None:
            progress(done, n_events)
    con.close()
    return n_events


def _generator() -> duckdb.DuckDBPyConnection:
    """A private in-memory DuckDB that builds the rows (quietly: no progress bar)."""
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    return con


def _uuid_sql(h: str) -> str:
    """SQL that cuts the 32 hex digits ``h`` (an md5) into a UUID's 8-4-4-4-12 shape."""
    return (
        f"substr({h}, 1, 8) || '-' || substr({h}, 9, 4) || '-' || substr({h}, 13, 4) "
        f"|| '-' || substr({h}, 17, 4) || '-' || substr({h}, 21, 12)"
    )


def _schema_version_sql(column: str) -> str:
    """SQL: the current schema version of the event type in ``column`` (from the registry)."""
    whens = " ".join(
        f"WHEN '{name}' THEN {cls.schema_version}"
        for name, cls in sorted(events.registered_types().items())
        if name.isidentifier()
    )
    return f"CASE {column} {whens} ELSE 1 END"


# -- many orders ----------------------------------------------------------------------------

SCHEMAS = {1, 2, 3}
"""The OrderCreated layouts :func:`generate_orders` can write (see order_upcasters)."""


def order_plan(
    n_orders: int, *, seed: int = 0, schema_versions: Sequence[int] = (3,)
) -> pd.DataFrame:
    """What happens to each generated order, drawn from ``seed`` (one row per order)."""
    versions = list(schema_versions)
    if not versions or set(versions) - SCHEMAS:
        raise BadInputError(
            f"schema_versions must be a non-empty list of {sorted(SCHEMAS)}, "
            f"got {schema_versions!r}."
        )
    rng = np.random.default_rng(seed)
    n = n_orders
    fate = rng.random(n)
    rejected = fate < 0.15
    cancelled = ~rejected & (rng.random(n) < 0.08)
    revised = ~rejected & ~cancelled & (rng.random(n) < 0.10)
    return pd.DataFrame(
        {
            "o": np.arange(n, dtype=np.int64),
            "restaurant": rng.integers(0, len(catalog()["restaurants"]), n),
            "consumer": rng.integers(1, 10_000, n),
            "items": rng.integers(1, 4, n),
            "first_item": rng.integers(0, 1_000, n),
            "quantity": rng.integers(1, 4, (3, n)).T.tolist(),
            "created_s": np.arange(n, dtype=np.int64) * 30 + rng.integers(0, 30, n),
            "decided_after": rng.integers(60, 900, n),
            "later_after": rng.integers(300, 1800, n),
            "rejected": rejected,
            "cancelled": cancelled,
            "revised": revised,
            "reason": rng.integers(0, len(catalog()["rejection_reasons"]), n),
            "version": rng.choice(np.array(versions, dtype=np.int64), n),
        }
    )


def plan_event_count(plan: pd.DataFrame) -> int:
    """How many events the plan writes: created, decided, then cancelled or revised."""
    return int(2 * len(plan) + plan["cancelled"].sum() + 2 * plan["revised"].sum())


def generate_orders(
    store: EventStore,
    n_orders: int,
    *,
    seed: int = 0,
    schema_versions: Sequence[int] = (3,),
    id_prefix: str = "gen-order",
    chunk_orders: int = 50_000,
    progress: Progress | None = None,
) -> int:
    """Write ``n_orders`` FTGO orders with their histories; return the number of events.

    Each order is created (``OrderCreated`` at a schema version drawn from
    ``schema_versions``), then authorized (85 %) or rejected; some authorized orders are
    cancelled, others revised. 400,000 orders ≈ 1M events. Deterministic for a ``seed``.
    """
    if isinstance(n_orders, bool) or not isinstance(n_orders, int) or n_orders < 1:
        raise BadInputError(f"n_orders must be an int ≥ 1, got {n_orders!r}.")
    plan = order_plan(n_orders, seed=seed, schema_versions=schema_versions)
    total, done = plan_event_count(plan), 0
    con = _generator()
    _register_catalog(con)
    for lo in range(0, n_orders, chunk_orders):
        part = plan.iloc[lo : lo + chunk_orders]
        con.register("plan", part)
        table = con.sql(
            _ORDERS_SQL, params={"prefix": id_prefix, "seed": seed, "start": START}
        ).to_arrow_table()
        con.unregister("plan")
        done += store.bulk_insert(table)
        if progress is not None:
            progress(done, total)
    con.close()
    return done


def _register_catalog(con: duckdb.DuckDBPyConnection) -> None:
    data = catalog()
    menu = [
        {
            "restaurant": r,
            "rest_id": rest["id"],
            "item": i,
            "menu_size": len(rest["menu"]),
            "item_id": item["id"],
            "name": item["name"],
            "cents": item["cents"],
        }
        for r, rest in enumerate(data["restaurants"])
        for i, item in enumerate(rest["menu"])
    ]
    con.register("menu", pd.DataFrame(menu))
    con.register(
        "streets", pd.DataFrame({"n": range(len(data["streets"])), "street": data["streets"]})
    )
    con.register(
        "cities",
        pd.DataFrame(
            {
                "n": range(len(data["cities"])),
                "city": [c for c, _ in data["cities"]],
                "postcode": [p for _, p in data["cities"]],
            }
        ),
    )
    con.register(
        "reasons",
        pd.DataFrame(
            {"n": range(len(data["rejection_reasons"])), "reason_text": data["rejection_reasons"]}
        ),
    )


_ORDERS_SQL = (
    """
WITH lines AS (
    SELECT p.o, t.t, m.item_id, m.name, m.cents, p.quantity[t.t + 1] AS q,
           p.quantity[t.t + 1] + CASE WHEN t.t = 0 THEN 1 ELSE 0 END AS q_revised
    FROM plan p, range(3) t(t), menu m
    WHERE t.t < p.items AND m.restaurant = p.restaurant
      AND m.item = (p.first_item + t.t) % m.menu_size
),
orders AS (
    SELECT p.*, r.rest_id, $prefix || '-' || lpad(p.o::VARCHAR, 7, '0') AS entity_id,
           $start + to_seconds(p.created_s) AS created_at,
           format('consumer-{:05d}', p.consumer) AS consumer_id,
           format('{} {}, {} {}', 1 + p.consumer * 7919 % 4999, s.street, c.city, c.postcode)
               AS address_line,
           json_object('street', format('{} {}', 1 + p.consumer * 7919 % 4999, s.street),
                       'city', c.city, 'postcode', c.postcode) AS address,
           rs.reason_text
    FROM plan p
    JOIN (SELECT DISTINCT restaurant, rest_id FROM menu) r USING (restaurant)
    JOIN streets s ON s.n = p.consumer % (SELECT count(*) FROM streets)
    JOIN cities c ON c.n = p.consumer % (SELECT count(*) FROM cities)
    JOIN reasons rs ON rs.n = p.reason
),
totals AS (
    SELECT o,
        to_json(list(json_object('menuItemId', item_id, 'name', name, 'quantity', q,
                                     'price', cents / 100) ORDER BY t)) AS v1_items,
        sum(cents / 100 * q ORDER BY t) AS v1_total,
        to_json(list(json_object('menuItemId', item_id, 'name', name, 'quantity', q,
                                     'priceCents', cents) ORDER BY t)) AS v2_items,
        to_json(list(json_object('menu_item_id', item_id, 'name', name, 'quantity', q,
            'price', json_object('cents', cents, 'currency', 'USD')) ORDER BY t)) AS v3_items,
        sum(cents * q)::BIGINT AS cents,
        to_json(list(json_object('menu_item_id', item_id, 'name', name,
            'quantity', q_revised, 'price', json_object('cents', cents, 'currency', 'USD'))
            ORDER BY t)) AS revised_items,
        sum(cents * q_revised)::BIGINT AS revised_cents,
        first(item_id ORDER BY t) AS first_item_id,
        first(q_revised ORDER BY t) AS first_q_revised
    FROM lines GROUP BY o
),
events AS (
    SELECT o.entity_id, 1 AS entity_version, 'OrderCreated' AS event_type,
           o.version AS schema_version, o.created_at,
           CASE o.version
             WHEN 1 THEN json_object('consumerId', o.consumer_id, 'restaurantId', o.rest_id,
                 'lineItems', t.v1_items, 'orderTotal', t.v1_total,
                 'deliveryAddress', o.address_line)
             WHEN 2 THEN json_object('consumerId', o.consumer_id, 'restaurantId', o.rest_id,
                 'lineItems', t.v2_items, 'totalCents', t.cents, 'currency', 'USD',
                 'deliveryAddress', o.address_line)
             ELSE json_object('consumer_id', o.consumer_id, 'restaurant_id', o.rest_id,
                 'line_items', t.v3_items,
                 'total', json_object('cents', t.cents, 'currency', 'USD'),
                 'delivery_address', o.address)
           END AS event_data
    FROM orders o JOIN totals t USING (o)
    UNION ALL
    SELECT entity_id, 2, CASE WHEN rejected THEN 'OrderRejected' ELSE 'OrderAuthorized' END,
           1, created_at + to_seconds(decided_after),
           CASE WHEN rejected THEN json_object('reason', reason_text) ELSE json_object() END
    FROM orders
    UNION ALL
    SELECT entity_id, 3, 'OrderCancelled', 1,
           created_at + to_seconds(decided_after + later_after), json_object()
    FROM orders WHERE cancelled
    UNION ALL
    SELECT o.entity_id, 3, 'OrderRevisionProposed', 1,
           o.created_at + to_seconds(o.decided_after + o.later_after),
           json_object('quantities', json_object(t.first_item_id, t.first_q_revised),
               'new_total', json_object('cents', t.revised_cents, 'currency', 'USD'))
    FROM orders o JOIN totals t USING (o) WHERE o.revised
    UNION ALL
    SELECT o.entity_id, 4, 'OrderRevised', 1,
           o.created_at + to_seconds(o.decided_after + o.later_after + 60),
           json_object('line_items', t.revised_items,
               'total', json_object('cents', t.revised_cents, 'currency', 'USD'))
    FROM orders o JOIN totals t USING (o) WHERE o.revised
)
SELECT """
    + _uuid_sql("h")
    + """ AS event_id, 'Order' AS entity_type, entity_id,
       entity_version::BIGINT AS entity_version, event_type,
       schema_version::INTEGER AS schema_version, created_at, event_data::VARCHAR AS event_data
FROM (SELECT *, md5($seed || ':' || entity_id || ':' || entity_version) AS h FROM events)
ORDER BY created_at, entity_id, entity_version
"""
)


# -- progress in a notebook -------------------------------------------------------------


# -- a large, generated order log (for the million-event queries) ----------------------------


@dataclass(frozen=True)
class GeneratedOrders:
    """What :func:`generate_orders_in_sql` inserted."""

    orders: int
    events: int
    first_day: date
    last_day: date


_GENERATE_SQL = """
INSERT INTO events (event_id, event_type, event_data, entity_type, entity_id, entity_version,
                    schema_version, created_at)
WITH base AS (
    SELECT i, h, $prefix || i AS order_id,
           $start + to_microseconds(CAST(i * $span_us // $n AS BIGINT)) AS t0,
           'consumer-' || (h % $consumers) AS consumer_id,
           'restaurant-' || ((h >> 8) % $restaurants) AS restaurant_id,
           'item-' || ((h >> 14) % 20) AS item_id,
           1 + (h >> 20) % 3 AS qty,
           500 + ((h >> 24) % 40) * 50 AS price,
           (h >> 32) % 100 AS fate
    FROM (SELECT i, hash(i, $seed) AS h FROM range($n) r(i))
),
log AS (
    SELECT order_id, 1 AS v, 'OrderCreated' AS event_type, 3 AS schema_version,
           t0 AS created_at,
           json_object('consumer_id', consumer_id, 'restaurant_id', restaurant_id,
               'line_items', json_array(json_object('menu_item_id', item_id,
                   'name', 'Dish ' || item_id, 'quantity', qty,
                   'price', json_object('cents', price, 'currency', 'EUR'))),
               'total', json_object('cents', qty * price, 'currency', 'EUR'),
               'delivery_address', json_object('street', (h % 200) || ' Main Street',
                   'city', 'Springfield', 'postcode', CAST(10000 + h % 90000 AS VARCHAR)))
               AS event_data
    FROM base
    UNION ALL  -- 5 % stay pending; 15 % are rejected, the rest authorized
    SELECT order_id, 2, CASE WHEN fate < 20 THEN 'OrderRejected' ELSE 'OrderAuthorized' END,
           1, t0 + INTERVAL 2 MINUTE,
           CASE WHEN fate < 20 THEN json_object('reason', 'card declined') ELSE '{}' END
    FROM base WHERE fate >= 5
    UNION ALL  -- 10 % cancelled, 10 % revised (one more of the item)
    SELECT order_id, 3,
           CASE WHEN fate < 90 THEN 'OrderCancelled' ELSE 'OrderRevisionProposed' END,
           1, t0 + INTERVAL 30 MINUTE,
           CASE WHEN fate < 90 THEN '{}' ELSE json_object(
               'quantities', json_object(item_id, qty + 1),
               'new_total', json_object('cents', (qty + 1) * price, 'currency', 'EUR')) END
    FROM base WHERE fate >= 80
    UNION ALL
    SELECT order_id, 4, 'OrderRevised', 1, t0 + INTERVAL 40 MINUTE,
           json_object('line_items', json_array(json_object('menu_item_id', item_id,
                   'name', 'Dish ' || item_id, 'quantity', qty + 1,
                   'price', json_object('cents', price, 'currency', 'EUR'))),
               'total', json_object('cents', (qty + 1) * price, 'currency', 'EUR'))
    FROM base WHERE fate >= 90
)
SELECT order_id || '/v' || v, event_type, event_data, 'Order', order_id, v, schema_version,
       created_at
FROM log ORDER BY created_at, order_id, v
"""


def generate_orders_in_sql(
    store: EventStore,
    orders: int,
    *,
    seed: int = 0,
    start: datetime = datetime(2024, 3, 1),
    days: int = 7,
    consumers: int = 1000,
    restaurants: int = 50,
    prefix: str = "sql-order-",
) -> GeneratedOrders:
    """Append ``orders`` generated FTGO orders (≈ 2.25 events each) with one INSERT … SELECT.

    Everything is made inside DuckDB from ``range()`` and ``json_object`` — no Python loop —
    so a million events take seconds. Orders are spread evenly over ``days`` days from
    ``start``; their fates (pending, rejected, approved, cancelled, revised) follow a
    deterministic hash of ``seed`` and the order number. The payloads are real
    ``OrderCreated`` v3 / ``OrderAuthorized`` … events: the Order aggregate replays them.
    (:func:`eslab.datasets.generate_orders` makes richer orders, old schema versions
    included, through ``bulk_insert``; this is the one-statement version to read.)
    """
    for name, value, low in (
        ("orders", orders, 1),
        ("days", days, 1),
        ("consumers", consumers, 1),
        ("restaurants", restaurants, 1),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise BadInputError(f"{name} must be an int ≥ {low}, got {value!r}.")
    if not isinstance(prefix, str) or not re.fullmatch(r"[A-Za-z0-9_.:-]+", prefix):
        raise BadInputError(f"prefix must be letters, digits or _.:- , got {prefix!r}.")
    taken = (
        store.cursor()
        .execute(
            "SELECT count(*) FROM events "
            "WHERE entity_type = 'Order' AND starts_with(entity_id, $p)",
            {"p": prefix},
        )
        .fetchall()[0][0]
    )
    if taken:
        raise BadInputError(
            f"The store already has orders whose ids start with {prefix!r}; "
            "pass another prefix= so the new orders get new ids."
        )
    before = store.last_position()
    with store.unit_of_work() as uow:
        uow.execute(
            _GENERATE_SQL,
            {
                "prefix": prefix,
                "start": start,
                "span_us": days * 86_400 * 1_000_000,
                "n": orders,
                "seed": seed,
                "consumers": consumers,
                "restaurants": restaurants,
            },
        )
    count = (
        store.cursor()
        .execute("SELECT count(*) FROM events WHERE position > $p", {"p": before})
        .fetchall()[0][0]
    )
    return GeneratedOrders(
        orders, int(count), start.date(), (start + timedelta(days=days - 1)).date()
    )
