"""Self-checks for notebook 09 (queries and projections, CQRS · 이벤트 저장소 쿼리)."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd

from eslab.checks import CheckResult, hint, never_raise, passed

DAY = date(2024, 3, 7)
"""Exercise 1 asks about the orders placed on this day."""


def approved_per_restaurant(store: Any, day: date = DAY) -> dict[str, int]:
    """The truth for exercise 1, by replaying every order placed on ``day`` (no read model)."""
    from eslab.aggregate import AggregateRepository
    from eslab.domain.order import Order, OrderState

    start = datetime(day.year, day.month, day.day)
    ids = store.sql(
        "SELECT entity_id FROM events WHERE entity_type = 'Order' AND event_type = "
        "'OrderCreated' AND created_at >= $a AND created_at < $b",
        {"a": start, "b": start + timedelta(days=1)},
    )["entity_id"]
    repo = AggregateRepository(store, Order)
    counts: dict[str, int] = {}
    for order_id in ids:
        order = repo.find(order_id)
        if order.state == OrderState.APPROVED:
            counts[order.restaurant_id] = counts.get(order.restaurant_id, 0) + 1
    return counts


def _as_counts(answer: Any) -> dict[str, int] | str:
    """``{restaurant_id: count}`` from a query result, or a hint saying what is off."""
    if not isinstance(answer, pd.DataFrame) or answer.shape[1] < 2:
        return (
            "The query should return two columns: the restaurant first, the count last "
            "(SELECT restaurant_id, count(*) … GROUP BY restaurant_id)."
        )
    keys, values = answer.iloc[:, 0], answer.iloc[:, -1]
    if pd.api.types.is_numeric_dtype(keys) and not pd.api.types.is_numeric_dtype(values):
        return (
            "Your columns are the other way round: put restaurant_id first and the "
            "count last (SELECT restaurant_id, count(*) AS approved …)."
        )
    if pd.api.types.is_bool_dtype(values) or not pd.api.types.is_integer_dtype(values):
        return "The last column must be a whole number of orders: count(*), not a flag or a sum."
    return {str(k): int(v) for k, v in zip(keys, values, strict=True) if int(v) != 0}


def _reads_events(query: str) -> bool:
    return re.search(r"\bevents\b", query, re.IGNORECASE) is not None


def _second_store() -> Any:
    """Other orders (another seed, other restaurants), projected: a query gives the right
    answer on them too, a number copied into the query does not."""
    from eslab.datasets import generate_orders_in_sql
    from eslab.lessons.nb09_queries_and_projections import OrderHistory
    from eslab.projections import Projector
    from eslab.store import EventStore

    other = EventStore()
    generate_orders_in_sql(other, 400, seed=77, start=datetime(2024, 3, 5), days=4, restaurants=5)
    Projector(other, OrderHistory()).catch_up()
    return other


def _run_query(store: Any, query: str) -> pd.DataFrame:
    return store.sql(query, {"day": DAY}) if "$day" in query else store.sql(query)


@never_raise
def exercise_1(store: Any, query: Any) -> CheckResult:
    """Approved orders per restaurant among the orders placed on :data:`DAY`, asked of the
    read model ``order_history`` with one SQL query (a str, ``$day`` may stand for the day).
    The check runs the query on ``store`` and on a second store of other orders."""
    if query is None:
        return hint(
            "Write the query as a string: SELECT … FROM order_history WHERE … GROUP BY "
            "restaurant_id (the check runs it)."
        )
    if not isinstance(query, str):
        return hint(
            "Hand in the SQL text itself (a str), not its result or a number: the check "
            "runs your query on this store and on another one."
        )
    if _reads_events(query) or "order_history" not in query.lower():
        return hint(
            "Ask the read model, not the log: the query should read order_history only. "
            "(The events table needs a replay in SQL — the difficulty CQRS removes.)"
        )
    for where, target in (("", store), ("On a second store of other orders: ", None)):
        target = target if target is not None else _second_store()
        try:
            counts = _as_counts(_run_query(target, query))
        except Exception as exc:  # the learner's SQL: report it
            return hint(f"Your query failed: {exc}")
        if isinstance(counts, str):
            return hint(counts)
        truth = approved_per_restaurant(target)
        if counts == truth:
            continue
        if sum(counts.values()) > sum(truth.values()):
            return hint(
                where + "Too many orders: count only orders whose *current* state is "
                "APPROVED, and only those placed on that one day (>= the day, < the next day)."
            )
        return hint(
            where + "Some counts are too low (or fixed in the query): compare placed_at with "
            "the whole day, from midnight up to (not including) the next midnight, and the "
            "state with 'APPROVED'."
        )
    return passed(
        "Right, on this store and on a second one — one GROUP BY on the read model, no "
        "replay needed."
    )


def _cancellations(store: Any) -> dict[str, Any]:
    """``{order id: the time its OrderCancelled event was stored}``."""
    rows = store.sql("SELECT entity_id, created_at FROM events WHERE event_type = 'OrderCancelled'")
    return {str(k): pd.Timestamp(t) for k, t in zip(rows.entity_id, rows.created_at, strict=True)}


@never_raise
def exercise_2(projection_class: Any) -> CheckResult:
    """A projection of the cancelled orders: one row per cancelled order, keyed by order_id,
    with the time of its cancellation. The check also runs every handler a second time over
    the finished read model (checkpoint lost), so the handler itself must be idempotent."""
    from eslab.datasets import generate_orders_in_sql
    from eslab.errors import EslabError
    from eslab.projections import Projection, Projector
    from eslab.store import EventStore

    if not (isinstance(projection_class, type) and issubclass(projection_class, Projection)):
        return hint("Pass the class itself (CancelledOrders), a subclass of Projection.")
    store = EventStore()
    generate_orders_in_sql(store, 400, seed=9, prefix="check-order-")
    try:
        projector = Projector(store, projection_class())
        projector.catch_up()
        table = next(iter(projector.projection.tables))
        rows = projector.read_model(table)
    except EslabError as exc:
        return hint(f"The projector refused your projection: {exc}")
    if "order_id" not in rows.columns or "cancelled_at" not in rows.columns:
        return hint("The read model needs the columns order_id (its key) and cancelled_at.")
    truth = _cancellations(store)
    event_ids = set(store.sql("SELECT event_id FROM events")["event_id"])
    got = [str(v) for v in rows["order_id"]]
    if not got:
        return hint(
            "The read model stayed empty: a handler returns a list of changes "
            "(Upsert / Update / Delete) for the event type in its annotation."
        )
    if set(got) & event_ids:
        return hint(
            "Your rows are keyed by the event's id: key them by the order — the stream's "
            "entity_id (stored.entity_id) — so that one order is one row."
        )
    if set(got) - set(truth):
        return hint(
            "Orders that were never cancelled are in the read model: handle only "
            "the event that says an order was cancelled."
        )
    if set(got) != set(truth) or len(got) != len(truth):
        return hint(
            "Some cancelled orders are missing or doubled: one row per order, keyed "
            "by the stream's entity_id."
        )
    times = {str(k): t for k, t in zip(rows["order_id"], rows["cancelled_at"], strict=True)}
    if any(pd.isna(t) or pd.Timestamp(t) != truth[k] for k, t in times.items()):
        return hint(
            "cancelled_at must say when the order was cancelled: the time stored with the "
            "OrderCancelled event (stored.created_at) — not None, not the time the projector "
            "ran, not a counter."
        )
    before = projector.read_model(table, order_by="order_id")
    store.save_checkpoint(projector.checkpoint_name, 0)  # the checkpoint is lost: all again
    try:
        Projector(store, projection_class()).catch_up()
    except EslabError as exc:
        return hint(
            "Running your handler a second time for the same event failed — a redelivery "
            f"would crash the projector: {exc} Write the change so that applying it twice "
            "leaves the same row (an Upsert keyed by order_id)."
        )
    if not projector.read_model(table, order_by="order_id").equals(before):
        return hint(
            "Handling the same events a second time changed the read model. Make the change "
            "idempotent: the same event must leave the same row (an Upsert keyed by order_id)."
        )
    return passed(
        f"Right: {len(truth)} cancelled orders with the time of their cancellation, and "
        "running every handler a second time changed nothing (the handler is idempotent, "
        "not only the checkpoint)."
    )
