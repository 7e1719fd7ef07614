"""Self-checks of notebook 09: right answers pass, wrong ones get a hint (never raise)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from eslab import EventStore
from eslab.checks import nb09_queries_and_projections as check
from eslab.datasets import generate_orders_in_sql
from eslab.domain.order import OrderCancelled, OrderCreated
from eslab.events import StoredEvent
from eslab.lessons.nb09_queries_and_projections import OrderHistory
from eslab.projections import Projection, Projector, Upsert

RIGHT_SQL = """
SELECT restaurant_id, count(*) AS approved FROM order_history
WHERE state = 'APPROVED' AND placed_at >= DATE '2024-03-07'
  AND placed_at < DATE '2024-03-07' + INTERVAL 1 DAY
GROUP BY restaurant_id ORDER BY restaurant_id
"""


@pytest.fixture(scope="module")
def store() -> EventStore:
    s = EventStore()
    generate_orders_in_sql(s, 600, seed=2, start=datetime(2024, 3, 5), days=4, restaurants=8)
    Projector(s, OrderHistory()).catch_up()
    return s


def test_exercise_1_passes_a_read_model_query(store: EventStore) -> None:
    result = check.exercise_1(store, RIGHT_SQL)
    assert result, str(result)
    with_parameter = RIGHT_SQL.replace("DATE '2024-03-07'", "$day")
    assert check.exercise_1(store, with_parameter)


@pytest.mark.parametrize(
    "wrong_sql",
    [
        RIGHT_SQL.replace("state = 'APPROVED' AND ", ""),  # every state
        RIGHT_SQL.replace("INTERVAL 1 DAY", "INTERVAL 2 DAY"),  # two days
        RIGHT_SQL.replace(
            "placed_at >= DATE '2024-03-07'", "placed_at > DATE '2024-03-07' + INTERVAL 12 HOUR"
        ),  # half a day
    ],
)
def test_exercise_1_hints_at_wrong_queries(store: EventStore, wrong_sql: str) -> None:
    result = check.exercise_1(store, wrong_sql)
    assert not result and "Hint" in str(result)


def test_exercise_1_rejects_an_answer_from_the_events_table(store: EventStore) -> None:
    from eslab.lessons.nb09_queries_and_projections import CURRENT_ORDERS_SQL

    from_events = (
        f"SELECT restaurant_id, count(*) AS n FROM ({CURRENT_ORDERS_SQL}) "
        "WHERE state = 'APPROVED' AND placed_at::DATE = DATE '2024-03-07' GROUP BY ALL"
    )
    result = check.exercise_1(store, from_events)
    assert not result and "read model, not the log" in str(result)


def test_exercise_1_rejects_hard_coded_and_wrong_shapes(store: EventStore) -> None:
    truth = check.approved_per_restaurant(store)
    values = " UNION ALL ".join(f"SELECT '{k}' AS r, {v} AS n" for k, v in truth.items())
    hard_coded = f"SELECT * FROM ({values}) WHERE 1 = 1 OR 'order_history' = ''"
    result = check.exercise_1(store, hard_coded)
    assert not result and "second store" in str(result)
    count_first = RIGHT_SQL.replace(
        "restaurant_id, count(*) AS approved", "count(*), restaurant_id"
    )
    assert "other way round" in str(check.exercise_1(store, count_first))
    as_flag = RIGHT_SQL.replace("count(*) AS approved", "count(*) > 0 AS approved")
    assert "whole number" in str(check.exercise_1(store, as_flag))
    assert "SQL text" in str(check.exercise_1(store, store.sql(RIGHT_SQL)))
    assert "SQL text" in str(check.exercise_1(store, 42))
    assert "SQL text" in str(check.exercise_1(store, True))


def test_exercise_1_handles_nonsense(store: EventStore) -> None:
    assert "GROUP BY" in str(check.exercise_1(store, None))
    assert "failed" in str(check.exercise_1(store, "SELECT nope FROM order_history"))
    assert not check.exercise_1("not a store", RIGHT_SQL)


class CancelledOrders(Projection):
    name = "cancelled_orders"
    tables = {"cancelled_orders": "order_id VARCHAR PRIMARY KEY, cancelled_at TIMESTAMP"}

    def on_cancelled(self, event: OrderCancelled, stored: StoredEvent) -> list:
        return [
            Upsert(
                "cancelled_orders",
                {"order_id": stored.entity_id},
                {"cancelled_at": stored.created_at},
            )
        ]


class EmptyHandler(CancelledOrders):
    def on_cancelled(self, event: OrderCancelled, stored: StoredEvent) -> list:
        return []


class EveryOrder(CancelledOrders):
    def on_created(self, event: OrderCreated, stored: StoredEvent) -> list:
        return [Upsert("cancelled_orders", {"order_id": stored.entity_id}, {})]


class CountsDeliveries(CancelledOrders):
    """Counts how often it saw each order in the handler's memory: not idempotent."""

    tables = {
        "cancelled_orders": "order_id VARCHAR PRIMARY KEY, cancelled_at TIMESTAMP, seen INTEGER"
    }
    seen: dict[str, int] = {}

    def on_cancelled(self, event: OrderCancelled, stored: StoredEvent) -> list:
        n = self.seen[stored.entity_id] = self.seen.get(stored.entity_id, 0) + 1
        values = {"cancelled_at": stored.created_at, "seen": n}
        return [Upsert("cancelled_orders", {"order_id": stored.entity_id}, values)]


class KeyedByEventId(CancelledOrders):
    def on_cancelled(self, event: OrderCancelled, stored: StoredEvent) -> list:
        return [
            Upsert(
                "cancelled_orders",
                {"order_id": stored.event_id},
                {"cancelled_at": stored.created_at},
            )
        ]


class NoTime(CancelledOrders):
    def on_cancelled(self, event: OrderCancelled, stored: StoredEvent) -> list:
        return [Upsert("cancelled_orders", {"order_id": stored.entity_id}, {"cancelled_at": None})]


class ProjectorsClock(CancelledOrders):
    def on_cancelled(self, event: OrderCancelled, stored: StoredEvent) -> list:
        now = datetime.now()
        return [Upsert("cancelled_orders", {"order_id": stored.entity_id}, {"cancelled_at": now})]


class Counter(CancelledOrders):
    calls = 0

    def on_cancelled(self, event: OrderCancelled, stored: StoredEvent) -> list:
        Counter.calls += 1
        at = datetime(2024, 1, 1) + timedelta(minutes=Counter.calls)
        return [Upsert("cancelled_orders", {"order_id": stored.entity_id}, {"cancelled_at": at})]


class WrongTable(CancelledOrders):
    def on_cancelled(self, event: OrderCancelled, stored: StoredEvent) -> list:
        return [Upsert("orders", {"order_id": stored.entity_id}, {})]


def test_exercise_2_passes_the_projection() -> None:
    result = check.exercise_2(CancelledOrders)
    assert result and "idempotent" in str(result)


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (EmptyHandler, "stayed empty"),
        (EveryOrder, "never cancelled"),
        (WrongTable, "refused"),
        (KeyedByEventId, "keyed by the event's id"),
        (NoTime, "cancelled_at must say when"),
        (ProjectorsClock, "cancelled_at must say when"),
        (Counter, "cancelled_at must say when"),
        (CancelledOrders(), "the class itself"),
        (None, "the class itself"),
    ],
)
def test_exercise_2_hints(answer: object, words: str) -> None:
    result = check.exercise_2(answer)
    assert not result and words in str(result)


def test_exercise_2_runs_the_handler_twice_for_real() -> None:
    """The checkpoint alone no longer hides a handler that cannot take an event twice."""
    result = check.exercise_2(CountsDeliveries)
    assert not result and "second time" in str(result)
