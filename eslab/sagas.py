"""Sagas with event sourcing (book §6.3; seed "3 사가와 이벤트 소싱을 접목").

A saga keeps data consistent across services with a sequence of local transactions,
each in one service; when a step fails, *compensating transactions* undo the earlier
steps, backwards. This module has the machinery of §6.3, in the book's words:

1. **The saga definition** (§6.3.2) — steps that read like Eventuate Tram's DSL::

       step().with_compensation(ORDER_SERVICE, CreateOrderSagaState.make_reject_order_command)
       .step().invoke_participant(CONSUMER_SERVICE, CreateOrderSagaState.make_validate_...)
       ...

   A :class:`Saga` subclass names its data class and its definition.
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
   as atomic, and a refusal that changes no aggregate can reply the same way.) The
   same participants can also react to each other's events, with no orchestrator
   (choreography, §6.3.1).
4. **The relay** — :class:`SagaMessageRelay` publishes all of it from the event store
   (the outbox): commands, replies and domain events.
5. **The runner** — :class:`SagaRunner` wires orchestrators, relays, participants and a
   broker for your own sagas, and runs them until quiet (nothing to publish, nothing
   to deliver). :class:`SagaParticipant` documents the participant contract.

The FTGO application built on this — the book's ``CreateOrderSaga``, the Order,
Consumer, Kitchen and Accounting services and ``FtgoSystem``, which wires them to a
relay and a broker — is in :mod:`eslab.ftgo`. Every event of one saga carries the saga
id as its ``correlation_id`` and the id of the message that caused it as its
``causation_id``.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pandas as pd

from eslab.aggregate import Aggregate
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
from eslab.messaging import Delivery, Message, MessageBroker, message_from_event
from eslab.publishing import PollingPublisher
from eslab.serialization import decode, encode
from eslab.store import EventStore, UnitOfWork


class SagaDefinitionError(BadInputError):
    """A saga definition is built in a way the orchestrator cannot run."""


class ParticipantCrash(EslabError):
    """Injected: a service crashed while handling a message (the broker will redeliver)."""


# == 1. Saga definitions =================================================================

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
            f"A participant is a service name such as 'KitchenService', got {participant!r}."
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

    @classmethod
    def load(cls, store: EventStore, saga_type: str, saga_id: str) -> SagaInstance | None:
        """The saga replayed from its stream in ``store`` (None if it was never started)."""
        events, version = store.load_events(saga_type, saga_id)
        if not events:
            return None
        instance = cls.replay(events)
        instance.id, instance.version = saga_id, version
        return instance

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
            # a new orchestrator (after a crash) takes over the reply channel's group
            broker.subscribe(
                reply_channel(self.saga_type), self.saga_type, self.handle_reply, replace=True
            )

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
        instance = SagaInstance.load(self.store, self.saga_type, saga_id)
        if instance is None:
            raise EntityNotFoundError(
                self.saga_type, saga_id, "No saga with that id was started in this store."
            )
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
    :meth:`event_handlers` (choreography, with :attr:`event_sources` saying which topic
    each of those events comes from). Every message is handled in one unit of work
    that also records the message id in ``processed_messages`` — so a redelivery is
    recognised and skipped — and, for a command, writes the ``SagaReplyRequested`` event.

    **The participant contract** (what your own service must do):

    * *Name.* ``service`` names the service; its commands arrive on
      ``command_channel(service)`` (``"<service>.commands"``), the saga definition's
      ``invoke_participant(service, ...)`` and ``with_compensation(service, ...)`` use it.
    * *What a handler receives.* ``handler(command, ctx)``: the command decoded into the
      class registered in :meth:`command_handlers` (matched by class name, so the saga's
      command factory must return an instance of that class), and a
      :class:`CommandContext` — ``ctx.uow`` (the unit of work), ``ctx.metadata`` (the saga
      id as correlation id, the message as causation), ``ctx.message`` and ``ctx.saga_id``.
    * *Writing.* Append through ``ctx.uow`` only — e.g. ``repo.update(id, command,
      uow=ctx.uow, metadata=ctx.metadata)`` — so the business events, the
      ``processed_messages`` row and the reply commit together or not at all. A write
      straight to the store (or an e-mail, an HTTP call) is outside that transaction and
      happens again on a redelivery.
    * *Replying.* Return :func:`with_success` (optionally with a dataclass body the
      saga's ``on_reply`` handler receives) or :func:`with_failure` with a reason. A
      :class:`~eslab.errors.CommandRejectedError` raised inside the handler (``reject``
      in a ``process_*`` method) becomes a failure reply with its text, and the events
      appended so far are discarded. Any other exception is a crash: nothing is
      committed and the broker delivers the command again.
    * *Idempotency.* Nothing to do in the handler: a redelivered command finds its
      message id in ``processed_messages`` and is skipped (the broker logs
      ``"skipped"``), and its reply is not sent twice.
    * *Compensations* are commands like any other, but must not fail: make them succeed
      (or do nothing) when there is nothing (left) to undo. A failure reply to a
      compensation ends the saga ``SagaFailed`` with "fix by hand".
    """

    service: ClassVar[str] = "Service"
    event_sources: ClassVar[Mapping[type, str]] = {}
    """For choreography: the aggregate type (= topic) each handled event class comes from."""

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
        """Join this service's command channel (orchestration).

        A restarted service takes over its group (``replace=True``): the dead process's
        handler is no longer called.
        """
        broker.subscribe(
            command_channel(self.service), self.service, self.handle_command, replace=True
        )

    def listen_for_events(self, broker: MessageBroker) -> None:
        """Subscribe to the topics of the events it reacts to (choreography)."""
        for topic in sorted({self._event_source(cls) for cls in self.event_handlers()}):
            broker.subscribe(topic, self.service, self.handle_event, replace=True)

    def _event_source(self, event_class: type) -> str:
        if event_class not in self.event_sources:
            raise SagaDefinitionError(
                f"{self.service} handles {event_class.__name__} but its event_sources do not "
                "say which aggregate type (topic) publishes it; add it there."
            )
        return self.event_sources[event_class]

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
                uow.discard_appends()  # a refusal writes no business events
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
                uow.discard_appends()  # nothing to do (e.g. already rejected): just record it

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


# == 5. The relay: the event store is the outbox ===========================================


def message_for(stored: StoredEvent, owners: Mapping[str, str] | None = None) -> Message:
    """The message the relay sends for a stored event.

    ``StepCommandSent`` → a command on the participant's channel; ``SagaReplyRequested``
    → a reply on the saga's reply channel; any other event → its aggregate type's topic,
    sent by the service ``owners`` names for that aggregate type (else the type itself).
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
    sender = (owners or {}).get(stored.entity_type, stored.entity_type)
    return Message(
        message.id,
        message.topic,
        message.payload,
        {**message.headers, "kind": "event", "sender": sender},
    )


class SagaMessageRelay(PollingPublisher):
    """The polling publisher of ``eslab.publishing``, sending saga commands and replies.

    Each unpublished event becomes the message :func:`message_for` describes (``owners``
    maps an aggregate type to the service that publishes its events); the ``published``
    flag makes this survive restarts (at least once).
    """

    def __init__(
        self,
        store: EventStore,
        broker: MessageBroker,
        *,
        owners: Mapping[str, str] | None = None,
        name: str = "saga relay",
    ) -> None:
        super().__init__(store, broker, name=name)
        self.owners = dict(owners or {})

    def message_for(self, event: StoredEvent) -> Message:
        """A command, a reply or an event message (module-level :func:`message_for`)."""
        return message_for(event, self.owners)


# == 6. The runner: everything wired, run until quiet ========================================


class SagaNotQuietError(EslabError, RuntimeError):
    """The runner reached its step bound with messages or events still to go."""


ORCHESTRATION, CHOREOGRAPHY = "orchestration", "choreography"


class SagaRunner:
    """Wires saga orchestrators, relays, participants and a broker, and runs them until quiet.

    ::

        runner = SagaRunner(store, [MembersService(store), PaymentsService(store)],
                            sagas=[LateFeeSaga], owners={"Member": "Members"})
        saga_id = runner.start(LateFeeSaga, LateFee("ann", "dune", 150))
        runner.run()                 # deliver until nothing is left to publish or deliver

    * ``sagas`` — :class:`Saga` subclasses (an orchestrator is made for each) or ready
      :class:`SagaOrchestrator` objects; each joins its saga's reply channel.
    * ``participants`` — :class:`SagaParticipant` objects. In ``"orchestration"`` mode
      they listen for commands, in ``"choreography"`` mode for the events they handle.
    * ``relays`` — the publishers that move events from the store (the outbox) to the
      broker; by default one :class:`SagaMessageRelay` with ``owners`` (aggregate type →
      service, the sender drawn in a swimlane).

    :meth:`step` publishes, delivers one message and publishes again; :meth:`run` steps
    until :attr:`quiet` (no undelivered message, no unpublished event) and raises
    :class:`SagaNotQuietError` if that takes more than ``max_steps`` deliveries. A runner
    is also a swimlane source: ``swimlane(runner)`` draws its broker's deliveries.
    """

    def __init__(
        self,
        store: EventStore,
        participants: Sequence[SagaParticipant] = (),
        *,
        sagas: Sequence[type[Saga] | SagaOrchestrator] = (),
        broker: MessageBroker | None = None,
        relays: Sequence[Any] | None = None,
        owners: Mapping[str, str] | None = None,
        mode: str = ORCHESTRATION,
        max_steps: int = 10_000,
    ) -> None:
        if not isinstance(store, EventStore):
            raise BadInputError(f"store must be an eslab.EventStore, got {store!r:.60}.")
        if mode not in (ORCHESTRATION, CHOREOGRAPHY):
            raise BadInputError(f"mode is 'orchestration' or 'choreography', got {mode!r}.")
        if mode == CHOREOGRAPHY and sagas:
            raise BadInputError(
                "A choreography has no orchestrator: leave `sagas` empty, or use "
                "mode='orchestration'."
            )
        _check_max_steps(max_steps)
        for participant in participants:
            if not isinstance(participant, SagaParticipant):
                raise BadInputError(
                    f"{participant!r:.60} is not a SagaParticipant: subclass "
                    "eslab.sagas.SagaParticipant and set `service`."
                )
        self.store, self.mode, self.max_steps = store, mode, max_steps
        self.broker = broker if broker is not None else MessageBroker()
        self.participants = list(participants)
        self.orchestrators: dict[str, SagaOrchestrator] = {}
        for saga in sagas:
            if not isinstance(saga, SagaOrchestrator):
                orchestrator = SagaOrchestrator(store, self.broker, saga)  # checks the class
            else:
                orchestrator = saga
                self.broker.subscribe(
                    reply_channel(orchestrator.saga_type),
                    orchestrator.saga_type,
                    orchestrator.handle_reply,
                    replace=True,
                )
            self.orchestrators[orchestrator.saga_type] = orchestrator
        self.relays = (
            list(relays)
            if relays is not None
            else [SagaMessageRelay(store, self.broker, owners=owners)]
        )
        for participant in self.participants:
            if mode == ORCHESTRATION:
                participant.listen_for_commands(self.broker)
            else:
                participant.listen_for_events(self.broker)

    def __repr__(self) -> str:
        names = ", ".join([*self.orchestrators, *(p.service for p in self.participants)])
        return f"SagaRunner({self.mode}: {names}; {self.broker.pending()} pending)"

    # -- sagas ----------------------------------------------------------------------------

    def orchestrator(self, saga: type[Saga] | str) -> SagaOrchestrator:
        """The orchestrator of a saga type (its class or its name)."""
        name = saga if isinstance(saga, str) else getattr(saga, "__name__", repr(saga))
        if name not in self.orchestrators:
            known = ", ".join(self.orchestrators) or "none"
            raise BadInputError(
                f"This runner has no orchestrator for {name!r} (it has: {known}); "
                "pass the saga class in SagaRunner(..., sagas=[...])."
            )
        return self.orchestrators[name]

    def start(
        self,
        saga: type[Saga] | str,
        data: Any,
        *,
        saga_id: str | None = None,
        uow: UnitOfWork | None = None,
    ) -> str:
        """Start a saga of that type with ``data``; return its id (nothing is delivered yet)."""
        return self.orchestrator(saga).start(data, saga_id=saga_id, uow=uow)

    def instance(self, saga: type[Saga] | str, saga_id: str) -> SagaInstance:
        """The saga instance, rebuilt from its stream."""
        return self.orchestrator(saga).find(saga_id)

    # -- running --------------------------------------------------------------------------

    def publish(self) -> None:
        """Let every relay publish what the store has not published yet."""
        for relay in self.relays:
            relay.poll()

    def step(self) -> Delivery | None:
        """Publish, deliver one message, publish again; None when nothing was delivered."""
        self.publish()
        delivery = self.broker.deliver_one()
        self.publish()
        return delivery

    @property
    def quiet(self) -> bool:
        """Nothing left to publish (in any relay's store) and nothing left to deliver."""
        stores = {id(r.store): r.store for r in self.relays if hasattr(r, "store")}
        stores.setdefault(id(self.store), self.store)
        return self.broker.pending() == 0 and not any(s.unpublished(1) for s in stores.values())

    def run(self, max_steps: int | None = None) -> list[Delivery]:
        """Step until quiet; return the deliveries made.

        Raises :class:`SagaNotQuietError` after ``max_steps`` deliveries (default: the
        runner's ``max_steps``) if messages are still coming — usually a handler that
        publishes to a topic it also consumes, or a saga whose steps never end.
        """
        bound = self.max_steps if max_steps is None else _check_max_steps(max_steps)
        done: list[Delivery] = []
        while (delivery := self.step()) is not None:
            done.append(delivery)
            if len(done) >= bound and not self.quiet:
                raise SagaNotQuietError(
                    f"Still not quiet after {bound} deliveries: {self.broker.pending()} "
                    f"message(s) undelivered ({self._backlog()}). Is a handler publishing "
                    "to a topic it consumes, or a saga sending commands forever? If the work "
                    "is just long, pass a larger max_steps."
                )
        return done

    def _backlog(self) -> str:
        counts = {
            f"{s.topic} → {s.group}": self.broker.pending(s.group)
            for s in self.broker.subscriptions
            if self.broker.pending(s.group)
        }
        return ", ".join(f"{k}: {v}" for k, v in list(counts.items())[:4]) or "none"

    @property
    def dead_letters(self) -> list[tuple[str, Message]]:
        """Messages the broker gave up on (a handler kept failing): (group, message)."""
        return list(self.broker.dead_letters)

    # -- drawing ----------------------------------------------------------------------------

    @property
    def lanes(self) -> list[str]:
        """Swimlane order: the orchestrators, then the participants."""
        return [*self.orchestrators, *(p.service for p in self.participants)]

    def relevant(self, delivery: Delivery, message: Message) -> bool:
        """False for events a participant received but has no handler for (not worth drawing)."""
        if message.headers.get("kind") != "event":
            return True
        service = {p.service: p for p in self.participants}.get(delivery.group)
        if service is None:
            return True  # another subscriber (a consumer, a projection): draw it
        wanted = {cls.__name__ for cls in service.event_handlers()}
        return message.headers.get("event_type") in wanted


def _check_max_steps(max_steps: object) -> int:
    if isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 1:
        raise BadInputError(f"max_steps must be an int ≥ 1, got {max_steps!r}.")
    return max_steps
