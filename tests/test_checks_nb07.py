"""Self-checks of notebook 07: right answers pass, wrong ones get a hint (never raise)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
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


def test_exercise_2_passes_the_v1_rows_still_stored() -> None:
    assert check.exercise_2(147)
    assert check.exercise_2(np.int64(147))  # what store.sql(...).n[0] gives


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (None, "Set `answer`"),
        (0, "write anything back"),
        (240, "Count the OrderCreated rows"),
        (147.0, "should be an int"),
    ],
)
def test_exercise_2_hints(answer: object, words: str) -> None:
    result = check.exercise_2(answer)
    assert not result and words in result.message and "147" not in result.message
