"""Stale snapshots (fields changed without bumping class_version) and upcasters per class."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from eslab import AggregateRepository, EventStore, FixedClock
from eslab import snapshots as snapshots_module
from eslab.domain import bank
from eslab.domain.bank import AccountOpened, Deposit, MoneyDeposited, OpenAccount
from eslab.errors import StaleSnapshotWarning
from eslab.snapshots import SnapshotStrategy, SnapshotUse, snapshot_upcaster


@pytest.fixture(autouse=True)
def fresh_snapshot_upcasters() -> Iterator[None]:
    with snapshots_module.preserved():
        yield


@pytest.fixture
def store() -> Iterator[EventStore]:
    """Account 'acc' with 13 events and a v1 snapshot of today's BankAccount at version 10."""
    with EventStore(clock=FixedClock()) as s:
        repo = AggregateRepository(s, bank.BankAccount, snapshots=SnapshotStrategy(every=10))
        repo.save(OpenAccount("Ada", 1), entity_id="acc")
        for amount in range(12):
            repo.update("acc", Deposit(amount + 1))
        yield s


@dataclass
class CountingAccount(bank.BankAccount):
    """Newer code that counts deposits — a field added WITHOUT bumping class_version."""

    deposits: int = 0

    def apply_deposited(self, event: MoneyDeposited) -> None:
        super().apply_deposited(event)
        self.deposits += 1


CountingAccount.__name__ = "BankAccount"  # the same aggregate, in newer code


def test_a_snapshot_missing_a_new_field_is_stale_replayed_and_said_once(
    store: EventStore,
) -> None:
    strategy = SnapshotStrategy(every=10)
    repo = AggregateRepository(
        store, CountingAccount, entity_type="BankAccount", snapshots=strategy
    )
    with pytest.warns(StaleSnapshotWarning) as caught:
        account = repo.find("acc")
        repo.find("acc")
    assert account.deposits == 12 and repo.last_events_read == 13  # not 0 from the snapshot
    assert len(caught) == 1
    message = str(caught[0].message)
    assert "BankAccount" in message and "class adds deposits" in message
    assert "bump bankaccount.class_version or register a snapshot upcaster" in message.lower()
    assert strategy.last == SnapshotUse("stale", 10, 1, 1, ("deposits",), ())
    assert strategy.stale == 2 and strategy.ignored == 2
    assert "class adds deposits" in str(strategy.last)


def test_a_snapshot_with_a_removed_field_is_stale_too(store: EventStore) -> None:
    @dataclass
    class Account(bank.BankAccount):
        pass

    Account.__name__ = "BankAccount"
    store.save_snapshot(
        "BankAccount", "acc", 12, "BankAccount", '{"owner": "Ada", "balance": 5, "fee": 1}'
    )
    strategy = SnapshotStrategy(every=10)
    repo = AggregateRepository(store, Account, entity_type="BankAccount", snapshots=strategy)
    with pytest.warns(StaleSnapshotWarning, match="class drops fee"):
        account = repo.find("acc")
    truth = AggregateRepository(store, bank.BankAccount).find("acc")
    assert (account.balance, repo.last_events_read) == (truth.balance, 13)


def test_an_upcaster_that_adds_the_field_makes_the_snapshot_usable(store: EventStore) -> None:
    @dataclass
    class Account(CountingAccount):
        class_version = 2

    Account.__name__ = "BankAccount"
    seen = []

    @snapshot_upcaster(Account, from_version=1)
    def add_deposits(data: dict, aggregate_class: type) -> dict:
        seen.append(aggregate_class)
        return {**data, "deposits": 9}

    strategy = SnapshotStrategy(every=10)
    repo = AggregateRepository(store, Account, entity_type="BankAccount", snapshots=strategy)
    with warnings.catch_warnings():
        warnings.simplefilter("error", StaleSnapshotWarning)
        account = repo.find("acc")
    assert strategy.last.outcome == "upcast" and seen == [Account]
    assert account.deposits == 9 + 3 and repo.last_events_read == 3


def test_upcasters_registered_by_class_are_not_shared_by_a_namesake(store: EventStore) -> None:
    @dataclass
    class First(bank.BankAccount):
        class_version = 2

    @dataclass
    class Second(bank.BankAccount):
        class_version = 2

    for cls in (First, Second):
        cls.__name__ = "BankAccount"

    @snapshot_upcaster(First, from_version=1)
    def double(data: dict) -> dict:  # the old one-argument form still works
        return {**data, "balance": data["balance"] * 2}

    first = SnapshotStrategy(every=10)
    second = SnapshotStrategy(every=10)
    AggregateRepository(store, First, entity_type="BankAccount", snapshots=first).find("acc")
    AggregateRepository(store, Second, entity_type="BankAccount", snapshots=second).find("acc")
    assert first.last.outcome == "upcast" and second.last.outcome == "ignored"
    assert snapshots_module.snapshot_upcasters(First) == [
        (snapshots_module.qualified_name(First), 1)
    ]


def test_an_upcaster_by_plain_name_still_applies_to_every_class_of_that_name(
    store: EventStore,
) -> None:
    @dataclass
    class Account(bank.BankAccount):
        class_version = 2

    Account.__name__ = "BankAccount"
    snapshot_upcaster("BankAccount", from_version=1)(lambda data: data)
    strategy = SnapshotStrategy(every=10)
    AggregateRepository(store, Account, entity_type="BankAccount", snapshots=strategy).find("acc")
    assert strategy.last.outcome == "upcast"
    assert snapshots_module.snapshot_upcasters("BankAccount") == [("BankAccount", 1)]


def test_a_fresh_snapshot_of_the_current_class_does_not_warn(store: EventStore) -> None:
    strategy = SnapshotStrategy(every=10)
    with warnings.catch_warnings():
        warnings.simplefilter("error", StaleSnapshotWarning)
        AggregateRepository(store, bank.BankAccount, snapshots=strategy).find("acc")
    assert strategy.last.outcome == "used" and strategy.stale == 0
    assert AccountOpened  # the bank's events are registered
