"""Sagas with event sourcing (book §6.3; seed "3 사가와 이벤트 소싱을 접목").

A saga keeps data consistent across services with a sequence of local transactions,
each in one service; when a step fails, *compensating transactions* undo the earlier
steps, backwards. This module has the four pieces of §6.3, in the book's words:

1. **The saga definition** (§6.3.2) — steps that read like Eventuate Tram's DSL::

       step().with_compensation(ORDER_SERVICE, CreateOrderSagaState.make_reject_order_command)
       .step().invoke_participant(CONSUMER_SERVICE, CreateOrderSagaState.make_validate_...)
       ...

   :class:`CreateOrderSaga` is the book's saga (design.md): reject order ← validate
   with the Consumer Service ← create ticket (→ cancel ticket) ← authorize card (the
   pivot) → confirm ticket → approve order.
2. **An event-sourced orchestrator** (§6.3.4) — :class:`SagaOrchestrator`. A saga
   instance is its own stream (``SagaStarted``, ``StepCommandSent``, ``ReplyReceived``,
   ``CompensationStarted``, ``SagaCompleted`` / ``SagaFailed``). Commands are sent
   reliably because ``StepCommandSent`` *is* the outgoing command, published by a relay;
   replies are handled once because each ``ReplyReceived`` keeps the reply's message
   id. A new orchestrator (after a crash) replays the stream and carries on.
3. **Event-sourced participants** (§6.3.3) — :class:`SagaParticipant`. A command is
   handled **idempotently** (its message id goes into ``processed_messages`` in the same
   transaction as the events) and the reply is sent **atomically**: a
   ``SagaReplyRequested`` event is written in that same transaction and the relay
   publishes it. (Eventuate puts that pseudo event in the aggregate's own stream; eslab
   puts it in the saga's ``SagaReply`` stream, written in the same transaction — just
   as atomic, and a refusal that changes no aggregate can reply the same way.)
4. **Choreography** (§6.3.1) — the same services reacting to each other's events, with
   no orchestrator (:class:`FtgoSystem` with ``mode="choreography"``).

:class:`SagaMessageRelay` publishes all of it from the event store (the outbox), and
:class:`FtgoSystem` wires the four FTGO services, the relay and a broker so a notebook
can step through the messages. Every event of one saga carries the saga id as its
``correlation_id`` and the id of the message that caused it as its ``causation_id``.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pandas as pd

from eslab.aggregate import Aggregate, AggregateRepository
from eslab.domain.accounting import (
    Account,
    AccountAuthorizationFailed,
    AccountAuthorized,
    AuthorizeCard,
    CreateAccount,
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
    CancelCreateTicket,
    ConfirmCreateTicket,
    CreateTicket,
    Ticket,
    TicketLineItem,
)
from eslab.domain.order import (
    Address,
    ApproveOrder,
    CreateOrder,
    LineItem,
    Money,
    Order,
    OrderCreated,
    RejectOrder,
)
from eslab.errors import (
    BadInputError,
    CommandRejectedError,
    ConcurrencyError,
    DuplicateMessageError,
    EntityNotFoundError,
    EslabError,
    StreamExistsError,
)
from eslab.events import Event, EventMetadata, StoredEvent
from eslab.messaging import Delivery, Message, MessageBroker, Subscription, message_from_event
from eslab.publishing import PollingPublisher
from eslab.serialization import decode, encode
from eslab.store import EventStore, UnitOfWork


class SagaDefinitionError(BadInputError):
    """A saga definition is built in a way the orchestrator cannot run."""


class ParticipantCrash(EslabError):
    """Injected: a service crashed while handling a message (the broker will redeliver)."""


class ServiceDownError(EslabError):
    """A message reached a service whose process is not running (the broker retries)."""


class NotReadyError(EslabError):
    """A choreography event arrived before the one it depends on (the broker retries)."""


# == 1. Saga definitions =================================================================

ORDER_SERVICE = "OrderService"
CONSUMER_SERVICE = "ConsumerService"
KITCHEN_SERVICE = "KitchenService"
ACCOUNTING_SERVICE = "AccountingService"
SERVICES = (ORDER_SERVICE, CONSUMER_SERVICE, KITCHEN_SERVICE, ACCOUNTING_SERVICE)

SUCCESS, FAILURE = "SUCCESS", "FAILURE"
"""The two reply outcomes (Eventuate's ``reply_outcome-type`` header)."""

REPLY_STREAM = "SagaReply"
"""Entity type of the streams holding participants' ``SagaReplyRequested`` events."""


def command_channel(participant: str) -> str:
    """The channel (topic) a participant receives its commands on."""
    return f"{participant}.commands"


def reply_channel(saga_type: str) -> str:
    """The channel (topic) a saga type's orchestrator receives replies on."""
    return f"{saga_type}.replies"


@dataclass(frozen=True)
class Success:
    """A reply that only says 'done'."""


@dataclass(frozen=True)
class Failure:
    """A reply that says 'refused', and why."""

    reason: str = ""


@dataclass(frozen=True)
class Reply:
    """What a participant's command handler returns: an outcome and a reply body."""

    outcome: str
    body: Any

    @property
    def reply_type(self) -> str:
        return type(self.body).__name__


def with_success(body: Any = None) -> Reply:
    """The handler succeeded; ``body`` (a dataclass) travels back, e.g. a ticket id."""
    return Reply(SUCCESS, Success() if body is None else body)


def with_failure(reason: str) -> Reply:
    """The handler refused the command: the orchestrator starts compensating."""
    return Reply(FAILURE, Failure(reason))


CommandFactory = Callable[[Any], object]
ReplyHandler = Callable[[Any, Any], None]


def _words(factory: Callable[..., Any]) -> str:
    name = getattr(factory, "__name__", "step")
    name = name.removeprefix("make_").removesuffix("_command")
    return name.replace("_", " ")


@dataclass
class SagaStep:
    """One step: a command for a participant, reply handlers, and a compensation."""

    number: int
    participant: str | None = None
    command: CommandFactory | None = None
    reply_handlers: dict[type, ReplyHandler] = field(default_factory=dict)
    compensation_participant: str | None = None
    compensation: CommandFactory | None = None

    @property
    def name(self) -> str:
        """Readable name from the command factory ('make_create_ticket_command' → ...)."""
        if self.command is not None:
            return _words(self.command)
        if self.compensation is not None:
            return f"(compensation only: {_words(self.compensation)})"
        return "(empty)"


class SagaDefinitionBuilder:
    """Builds a :class:`SagaDefinition` step by step, like Eventuate Tram's DSL."""

    def __init__(self) -> None:
        self._steps: list[SagaStep] = []

    def step(self) -> SagaDefinitionBuilder:
        """Start the next step."""
        self._steps.append(SagaStep(len(self._steps) + 1))
        return self

    def _current(self, what: str) -> SagaStep:
        if not self._steps:
            raise SagaDefinitionError(f"{what} needs a step first: begin with step().")
        return self._steps[-1]

    def invoke_participant(
        self, participant: str, command: CommandFactory
    ) -> SagaDefinitionBuilder:
        """Send ``command(saga data)`` to ``participant`` in this step."""
        current = self._current("invoke_participant()")
        if current.command is not None:
            raise SagaDefinitionError(
                f"Step {current.number} already invokes a participant; "
                "start a new one with .step()."
            )
        current.participant, current.command = _check_participant(participant), command
        return self

    def on_reply(self, reply_type: type, handler: ReplyHandler) -> SagaDefinitionBuilder:
        """Call ``handler(saga data, reply)`` when a successful reply of ``reply_type`` comes."""
        current = self._current("on_reply()")
        if current.command is None:
            raise SagaDefinitionError(
                f"Step {current.number}: on_reply() follows "
                "invoke_participant(): only a command gets a reply."
            )
        current.reply_handlers[reply_type] = handler
        return self

    def with_compensation(self, participant: str, command: CommandFactory) -> SagaDefinitionBuilder:
        """If a later step fails, send ``command(saga data)`` to ``participant`` to undo this."""
        current = self._current("with_compensation()")
        current.compensation_participant = _check_participant(participant)
        current.compensation = command
        return self

    def build(self) -> SagaDefinition:
        """The finished definition."""
        if not any(s.command for s in self._steps):
            raise SagaDefinitionError("A saga needs at least one step that invokes a participant.")
        return SagaDefinition(tuple(self._steps))


def _check_participant(participant: object) -> str:
    if not isinstance(participant, str) or not participant:
        raise SagaDefinitionError(
            f"A participant is a service name such as {KITCHEN_SERVICE!r}, got {participant!r}."
        )
    return participant


def step() -> SagaDefinitionBuilder:
    """Begin a saga definition with its first step (Eventuate's ``step()``)."""
    return SagaDefinitionBuilder().step()


@dataclass(frozen=True)
class SagaDefinition:
    """The steps of a saga, and the questions an orchestrator asks about them."""

    steps: tuple[SagaStep, ...]

    def step(self, number: int) -> SagaStep:
        return self.steps[number - 1]

    def next_action(self, after: int) -> SagaStep | None:
        """The first step after step ``after`` that invokes a participant."""
        return next((s for s in self.steps[after:] if s.command is not None), None)

    def next_compensation(self, before: int) -> SagaStep | None:
        """Going backwards: the nearest step before ``before`` that has a compensation."""
        return next(
            (s for s in reversed(self.steps[: before - 1]) if s.compensation is not None), None
        )

    def compensations_after_failure(self, failed_step: int) -> list[SagaStep]:
        """The compensating steps that run, in order, when step ``failed_step`` fails."""
        out, before = [], failed_step
        while (s := self.next_compensation(before)) is not None:
            out.append(s)
            before = s.number
        return out

    @property
    def pivot(self) -> int:
        """The go/no-go step: the first participant step after the last compensatable one."""
        last = max((s.number for s in self.steps if s.compensation), default=0)
        found = self.next_action(last)
        return found.number if found else len(self.steps)

    def kind(self, number: int) -> str:
        """'compensatable', 'pivot' or 'retriable' (book §4.3.2)."""
        if number < self.pivot:
            return "compensatable"
        return "pivot" if number == self.pivot else "retriable"

    def table(self) -> pd.DataFrame:
        """The definition as a table: one row per step."""
        rows = []
        for s in self.steps:
            rows.append(
                {
                    "step": s.number,
                    "participant": s.participant or "",
                    "command": _words(s.command) if s.command else "—",
                    "on reply": ", ".join(t.__name__ for t in s.reply_handlers) or "",
                    "compensation": (
                        f"{s.compensation_participant}: {_words(s.compensation)}"
                        if s.compensation
                        else ""
                    ),
                    "kind": self.kind(s.number),
                }
            )
        return pd.DataFrame(rows)


class Saga:
    """A saga type: its data class and its definition (Eventuate's ``SimpleSaga``).

    Subclass it and set ``data_class`` and ``definition``; the class name is the saga
    type, which names the saga's streams and its reply channel.
    """

    data_class: ClassVar[type]
    definition: ClassVar[SagaDefinition]

    @classmethod
    def saga_type(cls) -> str:
        return cls.__name__


# -- the CreateOrderSaga ------------------------------------------------------------------


@dataclass(frozen=True)
class ApproveOrderCommand:
    """Saga step 6: the Order Service approves the order."""

    order_id: str


@dataclass(frozen=True)
class RejectOrderCommand:
    """Compensation of step 1: the Order Service rejects the order."""

    order_id: str
    reason: str = "rejected by the CreateOrderSaga"


@dataclass(frozen=True)
class CreateTicketReply:
    """The Kitchen Service's reply to CreateTicket: which ticket it created."""

    ticket_id: str


@dataclass
class CreateOrderSagaState:
    """The saga's data: what it needs to build each command (the book's class)."""

    order_id: str
    consumer_id: str
    restaurant_id: str
    line_items: list[LineItem]
    order_total: Money
    ticket_id: str | None = None

    @classmethod
    def for_order(cls, order_id: str, created: OrderCreated) -> CreateOrderSagaState:
        """The saga data for a new order, from its OrderCreated event."""
        return cls(
            order_id,
            created.consumer_id,
            created.restaurant_id,
            list(created.line_items),
            created.total,
        )

    def make_reject_order_command(self) -> RejectOrderCommand:
        return RejectOrderCommand(self.order_id)

    def make_validate_order_command(self) -> ValidateOrderByConsumer:
        return ValidateOrderByConsumer(self.consumer_id, self.order_id, self.order_total)

    def make_create_ticket_command(self) -> CreateTicket:
        items = [TicketLineItem(i.menu_item_id, i.name, i.quantity) for i in self.line_items]
        return CreateTicket(self.order_id, self.restaurant_id, items)

    def handle_create_ticket_reply(self, reply: CreateTicketReply) -> None:
        self.ticket_id = reply.ticket_id

    def make_cancel_create_ticket_command(self) -> CancelCreateTicket:
        return CancelCreateTicket(self._ticket())

    def make_authorize_card_command(self) -> AuthorizeCard:
        return AuthorizeCard(self.consumer_id, self.order_id, self.order_total)

    def make_confirm_create_ticket_command(self) -> ConfirmCreateTicket:
        return ConfirmCreateTicket(self._ticket())

    def make_approve_order_command(self) -> ApproveOrderCommand:
        return ApproveOrderCommand(self.order_id)

    def _ticket(self) -> str:
        if self.ticket_id is None:
            raise SagaDefinitionError(
                "The saga has no ticket id yet: the CreateTicketReply "
                "handler sets it (on_reply of the create-ticket step)."
            )
        return self.ticket_id


class CreateOrderSaga(Saga):
    """The book's CreateOrderSaga (listing 4.2 / design.md), run by an orchestrator."""

    data_class = CreateOrderSagaState
    # fmt: off
    definition = (
        step()
            .with_compensation(ORDER_SERVICE, CreateOrderSagaState.make_reject_order_command)
        .step()
            .invoke_participant(CONSUMER_SERVICE, CreateOrderSagaState.make_validate_order_command)
        .step()
            .invoke_participant(KITCHEN_SERVICE, CreateOrderSagaState.make_create_ticket_command)
            .on_reply(CreateTicketReply, CreateOrderSagaState.handle_create_ticket_reply)
            .with_compensation(KITCHEN_SERVICE,
                               CreateOrderSagaState.make_cancel_create_ticket_command)
        .step()
            .invoke_participant(ACCOUNTING_SERVICE,
                                CreateOrderSagaState.make_authorize_card_command)
        .step()
            .invoke_participant(KITCHEN_SERVICE,
                                CreateOrderSagaState.make_confirm_create_ticket_command)
        .step()
            .invoke_participant(ORDER_SERVICE, CreateOrderSagaState.make_approve_order_command)
        .build()
    )
    # fmt: on


# == 2. The saga instance: an event-sourced stream ========================================


@dataclass(frozen=True)
class SagaStarted(Event):
    saga_type: str
    data: dict[str, Any]


@dataclass(frozen=True)
class StepCommandSent(Event):
    """The orchestrator's command to a participant — and the outgoing message itself."""

    step: int
    participant: str
    command_type: str
    command: dict[str, Any]
    message_id: str
    compensating: bool = False


@dataclass(frozen=True)
class ReplyReceived(Event):
    """A participant's reply; ``message_id`` makes a redelivered reply recognisable."""

    step: int
    participant: str
    reply_type: str
    outcome: str
    reply: dict[str, Any]
    message_id: str
    data: dict[str, Any] | None = None
    """The saga data after an ``on_reply`` handler changed it (None: unchanged)."""


@dataclass(frozen=True)
class CompensationStarted(Event):
    failed_step: int
    reason: str


@dataclass(frozen=True)
class SagaCompleted(Event):
    pass


@dataclass(frozen=True)
class SagaFailed(Event):
    """The saga ended without doing its job; the compensations have run."""

    reason: str


@dataclass(frozen=True)
class SagaReplyRequested(Event):
    """A participant's reply, written with its business events; the relay sends it."""

    saga_type: str
    participant: str
    in_reply_to: str
    reply_type: str
    outcome: str
    reply: dict[str, Any]


class SagaStatus(enum.Enum):
    RUNNING = "RUNNING"
    COMPENSATING = "COMPENSATING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"


@dataclass
class SagaInstance(Aggregate):
    """The orchestrator's state for one saga, rebuilt by replaying the saga's stream."""

    saga_type: str = ""
    status: SagaStatus | None = None
    data: dict[str, Any] = field(default_factory=dict)
    current_step: int = 0
    awaiting: str | None = None
    """Message id of the command whose reply the saga waits for."""
    awaiting_command: str = ""
    replies: list[str] = field(default_factory=list)
    """Message ids of the replies handled (to recognise a redelivery)."""
    failed_step: int | None = None
    failure_reason: str = ""

    @property
    def finished(self) -> bool:
        return self.status in (SagaStatus.COMPLETED, SagaStatus.FAILED)

    def apply_started(self, event: SagaStarted) -> None:
        self.saga_type, self.data = event.saga_type, dict(event.data)
        self.status = SagaStatus.RUNNING

    def apply_command_sent(self, event: StepCommandSent) -> None:
        self.current_step, self.awaiting = event.step, event.message_id
        self.awaiting_command = event.command_type

    def apply_reply_received(self, event: ReplyReceived) -> None:
        self.replies = [*self.replies, event.message_id]
        self.awaiting, self.awaiting_command = None, ""
        if event.data is not None:
            self.data = dict(event.data)

    def apply_compensation_started(self, event: CompensationStarted) -> None:
        self.status = SagaStatus.COMPENSATING
        self.failed_step, self.failure_reason = event.failed_step, event.reason

    def apply_completed(self, event: SagaCompleted) -> None:
        self.status = SagaStatus.COMPLETED

    def apply_failed(self, event: SagaFailed) -> None:
        self.status, self.failure_reason = SagaStatus.FAILED, event.reason


# == 3. The orchestrator ===================================================================


def join_group(
    broker: MessageBroker, topic: str, group: str, handler: Callable[[Message], Any]
) -> Subscription:
    """Become the one member of consumer ``group`` on ``topic``.

    A restarted service takes over its group's place (and offset), as a Kafka consumer
    does after a rebalance: the dead process's handler is no longer called.
    """
    for sub in broker.subscriptions:
        if (sub.topic, sub.group) == (topic, group):
            sub.handlers[:] = [handler]
            return sub
    return broker.subscribe(topic, group, handler)


class SagaOrchestrator:
    """Runs sagas of one type; every decision is an event in the saga's own stream.

    It keeps instances in memory only as a cache: a new orchestrator (after a crash)
    knows nothing, and rebuilds a saga from its stream when the next reply arrives
    (``replayed`` lists the saga ids it had to rebuild).
    """

    def __init__(
        self,
        store: EventStore,
        broker: MessageBroker | None,
        saga: type[Saga],
        *,
        id_factory: Callable[[], str] | None = None,
    ) -> None:
        if not (isinstance(saga, type) and issubclass(saga, Saga)):
            raise SagaDefinitionError(
                f"{saga!r} is not a Saga subclass (with data_class and definition)."
            )
        self.store, self.saga = store, saga
        self.saga_type = saga.saga_type()
        self.definition = saga.definition
        self.id_factory = id_factory or store.id_factory
        self.instances: dict[str, SagaInstance] = {}
        self.replayed: list[str] = []
        if broker is not None:
            join_group(broker, reply_channel(self.saga_type), self.saga_type, self.handle_reply)

    def __repr__(self) -> str:
        return f"SagaOrchestrator({self.saga_type}, {len(self.instances)} in memory)"

    # -- starting ---------------------------------------------------------------------

    def start(
        self,
        data: Any,
        *,
        saga_id: str | None = None,
        uow: UnitOfWork | None = None,
        causation_id: str | None = None,
    ) -> str:
        """Start a saga: ``SagaStarted`` + the first ``StepCommandSent``, in one append.

        Pass ``uow`` to start it in the same transaction as, e.g., the new Order.
        """
        if not isinstance(data, self.saga.data_class):
            raise BadInputError(
                f"{self.saga_type} takes a {self.saga.data_class.__name__}, "
                f"got {type(data).__name__}."
            )
        saga_id = saga_id or self.id_factory()
        events: list[Event] = [SagaStarted(self.saga_type, encode(data))]
        events += self._forward(data, after=0)
        metadata = EventMetadata(correlation_id=saga_id, causation_id=causation_id)
        target = uow or self.store
        version = target.append(self.saga_type, saga_id, events, 0, metadata=metadata)
        instance = SagaInstance.replay(events)
        instance.id, instance.version = saga_id, version
        self.instances[saga_id] = instance
        return saga_id

    def start_on_event(self, message: Message, data: Any) -> str:
        """Start a saga when an event arrives, idempotently (the NoSQL-store way, §6.3.2).

        Without a transaction spanning the Order and the saga, the Order Service only
        saves the Order; a handler of its OrderCreated event starts the saga. The saga id
        is derived from the event's id, so a redelivered event finds the saga's stream
        already there (expected version 0 fails) and is skipped.
        """
        saga_id = f"saga-{message.id}"
        try:
            return self.start(data, saga_id=saga_id, causation_id=message.id)
        except StreamExistsError:
            raise DuplicateMessageError(
                f"Saga {saga_id} was already started by event {message.id}: a redelivery."
            ) from None

    # -- replies ----------------------------------------------------------------------

    def handle_reply(self, message: Message) -> None:
        """A broker handler: decide what a reply means and append that to the saga stream."""
        saga_id = message.headers.get("saga_id", "")
        instance = self.find(saga_id)
        if message.id in instance.replies:
            raise DuplicateMessageError(
                f"Reply {message.id} to saga {saga_id} was handled "
                "already (its id is in a ReplyReceived event)."
            )
        if instance.finished or message.headers.get("in_reply_to") != instance.awaiting:
            raise DuplicateMessageError(
                f"Reply {message.id} answers a command saga {saga_id} no longer waits for; ignored."
            )
        events = self._decide(instance, message)
        metadata = EventMetadata(
            correlation_id=saga_id, causation_id=message.id, triggering_message_id=message.id
        )
        try:
            version = self.store.append(
                self.saga_type, saga_id, events, instance.version, metadata=metadata
            )
        except ConcurrencyError:
            self.instances.pop(saga_id, None)  # someone else moved it: reload next time
            raise
        instance = SagaInstance.replay(events, instance)
        instance.version = version

    def _decide(self, instance: SagaInstance, message: Message) -> list[Event]:
        step_ = self.definition.step(instance.current_step)
        data = self.data(instance)
        outcome = message.headers.get("reply_outcome", FAILURE)
        reply_type = message.headers.get("reply_type", "")
        payload = message.payload if isinstance(message.payload, dict) else {}
        changed = None
        if outcome == SUCCESS and instance.status is SagaStatus.RUNNING:
            changed = self._on_reply(step_, reply_type, payload, data)
        participant = message.headers.get("sender", "")
        events: list[Event] = [
            ReplyReceived(
                step_.number, participant, reply_type, outcome, payload, message.id, changed
            )
        ]
        if instance.status is SagaStatus.COMPENSATING:
            if outcome != SUCCESS:
                return events + [
                    SagaFailed(
                        f"compensation at step {step_.number} failed "
                        f"({payload.get('reason', '')}); fix by hand"
                    )
                ]
            return events + self._backward(data, step_.number, instance.failure_reason)
        if outcome == SUCCESS:
            return events + self._forward(data, after=step_.number)
        reason = f"step {step_.number} ({step_.name}) failed: {payload.get('reason', '')}"
        events.append(CompensationStarted(step_.number, reason))
        return events + self._backward(data, step_.number, reason)

    def _on_reply(
        self, step_: SagaStep, reply_type: str, payload: dict[str, Any], data: Any
    ) -> dict[str, Any] | None:
        for cls, handler in step_.reply_handlers.items():
            if cls.__name__ == reply_type:
                before = encode(data)
                handler(data, decode(cls, payload))
                after = encode(data)
                return after if after != before else None
        return None

    def _forward(self, data: Any, after: int) -> list[Event]:
        nxt = self.definition.next_action(after)
        if nxt is None:
            return [SagaCompleted()]
        assert nxt.participant is not None and nxt.command is not None
        return [self._command(nxt.number, nxt.participant, nxt.command(data), False)]

    def _backward(self, data: Any, before: int, reason: str) -> list[Event]:
        nxt = self.definition.next_compensation(before)
        if nxt is None:
            return [SagaFailed(reason)]
        assert nxt.compensation_participant is not None and nxt.compensation is not None
        return [
            self._command(nxt.number, nxt.compensation_participant, nxt.compensation(data), True)
        ]

    def _command(
        self, number: int, participant: str, command: object, compensating: bool
    ) -> StepCommandSent:
        return StepCommandSent(
            number,
            participant,
            type(command).__name__,
            encode(command),
            self.id_factory(),
            compensating,
        )

    # -- looking up -------------------------------------------------------------------

    def find(self, saga_id: str) -> SagaInstance:
        """The saga instance: from memory, or rebuilt by replaying its stream."""
        if saga_id in self.instances:
            return self.instances[saga_id]
        events, version = self.store.load_events(self.saga_type, saga_id)
        if not events:
            raise EntityNotFoundError(
                self.saga_type, saga_id, "No saga with that id was started in this store."
            )
        instance = SagaInstance.replay(events)
        instance.id, instance.version = saga_id, version
        self.instances[saga_id] = instance
        self.replayed.append(saga_id)
        return instance

    def history(self, saga_id: str) -> pd.DataFrame:
        """The saga's stream as a readable table: version, event, step and what it says."""
        rows = []
        for stored in self.store.load(self.saga_type, saga_id):
            event = stored.event
            rows.append(
                {
                    "version": stored.entity_version,
                    "event": stored.event_type,
                    "step": getattr(event, "step", getattr(event, "failed_step", "")),
                    "detail": _describe(event),
                }
            )
        return pd.DataFrame(rows, columns=["version", "event", "step", "detail"])

    def data(self, instance: SagaInstance) -> Any:
        """The saga's data as its data class (e.g. :class:`CreateOrderSagaState`)."""
        return decode(self.saga.data_class, instance.data)

    def running(self) -> list[str]:
        """Ids of this type's sagas that have neither completed nor failed (from the store)."""
        frame = self.store.sql(
            "SELECT entity_id FROM events WHERE entity_type = $t GROUP BY entity_id "
            "HAVING NOT bool_or(event_type IN ('SagaCompleted', 'SagaFailed')) "
            "ORDER BY min(position)",
            {"t": self.saga_type},
        )
        return list(frame["entity_id"])

    def recover(self) -> list[SagaInstance]:
        """After a restart: rebuild every unfinished saga from its stream."""
        return [self.find(saga_id) for saga_id in self.running()]


def _describe(event: Event) -> str:
    if isinstance(event, SagaStarted):
        return ", ".join(f"{k}={v}" for k, v in event.data.items() if isinstance(v, str))
    if isinstance(event, StepCommandSent):
        what = "compensation " if event.compensating else ""
        return f"{what}{event.command_type} → {event.participant}"
    if isinstance(event, ReplyReceived):
        body = f" {event.reply}" if event.reply else ""
        updated = " (saga data updated)" if event.data else ""
        return f"{event.outcome} {event.reply_type}{body} from {event.participant}{updated}"
    return getattr(event, "reason", "")


# == 4. Participants =======================================================================


@dataclass
class CommandContext:
    """What a participant's handler gets besides the command: a unit of work and metadata."""

    uow: UnitOfWork
    metadata: EventMetadata
    message: Message

    @property
    def saga_id(self) -> str:
        return self.message.headers.get("saga_id", "")


CommandHandler = Callable[[Any, CommandContext], Reply]
EventHandler = Callable[[Any, CommandContext], None]


class SagaParticipant:
    """A service taking part in sagas: handles commands idempotently, replies atomically.

    Subclasses list their handlers in :meth:`command_handlers` (orchestration) and
    :meth:`event_handlers` (choreography). Every message is handled in one unit of work
    that also records the message id in ``processed_messages`` — so a redelivery is
    recognised and skipped — and, for a command, writes the ``SagaReplyRequested`` event.
    """

    service: ClassVar[str] = "Service"

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self.crashes: dict[str, int] = {}
        """Injected faults: command/event type name → how many deliveries still crash."""

    def command_handlers(self) -> dict[type, CommandHandler]:
        """{command class: handler(command, ctx) -> Reply}."""
        return {}

    def event_handlers(self) -> dict[type, EventHandler]:
        """{event class: handler(event, ctx)} for choreography."""
        return {}

    def listen_for_commands(self, broker: MessageBroker) -> None:
        """Join this service's command channel (orchestration)."""
        join_group(broker, command_channel(self.service), self.service, self.handle_command)

    def listen_for_events(self, broker: MessageBroker) -> None:
        """Subscribe to the topics of the events it reacts to (choreography)."""
        for topic in sorted({EVENT_SOURCES[cls] for cls in self.event_handlers()}):
            join_group(broker, topic, self.service, self.handle_event)

    def crash_next(self, message_type: type, times: int = 1) -> None:
        """Fault injection: the next ``times`` deliveries of this type crash before commit."""
        self.crashes[message_type.__name__] = times

    # -- handling ----------------------------------------------------------------------

    def handle_command(self, message: Message) -> None:
        """Broker handler for command messages."""
        name = message.headers.get("command_type", "")
        handlers = {cls.__name__: (cls, fn) for cls, fn in self.command_handlers().items()}
        if name not in handlers:
            raise SagaDefinitionError(f"{self.service} has no handler for the command {name!r}.")
        cls, handler = handlers[name]
        self._skip_if_processed(message)
        self._maybe_crash(name)
        command = decode(cls, message.payload)
        metadata = _metadata_for(message, message.headers.get("saga_id"))
        with self.store.unit_of_work() as uow:
            uow.record_processed(self.service, message.id)
            ctx = CommandContext(uow, metadata, message)
            try:
                reply = handler(command, ctx)
            except CommandRejectedError as exc:
                uow.appends.clear()  # a refusal writes no business events
                reply = with_failure(str(exc))
            self._request_reply(ctx, reply)

    def handle_event(self, message: Message) -> None:
        """Broker handler for domain events (choreography)."""
        name = message.headers.get("event_type", "")
        handlers = {cls.__name__: fn for cls, fn in self.event_handlers().items()}
        if name not in handlers:
            return  # not interesting to this service: acknowledge and move on
        self._skip_if_processed(message)
        self._maybe_crash(name)
        metadata = _metadata_for(message, message.headers.get("correlation_id"))
        with self.store.unit_of_work() as uow:
            uow.record_processed(self.service, message.id)
            try:
                handlers[name](message.event(), CommandContext(uow, metadata, message))
            except CommandRejectedError:
                uow.appends.clear()  # nothing to do (e.g. already rejected): just record it

    def _skip_if_processed(self, message: Message) -> None:
        if self.store.was_processed(self.service, message.id):
            raise DuplicateMessageError(
                f"{self.service} already processed message {message.id} (processed_messages)."
            )

    def _maybe_crash(self, name: str) -> None:
        if self.crashes.get(name, 0) > 0:
            self.crashes[name] -= 1
            raise ParticipantCrash(
                f"{self.service} crashed while handling {name} "
                "(injected); nothing was committed, the broker redelivers."
            )

    def _request_reply(self, ctx: CommandContext, reply: Reply) -> None:
        headers = ctx.message.headers
        saga_id = ctx.saga_id
        expected = ctx.uow.pending_version(REPLY_STREAM, saga_id) or self.store.head(
            REPLY_STREAM, saga_id
        )
        event = SagaReplyRequested(
            headers.get("saga_type", ""),
            self.service,
            ctx.message.id,
            reply.reply_type,
            reply.outcome,
            encode(reply.body),
        )
        ctx.uow.append(REPLY_STREAM, saga_id, [event], expected, metadata=ctx.metadata)


def _metadata_for(message: Message, correlation_id: str | None) -> EventMetadata:
    return EventMetadata(
        correlation_id=correlation_id, causation_id=message.id, triggering_message_id=message.id
    )


def _update(
    repo: AggregateRepository[Any], entity_id: str, command: object, ctx: CommandContext
) -> list[Event]:
    return repo.update_with_result(entity_id, command, metadata=ctx.metadata, uow=ctx.uow).events


def _find(repo: AggregateRepository[Any], entity_id: str | None) -> Any:
    if not entity_id:
        return None
    try:
        return repo.find(entity_id)
    except EntityNotFoundError:
        return None


# -- the FTGO services ---------------------------------------------------------------------


class OrderService(SagaParticipant):
    """Creates orders (starting a CreateOrderSaga) and approves or rejects them."""

    service = ORDER_SERVICE

    def __init__(self, store: EventStore, orchestrator: SagaOrchestrator | None = None) -> None:
        super().__init__(store)
        self.orders = AggregateRepository(store, Order)
        self.orchestrator = orchestrator

    def create_order(
        self,
        order_id: str,
        consumer_id: str,
        restaurant_id: str,
        line_items: list[LineItem],
        delivery_address: Address,
        *,
        saga_id: str | None = None,
    ) -> str | None:
        """Save the Order and — with an orchestrator — start its saga, in one transaction.

        Returns the saga id (None in choreography, where OrderCreated starts it all).
        """
        command = CreateOrder(consumer_id, restaurant_id, list(line_items), delivery_address)
        with self.store.unit_of_work() as uow:
            if self.orchestrator is None:
                self.orders.save(
                    command,
                    entity_id=order_id,
                    uow=uow,
                    metadata=EventMetadata(correlation_id=order_id),
                )
                return None
            saga_id = saga_id or self.orchestrator.id_factory()
            self.orders.save(
                command, entity_id=order_id, uow=uow, metadata=EventMetadata(correlation_id=saga_id)
            )
            created = uow.pending_events("Order", order_id)[0]
            data = CreateOrderSagaState.for_order(order_id, created)
            return self.orchestrator.start(data, saga_id=saga_id, uow=uow)

    def command_handlers(self) -> dict[type, CommandHandler]:
        return {ApproveOrderCommand: self.approve, RejectOrderCommand: self.reject}

    def approve(self, command: ApproveOrderCommand, ctx: CommandContext) -> Reply:
        _update(self.orders, command.order_id, ApproveOrder(), ctx)
        return with_success()

    def reject(self, command: RejectOrderCommand, ctx: CommandContext) -> Reply:
        _update(self.orders, command.order_id, RejectOrder(command.reason), ctx)
        return with_success()

    # choreography: the order follows the card authorization and the consumer check
    def event_handlers(self) -> dict[type, EventHandler]:
        return {
            AccountAuthorized: self.on_authorized,
            ConsumerVerificationFailed: self.on_refused,
            AccountAuthorizationFailed: self.on_refused,
        }

    def on_authorized(self, event: AccountAuthorized, ctx: CommandContext) -> None:
        _update(self.orders, event.order_id, ApproveOrder(), ctx)

    def on_refused(
        self, event: ConsumerVerificationFailed | AccountAuthorizationFailed, ctx: CommandContext
    ) -> None:
        _update(self.orders, event.order_id, RejectOrder(event.reason), ctx)


class ConsumerService(SagaParticipant):
    """Registers consumers and validates their orders (saga step 2)."""

    service = CONSUMER_SERVICE

    def __init__(self, store: EventStore) -> None:
        super().__init__(store)
        self.consumers = AggregateRepository(store, Consumer)

    def register(
        self, consumer_id: str, name: str, order_limit: Money, *, suspended: str | None = None
    ) -> Consumer:
        consumer = self.consumers.save(RegisterConsumer(name, order_limit), entity_id=consumer_id)
        if suspended:
            consumer = self.consumers.update(consumer_id, SuspendConsumer(suspended))
        return consumer

    def command_handlers(self) -> dict[type, CommandHandler]:
        return {ValidateOrderByConsumer: self.validate}

    def validate(self, command: ValidateOrderByConsumer, ctx: CommandContext) -> Reply:
        events = _update(self.consumers, command.consumer_id, command, ctx)
        failed = [e for e in events if isinstance(e, ConsumerVerificationFailed)]
        return with_failure(failed[0].reason) if failed else with_success()

    def event_handlers(self) -> dict[type, EventHandler]:
        return {OrderCreated: self.on_order_created}

    def on_order_created(self, event: OrderCreated, ctx: CommandContext) -> None:
        order_id = ctx.message.headers["entity_id"]
        _update(
            self.consumers,
            event.consumer_id,
            ValidateOrderByConsumer(event.consumer_id, order_id, event.total),
            ctx,
        )


def ticket_id_for(order_id: str) -> str:
    """The Kitchen Service's ticket id for an order (one ticket per order)."""
    return f"ticket-{order_id}"


class KitchenService(SagaParticipant):
    """Creates, confirms and cancels tickets (saga steps 3 and 5, compensation of 3)."""

    service = KITCHEN_SERVICE

    def __init__(self, store: EventStore, closed_restaurants: tuple[str, ...] = ()) -> None:
        super().__init__(store)
        self.tickets = AggregateRepository(store, Ticket)
        self.closed_restaurants = set(closed_restaurants)

    def command_handlers(self) -> dict[type, CommandHandler]:
        return {
            CreateTicket: self.create_ticket,
            ConfirmCreateTicket: self.confirm,
            CancelCreateTicket: self.cancel,
        }

    def create_ticket(self, command: CreateTicket, ctx: CommandContext) -> Reply:
        if command.restaurant_id in self.closed_restaurants:
            return with_failure(f"restaurant {command.restaurant_id!r} is not accepting orders")
        ticket_id = ticket_id_for(command.order_id)
        self.tickets.save(command, entity_id=ticket_id, metadata=ctx.metadata, uow=ctx.uow)
        return with_success(CreateTicketReply(ticket_id))

    def confirm(self, command: ConfirmCreateTicket, ctx: CommandContext) -> Reply:
        _update(self.tickets, command.ticket_id, command, ctx)
        return with_success()

    def cancel(self, command: CancelCreateTicket, ctx: CommandContext) -> Reply:
        _update(self.tickets, command.ticket_id, command, ctx)
        return with_success()

    # choreography: create on OrderCreated, confirm or cancel on what Accounting/Consumer say
    def event_handlers(self) -> dict[type, EventHandler]:
        return {
            OrderCreated: self.on_order_created,
            AccountAuthorized: self.on_authorized,
            ConsumerVerificationFailed: self.on_refused,
            AccountAuthorizationFailed: self.on_refused,
        }

    def on_order_created(self, event: OrderCreated, ctx: CommandContext) -> None:
        order_id = ctx.message.headers["entity_id"]
        items = [TicketLineItem(i.menu_item_id, i.name, i.quantity) for i in event.line_items]
        self.tickets.save(
            CreateTicket(order_id, event.restaurant_id, items),
            entity_id=ticket_id_for(order_id),
            metadata=ctx.metadata,
            uow=ctx.uow,
        )

    def on_authorized(self, event: AccountAuthorized, ctx: CommandContext) -> None:
        ticket_id = self._existing_ticket(event.order_id)
        _update(self.tickets, ticket_id, ConfirmCreateTicket(ticket_id), ctx)

    def on_refused(
        self, event: ConsumerVerificationFailed | AccountAuthorizationFailed, ctx: CommandContext
    ) -> None:
        ticket_id = self._existing_ticket(event.order_id)
        _update(self.tickets, ticket_id, CancelCreateTicket(ticket_id, event.reason), ctx)

    def _existing_ticket(self, order_id: str) -> str:
        ticket_id = ticket_id_for(order_id)
        if not self.store.head("Ticket", ticket_id):
            raise NotReadyError(
                f"No ticket for order {order_id} yet: its OrderCreated event "
                "has not reached the kitchen. The broker will redeliver this."
            )
        return ticket_id


class AccountingService(SagaParticipant):
    """Opens card accounts and authorizes cards (saga step 4, the pivot)."""

    service = ACCOUNTING_SERVICE

    def __init__(self, store: EventStore) -> None:
        super().__init__(store)
        self.accounts = AggregateRepository(store, Account)

    def open_account(self, consumer_id: str, card_limit: Money) -> Account:
        return self.accounts.save(CreateAccount(consumer_id, card_limit), entity_id=consumer_id)

    def command_handlers(self) -> dict[type, CommandHandler]:
        return {AuthorizeCard: self.authorize}

    def authorize(self, command: AuthorizeCard, ctx: CommandContext) -> Reply:
        events = _update(self.accounts, command.consumer_id, command, ctx)
        failed = [e for e in events if isinstance(e, AccountAuthorizationFailed)]
        return with_failure(failed[0].reason) if failed else with_success()

    def event_handlers(self) -> dict[type, EventHandler]:
        return {ConsumerVerified: self.on_consumer_verified}

    def on_consumer_verified(self, event: ConsumerVerified, ctx: CommandContext) -> None:
        consumer_id = ctx.message.headers["entity_id"]
        _update(
            self.accounts,
            consumer_id,
            AuthorizeCard(consumer_id, event.order_id, event.order_total),
            ctx,
        )


OWNERS = {
    "Order": ORDER_SERVICE,
    "Consumer": CONSUMER_SERVICE,
    "Ticket": KITCHEN_SERVICE,
    "Account": ACCOUNTING_SERVICE,
}
"""Which service owns (and publishes) each aggregate type's events."""

EVENT_SOURCES: dict[type, str] = {
    OrderCreated: "Order",
    ConsumerVerified: "Consumer",
    ConsumerVerificationFailed: "Consumer",
    AccountAuthorized: "Account",
    AccountAuthorizationFailed: "Account",
}
"""The aggregate type (= topic) each event a choreography handler needs comes from."""


# == 5. The relay: the event store is the outbox ===========================================


def message_for(stored: StoredEvent, owners: dict[str, str] | None = None) -> Message:
    """The message the relay sends for a stored event.

    ``StepCommandSent`` → a command on the participant's channel; ``SagaReplyRequested``
    → a reply on the saga's reply channel; any other event → its aggregate type's topic.
    """
    event, meta = stored.event, stored.metadata
    common = {
        "position": str(stored.position),
        "partition_key": stored.entity_id,
        "correlation_id": meta.correlation_id or "",
        "causation_id": stored.event_id,
    }
    if isinstance(event, StepCommandSent):
        headers = {
            **common,
            "kind": "compensation" if event.compensating else "command",
            "command_type": event.command_type,
            "saga_id": stored.entity_id,
            "saga_type": stored.entity_type,
            "reply_to": reply_channel(stored.entity_type),
            "step": str(event.step),
            "sender": stored.entity_type,
            "receiver": event.participant,
        }
        return Message(event.message_id, command_channel(event.participant), event.command, headers)
    if isinstance(event, SagaReplyRequested):
        headers = {
            **common,
            "kind": "reply",
            "reply_type": event.reply_type,
            "reply_outcome": event.outcome,
            "in_reply_to": event.in_reply_to,
            "saga_id": stored.entity_id,
            "saga_type": event.saga_type,
            "sender": event.participant,
            "receiver": event.saga_type,
        }
        return Message(stored.event_id, reply_channel(event.saga_type), event.reply, headers)
    message = message_from_event(stored)
    sender = (owners or OWNERS).get(stored.entity_type, stored.entity_type)
    return Message(
        message.id,
        message.topic,
        message.payload,
        {**message.headers, "kind": "event", "sender": sender},
    )


class SagaMessageRelay(PollingPublisher):
    """The polling publisher of ``eslab.publishing``, sending saga commands and replies.

    Each unpublished event becomes the message :func:`message_for` describes; the
    ``published`` flag makes this survive restarts (at least once).
    """

    def __init__(
        self,
        store: EventStore,
        broker: MessageBroker,
        *,
        owners: dict[str, str] | None = None,
        name: str = "saga relay",
    ) -> None:
        super().__init__(store, broker, name=name)
        self.owners = dict(owners or OWNERS)

    def _publish(self, event: StoredEvent) -> Any:
        message = message_for(event, self.owners)
        self.published.append(self.broker.publish(message.topic, message))
        return self._act(
            "PUBLISH",
            f"sent {message.headers['kind']} {_message_label(message)} to {message.topic!r}",
            positions=[event.position],
        )


def _message_label(message: Message) -> str:
    h = message.headers
    return h.get("command_type") or h.get("reply_type") or h.get("event_type") or message.id


# == 6. FTGO, wired: four services, a relay and a broker ====================================

FAILURES = ("none", "validation", "ticket", "card authorization", "confirm ticket (crash)")
"""Where the stepper and tests make the CreateOrderSaga fail (see :meth:`FtgoSystem.scenario`)."""

MENU = {
    "vindaloo": LineItem("vindaloo", "Chicken Vindaloo", 2, Money(1250)),
    "naan": LineItem("naan", "Garlic Naan", 1, Money(350)),
}
HOME = Address("1 Main St", "Oakland", "94611")
ORDER_LIMIT, CARD_LIMIT = Money(20000), Money(10000)
"""A new consumer's defaults: €200 per order, €100 on the card."""


@dataclass(frozen=True)
class PlacedOrder:
    """An order placed in an :class:`FtgoSystem` (``saga_id`` is None in choreography)."""

    order_id: str
    saga_id: str | None


@dataclass(frozen=True)
class SagaOutcome:
    """The end state of an order across the services, and whether it is consistent."""

    order_state: str
    ticket_state: str
    authorized: bool
    saga_status: str

    @property
    def consistent(self) -> bool:
        """Approved + ticket confirmed + card authorized, or rejected + no ticket/authorization."""
        if self.order_state == "APPROVED":
            return self.ticket_state == "AWAITING_ACCEPTANCE" and self.authorized
        if self.order_state == "REJECTED":
            return self.ticket_state in ("none", "CANCELLED") and not self.authorized
        return False


class FtgoSystem:
    """The FTGO services on one store and one broker, for orchestration or choreography.

    ``step()`` publishes what is in the outbox and delivers one message; ``run()`` goes
    on until nothing is left. ``restart()`` is a crash of every service process: a new
    system on the same store and broker (the broker stands for Kafka, which survives).
    """

    def __init__(
        self,
        store: EventStore | None = None,
        broker: MessageBroker | None = None,
        *,
        mode: str = "orchestration",
        closed_restaurants: tuple[str, ...] = ("closed-diner",),
    ) -> None:
        if mode not in ("orchestration", "choreography"):
            raise BadInputError(f"mode is 'orchestration' or 'choreography', got {mode!r}.")
        self.store = store if store is not None else EventStore()
        self.broker = broker if broker is not None else MessageBroker()
        self.mode, self.closed_restaurants = mode, tuple(closed_restaurants)
        self.relay = SagaMessageRelay(self.store, self.broker)
        self.orchestrator = (
            SagaOrchestrator(self.store, self.broker, CreateOrderSaga)
            if mode == "orchestration"
            else None
        )
        self.order_service = OrderService(self.store, self.orchestrator)
        self.consumer_service = ConsumerService(self.store)
        self.kitchen_service = KitchenService(self.store, self.closed_restaurants)
        self.accounting_service = AccountingService(self.store)
        for service in self.services:
            if self.orchestrator is not None:
                service.listen_for_commands(self.broker)
            else:
                service.listen_for_events(self.broker)
        self.orders: list[PlacedOrder] = []

    @property
    def services(self) -> list[SagaParticipant]:
        return [
            self.order_service,
            self.consumer_service,
            self.kitchen_service,
            self.accounting_service,
        ]

    @property
    def lanes(self) -> list[str]:
        """Swimlane order: the orchestrator (if any), then the four services."""
        return ([CreateOrderSaga.saga_type()] if self.orchestrator else []) + list(SERVICES)

    def relevant(self, delivery: Delivery, message: Message) -> bool:
        """False for events a service received but has no handler for (not worth drawing)."""
        if message.headers.get("kind") != "event":
            return True
        service = {s.service: s for s in self.services}.get(delivery.group)
        wanted = {cls.__name__ for cls in service.event_handlers()} if service else set()
        return message.headers.get("event_type") in wanted

    def restart(self) -> FtgoSystem:
        """Kill every service (and the orchestrator) and start them again on the same store."""
        return FtgoSystem(
            self.store, self.broker, mode=self.mode, closed_restaurants=self.closed_restaurants
        )

    def crash_orchestrator(self) -> None:
        """The orchestrator's process dies: its object is dropped, its replies go unanswered.

        Until a new :class:`SagaOrchestrator` joins the reply channel, each reply delivery
        fails (the broker retries it, and dead-letters it after ``max_attempts``).
        """
        if self.orchestrator is None:
            raise BadInputError("There is no orchestrator to crash (choreography, or crashed).")
        saga_type = self.orchestrator.saga_type
        self.orchestrator = self.order_service.orchestrator = None
        join_group(self.broker, reply_channel(saga_type), saga_type, _orchestrator_down)

    # -- set-up and orders ----------------------------------------------------------------

    def add_consumer(
        self,
        consumer_id: str,
        name: str,
        *,
        order_limit: Money = ORDER_LIMIT,
        card_limit: Money = CARD_LIMIT,
        suspended: str | None = None,
    ) -> None:
        """Register a consumer (Consumer Service) and open their card account (Accounting)."""
        self.consumer_service.register(consumer_id, name, order_limit, suspended=suspended)
        self.accounting_service.open_account(consumer_id, card_limit)

    def add_demo_consumers(self) -> None:
        """alice (fine), bob (order limit €10) and carol (card limit €20)."""
        self.add_consumer("alice", "Alice")
        self.add_consumer("bob", "Bob", order_limit=Money(1000))
        self.add_consumer("carol", "Carol", card_limit=Money(2000))

    def create_order(
        self,
        consumer_id: str,
        restaurant_id: str = "ajanta",
        line_items: list[LineItem] | None = None,
        delivery_address: Address = HOME,
    ) -> PlacedOrder:
        """Place an order: the Order (and in orchestration its saga) in one transaction."""
        items = list(line_items) if line_items is not None else [MENU["vindaloo"]]
        n = (
            len(self.store.sql("SELECT DISTINCT entity_id FROM events WHERE entity_type = 'Order'"))
            + 1
        )
        order_id = f"order-{n}"
        saga_id = f"saga-{n}" if self.orchestrator is not None else None
        saga_id = self.order_service.create_order(
            order_id, consumer_id, restaurant_id, items, delivery_address, saga_id=saga_id
        )
        placed = PlacedOrder(order_id, saga_id)
        self.orders.append(placed)
        return placed

    def scenario(self, failure: str = "none") -> PlacedOrder:
        """Demo consumers (if missing) and an order that fails where ``failure`` says.

        ``failure`` is one of :data:`FAILURES`: the consumer check refuses bob, the kitchen
        refuses the closed restaurant, carol's card limit is too low, or the kitchen
        crashes once while confirming (after the pivot: retried, never compensated).
        """
        if failure not in FAILURES:
            raise BadInputError(f"failure must be one of {FAILURES}, got {failure!r}.")
        if failure == "ticket" and self.orchestrator is None:
            raise BadInputError(
                "The choreography here has no kitchen refusal; choose "
                "'validation' or 'card authorization'."
            )
        if not self.store.head("Consumer", "alice"):
            self.add_demo_consumers()
        if failure == "confirm ticket (crash)":
            self.kitchen_service.crash_next(
                ConfirmCreateTicket if self.orchestrator else AccountAuthorized
            )
        consumer = {"validation": "bob", "card authorization": "carol"}.get(failure, "alice")
        restaurant = "closed-diner" if failure == "ticket" else "ajanta"
        return self.create_order(consumer, restaurant)

    # -- running ---------------------------------------------------------------------------

    def step(self) -> Delivery | None:
        """Publish the outbox, deliver one message, publish again; None when all is done."""
        self.relay.poll()
        delivery = self.broker.deliver_one()
        self.relay.poll()
        return delivery

    @property
    def finished(self) -> bool:
        """Nothing left to publish and nothing left to deliver."""
        return not self.store.unpublished(1) and self.broker.pending() == 0

    def run(self, max_steps: int = 10_000) -> list[Delivery]:
        """Step until no message is left; return the deliveries."""
        done = []
        while (delivery := self.step()) is not None:
            done.append(delivery)
            if len(done) >= max_steps:
                raise RuntimeError(f"The system still had messages after {max_steps} steps.")
        return done

    # -- looking at it -------------------------------------------------------------------------

    def states(self, placed: PlacedOrder) -> dict[str, Any]:
        """Every aggregate the order touched (None where it does not exist)."""
        order = _find(self.order_service.orders, placed.order_id)
        consumer_id = order.consumer_id if order else None
        saga = _find_saga(self.store, CreateOrderSaga.saga_type(), placed.saga_id)
        return {
            "Order": order,
            "Consumer": _find(self.consumer_service.consumers, consumer_id),
            "Ticket": _find(self.kitchen_service.tickets, ticket_id_for(placed.order_id)),
            "Account": _find(self.accounting_service.accounts, consumer_id),
            "Saga": saga,
        }

    def outcome(self, placed: PlacedOrder) -> SagaOutcome:
        """Where the order ended up in every service."""
        s = self.states(placed)
        order, ticket, account, saga = s["Order"], s["Ticket"], s["Account"], s["Saga"]
        return SagaOutcome(
            order_state=order.state.value if order and order.state else "none",
            ticket_state=ticket.state.value if ticket and ticket.state else "none",
            authorized=bool(account and placed.order_id in account.authorizations),
            saga_status=saga.status.value if saga and saga.status else "none",
        )


def _orchestrator_down(message: Message) -> None:
    raise ServiceDownError(
        f"No orchestrator is running to handle reply {message.id}: start a new "
        "SagaOrchestrator(store, broker, CreateOrderSaga); it takes over the reply channel."
    )


def _find_saga(store: EventStore, saga_type: str, saga_id: str | None) -> SagaInstance | None:
    """The saga instance replayed from the store (None if there is none)."""
    if not saga_id:
        return None
    events, version = store.load_events(saga_type, saga_id)
    if not events:
        return None
    instance = SagaInstance.replay(events)
    instance.id, instance.version = saga_id, version
    return instance


# == 7. Correlation: one conversation across streams =========================================


def correlated_events(store: EventStore, correlation_id: str) -> pd.DataFrame:
    """Every event whose metadata has ``correlation_id`` (all streams of one saga).

    Columns: position, stream, entity_type, entity_id, entity_version, event_type,
    created_at, causation_id, compensation (True for compensating steps and their effects).
    """
    frame = store.sql(
        "SELECT position, entity_type, entity_id, entity_version, event_type, created_at, "
        "json_extract_string(metadata, '$.causation_id') AS causation_id, event_data "
        "FROM events WHERE json_extract_string(metadata, '$.correlation_id') = $c "
        "ORDER BY position",
        {"c": correlation_id},
    )
    frame.insert(1, "stream", frame["entity_type"] + " " + frame["entity_id"])
    frame["compensation"] = [
        _is_compensation(t, d)
        for t, d in zip(frame["event_type"], frame["event_data"], strict=True)
    ]
    return frame.drop(columns=["event_data"])


_COMPENSATION_EVENTS = {
    "CompensationStarted",
    "TicketCancelled",
    "OrderRejected",
    "AccountAuthorizationReversed",
}


def _is_compensation(event_type: str, event_data: str) -> bool:
    if event_type == "StepCommandSent":
        return bool(json.loads(event_data).get("compensating"))
    return event_type in _COMPENSATION_EVENTS


def compensation_marks(frame: pd.DataFrame) -> dict[int, str]:
    """``{position: "compensation"}`` for :func:`eslab.viz.timeline` from correlated_events."""
    return {int(p): "compensation" for p in frame.loc[frame["compensation"], "position"]}
