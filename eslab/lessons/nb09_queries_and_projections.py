"""Notebook 09's examples: FTGO's order history, one question asked two ways, a picture.

:class:`OrderHistory` is the book's read model (ch. 7): one row per order with its
current state and total, kept by a :class:`~eslab.projections.Projector`. The question
"orders of consumer X over 30 € placed on a day" is answered from that read model
(:func:`orders_from_read_model`) and straight from the ``events`` table
(:func:`orders_from_events`, the replay re-written in SQL); :func:`projection_picture`
shows how far a projector got.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from eslab.domain.order import (
    OrderAuthorized,
    OrderCancelled,
    OrderCreated,
    OrderRejected,
    OrderRevised,
    OrderRevisionProposed,
)
from eslab.errors import BadInputError
from eslab.events import StoredEvent
from eslab.projections import Change, Projection, Projector, Upsert
from eslab.store import EventStore


class OrderHistory(Projection):
    """One row per order with its current state and total — queryable by consumer."""

    name = "order_history"
    version = 1
    tables = {
        "order_history": """
        order_id      VARCHAR PRIMARY KEY,
        consumer_id   VARCHAR,
        restaurant_id VARCHAR,
        state         VARCHAR,
        total_cents   BIGINT,
        currency      VARCHAR,
        placed_at     TIMESTAMP,
        order_version BIGINT"""
    }

    def on_created(self, event: OrderCreated, stored: StoredEvent) -> list[Change]:
        return [
            Upsert(
                "order_history",
                {"order_id": stored.entity_id},
                {
                    "consumer_id": event.consumer_id,
                    "restaurant_id": event.restaurant_id,
                    "state": "APPROVAL_PENDING",
                    "total_cents": event.total.cents,
                    "currency": event.total.currency,
                    "placed_at": stored.created_at,
                    "order_version": stored.entity_version,
                },
            )
        ]

    def on_authorized(self, event: OrderAuthorized, stored: StoredEvent) -> list[Change]:
        return [self._state(stored, "APPROVED")]

    def on_rejected(self, event: OrderRejected, stored: StoredEvent) -> list[Change]:
        return [self._state(stored, "REJECTED")]

    def on_cancelled(self, event: OrderCancelled, stored: StoredEvent) -> list[Change]:
        return [self._state(stored, "CANCELLED")]

    def on_revision_proposed(
        self, event: OrderRevisionProposed, stored: StoredEvent
    ) -> list[Change]:
        return [self._state(stored, "REVISION_PENDING")]

    def on_revised(self, event: OrderRevised, stored: StoredEvent) -> list[Change]:
        return [
            Upsert(
                "order_history",
                {"order_id": stored.entity_id},
                {
                    "state": "APPROVED",
                    "total_cents": event.total.cents,
                    "order_version": stored.entity_version,
                },
            )
        ]

    @staticmethod
    def _state(stored: StoredEvent, state: str) -> Upsert:
        return Upsert(
            "order_history",
            {"order_id": stored.entity_id},
            {"state": state, "order_version": stored.entity_version},
        )


# -- the question, asked both ways ------------------------------------------------------------

ORDERS_FROM_READ_MODEL_SQL = """
SELECT order_id, consumer_id, state, total_cents, placed_at
FROM order_history
WHERE consumer_id = $consumer
  AND total_cents > $min_cents
  AND placed_at >= $day AND placed_at < $day + INTERVAL 1 DAY
ORDER BY placed_at, order_id
"""
"""'Orders of a consumer over an amount, placed on a day' against the read model."""

_FROM_EVENTS_TEMPLATE = """
WITH placed AS (            -- the orders: one OrderCreated each (JSON extraction)
    SELECT entity_id AS order_id,
           event_data->>'$.consumer_id' AS consumer_id,
           event_data->>'$.restaurant_id' AS restaurant_id,
           created_at AS placed_at
    FROM events
    WHERE entity_type = 'Order' AND event_type = 'OrderCreated'{placed_filter}
),
history AS (                -- every event of those orders, newest first per order
    SELECT e.entity_id AS order_id, e.entity_version, e.event_type,
           CAST(e.event_data->>'$.total.cents' AS BIGINT) AS total_cents,
           row_number() OVER (PARTITION BY e.entity_id
                              ORDER BY e.entity_version DESC) AS newest
    FROM events e JOIN placed p ON e.entity_id = p.order_id
    WHERE e.entity_type = 'Order'
),
current_state AS (          -- the replay, re-written in SQL: the last event decides
    SELECT order_id,
           CASE event_type
               WHEN 'OrderCreated' THEN 'APPROVAL_PENDING'
               WHEN 'OrderAuthorized' THEN 'APPROVED'
               WHEN 'OrderRejected' THEN 'REJECTED'
               WHEN 'OrderCancelled' THEN 'CANCELLED'
               WHEN 'OrderRevisionProposed' THEN 'REVISION_PENDING'
               WHEN 'OrderRevised' THEN 'APPROVED'
           END AS state
    FROM history WHERE newest = 1
),
current_total AS (          -- the newest total: from OrderCreated or a later OrderRevised
    SELECT order_id, total_cents FROM history
    WHERE event_type IN ('OrderCreated', 'OrderRevised')
    QUALIFY row_number() OVER (PARTITION BY order_id ORDER BY entity_version DESC) = 1
)
SELECT p.order_id, p.consumer_id, {extra}s.state, t.total_cents, p.placed_at
FROM placed p
JOIN current_state s USING (order_id)
JOIN current_total t USING (order_id){where}
ORDER BY p.placed_at, p.order_id
"""

ORDERS_FROM_EVENTS_SQL = _FROM_EVENTS_TEMPLATE.format(
    placed_filter="""
      AND event_data->>'$.consumer_id' = $consumer
      AND created_at >= $day AND created_at < $day + INTERVAL 1 DAY""",
    extra="",
    where="""
WHERE t.total_cents > $min_cents""",
)
"""The same question straight against ``events``: JSON extraction and window functions.

It only understands OrderCreated at schema version 3 — the upcasters that bring old
events up to date run in Python, not in this SQL."""

CURRENT_ORDERS_SQL = _FROM_EVENTS_TEMPLATE.format(
    placed_filter="", extra="p.restaurant_id, ", where=""
)
"""Every order's current state from ``events`` in one statement (a batch projection)."""

BATCH_TABLE = "order_history_batch"
"""The table :func:`build_order_history_in_sql` (re)creates."""


def _query_params(consumer_id: str, min_cents: int, day: date) -> dict[str, Any]:
    if not isinstance(consumer_id, str) or not consumer_id:
        raise BadInputError(f"consumer_id must be a non-empty str, got {consumer_id!r}.")
    if isinstance(min_cents, bool) or not isinstance(min_cents, int):
        raise BadInputError(f"min_cents must be an int (3000 = 30 €), got {min_cents!r}.")
    if not isinstance(day, date):
        raise BadInputError(f"day must be a datetime.date, got {day!r}.")
    start = datetime(day.year, day.month, day.day)
    return {"consumer": consumer_id, "min_cents": min_cents, "day": start}


def orders_from_read_model(
    store: EventStore, consumer_id: str, min_cents: int, day: date, *, table: str = "order_history"
) -> pd.DataFrame:
    """Orders of ``consumer_id`` over ``min_cents`` placed on ``day``, from a read model
    (``order_history`` kept by the projector, or the batch-built ``order_history_batch``)."""
    if table not in ("order_history", BATCH_TABLE):
        raise BadInputError(f"table must be 'order_history' or {BATCH_TABLE!r}, got {table!r}.")
    sql = ORDERS_FROM_READ_MODEL_SQL.replace("FROM order_history", f"FROM {table}")
    return store.sql(sql, _query_params(consumer_id, min_cents, day))


def orders_from_events(
    store: EventStore, consumer_id: str, min_cents: int, day: date
) -> pd.DataFrame:
    """The same answer computed from the raw ``events`` table (no read model)."""
    return store.sql(ORDERS_FROM_EVENTS_SQL, _query_params(consumer_id, min_cents, day))


def median_ms(query: Callable[[], Any], repeat: int = 3) -> float:
    """Run ``query`` ``repeat`` times; the median wall time in milliseconds (for the notebook)."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        query()
        times.append((time.perf_counter() - start) * 1000)
    return sorted(times)[len(times) // 2]


def build_order_history_in_sql(store: EventStore) -> int:
    """(Re)create ``order_history_batch`` from ``events`` with one ``CREATE TABLE … AS``.

    DuckDB computes every order's current state set-based in well under a second for a
    million events — but the result is stale at the next event, and the SQL re-implements
    the Order's state machine (and knows no upcasters). Returns the number of orders.
    """
    with store.unit_of_work() as uow:
        uow.execute(f"CREATE OR REPLACE TABLE {BATCH_TABLE} AS {CURRENT_ORDERS_SQL}")
    return int(store.cursor().execute(f"SELECT count(*) FROM {BATCH_TABLE}").fetchall()[0][0])


# -- a picture: the log, and how far the projection got ---------------------------------------


def projection_picture(projector: Projector, *, last: int = 40) -> Figure:
    """The newest ``last`` events of the log as a strip: projected ones green, the lag grey,
    with the checkpoint as a line."""
    store = projector.store
    frame = store.sql(
        "SELECT position, event_type FROM events ORDER BY position DESC LIMIT $n", {"n": last}
    ).sort_values("position")
    checkpoint = projector.position
    handled = set(projector.projection.event_types())
    fig = Figure(figsize=(10, 2.0), layout="constrained")
    ax = fig.add_subplot()
    for pos, kind in zip(frame["position"], frame["event_type"], strict=True):
        if kind not in handled:
            colour = "#dddddd"
        else:
            colour = "#1b9e77" if pos <= checkpoint else "#bdbdbd"
        ax.bar(pos, 1, width=0.85, color=colour, edgecolor="white")
    ax.axvline(checkpoint + 0.5, color="black", lw=2)
    ax.annotate(
        f"checkpoint {checkpoint}",
        (checkpoint + 0.5, 0.5),
        ha="right",
        va="center",
        xycoords=("data", "axes fraction"),
        fontsize=9,
        bbox={"boxstyle": "round", "facecolor": "white", "edgecolor": "black"},
    )
    ax.set_yticks([])
    ax.set_xlabel("global position (newest events)")
    behind = projector.behind()
    ax.set_title(
        f"{projector.projection.name}: green = in the read model, grey = "
        f"{behind} event(s) still to project"
    )
    return fig
