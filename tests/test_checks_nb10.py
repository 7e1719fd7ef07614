"""Self-checks of notebook 10: right answers pass, wrong ones get a hint (never raise)."""

from __future__ import annotations

import pytest

from eslab import AggregateRepository, EventStore
from eslab.checks import nb10_tradeoffs_and_deleting_data as check
from eslab.domain.order import (
    Address,
    ApproveOrder,
    ConfirmRevision,
    CreateOrder,
    LineItem,
    Money,
    Order,
    ReviseOrder,
)
from eslab.lessons.nb10_tradeoffs_and_deleting_data import (
    CustomerDirectory,
    register_demo_customers,
)
from eslab.projections import Projector
from eslab.shredding import CryptoShredder


def shop() -> tuple[EventStore, CryptoShredder, Projector]:
    store = EventStore()
    shredder = CryptoShredder(store)
    register_demo_customers(shredder)
    projector = Projector(store, CustomerDirectory(shredder))
    projector.catch_up()
    return store, shredder, projector


def test_exercise_1_passes_when_forgotten_everywhere() -> None:
    store, shredder, projector = shop()
    shredder.forget(check.FORGET)
    projector.catch_up()
    result = check.exercise_1(store)
    assert result, str(result)


def test_exercise_1_hints() -> None:
    store, shredder, projector = shop()
    assert "key is still there" in str(check.exercise_1(store))
    shredder.forget(check.FORGET)
    assert "customer_directory" in str(check.exercise_1(store))  # read model not told
    shredder.forget("customer-1")
    projector.catch_up()
    assert "forgotten too" in str(check.exercise_1(store))
    assert not check.exercise_1(None)


@pytest.fixture(scope="module")
def orders() -> EventStore:
    store = EventStore()
    repo = AggregateRepository(store, Order)
    items = [LineItem("dosa", "Dosa", 4, Money(950))]
    repo.save(CreateOrder("c-1", "r-1", items, Address("1 St", "X", "1")), entity_id="o-1")
    repo.update("o-1", ApproveOrder())
    repo.update("o-1", ReviseOrder({"dosa": 1}))
    repo.update("o-1", ConfirmRevision())
    return store


def test_exercise_2_time_machine(orders: EventStore) -> None:
    then = AggregateRepository(orders, Order).find("o-1", version=1)
    assert check.exercise_2(orders, "o-1", then.total.cents)
    assert check.exercise_2(orders, "o-1", then)  # the aggregate itself is fine too
    assert "today's total" in str(check.exercise_2(orders, "o-1", 950))
    assert "cents" in str(check.exercise_2(orders, "o-1", 38))
    assert "version 1" in str(check.exercise_2(orders, "o-1", None))
    assert not check.exercise_2(orders, "o-1", "3800")
    assert not check.exercise_2(orders, "nope", 3800)


def test_exercise_1_accepts_the_customer_the_notebook_forgot_first() -> None:
    store, shredder, projector = shop()
    for customer_id in sorted(check.FORGOTTEN_IN_THE_NOTEBOOK) + [check.FORGET]:
        shredder.forget(customer_id)
    projector.catch_up()
    assert check.exercise_1(store)
