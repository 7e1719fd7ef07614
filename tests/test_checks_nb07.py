"""Self-checks of notebook 07: right answers pass, wrong ones get a hint (never raise)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from eslab import upcasting
from eslab.checks import nb07_upcasting as check
from eslab.events import Event


@dataclass(frozen=True)
class CourierHired(Event):
    """The exercise's event at schema v2, as the notebook defines it."""

    schema_version = 2
    courier_id: str
    first_name: str
    last_name: str


@pytest.fixture(autouse=True)
def clean_registry() -> Iterator[None]:
    with upcasting.preserved():
        yield


def split_name(data: dict) -> dict:
    first, _, last = data["name"].rpartition(" ")
    return {"courier_id": data["courier_id"], "first_name": first, "last_name": last}


def test_exercise_1_passes_a_registered_split() -> None:
    upcasting.upcaster("CourierHired", from_version=1)(split_name)
    result = check.exercise_1(split_name)
    assert result, result.message


def test_exercise_1_asks_to_register_a_right_function() -> None:
    result = check.exercise_1(split_name)
    assert not result and '@upcaster("CourierHired", from_version=1)' in result.message


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (None, "Define a function"),
        (lambda d: d, "first_name and last_name only"),
        (
            lambda d: (
                dict(zip(("first_name", "last_name"), d["name"].split(), strict=False))
                | {"courier_id": d["courier_id"]}
            ),
            "the last word is the last name",
        ),
        (lambda d: d["full_name"], "raised KeyError"),
        (lambda d: None, "as a dict"),
    ],
)
def test_exercise_1_hints(answer: object, words: str) -> None:
    result = check.exercise_1(answer)
    assert not result and words in result.message


def test_exercise_1_says_when_another_function_holds_the_step() -> None:
    def first_try(data: dict) -> dict:
        return data

    with upcasting.preserved():
        upcasting.upcaster("CourierHired", from_version=1)(first_try)
        result = check.exercise_1(split_name)
    assert not result and "replace=True" in result.message


def test_exercise_2_passes_the_books_classification() -> None:
    answer = {
        change: "compatible" if change.startswith(("OrderCreated gets", "a new")) else "breaking"
        for change in check.SCHEMA_CHANGES
    }
    result = check.exercise_2(answer)
    assert result, result.message


def _all(kind: object) -> dict:
    return dict.fromkeys(check.SCHEMA_CHANGES, kind)


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (None, "Answer with a dict"),
        (..., "Answer with a dict"),
        ("breaking", "Answer with a dict"),
        ({}, "missing"),
        (_all(True), "not True/False"),
        (_all(1), "not True/False"),
        (_all("breaking"), "of one kind"),
        (_all("compatible"), "of one kind"),
        (
            {**check.SCHEMA_CHANGES, **{c: "compatible" for c in list(check.SCHEMA_CHANGES)[3:5]}},
            "2 of 8",
        ),
    ],
    ids=[
        "none",
        "ellipsis",
        "str",
        "empty",
        "booleans",
        "numbers",
        "all-breaking",
        "all-compatible",
        "rename-and-removal-as-compatible",
    ],
)
def test_exercise_2_hints(answer: object, words: str) -> None:
    result = check.exercise_2(answer)
    assert not result and words in result.message
