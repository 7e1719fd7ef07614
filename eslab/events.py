"""Domain events: the Event base class, the registry of event types, metadata.

An event is a frozen dataclass that says what happened::

    @dataclass(frozen=True)
    class AccountOpened(Event):
        owner: str
        balance: int

Subclassing :class:`Event` registers the class under its ``event_type`` (the class
name unless you set one) and its ``schema_version`` (1 unless you set one). The store
keeps the type name and schema version in each row, so it can find the class again
when it loads the event — and the upcasters (``eslab.upcasting``) can rewrite old
payloads first.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, cast

from eslab import serialization, upcasting
from eslab.errors import BadInputError, SerializationError, UnknownEventTypeError


class Event:
    """Base class of domain events (make subclasses frozen dataclasses)."""

    event_type: ClassVar[str]
    schema_version: ClassVar[int] = 1
    pseudo: ClassVar[bool] = False
    """True for bookkeeping events (e.g. a consumer's MessageIgnored) that change no state:
    replay skips them, so aggregates need no ``apply_*`` for them."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "event_type" not in cls.__dict__:
            cls.event_type = cls.__name__
        register(cls)


_REGISTRY: dict[str, type[Event]] = {}


def register(cls: type[Event]) -> None:
    """Register ``cls`` under its event_type (redefining it, e.g. in a notebook, replaces it)."""
    old = _REGISTRY.get(cls.event_type)
    if old is not None and (old.__module__, old.__qualname__) != (cls.__module__, cls.__qualname__):
        raise BadInputError(_clash(cls.event_type, old, cls))
    _REGISTRY[cls.event_type] = cls


_DEMO_MODULES = ("eslab.domain", "eslab.ftgo", "eslab.lessons")


def _clash(name: str, old: type[Event], new: type[Event]) -> str:
    """Why two classes cannot share an event type name, and the two ways out."""
    demo = [c.__module__ for c in (old, new) if c.__module__.startswith(_DEMO_MODULES)]
    return (
        f"Two event classes claim the type name {name!r}: {old.__module__}.{old.__qualname__} "
        f"and {new.__module__}.{new.__qualname__}. The store finds an event's class by this "
        "name, so it must be unique in one Python process. Rename one of the classes, or give "
        f"one its own stored name with a class attribute, e.g. `event_type = 'My{name}'` in "
        "its body."
        + (
            f" {demo[0]} is the course's demo domain: it registers its events only because "
            "it was imported — leave it out when you work on your own domain."
            if demo
            else ""
        )
    )


def event_class(event_type: str) -> type[Event]:
    """The class registered for ``event_type`` or a clear error."""
    try:
        return _REGISTRY[event_type]
    except KeyError:
        raise UnknownEventTypeError(
            f"The store holds events of type {event_type!r}, but no Event class registers that "
            "name in this Python process. Import (or define) the module with that event "
            "class before loading, or add an upcaster that renames the type."
        ) from None


def registered_types() -> dict[str, type[Event]]:
    """A copy of the registry: event type name → class."""
    return dict(_REGISTRY)


def serialize(event: Event) -> str:
    """JSON of an event's fields (not its type: that is stored beside it)."""
    if not isinstance(event, Event) or not dataclasses.is_dataclass(event):
        raise SerializationError(
            f"{event!r:.100} is not an eslab event: events are dataclasses that subclass "
            "eslab.Event, e.g. `@dataclass(frozen=True) class OrderCreated(Event): ...`."
        )
    return serialization.to_typed_json(event)


def deserialize(event_type: str, schema_version: int, event_data: str) -> Event:
    """Rebuild an event from its stored row, upcasting old schema versions first.

    Data that does not fit the class raises :class:`SerializationError`; the hint about a
    missing upcaster is added only when that is the likely cause: the type is registered
    and a field is missing, extra or of another type (not for malformed JSON).
    """
    cls = _REGISTRY.get(event_type)
    if cls is not None and schema_version == cls.schema_version:
        data = serialization.parse_json(event_data, f"Stored JSON of a {event_type} event")
    else:
        data = serialization.parse_json(
            event_data, f"Stored JSON of a {event_type} v{schema_version} event"
        )
        if not isinstance(data, dict):
            raise SerializationError(
                f"Stored data of a {event_type} v{schema_version} event is "
                f"{type(data).__name__}, not a JSON object; the row was not written by eslab "
                "— fix or delete that row."
            )
        event_type, schema_version, data = upcasting.upcast(event_type, schema_version, data)
        cls = event_class(event_type)
        if schema_version != cls.schema_version:
            upcasting.raise_missing(event_type, schema_version, cls.schema_version)
    try:
        return cast(Event, serialization.decode(cls, data))
    except SerializationError as exc:
        mismatch = exc.__cause__
        if isinstance(mismatch, serialization.Mismatch) and mismatch.path:
            raise SerializationError(
                f"{exc} The stored data does not match the class {cls.__qualname__} — did the "
                "class change without an upcaster? Add an @upcaster step (and bump "
                "schema_version), or fix the row."
            ) from mismatch
        raise


@dataclass(frozen=True)
class EventMetadata:
    """Who caused an event: the conversation it belongs to and the message behind it.

    ``correlation_id`` is the root of a conversation (e.g. the saga id) and stays the same
    down the chain; ``causation_id`` is the id of the direct parent message or event;
    ``actor`` is who asked for the change (a user or service name) — with the event's time it
    makes the event log an audit log: who changed what, when.
    """

    correlation_id: str | None = None
    causation_id: str | None = None
    triggering_message_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    actor: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in dataclasses.asdict(self).items() if v and k != "extra"}
        d.update(self.extra)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> EventMetadata:
        d = dict(d or {})
        known = {
            k: d.pop(k, None)
            for k in ("correlation_id", "causation_id", "triggering_message_id", "actor")
        }
        return cls(**known, extra=d)


@dataclass(frozen=True)
class StoredEvent:
    """One row of the ``events`` table, with the event decoded."""

    position: int
    event_id: str
    entity_type: str
    entity_id: str
    entity_version: int
    event_type: str
    schema_version: int
    event: Event
    metadata: EventMetadata
    created_at: datetime
    published: bool = False
    triggering_event: str | None = None
