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
from datetime import UTC, date, datetime
from typing import Any, ClassVar, Generic, TypeVar

from eslab.errors import (
    AggregateDefinitionError,
    BadInputError,
    CommandRejectedError,
    ConcurrencyError,
    EntityNotFoundError,
    InvalidAsOfError,
    InvalidIdError,
    InvalidVersionError,
    UnknownCommandError,
    VersionOutOfRangeError,
)
from eslab.events import Event, EventMetadata
from eslab.store import EventStore, UnitOfWork

A = TypeVar("A", bound="Aggregate")


class Aggregate:
    """Base class: ``process(command) -> events`` and ``apply(event)``, dispatched by type.

    Subclasses are usually dataclasses whose fields all have defaults: replay starts
    from the no-argument (default) constructor, so ``Book()`` must work. The repository
    sets ``id`` and ``version``. One method per command type and per event type: two
    ``process_*`` (or ``apply_*``) methods for the same type are refused, naming both.
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
        aggregate = start if start is not None else cls.new()
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
    def new(cls: type[A]) -> A:
        """The default constructor ``cls()`` that replay starts from (explained if it fails)."""
        try:
            return cls()
        except TypeError:
            try:
                inspect.signature(cls).bind()
            except TypeError:  # it was the missing arguments, not the constructor's body
                raise AggregateDefinitionError(_no_default_constructor(cls)) from None
            except ValueError:  # no signature to inspect
                pass
            raise

    @classmethod
    def check_definition(cls) -> None:
        """Refuse a class replay cannot use: no default constructor, ambiguous handlers.

        Annotations that name a class not defined yet are left for the first use.
        """
        cls.new()
        for kind in ("process", "apply"):
            try:
                cls._table(kind)
            except _UndefinedAnnotationError:
                pass

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
    """{message type: method} for the methods named ``<kind>_…`` (by their annotation).

    A method overridden under the same name counts once (the subclass's). Two methods
    with different names for one type are refused with an error naming both.
    """
    table: dict[type, Callable[..., Any]] = {}
    names: dict[type, str] = {}
    seen: set[str] = set()
    for klass in cls.__mro__:
        for name in vars(klass):
            if not name.startswith(kind + "_") or name in seen:
                continue
            seen.add(name)
            func = inspect.getattr_static(cls, name)
            if not inspect.isfunction(func):
                continue
            message_type = _handled_type(cls, name, func, kind)
            if message_type in names:
                what = "command" if kind == "process" else "event"
                raise AggregateDefinitionError(
                    f"{cls.__name__} has two {kind}_… methods for the {what} "
                    f"{message_type.__name__}: {names[message_type]} and {name}. Only one can "
                    f"handle it: merge them into one method, or delete one of them."
                )
            names[message_type], table[message_type] = name, func
    return table


def _handled_type(cls: type, name: str, func: Callable[..., Any], kind: str) -> type:
    """The type named by the annotation of a handler's (first) argument."""
    example = "command: CreateOrder" if kind == "process" else "event: OrderCreated"
    try:
        hints = typing.get_type_hints(func)
    except NameError as exc:
        raise _UndefinedAnnotationError(
            f"{cls.__name__}.{name}: its annotation names {exc.name!r}, which is not "
            "defined (yet). Define that class before the first command, or import it."
        ) from None
    params = [p for p in inspect.signature(func).parameters if p != "self"]
    if not params or params[0] not in hints:
        raise AggregateDefinitionError(
            f"{cls.__name__}.{name} needs a type annotation on its argument, e.g. "
            f"(self, {example}): the annotation says which messages it handles."
        )
    handled: type = hints[params[0]]
    return handled


class _UndefinedAnnotationError(AggregateDefinitionError):
    """A handler's annotation names a class that does not exist (yet)."""


def _no_default_constructor(cls: type) -> str:
    required = [
        p.name
        for p in inspect.signature(cls).parameters.values()
        if p.default is inspect.Parameter.empty
        and p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    ]
    return (
        f"{cls.__name__}() cannot be called without arguments, but replay needs a "
        f"no-argument constructor (the book's default constructor): it starts from "
        f"{cls.__name__}() and applies every event. Give every field a default "
        f'(e.g. `{required[0] if required else "title"}: str = ""`, '
        f"`items: list = field(default_factory=list)`); fields without one: {required}."
    )


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

    Ids: every id is a non-empty str. ``save(command)`` (``entity_id=None``) makes a new
    id with ``id_factory``; an empty id (``""``) is refused everywhere — by ``save``,
    ``find`` and ``update`` alike — because a blank id is a mistake, not a request.

    ``retries`` (0 by default) is how many times ``update`` reloads and tries again after
    a :class:`ConcurrencyError`, so an update makes at most ``retries + 1`` attempts.
    Eventuate's repository makes at most 10 attempts: ``retries=9``.
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
            raise AggregateDefinitionError(
                f"{aggregate_class!r} is not an eslab.Aggregate subclass: declare it as "
                "`class Book(Aggregate):` (usually a @dataclass with defaults on every field)."
            )
        aggregate_class.check_definition()
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise BadInputError(f"retries must be an int ≥ 0, got {retries!r}.")
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
        """Create an aggregate: default constructor, ``process(command)``, apply, append.

        ``entity_id=None`` (the default) lets ``id_factory`` make a new id; an empty or
        non-str id is refused (:class:`InvalidIdError`) and nothing is written.
        """
        if entity_id is not None:
            _check_entity_id(entity_id)
        aggregate = self.aggregate_class.new()
        events = aggregate.process(command)
        if not events:
            raise CommandRejectedError(
                f"{type(command).__name__} produced no events, so there is nothing to save: a "
                f"new {self.entity_type} must start with at least one event."
            )
        aggregate = self.aggregate_class.replay(events, aggregate)
        aggregate.id = self.id_factory() if entity_id is None else entity_id
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

        ``version=N`` (an int from 1 to the stream's head) or ``as_of=datetime`` travel
        back in time. A naive ``as_of`` is read as UTC — the store keeps UTC times without
        a time zone — and an aware one is converted to UTC. A version beyond the head is
        refused (:class:`VersionOutOfRangeError`), not quietly answered with the head.
        """
        _check_entity_id(entity_id)
        _check_version(version)
        as_of = _utc_as_of(as_of)
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
        if version is not None and as_of is None and max(last, after) < version:
            head = self.store.head(self.entity_type, entity_id)
            if head < version:
                raise VersionOutOfRangeError(self.entity_type, entity_id, version, head)
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
        _check_entity_id(entity_id)
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


def _check_entity_id(entity_id: object) -> None:
    """The repository's id rule: a non-empty str (``None`` is handled by ``save``)."""
    if not isinstance(entity_id, str) or not entity_id:
        raise InvalidIdError(
            f"entity_id must be a non-empty str, got {entity_id!r:.80}. A blank id is "
            "refused everywhere; to let the repository make a new id, leave entity_id "
            "out of save() (entity_id=None)."
        )


def _check_version(version: object) -> None:
    if version is None:
        return
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise InvalidVersionError(
            f"version must be an int ≥ 1 (the version to load, 1 = after the first event), "
            f"got {version!r:.80} ({type(version).__name__}). Leave it out for the newest "
            "state, or use as_of=datetime(...) to travel by time."
        )


def _utc_as_of(as_of: object) -> datetime | None:
    """``as_of`` as the store compares it: a naive UTC datetime (aware ones converted)."""
    if as_of is None:
        return None
    if not isinstance(as_of, datetime):
        tip = (
            f"datetime.combine({as_of!r}, time.max) for the end of that day"
            if isinstance(as_of, date)
            else "datetime(2024, 1, 1, 12, 0) (naive = UTC) or an aware datetime"
        )
        raise InvalidAsOfError(
            f"as_of must be a datetime, got {as_of!r:.80} ({type(as_of).__name__}). "
            f"Use {tip}; use version=N to load by version instead."
        )
    if as_of.tzinfo is not None and as_of.utcoffset() is not None:
        return as_of.astimezone(UTC).replace(tzinfo=None)
    return as_of.replace(tzinfo=None)
