"""Notebook 04's self-checks pass right answers and give hints for wrong ones."""

from __future__ import annotations

from typing import Any

import pytest

from eslab.checks import nb04_publishing_events as check


def poll_once(store: Any, broker: Any) -> int:
    batch = store.unpublished()
    for event in batch:
        broker.publish_event(event)
    store.mark_published([e.position for e in batch])
    return len(batch)


def test_exercise_1_right() -> None:
    assert check.exercise_1(poll_once)


def test_exercise_1_mark_before_publish_loses_events() -> None:
    def mark_first(store: Any, broker: Any) -> int:
        batch = store.unpublished()
        store.mark_published([e.position for e in batch])
        for event in batch:
            broker.publish_event(event)
        return len(batch)

    result = check.exercise_1(mark_first)
    assert not result and "never a loss" in result.message


def test_exercise_1_forgetting_to_mark_or_wrong_topic() -> None:
    def no_mark(store: Any, broker: Any) -> int:
        batch = store.unpublished()
        for event in batch:
            broker.publish_event(event)
        return len(batch)

    def one_topic(store: Any, broker: Any) -> int:
        batch = store.unpublished()
        for event in batch:
            broker.publish("events", {"position": event.position})
        store.mark_published([e.position for e in batch])
        return len(batch)

    assert "exactly once" in check.exercise_1(no_mark).message
    assert "one topic per aggregate" in check.exercise_1(one_topic).message
    assert not check.exercise_1(None)


def safe_checkpoint(checkpoint: int, visible: list[int]) -> int:
    seen = set(visible)
    while checkpoint + 1 in seen:
        checkpoint += 1
    return checkpoint


def test_exercise_2_right() -> None:
    assert check.exercise_2(safe_checkpoint)


def test_exercise_2_naive_max_gets_the_race_hint() -> None:
    result = check.exercise_2(lambda cp, visible: max([cp, *visible]))
    assert not result and "gap" in result.message


def test_exercise_2_broken_answers() -> None:
    assert not check.exercise_2(lambda cp, visible: cp)
    assert "raised" in check.exercise_2(lambda cp, visible: visible[10]).message
    assert not check.exercise_2("nope")


def test_exercise_1_stub_publishes_nothing() -> None:
    result = check.exercise_1(lambda store, broker: None)
    assert not result and "Nothing reached the broker" in result.message


def test_exercise_1_marking_every_unpublished_event_loses_the_late_ones() -> None:
    def marks_everything(store: Any, broker: Any) -> int:
        batch = store.unpublished()
        for stored in batch:
            broker.publish_event(stored)
        store.mark_published([e.position for e in store.unpublished()])  # a new SELECT
        return len(batch)

    result = check.exercise_1(marks_everything)
    assert not result and "between your SELECT and UPDATE" in result.message


def test_exercise_3_right_in_any_case_or_spacing() -> None:
    assert check.exercise_3("naive poller", "B", "after gap_timeout")
    assert check.exercise_3(" Naive  Poller ", "b", "After gap_timeout")


@pytest.mark.parametrize(
    ("answers", "words"),
    [
        (("polling publisher", "B", "after gap_timeout"), "not published yet"),
        (("none", "B", "after gap_timeout"), "after my mark"),
        (("naive poller", "A", "after gap_timeout"), "invisible to it"),
        (("naive poller", "C", "after gap_timeout"), "Nothing is lost"),
        (("naive poller", "D", "after gap_timeout"), "never roll back"),
        (("naive poller", "B", "never"), "after gap_timeout"),
        (("naive poller", "B", "always"), "keeps looking"),
        ((None, None, None), "should be one of"),
        (("naive poller", True, "never"), "one letter"),
        (("naive poller", "B", 60), "should be one of"),
    ],
)
def test_exercise_3_wrong_answers_get_conceptual_hints(answers: tuple, words: str) -> None:
    result = check.exercise_3(*answers)
    assert not result and words in result.message


def test_counts_and_positions_must_be_ints() -> None:
    def count_as_float(store: Any, broker: Any) -> float:
        return float(poll_once(store, broker))

    result = check.exercise_1(count_as_float)
    assert not result and "as an int" in result.message

    def checkpoint_as_float(checkpoint: int, visible: list[int]) -> float:
        visible_set, position = set(visible), checkpoint
        while position + 1 in visible_set:
            position += 1
        return float(position)

    result = check.exercise_2(checkpoint_as_float)
    assert not result and "an int" in result.message
