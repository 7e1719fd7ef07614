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


# -- exercise 4: an event-sourced participant, the book's way ---------------------------------

from typing import Any  # noqa: E402

from eslab import CommandRejectedError, DuplicateMessageError  # noqa: E402
from eslab.consumers import IdempotentRepository  # noqa: E402
from eslab.events import EventMetadata  # noqa: E402
from eslab.lessons.nb08_sagas import (  # noqa: E402
    LOYALTY_SERVICE,
    ReleasePoints,
    ReservePoints,
    accounting_route,
)
from eslab.sagas import step  # noqa: E402


def books_way(repo: Any, message: Any) -> None:
    account_id, command = accounting_route(message)
    triggers = {s.triggering_event for s in repo.store.load("Account", account_id)}
    if message.id in triggers:
        return
    repo.update(account_id, command, metadata=EventMetadata(triggering_message_id=message.id))


def library_way(repo: Any, message: Any) -> None:
    account_id, command = accounting_route(message)
    IdempotentRepository(repo).update(account_id, command, triggering_message_id=message.id)


def naive(repo: Any, message: Any) -> None:
    repo.update(*accounting_route(message))


def processed_messages_way(repo: Any, message: Any) -> None:
    account_id, command = accounting_route(message)
    try:
        with repo.store.unit_of_work() as uow:
            uow.record_processed("AccountingService", message.id)
            repo.update(account_id, command, uow=uow)
    except (DuplicateMessageError, CommandRejectedError):
        pass


SEEN_COMMANDS: set[str] = set()


def module_level_set(repo: Any, message: Any) -> None:
    if message.id not in SEEN_COMMANDS:
        SEEN_COMMANDS.add(message.id)
        books_way(repo, message)


def no_metadata(repo: Any, message: Any) -> None:
    """Skips redeliveries by the state it happens to be in: ids not recorded."""
    account_id, command = accounting_route(message)
    account = repo.find(account_id)
    if getattr(command, "order_id", None) in account.failed_authorizations:
        return
    naive(repo, message)


@pytest.mark.parametrize("handle", [books_way, library_way], ids=["by-hand", "library"])
def test_exercise_4_passes_the_triggering_event_way(handle: Any) -> None:
    result = check.exercise_4(handle)
    assert result, result.message


@pytest.mark.parametrize(
    ("handle", "says"),
    [
        (naive, "late redelivery"),
        (processed_messages_way, "RDBMS alternative"),
        (module_level_set, "second service instance"),
        (no_metadata, "triggering_event column"),
        (lambda repo, m: None, "each command once"),
        (lambda repo, m: 1 / 0, "ZeroDivisionError"),
        (None, "Define a function"),
    ],
    ids=["naive", "processed-messages", "module-set", "no-metadata", "nothing", "raises", "none"],
)
def test_exercise_4_hints(handle: Any, says: str) -> None:
    result = check.exercise_4(handle)
    assert not result and says in result.message


# -- exercise 5: a saga step with its compensation ------------------------------------------


def loyalty_definition(where: int = 3, compensate: bool = True, fixed: bool = False) -> Any:
    from eslab.ftgo import CreateOrderSagaState as S

    def reserve(data: Any) -> ReservePoints:
        return (
            ReservePoints("consumer-1", "order-1")
            if fixed
            else ReservePoints(data.consumer_id, data.order_id)
        )

    book = list(CreateOrderSaga.definition.steps)
    builder = None
    for number, s in enumerate(book, start=1):
        if number == where:
            builder = builder.step() if builder else step()
            builder.invoke_participant(LOYALTY_SERVICE, reserve)
            if compensate:
                builder.with_compensation(LOYALTY_SERVICE, lambda d: ReleasePoints(d.order_id))
        builder = builder.step() if builder else step()
        if s.command:
            builder.invoke_participant(s.participant, s.command)
        for reply, handler in s.reply_handlers.items():
            builder.on_reply(reply, handler)
        if s.compensation:
            builder.with_compensation(s.compensation_participant, s.compensation)
    assert S is not None
    return builder.build()


def test_exercise_5_passes_a_compensatable_step_before_the_pivot() -> None:
    result = check.exercise_5(loyalty_definition(where=4))
    assert result, result.message
    assert "ReleasePoints → CancelCreateTicket → RejectOrder" in result.message


@pytest.mark.parametrize(
    ("definition", "says"),
    [
        (lambda: loyalty_definition(where=6), "before the pivot"),
        (lambda: loyalty_definition(compensate=False), "with_compensation"),
        (lambda: loyalty_definition(fixed=True), "not fixed strings"),
        (lambda: CreateOrderSaga.definition, "exactly one step"),
        (lambda: "step().invoke_participant(...)", "Hand in a SagaDefinition"),
    ],
    ids=["after-pivot", "no-compensation", "hard-coded", "book-only", "text"],
)
def test_exercise_5_hints(definition: Any, says: str) -> None:
    result = check.exercise_5(definition())
    assert not result and says in result.message


# -- exercise 6: choreography -------------------------------------------------------------


@pytest.fixture(scope="module")
def dance() -> FtgoSystem:
    system = FtgoSystem(
        EventStore(clock=FixedClock(), id_factory=SeededIds(4)),
        MessageBroker(seed=4),
        mode="choreography",
    )
    system.scenario("card authorization")
    system.run()
    return system


def test_exercise_6_passes_the_subscribers(dance: FtgoSystem) -> None:
    result = check.exercise_6({"OrderService", "KitchenService"}, dance)
    assert result, result.message


@pytest.mark.parametrize(
    ("answer", "says"),
    [
        ({"AccountingService"}, "subscribes"),
        ({"OrderService"}, "missing"),
        ({"OrderService", "KitchenService", "ConsumerService"}, "no handler"),
        (2, "set of service names"),
        (True, "set of service names"),
    ],
)
def test_exercise_6_hints(answer: Any, says: str, dance: FtgoSystem) -> None:
    result = check.exercise_6(answer, dance)
    assert not result and says in result.message


def test_exercise_6_needs_the_choreography_system(failed) -> None:
    assert "choreography system" in check.exercise_6({"OrderService"}, failed[0]).message


def test_accounting_route_names_what_an_accounting_message_looks_like() -> None:
    from eslab.consumers import UnknownMessageError
    from eslab.domain.accounting import AuthorizeCard, ReverseAuthorization
    from eslab.lessons.nb08_sagas import accounting_message
    from eslab.messaging import Message

    assert isinstance(
        accounting_route(accounting_message("m", "authorize", "o", 5))[1], AuthorizeCard
    )
    assert accounting_route(accounting_message("m", "reverse", "o"))[1] == ReverseAuthorization("o")
    with pytest.raises(UnknownMessageError, match="accounting_message"):
        accounting_route(Message("m", "t", {"kind": "refund"}))
