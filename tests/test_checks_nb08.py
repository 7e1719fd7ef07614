"""Self-checks of notebook 08 pass on the solution and hint (never raise) on wrong answers."""

from __future__ import annotations

import pytest

from eslab import EventStore, FixedClock, SeededIds
from eslab.checks import nb08_sagas as check
from eslab.ftgo import CreateOrderSaga, FtgoSystem, PlacedOrder
from eslab.messaging import MessageBroker
from eslab.sagas import SagaOrchestrator


@pytest.fixture(scope="module")
def failed() -> tuple[FtgoSystem, PlacedOrder]:
    system = FtgoSystem(EventStore(clock=FixedClock(), id_factory=SeededIds(3)), MessageBroker())
    placed = system.scenario("card authorization")
    system.run()
    return system, placed


# -- exercise 1: compensations after the pivot fails ------------------------------------------


def test_exercise_1_passes_on_the_compensations_read_from_the_stream(failed) -> None:
    system, placed = failed
    answer = [
        e.event.command_type
        for e in system.store.load("CreateOrderSaga", placed.saga_id)
        if e.event_type == "StepCommandSent" and e.event.compensating
    ]
    result = check.exercise_1(answer)
    assert result and "backwards" in result.message


@pytest.mark.parametrize(
    ("answer", "says"),
    [
        (None, "list of command type names"),
        ("CancelCreateTicket", "list of str"),
        (["RejectOrderCommand", "CancelCreateTicket"], "wrong order"),
        (["ReverseAuthorization", "CancelCreateTicket", "RejectOrderCommand"], "pivot"),
        (["CancelCreateTicket"], "missing"),
        (["CancelCreateTicket", "Something"], "CompensationStarted"),
    ],
)
def test_exercise_1_hints_on_wrong_answers(answer: object, says: str) -> None:
    result = check.exercise_1(answer)
    assert not result and says in result.message
    assert "CancelCreateTicket" not in result.message  # the hint never gives the answer away


# -- exercise 2: the streams of one saga, by correlation id --------------------------------------


def test_exercise_2_passes_on_the_correlated_streams(failed) -> None:
    system, placed = failed
    rows = system.store.sql(
        "SELECT DISTINCT entity_type || ' ' || entity_id AS stream FROM events "
        "WHERE json_extract_string(metadata, '$.correlation_id') = $c",
        {"c": placed.saga_id},
    )
    result = check.exercise_2(set(rows["stream"]), system.store, placed.saga_id)
    assert result and "6 streams" in result.message


def test_exercise_2_hints_on_missing_extra_or_no_answer(failed) -> None:
    system, placed = failed
    right = {
        "Order order-1", "CreateOrderSaga saga-1", "Consumer carol", "SagaReply saga-1",
        "Ticket ticket-order-1", "Account carol",
    }  # fmt: skip
    assert check.exercise_2(right, system.store, placed.saga_id)
    assert "set of 'EntityType id'" in check.exercise_2(None, system.store, "x").message
    assert "a set of strings" in check.exercise_2(42, system.store, placed.saga_id).message
    extra = check.exercise_2(right | {"Consumer alice"}, system.store, placed.saga_id)
    assert not extra and "do not belong" in extra.message
    plumbing = check.exercise_2(right - {"SagaReply saga-1"}, system.store, placed.saga_id)
    assert not plumbing and "reply stream" in plumbing.message
    business = check.exercise_2(right - {"Account carol"}, system.store, placed.saga_id)
    assert not business and "1 stream(s) are missing" in business.message
    unknown = check.exercise_2(right, system.store, "saga-nope")
    assert not unknown and "No event" in unknown.message


# -- exercise 3: a new orchestrator resumes the saga -----------------------------------------------


def crashed_system() -> tuple[FtgoSystem, str]:
    system = FtgoSystem(EventStore(clock=FixedClock(), id_factory=SeededIds(30)), MessageBroker())
    saga_id = system.scenario("none").saga_id
    for _ in range(4):
        system.step()
    system.crash_orchestrator()
    return system, saga_id


def test_exercise_3_passes_when_a_new_orchestrator_finished_the_saga() -> None:
    system, saga_id = crashed_system()
    fresh = SagaOrchestrator(system.store, system.broker, CreateOrderSaga)
    system.orchestrator = system.order_service.orchestrator = fresh
    system.run()
    result = check.exercise_3(fresh, saga_id)
    assert result and "replayed" in result.message


def test_exercise_3_hints_without_a_new_orchestrator_or_before_the_end() -> None:
    system, saga_id = crashed_system()
    assert "Hand in the new SagaOrchestrator" in check.exercise_3(None, saga_id).message
    fresh = SagaOrchestrator(system.store, system.broker, CreateOrderSaga)
    assert "never rebuilt" in check.exercise_3(fresh, saga_id).message  # not run yet
    system.step()  # AuthorizeCard reaches Accounting
    system.step()  # its reply: the fresh orchestrator rebuilds the saga, but it is not done
    assert "not finished yet" in check.exercise_3(fresh, saga_id).message
    assert "no saga" in check.exercise_3(fresh, "saga-nope").message


def test_running_without_an_orchestrator_dead_letters_the_replies() -> None:
    system, saga_id = crashed_system()
    system.run()
    assert system.broker.dead_letters  # the replies waited for an orchestrator that never came
    assert system.outcome(PlacedOrder("order-1", saga_id)).saga_status == "RUNNING"


def test_checks_never_raise_on_odd_input() -> None:
    assert not check.exercise_2({"x"}, None, "saga-1")  # no store at all
    assert "raised" in check.exercise_2({"x"}, None, "saga-1").message
