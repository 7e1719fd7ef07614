"""The conflict lab of notebook 03, driven in-process (click buttons, read what is shown)."""

from __future__ import annotations

from eslab.aggregate import AggregateRepository
from eslab.domain.order import ConfirmRevision, Order, ReviseOrder
from eslab.store import EventStore
from eslab.widgets.conflict_lab import CRUD_BLIND, CRUD_VERSIONED, EVENT_STORE, ConflictLab


def click(lab: ConflictLab, person: str, part: str) -> None:
    lab.tab_boxes[person][part].click()


def status(lab: ConflictLab, person: str) -> str:
    return lab.tab_boxes[person]["status"].value


def test_both_tabs_start_at_the_same_version() -> None:
    lab = ConflictLab()
    assert "eslab-conflictlab" in lab.widget._dom_classes
    assert "holds version 2" in status(lab, "Alice") and "holds version 2" in status(lab, "Bob")
    assert "eslab-conflictlab-alice-save" in lab.tab_boxes["Alice"]["save"]._dom_classes


def test_second_save_is_a_concurrency_error_and_the_timeline_marks_it() -> None:
    lab = ConflictLab()
    click(lab, "Alice", "save")
    assert "saved version 3" in status(lab, "Alice")
    click(lab, "Bob", "save")
    assert lab.tabs["Bob"].outcome == "conflict"
    assert "ConcurrencyError" in lab.last_notice
    assert "is at version 3, you expected 2" in status(lab, "Bob")
    assert lab.rows_affected() == ["1", "0 (duplicate key)"]
    assert "Bob expected 2" in lab.sql_view.value
    assert [m.kind for m in lab.rejected] == ["rejected"]
    assert lab.rejected[0].stream == "Order order-1"
    assert len(lab.store.load("Order", "order-1")) == 3  # Bob's event was not stored
    labels = [t.get_text() for t in lab.last_figure.axes[0].get_legend().get_texts()]
    assert "rejected append" in labels  # the timeline marks it
    assert lab.caption.value == "Timeline: 3 events stored, 1 rejected append(s) marked ✕"


def test_reload_and_retry_runs_the_command_on_the_new_state() -> None:
    lab = ConflictLab()
    click(lab, "Alice", "save")
    click(lab, "Bob", "save")
    click(lab, "Bob", "retry")  # a second revision is refused by the order itself
    assert lab.tabs["Bob"].outcome == "refused"
    assert "REVISION_PENDING" in status(lab, "Bob") and "holds version 3" in status(lab, "Bob")
    lab.tab_boxes["Bob"]["command"].value = "Confirm the revision"
    click(lab, "Bob", "retry")
    assert lab.tabs["Bob"].outcome == "saved" and "saved version 4" in status(lab, "Bob")
    assert "3 × Margherita" in status(lab, "Bob")  # Alice's change survived


def test_crud_blind_overwrite_shows_the_lost_update() -> None:
    lab = ConflictLab(mode=CRUD_BLIND)
    click(lab, "Alice", "save")
    click(lab, "Bob", "save")
    assert lab.rows_affected() == ["1", "1"]
    assert lab.tabs["Bob"].outcome == "overwrote"
    assert "Lost update" in lab.banner.value and "Bob overwrote version 3" in lab.banner.value
    assert "WHERE id = &#x27;order-1&#x27;<" in lab.sql_view.value
    assert "proposed: 1 × Margherita, 2 × Tiramisu" in lab.table_view.value
    assert "3 × Margherita" not in lab.table_view.value  # Alice's revision is gone


def test_crud_version_check_refuses_the_second_update_with_zero_rows() -> None:
    lab = ConflictLab()
    lab.mode.value = CRUD_VERSIONED  # switching mode starts again
    click(lab, "Alice", "save")
    click(lab, "Bob", "save")
    assert lab.rows_affected() == ["1", "0"]
    assert "version = version + 1 WHERE id = &#x27;order-1&#x27; AND version = 2" in (
        lab.sql_view.value
    )
    assert lab.tabs["Bob"].outcome == "conflict" and lab.banner.value == ""
    assert "proposed: 3 × Margherita" in lab.table_view.value
    click(lab, "Bob", "retry")
    assert lab.tabs["Bob"].outcome == "refused"  # reloaded: a revision is pending now


def test_reset_starts_again() -> None:
    lab = ConflictLab()
    click(lab, "Alice", "save")
    lab.reset_button.click()
    assert lab.statements == [] and lab.mode.value == EVENT_STORE
    assert "holds version 2" in status(lab, "Alice")


def test_a_lab_on_a_shared_store_meets_a_classmates_save(pg_url: str) -> None:
    with EventStore(pg_url) as mine, EventStore(pg_url) as classmate:
        lab = ConflictLab(store=mine, order_id="order-classroom")
        assert [v for _, v in lab.mode.options] == [EVENT_STORE]  # no CRUD table there
        assert "holds version 2" in status(lab, "Alice")  # the lab created the order
        # Another learner, in another kernel, revises and confirms: the stream moves to 4.
        theirs = AggregateRepository(classmate, Order)
        theirs.update("order-classroom", ReviseOrder({"pizza": 5}))
        theirs.update("order-classroom", ConfirmRevision())
        click(lab, "Alice", "save")  # Alice's tab still holds version 2
        assert lab.tabs["Alice"].outcome == "conflict"
        assert "is at version 4, you expected 2" in status(lab, "Alice")
        assert "ConcurrencyError" in lab.last_notice
        assert lab.rejected[0].stream == "Order order-classroom"
        assert "Timeline: 4 events stored, 1 rejected append(s) marked ✕" == lab.caption.value
        click(lab, "Alice", "retry")  # reload from the shared stream: the classmate's order
        assert lab.tabs["Alice"].outcome == "saved" and "saved version 5" in status(lab, "Alice")
        learners = [
            e.metadata.extra.get("learner") for e in classmate.load("Order", "order-classroom")
        ]
        assert learners[-1].endswith("/Alice") and len(learners) == 5
        # A second lab (a classmate's) on the same store finds the order, not a new one.
        other = ConflictLab(store=classmate, order_id="order-classroom")
        assert "holds version 5" in status(other, "Bob")
