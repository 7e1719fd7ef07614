"""Notebook 03's self-checks pass right answers and give hints for wrong ones."""

from __future__ import annotations

from typing import Any

from eslab import AggregateRepository, ConcurrencyError, EventStore
from eslab.checks import nb03_optimistic_locking as check
from eslab.domain.bank import BankAccount, Deposit
from eslab.lessons.nb03_optimistic_locking import VersionedTable


def exercise_table() -> tuple[VersionedTable, int]:
    table = VersionedTable(EventStore(), "crud_orders")
    table.insert("order-9", {"pizzas": 2})
    bob = table.read("order-9")
    table.write("order-9", {"pizzas": 3}, bob.version, session="Alice")
    return table, bob.version


def test_exercise_1_right() -> None:
    table, version = exercise_table()
    rows = table.write("order-9", {"pizzas": 5}, version, session="Bob").rows
    result = check.exercise_1(table, rows)
    assert result and "0 rows" in result.message


def test_exercise_1_blind_overwrite_gets_a_hint() -> None:
    table, _ = exercise_table()
    rows = table.write("order-9", {"pizzas": 5}, session="Bob").rows
    result = check.exercise_1(table, rows)
    assert not result and "lost update" in result.message


def test_exercise_1_stub_and_wrong_count() -> None:
    table, version = exercise_table()
    assert "Save Bob's change" in check.exercise_1(table, None).message
    table.write("order-9", {"pizzas": 5}, version, session="Bob")
    assert "number of rows" in check.exercise_1(table, 1).message
    assert not check.exercise_1("not a table", 0)


def by_hand(store: EventStore, account_id: str, amount: int) -> int:
    repo = AggregateRepository(store, BankAccount)
    for attempt in range(10):
        account = repo.find(account_id)
        try:
            store.append(
                "BankAccount", account_id, account.process(Deposit(amount)), account.version
            )
        except ConcurrencyError:
            continue
        return attempt
    raise RuntimeError("gave up")


def with_repository(store: EventStore, account_id: str, amount: int) -> int:
    repo = AggregateRepository(store, BankAccount, retries=10)
    return repo.update_with_result(account_id, Deposit(amount)).retries


def test_exercise_2_right_by_hand() -> None:
    assert check.exercise_2(by_hand)


def test_exercise_2_the_library_repository_is_not_the_loop() -> None:
    result = check.exercise_2(with_repository)
    assert not result and "write the loop yourself" in result.message


def test_exercise_2_reappending_the_same_events_without_reloading_gets_a_hint() -> None:
    def same_events(store: EventStore, account_id: str, amount: int) -> int:
        account = AggregateRepository(store, BankAccount).find(account_id)
        events, version = account.process(Deposit(amount)), account.version
        for attempt in range(10):
            try:
                store.append("BankAccount", account_id, events, version)
                return attempt
            except ConcurrencyError as conflict:
                version = conflict.actual_version  # the new version, but no new decision
        raise RuntimeError("gave up")

    result = check.exercise_2(same_events)
    assert not result and "without loading" in result.message


def test_exercise_2_without_retry_gets_a_hint() -> None:
    def no_retry(store: EventStore, account_id: str, amount: int) -> int:
        AggregateRepository(store, BankAccount).update(account_id, Deposit(amount))
        return 0

    result = check.exercise_2(no_retry)
    assert not result and "ConcurrencyError escaped" in result.message


def test_exercise_2_stale_retry_gets_a_hint() -> None:
    def stale(store: EventStore, account_id: str, amount: int) -> int:
        account = AggregateRepository(store, BankAccount).find(account_id)
        for attempt in range(5):  # guesses the version instead of reloading
            try:
                store.append(
                    "BankAccount",
                    account_id,
                    account.process(Deposit(amount)),
                    account.version + attempt,
                )
                return attempt
            except ConcurrencyError:
                continue
        return -1

    result = check.exercise_2(stale)
    assert not result

    def no_reload(store: EventStore, account_id: str, amount: int) -> int:
        account = AggregateRepository(store, BankAccount).find(account_id)
        for attempt in range(5):
            try:
                store.append(
                    "BankAccount", account_id, account.process(Deposit(amount)), account.version
                )
                return attempt
            except ConcurrencyError:
                continue
        raise ConcurrencyError("BankAccount", account_id, account.version, None)

    assert "ConcurrencyError escaped" in check.exercise_2(no_reload).message


def test_exercise_2_wrong_count_and_not_callable() -> None:
    def count_wrong(store: Any, account_id: str, amount: int) -> int:
        return by_hand(store, account_id, amount) + 1

    assert "should report" in check.exercise_2(count_wrong).message
    assert not check.exercise_2(None)


def test_exercise_2_stub_says_nothing_was_deposited() -> None:
    result = check.exercise_2(lambda store, account_id, amount: None)
    assert not result and "Nothing was deposited" in result.message


def test_exercise_1_rejects_a_float_or_bool_row_count() -> None:
    table, version = exercise_table()
    table.write("order-9", {"pizzas": 5}, version, session="Bob")
    for wrong in (0.0, False):
        result = check.exercise_1(table, wrong)
        assert not result and ("an int" in result.message or "number of rows" in result.message)


def test_exercise_2_rejects_a_retry_count_that_is_not_an_int() -> None:
    def as_float(store: EventStore, account_id: str, amount: int) -> float:
        return float(by_hand(store, account_id, amount))

    result = check.exercise_2(as_float)
    assert not result and "as an int" in result.message
