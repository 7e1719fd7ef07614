"""eslab — a small, real event store on DuckDB for learning event sourcing.

The names follow chapter 6 of Chris Richardson's *Microservices Patterns*: events,
aggregates with ``process`` and ``apply``, an ``AggregateRepository`` with optimistic
locking, snapshots, upcasters, idempotent consumers and sagas.
"""

from eslab.aggregate import Aggregate, AggregateRepository, UpdateResult, reject
from eslab.clock import FixedClock, SeededIds
from eslab.errors import (
    BadInputError,
    CommandRejectedError,
    ConcurrencyError,
    DuplicateMessageError,
    EntityNotFoundError,
    EslabError,
    FieldTypeError,
    InvalidEventsError,
    InvalidIdError,
    NotAStoreError,
    ReadOnlyStoreError,
    SerializationError,
    SnapshotError,
    StorageFullError,
    StoreAccessError,
    StoreClosedError,
    StoreError,
    StoreLockedError,
    StoreNotFoundError,
    StoreUnavailableError,
    StreamExistsError,
    UnknownCommandError,
    UnknownEventTypeError,
    UpcastError,
    WrongExpectedVersionError,
)
from eslab.events import Event, EventMetadata, StoredEvent
from eslab.i18n import language, set_language
from eslab.store import EventStore, QuarantinedEvent, UnitOfWork, schema_sql
from eslab.upcasting import upcaster

__all__ = [
    "Aggregate",
    "AggregateRepository",
    "BadInputError",
    "CommandRejectedError",
    "ConcurrencyError",
    "DuplicateMessageError",
    "EntityNotFoundError",
    "EslabError",
    "Event",
    "EventMetadata",
    "EventStore",
    "FieldTypeError",
    "FixedClock",
    "InvalidEventsError",
    "InvalidIdError",
    "NotAStoreError",
    "QuarantinedEvent",
    "ReadOnlyStoreError",
    "SeededIds",
    "SerializationError",
    "SnapshotError",
    "StorageFullError",
    "StoreClosedError",
    "StoreAccessError",
    "StoreError",
    "StoreLockedError",
    "StoreNotFoundError",
    "StoreUnavailableError",
    "StoredEvent",
    "StreamExistsError",
    "UnitOfWork",
    "UnknownCommandError",
    "UnknownEventTypeError",
    "UpcastError",
    "UpdateResult",
    "WrongExpectedVersionError",
    "language",
    "reject",
    "schema_sql",
    "set_language",
    "upcaster",
]
