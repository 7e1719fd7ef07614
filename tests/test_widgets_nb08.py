"""The saga stepper (notebook 08) and the swimlane picture, driven in-process."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402

from eslab.errors import BadInputError  # noqa: E402
from eslab.ftgo import FAILURES, FtgoSystem  # noqa: E402
from eslab.messaging import MessageBroker  # noqa: E402
from eslab.viz.swimlane import KIND_COLOURS, Exchange, exchanges, swimlane  # noqa: E402
from eslab.widgets.saga_stepper import (  # noqa: E402
    SagaStepper,
    new_system,
    outcome_text,
    state_rows,
)


@pytest.fixture
def lab() -> SagaStepper:
    return SagaStepper()


def classes(widget: object) -> set[str]:
    return set(widget._dom_classes)  # type: ignore[attr-defined]


def arrows(fig: object) -> list[object]:
    """The arrow annotations of a swimlane figure (one per delivery drawn)."""
    ax = fig.axes[0]  # type: ignore[attr-defined]
    return [t for t in ax.texts if getattr(t, "arrow_patch", None) is not None]


def states(lab: SagaStepper) -> dict[str, tuple[str, ...]]:
    return {row[0]: row for row in state_rows(lab.system, lab.placed)}


# -- the lab -------------------------------------------------------------------------------


def test_dom_classes_for_the_browser_tests(lab: SagaStepper) -> None:
    assert "eslab-saga-stepper" in classes(lab.widget)
    parts = {
        "failure": lab.failure, "duplicates": lab.duplicates, "step": lab.step_button,
        "play": lab.play_button, "reset": lab.reset_button, "status": lab.status,
        "outcome": lab.outcome, "states": lab.states, "picture": lab.picture,
    }  # fmt: skip
    for part, control in parts.items():
        assert f"eslab-saga-stepper-{part}" in classes(control)
    assert list(lab.failure.options) == list(FAILURES)
    assert lab.failure.description == "failing step"


def test_it_opens_with_the_order_placed_and_nothing_delivered(lab: SagaStepper) -> None:
    assert lab.delivered == 0
    assert "delivered 0</b> · pending 1" in lab.status.value
    assert "running" in lab.outcome.value
    rows = states(lab)
    assert rows["Order"][3] == "APPROVAL_PENDING"
    assert rows["Ticket"][3] == "—" and rows["Ticket"][4] == "not created"
    assert rows["CreateOrderSaga"][3] == "RUNNING"
    assert "waiting for the reply to ValidateOrderByConsumer" in rows["CreateOrderSaga"][4]
    assert "APPROVAL_PENDING" in lab.states.value
    assert arrows(lab.figure) == []


def test_each_step_click_delivers_one_message_and_draws_one_arrow(lab: SagaStepper) -> None:
    lab.step_button.click()
    assert lab.delivered == 1
    assert "1. CreateOrderSaga → ConsumerService: ValidateOrderByConsumer (acked)" in (
        lab.status.value
    )
    assert len(arrows(lab.figure)) == 1
    lab.step_button.click()
    lab.step_button.click()
    assert lab.delivered == 3 and len(arrows(lab.figure)) == 3
    rows = states(lab)
    assert rows["Consumer"][4] == "verified this order"
    assert rows["Ticket"][3] == "CREATE_PENDING"


def test_play_runs_to_a_consistent_end(lab: SagaStepper) -> None:
    lab.play_button.click()
    assert lab.finished
    assert "finished" in lab.outcome.value
    assert "order APPROVED · ticket AWAITING_ACCEPTANCE · card authorized" in lab.outcome.value
    assert "consistent ✓" in lab.outcome.value
    assert states(lab)["CreateOrderSaga"][3] == "COMPLETED"
    assert len(arrows(lab.figure)) == lab.delivered == 10


@pytest.mark.parametrize(
    ("failure", "order", "ticket"),
    [
        ("validation", "REJECTED", "—"),
        ("ticket", "REJECTED", "—"),
        ("card authorization", "REJECTED", "CANCELLED"),
        ("confirm ticket (crash)", "APPROVED", "AWAITING_ACCEPTANCE"),
    ],
)
def test_choosing_a_failing_step_resets_and_plays_to_its_end(
    lab: SagaStepper, failure: str, order: str, ticket: str
) -> None:
    lab.step_button.click()
    lab.failure.value = failure
    assert lab.delivered == 0  # a new system
    lab.play_button.click()
    rows = states(lab)
    assert (rows["Order"][3], rows["Ticket"][3]) == (order, ticket)
    assert "consistent ✓" in lab.outcome.value
    assert failure in lab.figure.axes[0].get_title()


def test_compensations_are_drawn_in_the_compensation_colour(lab: SagaStepper) -> None:
    lab.failure.value = "card authorization"
    lab.play_button.click()
    red = KIND_COLOURS["compensation"]
    coloured = [to_hex(a.arrow_patch.get_edgecolor()) for a in arrows(lab.figure)]
    assert coloured.count(red) == 2  # cancel ticket, reject order
    labels = [t.get_text() for t in lab.figure.axes[0].texts if t.get_text()]
    assert any("CancelCreateTicket" in text for text in labels)
    assert any("Failure: card limit" in text for text in labels)


def test_duplicates_checkbox_injects_redeliveries_and_stays_consistent(lab: SagaStepper) -> None:
    lab.duplicates.value = True
    lab.play_button.click()
    assert lab.system.broker.duplicate_rate > 0
    assert any(d.redelivery for d in lab.system.broker.deliveries)
    assert "consistent ✓" in lab.outcome.value
    assert any("duplicate: skipped" in t.get_text() for t in lab.figure.axes[0].texts)


def test_reset_button_starts_over(lab: SagaStepper) -> None:
    lab.play_button.click()
    first = lab.system
    lab.reset_button.click()
    assert lab.system is not first and lab.delivered == 0


def test_step_after_the_end_changes_nothing(lab: SagaStepper) -> None:
    lab.play_button.click()
    before = lab.delivered
    lab.step_button.click()
    assert lab.delivered == before and "finished" in lab.outcome.value


def test_unknown_failure_is_refused() -> None:
    with pytest.raises(BadInputError, match="failure must be one of"):
        SagaStepper(failure="meteor")


def test_choreography_mode_has_no_saga_row() -> None:
    lab = SagaStepper(mode="choreography", failure="card authorization")
    lab.play_button.click()
    rows = states(lab)
    assert "CreateOrderSaga" not in rows and rows["Order"][3] == "REJECTED"


def test_outcome_text_says_when_services_disagree() -> None:
    system, placed = new_system("none")
    assert "NOT consistent" in outcome_text(system.outcome(placed))  # nothing delivered yet


# -- the swimlane picture --------------------------------------------------------------------


def test_exchanges_name_sender_receiver_kind_and_label() -> None:
    system, _ = new_system("card authorization")
    system.run()
    shown = exchanges(system.broker)
    assert (shown[0].sender, shown[0].receiver, shown[0].label, shown[0].kind) == (
        "CreateOrderSaga",
        "ConsumerService",
        "ValidateOrderByConsumer",
        "command",
    )
    kinds = [e.kind for e in shown]
    assert kinds.count("compensation") == 2 and kinds.count("failure") == 1
    failure = next(e for e in shown if e.kind == "failure")
    assert failure.sender == "AccountingService" and "card limit" in failure.label


def test_swimlane_lanes_follow_the_system_and_skip_ignored_events() -> None:
    system = FtgoSystem(broker=MessageBroker(), mode="choreography")
    system.scenario("none")
    system.run()
    everything = exchanges(system.broker)
    relevant = exchanges(system.broker, system.relevant)
    assert len(relevant) < len(everything)  # ConsumerRegistered etc. reached no handler
    fig = swimlane(system)
    assert len(arrows(fig)) == len(relevant)
    lane_titles = [t.get_text() for t in fig.axes[0].texts if t.get_text() in system.lanes]
    assert lane_titles == system.lanes


def test_swimlane_marks_failed_deliveries_and_accepts_a_list() -> None:
    rows = [
        Exchange(1, "A", "B", "Do", "command", "failed", False, "m1"),
        Exchange(2, "A", "B", "Do", "command", "acked", True, "m1"),
        Exchange(3, "B", "A", "Done", "reply", "acked", False, "r1"),
    ]
    fig = swimlane(rows, upto=2)
    assert len(arrows(fig)) == 2
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "failed" in texts and any("redelivered" in t for t in texts)
    assert len(fig.axes[0].collections) == 1  # the red ✕


def test_swimlane_refuses_what_it_cannot_draw() -> None:
    with pytest.raises(TypeError, match="MessageBroker"):
        swimlane(42)
