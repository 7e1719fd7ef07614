"""Aggregates (process/apply), the repository, retries, time travel and snapshots."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

import eslab
from eslab import AggregateRepository, EventStore
from eslab.domain.bank import BankAccount, Deposit, MoneyDeposited, OpenAccount, Withdraw
from eslab.domain.order import (
    Address,
    ApproveOrder,
    CancelOrder,
    ConfirmRevision,
    CreateOrder,
    LineItem,
    Money,
    Order,
    OrderState,
    RejectOrder,
    ReviseOrder,
)
from eslab.snapshots import SnapshotStrategy
from tests.conftest import StoreFactory

PIZZA = LineItem("m1", "Margherita", 2, Money(1250))
HOME = Address("1 Main St", "Springfield", "12345")


@pytest.fixture
def store(store_factory: StoreFactory) -> EventStore:
    """A store on each engine (DuckDB, PostgreSQL)."""
    return store_factory(clock=eslab.FixedClock())


def test_replay_is_default_constructor_then_apply_each_event() -> None:
    events = BankAccount().process(OpenAccount("ann", 10))
    account = BankAccount.replay([*events, MoneyDeposited(5), MoneyDeposited(7)])
    assert account == BankAccount(owner="ann", balance=22)


def test_process_does_not_change_state() -> None:
    account = BankAccount.replay(BankAccount().process(OpenAccount("ann", 10)))
    account.process(Deposit(5))
    assert account.balance == 10


def test_unknown_command_names_the_method_to_add() -> None:
    @dataclass(frozen=True)
    class Freeze:
        pass

    with pytest.raises(eslab.UnknownCommandError, match="def process_freeze"):
        BankAccount().process(Freeze())


def test_repository_save_update_find(store: EventStore) -> None:
    repo = AggregateRepository(store, BankAccount)
    created = repo.save(OpenAccount("ann", 10), entity_id="a")
    assert (created.id, created.version, created.balance) == ("a", 1, 10)
    updated = repo.update("a", Deposit(5))
    assert (updated.version, updated.balance) == (2, 15)
    assert repo.find("a") == updated and repo.find("a").version == 2


def test_refused_command_writes_nothing(store: EventStore) -> None:
    repo = AggregateRepository(store, BankAccount)
    repo.save(OpenAccount("ann", 10), entity_id="a")
    with pytest.raises(eslab.CommandRejectedError, match="balance is 10"):
        repo.update("a", Withdraw(50))
    assert store.head("BankAccount", "a") == 1


def test_find_missing_aggregate(store: EventStore) -> None:
    with pytest.raises(eslab.EntityNotFoundError, match="No BankAccount"):
        AggregateRepository(store, BankAccount).find("ghost")


def test_time_travel_by_version_and_time(store: EventStore) -> None:
    repo = AggregateRepository(store, BankAccount)
    repo.save(OpenAccount("ann", 10), entity_id="a")
    repo.update("a", Deposit(5))
    repo.update("a", Deposit(7))
    assert repo.find("a", version=2).balance == 15
    assert repo.find("a", version=2).version == 2
    second = store.load("BankAccount", "a")[1].created_at
    assert repo.find("a", as_of=second).balance == 15


class RacyStore(EventStore):
    """A store where another writer sneaks in a deposit before the first N appends."""

    def __init__(self, sneaks: int) -> None:
        super().__init__()
        self.sneaks = sneaks

    def append(self, entity_type, entity_id, events, expected_version, **kw):  # type: ignore[no-untyped-def]
        if self.sneaks and expected_version > 0:
            self.sneaks -= 1
            super().append(entity_type, entity_id, [MoneyDeposited(100)], expected_version)
        return super().append(entity_type, entity_id, events, expected_version, **kw)


def test_update_without_retries_raises_on_conflict() -> None:
    store = RacyStore(sneaks=0)
    repo = AggregateRepository(store, BankAccount)
    repo.save(OpenAccount("ann", 10), entity_id="a")
    store.sneaks = 1
    with pytest.raises(eslab.ConcurrencyError):
        repo.update("a", Deposit(1))
    assert repo.find("a").balance == 110  # the other writer's change survived


def test_update_retries_with_a_fresh_load_and_counts_them() -> None:
    store = RacyStore(sneaks=0)
    repo = AggregateRepository(store, BankAccount, retries=3)
    repo.save(OpenAccount("ann", 10), entity_id="a")
    store.sneaks = 2
    account = repo.update("a", Deposit(1))
    assert repo.last_retries == 2 and repo.total_conflicts == 2
    assert account.balance == 211 and account.version == 4


def test_retries_are_bounded() -> None:
    store = RacyStore(sneaks=0)
    repo = AggregateRepository(store, BankAccount, retries=2)
    repo.save(OpenAccount("ann", 10), entity_id="a")
    store.sneaks = 5
    with pytest.raises(eslab.ConcurrencyError):
        repo.update("a", Deposit(1))
    assert repo.last_retries == 2


def test_order_lifecycle_and_refusals(store: EventStore) -> None:
    repo = AggregateRepository(store, Order)
    order = repo.save(CreateOrder("c1", "r1", [PIZZA], HOME), entity_id="o1")
    assert order.state is OrderState.APPROVAL_PENDING and order.total == Money(2500)
    with pytest.raises(eslab.CommandRejectedError, match="APPROVAL_PENDING"):
        repo.update("o1", CancelOrder())
    repo.update("o1", ApproveOrder())
    revised = repo.update("o1", ReviseOrder({"m1": 3}))
    assert revised.state is OrderState.REVISION_PENDING
    done = repo.update("o1", ConfirmRevision())
    assert done.total == Money(3750) and done.state is OrderState.APPROVED
    assert repo.find("o1") == done
    with pytest.raises(eslab.CommandRejectedError):
        repo.update("o1", RejectOrder("late"))


def test_unit_of_work_sees_its_own_pending_events(store: EventStore) -> None:
    repo = AggregateRepository(store, BankAccount)
    repo.save(OpenAccount("ann", 0), entity_id="a")
    with store.unit_of_work() as uow:
        for _ in range(5):
            repo.update("a", Deposit(2), uow=uow)
    assert repo.find("a").balance == 10 and repo.find("a").version == 6


def test_snapshot_load_equals_replay_and_reads_fewer_events(store: EventStore) -> None:
    plain = AggregateRepository(store, Order)
    snapping = AggregateRepository(store, Order, snapshots=SnapshotStrategy(every=2))
    snapping.save(CreateOrder("c1", "r1", [PIZZA], HOME), entity_id="o1")
    snapping.update("o1", ApproveOrder())
    snapping.update("o1", ReviseOrder({"m1": 1}))
    assert snapping.find("o1") == plain.find("o1")
    assert snapping.last_events_read == 1
    assert isinstance(snapping.find("o1").line_items[0].price, Money)


def test_replay_skips_pseudo_events_without_an_apply_method() -> None:
    @dataclass(frozen=True)
    class Noted(eslab.Event):
        pseudo = True
        note: str

    events = [*BankAccount().process(OpenAccount("ann", 10)), Noted("handled"), MoneyDeposited(5)]
    assert BankAccount.replay(events).balance == 15
