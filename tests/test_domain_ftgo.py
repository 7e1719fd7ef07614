"""The FTGO saga participants' aggregates: Ticket (Kitchen), Account (Accounting), Consumer."""

from __future__ import annotations

from datetime import datetime

import pytest

from eslab import AggregateRepository, CommandRejectedError, EventStore, FixedClock, SeededIds
from eslab.domain.accounting import (
    Account,
    AccountAuthorizationFailed,
    AccountAuthorizationReversed,
    AccountAuthorized,
    AuthorizeCard,
    CreateAccount,
    ReverseAuthorization,
)
from eslab.domain.consumer import (
    Consumer,
    ConsumerVerificationFailed,
    ConsumerVerified,
    RegisterConsumer,
    SuspendConsumer,
    ValidateOrderByConsumer,
)
from eslab.domain.kitchen import (
    AcceptTicket,
    BeginCancelTicket,
    BeginReviseTicket,
    CancelCreateTicket,
    ConfirmCancelTicket,
    ConfirmCreateTicket,
    ConfirmReviseTicket,
    CreateTicket,
    MarkReadyForPickup,
    PickUpTicket,
    StartPreparing,
    Ticket,
    TicketLineItem,
    TicketState,
    UndoCancelTicket,
    UndoReviseTicket,
)
from eslab.domain.order import Money

ITEMS = [TicketLineItem("vindaloo", "Chicken Vindaloo", 2), TicketLineItem("naan", "Naan", 1)]
READY_BY = datetime(2024, 1, 1, 19, 30)


@pytest.fixture
def store() -> EventStore:
    return EventStore(clock=FixedClock(), id_factory=SeededIds(0))


def run(aggregate_class: type, *commands: object) -> object:
    """Process commands one after another on a fresh aggregate (no store)."""
    aggregate = aggregate_class()
    for command in commands:
        aggregate = aggregate_class.replay(aggregate.process(command), aggregate)
    return aggregate


# -- Ticket --------------------------------------------------------------------------------


def test_the_saga_path_of_a_ticket_create_then_confirm() -> None:
    ticket = run(Ticket, CreateTicket("order-1", "ajanta", ITEMS))
    assert ticket.state is TicketState.CREATE_PENDING
    assert (ticket.order_id, ticket.restaurant_id, ticket.line_items) == (
        "order-1",
        "ajanta",
        ITEMS,
    )
    ticket = Ticket.replay(ticket.process(ConfirmCreateTicket("t")), ticket)
    assert ticket.state is TicketState.AWAITING_ACCEPTANCE


def test_compensation_cancels_a_pending_ticket_and_keeps_the_reason() -> None:
    ticket = run(Ticket, CreateTicket("order-1", "ajanta", ITEMS), CancelCreateTicket("t", "card"))
    assert ticket.state is TicketState.CANCELLED
    assert ticket.cancel_reason == "card"


def test_a_ticket_goes_all_the_way_to_picked_up() -> None:
    ticket = run(
        Ticket,
        CreateTicket("order-1", "ajanta", ITEMS),
        ConfirmCreateTicket("t"),
        AcceptTicket(READY_BY),
        StartPreparing(),
        MarkReadyForPickup(),
        PickUpTicket(),
    )
    assert ticket.state is TicketState.PICKED_UP
    assert ticket.ready_by == READY_BY


@pytest.mark.parametrize("start", ["awaiting", "accepted"])
def test_cancel_pending_goes_back_on_undo_and_to_cancelled_on_confirm(start: str) -> None:
    steps = [CreateTicket("o", "r", ITEMS), ConfirmCreateTicket("t")]
    if start == "accepted":
        steps.append(AcceptTicket(READY_BY))
    before = run(Ticket, *steps).state
    pending = run(Ticket, *steps, BeginCancelTicket())
    assert pending.state is TicketState.CANCEL_PENDING
    assert run(Ticket, *steps, BeginCancelTicket(), UndoCancelTicket()).state is before
    assert run(Ticket, *steps, BeginCancelTicket(), ConfirmCancelTicket()).state is (
        TicketState.CANCELLED
    )


def test_revision_pending_changes_quantities_or_goes_back() -> None:
    steps = [CreateTicket("o", "r", ITEMS), ConfirmCreateTicket("t")]
    revise = BeginReviseTicket({"naan": 0, "vindaloo": 3})
    assert run(Ticket, *steps, revise).state is TicketState.REVISION_PENDING
    done = run(Ticket, *steps, revise, ConfirmReviseTicket())
    assert done.state is TicketState.AWAITING_ACCEPTANCE
    assert done.line_items == [TicketLineItem("vindaloo", "Chicken Vindaloo", 3)]
    undone = run(Ticket, *steps, revise, UndoReviseTicket())
    assert undone.state is TicketState.AWAITING_ACCEPTANCE and undone.line_items == ITEMS


@pytest.mark.parametrize(
    ("commands", "refused", "message"),
    [
        ([], ConfirmCreateTicket("t"), "not created"),
        ([CreateTicket("o", "r", ITEMS)], AcceptTicket(READY_BY), "CREATE_PENDING"),
        ([CreateTicket("o", "r", ITEMS), ConfirmCreateTicket("t")], CancelCreateTicket("t"),
         "AWAITING_ACCEPTANCE"),
        ([CreateTicket("o", "r", ITEMS)], CreateTicket("o", "r", ITEMS), "already exists"),
        ([], CreateTicket("o", "r", []), "at least one line item"),
        ([CreateTicket("o", "r", ITEMS), ConfirmCreateTicket("t")],
         BeginReviseTicket({"pizza": 1}), "not on the ticket"),
    ],
)  # fmt: skip
def test_a_ticket_refuses_commands_its_state_does_not_allow(
    commands: list[object], refused: object, message: str
) -> None:
    ticket = run(Ticket, *commands)
    with pytest.raises(CommandRejectedError, match=message):
        ticket.process(refused)


def test_a_ticket_round_trips_through_the_store(store: EventStore) -> None:
    repo = AggregateRepository(store, Ticket)
    repo.save(CreateTicket("order-1", "ajanta", ITEMS), entity_id="ticket-1")
    repo.update("ticket-1", ConfirmCreateTicket("ticket-1"))
    repo.update("ticket-1", AcceptTicket(READY_BY))
    found = repo.find("ticket-1")
    assert found.state is TicketState.ACCEPTED and found.version == 3
    assert found.line_items == ITEMS and found.ready_by == READY_BY


# -- Account -------------------------------------------------------------------------------


def account(limit: int = 5000) -> Account:
    return run(Account, CreateAccount("alice", Money(limit)))


def test_authorization_within_the_limit_reserves_the_amount() -> None:
    acc = account()
    events = acc.process(AuthorizeCard("alice", "order-1", Money(2500)))
    assert events == [AccountAuthorized("order-1", Money(2500))]
    acc = Account.replay(events, acc)
    assert acc.authorizations == {"order-1": Money(2500)}
    assert acc.available == Money(2500)


def test_authorization_over_the_card_limit_fails_as_an_event() -> None:
    acc = Account.replay(account().process(AuthorizeCard("alice", "o-1", Money(4000))), account())
    events = acc.process(AuthorizeCard("alice", "o-2", Money(1500)))
    assert len(events) == 1 and isinstance(events[0], AccountAuthorizationFailed)
    assert "card limit" in events[0].reason and "€10.00" in events[0].reason
    after = Account.replay(events, acc)
    assert after.authorizations == {"o-1": Money(4000)}
    assert after.failed_authorizations == ["o-2"]


def test_reversing_gives_the_amount_back() -> None:
    acc = account()
    acc = Account.replay(acc.process(AuthorizeCard("alice", "o-1", Money(4000))), acc)
    events = acc.process(ReverseAuthorization("o-1"))
    assert events == [AccountAuthorizationReversed("o-1", Money(4000))]
    assert Account.replay(events, acc).available == Money(5000)


@pytest.mark.parametrize(
    ("acc", "command", "message"),
    [
        (Account(), AuthorizeCard("x", "o", Money(1)), "create it"),
        (None, ReverseAuthorization("o-9"), "no authorization"),
        (None, AuthorizeCard("alice", "o", Money(1, "USD")), "USD"),
        (None, CreateAccount("alice", Money(1)), "already exists"),
    ],
)
def test_an_account_refuses_what_makes_no_sense(
    acc: Account | None, command: object, message: str
) -> None:
    with pytest.raises(CommandRejectedError, match=message):
        (acc or account()).process(command)


def test_authorizing_the_same_order_twice_is_refused() -> None:
    acc = account()
    acc = Account.replay(acc.process(AuthorizeCard("alice", "o-1", Money(100))), acc)
    with pytest.raises(CommandRejectedError, match="already authorized"):
        acc.process(AuthorizeCard("alice", "o-1", Money(100)))


# -- Consumer ------------------------------------------------------------------------------


def test_a_consumer_verifies_orders_within_the_limit() -> None:
    consumer = run(Consumer, RegisterConsumer("Alice", Money(3000)))
    events = consumer.process(ValidateOrderByConsumer("alice", "o-1", Money(2500)))
    assert events == [ConsumerVerified("o-1", Money(2500))]
    assert Consumer.replay(events, consumer).verified_orders == ["o-1"]


@pytest.mark.parametrize(
    ("suspend", "total", "reason"),
    [(False, 3500, "over the limit"), (True, 100, "suspended (fraud)")],
)
def test_a_consumer_refuses_orders_over_the_limit_or_when_suspended(
    suspend: bool, total: int, reason: str
) -> None:
    commands: list[object] = [RegisterConsumer("Bob", Money(3000))]
    if suspend:
        commands.append(SuspendConsumer("fraud"))
    consumer = run(Consumer, *commands)
    events = consumer.process(ValidateOrderByConsumer("bob", "o-1", Money(total)))
    assert len(events) == 1 and isinstance(events[0], ConsumerVerificationFailed)
    assert reason in events[0].reason
    assert Consumer.replay(events, consumer).refused_orders == ["o-1"]


def test_an_unregistered_consumer_cannot_validate() -> None:
    with pytest.raises(CommandRejectedError, match="register them first"):
        Consumer().process(ValidateOrderByConsumer("x", "o", Money(1)))


def test_accounts_and_consumers_round_trip_through_the_store(store: EventStore) -> None:
    accounts = AggregateRepository(store, Account)
    accounts.save(CreateAccount("alice", Money(5000)), entity_id="alice")
    accounts.update("alice", AuthorizeCard("alice", "o-1", Money(1200)))
    accounts.update("alice", AuthorizeCard("alice", "o-2", Money(9000)))
    acc = accounts.find("alice")
    assert acc.authorizations == {"o-1": Money(1200)} and acc.failed_authorizations == ["o-2"]
    consumers = AggregateRepository(store, Consumer)
    consumers.save(RegisterConsumer("Alice", Money(100)), entity_id="alice")
    consumers.update("alice", SuspendConsumer("late payments"))
    assert consumers.find("alice").suspended
