"""Snapshots: a load from a snapshot equals a full replay; stale snapshots are never used
as they are (upcast or ignored); value objects survive; the policy every N / on demand."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from eslab import AggregateRepository, EventStore, FixedClock, SnapshotError, datasets
from eslab import snapshots as snapshots_module
from eslab.domain import bank
from eslab.domain.bank import (
    AccountOpened,
    Deposit,
    MoneyDeposited,
    MoneyWithdrawn,
    OpenAccount,
    Withdraw,
)
from eslab.domain.order import (
    Address,
    ApproveOrder,
    ConfirmRevision,
    CreateOrder,
    LineItem,
    Money,
    Order,
    OrderState,
    ReviseOrder,
)
from eslab.snapshots import (
    SnapshotStrategy,
    SnapshotUse,
    restore_snapshot,
    snapshot_upcaster,
    take_snapshot,
)
from tests.conftest import StoreFactory


@pytest.fixture
def store(store_factory: StoreFactory) -> EventStore:
    """A store on each engine (DuckDB, PostgreSQL)."""
    return store_factory(clock=FixedClock())


@pytest.fixture(autouse=True)
def fresh_snapshot_upcasters() -> Iterator[None]:
    with snapshots_module.preserved():
        yield


@dataclass
class BankAccount(bank.BankAccount):
    """Newer code for the same aggregate: the balance is kept in cents (class version 2)."""

    class_version = 2

    def apply_opened(self, event: AccountOpened) -> None:
        self.owner, self.balance = event.owner, event.initial_deposit * 100

    def apply_deposited(self, event: MoneyDeposited) -> None:
        self.balance += event.amount * 100

    def apply_withdrawn(self, event: MoneyWithdrawn) -> None:
        self.balance -= event.amount * 100


def _account(store: EventStore, strategy: SnapshotStrategy, updates: int) -> None:
    repo = AggregateRepository(store, bank.BankAccount, snapshots=strategy)
    repo.save(OpenAccount("Ada", 50), entity_id="acc")
    for i in range(updates):
        repo.update("acc", Deposit(i + 1) if i % 4 else Withdraw(3))


def test_load_with_snapshots_equals_load_without_at_every_version(store: EventStore) -> None:
    _account(store, SnapshotStrategy(every=5), updates=37)
    plain = AggregateRepository(store, bank.BankAccount)
    snapping = AggregateRepository(store, bank.BankAccount, snapshots=SnapshotStrategy(every=5))
    for version in range(1, 39):
        fast, slow = snapping.find("acc", version=version), plain.find("acc", version=version)
        assert fast == slow and fast.version == slow.version == version
        assert snapping.last_events_read == version - (version // 5) * 5
        assert plain.last_events_read == version


def test_every_n_takes_a_snapshot_when_an_update_crosses_a_multiple(store: EventStore) -> None:
    _account(store, SnapshotStrategy(every=5), updates=16)
    versions = store.sql("SELECT entity_version FROM snapshots ORDER BY 1").entity_version
    assert versions.tolist() == [5, 10, 15]
    row = store.latest_snapshot("BankAccount", "acc")
    assert row["snapshot_type"] == "BankAccount" and row["snapshot_version"] == 1


def test_on_demand_only_when_every_is_none(store: EventStore) -> None:
    strategy = SnapshotStrategy(every=None)
    _account(store, strategy, updates=12)
    assert store.latest_snapshot("BankAccount", "acc") is None
    repo = AggregateRepository(store, bank.BankAccount, snapshots=strategy)
    strategy.take(repo, repo.find("acc"))
    assert store.latest_snapshot("BankAccount", "acc")["entity_version"] == 13
    assert repo.find("acc") == AggregateRepository(store, bank.BankAccount).find("acc")
    assert repo.last_events_read == 0 and strategy.last.outcome == "used"


def test_order_snapshot_round_trips_value_objects(store: EventStore) -> None:
    strategy = SnapshotStrategy(every=2)
    orders = AggregateRepository(store, Order, snapshots=strategy)
    items = [
        LineItem("aj-01", "Chicken Vindaloo", 2, Money(1295, "USD")),
        LineItem("aj-04", "Garlic Naan", 1, Money(395, "USD")),
    ]
    orders.save(
        CreateOrder("c-1", "rest-ajanta", items, Address("12 Oak St", "Oakland", "94611")),
        entity_id="o1",
    )
    orders.update("o1", ApproveOrder())
    orders.update("o1", ReviseOrder({"aj-01": 3}))
    orders.update("o1", ConfirmRevision())
    fast = orders.find("o1")
    assert strategy.last == SnapshotUse("used", 4, 1, 1) and orders.last_events_read == 0
    assert fast == AggregateRepository(store, Order).find("o1")
    assert fast.state is OrderState.APPROVED
    assert isinstance(fast.total, Money) and fast.total == Money(3885 + 395, "USD")
    assert isinstance(fast.delivery_address, Address)
    assert all(isinstance(i, LineItem) and isinstance(i.price, Money) for i in fast.line_items)


def test_take_refuses_an_unsaved_aggregate(store: EventStore) -> None:
    repo = AggregateRepository(store, bank.BankAccount)
    with pytest.raises(SnapshotError, match="stored aggregate"):
        SnapshotStrategy().take(repo, bank.BankAccount())


@pytest.mark.parametrize("every", [0, -1, True, 2.5])
def test_every_must_be_a_positive_int(every: object) -> None:
    with pytest.raises(ValueError, match="every"):
        SnapshotStrategy(every=every)  # type: ignore[arg-type]


# -- stale snapshots ------------------------------------------------------------------------


def _stale_setup(store: EventStore) -> None:
    """A v1 snapshot at version 20 (balance in euros), then 3 more events."""
    _account(store, SnapshotStrategy(every=20), updates=22)
    assert store.latest_snapshot("BankAccount", "acc")["snapshot_version"] == 1


def test_naive_restore_of_a_stale_snapshot_is_silently_wrong(store: EventStore) -> None:
    _stale_setup(store)
    row = store.latest_snapshot("BankAccount", "acc")
    naive = restore_snapshot(BankAccount, row["snapshot_json"])
    truth = AggregateRepository(store, BankAccount).find("acc", version=20)
    assert naive.balance * 100 == truth.balance  # euros read as cents: 100 × too small


def test_a_stale_snapshot_without_upcaster_is_ignored_and_events_replayed(
    store: EventStore,
) -> None:
    _stale_setup(store)
    strategy = SnapshotStrategy(every=20)
    repo = AggregateRepository(store, BankAccount, snapshots=strategy)
    account = repo.find("acc")
    assert account == AggregateRepository(store, BankAccount).find("acc")
    assert repo.last_events_read == 23
    assert strategy.ignored == 1 and strategy.last.outcome == "ignored"
    assert "stale" in str(strategy.last) and "class v1, code is v2" in str(strategy.last)


def test_a_stale_snapshot_with_an_upcaster_is_upcast_and_used(store: EventStore) -> None:
    _stale_setup(store)

    @snapshot_upcaster("BankAccount", from_version=1)
    def balance_in_cents(data: dict) -> dict:
        return {**data, "balance": data["balance"] * 100}

    strategy = SnapshotStrategy(every=20)
    repo = AggregateRepository(store, BankAccount, snapshots=strategy)
    account = repo.find("acc")
    assert account == AggregateRepository(store, BankAccount).find("acc")
    assert repo.last_events_read == 3
    assert strategy.upcast == 1 and strategy.last == SnapshotUse("upcast", 20, 1, 2)
    assert snapshots_module.snapshot_upcasters("BankAccount") == [("BankAccount", 1)]


def test_a_snapshot_from_newer_code_is_ignored(store: EventStore) -> None:
    _account(store, SnapshotStrategy(every=None), updates=4)
    store.save_snapshot(
        "BankAccount", "acc", 3, "BankAccount", '{"owner": "x", "balance": 1}', snapshot_version=9
    )
    strategy = SnapshotStrategy()
    account = AggregateRepository(store, bank.BankAccount, snapshots=strategy).find("acc")
    assert account == AggregateRepository(store, bank.BankAccount).find("acc")
    assert strategy.last.outcome == "ignored"


def test_a_snapshot_of_another_class_is_ignored(store: EventStore) -> None:
    _account(store, SnapshotStrategy(every=None), updates=4)
    store.save_snapshot("BankAccount", "acc", 3, "SavingsAccount", '{"rate": 1}')
    strategy = SnapshotStrategy()
    AggregateRepository(store, bank.BankAccount, snapshots=strategy).find("acc")
    assert strategy.last.outcome == "ignored" and strategy.ignored == 1


def test_a_snapshot_whose_values_do_not_fit_its_class_is_an_error(store: EventStore) -> None:
    _account(store, SnapshotStrategy(every=None), updates=4)
    store.save_snapshot("BankAccount", "acc", 3, "BankAccount", '{"owner": 1, "balance": "x"}')
    repo = AggregateRepository(store, bank.BankAccount, snapshots=SnapshotStrategy())
    with pytest.raises(SnapshotError, match="Bump BankAccount.class_version"):
        repo.find("acc")


def test_find_back_in_time_uses_an_older_snapshot(store: EventStore) -> None:
    _account(store, SnapshotStrategy(every=10), updates=29)
    strategy = SnapshotStrategy(every=10)
    repo = AggregateRepository(store, bank.BankAccount, snapshots=strategy)
    past = repo.find("acc", version=14)
    assert strategy.last.entity_version == 10 and repo.last_events_read == 4
    assert past == AggregateRepository(store, bank.BankAccount).find("acc", version=14)


def test_snapshot_json_is_the_dataclass_fields() -> None:
    account = bank.BankAccount(owner="Ada", balance=7)
    assert take_snapshot(account) == '{"owner":"Ada","balance":7}'


def test_long_stream_loads_the_same_from_a_snapshot(store: EventStore) -> None:
    datasets.long_stream(store, "long", 5_003)
    plain = AggregateRepository(store, bank.BankAccount)
    strategy = SnapshotStrategy(every=1_000)
    snapping = AggregateRepository(store, bank.BankAccount, snapshots=strategy)
    strategy.take(snapping, plain.find("long", version=5_000))
    assert snapping.find("long") == plain.find("long")
    assert snapping.last_events_read == 3 and plain.last_events_read == 5_003
