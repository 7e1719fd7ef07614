"""Aggregates in the book's style, and the repository that stores them as events.

An aggregate turns a command into events and applies events to its state::

    @dataclass
    class Account(Aggregate):
        balance: int = 0

        def process_deposit(self, command: Deposit) -> list[Event]:
            return [MoneyDeposited(command.amount)]

        def apply_deposited(self, event: MoneyDeposited) -> None:
            self.balance += event.amount

Methods whose names start with ``process_`` handle the command type named in their
annotation; methods starting with ``apply_`` handle an event type. ``process`` never
changes state — only ``apply`` does — so replaying the stored events (the seed's loop:
default constructor, then ``apply`` each event) rebuilds exactly the same object.
This is the Eventuate client's ``ReflectiveMutableCommandProcessingAggregate``.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Generic, TypeVar

from eslab.errors import (
    CommandRejectedError,
    ConcurrencyError,
    EntityNotFoundError,
    UnknownCommandError,
)
from eslab.events import Event, EventMetadata
from eslab.store import EventStore, UnitOfWork

A = TypeVar("A", bound="Aggregate")


class Aggregate:
    """Base class: ``process(command) -> events`` and ``apply(event)``, dispatched by type.

    Subclasses are usually dataclasses whose fields all have defaults (replay starts
    from the default constructor). The repository sets ``id`` and ``version``.
    """

    id: str | None = None
    version: int = 0
    class_version: ClassVar[int] = 1
    """Bump when the fields change, so old snapshots are not used as they are."""

    _handlers: ClassVar[dict[str, dict[type, Callable[..., Any]]]]

    def process(self, command: object) -> list[Event]:
        """Decide: return the events a command causes (raises if refused). No state change."""
        handler = self._handler("process", type(command))
        events = handler(self, command)
        if isinstance(events, Event):
            events = [events]
        return list(events or [])

    def apply(self, event: Event) -> None:
        """Change state: apply one event (never refuses — it already happened)."""
        self._handler("apply", type(event))(self, event)

    @classmethod
    def replay(cls: type[A], events: Iterable[Event], start: A | None = None) -> A:
        """The replay loop: default constructor, then ``apply`` every event in order."""
        aggregate = start if start is not None else cls()
        table = cls._table("apply")
        for event in events:
            handler = table.get(type(event))
            if handler is None:
                if type(event).pseudo:
                    continue
                aggregate.apply(event)  # raises the helpful error
            else:
                handler(aggregate, event)
        return aggregate

    @classmethod
    def _table(cls, kind: str) -> dict[type, Callable[..., Any]]:
        """{message type: method} for ``process_*`` or ``apply_*`` methods, built once."""
        cache: dict[str, dict[type, Callable[..., Any]]] | None = cls.__dict__.get("_handlers")
        if cache is None:
            cache = {}
            cls._handlers = cache
        if kind not in cache:
            cache[kind] = collect_handlers(cls, kind)
        return cache[kind]

    def _handler(self, kind: str, message_type: type) -> Callable[..., Any]:
        handler = self._table(kind).get(message_type)
        if handler is None:
            name = "command" if kind == "process" else "event"
            suffix = "list[Event]" if kind == "process" else "None"
            raise UnknownCommandError(
                f"{type(self).__name__} has no {kind}_… method for the {name} "
                f"{message_type.__name__}. Add `def {kind}_{_snake(message_type.__name__)}"
                f"(self, {name}: {message_type.__name__}) -> {suffix}:`."
            )
        return handler


def collect_handlers(cls: type, kind: str) -> dict[type, Callable[..., Any]]:
    """{message type: method} for the methods named ``<kind>_…`` (by their annotation)."""
    table: dict[type, Callable[..., Any]] = {}
    for klass in reversed(cls.__mro__):
        for name, func in vars(klass).items():
            if not name.startswith(kind + "_") or not inspect.isfunction(func):
                continue
            hints = typing.get_type_hints(func)
            params = [p for p in inspect.signature(func).parameters if p != "self"]
            if not params or params[0] not in hints:
                raise TypeError(
                    f"{cls.__name__}.{name} needs a type annotation on its "
                    "argument, e.g. (self, command: CreateOrder)."
                )
            table[hints[params[0]]] = func
    return table


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")


def reject(message: str) -> CommandRejectedError:
    """Build the error a ``process_*`` method raises to refuse a command.

    ``raise reject("Order 42 is APPROVED; only APPROVAL_PENDING orders can be rejected")``
    """
    return CommandRejectedError(message)


@dataclass
class UpdateResult(Generic[A]):
    """What ``update`` did: the aggregate afterwards, its new events and the retries used."""

    aggregate: A
    events: list[Event]
    retries: int = 0
    skipped_duplicate: bool = False


class AggregateRepository(Generic[A]):
    """``save`` / ``update`` / ``find`` aggregates of one class in an :class:`EventStore`.

    ``retries`` (0 by default) is how many times ``update`` reloads and tries again after
    a :class:`ConcurrencyError`; Eventuate's repository retries 10 times by default.
    ``snapshots`` is an optional :class:`eslab.snapshots.SnapshotStrategy`.
    """

    def __init__(
        self,
        store: EventStore,
        aggregate_class: type[A],
        *,
        entity_type: str | None = None,
        retries: int = 0,
        snapshots: Any = None,
        id_factory: Callable[[], str] | None = None,
    ) -> None:
        if not (isinstance(aggregate_class, type) and issubclass(aggregate_class, Aggregate)):
            raise TypeError(f"{aggregate_class!r} is not an eslab.Aggregate subclass.")
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise ValueError(f"retries must be an int ≥ 0, got {retries!r}.")
        self.store = store
        self.aggregate_class = aggregate_class
        self.entity_type = entity_type or aggregate_class.__name__
        self.retries = retries
        self.snapshots = snapshots
        self.id_factory = id_factory or store.id_factory
        self.last_retries = 0
        """How many retries the most recent ``update`` needed (visible for the labs)."""
        self.total_conflicts = 0
        self.last_events_read = 0
        """How many events the most recent ``find`` replayed (after any snapshot)."""

    def save(
        self,
        command: object,
        *,
        entity_id: str | None = None,
        metadata: EventMetadata | None = None,
        uow: UnitOfWork | None = None,
    ) -> A:
        """Create an aggregate: default constructor, ``process(command)``, apply, append."""
        aggregate = self.aggregate_class()
        events = aggregate.process(command)
        if not events:
            raise CommandRejectedError(
                f"{type(command).__name__} produced no events, so there is nothing to save: a "
                f"new {self.entity_type} must start with at least one event."
            )
        aggregate = self.aggregate_class.replay(events, aggregate)
        aggregate.id = entity_id or self.id_factory()
        target = uow or self.store
        aggregate.version = target.append(
            self.entity_type, aggregate.id, events, 0, metadata=metadata
        )
        return aggregate

    def find(
        self,
        entity_id: str,
        *,
        version: int | None = None,
        as_of: datetime | None = None,
        uow: UnitOfWork | None = None,
    ) -> A:
        """Load an aggregate by replaying its events (from a snapshot when there is one).

        ``version=N`` or ``as_of=datetime`` travel back in time.
        """
        aggregate, after = None, 0
        if self.snapshots is not None and as_of is None:
            found = self.snapshots.load(self, entity_id, version)
            if found is not None:
                aggregate, after = found
        events, last = self.store.load_events(
            self.entity_type, entity_id, after_version=after, up_to_version=version, as_of=as_of
        )
        self.last_events_read = len(events)
        if aggregate is None and not events:
            travelled = version is not None or as_of is not None
            hint = "It did not exist yet at that version/time." if travelled else ""
            raise EntityNotFoundError(self.entity_type, entity_id, hint)
        aggregate = self.aggregate_class.replay(events, aggregate)
        if uow is not None:
            aggregate = self.aggregate_class.replay(
                uow.pending_events(self.entity_type, entity_id), aggregate
            )
            last = uow.pending_version(self.entity_type, entity_id) or last
        aggregate.id, aggregate.version = entity_id, max(last, after)
        return aggregate

    def update(
        self,
        entity_id: str,
        command: object,
        *,
        metadata: EventMetadata | None = None,
        uow: UnitOfWork | None = None,
    ) -> A:
        """Load, ``process(command)``, apply and append with the version read.

        On :class:`ConcurrencyError` it reloads and retries up to ``self.retries`` times
        (``self.last_retries`` tells how many it needed), then raises.
        """
        return self.update_with_result(entity_id, command, metadata=metadata, uow=uow).aggregate

    def update_with_result(
        self,
        entity_id: str,
        command: object,
        *,
        metadata: EventMetadata | None = None,
        uow: UnitOfWork | None = None,
    ) -> UpdateResult[A]:
        """Like :meth:`update`, returning the events written and the retries used."""
        attempt = 0
        while True:
            aggregate = self.find(entity_id, uow=uow)
            events = aggregate.process(command)
            if not events:
                self.last_retries = attempt
                return UpdateResult(aggregate, [], attempt)
            expected = aggregate.version
            try:
                target = uow or self.store
                new_version = target.append(
                    self.entity_type, entity_id, events, expected, metadata=metadata
                )
            except ConcurrencyError:
                self.total_conflicts += 1
                if attempt >= self.retries or uow is not None:
                    self.last_retries = attempt
                    raise
                attempt += 1
                continue
            aggregate = self.aggregate_class.replay(events, aggregate)
            aggregate.version = new_version
            self.last_retries = attempt
            if self.snapshots is not None and uow is None:
                self.snapshots.after_update(self, aggregate, expected)
            return UpdateResult(aggregate, events, attempt)
