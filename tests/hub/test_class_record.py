"""Progress events on the shared store and the instructor's live view (real stores)."""

from __future__ import annotations

import pytest

from eslab.checks import class_record, never_raise, passed
from eslab.domain.bank import AccountOpened
from eslab.errors import BadInputError
from eslab.store import EventStore
from eslab.widgets.class_view import ClassView


@pytest.fixture
def shared(monkeypatch: pytest.MonkeyPatch, pg_url: str) -> EventStore:
    """ESLAB_STORE pointing at a fresh schema of the session's PostgreSQL cluster."""
    monkeypatch.setenv("ESLAB_STORE", pg_url)
    monkeypatch.setenv("ESLAB_LEARNER", "alice")
    return EventStore(pg_url)


def test_nothing_is_recorded_without_a_shared_store(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ESLAB_STORE", raising=False)
    assert class_record.exercise_passed("nb03", "check_x") is False


def test_a_passing_check_records_itself_and_a_failing_one_does_not(shared: EventStore) -> None:
    @never_raise
    def check_answer(ok: bool):  # noqa: ANN202 - a check, as in eslab.checks.nbNN
        return passed() if ok else class_record_hint()

    def class_record_hint():  # noqa: ANN202
        from eslab.checks import hint

        return hint("not yet")

    assert check_answer(True)
    assert not check_answer(False)
    assert check_answer(True)  # twice: one record each, counted once per check
    frame = class_record.progress(shared)
    assert list(frame["kind"]) == ["ExercisePassed", "ExercisePassed"]
    assert set(frame["learner"]) == {"alice"}
    table = class_record.passes_per_notebook(shared)
    assert table.loc["alice"].tolist() == [1]
    assert table.columns.tolist() == [__name__.rsplit(".", 1)[-1]]


def test_conflicts_are_counted_per_learner(
    shared: EventStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert class_record.conflict_seen("Order/order-1", 1, 2)
    monkeypatch.setenv("ESLAB_LEARNER", "bob")
    assert class_record.conflict_seen("Order/order-1", 1, 2)
    assert class_record.conflict_seen("Order/order-1", 2, 3)
    assert class_record.conflicts_per_learner(shared).to_dict() == {"alice": 1, "bob": 2}


def test_a_store_that_is_down_never_breaks_a_check(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESLAB_STORE", "postgresql://nobody@127.0.0.1:1/none")
    assert class_record.exercise_passed("nb03", "check_x") is False


def test_the_live_view_shows_everyone(shared: EventStore) -> None:
    shared.append("Account", "a-1", [AccountOpened(owner="alice", initial_deposit=5)], 0)
    class_record.exercise_passed("nb03_optimistic_locking", "check_retry")
    class_record.conflict_seen("Order/order-1", 1, 2)
    view = ClassView()
    assert "<b>1</b> events in <b>1</b> streams" in view.summary.value
    assert "<b>1</b> learners" in view.summary.value
    assert "alice" in view.conflicts.value and "nb03_optimistic_locking" in view.passes.value
    assert view.drawn is not None and view.drawn.axes  # the timeline was drawn
    shared.append("Account", "a-2", [AccountOpened(owner="bob", initial_deposit=1)], 0)
    view.button.click()
    assert "<b>2</b> events in <b>2</b> streams" in view.summary.value


def test_the_live_view_needs_a_shared_store(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ESLAB_STORE", raising=False)
    with pytest.raises(BadInputError, match="ESLAB_STORE"):
        ClassView()
