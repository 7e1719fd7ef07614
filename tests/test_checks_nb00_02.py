"""Self-checks of notebooks 00–02 pass on the solution and hint on wrong answers."""

from __future__ import annotations

from dataclasses import dataclass

from eslab import Aggregate, AggregateRepository, Event, EventStore
from eslab.checks import nb00_welcome, nb01_why_event_sourcing, nb02_events_and_replay
from eslab.domain.bank import (
    AccountOpened,
    BankAccount,
    Deposit,
    MoneyDeposited,
    OpenAccount,
    Withdraw,
)


def test_nb00_passes_on_one_event_and_hints_otherwise() -> None:
    store = EventStore()
    store.append("BankAccount", "x", [AccountOpened("me", 1)], 0)
    assert nb00_welcome.exercise_1(store)
    assert "EventStore" in nb00_welcome.exercise_1(None).message
    empty = nb00_welcome.exercise_1(EventStore())
    assert not empty and "0 events" in empty.message
    store.append("BankAccount", "x", [MoneyDeposited(1)], 1)
    assert not nb00_welcome.exercise_1(store)


def _account_store() -> EventStore:
    store = EventStore()
    repo = AggregateRepository(store, BankAccount)
    repo.save(OpenAccount("A", 100), entity_id="acc")
    for command in (Deposit(30), Withdraw(50), Deposit(15), Withdraw(1)):
        repo.update("acc", command)
    return store


def test_nb01_checks() -> None:
    store = _account_store()
    assert nb01_why_event_sourcing.exercise_1(80, store, "acc")
    wrong = nb01_why_event_sourcing.exercise_1(94, store, "acc")
    assert not wrong and "first three" in wrong.message and "80" not in wrong.message
    assert not nb01_why_event_sourcing.exercise_1(None, store, "acc")
    assert nb01_why_event_sourcing.exercise_2(2, store, "acc")
    assert not nb01_why_event_sourcing.exercise_2(1, store, "acc")


def test_nb02_replay_check() -> None:
    def good(events):  # type: ignore[no-untyped-def]
        account = BankAccount()
        for event in events:
            account.apply(event)
        return account

    def skips_first(events):  # type: ignore[no-untyped-def]
        return good(events[1:])

    assert nb02_events_and_replay.exercise_1(good)
    result = nb02_events_and_replay.exercise_1(skips_first)
    assert not result and "every" in result.message
    assert not nb02_events_and_replay.exercise_1(lambda events: 18)
    assert not nb02_events_and_replay.exercise_1(None)


@dataclass(frozen=True)
class Bump:
    pass


@dataclass(frozen=True)
class Bumped(Event):
    pass


@dataclass
class GoodCounter(Aggregate):
    count: int = 0

    def process_bump(self, command: Bump) -> list[Event]:
        return [Bumped()]

    def apply_bumped(self, event: Bumped) -> None:
        self.count += 1


@dataclass
class EagerCounter(GoodCounter):
    def process_bump(self, command: Bump) -> list[Event]:
        self.count += 1  # wrong: process must not change state
        return [Bumped()]


@dataclass
class EmptyCounter(Aggregate):
    count: int = 0


def test_nb02_counter_check() -> None:
    assert nb02_events_and_replay.exercise_2(GoodCounter, Bump(), AggregateRepository)
    eager = nb02_events_and_replay.exercise_2(EagerCounter, Bump(), AggregateRepository)
    assert not eager and "only apply" in eager.message
    empty = nb02_events_and_replay.exercise_2(EmptyCounter, Bump(), AggregateRepository)
    assert not empty and "annotated" in empty.message
    assert not nb02_events_and_replay.exercise_2(int, Bump(), AggregateRepository)
