"""Self-checks of notebook 11: right answers pass, wrong ones get a hint (never an exception)."""

from __future__ import annotations

import pytest

from eslab.checks import nb11_explore_your_own_events as check
from eslab.importers import read_eventuate_events, sample_path

RIGHT_MAP = {
    "stream_id": "acct",
    "stream_type": "aggregate",
    "version": "n",
    "timestamp": "at",
    "event_type": "kind",
    "payload": "body",
}


def order_103_ids() -> list[str]:
    frame = read_eventuate_events(sample_path("eventuate_events.csv"))
    return list(frame[frame["stream"] == "Order 103"].sort_values("entity_version")["event_id"])


def test_exercise_1_right_mapping_passes() -> None:
    assert check.exercise_1(RIGHT_MAP)
    eslab_names = {
        "entity_id": "acct",
        "entity_type": "aggregate",
        "entity_version": "n",
        "created_at": "at",
        "event_type": "kind",
        "event_data": "body",
    }
    assert check.exercise_1(eslab_names)


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (None, "is a dict"),
        ({"stream_id": "acct"}, "no column 'event_type'"),
        (RIGHT_MAP | {"timestamp": "when"}, "no column 'when'"),
        (RIGHT_MAP | {"payload": "kind"}, "not valid JSON"),
        (RIGHT_MAP | {"stream_id": "aggregate"}, "version"),
    ],
)
def test_exercise_1_wrong_mappings_get_hints(answer: object, words: str) -> None:
    result = check.exercise_1(answer)
    assert not result
    assert words in result.message


def test_exercise_1_counting_versions_is_also_right() -> None:
    assert check.exercise_1(RIGHT_MAP | {"version": None})  # the ledger is in order


def test_exercise_1_a_swapped_column_names_the_wrong_meaning() -> None:
    result = check.exercise_1(RIGHT_MAP | {"event_type": "aggregate", "stream_type": "kind"})
    assert not result and "'stream_type' does not point at the right" in result.message


def rejected_orders(frame):
    rows = frame[frame["event_type"] == "OrderRejectedEvent"]
    return set(rows["entity_id"])


def cancelled_tickets(frame):
    rows = frame[frame["event_type"] == "TicketCancelledEvent"]
    return set(rows["entity_id"])


def test_exercise_2_passes_a_function_of_the_frame() -> None:
    result = check.exercise_2(rejected_orders)
    assert result, result.message
    streams = check.exercise_2(
        lambda f: set(f.loc[f["event_type"] == "OrderRejectedEvent", "stream"])
    )
    assert streams, streams.message


@pytest.mark.parametrize(
    ("answer", "says"),
    [
        (lambda frame: {"102"}, "another log"),  # the sample's answer, hard-coded
        (cancelled_tickets, "cancelled after approval"),
        (lambda frame: "102", "Return a set"),
        (lambda frame: 1 / 0, "ZeroDivisionError"),
        ({"102"}, "Define a function"),
        (None, "Define a function"),
    ],
    ids=["hard-coded", "every-cancelled-ticket", "text", "raises", "a-set", "none"],
)
def test_exercise_2_hints(answer: object, says: str) -> None:
    result = check.exercise_2(answer)
    assert not result and says in result.message


def test_exercise_3() -> None:
    ids = order_103_ids()
    assert check.exercise_3(ids[-1])
    assert "newest" in check.exercise_3(ids[0]).message
    assert "does not keep a counter" in check.exercise_3(2).message
    assert "not one of Order 103" in check.exercise_3("0000-0000").message
    assert "event id (text)" in check.exercise_3(None).message


def test_checks_never_raise_and_print_as_hints() -> None:
    result = check.exercise_1({"stream_id": object()})
    assert not result and str(result).startswith("✗ Not yet. Hint:")
    assert str(check.exercise_2(rejected_orders)).startswith("✓")
