"""Self-checks of notebook 06: a right answer passes, wrong ones get a hint (never raise)."""

from __future__ import annotations

from typing import Any

import pytest

from eslab import CommandRejectedError, DuplicateMessageError, EventStore
from eslab.checks import nb06_idempotent_consumers as check
from eslab.consumers import RdbmsIdempotentConsumer
from eslab.lessons.nb06_idempotent_consumers import (
    RedeliveryReport,
    account_route,
    late_redelivery,
    payment_message,
    run_redelivery,
)

# -- exercise 1: an RDBMS-style handler --------------------------------------------------


def rdbms_handle(repo: Any, message: Any) -> None:
    account, command = account_route(message)
    try:
        with repo.store.unit_of_work() as uow:
            uow.record_processed("exercise", message.id)
            try:
                repo.update(account, command, uow=uow)
            except CommandRejectedError:
                pass
    except DuplicateMessageError:
        pass


def naive_handle(repo: Any, message: Any) -> None:
    account, command = account_route(message)
    repo.update(account, command)


def forgets_refusals(repo: Any, message: Any) -> None:
    account, command = account_route(message)
    try:
        with repo.store.unit_of_work() as uow:
            uow.record_processed("exercise", message.id)
            repo.update(account, command, uow=uow)  # a refusal aborts the unit of work
    except DuplicateMessageError:
        pass


def checks_but_never_records(repo: Any, message: Any) -> None:
    if not repo.store.was_processed("exercise", message.id):
        naive_handle(repo, message)


def apply_or_refuse(repo: Any, message: Any) -> None:
    """The effect alone, in its own transaction (a refusal is an answer too)."""
    try:
        repo.update(*account_route(message))
    except CommandRejectedError:
        pass


def effect_then_record_in_a_second_unit_of_work(repo: Any, message: Any) -> None:
    if repo.store.was_processed("exercise", message.id):
        return
    apply_or_refuse(repo, message)
    with repo.store.unit_of_work() as uow:
        uow.record_processed("exercise", message.id)


def record_then_effect_in_a_second_unit_of_work(repo: Any, message: Any) -> None:
    try:
        with repo.store.unit_of_work() as uow:
            uow.record_processed("exercise", message.id)
    except DuplicateMessageError:
        return
    apply_or_refuse(repo, message)


SEEN: set[str] = set()


def module_level_set(repo: Any, message: Any) -> None:
    """Remembers ids in the Python process (and records them too, once applied)."""
    if message.id in SEEN:
        return
    SEEN.add(message.id)
    rdbms_handle(repo, message)


def test_exercise_1_passes_an_rdbms_style_handler() -> None:
    result = check.exercise_1(rdbms_handle)
    assert result.passed, result.message


def test_exercise_1_passes_the_library_consumer_too() -> None:
    result = check.exercise_1(
        lambda repo, m: RdbmsIdempotentConsumer(repo, account_route, consumer_id="exercise-1")(m)
    )
    assert result.passed, result.message


@pytest.mark.parametrize(
    ("handle", "words"),
    [
        (naive_handle, "redelivered message changed the balance"),
        (checks_but_never_records, "redelivered message changed the balance"),
        (forgets_refusals, "including the one whose command was refused"),
        (lambda repo, m: None, "A deposit is missing"),
        (effect_then_record_in_a_second_unit_of_work, "crashed your process"),
        (record_then_effect_in_a_second_unit_of_work, "A deposit is missing"),
        (module_level_set, "second service instance"),
        (lambda repo, m: 1 / 0, "ZeroDivisionError"),
        (None, "Define a function"),
    ],
    ids=[
        "naive",
        "never-records",
        "forgets-refusals",
        "does-nothing",
        "effect-then-record",
        "record-then-effect",
        "module-level-set",
        "raises",
        "not-callable",
    ],
)
def test_exercise_1_hints_at_what_is_wrong(handle: Any, words: str) -> None:
    result = check.exercise_1(handle)
    assert not result.passed
    assert words in result.message


# -- exercise 2: find the double effects with SQL -----------------------------------------


@pytest.fixture(scope="module")
def naive_run() -> RedeliveryReport:
    return run_redelivery("naive", duplicate_rate=0.3, crash_rate=0.1, seed=5, messages=25)


def doubles(report: RedeliveryReport) -> set[str]:
    frame = report.store.sql(
        "SELECT triggering_event FROM events WHERE triggering_event IS NOT NULL "
        "GROUP BY triggering_event HAVING count(*) > 1"
    )
    return set(frame.triggering_event)


def double_applied(store: EventStore) -> set[str]:
    frame = store.sql(
        "SELECT triggering_event FROM events WHERE triggering_event IS NOT NULL "
        "GROUP BY triggering_event HAVING count(*) > 1"
    )
    return set(frame.triggering_event)


def test_exercise_2_passes_a_query_of_the_store_it_is_given(naive_run: RedeliveryReport) -> None:
    assert double_applied(naive_run.store)  # the run did double-apply something
    result = check.exercise_2(double_applied, naive_run)
    assert result.passed, result.message


def test_exercise_2_hints(naive_run: RedeliveryReport) -> None:
    right = double_applied(naive_run.store)
    every_id = {m.id for m in naive_run.broker.messages("payments")}
    assert "group the events" in check.exercise_2(None, naive_run).message
    copied = check.exercise_2(right, naive_run)  # the ids pasted from the output
    assert not copied.passed and "double_applied(store)" in copied.message
    assert not check.exercise_2(True, naive_run).passed
    fixed = check.exercise_2(lambda store: right, naive_run)
    assert not fixed.passed and "another run" in fixed.message
    too_many = check.exercise_2(lambda store: double_applied(store) | every_id, naive_run)
    assert not too_many.passed and "only once" in too_many.message
    too_few = check.exercise_2(lambda store: set(), naive_run)
    assert not too_few.passed and "missing" in too_few.message
    returns_a_number = check.exercise_2(lambda store: 42, naive_run)
    assert not returns_a_number.passed and "collection" in returns_a_number.message


# -- exercise 3: a delivery order that needs the pseudo event ----------------------------


def test_exercise_3_passes_a_late_redelivery_of_a_refused_message() -> None:
    w = payment_message("a", "acc-1", "withdraw", 100)
    d = payment_message("b", "acc-1", "deposit", 80)
    result = check.exercise_3([w, d, w])
    assert result.passed, result.message
    assert "10 instead of 110" in result.message


@pytest.mark.parametrize(
    ("deliveries", "words"),
    [
        ([payment_message("a", "acc-1", "deposit", 5)] * 3, "still ends right"),
        (
            [payment_message("a", "acc-1", "withdraw", 100)] * 2
            + [payment_message("b", "acc-1", "deposit", 80)],
            "still ends right",
        ),
        ([], "list of messages"),
        ("deposit 10", "list of messages"),
        ([{"account": "acc-1"}], "must be a Message"),
        ([payment_message("a", "acc-7", "deposit", 5)], "acc-1"),
        (late_redelivery(), "notebook's own example"),
        (
            [
                payment_message("x", "acc-1", "withdraw", 100),
                payment_message("y", "acc-1", "deposit", 80),
                payment_message("x", "acc-1", "withdraw", 10),
            ],
            "different content",
        ),
    ],
    ids=[
        "only-deposits",
        "redelivered-too-early",
        "empty",
        "text",
        "dicts",
        "other-account",
        "the-notebooks-example",
        "redelivery-with-other-content",
    ],
)
def test_exercise_3_hints(deliveries: Any, words: str) -> None:
    result = check.exercise_3(deliveries)
    assert not result.passed
    assert words in result.message
