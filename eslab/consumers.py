"""Idempotent message consumers (book §6.1.6, seed 1.6 멱등한 메시지 처리).

A message broker delivers **at least once**: after a crash, a rebalance or a lost
acknowledgement the same message comes again. A consumer is *idempotent* when handling
a message twice has the same effect as handling it once. Three consumers, side by side:

* :class:`NaiveConsumer` applies every delivery: a redelivered deposit is counted twice.
* :class:`RdbmsIdempotentConsumer` — the book's RDBMS event store: the message id goes
  into ``processed_messages(consumer_id, message_id)`` **in the same transaction** as
  the events it appends. A redelivery clashes with the primary key
  (:class:`~eslab.errors.DuplicateMessageError`), nothing is written, and it is skipped.
* :class:`NoSqlIdempotentConsumer` — the book's NoSQL event store, which has no
  transactions across tables: the message id travels *inside the events it emits*
  (the ``triggering_event`` column, as in Eventuate). A redelivery is recognised by
  finding that id in the aggregate's stream. A message that changes nothing still
  writes a pseudo event, :class:`MessageIgnored`, so its id is recorded — the seed's
  "항상 이벤트를 발행한다" (always publish an event).

Each consumer is a broker handler: ``broker.subscribe(topic, consumer.consumer_id,
consumer)``; ``consumer_id`` (the consumer group's name, e.g. ``"account-service"``) is
required. :meth:`MessageConsumer.handle` returns an :class:`Outcome`; calling the consumer
raises ``DuplicateMessageError`` for a skipped redelivery so the broker logs it as
``"skipped"``. A ``route`` function turns a message into ``(entity_id, command)``, or
returns ``None`` for a message that is not for this consumer (another event type on the
same topic): that message is acknowledged, recorded as ``"ignored"`` and never retried.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from eslab.aggregate import Aggregate, AggregateRepository, UpdateResult
from eslab.errors import (
    CommandRejectedError,
    ConcurrencyError,
    DuplicateMessageError,
    EslabError,
    InvalidIdError,
)
from eslab.events import Event, EventMetadata, StoredEvent
from eslab.messaging import Message

A = TypeVar("A", bound=Aggregate)

Route = Callable[[Message], tuple[str, object] | None]
"""Turns a message into ``(entity_id, command)``: which aggregate, and what to ask it —
or ``None``: "not for me" (the message is acknowledged and ignored)."""

APPLIED, SKIPPED, REJECTED, IGNORED = "applied", "skipped", "rejected", "ignored"
"""What a consumer did with one delivery (see :class:`Outcome`)."""


@dataclass(frozen=True)
class MessageIgnored(Event):
    """The book's *pseudo event*: 'message ``message_id`` was handled and changed nothing'.

    A NoSQL-style consumer writes it when a command is refused or emits no event, only
    so that the message id is stored in the stream. Replays and projections skip it.
    """

    pseudo = True

    message_id: str
    reason: str = ""


@dataclass(frozen=True)
class Outcome:
    """One delivery as the consumer saw it.

    ``status`` is ``"applied"`` (events written), ``"skipped"`` (a redelivery it
    recognised; nothing written), ``"rejected"`` (the aggregate refused the command) or
    ``"ignored"`` (the route returned ``None``: not for this consumer; ``entity_id`` is
    ``""`` and nothing was read or written).
    ``events`` are the domain events the delivery wrote (pseudo events left out).
    """

    message_id: str
    entity_id: str
    status: str
    events: tuple[Event, ...] = ()
    reason: str = ""


class UnknownMessageError(EslabError):
    """A route cannot turn a message into a command (unexpected payload)."""


class MessageConsumer:
    """What the three consumers share: routing, metadata, counters and the handler call.

    ``consumer_id`` is required: the consumer (group) name under which processed
    messages are recorded and the consumer subscribes. ``counts`` has the keys
    ``delivered``, ``applied``, ``skipped``, ``rejected`` and ``ignored``; ``outcomes``
    lists every delivery's :class:`Outcome` in order.
    """

    kind: ClassVar[str] = "consumer"

    def __init__(
        self,
        repository: AggregateRepository[Any],
        route: Route,
        *,
        consumer_id: str | None = None,
    ) -> None:
        if consumer_id is None:
            raise InvalidIdError(
                f"{type(self).__name__} needs consumer_id=…: the name of the consumer (group) "
                "that records which messages it processed, e.g. "
                f"{type(self).__name__}(repository, route, consumer_id='account-service'); "
                "subscribe it under the same name: "
                "broker.subscribe(topic, consumer.consumer_id, consumer)."
            )
        if not isinstance(consumer_id, str) or not consumer_id:
            raise InvalidIdError(
                f"consumer_id must be a non-empty str, got {consumer_id!r}; "
                "use the consumer group's name, e.g. 'account-service'."
            )
        self.repository = repository
        self.store = repository.store
        self.route = route
        self.consumer_id = consumer_id
        self.counts: Counter[str] = Counter()
        self.outcomes: list[Outcome] = []

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.consumer_id!r}, {dict(self.counts)})"

    def __call__(self, message: Message) -> None:
        """The broker's handler: handle, and raise DuplicateMessageError on a skip."""
        outcome = self.handle(message)
        if outcome.status == SKIPPED:
            raise DuplicateMessageError(
                f"{self.consumer_id} already processed message {message.id!r}: skipped."
            )

    def handle(self, message: Message) -> Outcome:
        """Process one delivery and return what happened (never raises for a duplicate)."""
        self.counts["delivered"] += 1
        routed = self.route(message)
        if routed is None:
            outcome = Outcome(message.id, "", IGNORED, reason="the route said: not for me")
        else:
            entity_id, command = _routed(message, routed)
            outcome = self._handle(message, entity_id, command)
        self.counts[outcome.status] += 1
        self.outcomes.append(outcome)
        return outcome

    def _handle(self, message: Message, entity_id: str, command: object) -> Outcome:
        raise NotImplementedError

    def metadata(self, message: Message) -> EventMetadata:
        """Metadata for the events a message causes: it triggered them (and caused them)."""
        return EventMetadata(
            correlation_id=message.headers.get("correlation_id"),
            causation_id=message.id,
            triggering_message_id=message.id,
        )


class NaiveConsumer(MessageConsumer):
    """Applies every delivery, redeliveries included: NOT idempotent (the 'before')."""

    kind = "naive"

    def _handle(self, message: Message, entity_id: str, command: object) -> Outcome:
        try:
            result = self.repository.update_with_result(
                entity_id, command, metadata=self.metadata(message)
            )
        except CommandRejectedError as exc:
            return Outcome(message.id, entity_id, REJECTED, reason=str(exc))
        return Outcome(message.id, entity_id, APPLIED, tuple(result.events))


class RdbmsIdempotentConsumer(MessageConsumer):
    """RDBMS event store style: ``processed_messages`` row + events in ONE transaction.

    A refused command still records the message id (with no events), so a redelivery
    is skipped even if the aggregate would accept the command by then. ``retries`` is
    how often a :class:`ConcurrencyError` (another writer first) is retried.
    """

    kind = "RDBMS"

    def __init__(
        self,
        repository: AggregateRepository[Any],
        route: Route,
        *,
        consumer_id: str | None = None,
        retries: int = 3,
    ) -> None:
        super().__init__(repository, route, consumer_id=consumer_id)
        self.retries = retries

    def _handle(self, message: Message, entity_id: str, command: object) -> Outcome:
        for attempt in range(self.retries + 1):
            try:
                return self._once(message, entity_id, command)
            except DuplicateMessageError as exc:
                return Outcome(message.id, entity_id, SKIPPED, reason=str(exc))
            except ConcurrencyError:
                if attempt == self.retries:
                    raise
        raise AssertionError("unreachable")

    def _once(self, message: Message, entity_id: str, command: object) -> Outcome:
        rejected: CommandRejectedError | None = None
        events: list[Event] = []
        with self.store.unit_of_work() as uow:
            uow.record_processed(self.consumer_id, message.id)
            try:
                events = self.repository.update_with_result(
                    entity_id, command, metadata=self.metadata(message), uow=uow
                ).events
            except CommandRejectedError as exc:
                rejected = exc  # still commit the processed_messages row
        if rejected is not None:
            return Outcome(message.id, entity_id, REJECTED, reason=str(rejected))
        return Outcome(message.id, entity_id, APPLIED, tuple(events))


class IdempotentRepository(Generic[A]):
    """``update`` with a triggering message id, deduplicated by the stream itself.

    Eventuate's ``aggregateRepository.update(id, command, withTriggeringEvent(...))``:
    when an event in the aggregate's stream already carries the message id (column
    ``triggering_event``), the message was applied, and ``update`` returns the current
    aggregate without processing the command again (``skipped_duplicate=True``).

    With ``always_publish`` (the default) a refused command or one that emits no events
    writes a :class:`MessageIgnored` pseudo event, so the id is recorded anyway. Two
    deliveries racing each other are settled by the optimistic lock: the loser gets a
    :class:`ConcurrencyError`, reloads, finds the id and skips (``retries`` bounds that).
    Loads read the whole stream (snapshots are not used here).
    """

    def __init__(
        self, repository: AggregateRepository[A], *, always_publish: bool = True, retries: int = 3
    ) -> None:
        self.repository = repository
        self.store = repository.store
        self.always_publish = always_publish
        self.retries = retries

    def find_with_triggers(self, entity_id: str) -> tuple[A, set[str]]:
        """The aggregate (pseudo events skipped) and the message ids its events record."""
        stored = self.store.load(self.repository.entity_type, entity_id)
        if not stored:
            self.repository.find(entity_id)  # raises EntityNotFoundError, with a hint
        aggregate = self.repository.aggregate_class.replay(domain_events(stored))
        aggregate.id, aggregate.version = entity_id, stored[-1].entity_version
        return aggregate, {s.triggering_event for s in stored if s.triggering_event}

    def find(self, entity_id: str) -> A:
        """The aggregate, replayed without the pseudo events."""
        return self.find_with_triggers(entity_id)[0]

    def update(
        self,
        entity_id: str,
        command: object,
        *,
        triggering_message_id: str,
        metadata: EventMetadata | None = None,
    ) -> UpdateResult[A]:
        """Process ``command`` unless ``triggering_message_id`` was already applied.

        Returns an :class:`UpdateResult`; a refused command (with ``always_publish``)
        returns ``events=[MessageIgnored(...)]`` and the aggregate unchanged.
        """
        meta = _with_trigger(metadata, triggering_message_id)
        attempt = 0
        while True:
            aggregate, triggers = self.find_with_triggers(entity_id)
            if triggering_message_id in triggers:
                return UpdateResult(aggregate, [], attempt, skipped_duplicate=True)
            events = self._decide(aggregate, command, triggering_message_id)
            if not events:
                return UpdateResult(aggregate, [], attempt)
            try:
                version = self.store.append(
                    self.repository.entity_type, entity_id, events, aggregate.version, metadata=meta
                )
            except ConcurrencyError:
                if attempt >= self.retries:
                    raise
                attempt += 1
                continue
            aggregate = self.repository.aggregate_class.replay(
                [e for e in events if not isinstance(e, MessageIgnored)], aggregate
            )
            aggregate.version = version
            return UpdateResult(aggregate, events, attempt)

    def _decide(self, aggregate: A, command: object, message_id: str) -> list[Event]:
        try:
            events = aggregate.process(command)
        except CommandRejectedError as exc:
            if not self.always_publish:
                raise
            return [MessageIgnored(message_id, f"refused: {exc}")]
        if not events and self.always_publish:
            return [MessageIgnored(message_id, "the command emitted no events")]
        return events


class NoSqlIdempotentConsumer(MessageConsumer):
    """NoSQL event store style: the message id is kept in the events it emits.

    ``always_publish=False`` turns off the pseudo event, to see why the book needs it:
    a refused message then leaves no trace, and a late redelivery may be applied.
    """

    kind = "NoSQL"

    def __init__(
        self,
        repository: AggregateRepository[Any],
        route: Route,
        *,
        consumer_id: str | None = None,
        always_publish: bool = True,
        retries: int = 3,
    ) -> None:
        super().__init__(repository, route, consumer_id=consumer_id)
        self.updates = IdempotentRepository(
            repository, always_publish=always_publish, retries=retries
        )

    def _handle(self, message: Message, entity_id: str, command: object) -> Outcome:
        try:
            result = self.updates.update(
                entity_id,
                command,
                triggering_message_id=message.id,
                metadata=self.metadata(message),
            )
        except CommandRejectedError as exc:
            return Outcome(message.id, entity_id, REJECTED, reason=str(exc))
        if result.skipped_duplicate:
            return Outcome(
                message.id,
                entity_id,
                SKIPPED,
                reason="its id is already in the stream's triggering_event column",
            )
        ignored = [e for e in result.events if isinstance(e, MessageIgnored)]
        if ignored:
            return Outcome(message.id, entity_id, REJECTED, reason=ignored[0].reason)
        return Outcome(message.id, entity_id, APPLIED, tuple(result.events))


CONSUMER_KINDS: dict[str, type[MessageConsumer]] = {
    c.kind: c for c in (NaiveConsumer, RdbmsIdempotentConsumer, NoSqlIdempotentConsumer)
}
"""The consumers by their short name: ``"naive"``, ``"RDBMS"``, ``"NoSQL"``."""


def make_consumer(
    kind: str, repository: AggregateRepository[Any], route: Route, **options: Any
) -> MessageConsumer:
    """Build the consumer called ``kind`` (one of :data:`CONSUMER_KINDS`)."""
    if kind not in CONSUMER_KINDS:
        raise EslabError(f"No consumer kind {kind!r}; choose one of {sorted(CONSUMER_KINDS)}.")
    return CONSUMER_KINDS[kind](repository, route, **options)


def domain_events(stored: Sequence[StoredEvent]) -> list[Event]:
    """The events of a stream without the :class:`MessageIgnored` pseudo events."""
    return [s.event for s in stored if not isinstance(s.event, MessageIgnored)]


def events_per_message(stored: Sequence[StoredEvent]) -> Counter[str]:
    """How many domain events each triggering message id caused.

    For commands that emit one event each (deposits, withdrawals), exactly-once
    processing means 1 for every message that was accepted.
    """
    return Counter(
        s.triggering_event
        for s in stored
        if s.triggering_event and not isinstance(s.event, MessageIgnored)
    )


def repeated_positions(stored: Sequence[StoredEvent]) -> list[int]:
    """Positions of domain events whose triggering message already caused an earlier append.

    These are the double effects of a non-idempotent consumer (mark them on a timeline).
    """
    first: dict[str, tuple[str, str, Any]] = {}
    repeats = []
    for s in sorted(stored, key=lambda s: s.position):
        if not s.triggering_event or isinstance(s.event, MessageIgnored):
            continue
        append = (s.entity_type, s.entity_id, s.created_at)
        if first.setdefault(s.triggering_event, append) != append:
            repeats.append(s.position)
    return repeats


def _routed(message: Message, routed: object) -> tuple[str, object]:
    """Check what a route returned: ``(entity_id, command)``."""
    if not (isinstance(routed, tuple) and len(routed) == 2 and isinstance(routed[0], str)):
        raise UnknownMessageError(
            f"The route returned {routed!r:.120} for message {message.id!r}; a route returns "
            "(entity_id, command), or None when the message is not for this consumer."
        )
    return routed


def _with_trigger(metadata: EventMetadata | None, message_id: str) -> EventMetadata:
    base = metadata or EventMetadata()
    return EventMetadata(
        correlation_id=base.correlation_id,
        causation_id=base.causation_id or message_id,
        triggering_message_id=message_id,
        extra=dict(base.extra),
        actor=base.actor,
    )
