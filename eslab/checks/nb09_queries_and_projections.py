"""Self-checks for notebook 09 (queries and projections, CQRS · 이벤트 저장소 쿼리)."""

from __future__ import annotations

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


def _as_counts(answer: Any) -> dict[str, int] | None:
    if isinstance(answer, pd.DataFrame):
        if answer.shape[1] < 2:
            return None
        answer = dict(zip(answer.iloc[:, 0], answer.iloc[:, -1], strict=True))
    elif isinstance(answer, list | tuple):
        answer = dict(answer)
    if not isinstance(answer, dict):
        return None
    return {str(k): int(v) for k, v in answer.items() if int(v) != 0}


@never_raise
def exercise_1(store: Any, answer: Any) -> CheckResult:
    """Approved orders per restaurant among the orders placed on :data:`DAY`."""
    if answer is None:
        return hint(
            "Query the read model: SELECT … FROM order_history WHERE … GROUP BY "
            "restaurant_id, then turn the result into {restaurant_id: count}."
        )
    counts = _as_counts(answer)
    if counts is None:
        return hint(
            "Answer with a dict {restaurant_id: count} (or the DataFrame of a "
            "GROUP BY with the restaurant first and the count last)."
        )
    truth = approved_per_restaurant(store)
    if counts == truth:
        return passed(
            f"Right: {sum(truth.values())} approved orders in {len(truth)} "
            "restaurants — one GROUP BY on the read model, no replay needed."
        )
    if sum(counts.values()) > sum(truth.values()):
        return hint(
            "Too many orders: count only orders whose *current* state is APPROVED, "
            "and only those placed on that one day (>= the day, < the next day)."
        )
    return hint(
        "Some counts are too low: compare placed_at with the whole day, from "
        "midnight up to (not including) the next midnight, and the state with "
        "'APPROVED'."
    )


def _cancelled_ids(store: Any) -> set[str]:
    return set(
        store.sql("SELECT entity_id FROM events WHERE event_type = 'OrderCancelled'")["entity_id"]
    )


@never_raise
def exercise_2(projection_class: Any) -> CheckResult:
    """A projection of the cancelled orders: one row per cancelled order, keyed order_id."""
    from eslab.datasets import generate_orders_in_sql
    from eslab.errors import EslabError
    from eslab.projections import Projection, Projector
    from eslab.store import EventStore

    if not (isinstance(projection_class, type) and issubclass(projection_class, Projection)):
        return hint("Pass the class itself (CancelledOrders), a subclass of Projection.")
    projection = projection_class()
    store = EventStore()
    generate_orders_in_sql(store, 400, seed=9, prefix="check-order-")
    try:
        projector = Projector(store, projection)
        projector.catch_up()
        table = next(iter(projection.tables))
        rows = projector.read_model(table)
    except EslabError as exc:
        return hint(f"The projector refused your projection: {exc}")
    if "order_id" not in rows.columns:
        return hint("The read model needs an order_id column (its primary key).")
    truth = _cancelled_ids(store)
    got = set(rows["order_id"])
    if not got:
        return hint(
            "The read model stayed empty: a handler returns a list of changes "
            "(Upsert / Update / Delete) for the event type in its annotation."
        )
    if got - truth:
        return hint(
            "Orders that were never cancelled are in the read model: handle only "
            "the event that says an order was cancelled."
        )
    if got != truth or len(rows) != len(truth):
        return hint(
            "Some cancelled orders are missing or doubled: one row per order, keyed "
            "by the stream's entity_id."
        )
    again = projector.deliver(store.read_all())
    if again.skipped == 0 or len(projector.read_model(table)) != len(truth):
        return hint(
            "A redelivery changed the read model; upserts keyed by order_id are idempotent."
        )
    return passed(
        f"Right: {len(truth)} cancelled orders, and a redelivery of the whole log "
        "changed nothing (idempotent)."
    )
