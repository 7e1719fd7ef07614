"""Self-checks of notebook 05: right answers pass, wrong ones get a hint (never raise)."""

from __future__ import annotations

import pytest

from eslab import snapshots
from eslab.checks import nb05_snapshots as check


def test_exercise_1_passes_the_count_after_the_newest_snapshot() -> None:
    result = check.exercise_1(345)
    assert result and "only the events after it" in result.message


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (None, "Set `answer`"),
        ("345", "should be an int"),
        (2_345, "full replay"),
        (2_000, "snapshot's version, not a count"),
        (500, "That is the interval"),
        (45, "Work out the version"),
    ],
)
def test_exercise_1_hints(answer: object, words: str) -> None:
    result = check.exercise_1(answer)
    assert not result and words in result.message and "345" not in result.message


def owner_to_holder(data: dict) -> dict:
    return {"holder": data["owner"], "balance": data["balance"]}


def test_exercise_2_passes_a_rename_and_leaves_no_upcaster_behind() -> None:
    before = snapshots.snapshot_upcasters()
    result = check.exercise_2(owner_to_holder)
    assert result, result.message
    assert snapshots.snapshot_upcasters() == before


def test_exercise_2_accepts_an_upcaster_that_pops_from_its_input() -> None:
    def popping(data: dict) -> dict:
        data["holder"] = data.pop("owner")
        return data

    assert check.exercise_2(popping)


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (None, "Define a function"),
        (lambda data: data, "exactly the fields `holder` and `balance`"),
        (lambda data: {**data, "holder": data["owner"]}, "leave nothing else behind"),
        (lambda data: data["nope"], "raised KeyError"),
        (lambda data: [data], "as a dict"),
    ],
)
def test_exercise_2_hints(answer: object, words: str) -> None:
    result = check.exercise_2(answer)
    assert not result and words in result.message


CANDIDATES = (10, 100, 1_000, 10_000, 100_000)


def test_exercise_3_the_largest_interval_within_the_budget() -> None:
    # 0.004 ms per event, 2 ms budget: 500 events fit, so 100 is the largest candidate
    assert check.exercise_3(100, 0.004, 2.0, CANDIDATES)
    assert check.exercise_3(1_000, 0.001, 2.0, CANDIDATES)


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (1_000, "over the budget"),
        (10, "a larger interval fits too"),
        (100.0, "should be an int"),
        (True, "should be an int"),
        (None, "should be an int"),
        (500, "one of the candidates"),
    ],
)
def test_exercise_3_hints(answer: object, words: str) -> None:
    result = check.exercise_3(answer, 0.004, 2.0, CANDIDATES)
    assert not result and words in result.message
