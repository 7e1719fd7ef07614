"""An in-process message broker with at-least-once delivery (book §6.1.4, ch. 3).

It behaves like the Kafka set-up Eventuate uses, in miniature:

* **a topic per aggregate type** — events of ``Order`` streams go to the topic
  ``"Order"`` (:func:`topic_for`); a topic is an append-only list of messages;
* **consumer groups** — every group that subscribes to a topic gets every message; the
  members of one group share them (a message goes to one member, chosen by its
  partition key, so one aggregate's events stay in order);
* **at-least-once** — a message counts as delivered to a group only when its handler
  returns and the broker records the acknowledgement (the group's offset moves on). A
  handler that raises, or a consumer that crashes before the ack, gets it again;
* **fault injection, seeded** — ``duplicate_rate`` redelivers an acknowledged message
  once more (as after a rebalance), ``crash_rate`` makes the consumer "crash" after
  handling a message but before acknowledging it, so it is redelivered;
* a **delivery log** (:attr:`MessageBroker.deliveries`) of every hand-over, for pictures.

Use it::

    broker = MessageBroker(seed=0, duplicate_rate=0.2)
    broker.subscribe("Order", "order-history", handler)   # handler(message) -> None
    broker.publish("Order", Message("m-1", "Order", {"x": 1}, {}))
    broker.deliver_all()           # or broker.deliver_one(), one step at a time

A handler that recognises a redelivery may raise :class:`eslab.DuplicateMessageError`:
the broker logs the delivery as ``"skipped"`` and acknowledges it.
"""

from __future__ import annotations

import json
import random
import threading
import uuid
import zlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from eslab import events as events_module
from eslab.errors import BadInputError, DuplicateMessageError
from eslab.events import Event, StoredEvent
from eslab.serialization import encode

Handler = Callable[["Message"], Any]

ACKED, SKIPPED, CRASHED, FAILED, DEAD = "acked", "skipped", "crashed", "failed", "dead-lettered"
"""Outcomes in the delivery log (see :class:`Delivery`)."""


@dataclass(frozen=True)
class Message:
    """A message on a topic: an id (for deduplication), a JSON payload and headers.

    For a published event, ``id`` is the event id and the headers carry
    ``event_type``, ``schema_version``, ``entity_type``, ``entity_id``,
    ``entity_version`` and ``position`` (see :func:`message_from_event`).
    """

    id: str
    topic: str
    payload: Any
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def partition_key(self) -> str:
        """What decides the group member: the aggregate id when there is one."""
        return self.headers.get("partition_key") or self.headers.get("entity_id") or self.id

    def event(self) -> Event:
        """Decode the payload back into the domain event (for event messages)."""
        if "event_type" not in self.headers:
            raise BadInputError(
                f"Message {self.id!r} carries no 'event_type' header, so it is not a domain "
                "event message. Read message.payload instead."
            )
        return events_module.deserialize(
            self.headers["event_type"],
            int(self.headers.get("schema_version", "1")),
            json.dumps(self.payload),
        )


def topic_for(entity_type: str) -> str:
    """The topic of an aggregate type's events: one topic per aggregate type (Eventuate)."""
    return entity_type


def message_from_event(stored: StoredEvent) -> Message:
    """The message a publisher sends for one stored event (id = event id)."""
    headers = {
        "event_type": stored.event_type,
        "schema_version": str(stored.schema_version),
        "entity_type": stored.entity_type,
        "entity_id": stored.entity_id,
        "entity_version": str(stored.entity_version),
        "position": str(stored.position),
    }
    for key, value in stored.metadata.to_dict().items():
        headers[key] = str(value)
    return Message(stored.event_id, topic_for(stored.entity_type), encode(stored.event), headers)


@dataclass(frozen=True)
class Delivery:
    """One hand-over of a message to a consumer, as the delivery log records it.

    ``outcome`` is ``"acked"`` (handled and acknowledged), ``"skipped"`` (the consumer
    said it was a duplicate; acknowledged), ``"crashed"`` (handled, but the consumer
    crashed before the ack: it will come again), ``"failed"`` (the handler raised: it
    will come again) or ``"dead-lettered"`` (failed ``max_attempts`` times; given up).
    ``redelivery`` is True when this group had been handed this message before.
    """

    seq: int
    message_id: str
    topic: str
    group: str
    member: int
    offset: int
    attempt: int
    redelivery: bool
    outcome: str
    error: str | None = None


@dataclass
class Subscription:
    """A consumer group on a topic: its members (handlers) and its committed offset."""

    topic: str
    group: str
    handlers: list[Handler]
    offset: int = 0
    """Index of the next message to deliver: everything before it is acknowledged."""
    attempts: dict[str, int] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)
    duplicates: deque[int] = field(default_factory=deque)


class MessageBroker:
    """Topics, consumer groups and at-least-once delivery, all in this Python process.

    ``seed`` fixes the fault injection; ``duplicate_rate`` and ``crash_rate`` are
    probabilities in [0, 1). ``max_attempts`` bounds redeliveries of a message that keeps
    failing (then it is dead-lettered, so ``deliver_all`` always ends).
    """

    def __init__(
        self,
        seed: int = 0,
        duplicate_rate: float = 0.0,
        crash_rate: float = 0.0,
        *,
        max_attempts: int = 5,
    ) -> None:
        for name, rate in (("duplicate_rate", duplicate_rate), ("crash_rate", crash_rate)):
            if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate < 1:
                raise BadInputError(
                    f"{name} must be a probability in [0, 1), got {rate!r}. "
                    "0.1 means one delivery in ten."
                )
        if isinstance(max_attempts, bool) or not isinstance(max_attempts, int) or max_attempts < 1:
            raise BadInputError(f"max_attempts must be an int ≥ 1, got {max_attempts!r}.")
        self.seed = seed
        self.duplicate_rate = float(duplicate_rate)
        self.crash_rate = float(crash_rate)
        self.max_attempts = max_attempts
        self.topics: dict[str, list[Message]] = {}
        """Every message ever published, per topic, in publish order (offset = index)."""
        self.subscriptions: list[Subscription] = []
        self.deliveries: list[Delivery] = []
        """The delivery log: one :class:`Delivery` per hand-over, in order."""
        self.dead_letters: list[tuple[str, Message]] = []
        """(group, message) pairs given up on after ``max_attempts`` failures."""
        self._random = random.Random(seed)
        self._ids = random.Random(seed + 1)
        self._lock = threading.RLock()
        self._next_sub = 0

    def __repr__(self) -> str:
        counts = ", ".join(f"{t}: {len(m)}" for t, m in self.topics.items())
        return f"MessageBroker(topics={{{counts}}}, deliveries={len(self.deliveries)})"

    # -- producing ---------------------------------------------------------------------

    def publish(
        self, topic: str, message: Message | Any, headers: dict[str, str] | None = None
    ) -> Message:
        """Append a message to ``topic`` and return it.

        ``message`` is a :class:`Message` (its topic is set to ``topic``) or any JSON-able
        payload, which gets a new (seeded) message id. Publishing the same message twice
        puts it on the topic twice: the broker does not deduplicate — consumers must.
        """
        if not isinstance(topic, str) or not topic:
            raise BadInputError(
                f"topic must be a non-empty str, got {topic!r}. "
                "Use topic_for(entity_type) for events."
            )
        with self._lock:
            if not isinstance(message, Message):
                message = Message(self._new_id(), topic, message, dict(headers or {}))
            elif message.topic != topic or headers:
                message = Message(
                    message.id, topic, message.payload, {**message.headers, **(headers or {})}
                )
            self.topics.setdefault(topic, []).append(message)
        return message

    def publish_event(self, stored: StoredEvent) -> Message:
        """Publish a stored event to its aggregate type's topic."""
        message = message_from_event(stored)
        return self.publish(message.topic, message)

    def _new_id(self) -> str:
        return str(uuid.UUID(int=self._ids.getrandbits(128), version=4))

    # -- consuming ---------------------------------------------------------------------

    def subscribe(
        self, topic: str, group: str, handler: Handler, *, replace: bool = False
    ) -> Subscription:
        """Add ``handler`` as a member of consumer ``group`` on ``topic``.

        A new group starts at the beginning of the topic (it sees messages published
        before it subscribed). A second handler in the same group shares the messages.

        ``replace=True`` makes ``handler`` the group's *only* member: a restarted
        consumer takes over its group's place — its offset and the messages still to be
        redelivered — as a Kafka consumer does after a rebalance, and the dead
        process's handlers are no longer called (nor kept alive).
        """
        if not callable(handler):
            raise BadInputError(f"handler must be callable as handler(message), got {handler!r}.")
        if not isinstance(group, str) or not group:
            raise BadInputError(f"group must be a non-empty str, got {group!r}.")
        with self._lock:
            for sub in self.subscriptions:
                if (sub.topic, sub.group) == (topic, group):
                    if replace:
                        sub.handlers.clear()
                    sub.handlers.append(handler)
                    return sub
            sub = Subscription(topic, group, [handler])
            self.subscriptions.append(sub)
            return sub

    def pending(self, group: str | None = None) -> int:
        """Messages not yet acknowledged (by ``group``, or by all groups)."""
        return sum(
            self._backlog(s) for s in self.subscriptions if group is None or s.group == group
        )

    def _backlog(self, sub: Subscription) -> int:
        return len(self.topics.get(sub.topic, ())) - sub.offset + len(sub.duplicates)

    def deliver_one(self) -> Delivery | None:
        """Hand one message to one consumer (groups take turns); None when all is done."""
        with self._lock:
            n = len(self.subscriptions)
            for i in range(n):
                sub = self.subscriptions[(self._next_sub + i) % n]
                if self._backlog(sub):
                    self._next_sub = (self._next_sub + i + 1) % n
                    return self._deliver(sub)
            return None

    def deliver_all(self, max_steps: int = 100_000) -> list[Delivery]:
        """Deliver until every group has acknowledged everything; return this call's log."""
        done: list[Delivery] = []
        while (delivery := self.deliver_one()) is not None:
            done.append(delivery)
            if len(done) >= max_steps:
                raise RuntimeError(
                    f"deliver_all() stopped after {max_steps} deliveries; "
                    "is a handler publishing to the topic it consumes?"
                )
        return done

    def _deliver(self, sub: Subscription) -> Delivery:
        duplicate = bool(sub.duplicates)
        offset = sub.duplicates.popleft() if duplicate else sub.offset
        message = self.topics[sub.topic][offset]
        member = zlib.crc32(message.partition_key.encode()) % len(sub.handlers)
        attempt = sub.attempts.get(message.id, 0) + 1
        redelivery = message.id in sub.seen
        sub.seen.add(message.id)
        error, outcome = None, ACKED
        try:
            sub.handlers[member](message)
        except DuplicateMessageError:
            outcome = SKIPPED
        except Exception as exc:  # at-least-once: any failure means "try again"
            error = f"{type(exc).__name__}: {exc}"
            outcome = FAILED if attempt < self.max_attempts else DEAD
        if outcome in (ACKED, SKIPPED) and not duplicate and self._roll(self.crash_rate):
            outcome = CRASHED
        if outcome in (FAILED, CRASHED):
            sub.attempts[message.id] = attempt
            if duplicate:
                sub.duplicates.appendleft(offset)
        else:
            sub.attempts.pop(message.id, None)
            if not duplicate:
                sub.offset += 1
                if outcome != DEAD and self._roll(self.duplicate_rate):
                    sub.duplicates.append(offset)
        if outcome == DEAD:
            self.dead_letters.append((sub.group, message))
        delivery = Delivery(
            len(self.deliveries) + 1,
            message.id,
            sub.topic,
            sub.group,
            member,
            offset,
            attempt,
            redelivery,
            outcome,
            error,
        )
        self.deliveries.append(delivery)
        return delivery

    def _roll(self, rate: float) -> bool:
        return rate > 0 and self._random.random() < rate

    # -- looking at it -----------------------------------------------------------------

    def messages(self, topic: str) -> list[Message]:
        """The messages on ``topic`` in order (empty if nothing was published there)."""
        return list(self.topics.get(topic, ()))

    def deliveries_frame(self) -> pd.DataFrame:
        """The delivery log as a DataFrame (one row per hand-over)."""
        columns = [
            "seq",
            "message_id",
            "topic",
            "group",
            "member",
            "offset",
            "attempt",
            "redelivery",
            "outcome",
            "error",
        ]
        return pd.DataFrame([d.__dict__ for d in self.deliveries], columns=columns)

    def received(self, group: str) -> list[str]:
        """Message ids handed to ``group``'s handlers, in order, repeats included."""
        return [d.message_id for d in self.deliveries if d.group == group]
