"""Self-checks of notebook 09: right answers pass, wrong ones get a hint (never raise)."""

from __future__ import annotations

from datetime import datetime

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
    answer = store.sql(RIGHT_SQL)
    result = check.exercise_1(store, answer)
    assert result, str(result)
    as_dict = dict(zip(answer["restaurant_id"], answer["approved"], strict=True))
    assert check.exercise_1(store, as_dict)


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
    result = check.exercise_1(store, store.sql(wrong_sql))
    assert not result and "Hint" in str(result)


def test_exercise_1_handles_nonsense(store: EventStore) -> None:
    assert "GROUP BY" in str(check.exercise_1(store, None))
    assert not check.exercise_1(store, 42)
    assert not check.exercise_1("not a store", {"r": 1})


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
        (CancelledOrders(), "the class itself"),
        (None, "the class itself"),
    ],
)
def test_exercise_2_hints(answer: object, words: str) -> None:
    result = check.exercise_2(answer)
    assert not result and words in str(result)
