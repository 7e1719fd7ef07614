"""Sagas with event sourcing: definition, orchestrator, participants, relay, choreography."""

from __future__ import annotations

import gc
import weakref
from collections import Counter
from pathlib import Path

import pytest

from eslab import DuplicateMessageError, EventStore, FixedClock, SeededIds
from eslab.domain.kitchen import ConfirmCreateTicket
from eslab.domain.order import OrderCreated
from eslab.errors import BadInputError, ConcurrencyError
from eslab.ftgo import (
    ACCOUNTING_SERVICE,
    FAILURES,
    KITCHEN_SERVICE,
    ORDER_SERVICE,
    OWNERS,
    CreateOrderSaga,
    FtgoSystem,
    compensation_marks,
    correlated_events,
)
from eslab.messaging import FAILED, SKIPPED, Message, MessageBroker
from eslab.sagas import (
    REPLY_STREAM,
    EventHandler,
    SagaDefinitionError,
    SagaOrchestrator,
    SagaParticipant,
    command_channel,
    message_for,
    reply_channel,
    step,
)

SEEDS = [0, 1, 2]
EXPECTED = {
    # failure: (order, ticket, authorized, saga status)
    "none": ("APPROVED", "AWAITING_ACCEPTANCE", True, "COMPLETED"),
    "validation": ("REJECTED", "none", False, "FAILED"),
    "ticket": ("REJECTED", "none", False, "FAILED"),
    "card authorization": ("REJECTED", "CANCELLED", False, "FAILED"),
    "confirm ticket (crash)": ("APPROVED", "AWAITING_ACCEPTANCE", True, "COMPLETED"),
}
SAGA_STREAMS = {
    # failure: the saga stream's event types, in order
    "none": ["SagaStarted", "StepCommandSent"] + ["ReplyReceived", "StepCommandSent"] * 4
    + ["ReplyReceived", "SagaCompleted"],
    "card authorization": ["SagaStarted", "StepCommandSent", "ReplyReceived",
                           "StepCommandSent", "ReplyReceived", "StepCommandSent",
                           "ReplyReceived", "CompensationStarted", "StepCommandSent",
                           "ReplyReceived", "StepCommandSent", "ReplyReceived", "SagaFailed"],
}  # fmt: skip


def make_system(
    *, seed: int = 0, duplicates: float = 0.0, crashes: float = 0.0, mode: str = "orchestration"
) -> FtgoSystem:
    store = EventStore(clock=FixedClock(), id_factory=SeededIds(seed))
    broker = MessageBroker(seed=seed, duplicate_rate=duplicates, crash_rate=crashes)
    return FtgoSystem(store, broker, mode=mode)


def saga_event_types(system: FtgoSystem, saga_id: str) -> list[str]:
    return [e.event_type for e in system.store.load("CreateOrderSaga", saga_id)]


def business_counts(system: FtgoSystem) -> Counter[str]:
    """How many times each business event was written (saga plumbing left out)."""
    plumbing = {"CreateOrderSaga", REPLY_STREAM}
    return Counter(e.event_type for e in system.store.read_all() if e.entity_type not in plumbing)


# -- the definition ------------------------------------------------------------------------


def test_create_order_saga_is_the_books_six_steps() -> None:
    table = CreateOrderSaga.definition.table()
    assert list(table["participant"]) == [
        "",
        "ConsumerService",
        "KitchenService",
        "AccountingService",
        "KitchenService",
        "OrderService",
    ]
    assert list(table["command"]) == [
        "—",
        "validate order",
        "create ticket",
        "authorize card",
        "confirm create ticket",
        "approve order",
    ]
    assert list(table["kind"]) == ["compensatable"] * 3 + ["pivot"] + ["retriable"] * 2
    assert table["compensation"][0] == "OrderService: reject order"
    assert table["compensation"][2] == "KitchenService: cancel create ticket"
    assert table["on reply"][2] == "CreateTicketReply"
    assert CreateOrderSaga.definition.pivot == 4


@pytest.mark.parametrize(("failed", "compensations"), [(2, [1]), (3, [1]), (4, [3, 1])])
def test_compensations_run_backwards_from_the_failed_step(
    failed: int, compensations: list[int]
) -> None:
    steps = CreateOrderSaga.definition.compensations_after_failure(failed)
    assert [s.number for s in steps] == compensations


def test_the_dsl_refuses_definitions_it_cannot_run() -> None:
    with pytest.raises(SagaDefinitionError, match="follows invoke_participant"):
        step().on_reply(object, lambda d, r: None)
    with pytest.raises(SagaDefinitionError, match="already invokes"):
        step().invoke_participant("A", lambda d: 1).invoke_participant("B", lambda d: 2)
    with pytest.raises(SagaDefinitionError, match="service name"):
        step().invoke_participant("", lambda d: 1)
    with pytest.raises(SagaDefinitionError, match="at least one step"):
        step().with_compensation("A", lambda d: 1).build()
    with pytest.raises(SagaDefinitionError, match="not a Saga subclass"):
        SagaOrchestrator(EventStore(), None, object)  # type: ignore[arg-type]


# -- the happy path and the saga stream ------------------------------------------------------


def test_happy_path_approves_and_the_saga_stream_records_every_decision() -> None:
    system = make_system()
    placed = system.scenario("none")
    system.run()
    assert system.outcome(placed).consistent
    assert saga_event_types(system, placed.saga_id) == SAGA_STREAMS["none"]
    sent = [e.event for e in system.store.load("CreateOrderSaga", placed.saga_id)
            if e.event_type == "StepCommandSent"]  # fmt: skip
    assert [(c.step, c.participant, c.command_type) for c in sent] == [
        (2, "ConsumerService", "ValidateOrderByConsumer"),
        (3, "KitchenService", "CreateTicket"),
        (4, "AccountingService", "AuthorizeCard"),
        (5, "KitchenService", "ConfirmCreateTicket"),
        (6, "OrderService", "ApproveOrderCommand"),
    ]
    # the on_reply handler stored the ticket id in the saga data, and step 5 used it
    instance = system.orchestrator.find(placed.saga_id)
    assert instance.data["ticket_id"] == "ticket-order-1"
    assert sent[3].command == {"ticket_id": "ticket-order-1"}


def test_order_and_saga_start_in_one_transaction() -> None:
    system = make_system()
    placed = system.scenario("none")
    rows = system.store.sql(
        "SELECT entity_type, event_type, created_at FROM events WHERE entity_type IN "
        "('Order', 'CreateOrderSaga') ORDER BY position"
    )
    assert list(rows["event_type"]) == ["OrderCreated", "SagaStarted", "StepCommandSent"]
    assert placed.saga_id == "saga-1" and placed.order_id == "order-1"


def test_card_failure_compensates_cancel_ticket_then_reject_order() -> None:
    system = make_system()
    placed = system.scenario("card authorization")
    system.run()
    assert saga_event_types(system, placed.saga_id) == SAGA_STREAMS["card authorization"]
    stream = system.store.load("CreateOrderSaga", placed.saga_id)
    compensating = [
        e.event.command_type
        for e in stream
        if e.event_type == "StepCommandSent" and e.event.compensating
    ]
    assert compensating == ["CancelCreateTicket", "RejectOrderCommand"]
    assert "card limit" in system.orchestrator.find(placed.saga_id).failure_reason


# -- a failure at every step, with duplicates and crashes in the broker -----------------------


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("failure", FAILURES)
def test_every_failure_with_duplicates_ends_consistent(failure: str, seed: int) -> None:
    system = make_system(seed=seed, duplicates=0.4, crashes=0.2)
    placed = system.scenario(failure)
    system.run()
    outcome = system.outcome(placed)
    assert outcome.consistent, outcome
    expected = EXPECTED[failure]
    assert (outcome.order_state, outcome.ticket_state, outcome.authorized,
            outcome.saga_status) == expected  # fmt: skip
    assert not system.broker.dead_letters
    # each business effect happened once, however often its message came
    counts = business_counts(system)
    assert counts["OrderCreated"] == 1
    assert counts["OrderAuthorized"] + counts["OrderRejected"] == 1
    assert counts["TicketCreated"] <= 1 and counts["TicketCancelled"] <= 1
    assert counts["AccountAuthorized"] == (1 if expected[2] else 0)
    # each saga step was sent once, and each reply handled once
    sent = [
        (e.event.step, e.event.compensating)
        for e in system.store.load("CreateOrderSaga", placed.saga_id)
        if e.event_type == "StepCommandSent"
    ]
    assert len(sent) == len(set(sent))


def test_duplicates_and_crashes_were_really_injected() -> None:
    system = make_system(seed=1, duplicates=0.4, crashes=0.2)
    system.scenario("card authorization")
    system.run()
    outcomes = Counter(d.outcome for d in system.broker.deliveries)
    assert outcomes[SKIPPED] >= 2
    assert any(d.redelivery for d in system.broker.deliveries)


def test_crash_after_the_pivot_is_retried_not_compensated() -> None:
    system = make_system()
    placed = system.scenario("confirm ticket (crash)")
    system.run()
    failed = [d for d in system.broker.deliveries if d.outcome == FAILED]
    assert len(failed) == 1 and failed[0].topic == command_channel(KITCHEN_SERVICE)
    assert "CompensationStarted" not in saga_event_types(system, placed.saga_id)
    assert system.outcome(placed).saga_status == "COMPLETED"


# -- participants: idempotent commands, atomic replies -----------------------------------------


def test_a_redelivered_command_does_not_act_twice() -> None:
    system = make_system()
    placed = system.scenario("none")
    system.run()
    create_ticket = next(
        m
        for m in system.broker.messages(command_channel(KITCHEN_SERVICE))
        if m.headers["command_type"] == "CreateTicket"
    )
    before = system.store.last_position()
    with pytest.raises(DuplicateMessageError, match="already processed"):
        system.kitchen_service.handle_command(create_ticket)
    system.broker.publish(create_ticket.topic, create_ticket)  # the broker sends it again
    system.run()
    assert system.broker.deliveries[-1].outcome == SKIPPED
    assert system.store.last_position() == before
    rows = system.store.sql(
        "SELECT count(*) AS n FROM processed_messages WHERE message_id = $m",
        {"m": create_ticket.id},
    )
    assert int(rows["n"][0]) == 1
    assert system.outcome(placed).consistent


def test_business_events_reply_and_processed_row_commit_together() -> None:
    """If the reply cannot be written, neither can the ticket nor the processed row."""
    system = make_system()
    placed = system.scenario("none")
    kitchen = system.kitchen_service
    real_head = system.store.head
    calls = {"n": 0}

    def stale_head(entity_type: str, entity_id: str) -> int:
        if entity_type == REPLY_STREAM and calls["n"] == 0:
            calls["n"] += 1
            return real_head(entity_type, entity_id) - 1  # a stale read: conflict at commit
        return real_head(entity_type, entity_id)

    system.step()  # ValidateOrderByConsumer
    system.step()  # its reply
    system.store.head = stale_head  # type: ignore[method-assign]
    system.step()  # CreateTicket to the kitchen: its reply append conflicts
    last = system.broker.deliveries[-1]
    assert last.topic == command_channel(KITCHEN_SERVICE) and last.outcome == FAILED
    assert "SagaReply" in (last.error or "")  # the reply append clashed
    assert not system.store.head("Ticket", "ticket-order-1")
    assert not system.store.sql(
        "SELECT * FROM processed_messages WHERE consumer_id = $c", {"c": kitchen.service}
    ).shape[0]
    system.run()  # redelivered: this time it all commits, once
    assert system.store.head("Ticket", "ticket-order-1") == 2
    assert system.outcome(placed).consistent


def test_reply_request_is_written_with_the_business_events() -> None:
    system = make_system()
    placed = system.scenario("none")
    system.run()
    ticket_created = system.store.load("Ticket", "ticket-order-1")[0]
    replies = system.store.load(REPLY_STREAM, placed.saga_id)
    reply = next(r for r in replies if r.event.reply_type == "CreateTicketReply")
    # same transaction: consecutive positions, same causing message
    assert reply.position == ticket_created.position + 1
    assert reply.metadata.causation_id == ticket_created.metadata.causation_id
    assert reply.event.in_reply_to == ticket_created.triggering_event
    assert reply.event.reply == {"ticket_id": "ticket-order-1"}


def test_a_refusal_replies_failure_without_business_events() -> None:
    system = make_system()
    placed = system.scenario("ticket")
    system.run()
    replies = [r.event for r in system.store.load(REPLY_STREAM, placed.saga_id)]
    kitchen = [r for r in replies if r.participant == KITCHEN_SERVICE]
    assert [(r.outcome, r.reply_type) for r in kitchen] == [("FAILURE", "Failure")]
    assert "not accepting orders" in kitchen[0].reply["reason"]
    assert not system.store.head("Ticket", "ticket-order-1")


def test_a_duplicate_reply_is_skipped_by_the_orchestrator() -> None:
    system = make_system()
    placed = system.scenario("none")
    system.step()  # validate
    system.step()  # its reply
    reply = system.broker.messages(reply_channel("CreateOrderSaga"))[0]
    version = system.store.head("CreateOrderSaga", placed.saga_id)
    with pytest.raises(DuplicateMessageError, match="handled already"):
        system.orchestrator.handle_reply(reply)
    assert system.store.head("CreateOrderSaga", placed.saga_id) == version


def test_a_stale_reply_for_another_command_is_ignored() -> None:
    system = make_system()
    placed = system.scenario("none")
    system.step()
    stale = Message(
        "stale-1",
        reply_channel("CreateOrderSaga"),
        {},
        {"saga_id": placed.saga_id, "in_reply_to": "some-old-command", "reply_outcome": "SUCCESS"},
    )
    with pytest.raises(DuplicateMessageError, match="no longer waits"):
        system.orchestrator.handle_reply(stale)


# -- the orchestrator survives a crash -----------------------------------------------------------


def test_killing_the_orchestrator_mid_saga_resumes_from_its_stream() -> None:
    system = make_system()
    placed = system.scenario("card authorization")
    for _ in range(5):  # validate, reply, create ticket, reply, authorize → reply pending
        system.step()
    old = system.orchestrator
    assert old.find(placed.saga_id).current_step == 4
    ref = weakref.ref(old)
    # the Order Service process dies and a new one starts: it takes over the reply channel
    fresh = SagaOrchestrator(system.store, system.broker, CreateOrderSaga)
    system.orchestrator = system.order_service.orchestrator = fresh
    del old
    gc.collect()
    assert ref() is None  # nothing of the old orchestrator is left, not even in the broker
    assert fresh.instances == {}
    assert fresh.running() == [placed.saga_id]
    system.run()
    assert fresh.replayed == [placed.saga_id]  # rebuilt from the stream, not from memory
    assert saga_event_types(system, placed.saga_id) == SAGA_STREAMS["card authorization"]
    assert system.outcome(placed).consistent
    assert fresh.running() == []


def uninterrupted_deliveries(failure: str) -> int:
    system = make_system(seed=2, duplicates=0.3, crashes=0.1)
    system.scenario(failure)
    return len(system.run())


def test_restarting_every_service_after_any_delivery_ends_the_same() -> None:
    failure = "card authorization"  # forward steps, a failure and both compensations
    total = uninterrupted_deliveries(failure)
    for k in range(total + 1):
        system = make_system(seed=2, duplicates=0.3, crashes=0.1)
        placed = system.scenario(failure)
        for _ in range(k):
            system.step()
        system = system.restart()  # new orchestrator, services and relay; same store + broker
        gc.collect()
        system.run()
        outcome = system.outcome(placed)
        assert outcome.consistent, (k, outcome)
        assert outcome.saga_status == EXPECTED[failure][3]
        assert saga_event_types(system, placed.saga_id) == SAGA_STREAMS[failure], k


def test_a_reopened_file_store_carries_the_saga_on(tmp_path: Path) -> None:
    path = tmp_path / "ftgo.duckdb"
    broker = MessageBroker(seed=0, duplicate_rate=0.3)
    store = EventStore(path)
    system = FtgoSystem(store, broker)
    placed = system.scenario("none")
    for _ in range(4):
        system.step()
    store.close()  # the process ends; Kafka (the broker) keeps the messages
    del system, store
    gc.collect()
    reopened = EventStore(path)
    system = FtgoSystem(reopened, broker)
    assert system.orchestrator.running() == [placed.saga_id]
    system.run()
    assert system.outcome(placed).consistent
    assert system.outcome(placed).saga_status == "COMPLETED"
    reopened.close()


# -- correlation and causation ---------------------------------------------------------------------


def test_every_event_of_a_saga_carries_its_id_as_correlation_id() -> None:
    system = make_system()
    placed = system.scenario("card authorization")
    system.run()
    frame = correlated_events(system.store, placed.saga_id)
    assert set(frame["entity_type"]) == {
        "Order",
        "CreateOrderSaga",
        "Consumer",
        REPLY_STREAM,
        "Ticket",
        "Account",
    }
    # nothing of the saga is missing: every event written after the order is in it
    after = [e for e in system.store.read_all() if e.position >= frame["position"].min()]
    assert len(frame) == len(after)
    marks = compensation_marks(frame)
    marked = set(frame.set_index("position").loc[list(marks), "event_type"])
    assert marked == {"CompensationStarted", "StepCommandSent", "TicketCancelled", "OrderRejected"}


def test_causation_links_each_event_to_the_message_behind_it() -> None:
    system = make_system()
    placed = system.scenario("none")
    system.run()
    saga = system.store.load("CreateOrderSaga", placed.saga_id)
    commands = {e.event.message_id: e.event.command_type for e in saga
                if e.event_type == "StepCommandSent"}  # fmt: skip
    ticket = system.store.load("Ticket", "ticket-order-1")[0]
    assert commands[ticket.metadata.causation_id] == "CreateTicket"
    replies = {r.event_id: r for r in system.store.load(REPLY_STREAM, placed.saga_id)}
    received = [e for e in saga if e.event_type == "ReplyReceived"]
    for event in received:
        assert event.metadata.causation_id in replies
        assert event.triggering_event == event.event.message_id


# -- the relay ------------------------------------------------------------------------------------


def test_the_relay_routes_commands_replies_and_events() -> None:
    system = make_system()
    placed = system.scenario("none")
    system.relay.run()
    command = system.broker.messages(command_channel("ConsumerService"))
    assert len(command) == 1
    h = command[0].headers
    assert (h["kind"], h["command_type"], h["saga_id"], h["reply_to"]) == (
        "command",
        "ValidateOrderByConsumer",
        placed.saga_id,
        "CreateOrderSaga.replies",
    )
    assert h["correlation_id"] == placed.saga_id
    order_events = system.broker.messages("Order")
    assert [m.headers["event_type"] for m in order_events] == ["OrderCreated"]
    assert order_events[0].headers["sender"] == ORDER_SERVICE
    assert not system.store.unpublished(10)


def test_message_for_a_reply_uses_the_reply_channel() -> None:
    system = make_system()
    placed = system.scenario("none")
    system.run()
    stored = system.store.load(REPLY_STREAM, placed.saga_id)[0]
    message = message_for(stored)
    assert message.topic == "CreateOrderSaga.replies" and message.id == stored.event_id
    assert message.headers["reply_outcome"] == "SUCCESS"
    assert message.headers["in_reply_to"] == stored.event.in_reply_to


def test_event_messages_are_sent_by_the_owning_service_when_the_relay_knows_it() -> None:
    system = make_system()
    system.scenario("none")
    created = system.store.load("Order", "order-1")[0]
    assert message_for(created).headers["sender"] == "Order"  # no owners: the aggregate type
    assert message_for(created, OWNERS).headers["sender"] == ORDER_SERVICE
    assert system.relay.message_for(created).headers["sender"] == ORDER_SERVICE


def test_a_restarted_system_is_the_only_member_of_its_groups() -> None:
    system = make_system()
    system.scenario("none")
    system.step()
    restarted = system.restart()
    subs = {(s.topic, s.group): s for s in restarted.broker.subscriptions}
    kitchen = subs[(command_channel(KITCHEN_SERVICE), KITCHEN_SERVICE)]
    assert kitchen.handlers == [restarted.kitchen_service.handle_command]
    replies = subs[(reply_channel("CreateOrderSaga"), "CreateOrderSaga")]
    assert replies.handlers == [restarted.orchestrator.handle_reply]
    assert all(len(s.handlers) == 1 for s in subs.values())


def test_a_participant_must_say_where_the_events_it_handles_come_from() -> None:
    class Forgetful(SagaParticipant):
        service = "ForgetfulService"

        def event_handlers(self) -> dict[type, EventHandler]:
            return {OrderCreated: lambda event, ctx: None}

    broker = MessageBroker()
    with pytest.raises(SagaDefinitionError, match="event_sources"):
        Forgetful(EventStore()).listen_for_events(broker)
    assert not broker.subscriptions


def test_an_unknown_command_is_not_silently_dropped() -> None:
    system = make_system()
    bogus = Message("x-1", command_channel(ACCOUNTING_SERVICE), {}, {"command_type": "Nope"})
    with pytest.raises(SagaDefinitionError, match="no handler"):
        system.accounting_service.handle_command(bogus)


def test_start_takes_the_sagas_data_class() -> None:
    system = make_system()
    with pytest.raises(BadInputError, match="CreateOrderSagaState"):
        system.orchestrator.start({"order_id": "x"})


def test_a_conflicting_saga_append_drops_the_cached_instance() -> None:
    system = make_system()
    placed = system.scenario("none")
    system.step()
    reply_relayed = system.broker.messages(reply_channel("CreateOrderSaga"))[0]
    system.orchestrator.find(placed.saga_id)  # cached in memory now
    system.store.append(  # someone else moves the saga stream on
        "CreateOrderSaga",
        placed.saga_id,
        [system.store.load("CreateOrderSaga", placed.saga_id)[-1].event],
        system.store.head("CreateOrderSaga", placed.saga_id),
    )
    with pytest.raises(ConcurrencyError):
        system.orchestrator.handle_reply(reply_relayed)
    assert placed.saga_id not in system.orchestrator.instances


# -- choreography ----------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(
    "failure", ["none", "validation", "card authorization", "confirm ticket (crash)"]
)
def test_choreography_ends_consistent_too(failure: str, seed: int) -> None:
    system = make_system(seed=seed, duplicates=0.4, crashes=0.2, mode="choreography")
    placed = system.scenario(failure)
    system.run()
    outcome = system.outcome(placed)
    assert outcome.consistent, outcome
    assert placed.saga_id is None and outcome.saga_status == "none"
    approved = failure in ("none", "confirm ticket (crash)")
    assert outcome.order_state == ("APPROVED" if approved else "REJECTED")
    assert outcome.ticket_state == ("AWAITING_ACCEPTANCE" if approved else "CANCELLED")
    assert not system.store.read_all(entity_type="CreateOrderSaga")
    assert not system.broker.dead_letters
    counts = business_counts(system)
    assert counts["TicketCreated"] == 1 and counts["OrderCreated"] == 1


def test_choreography_correlates_by_order_id_and_has_no_orchestrator() -> None:
    system = make_system(mode="choreography")
    placed = system.scenario("card authorization")
    system.run()
    frame = correlated_events(system.store, placed.order_id)
    assert set(frame["entity_type"]) == {"Order", "Consumer", "Ticket", "Account"}
    assert system.orchestrator is None and system.lanes[0] == ORDER_SERVICE
    events = list(frame["event_type"])
    assert events.index("AccountAuthorizationFailed") < events.index("OrderRejected")


def test_choreography_has_no_kitchen_refusal() -> None:
    system = make_system(mode="choreography")
    with pytest.raises(BadInputError, match="no kitchen refusal"):
        system.scenario("ticket")


def test_unknown_mode_and_failure_are_refused() -> None:
    with pytest.raises(BadInputError, match="orchestration"):
        FtgoSystem(mode="dance")
    with pytest.raises(BadInputError, match="failure must be one of"):
        make_system().scenario("meteor")


def test_a_crash_before_commit_is_redelivered_and_done_once() -> None:
    system = make_system()
    system.kitchen_service.crash_next(ConfirmCreateTicket, times=2)
    placed = system.scenario("none")
    system.run()
    failed = [d for d in system.broker.deliveries if d.outcome == FAILED]
    assert len(failed) == 2 and all("crashed" in (d.error or "") for d in failed)
    assert system.store.head("Ticket", "ticket-order-1") == 2
    assert system.outcome(placed).consistent
