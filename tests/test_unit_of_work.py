"""UnitOfWork.discard_appends: a refused command still records its message (and reply)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from eslab import EventStore, FixedClock, SeededIds
from eslab.domain.bank import MoneyDeposited
from tests.conftest import StoreFactory

MakeStore = Callable[[], EventStore]


@pytest.fixture
def make_store(store_factory: StoreFactory) -> MakeStore:
    """A store on this test's engine with a ``replies`` table of the test's own."""

    def make() -> EventStore:
        store = store_factory(clock=FixedClock(), id_factory=SeededIds(0))
        store.sql("CREATE TABLE replies (message_id VARCHAR, outcome VARCHAR)")
        return store

    return make


def test_discard_appends_drops_events_but_keeps_the_processed_row_and_statements(
    make_store: MakeStore,
) -> None:
    store = make_store()
    with store.unit_of_work() as uow:
        uow.record_processed("billing", "m-1")
        uow.append("BankAccount", "acc-1", [MoneyDeposited(10)], 0)
        uow.save_snapshot(
            entity_type="BankAccount",
            entity_id="acc-1",
            entity_version=1,
            snapshot_type="BankAccount",
            snapshot_json="{}",
        )
        uow.execute("INSERT INTO replies VALUES ($m, $o)", {"m": "m-1", "o": "FAILURE"})
        uow.discard_appends()  # the command was refused: no business events
        assert uow.appends == [] and uow.pending_version("BankAccount", "acc-1") is None
    assert store.read_all() == []
    assert store.latest_snapshot("BankAccount", "acc-1") is None  # it described dropped events
    assert store.was_processed("billing", "m-1")
    assert store.sql("SELECT * FROM replies").to_dict("records") == [
        {"message_id": "m-1", "outcome": "FAILURE"}
    ]


def test_appends_queued_after_discarding_are_written(make_store: MakeStore) -> None:
    store = make_store()
    with store.unit_of_work() as uow:
        uow.record_processed("billing", "m-2")
        uow.append("BankAccount", "acc-1", [MoneyDeposited(10)], 0)
        uow.discard_appends()
        uow.append("Reply", "saga-1", [MoneyDeposited(0)], 0)  # e.g. the failure reply
    assert [(e.entity_type, e.entity_id) for e in store.read_all()] == [("Reply", "saga-1")]
    assert store.head("BankAccount", "acc-1") == 0
    assert store.was_processed("billing", "m-2")
